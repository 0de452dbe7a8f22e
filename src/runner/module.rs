//! One compiled module and one run of it, the way `wasmedge main.wasm` runs it for every request:
//! a fresh instance, stdin from the request, args `["main.wasm"]`, no environment, no preopened
//! directories, no sockets, and stdout/stderr collected.
//!
//! The module is checked once when the runner starts (so a module that cannot run is refused
//! then), and then loaded and validated again from its bytes for every run, as `wasmedge` does
//! per request, so module size costs locally what it costs on OSC; each run gets a new `Store`
//! and instance, so no state survives between requests.
//! This file knows nothing about HTTP.

use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use wasmi::{Config, Engine, Linker, Module, Store, TrapCode, TypedResumableCall};
use wasmi_wasi::WasiCtx;
use wasmi_wasi::wasi_common::pipe::{ReadPipe, WritePipe};

use super::{Error, wasmedge};

/// The program name WasmEdge passes as `argv[0]`: the file name of `/usercontent/main.wasm`.
const ARGV0: &str = "main.wasm";

/// Limits that OSC's runner does not have but a local tool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerConfig {
    /// Wall-clock limit per run. OSC has none (a hanging module hangs the request); here a run
    /// that passes it is stopped and reported as timed out, so tests and agents cannot hang.
    pub time_limit: Duration,
    /// Most stdout bytes kept per run; the rest is dropped and the outcome says so.
    pub stdout_limit: usize,
    /// Most stderr bytes kept per run (OSC ignores stderr; it is kept here for diagnostics).
    pub stderr_limit: usize,
    /// Fuel (wasmi's count of executed instructions) handed out per slice. Between slices the
    /// wall clock is checked against the time limit and whether the client still waits, so a
    /// module in an endless loop is stopped within one slice (50 M: a few ms of interpretation).
    pub fuel_slice: u64,
}

impl RunnerConfig {
    /// The default per-run time limit.
    pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            time_limit: Self::DEFAULT_TIME_LIMIT,
            stdout_limit: 256 * 1024 * 1024,
            stderr_limit: 1024 * 1024,
            fuel_slice: 50_000_000,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `_start` returned (code 0) or the module called `proc_exit(code)`.
    Code(i32),
    /// The module trapped (unreachable, out-of-bounds access, a panic compiled to `abort`, ...).
    Trap(String),
    /// The module ran past [`RunnerConfig::time_limit`] and was stopped (this emulation only).
    TimedOut(Duration),
    /// A fresh instance could not be created (e.g. its start function trapped).
    Instantiate(String),
    /// Nobody waits for the answer any more (the client hung up), so the run was stopped at its
    /// next fuel slice (this emulation only; OSC's runner lets the process finish).
    Abandoned,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The raw stdout bytes (the HTTP front decodes them as UTF-8, lossily, as OSC does).
    pub stdout: Vec<u8>,
    /// The raw stderr bytes, capped at [`RunnerConfig::stderr_limit`].
    pub stderr: Vec<u8>,
    /// How the run ended.
    pub exit: Exit,
    /// Whether stdout passed [`RunnerConfig::stdout_limit`] and was cut.
    pub stdout_truncated: bool,
    /// Wall time of the run: loading and validating the module, instantiation and `_start`.
    pub elapsed: Duration,
    /// The part of [`RunOutcome::elapsed`] spent loading and validating the module's bytes,
    /// which every request pays on OSC too (there it grows with the module's size).
    pub load: Duration,
    /// What WasmEdge itself writes to the same stdout after the module's bytes: its error lines
    /// when the module trapped (see `wasmedge.rs`), empty otherwise.
    pub runtime_stdout: String,
    /// Stdin bytes the module never read. On OSC the runner writes stdin while the module runs;
    /// if the module ends with much of it unread, that write fails with EPIPE and kills the
    /// runner (see [`EPIPE_UNREAD_BYTES`]).
    pub stdin_unread: usize,
}

/// Unread stdin from which OSC's runner crashes: its Node process writes the body to the
/// module's stdin, and when the module has exited with this much still to write, the write fails
/// with an unhandled `EPIPE` and Node dies; the container then refuses every request until it
/// restarts. Measured on the runner's own server as "bodies from about 230 KB" with a module that
/// reads nothing (`shared/osc-platform.md` §6); smaller leftovers fit the pipe and Node's buffers.
pub const EPIPE_UNREAD_BYTES: usize = 230_000;

