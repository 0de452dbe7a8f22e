//! Pixelsmith's deployable service: the pixel engine and the request router.
//!
//! Nothing here does I/O: the engine turns image bytes into pixel-art PNG bytes, and the router turns
//! a request read from stdin into a response for stdout. The same code runs natively (inside the
//! `pixelsmith` CLI and MCP server) and as the `wasm32-wasip1` module OSC's wasm runner executes, so
//! both give the same bytes.

pub mod engine;
pub mod envelope;
pub mod router;
