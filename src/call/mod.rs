//! `call_service`: the smoke test of a running service. It talks to a runner URL (the local
//! emulation or a deployed OSC app) the way the gateway does — request envelopes as `POST /`
//! text — and checks the answers:
//!
//! - health: `GET /health` answers 200 with `"status":"ok"`;
//! - pixelate: `POST /pixelate` with an image (a built-in 96×64 sample unless one is given)
//!   answers 200 `image/png` that decodes to the expected size, with every cell one flat colour
//!   and no more colours than asked for; it also says whether the bytes equal what the local
//!   engine makes (informational: a deployed build may be another version).
//!
//! Each request's latency is measured. Problems with the service are findings in the
//! [`CallReport`] (`ok: false`), not errors; [`Error`] is only for requests that cannot be made
//! (bad URL, bad option, not an image).
//!
//! # API
//! `call_service(&CallRequest) -> Result<CallReport, Error>`; [`CallReport`] is `Serialize` +
//! `JsonSchema` for structured tool output.

mod check;
pub mod cli;
mod sample;

use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use wasm_service::engine::{self, Options};
use wasm_service::envelope::Request;

use crate::gateway::fit::{self, FitError, Fitted};
use crate::gateway::{DEFAULT_TIMEOUT, RUNNER_BODY_LIMIT, Upstream, UpstreamError};

pub use sample::sample_png;

/// What to call and check.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// The runner's root URL (`http://127.0.0.1:PORT` or `https://<id>.apps.osaas.io`).
    pub url: String,
    /// Check `GET /health`.
    pub health: bool,
    /// Check `POST /pixelate` with this image and these options.
    pub pixelate: Option<PixelateCall>,
    /// Timeout for each request.
    pub timeout: Duration,
}

impl CallRequest {
    /// Health plus a pixelation of the built-in sample with default options.
    pub fn smoke(url: impl Into<String>) -> Self {
        CallRequest {
            url: url.into(),
            health: true,
            pixelate: Some(PixelateCall::sample(Vec::new())),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// An image and engine options (`name=value` pairs as `Options::set` takes them, e.g.
/// `("block","8")`, `("palette","pico-8")`).
#[derive(Debug, Clone)]
pub struct PixelateCall {
    pub image: Vec<u8>,
    /// How to name the image in the report (its path, or "built-in sample").
    pub label: String,
    pub options: Vec<(String, String)>,
}

impl PixelateCall {
    /// The built-in 96×64 sample image with these options.
    pub fn sample(options: Vec<(String, String)>) -> Self {
        PixelateCall {
            image: sample_png(),
            label: "built-in sample (96x64 PNG)".to_string(),
            options,
        }
    }
}

/// Why a call could not be made at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not a usable runner URL.
    #[error(transparent)]
    Url(#[from] UpstreamError),
    /// An option has a value the engine does not accept.
    #[error("{0}")]
    Option(engine::Error),
    /// The image is not one the engine reads.
    #[error("{label}: {source}")]
    Image {
        label: String,
        #[source]
        source: engine::Error,
    },
    /// The image is too large for one runner request even reduced.
    #[error("{label}: {reason}")]
    TooLarge { label: String, reason: String },
}

/// What the calls found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CallReport {
    /// The runner URL called.
    pub url: String,
    /// True when every check passed.
    pub ok: bool,
    /// The health check, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    /// The pixelate check, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixelate: Option<PixelateCheck>,
    /// Every problem found, one sentence each (empty when ok).
    pub problems: Vec<String>,
}

/// The result of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HealthCheck {
    /// Status 200 and `"status":"ok"`.
    pub ok: bool,
    /// Round trip in milliseconds.
    pub latency_ms: Option<f64>,
    /// The status in the module's response envelope.
    pub status: Option<u16>,
    /// Service name and version the module reports.
    pub service: Option<String>,
    pub version: Option<String>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
}

/// The result of `POST /pixelate`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PixelateCheck {
    /// 200 `image/png` of the expected size, flat cells, colours within the palette size.
    pub ok: bool,
    /// The image sent (path or "built-in sample").
    pub image: String,
    /// The query sent (after fitting, if the image was reduced).
    pub query: String,
    /// Round trip in milliseconds.
    pub latency_ms: Option<f64>,
    /// The status in the module's response envelope.
    pub status: Option<u16>,
    /// Bytes of the request envelope and of the runner's answer.
    pub request_bytes: Option<usize>,
    pub response_bytes: Option<usize>,
    /// Set when the image was reduced to fit the runner's 1 MiB limit: how.
    pub fitted: Option<String>,
    /// The grid (columns × rows) the options give for this image.
    pub grid_width: u32,
    pub grid_height: u32,
    /// The output size expected and the size received.
    pub expected_width: u32,
    pub expected_height: u32,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Bytes of the PNG received.
    pub png_bytes: Option<usize>,
    /// Distinct colours (RGBA) in the PNG received.
    pub colors: Option<usize>,
    /// Whether every cell of the PNG is one flat colour.
    pub cells_uniform: Option<bool>,
    /// Whether the PNG is byte for byte what the local engine makes (not a check: a deployed
    /// module may be another build); absent when the image was fitted.
    pub matches_local_engine: Option<bool>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
}

