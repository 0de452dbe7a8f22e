//! The gateway's HTTP side: any HTTP request becomes a request envelope, goes to the runner as
//! `POST /` text, and the module's response envelope becomes the HTTP response — its status,
//! content type, headers and body (raw bytes for base64 bodies). The routes themselves are the
//! module's (`GET /health`, `GET /palettes`, `GET /`, `POST /pixelate`, its 404s and 405s); the
//! gateway only adds fitting for large images and clear 502/504 answers when the runner fails,
//! and serves Pixelsmith Studio (the web page) at `GET /` to browsers.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use wasm_service::envelope::{Json, Request as Envelope, Response as Answer};

use super::animated;
use super::fit::{self, FitError};
use super::slim;
use super::transcode::{self, Transcoded};
use super::upload;
use super::upstream::Upstream;
use crate::studio;

/// Header that says an image was reduced to fit the runner's request limit, and how.
pub const FITTED_HEADER: &str = "x-pixelsmith-fitted";

/// Header that says an upload in a format the module cannot decode was rewritten as PNG.
pub const CONVERTED_HEADER: &str = "x-pixelsmith-converted";

#[derive(Clone)]
pub(super) struct Gateway {
    pub(super) upstream: Upstream,
    /// The runner's request body limit (1 MiB on OSC).
    pub(super) runner_limit: usize,
    /// The largest upload the gateway reads.
    pub(super) max_upload: usize,
}

pub(super) fn app(gateway: Gateway) -> Router {
    Router::new().fallback(handle).with_state(gateway)
}

async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let headers = request.headers().clone();
    let body = match axum::body::to_bytes(request.into_body(), gateway.max_upload).await {
        Ok(body) => body.to_vec(),
        Err(err) if crate::listen::is_body_timeout(&err) => {
            return error(
                408,
                "request_timeout",
                "the request body stopped arriving (no data for longer than the body timeout); \
                 send it again",
            );
        }
        Err(err) if crate::listen::caused_by::<http_body_util::LengthLimitError>(&err) => {
            return error(
                413,
                "payload_too_large",
                &format!(
                    "the body is over {} bytes, the most this gateway reads",
                    gateway.max_upload
                ),
            );
        }
        Err(err) => {
            return error(
                400,
                "bad_request",
                &format!("the request body could not be read: {err}"),
            );
        }
    };
    let index = (method == Method::GET || method == Method::HEAD) && path == "/";
    let mut response =
        if method == Method::OPTIONS && headers.contains_key("access-control-request-method") {
            preflight(&headers)
        } else if index && studio::wants_html(header_text(&headers, header::ACCEPT).as_deref()) {
            studio_page()
        } else {
            forward(&gateway, &method, &path, &query, &headers, body).await
        };
    if index {
        // `GET /` is the page for browsers and the JSON index for API clients.
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
    }
    tracing::debug!(%method, %path, status = %response.status(), "gateway request");
    response
}

