//! The runner's HTTP side, as OSC's Fastify server does it: `GET /` runs the module with empty
//! stdin, `POST /` with a `text/plain` body runs it with that body (hex-decoded when the whole
//! body is hex), everything else is refused before the module runs. Whatever the module does,
//! the answer is 200 with its stdout as UTF-8 text.
//!
//! The one deliberate difference: a run that passes the time limit is answered with 504 (what a
//! client of OSC would eventually get from a proxy) instead of hanging.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use super::fastify::{self, BODY_LIMIT, TEXT_PLAIN_UTF8};
use super::module::{Exit, Runner};
use super::node_json;

/// The runner emulation as an axum app: every path and method goes through one handler, because
/// the 404s must be Fastify's, not axum's. Used in-process, a crash (see [`crashing_router`])
/// closes each later request's answer with an error instead of refusing connections.
pub fn router(runner: Runner) -> Router {
    crashing_router(runner, CancellationToken::new())
}

/// [`router`], cancelling `stop` when the module crashes the runner as it would on OSC (it left
/// at least [`super::EPIPE_UNREAD_BYTES`] of stdin unread): the server serving it then stops listening,
/// so later requests are refused until it is started again, like the crashed container.
pub(crate) fn crashing_router(runner: Runner, stop: CancellationToken) -> Router {
    let app = App {
        runner,
        crashed: Arc::new(AtomicBool::new(false)),
        stop,
    };
    Router::new().fallback(handle).with_state(app)
}

#[derive(Clone)]
struct App {
    runner: Runner,
    /// Set once a run crashed the runner; every later request is dropped too.
    crashed: Arc<AtomicBool>,
    stop: CancellationToken,
}

async fn handle(State(app): State<App>, request: Request) -> Response {
    if app.crashed.load(Ordering::SeqCst) {
        return dropped_connection();
    }
    let method = request.method().clone();
    let raw_url = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let is_root = request.uri().path() == "/";
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = match method {
        Method::OPTIONS => fastify::preflight(request.headers()),
        // Fastify serves HEAD for every GET route; the module runs, the body is not sent.
        Method::GET | Method::HEAD if is_root => run(&app, Vec::new()).await,
        Method::POST if is_root => match post_body_to_stdin(request).await {
            Ok(stdin) => run(&app, stdin).await,
            Err(refusal) => refusal.response(),
        },
        _ => fastify::not_found(&method, &raw_url),
    };
    fastify::add_cors(&mut response, origin.as_ref());
    tracing::debug!(%method, url = %raw_url, status = %response.status(), "runner request");
    response
}

async fn run(app: &App, stdin: Vec<u8>) -> Response {
    let written = stdin.len();
    let outcome = app.runner.run_async(stdin).await;
    if outcome.crashes_runner() {
        tracing::error!(
            unread = outcome.stdin_unread,
            written,
            "the module ended without reading {} of the {written} stdin bytes: on OSC the \
             runner's write to its stdin fails with EPIPE and the runner dies, refusing every \
             request until the app restarts. This emulation now does the same: it stops \
             listening (start it again). Fix the module: read all of stdin before answering",
            outcome.stdin_unread
        );
        app.crashed.store(true, Ordering::SeqCst);
        app.stop.cancel();
        return dropped_connection();
    }
    match &outcome.exit {
        Exit::TimedOut(limit) => {
            tracing::warn!(?limit, "module run timed out");
            return (
                StatusCode::GATEWAY_TIMEOUT,
                [(header::CONTENT_TYPE, TEXT_PLAIN_UTF8)],
                format!(
                    "pixelsmith runner emulation: the module ran longer than {} s and was \
                     stopped. OSC's runner has no limit: there this request would hang until a \
                     proxy gives up.",
                    limit.as_secs_f64()
                ),
            )
                .into_response();
        }
        Exit::Code(0) => {}
        other => tracing::debug!(exit = ?other, "module ended abnormally (still answered 200)"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, TEXT_PLAIN_UTF8)],
        outcome.answer_text(),
    )
        .into_response()
}

/// What a client of the crashed runner gets: the connection closes with no answer. The body
/// fails before its first byte, and hyper then closes the connection without sending the head.
fn dropped_connection() -> Response {
    let failed = futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "the runner crashed (EPIPE on the module's stdin)",
        ))
    });
    Response::new(Body::from_stream(failed))
}