/// Runs the requested checks against the runner at `request.url`.
pub async fn call_service(request: &CallRequest) -> Result<CallReport, Error> {
    let upstream = Upstream::new(&request.url, request.timeout)?;
    call_service_via(upstream, request).await
}

/// [`call_service`] through a given runner client (e.g. [`Upstream::public_only`]);
/// `request.url` and `request.timeout` are the client's.
pub async fn call_service_via(
    upstream: Upstream,
    request: &CallRequest,
) -> Result<CallReport, Error> {
    let plan = request.pixelate.as_ref().map(Plan::new).transpose()?;
    let health = if request.health {
        Some(check::health(&upstream).await)
    } else {
        None
    };
    let pixelate = match plan {
        Some(plan) => Some(check::pixelate(&upstream, plan).await),
        None => None,
    };
    let mut problems = Vec::new();
    if let Some(problem) = health.as_ref().and_then(|h| h.problem.clone()) {
        problems.push(format!("health: {problem}"));
    }
    if let Some(problem) = pixelate.as_ref().and_then(|p| p.problem.clone()) {
        problems.push(format!("pixelate: {problem}"));
    }
    Ok(CallReport {
        url: upstream.url().to_string(),
        ok: problems.is_empty(),
        health,
        pixelate,
        problems,
    })
}

/// A pixelate request worked out before anything is sent: options checked, the expected
/// geometry computed with the local engine, and the image fitted if it must be.
pub(crate) struct Plan {
    pub(crate) label: String,
    pub(crate) options: Options,
    /// The source's size in pixels as displayed (after EXIF orientation).
    pub(crate) source: (u32, u32),
    pub(crate) grid: (u32, u32),
    pub(crate) envelope: Request,
    pub(crate) fitted: Option<Fitted>,
    pub(crate) original_bytes: usize,
    /// The local engine's answer for the same request (unfitted requests only): the PNG, or the
    /// animated GIF for an animated GIF sent whole.
    pub(crate) local_png: Option<Vec<u8>>,
    /// An animated GIF sent whole: the module answers an animated GIF.
    pub(crate) animated: bool,
}

impl Plan {
    fn new(call: &PixelateCall) -> Result<Plan, Error> {
        let image_error = |source| Error::Image {
            label: call.label.clone(),
            source,
        };
        let mut options = Options::default();
        for (name, value) in &call.options {
            options.set(name, value).map_err(Error::Option)?;
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&call.options)
            .finish();
        let info = engine::probe(&call.image).map_err(image_error)?;
        let engine::Decoded { grid, source } =
            engine::decode_only(&call.image, &options).map_err(image_error)?;
        let mut envelope = Request::pixelate(&call.image, &query);
        let mut fitted = None;
        let mut local_png = None;
        let mut animated = false;
        if envelope.to_json().len() > RUNNER_BODY_LIMIT {
            let size = |image: &[u8], query: &str| Request::pixelate(image, query).to_json().len();
            let done =
                fit::fit(&call.image, &query, size, RUNNER_BODY_LIMIT).map_err(|e| match e {
                    FitError::Engine(source) => image_error(source),
                    FitError::TooLarge(reason) => Error::TooLarge {
                        label: call.label.clone(),
                        reason,
                    },
                })?;
            envelope = Request::pixelate(&done.image, &done.query);
            fitted = Some(done);
        } else if info.format == engine::Format::Gif
            && engine::animation::frame_count(&call.image, &options)
                .ok()
                .flatten()
                .is_some_and(|n| n > 1)
        {
            animated = true;
            local_png = engine::animation::pixelate_animation(
                &call.image,
                &options,
                engine::animation::AnimationFormat::Gif,
            )
            .ok()
            .map(|a| a.bytes);
        } else {
            local_png = engine::pixelate(&call.image, &options).ok().map(|p| p.png);
        }
        Ok(Plan {
            label: call.label.clone(),
            options,
            source,
            grid,
            envelope,
            fitted,
            original_bytes: call.image.len(),
            local_png,
            animated,
        })
    }
}
