//! Talking to a runner (the local emulation or a deployed OSC app) the only way it can be talked
//! to: `POST <runner>/` with `Content-Type: text/plain` and a request envelope as the body, then
//! reading the response envelope out of the UTF-8 text it answers.
//!
//! Every call has a timeout, and every way a runner can misbehave (unreachable, slow, a non-200
//! status, an HTML page from a proxy, text that is not an envelope) becomes an [`UpstreamError`]
//! whose message says what came back and what to do. Shared by the gateway and `call_service`.

use std::time::{Duration, Instant};

use reqwest::Url;
use wasm_service::envelope::{Request, Response};

/// OSC's runner refuses bodies over 1 MiB (Fastify's default `bodyLimit`).
pub const RUNNER_BODY_LIMIT: usize = 1024 * 1024;

/// The most bytes read from a runner's answer (a PNG for a 64 MP source, as base64, fits).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// How long a call to the runner may take by default (a large image on OSC's interpreter can
/// take seconds; a cold app longer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a runner call did not produce a response envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The runner URL cannot be used.
    #[error("`{url}` is not a usable runner URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The URL's address is not public and this caller only reaches public ones (the MCP
    /// server's `call_service`); refused before connecting, whatever listens there.
    #[error("{0}")]
    Forbidden(#[from] crate::net_guard::Forbidden),
    /// Nothing answered (refused, DNS, TLS, reset).
    #[error("could not reach the runner at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// No complete answer within the timeout.
    #[error(
        "the runner at {url} did not answer within {} s (a cold app or a large image on the \
         interpreter can be slow; retry, or raise the timeout)",
        after.as_secs_f64()
    )]
    Timeout { url: String, after: Duration },
    /// The runner answered with a status other than 200 (the runner itself answers 200 for
    /// everything the module handles, so this is the runner or a proxy refusing the request).
    #[error("the runner at {url} answered {status}{}: {}", kind_hint(content_type, *status), snippet)]
    Status {
        url: String,
        status: u16,
        content_type: String,
        snippet: String,
    },
    /// 200, but the body is not a `pixelsmith/1` response envelope.
    #[error(
        "the runner at {url} answered 200 but not with a pixelsmith/1 envelope ({reason}); \
         it started with: {snippet}"
    )]
    NotEnvelope {
        url: String,
        reason: String,
        snippet: String,
    },
}

impl UpstreamError {
    /// The status a gateway answers with: 504 for a timeout (ours, or a 504 from the runner's
    /// proxy), 503 when the runner's side said it is unavailable (an app starting or asleep),
    /// 502 for the rest.
    pub fn http_status(&self) -> u16 {
        match self {
            UpstreamError::Timeout { .. } => 504,
            UpstreamError::Status {
                status: status @ (503 | 504),
                ..
            } => *status,
            _ => 502,
        }
    }

    /// A stable snake_case code for error bodies and structured results.
    pub fn code(&self) -> &'static str {
        match self {
            UpstreamError::InvalidUrl { .. } => "invalid_runner_url",
            UpstreamError::Forbidden(_) => "address_not_allowed",
            UpstreamError::Unreachable { .. } => "runner_unreachable",
            UpstreamError::Timeout { .. } => "runner_timeout",
            UpstreamError::Status { .. } => "runner_status",
            UpstreamError::NotEnvelope { .. } => "not_an_envelope",
        }
    }
}

fn kind_hint(content_type: &str, status: u16) -> String {
    let html = content_type.to_ascii_lowercase().contains("html");
    match (html, status) {
        (true, _) => format!(
            " with an HTML page ({content_type}), not the module's answer: a proxy or gateway in \
             front of the runner refused or failed the request (an app that is still starting or \
             has stopped answers like this)"
        ),
        (false, 413) => " (request body over the runner's 1 MiB limit)".to_string(),
        (false, 405) => {
            " (a runner takes POST /: is this the gateway's URL instead of the runner's?)"
                .to_string()
        }
        (false, 404) => {
            " (the runner only serves GET / and POST /: is the URL the app's root URL?)".to_string()
        }
        (false, 415 | 500) => {
            " (the runner refused the body: it must be text/plain, which the gateway always \
             sends, so something in between changed it)"
                .to_string()
        }
        _ => String::new(),
    }
}

/// What one runner call gave back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The module's response envelope.
    pub response: Response,
    /// Bytes of the request envelope sent.
    pub request_bytes: usize,
    /// Bytes of the runner's answer.
    pub response_bytes: usize,
    /// Wall time from sending the request to having the whole answer.
    pub latency: Duration,
}

