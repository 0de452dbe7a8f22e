//! The module OSC's wasm runner starts once per request: stdin in, one JSON line on stdout.
//!
//! All decisions live in `router::handle_stdin`; this file only does the I/O, and does it so that
//! stdout always ends up holding exactly one JSON document and nothing after it: the response is
//! built in memory and written with one write at the end, and a panic is answered by the hook in
//! `answer` with a 500 envelope followed by a clean `proc_exit` (never a trap, whose error lines
//! WasmEdge would print after the answer).

mod answer;

use std::io::Read;

use wasm_service::envelope::Response;
use wasm_service::router::{self, MAX_STDIN_BYTES};

fn main() {
    // First, so that nothing that can panic runs before a 500 answer is guaranteed.
    answer::install_panic_answer();

    // One byte over the limit is enough to know the input is too large; reading stops there.
    let mut input = Vec::new();
    let limit = MAX_STDIN_BYTES as u64 + 1;
    let response = match std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        Ok(_) => router::handle_stdin(&input),
        // The error's text is left out: formatting `io::Error` costs the module kilobytes.
        Err(_) => Response::error(400, "stdin_unreadable", "reading stdin failed"),
    };
    answer::write_line(&response);
}
