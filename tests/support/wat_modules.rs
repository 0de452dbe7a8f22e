//! Tiny WASI preview 1 command modules written in WAT, each doing one thing, so the runner
//! emulation's semantics (stdin, stdout decoding, traps, exit codes, args, env, fresh instances,
//! time limit) are tested independently of the real module.

/// Compiles WAT text to a module.
fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("fixture WAT compiles")
}

const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  ;; Writes len bytes at ptr to fd (iovec at 0..8, nwritten at 8).
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
"#;

/// Copies stdin to stdout, chunk by chunk.
pub fn echo() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (func (export "_start")
    (local $n i32)
    (loop $again
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (i32.const 64512))
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
      (local.set $n (i32.load (i32.const 24)))
      (if (i32.gt_u (local.get $n) (i32.const 0))
        (then
          (call $write (i32.const 1) (i32.const 1024) (local.get $n))
          (br $again))))))"#
    ))
}

/// Writes `before trap` to stdout, `oops` to stderr, then traps (`unreachable`).
pub fn trap_after_output() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (data (i32.const 100) "before trap")
  (data (i32.const 200) "oops")
  (func (export "_start")
    (call $write (i32.const 1) (i32.const 100) (i32.const 11))
    (call $write (i32.const 2) (i32.const 200) (i32.const 4))
    unreachable))"#
    ))
}

/// Writes `exiting` to stdout, then `proc_exit(3)`.
pub fn exit_3() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (data (i32.const 100) "exiting")
  (func (export "_start")
    (call $write (i32.const 1) (i32.const 100) (i32.const 7))
    (call $proc_exit (i32.const 3))))"#
    ))
}

/// Writes `a`, 0xFF, `b`, 0xC3 (invalid UTF-8: a stray byte and a truncated sequence).
pub fn bad_utf8() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (data (i32.const 100) "a\ffb\c3")
  (func (export "_start")
    (call $write (i32.const 1) (i32.const 100) (i32.const 4))))"#
    ))
}

/// Writes its argv buffer (NUL-terminated strings), `|`, the number of environment variables as a
/// digit, `|`, and the errno of `fd_prestat_get(3)` as a digit (8 = EBADF: no preopened dir).
pub fn probe_args_env_preopens() -> Vec<u8> {
    wasm(&format!(
        r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  {IMPORTS}
  (data (i32.const 96) "|")
  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
    (drop (call $args_get (i32.const 2048) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 36)))
    (call $write (i32.const 1) (i32.const 96) (i32.const 1))
    (drop (call $environ_sizes_get (i32.const 40) (i32.const 44)))
    (i32.store8 (i32.const 48) (i32.add (i32.const 48) (i32.load (i32.const 40))))
    (call $write (i32.const 1) (i32.const 48) (i32.const 1))
    (call $write (i32.const 1) (i32.const 96) (i32.const 1))
    (i32.store8 (i32.const 52)
      (i32.add (i32.const 48) (call $fd_prestat_get (i32.const 3) (i32.const 56))))
    (call $write (i32.const 1) (i32.const 52) (i32.const 1))))"#
    ))
}

/// Increments a global and writes its value as a digit: `1` on every run if each run gets a fresh
/// instance.
pub fn counter() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (global $runs (mut i32) (i32.const 0))
  (func (export "_start")
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (i32.store8 (i32.const 100) (i32.add (i32.const 48) (global.get $runs)))
    (call $write (i32.const 1) (i32.const 100) (i32.const 1))))"#
    ))
}

/// Never returns.
pub fn endless_loop() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (func (export "_start")
    (loop $forever (br $forever))))"#
    ))
}

/// Sleeps 4 s inside one host call (`poll_oneoff` on a relative clock), using no fuel meanwhile.
pub fn long_sleep() -> Vec<u8> {
    wasm(
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; One clock subscription at 0: userdata 0, tag 0 (clock), clock id 1 (monotonic),
    ;; timeout 4 s in ns, precision 0, flags 0 (relative). The event goes to 64, nevents to 128.
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 4000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#,
    )
}

/// A Pixelsmith-envelope module whose error path traps, as a Rust module with a panic hook that
/// writes its 500 answer and then aborts did: empty stdin gets a health envelope and a clean end;
/// any other stdin gets a complete 500 envelope line, then `unreachable`.
pub fn answers_then_traps_on_input() -> Vec<u8> {
    const HEALTH: &str = r#"{"envelope":"pixelsmith/1","status":200,"content_type":"application/json","body":{"status":"ok"}}"#;
    const FAILED: &str = r#"{"envelope":"pixelsmith/1","status":500,"content_type":"application/json","body":{"error":{"code":"internal_error","message":"boom"}}}"#;
    // WAT string escapes: `\"` for a quote, `\n` for the line feed.
    let data = |text: &str| format!("{}\\n", text.replace('"', "\\\""));
    wasm(&format!(
        r#"(module {IMPORTS}
  (data (i32.const 100) "{health}")
  (data (i32.const 400) "{failed}")
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 64512))
    (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
    (if (i32.eqz (i32.load (i32.const 24)))
      (then
        (call $write (i32.const 1) (i32.const 100) (i32.const {health_len}))
        (return)))
    (call $write (i32.const 1) (i32.const 400) (i32.const {failed_len}))
    unreachable))"#,
        health = data(HEALTH),
        failed = data(FAILED),
        health_len = HEALTH.len() + 1,
        failed_len = FAILED.len() + 1,
    ))
}

/// Writes `ok` and ends without reading stdin.
pub fn ignores_stdin() -> Vec<u8> {
    wasm(&format!(
        r#"(module {IMPORTS}
  (data (i32.const 100) "ok")
  (func (export "_start")
    (call $write (i32.const 1) (i32.const 100) (i32.const 2))))"#
    ))
}
