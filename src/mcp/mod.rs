//! The MCP server: Pixelsmith's verbs as tools (`pixelate`, `build_service`, `check_module`,
//! `run_local`, `call_service`) over stdio or Streamable HTTP, with rmcp 3.11.
//!
//! - `server`: the tool router and `ServerHandler` (identity, instructions, resources).
//! - `app`: Pixelsmith Studio as an MCP App (`ui://pixelsmith/studio`, the tool's `_meta.ui`).
//! - `deploy_tools`: the deployment tools, a second router combined with the first.
//! - `params`: one documented argument struct per tool (the input schemas).
//! - `pixelate`, `local`, `verbs`: the tools' MCP-side work (roots, defaults, progress) around
//!   the verb modules; `fetch`: image downloads; `reply`: results and error texts.
//! - `serve`: the transports; `cli`: `pixelsmith mcp`.
//!
//! Both protocol revisions in use work: 2025-11-25 (with `initialize`) and 2026-07-28 (no
//! `initialize`, per-request metadata, `server/discover`) — rmcp negotiates them; this server
//! supports every revision rmcp knows. Logging is not advertised (deprecated in 2026-07-28):
//! logs go to stderr through `tracing`.

mod app;
mod batch;
pub mod cli;
mod deploy_tools;
mod fetch;
mod http_errors;
pub mod limits;
mod local;
pub mod params;
mod pixelate;
mod reply;
pub mod result_cap;
pub mod serve;
mod server;
pub mod sessions;
mod stdio_frames;
mod verbs;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::roots::Roots;

pub use local::{Instance, RunLocalOutput};
pub use pixelate::{PREVIEW_MAX_BYTES, PREVIEW_MAX_SIDE, PixelateOutput};
pub use server::PixelsmithServer;

/// State shared by every session of one server process.
#[derive(Debug)]
pub struct Shared {
    /// The folders tools may read and write.
    pub roots: Roots,
    /// `url` downloads and `call_service` may reach loopback and private addresses
    /// (`--allow-private-urls`); off by default.
    pub allow_private_urls: bool,
    http: OnceLock<reqwest::Client>,
    /// Bounds how many engine runs use the CPU at once (each holds its image in memory).
    engine_slots: Arc<Semaphore>,
    local: local::Registry,
}

impl Shared {
    /// State for a server limited to `roots`.
    pub fn new(roots: Roots) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Shared {
            roots,
            allow_private_urls: false,
            http: OnceLock::new(),
            engine_slots: Arc::new(Semaphore::new(cpus.max(2))),
            local: local::Registry::default(),
        }
    }

    /// The roots as text for messages.
    pub fn roots_text(&self) -> String {
        self.roots
            .list()
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The download client, built on first use (it costs a few ms that start-up should not pay).
    fn http(&self) -> &reqwest::Client {
        self.http
            .get_or_init(|| fetch::client(!self.allow_private_urls))
    }

    /// Runs CPU-bound engine work on the blocking pool, a bounded number at a time. The slot goes
    /// with the work, not with the waiting future: a call cancelled meanwhile leaves its thread
    /// running to the end, and that thread still counts against the bound.
    async fn run_engine<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let slot = Arc::clone(&self.engine_slots)
            .acquire_owned()
            .await
            .expect("the engine semaphore is never closed");
        let work = move || {
            let done = work();
            drop(slot);
            done
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(value) => value,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// The module to use: `path` resolved inside the roots, or the built module under the first
    /// root (with a "build it first" message when it is not there).
    fn module_path(&self, path: Option<&str>) -> Result<PathBuf, String> {
        match path {
            Some(path) => self
                .roots
                .resolve_existing(path)
                .map_err(|e| reply::failure(&e)),
            None => {
                let default = crate::check::default_module_path(self.roots.first());
                if !default.is_file() {
                    return Err(format!(
                        "no module at {}: build it first with `build_service`, or pass the \
                         path of a .wasm file inside the allowed roots ({})",
                        default.display(),
                        self.roots_text()
                    ));
                }
                self.roots
                    .resolve_existing(&default)
                    .map_err(|e| reply::failure(&e))
            }
        }
    }

    /// Stops everything `run_local` started (on shutdown).
    pub async fn shutdown(&self) {
        let stopped = self.local.stop_all().await;
        if !stopped.is_empty() {
            tracing::info!(?stopped, "stopped local services");
        }
    }
}