/// The checks Fastify and the runner's POST handler make, in their order: a body parser for the
/// content type (else 415), the body limit (413), parsing (JSON), then `request.body.match`.
async fn post_body_to_stdin(request: Request) -> Result<Vec<u8>, Refusal> {
    let headers = request.headers().clone();
    let content_type = header_text(&headers, header::CONTENT_TYPE);
    let kind = match content_type.as_deref() {
        None if !has_body(&headers) => {
            return Err(Refusal::Crash(
                "Cannot read properties of undefined (reading 'match')",
            ));
        }
        None => return Err(Refusal::MediaType(None)),
        Some(value) => match media_type(value).as_str() {
            "text/plain" => BodyKind::Text,
            "application/json" => BodyKind::Json,
            _ => return Err(Refusal::MediaType(Some(value.to_string()))),
        },
    };
    let declared = header_text(&headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    if declared.is_some_and(|length: usize| length > BODY_LIMIT) {
        return Err(Refusal::TooLarge);
    }
    let bytes = read_limited(request.into_body()).await?;
    // Fastify reads text (and JSON) bodies as UTF-8 strings, invalid bytes becoming U+FFFD, and
    // then compares the string's UTF-8 length with the declared length.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if declared.is_some_and(|length: usize| length != text.len()) {
        return Err(Refusal::InvalidContentLength);
    }
    let body = match kind {
        BodyKind::Text => text,
        BodyKind::Json => json_body_text(&text)?,
    };
    // The hex rule's decoder is `body.match(/[\da-f]{2}/gi).map(…)`: one lone hex digit matches
    // the hex test but gives no pair, so `match` returns null and the handler throws.
    if body.len() == 1 && body.as_bytes()[0].is_ascii_hexdigit() {
        return Err(Refusal::Crash(
            "Cannot read properties of null (reading 'map')",
        ));
    }
    Ok(stdin_for(&body))
}

enum BodyKind {
    Text,
    Json,
}

/// Why the runner answers without running the module (kept small; made a response at the end).
enum Refusal {
    MediaType(Option<String>),
    TooLarge,
    Stalled,
    InvalidContentLength,
    EmptyJson,
    InvalidJson(String),
    Crash(&'static str),
}

impl Refusal {
    fn response(self) -> Response {
        match self {
            Refusal::MediaType(content_type) => {
                fastify::unsupported_media_type(content_type.as_deref())
            }
            Refusal::TooLarge => fastify::body_too_large(),
            Refusal::Stalled => fastify::request_timeout(),
            Refusal::InvalidContentLength => fastify::invalid_content_length(),
            Refusal::EmptyJson => fastify::empty_json_body(),
            Refusal::InvalidJson(message) => fastify::json_syntax_error(&message),
            Refusal::Crash(message) => fastify::handler_crash(message),
        }
    }
}

/// Fastify's JSON parser: `secure-json-parse` drops a leading BOM, `JSON.parse` must accept the
/// text (else a 400 with V8's message), and no object may carry a `__proto__` key or a
/// `constructor.prototype`. Then the runner's handler needs a string for `.match` to exist.
fn json_body_text(text: &str) -> Result<String, Refusal> {
    if text.is_empty() {
        return Err(Refusal::EmptyJson);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(message) = node_json::parse_error(text) {
        return Err(Refusal::InvalidJson(message));
    }
    let value = serde_json::from_str::<serde_json::Value>(text);
    if value.as_ref().is_ok_and(has_forbidden_prototype) {
        return Err(Refusal::InvalidJson(
            "Object contains forbidden prototype property".to_string(),
        ));
    }
    match value {
        // Valid for V8 but not for serde_json: lone surrogates in `\u` escapes. Not a string
        // the module could get anyway.
        Err(_) => Err(Refusal::Crash("request.body.match is not a function")),
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(serde_json::Value::Null) => Err(Refusal::Crash(
            "Cannot read properties of null (reading 'match')",
        )),
        Ok(_) => Err(Refusal::Crash("request.body.match is not a function")),
    }
}

/// `secure-json-parse`'s prototype-poisoning check (Fastify's default: error).
fn has_forbidden_prototype(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.contains_key("__proto__")
                || map
                    .get("constructor")
                    .is_some_and(|c| c.get("prototype").is_some())
                || map.values().any(has_forbidden_prototype)
        }
        serde_json::Value::Array(items) => items.iter().any(has_forbidden_prototype),
        _ => false,
    }
}

async fn read_limited(body: Body) -> Result<Vec<u8>, Refusal> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|err| {
            if crate::listen::is_body_timeout(&err) {
                Refusal::Stalled
            } else {
                Refusal::TooLarge
            }
        })
}

/// The hex rule: a body that is entirely hex digits (`/^[\da-f]+$/i`) is decoded pair by pair
/// (a trailing odd digit is dropped, as the runner's `match(/[\da-f]{2}/gi)` does); any other
/// body is written as its UTF-8 text.
pub fn stdin_for(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return bytes.to_vec();
    }
    bytes
        .chunks_exact(2)
        .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
        .collect()
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// `text/plain; charset=utf-8` → `text/plain` (Fastify matches the media type only).
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Fastify only parses a body when one is announced (a non-zero length or chunked encoding).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || header_text(headers, header::CONTENT_LENGTH).is_some_and(|v| v.trim() != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_rule_decodes_whole_hex_bodies_only() {
        assert_eq!(stdin_for("48656C6c6f"), b"Hello");
        assert_eq!(
            stdin_for("abc"),
            vec![0xab],
            "a trailing odd digit is dropped"
        );
        assert_eq!(stdin_for("48656c6c6f!"), b"48656c6c6f!");
        assert_eq!(stdin_for("{\"a\":1}"), b"{\"a\":1}");
        assert_eq!(stdin_for(""), b"");
        assert_eq!(stdin_for("12 34"), b"12 34", "spaces make it text");
    }

    #[test]
    fn media_type_ignores_parameters_and_case() {
        assert_eq!(media_type("Text/Plain; charset=UTF-8"), "text/plain");
        assert_eq!(media_type("application/json"), "application/json");
    }
}
