//! Pixelsmith: pixel art from any image, and the tools to build, check, run and deploy the
//! `wasm-service` module exactly as Eyevinn Open Source Cloud's wasm runner runs it.
//!
//! One module per verb; each owns its error type and its CLI arguments. The MCP server (`mcp`)
//! exposes the same verbs as tools.

pub mod build;
pub mod call;
pub mod check;
pub mod cli;
pub mod gateway;
pub mod listen;
pub mod mcp;
pub mod net_guard;
pub mod osc;
pub mod pixelate;
pub mod roots;
pub mod runner;
pub mod schema;
pub mod studio;

/// The pixel engine and request router, shared with the deployed module.
pub use wasm_service::engine;
