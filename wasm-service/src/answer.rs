//! How the module puts its one answer on stdout and ends, shared by `main` and the panic hook.
//!
//! Why the ending matters: on OSC's runner a trap is not silent. WasmEdge prints its own
//! `[error] execution failed: unreachable, Code: 0x40a` lines to the same stdout after whatever the
//! module wrote, and the runner sends all of it, so a complete JSON answer followed by a trap
//! reaches the client as JSON with text after it (a gateway sees no envelope and answers 502). A
//! panic on wasm32-wasip1 aborts, which is a trap (`unreachable`); so the hook installed here
//! writes a 500 envelope and then ends the process with `proc_exit`, which WasmEdge treats as a
//! normal end and prints nothing for. Not in the library: the library does no I/O.

use std::io::Write;

use wasm_service::envelope::Response;

/// The exit code after a panic's 500 answer (the code Rust gives a panicking native program).
/// The runner ignores exit codes; it only tells local tools that something went wrong.
pub const PANIC_EXIT_CODE: i32 = 101;

/// Installs the hook that answers a panic with a 500 envelope and exits through `proc_exit`, so
/// nothing after the answer can reach stdout. Call it first in `main`.
pub fn install_panic_answer() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = format!("internal error: {what}{place}; please report it with the request");
        write_line(&Response::error(500, "internal_error", &message));
        // Not `abort` (a trap, whose error lines WasmEdge would append to stdout): a clean exit.
        std::process::exit(PANIC_EXIT_CODE);
    }));
}

/// Writes the response as one line and flushes. A failed write is ignored: nobody is reading.
pub fn write_line(response: &Response) {
    let mut line = response.to_line();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}