impl RunOutcome {
    /// The exit code when the module exited normally or through `proc_exit`.
    pub fn exit_code(&self) -> Option<i32> {
        match self.exit {
            Exit::Code(code) => Some(code),
            _ => None,
        }
    }

    /// The module's stdout as UTF-8, invalid bytes replaced by U+FFFD.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Whether OSC's runner would have crashed on this run: the module left at least
    /// [`EPIPE_UNREAD_BYTES`] of stdin unread.
    pub fn crashes_runner(&self) -> bool {
        self.stdin_unread >= EPIPE_UNREAD_BYTES
    }

    /// The body OSC's runner answers: the whole stdout of the `wasmedge` process (the module's
    /// bytes, then WasmEdge's error lines if it trapped), as UTF-8 with U+FFFD for invalid bytes.
    pub fn answer_text(&self) -> String {
        let mut bytes = self.stdout.clone();
        bytes.extend_from_slice(self.runtime_stdout.as_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A module checked once, ready to be run any number of times, each time loaded, validated and
/// instantiated afresh.
/// Cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    module: Module,
    linker: Linker<WasiCtx>,
    config: RunnerConfig,
    origin: String,
    path: Option<PathBuf>,
    module_bytes: usize,
    /// The module's bytes, loaded and validated again for every run, as OSC's runner does.
    bytes: Arc<[u8]>,
    /// Runs executing now (see [`Runner::runs_in_progress`]).
    running: AtomicUsize,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("origin", &self.inner.origin)
            .field("module_bytes", &self.inner.module_bytes)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Reads and compiles the module at `path`.
    pub fn from_file(path: &Path, config: RunnerConfig) -> Result<Runner, Error> {
        let bytes = std::fs::read(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                Error::ModuleNotFound {
                    path: path.to_path_buf(),
                }
            } else {
                Error::ReadModule {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let mut runner = Self::compile(&bytes, config, path.display().to_string())?;
        if let Some(inner) = Arc::get_mut(&mut runner.inner) {
            inner.path = Some(path.to_path_buf());
        }
        Ok(runner)
    }

    /// Compiles a module from its bytes (binary WebAssembly).
    pub fn from_bytes(bytes: &[u8], config: RunnerConfig) -> Result<Runner, Error> {
        Self::compile(bytes, config, "the module".to_string())
    }

    fn compile(bytes: &[u8], config: RunnerConfig, origin: String) -> Result<Runner, Error> {
        // wasmi reads anything without the binary header as WAT text, and says of an image only
        // that its bytes are not UTF-8.
        if !bytes.starts_with(b"\0asm") && std::str::from_utf8(bytes).is_err() {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(Error::InvalidModule {
                origin,
                reason: format!(
                    "it does not start with WebAssembly's magic bytes `\\0asm` (its first bytes: \
                     {}); give the .wasm file cargo builds, e.g. \
                     target/wasm32-wasip1/release/wasm-service.wasm",
                    head.join(" ")
                ),
            });
        }
        let engine = fresh_engine();
        let module = Module::new(&engine, bytes).map_err(|err| Error::InvalidModule {
            origin: origin.clone(),
            reason: err.to_string(),
        })?;
        let linker = wasi_linker(&engine).map_err(|reason| Error::InvalidModule {
            origin: origin.clone(),
            reason,
        })?;
        check_command_shape(&module, &origin)?;
        let runner = Runner {
            inner: Arc::new(Inner {
                engine,
                module,
                linker,
                config,
                origin,
                path: None,
                module_bytes: bytes.len(),
                bytes: bytes.into(),
                running: AtomicUsize::new(0),
            }),
        };
        runner.check_links()?;
        Ok(runner)
    }

    /// Instantiates once with empty stdin, without calling `_start`, so a module whose imports
    /// the WASI host lacks is refused now rather than on every request.
    fn check_links(&self) -> Result<(), Error> {
        let mut store = Store::new(&self.inner.engine, fresh_ctx(&[]).0);
        store
            .set_fuel(self.inner.config.fuel_slice)
            .expect("fuel metering is enabled in compile()");
        match self
            .inner
            .linker
            .instantiate_and_start(&mut store, &self.inner.module)
        {
            Err(err) if matches!(err.kind(), wasmi::errors::ErrorKind::Linker(_)) => {
                Err(Error::NotACommand {
                    origin: self.inner.origin.clone(),
                    reason: format!(
                        "{err}; OSC's runner (WasmEdge) provides only `wasi_snapshot_preview1`"
                    ),
                })
            }
            // Other failures (a start function that traps) happen per request on OSC too.
            _ => Ok(()),
        }
    }

    /// Runs the module once with `stdin` as its standard input, in a fresh instance. Blocks the
    /// calling thread for as long as the module runs (at most the time limit); from async code
    /// use [`Runner::run_async`].
    pub fn run(&self, stdin: &[u8]) -> RunOutcome {
        self.run_until(stdin, &AtomicBool::new(false))
    }

    /// How many runs are executing now, on any thread. A run whose client has gone stops at its
    /// next fuel slice, so this falls back to zero soon after the clients hang up.
    pub fn runs_in_progress(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// [`Runner::run`], stopping with [`Exit::Abandoned`] at the next fuel slice once `abandon`
    /// is set.
    fn run_until(&self, stdin: &[u8], abandon: &AtomicBool) -> RunOutcome {
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        let outcome = self.run_counted(stdin, abandon);
        self.inner.running.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    fn run_counted(&self, stdin: &[u8], abandon: &AtomicBool) -> RunOutcome {
        let started = Instant::now();
        let (ctx, pipes) = fresh_ctx(stdin);
        let limits = Limits {
            stdout: self.inner.config.stdout_limit,
            stderr: self.inner.config.stderr_limit,
        };
        let pipes = pipes.with_limits(limits);
        // `wasmedge main.wasm` is a new process that reads, parses and validates the whole file on
        // every request; so is this run, in a new engine, so a module's size costs locally what it
        // costs there (functions are then translated lazily as they are first called). A new
        // engine each time also frees everything the run compiled: wasmi's engine keeps the code
        // of every module it ever loaded until it is dropped, so loading into a shared engine grew
        // run-local by ~0.5 MB per request (1 GB after 2,000 requests; benches/load.py).
        let engine = fresh_engine();
        let mut store = Store::new(&engine, ctx);
        let module = Module::new(&engine, &self.inner.bytes[..])
            .map_err(|err| format!("loading failed: {err}"))
            .and_then(|module| Ok((module, wasi_linker(&engine)?)));
        let load = started.elapsed();
        let ended = match module {
            Ok((module, linker)) => self.execute(&mut store, &linker, &module, started, abandon),
            Err(reason) => Ended::Exit(Exit::Instantiate(reason)),
        };
        let (exit, runtime_stdout) = match ended {
            Ended::Exit(exit) => (exit, String::new()),
            Ended::Trapped { reason, code } => (
                Exit::Trap(reason),
                wasmedge::trap_lines(code, SystemTime::now()),
            ),
        };
        let (stdout, stdout_truncated) = pipes.stdout.take();
        let (stderr, _) = pipes.stderr.take();
        RunOutcome {
            stdout,
            stderr,
            exit,
            stdout_truncated,
            elapsed: started.elapsed(),
            load,
            runtime_stdout,
            stdin_unread: pipes.stdin_unread(),
        }
    }

    /// [`Runner::run`] on tokio's blocking pool, so many requests run in parallel, each on its
    /// own thread (as OSC starts one process per request).
    ///
    /// Fuel slices stop a module that computes past the time limit, but not one blocked inside a
    /// host call (a long `poll_oneoff` sleep); so this also stops waiting shortly after the limit
    /// and reports a timeout. The blocked thread is then left to finish its sleep on its own.
    pub async fn run_async(&self, stdin: Vec<u8>) -> RunOutcome {
        let runner = self.clone();
        let limit = self.inner.config.time_limit;
        let grace = (limit / 2).min(Duration::from_secs(5));
        let started = Instant::now();
        // Set when this future is dropped (its HTTP client hung up): the run then stops.
        let abandon = AbandonOnDrop(Arc::new(AtomicBool::new(false)));
        let flag = abandon.0.clone();
        let task = tokio::task::spawn_blocking(move || runner.run_until(&stdin, &flag));
        let failed = |exit: Exit| RunOutcome {
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit,
            stdout_truncated: false,
            elapsed: started.elapsed(),
            load: Duration::ZERO,
            runtime_stdout: String::new(),
            stdin_unread: 0,
        };
        match tokio::time::timeout(limit + grace, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) => failed(Exit::Trap(format!("the runner thread failed: {join}"))),
            Err(_) => failed(Exit::TimedOut(limit)),
        }
    }

    fn execute(
        &self,
        store: &mut Store<WasiCtx>,
        linker: &Linker<WasiCtx>,
        module: &Module,
        started: Instant,
        abandon: &AtomicBool,
    ) -> Ended {
        let (limit, slice) = (self.inner.config.time_limit, self.inner.config.fuel_slice);
        let fuel = |store: &mut Store<WasiCtx>, at_least: u64| {
            store
                .set_fuel(slice.max(at_least).max(1))
                .expect("fuel metering is enabled in compile()");
        };
        fuel(store, 0);
        let instance = match linker.instantiate_and_start(&mut *store, module) {
            Ok(instance) => instance,
            Err(err) => return Ended::Exit(Exit::Instantiate(err.to_string())),
        };
        let start = match instance.get_typed_func::<(), ()>(&*store, "_start") {
            Ok(start) => start,
            // check_command_shape() proved `_start: [] -> []` exists; keep a clear outcome anyway.
            Err(err) => return Ended::Exit(Exit::Instantiate(err.to_string())),
        };
        let mut call = start.call_resumable(&mut *store, ());
        loop {
            match call {
                Ok(TypedResumableCall::Finished(())) => return Ended::Exit(Exit::Code(0)),
                Ok(TypedResumableCall::HostTrap(trap)) => return exit_of(trap.host_error()),
                Ok(TypedResumableCall::OutOfFuel(pending)) => {
                    if started.elapsed() >= limit {
                        return Ended::Exit(Exit::TimedOut(limit));
                    }
                    if abandon.load(Ordering::Relaxed) {
                        return Ended::Exit(Exit::Abandoned);
                    }
                    fuel(store, pending.required_fuel());
                    call = pending.resume(&mut *store);
                }
                Err(err) => return exit_of(&err),
            }
        }
    }

    /// Where the module came from (its path, or "the module").
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The module's path when it was loaded from a file.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The module's size in bytes.
    pub fn module_bytes(&self) -> usize {
        self.inner.module_bytes
    }

    /// The limits this runner applies.
    pub fn config(&self) -> RunnerConfig {
        self.inner.config
    }
}

/// How `_start` ended, before it becomes a [`RunOutcome`].
enum Ended {
    Exit(Exit),
    /// A trap, with wasmi's message and its trap code (`None` for a failing host call).
    Trapped {
        reason: String,
        code: Option<TrapCode>,
    },
}

/// `proc_exit(n)` surfaces as a host error carrying the code (a normal end for WasmEdge: it
/// prints nothing); anything else is a trap.
fn exit_of(err: &wasmi::Error) -> Ended {
    match err.i32_exit_status() {
        Some(code) => Ended::Exit(Exit::Code(code)),
        None => Ended::Trapped {
            reason: err.to_string(),
            code: err.as_trap_code(),
        },
    }
}

/// OSC runs `_start` of a WASI preview 1 command; anything else never does useful work there.
/// An engine with fuel metering (the time limit is checked between fuel slices).
///
/// Compiling a function (wasmi translates each on its first call) costs no fuel here: wasmi
/// charges that fuel before the function runs, and running out of it there is an error that
/// cannot be resumed, so a request whose fuel slice happened to end at a function's first call
/// trapped ("ran out of fuel while calling a resumable function"), depending only on its byte
/// length. Copies keep wasmi's default cost (64 bytes a unit).
fn fresh_engine() -> Engine {
    let mut config = Config::default();
    config.consume_fuel(true);
    config.fuel_cost(wasmi::CustomFuelCosts {
        bytes_copied_per_fuel: 64,
        fuel_per_bytes_translated: 0,
        fuel_per_bytes_validated: 0,
    });
    Engine::new(&config)
}

/// A linker with WASI preview 1 for `engine` (a linker serves only its own engine's modules).
fn wasi_linker(engine: &Engine) -> Result<Linker<WasiCtx>, String> {
    let mut linker = Linker::<WasiCtx>::new(engine);
    wasmi_wasi::add_to_linker(&mut linker, |ctx| ctx)
        .map_err(|err| format!("could not set up WASI: {err}"))?;
    Ok(linker)
}

fn check_command_shape(module: &Module, origin: &str) -> Result<(), Error> {
    let not_a_command = |reason: String| Error::NotACommand {
        origin: origin.to_string(),
        reason,
    };
    match module.get_export("_start") {
        Some(wasmi::ExternType::Func(ty)) if ty.params().is_empty() && ty.results().is_empty() => {
            Ok(())
        }
        Some(_) => Err(not_a_command(
            "its `_start` export is not a function taking and returning nothing".into(),
        )),
        None => Err(not_a_command(
            "it exports no `_start` function, so WasmEdge has nothing to run and every request \
             would get an empty answer; build a WASI preview 1 command (a `fn main` binary for \
             wasm32-wasip1), not a library, reactor or Spin/wasi-http component"
                .into(),
        )),
    }
}

/// A WASI context with nothing but stdin, stdout, stderr and `argv = ["main.wasm"]`: no
/// environment, no preopened directories, no sockets.
fn fresh_ctx(stdin: &[u8]) -> (WasiCtx, Pipes) {
    let input = Arc::new(RwLock::new(Cursor::new(stdin.to_vec())));
    let stdout = Capture::default();
    let stderr = Capture::default();
    let mut builder = wasmi_wasi::WasiCtxBuilder::new();
    builder
        .arg(ARGV0)
        .expect("a short ASCII argument always fits");
    builder
        .stdin(Box::new(ReadPipe::from_shared(input.clone())))
        .stdout(Box::new(WritePipe::from_shared(stdout.0.clone())))
        .stderr(Box::new(WritePipe::from_shared(stderr.0.clone())));
    (
        builder.build(),
        Pipes {
            stdin: input,
            stdout,
            stderr,
        },
    )
}

struct Pipes {
    stdin: Arc<RwLock<Cursor<Vec<u8>>>>,
    stdout: Capture,
    stderr: Capture,
}

struct Limits {
    stdout: usize,
    stderr: usize,
}

impl Pipes {
    fn stdin_unread(&self) -> usize {
        let cursor = self.stdin.read().unwrap_or_else(|p| p.into_inner());
        let read = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
        cursor.get_ref().len().saturating_sub(read)
    }

    fn with_limits(self, limits: Limits) -> Self {
        set_limit(&self.stdout, limits.stdout);
        set_limit(&self.stderr, limits.stderr);
        self
    }
}

fn set_limit(capture: &Capture, limit: usize) {
    capture.0.write().unwrap_or_else(|p| p.into_inner()).limit = limit;
}

/// A stdout/stderr sink shared with the WASI context, capped so a runaway writer cannot exhaust
/// memory before the time limit stops it.
#[derive(Clone, Default)]
struct Capture(Arc<RwLock<CappedBuffer>>);

impl Capture {
    fn take(&self) -> (Vec<u8>, bool) {
        let mut buffer = self.0.write().unwrap_or_else(|p| p.into_inner());
        (std::mem::take(&mut buffer.bytes), buffer.truncated)
    }
}

#[derive(Default)]
struct CappedBuffer {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Write for CappedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if buf.len() > room {
            self.truncated = true;
        }
        self.bytes.extend_from_slice(&buf[..buf.len().min(room)]);
        // Report everything as written: the module must not notice the cap (OSC has none).
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sets its flag when dropped: how a run learns that nobody awaits its answer any more.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_keeps_the_first_bytes_and_flags_the_cut() {
        let mut buffer = CappedBuffer {
            limit: 4,
            ..CappedBuffer::default()
        };
        assert_eq!(buffer.write(b"abc").unwrap(), 3);
        assert_eq!(buffer.write(b"def").unwrap(), 3);
        assert_eq!(buffer.bytes, b"abcd");
        assert!(buffer.truncated);
    }

    #[test]
    fn a_module_without_start_is_refused_with_the_reason() {
        let wasm = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
        let err = Runner::from_bytes(&wasm, RunnerConfig::default()).unwrap_err();
        assert!(err.to_string().contains("exports no `_start`"), "{err}");
    }

    #[test]
    fn bytes_that_are_not_wasm_are_refused_as_invalid() {
        let err = Runner::from_bytes(b"not wasm", RunnerConfig::default()).unwrap_err();
        assert!(matches!(err, Error::InvalidModule { .. }), "{err}");
        let err =
            Runner::from_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe", RunnerConfig::default()).unwrap_err();
        assert!(
            err.to_string().contains("magic bytes") && err.to_string().contains("89 50 4e 47"),
            "{err}"
        );
    }
}