async fn forward(
    gateway: &Gateway,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    mut body: Vec<u8>,
) -> Response {
    // HEAD is GET without the body (hyper drops the body of an answer to HEAD).
    let method_name = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let mut content_type = header_text(headers, header::CONTENT_TYPE);
    let accept = header_text(headers, header::ACCEPT);
    let mut converted: Option<Transcoded> = None;
    let mut query = query.to_string();
    let mut framed: Option<String> = None;
    if is_pixelate(method_name, path) {
        // A form's file part, a gzip body: the image itself from here on.
        match upload::unwrap(headers, content_type, body, gateway.max_upload).await {
            Ok(unwrapped) => {
                body = unwrapped.body;
                content_type = unwrapped.content_type;
                if !unwrapped.form_query.is_empty() {
                    query = [unwrapped.form_query.as_str(), query.as_str()]
                        .iter()
                        .filter(|q| !q.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("&");
                }
            }
            Err((status, code, message)) => return error(status, code, &message),
        }
        if body.is_empty() {
            // The module would talk of envelopes and stdin; this is an HTTP client.
            return error(
                400,
                "missing_image",
                "no image: send the image file as the request body (curl --data-binary @cat.png \
                 'URL/pixelate?block=8'), as a form's file field (curl -F image=@cat.png), or a \
                 JSON body {\"image_base64\": \"...\", \"block\": 8}",
            );
        }
        if let Some(refused) = explain_if_not_an_image(content_type.as_deref(), &body).await {
            return refused;
        }
        let sent = EnvelopeParts {
            method: method_name,
            path,
            content_type: content_type.as_deref(),
            accept: accept.as_deref(),
        };
        match one_frame_if_needed(gateway, &sent, &query, &body).await {
            Ok(None) => {}
            Ok(Some(frame)) => {
                framed = Some(format!(
                    "frame {} of {} -> png ({} -> {} bytes)",
                    frame.index,
                    frame.source,
                    body.len(),
                    frame.png.len()
                ));
                body = frame.png;
                query = frame.query;
                content_type = Some("image/png".into());
            }
            Err(refused) => return refused,
        }
    }
    let query = query.as_str();
    if is_pixelate(method_name, path) && transcode::needs_rewrite(&body) {
        let upload = body.clone();
        match converting(move || transcode::for_module(&upload)).await {
            Ok(Some(done)) => {
                content_type = Some("image/png".into());
                converted = Some(done);
            }
            Ok(None) => {}
            Err(refused) => return refused,
        }
    }
    let sent_body = converted.as_ref().map_or(body.as_slice(), |done| &done.png);
    let request = envelope_for(
        method_name,
        path,
        query,
        content_type.as_deref(),
        accept.as_deref(),
        sent_body,
    );
    let mut text = request.to_json();
    let mut fitted = None;
    let mut slimmed = None;
    if text.len() > gateway.runner_limit && converted.is_none() && is_pixelate(method_name, path) {
        // Metadata the picture does not use (a motion photo's video, XMP, text chunks) goes
        // first: the module then decodes the very pixels the native engine does.
        let content_type = request
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let slim = slim::strip(&body);
        if let Some(slim) = &slim {
            let slim_text = request.clone().with_bytes(slim, content_type).to_json();
            if slim_text.len() <= gateway.runner_limit {
                text = slim_text;
                slimmed = Some(format!(
                    "metadata dropped: {} -> {} bytes (pixels, ICC profile and EXIF orientation \
                     kept; previews, XMP, text and data after the image left out)",
                    body.len(),
                    slim.len()
                ));
            }
        }
        // Then a PNG's image data deflated again (barely compressed PNGs are common): the same
        // scanlines, so still the CLI's answer, where a reduction only comes close.
        if text.len() > gateway.runner_limit {
            let dropped = slim.is_some();
            let base = slim.unwrap_or_else(|| body.clone());
            // What base64 in the envelope leaves room for.
            let max_len = gateway.runner_limit / 4 * 3;
            let recompressed =
                tokio::task::spawn_blocking(move || slim::recompress_png(&base, max_len))
                    .await
                    .ok()
                    .flatten();
            if let Some(png) = recompressed {
                let png_text = request.clone().with_bytes(&png, content_type).to_json();
                if png_text.len() <= gateway.runner_limit {
                    text = png_text;
                    slimmed = Some(format!(
                        "image data compressed again: {} -> {} bytes (the same pixels{})",
                        body.len(),
                        png.len(),
                        if dropped {
                            "; metadata the picture does not use left out"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
    }
    if text.len() > gateway.runner_limit {
        if !is_pixelate(method_name, path) || request.body_base64.is_none() {
            return error(
                413,
                "payload_too_large",
                &format!(
                    "the request envelope would be {} bytes, over the runner's {} byte limit; only \
                     raw images sent to POST /pixelate are reduced to fit",
                    text.len(),
                    gateway.runner_limit
                ),
            );
        }
        // Fitting decodes the whole image natively (seconds for 50 MP): off the async workers,
        // so other requests (a `/health`) are still answered meanwhile.
        let job = (request.clone(), body.clone(), query.to_string());
        let limit = gateway.runner_limit;
        let fitting = tokio::task::spawn_blocking(move || {
            let (request, body, query) = job;
            let size =
                |image: &[u8], query: &str| with_image(&request, image, query).to_json().len();
            fit::fit(&body, &query, size, limit)
        });
        let Ok(fitting) = fitting.await else {
            return error(500, "internal", "fitting the image failed unexpectedly");
        };
        match fitting {
            Ok(done) => {
                text = with_image(&request, &done.image, &done.query).to_json();
                fitted = Some(done);
            }
            Err(FitError::Engine(err)) => {
                return to_http(wasm_service::router::engine_error(&err), &[]);
            }
            Err(FitError::TooLarge(reason)) => return error(413, "payload_too_large", &reason),
        }
    }
    let exchange = match gateway.upstream.send_text(text).await {
        Ok(exchange) => exchange,
        Err(err) => {
            tracing::warn!("runner call failed: {err}");
            return error(err.http_status(), err.code(), &err.to_string());
        }
    };
    let mut extra = vec![(
        HeaderName::from_static("server-timing"),
        format!("runner;dur={:.1}", exchange.latency.as_secs_f64() * 1000.0),
    )];
    if let Some(note) = framed.or(slimmed) {
        extra.push((HeaderName::from_static(CONVERTED_HEADER), note));
    }
    if let Some(done) = &converted
        && fitted.is_none()
    {
        extra.push((
            HeaderName::from_static(CONVERTED_HEADER),
            done.describe(body.len()),
        ));
    }
    let answer = match &fitted {
        Some(done) => {
            extra.push((
                HeaderName::from_static(FITTED_HEADER),
                done.describe(body.len()),
            ));
            match done.restore(exchange.response) {
                Ok(answer) => answer,
                Err(message) => return error(502, "bad_gateway", &message),
            }
        }
        None => exchange.response,
    };
    to_http(answer, &extra)
}

/// Runs a conversion (it decodes a whole image: seconds for a large one) off the async workers;
/// the engine's error for the image, or a panic, becomes the HTTP answer to send instead.
async fn converting<T: Send + 'static>(
    work: impl FnOnce() -> Result<Option<T>, wasm_service::engine::Error> + Send + 'static,
) -> Result<Option<T>, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(err)) => Err(to_http(wasm_service::router::engine_error(&err), &[])),
        Err(_) => Err(error(
            500,
            "internal",
            "converting the image failed unexpectedly",
        )),
    }
}

/// The parts of a request envelope besides its query and body.
struct EnvelopeParts<'a> {
    method: &'a str,
    path: &'a str,
    content_type: Option<&'a str>,
    accept: Option<&'a str>,
}

/// One frame of an animated upload, to send as a PNG still.
struct Frame {
    index: usize,
    /// What it was taken from, e.g. "a 12-frame animated WebP".
    source: String,
    png: Vec<u8>,
    /// The query without `frame`.
    query: String,
}

/// An animated upload the module cannot take whole (see `animated`): the frame `frame=N` asks
/// for, composited natively, or the refusal that says what to do instead. `Ok(None)`: send the
/// upload as it is (a still, or an animated GIF that fits).
async fn one_frame_if_needed(
    gateway: &Gateway,
    parts: &EnvelopeParts<'_>,
    query: &str,
    body: &[u8],
) -> Result<Option<Frame>, Response> {
    let upload = body.to_vec();
    let Ok(detected) = tokio::task::spawn_blocking(move || animated::detect(&upload)).await else {
        return Err(error(
            500,
            "internal",
            "reading the animation failed unexpectedly",
        ));
    };
    let Some(animation) = detected else {
        return Ok(None);
    };
    let frame = animated::requested_frame(query).map_err(|m| error(400, "invalid_option", &m))?;
    let size = envelope_for(
        parts.method,
        parts.path,
        query,
        parts.content_type,
        parts.accept,
        body,
    )
    .to_json()
    .len();
    let too_large = (size > gateway.runner_limit).then_some((size, gateway.runner_limit));
    let gif = animation.format == wasm_service::engine::Format::Gif;
    let Some(index) = frame else {
        if gif && too_large.is_none() {
            return Ok(None);
        }
        let (status, code, message) = animated::refusal(animation, too_large.filter(|_| gif));
        return Err(error(status, code, &message));
    };
    if gif && too_large.is_none() {
        return Ok(None);
    }
    let upload = body.to_vec();
    let Ok(extracted) =
        tokio::task::spawn_blocking(move || animated::frame_png(&upload, index)).await
    else {
        return Err(error(
            500,
            "internal",
            "extracting the frame failed unexpectedly",
        ));
    };
    let png = extracted.map_err(|err| to_http(wasm_service::router::engine_error(&err), &[]))?;
    Ok(Some(Frame {
        index,
        source: format!(
            "a {}-frame {}",
            animation.frames,
            animated::animation_name(animation.format)
        ),
        png,
        query: animated::without_frame(query),
    }))
}

/// Pixelsmith Studio, the web page for people, served by the gateway itself (no runner call, so
/// it paints even when the runner is down).
fn studio_page() -> Response {
    let mut response = (StatusCode::OK, studio::HTML).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(studio::GATEWAY_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A browser's CORS preflight, answered here: the module has no OPTIONS routes, and the gateway
/// is meant to be called from pages on any origin (like OSC's runner, which allows any origin).
fn preflight(request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,HEAD,POST"),
    );
    if let Some(asked) = request_headers.get("access-control-request-headers") {
        headers.insert("access-control-allow-headers", asked.clone());
    }
    headers.insert("access-control-max-age", HeaderValue::from_static("600"));
    response
}

/// An HTTP request as an envelope: JSON bodies as JSON, text as text, anything else as base64.
fn envelope_for(
    method: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &[u8],
) -> Envelope {
    let mut request = Envelope::new(method, path).with_query(query);
    request.accept = accept.map(str::to_string);
    if body.is_empty() {
        request.content_type = content_type.map(str::to_string);
        return request;
    }
    let lower = content_type.unwrap_or("").to_ascii_lowercase();
    if lower.contains("json")
        && let Ok(value) = serde_json::from_slice::<Value>(body)
    {
        request.body = Some(value.into());
    } else if lower.starts_with("text/")
        && let Ok(text) = std::str::from_utf8(body)
    {
        request.body = Some(Json::from(text));
    } else {
        request.body_base64 = Some(BASE64.encode(body));
    }
    request.content_type = Some(
        content_type
            .unwrap_or("application/octet-stream")
            .to_string(),
    );
    request
}

/// The engine's refusal of a body that is no image, with why it may have been sent that way
/// (`curl --data`, hex text), when its wrapping suggests one; `None` for an image or no hint.
async fn explain_if_not_an_image(content_type: Option<&str>, body: &[u8]) -> Option<Response> {
    // Decoding is only worth it when a hint could apply at all (as if the image were damaged).
    if body.is_empty() {
        return None;
    }
    upload::not_an_image_hint(content_type, body, true)?;
    let check = body.to_vec();
    let failed = tokio::task::spawn_blocking(move || {
        wasm_service::engine::decode_only(&check, &wasm_service::engine::Options::default()).err()
    })
    .await
    .ok()
    .flatten()?;
    let damaged = matches!(
        failed,
        wasm_service::engine::Error::Truncated { .. }
            | wasm_service::engine::Error::Malformed { .. }
    );
    let hint = upload::not_an_image_hint(content_type, body, damaged)?;
    Some(error(
        wasm_service::router::status_for(&failed),
        failed.code(),
        &format!("{failed}; {hint}"),
    ))
}

fn with_image(request: &Envelope, image: &[u8], query: &str) -> Envelope {
    request
        .clone()
        .with_query(query)
        .with_bytes(image, "image/png")
}

fn is_pixelate(method: &str, path: &str) -> bool {
    method.eq_ignore_ascii_case("POST") && path.trim_end_matches('/') == "/pixelate"
}

/// The module's response envelope as an HTTP response.
fn to_http(answer: Answer, extra: &[(HeaderName, String)]) -> Response {
    let body = match answer.decode_body() {
        Ok(body) => body,
        Err(err) => {
            return error(
                502,
                "bad_gateway",
                &format!("the module's response envelope has a bad body: {err}"),
            );
        }
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = (status, Body::from(body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value),
        ) && !is_hop_or_framing(&name)
        {
            headers.insert(name, value);
        }
    }
    if let Ok(value) = HeaderValue::try_from(answer.content_type.as_str()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::try_from(value.as_str()) {
            headers.insert(name.clone(), value);
        }
    }
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("x-pixelsmith-fitted, x-pixelsmith-converted, server-timing"),
    );
    response
}

/// Headers the module must not set through the envelope: HTTP framing is the gateway's.
fn is_hop_or_framing(name: &HeaderName) -> bool {
    [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::CONTENT_TYPE,
    ]
    .contains(name)
}

/// A gateway error in the module's error shape, so clients parse one shape.
fn error(status: u16, code: &str, message: &str) -> Response {
    to_http(Answer::error(status, code, message), &[])
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_json_text_or_base64_by_content_type() {
        let json = envelope_for(
            "POST",
            "/pixelate",
            "",
            Some("application/json"),
            None,
            b"{\"block\":4}",
        );
        assert_eq!(json.body, Some(Json::from(serde_json::json!({"block": 4}))));
        let text = envelope_for("POST", "/x", "", Some("text/plain"), None, b"hi");
        assert_eq!(text.body, Some(Json::from("hi")));
        let png = envelope_for(
            "POST",
            "/pixelate",
            "block=8",
            Some("image/png"),
            Some("*/*"),
            b"\x89PNG",
        );
        assert_eq!(png.body_base64.as_deref(), Some("iVBORw=="));
        assert_eq!(png.query, "block=8");
        assert_eq!(png.accept.as_deref(), Some("*/*"));
        let bare = envelope_for("GET", "/health", "", None, None, b"");
        assert_eq!(
            (bare.body.is_none(), bare.body_base64.is_none()),
            (true, true)
        );
    }

    #[test]
    fn only_post_pixelate_is_fitted() {
        assert!(is_pixelate("POST", "/pixelate/"));
        assert!(!is_pixelate("GET", "/pixelate"));
        assert!(!is_pixelate("POST", "/palettes"));
    }
}
