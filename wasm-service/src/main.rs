//! The module OSC's wasm runner starts once per request: stdin in, stdout out.
fn main() {}
