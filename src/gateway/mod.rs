//! A loopback HTTP front that gives any runner URL — the local emulation or a deployed OSC app
//! (`https://<id>.apps.osaas.io`) — the service's real HTTP API back.
//!
//! OSC's runner only takes `POST /` with text and answers 200 text, so the module speaks JSON
//! envelopes (`wasm_service::envelope`). The gateway translates: an HTTP request becomes a request
//! envelope sent as `POST <runner>/` with `Content-Type: text/plain`; the response envelope in the
//! runner's UTF-8 answer becomes the HTTP response with the module's status, content type, headers
//! and raw body. So `curl --data-binary @cat.png 'http://127.0.0.1:PORT/pixelate?block=8'` gets a
//! real `image/png`, `GET /health` real JSON, an unknown route the module's 404.
//!
//! - Large images: a request envelope over the runner's 1 MiB limit would get 413. A PNG or JPEG
//!   sent to `POST /pixelate` first loses what its picture does not use (a motion photo's video,
//!   XMP, text chunks; see `slim`), which keeps the native engine's answer exactly; if it is still
//!   too large, it is reduced by a factor that divides the block size, so the
//!   grid is unchanged (see `fit`), and redrawn at the source size when that is what was asked;
//!   the response says so in `x-pixelsmith-fitted` (and a JSON report in its `fitted` field).
//! - Failures: every runner call has a timeout (504 when it passes); a runner that is unreachable,
//!   answers a non-200 status, an HTML page (a proxy's error page) or text that is not an envelope
//!   gives 502. Gateway errors use the module's error shape `{"error":{"code","message"}}`.
//! - The JSON shape (`{"image_base64": …, "block": 8}`) sent to `POST /pixelate` is taken as a
//!   raw upload with those options (see `upload`), so all of the above and below applies to it.
//! - Formats the module leaves out (WebP), and JPEGs whose colour profile only native colour
//!   management converts: rewritten as a PNG the module reproduces the native answer from (see
//!   `transcode`), said in `x-pixelsmith-converted`.
//! - `server-timing: runner;dur=MS` tells how long the runner took.
//!
//! # API
//! - [`GatewayConfig`] + [`start`] serve a gateway on loopback ([`router`] is the app itself).
//! - [`local::start_local`] starts the runner emulation for a module plus a gateway in front of it
//!   (what `run-local` does) and returns both URLs.
//! - [`Upstream`] sends one envelope to a runner and reads the answer (used by `call_service`).

mod animated;
pub(crate) mod fit;
mod http;
mod redraw;
mod slim;
mod transcode;
mod upload;
mod upstream;

pub mod cli;
pub mod local;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;

use crate::listen::ConnectionLimits;
use crate::runner::{self, Served};

pub use http::{CONVERTED_HEADER, FITTED_HEADER};
pub use upstream::{DEFAULT_TIMEOUT, Exchange, RUNNER_BODY_LIMIT, Upstream, UpstreamError};

/// The largest upload the gateway reads by default (the engine's own input limit).
pub const DEFAULT_MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The runner URL is not usable.
    #[error(transparent)]
    RunnerUrl(#[from] UpstreamError),
    /// The listening address is not loopback or could not be bound.
    #[error(transparent)]
    Listen(#[from] runner::Error),
}

/// Where the gateway forwards to, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The runner's root URL (`http://127.0.0.1:PORT` or `https://<id>.apps.osaas.io`).
    pub runner_url: String,
    /// Timeout for each runner call.
    pub timeout: Duration,
    /// The runner's request body limit; larger envelopes are fitted or refused (1 MiB on OSC).
    pub runner_limit: usize,
    /// The largest upload the gateway reads from its own clients.
    pub max_upload: usize,
    /// How many client connections it serves at once, and its header, idle and body timeouts.
    pub connections: ConnectionLimits,
}

impl GatewayConfig {
    /// Defaults for a runner URL: 120 s timeout, OSC's 1 MiB limit, 64 MiB uploads, the default
    /// [`ConnectionLimits`].
    pub fn new(runner_url: impl Into<String>) -> Self {
        GatewayConfig {
            runner_url: runner_url.into(),
            timeout: DEFAULT_TIMEOUT,
            runner_limit: RUNNER_BODY_LIMIT,
            max_upload: DEFAULT_MAX_UPLOAD,
            connections: ConnectionLimits::default(),
        }
    }
}

/// The gateway as an axum app.
pub fn router(config: &GatewayConfig) -> Result<Router, Error> {
    let upstream = Upstream::new(&config.runner_url, config.timeout)?;
    Ok(http::app(http::Gateway {
        upstream,
        runner_limit: config.runner_limit,
        max_upload: config.max_upload,
    }))
}

/// Serves a gateway on `addr` (loopback only; port 0 picks a free port).
pub async fn start(config: &GatewayConfig, addr: SocketAddr) -> Result<Served, Error> {
    let app = router(config)?;
    let served = runner::serve_with(app, addr, config.connections).await?;
    tracing::info!(url = %served.url(), runner = %config.runner_url, "gateway listening");
    Ok(served)
}
