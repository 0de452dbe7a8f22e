//! An emulation of Eyevinn OSC's wasm runner (`eyevinn-wasm-runner`) on an embedded WASI runtime,
//! so a module can be run locally exactly as OSC runs it, with no external binary.
//!
//! # What it does (the contract in `shared/osc-platform.md` §1)
//! - Only `GET /` and `POST /` run the module (HEAD / too, as Fastify serves HEAD for GET
//!   routes). Any other path or method gets Fastify's 404 JSON
//!   `{"message":"Route GET:/x not found","error":"Not Found","statusCode":404}` and the module
//!   never runs.
//! - `POST /` needs `Content-Type: text/plain`; other types get Fastify's 415 JSON,
//!   `application/json` bodies crash the runner's handler (500, `request.body.match is not a
//!   function`) or, when they do not parse, get 400 with Node's `JSON.parse` message and no
//!   `code`; bodies over 1 MiB get 413; a body that is not valid UTF-8 gets 400
//!   `FST_ERR_CTP_INVALID_CONTENT_LENGTH`; a body of one hex digit crashes the hex decoder (500,
//!   `Cannot read properties of null (reading 'map')`).
//! - The hex rule: a body that is entirely hex digits is decoded to bytes for stdin; any other
//!   body is written as text. `GET /` runs with empty stdin.
//! - Every request gets a fresh instance with args `["main.wasm"]`, no environment, no preopened
//!   directories, no sockets. The module's bytes are loaded and validated again for every
//!   request, as the `wasmedge` process OSC starts per request does, so a larger module answers
//!   more slowly here too; nothing survives between requests in either case.
//! - Stdout is decoded as UTF-8 with invalid bytes replaced by U+FFFD and answered with
//!   `content-type: text/plain; charset=utf-8`, always with status 200: exit code and stderr are
//!   ignored. A trap appends WasmEdge's own error lines to that stdout, as the `wasmedge` CLI
//!   does (`[…] [error] execution failed: unreachable, Code: 0x40a` and two more), so a trap
//!   after a complete answer leaves text after it. CORS allows any origin.
//!
//! # Where it differs from OSC, on purpose
//! - A run has a wall-clock limit ([`RunnerConfig::time_limit`], 60 s by default). OSC has none,
//!   so a hanging module hangs the request there; here the run is stopped and the request gets
//!   504 with a plain-text explanation, so a test or an agent can never hang. Computing is cut
//!   off by fuel slices; a module blocked inside a host call (a long sleep) is abandoned by
//!   [`Runner::run_async`] shortly after the limit (its thread finishes the sleep on its own).
//! - Stdout is capped (256 MiB by default) so a runaway writer cannot exhaust memory.
//! - A module that ends with at least [`EPIPE_UNREAD_BYTES`] of stdin unread crashes OSC's runner
//!   (Node dies on EPIPE) and the container refuses requests until it restarts; here that
//!   request's connection is closed without an answer and the server stops listening until it
//!   is started again ([`start`]; the in-process [`router`] drops every later answer instead).
//! - A module that cannot run at all (not WebAssembly, no `_start`, imports the WASI host does not
//!   provide) is refused when the runner starts, with the reason, instead of answering every
//!   request with an empty 200 as OSC would.
//!
//! # Why wasmi
//! OSC runs modules with WasmEdge's interpreter. `wasmi` 2 (an interpreter, with `wasmi_wasi`) was
//! chosen over `wasmtime`: it builds in about a minute cold where wasmtime 48 takes 8–15 minutes on
//! two cores, and it runs the module about 7× faster than WasmEdge's interpreter, so local timings
//! stay in the same order of magnitude as production. A JIT (wasmtime is ~70× faster) would hide
//! the per-pixel cost a deployed service pays. Execution is metered with fuel in slices so the
//! time limit can be checked without a second thread.
//!
//! # API
//! - [`Runner::from_file`] / [`Runner::from_bytes`] compile a module ([`Error`] if it cannot run).
//! - [`Runner::run`] (blocking) and [`Runner::run_async`] run it once in-process with given stdin
//!   bytes and return a [`RunOutcome`] (stdout, stderr, [`Exit`], elapsed) — no HTTP involved.
//! - [`start`] serves a runner on a loopback address and returns a [`Served`] handle (bound
//!   address, URL, shutdown); [`router`] is the same app for in-process use.

mod error;
mod fastify;
mod http;
mod module;
mod node_json;
mod serve;
mod wasmedge;

pub mod cli;

use std::net::SocketAddr;

pub use error::Error;
pub use fastify::BODY_LIMIT;
pub use http::{router, stdin_for};
pub use module::{EPIPE_UNREAD_BYTES, Exit, RunOutcome, Runner, RunnerConfig};
pub use serve::{Served, serve, serve_with};

/// Serves `runner` on `addr` (loopback only; port 0 picks a free port) until the returned
/// handle is shut down.
///
/// Like OSC's runner, it dies when a module leaves a large part of its stdin unread (see
/// [`EPIPE_UNREAD_BYTES`]): that request's connection is closed without an answer and the server
/// stops listening, so later requests are refused until it is started again.
pub async fn start(runner: Runner, addr: SocketAddr) -> Result<Served, Error> {
    start_with(runner, addr, Default::default()).await
}

/// [`start`] with chosen connection limits.
pub async fn start_with(
    runner: Runner,
    addr: SocketAddr,
    limits: crate::listen::ConnectionLimits,
) -> Result<Served, Error> {
    let stop = tokio_util::sync::CancellationToken::new();
    let app = http::crashing_router(runner.clone(), stop.clone());
    let served = serve::serve_until(app, addr, limits, stop).await?;
    tracing::info!(url = %served.url(), module = %runner.origin(), "runner emulation listening");
    Ok(served)
}
