//! The module OSC's wasm runner starts once per request: stdin in, one JSON line on stdout.
//!
//! All decisions live in `router::handle_stdin`; this file only does the I/O, and does it so that
//! stdout always ends up holding exactly one JSON document: the response is built in memory and
//! written with one write at the end, and a panic (which aborts on wasm32-wasip1, so nothing can
//! catch it) is answered by the panic hook with a 500 envelope instead.

use std::io::{Read, Write};

use wasm_service::envelope::Response;
use wasm_service::router::{self, MAX_STDIN_BYTES};

fn main() {
    // First, so that nothing that can panic runs before a 500 answer is guaranteed.
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
    }));

    // One byte over the limit is enough to know the input is too large; reading stops there.
    let mut input = Vec::new();
    let limit = MAX_STDIN_BYTES as u64 + 1;
    let response = match std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        Ok(_) => router::handle_stdin(&input),
        // The error's text is left out: formatting `io::Error` costs the module kilobytes.
        Err(_) => Response::error(400, "stdin_unreadable", "reading stdin failed"),
    };
    write_line(&response);
}

/// Writes the response as one line and flushes. A failed write is ignored: nobody is reading.
fn write_line(response: &Response) {
    let mut line = response.to_line();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}