/// A runner URL with an HTTP client.
#[derive(Debug, Clone)]
pub struct Upstream {
    url: Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl Upstream {
    /// A client for the runner at `url` (`http(s)://host[:port][/path]`); `timeout` bounds each
    /// whole call, connecting included.
    pub fn new(url: &str, timeout: Duration) -> Result<Upstream, UpstreamError> {
        Self::build(url, timeout, reqwest::Client::builder())
    }

    /// Like [`Upstream::new`], but only ever connecting to public addresses
    /// ([`crate::net_guard`]): a non-public IP literal is refused here, a name when it resolves.
    pub fn public_only(url: &str, timeout: Duration) -> Result<Upstream, UpstreamError> {
        let upstream = Self::build(url, timeout, crate::net_guard::guarded_client(5))?;
        crate::net_guard::check_url(&upstream.url)?;
        Ok(upstream)
    }

    fn build(
        url: &str,
        timeout: Duration,
        builder: reqwest::ClientBuilder,
    ) -> Result<Upstream, UpstreamError> {
        let invalid = |reason: String| UpstreamError::InvalidUrl {
            url: redact(url),
            reason,
        };
        let parsed = Url::parse(url.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("use an http:// or https:// URL".to_string()));
        }
        if parsed.host_str().is_none() {
            return Err(invalid("it has no host".to_string()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "it carries credentials; the runner needs none".to_string(),
            ));
        }
        let client = builder
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("pixelsmith/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("could not create an HTTP client: {e}")))?;
        Ok(Upstream {
            url: parsed,
            client,
            timeout,
        })
    }

    /// The runner URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Sends `request` as an envelope and reads the module's response envelope.
    pub async fn send(&self, request: &Request) -> Result<Exchange, UpstreamError> {
        self.send_text(request.to_json()).await
    }

    /// Sends an already serialised request envelope.
    pub async fn send_text(&self, envelope: String) -> Result<Exchange, UpstreamError> {
        let request_bytes = envelope.len();
        let started = Instant::now();
        let answer = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(envelope)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut answer = answer;
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(UpstreamError::NotEnvelope {
                    url: self.url.to_string(),
                    reason: format!("the answer passed {MAX_ANSWER_BYTES} bytes and was cut off"),
                    snippet: snippet(&String::from_utf8_lossy(&body[..body.len().min(400)])),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let latency = started.elapsed();
        // The runner decodes stdout as UTF-8 itself; decoding again lossily changes nothing.
        let text = String::from_utf8_lossy(&body);
        if status != 200 {
            return Err(UpstreamError::Status {
                url: self.url.to_string(),
                status,
                content_type,
                snippet: snippet(&text),
            });
        }
        let response = parse_envelope(&text).map_err(|reason| UpstreamError::NotEnvelope {
            url: self.url.to_string(),
            reason,
            snippet: snippet(&text),
        })?;
        Ok(Exchange {
            response,
            request_bytes,
            response_bytes: body.len(),
            latency,
        })
    }

    fn transport_error(&self, err: reqwest::Error) -> UpstreamError {
        let url = self.url.to_string();
        if err.is_timeout() {
            return UpstreamError::Timeout {
                url,
                after: self.timeout,
            };
        }
        if let Some(forbidden) = crate::net_guard::forbidden_cause(&err) {
            return UpstreamError::Forbidden(forbidden);
        }
        // The innermost cause says the most ("Connection refused", "dns error", a TLS failure).
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            detail = cause.to_string();
            source = cause.source();
        }
        UpstreamError::Unreachable { url, detail }
    }
}

/// The URL without any `user:password@` part, so a token put there is never echoed.
fn redact(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.trim().to_string(),
        Err(_) if url.contains('@') => {
            "(the URL given, not shown: it may carry credentials)".into()
        }
        Err(_) => url.trim().to_string(),
    }
}

/// The module's answer must be a tagged envelope: a flat JSON object is some other service.
fn parse_envelope(text: &str) -> Result<Response, String> {
    if text.trim().is_empty() {
        return Err(
            "the body is empty: the module wrote nothing to stdout (it may have crashed \
                    before answering; `pixelsmith run-local` shows what it does)"
                .to_string(),
        );
    }
    let response = Response::from_output(text).map_err(|e| e.to_string())?;
    if response.is_legacy() {
        return Err(
            "the body is JSON without `\"envelope\":\"pixelsmith/1\"`: the module is not \
                    a Pixelsmith service, or an older build of it"
                .to_string(),
        );
    }
    if !(100..=599).contains(&response.status) {
        return Err(format!(
            "the envelope's status {} is not an HTTP status",
            response.status
        ));
    }
    Ok(response)
}

/// The first 200 characters on one line, for error messages.
fn snippet(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let flat = flat.trim();
    if flat.is_empty() {
        "(nothing)".to_string()
    } else if text.chars().count() > 200 {
        format!("{flat}…")
    } else {
        flat.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        let t = DEFAULT_TIMEOUT;
        assert!(Upstream::new("https://abc.apps.osaas.io", t).is_ok());
        assert!(Upstream::new("http://127.0.0.1:8080/", t).is_ok());
        for bad in ["ftp://x", "not a url", "https://user:pw@x.io"] {
            let err = Upstream::new(bad, t).unwrap_err();
            assert_eq!(err.code(), "invalid_runner_url", "{bad}: {err}");
        }
        let err = Upstream::new("https://user:secret@x.io", t).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn envelopes_are_required() {
        assert!(parse_envelope("").unwrap_err().contains("empty"));
        assert!(parse_envelope("<html>").is_err());
        assert!(
            parse_envelope(r#"{"status":"ok"}"#)
                .unwrap_err()
                .contains("envelope")
        );
        let ok = parse_envelope(
            r#"{"envelope":"pixelsmith/1","status":404,"content_type":"application/json","body":{}}"#,
        )
        .unwrap();
        assert_eq!(ok.status, 404);
    }
}
