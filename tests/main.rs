//! The single integration test binary (one binary links once; every extra `tests/*.rs` file would
//! be another crate to link on a 2-core machine). One `mod` per area.

/// Shared helpers: the built module, WAT fixture modules, stand-ins.
mod support;

/// Animations (issue 14): animated GIF/APNG in and out, one frame, budget, report.
mod animation;
/// `check_module`: fixtures breaking OSC's runner contract, and the real module passing it.
mod check;
/// The `pixelate` and `palettes` commands: real binary, files, exit codes, messages.
mod cli;
/// Slow, stalled, idle, too many and abandoned connections: bounded, refused with a reason.
mod connections;
/// Deploying to OSC: the real client and git against a loopback stand-in that runs what is pushed.
mod deploy;
/// The deployment tools over MCP: the real binary deploying to the OSC stand-in, no token returned.
mod deploy_mcp;
/// The gateway: real HTTP API over a runner, fitting large images, clear 502/504; call_service.
mod gateway;
/// The MCP server: the real binary over stdio (both protocol revisions) and Streamable HTTP.
mod mcp;
/// The runner emulation: OSC's HTTP semantics, WASI sandbox, time limit, the real module on it.
mod runner;
