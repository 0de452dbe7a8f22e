//! Checking a live deployment from the outside, as a client would: `GET /` (what OSC's runner runs
//! with empty stdin) must answer the module's health envelope, and a small pixelate request sent
//! through the envelope protocol must come back as a valid PNG of the expected size, which
//! `call::call_service` (the `call_service` smoke test) checks.
//!
//! Right after a start the platform may refuse requests (401/502/503 from its gateway) for a few
//! seconds, so both requests are retried with backoff until the deadline.

use std::time::{Duration, Instant};

use serde::Serialize;
use wasm_service::envelope::{ENVELOPE_TAG, Response};

use super::error::{Error, Result};
use super::secret::scrub;
use crate::call::{CallRequest, PixelateCall, call_service};

/// Options of the test pixelation: few colours, small blocks.
const PROBE_OPTIONS: [(&str, &str); 2] = [("block", "4"), ("colors", "4")];

/// What the verification saw.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Verification {
    /// The URL checked.
    pub url: String,
    /// `GET /`: the health envelope's status field (e.g. "ok") and service version.
    pub health: String,
    /// The pixelate round trip: PNG width × height and byte size.
    pub pixelate: String,
    /// How many attempts it took until the app answered properly.
    pub attempts: u32,
    /// Time spent, milliseconds.
    pub elapsed_ms: u64,
}

/// Verifies the app at `url` within `deadline`, calling `on_retry` before each pause. With
/// `build` (the identity read from the pushed module), `/health` must answer that build: until it
/// does, the app still runs the module from before the restart, and the check is tried again.
pub async fn verify(
    url: &str,
    deadline: Instant,
    build: Option<&str>,
    mut on_retry: impl FnMut(&str),
) -> Result<Verification> {
    let started = Instant::now();
    let failed = |detail: String| Error::VerifyFailed {
        url: url.to_owned(),
        detail,
    };
    let per_call = Duration::from_secs(60);
    let http = reqwest::Client::builder()
        .timeout(per_call)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(format!("cannot set up the HTTP client: {e}")))?;
    let mut attempts = 0;
    let mut pause = Duration::from_millis(500);
    loop {
        attempts += 1;
        let attempt = async {
            let health = get_root(&http, url, build).await?;
            let pixelate = pixelate_round_trip(url, per_call).await?;
            Ok((health, pixelate))
        };
        let err = match attempt.await {
            Ok((health, pixelate)) => {
                return Ok(Verification {
                    url: url.to_owned(),
                    health,
                    pixelate,
                    attempts,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                });
            }
            Err(Attempt::Fatal(detail)) => return Err(failed(detail)),
            Err(Attempt::Retry(detail)) => detail,
        };
        if Instant::now() + pause >= deadline {
            return Err(failed(format!(
                "still not answering after {} s: {err}",
                started.elapsed().as_secs()
            )));
        }
        on_retry(&scrub(&err));
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(5));
    }
}

/// Whether the app at `url` answers `GET /` right now (one try, 15 s at most) with the health of
/// `build`: how a deploy tells that an unchanged module runs when OSC reports no build status.
pub async fn serves_build(url: &str, build: &str) -> bool {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
    else {
        return false;
    };
    get_root(&http, url, Some(build)).await.is_ok()
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

/// `GET /` → the health envelope, summarised as "ok (pixelsmith-wasm-service 0.1.0)".
async fn get_root(
    http: &reqwest::Client,
    url: &str,
    build: Option<&str>,
) -> Result<String, Attempt> {
    let answer = http
        .get(url)
        .send()
        .await
        .map_err(|e| Attempt::Retry(format!("GET / failed: {}", e.without_url())))?;
    let status = answer.status().as_u16();
    let html = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("html"));
    let text = answer
        .text()
        .await
        .map_err(|e| Attempt::Retry(format!("GET / failed: {}", e.without_url())))?;
    if status != 200 {
        let detail = format!(
            "GET / answered HTTP {status}{}",
            if html {
                " (an HTML page from OSC's gateway: the app is not up yet)"
            } else {
                ""
            }
        );
        return Err(
            if matches!(status, 401 | 403 | 404 | 429 | 502 | 503 | 504) {
                Attempt::Retry(detail)
            } else {
                Attempt::Fatal(detail)
            },
        );
    }
    let snippet: String = text.chars().take(120).collect();
    let response = Response::from_output(&text).map_err(|e| {
        Attempt::Fatal(format!(
            "GET / did not answer the module's health envelope ({e}); it answered: {snippet}"
        ))
    })?;
    if response.envelope() != ENVELOPE_TAG || response.status != 200 {
        return Err(Attempt::Fatal(format!(
            "GET / answered {} status {} instead of a {ENVELOPE_TAG} health answer: {snippet}",
            response.envelope(),
            response.status
        )));
    }
    let body = response.json_body();
    let field = |k: &str| {
        body.and_then(|b| b.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("?")
    };
    // Right after a restart the old module may still answer for a while.
    if let Some(pushed) = build
        && field("build") != pushed
    {
        return Err(Attempt::Retry(format!(
            "the app still answers build {}, not the pushed build {pushed}: the restart has not \
             taken effect yet",
            field("build")
        )));
    }
    Ok(format!(
        "{} ({} {})",
        field("status"),
        field("service"),
        field("version")
    ))
}

/// A small pixelate request through the envelope, judged by `call_service`: 200 `image/png` that
/// decodes to the expected size with flat cells. A problem before the module answered (a gateway
/// page, a refused connection) is worth another attempt; a wrong answer from the module is not.
async fn pixelate_round_trip(url: &str, timeout: Duration) -> Result<String, Attempt> {
    let options = PROBE_OPTIONS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let request = CallRequest {
        url: url.to_owned(),
        health: false,
        pixelate: Some(PixelateCall::sample(options)),
        timeout,
    };
    let report = call_service(&request)
        .await
        .map_err(|e| Attempt::Fatal(format!("cannot send the pixelate request: {e}")))?;
    let check = report
        .pixelate
        .ok_or_else(|| Attempt::Fatal("call_service made no pixelate check".into()))?;
    if check.ok {
        let (w, h) = (check.width.unwrap_or(0), check.height.unwrap_or(0));
        return Ok(format!(
            "{w}×{h} PNG ({} bytes, {} colours) for {}",
            check.png_bytes.unwrap_or(0),
            check.colors.unwrap_or(0),
            check.image
        ));
    }
    let problem = format!(
        "pixelate request: {}",
        check
            .problem
            .as_deref()
            .unwrap_or("failed without a reason")
    );
    Err(if check.status.is_none() {
        Attempt::Retry(problem)
    } else {
        Attempt::Fatal(problem)
    })
}
