//! The answers OSC's runner gives without running the module, byte for byte as its Fastify 5
//! server (with `@fastify/cors`, `origin: '*'`, `credentials: true`) gives them: the 404 for
//! other routes, the content-type and body-size rejections, the handler's own crash on JSON
//! bodies, and the CORS headers on every answer.
//!
//! Key order in the JSON bodies matters to anyone diffing answers, so the bodies are written
//! as text, not through a map.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Fastify's default `bodyLimit`: 1 MiB.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The content type Fastify gives a string reply.
pub const TEXT_PLAIN_UTF8: &str = "text/plain; charset=utf-8";

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Fastify's default not-found handler: `Route GET:/x not found`, with the raw URL (query
/// included) as the client sent it.
pub fn not_found(method: &Method, raw_url: &str) -> Response {
    let message = format!("Route {method}:{raw_url} not found");
    json(
        StatusCode::NOT_FOUND,
        format!(
            r#"{{"message":{},"error":"Not Found","statusCode":404}}"#,
            js_string(&message)
        ),
    )
}

/// `FST_ERR_CTP_INVALID_MEDIA_TYPE`: no body parser for the request's content type.
/// Fastify formats a missing header as `undefined`.
pub fn unsupported_media_type(content_type: Option<&str>) -> Response {
    let shown = content_type.unwrap_or("undefined");
    error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Some("FST_ERR_CTP_INVALID_MEDIA_TYPE"),
        &format!("Unsupported Media Type: {shown}"),
    )
}

/// `FST_ERR_CTP_BODY_TOO_LARGE`: the body passes [`BODY_LIMIT`].
pub fn body_too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Some("FST_ERR_CTP_BODY_TOO_LARGE"),
        "Request body is too large",
    )
}

/// A body that stops arriving. Node's HTTP server answers a request it times out with a bare
/// `408` (no body) and closes the connection; so does this emulation, after the body timeout of
/// `crate::listen` (OSC's runner waits longer: Node's `requestTimeout` is 300 s).
pub fn request_timeout() -> Response {
    let mut response = StatusCode::REQUEST_TIMEOUT.into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// `FST_ERR_CTP_EMPTY_JSON_BODY`.
pub fn empty_json_body() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        Some("FST_ERR_CTP_EMPTY_JSON_BODY"),
        "Body cannot be empty when content-type is set to 'application/json'",
    )
}

/// Fastify's JSON parser (`secure-json-parse` over `JSON.parse`) rejects the body: a 400 with the
/// `SyntaxError`'s own message and no `code` (see `node_json`).
pub fn json_syntax_error(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, None, message)
}

/// `FST_ERR_CTP_INVALID_CONTENT_LENGTH`: Fastify decodes text bodies as UTF-8 and compares the
/// decoded byte length with `Content-Length`; invalid bytes become U+FFFD (3 bytes), so a body
/// that is not valid UTF-8 almost always fails here. Fastify also closes the connection.
pub fn invalid_content_length() -> Response {
    let mut response = error(
        StatusCode::BAD_REQUEST,
        Some("FST_ERR_CTP_INVALID_CONTENT_LENGTH"),
        "Request body size did not match Content-Length",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The runner's POST handler calls `request.body.match(...)`; a JavaScript exception there
/// becomes Fastify's 500 with the exception's message and no `code`.
pub fn handler_crash(message: &str) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, None, message)
}

/// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) answered by
/// `@fastify/cors` as the runner configures it: 204, the origin echoed with credentials allowed,
/// the asked-for headers reflected, `vary: Origin, Access-Control-Request-Headers` and
/// `content-length: 0`. Without those request headers its strict preflight check answers 400.
pub fn preflight(request_headers: &HeaderMap) -> Response {
    let has = |name: &str| request_headers.contains_key(name);
    if !has("origin") || !has("access-control-request-method") {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, TEXT_PLAIN_UTF8)],
            "Invalid Preflight Request",
        )
            .into_response();
    }
    // hyper drops `content-length` from a 204 whose body is known to be empty; a body that only
    // turns out empty when polled keeps the header, as Node sends it.
    let empty =
        futures_util::stream::empty::<Result<axum::body::Bytes, std::convert::Infallible>>();
    let mut response = (StatusCode::NO_CONTENT, Body::from_stream(empty)).into_response();
    let headers = response.headers_mut();
    if let Some(origin) = request_headers.get("origin") {
        headers.insert("access-control-allow-origin", origin.clone());
    }
    headers.insert(
        "access-control-allow-credentials",
        HeaderValue::from_static("true"),
    );
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,HEAD,POST"),
    );
    // With no `allowedHeaders` configured, @fastify/cors reflects what the browser asked for,
    // and always varies on it.
    if let Some(asked) = request_headers.get("access-control-request-headers") {
        headers.insert("access-control-allow-headers", asked.clone());
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// The headers `@fastify/cors` adds to every answer (its hook runs for 404s and refusals too),
/// configured as the runner's preflight answer shows it is (`origin` reflected, `credentials`):
/// the request's `Origin` echoed (no `access-control-allow-origin` without one, never `*`),
/// credentials allowed, and `vary: Origin` always, since the answer depends on it.
pub fn add_cors(response: &mut Response, origin: Option<&HeaderValue>) {
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        headers
            .entry("access-control-allow-origin")
            .or_insert(origin.clone());
    }
    headers.insert(
        "access-control-allow-credentials",
        HeaderValue::from_static("true"),
    );
    headers
        .entry(header::VARY)
        .or_insert(HeaderValue::from_static("Origin"));
}

/// Fastify's error serializer: `statusCode`, then `code` when the error has one, `error` (the
/// status reason) and `message`.
fn error(status: StatusCode, code: Option<&str>, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = code
        .map(|code| format!(r#""code":{},"#, js_string(code)))
        .unwrap_or_default();
    json(
        status,
        format!(
            r#"{{"statusCode":{},{code}"error":{},"message":{}}}"#,
            status.as_u16(),
            js_string(reason),
            js_string(message)
        ),
    )
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], body).into_response()
}

fn js_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn bodies_have_fastifys_key_order() {
        assert_eq!(
            body_of(not_found(&Method::GET, "/x?a=1")).await,
            r#"{"message":"Route GET:/x?a=1 not found","error":"Not Found","statusCode":404}"#
        );
        assert_eq!(
            body_of(unsupported_media_type(Some("application/octet-stream"))).await,
            r#"{"statusCode":415,"code":"FST_ERR_CTP_INVALID_MEDIA_TYPE","error":"Unsupported Media Type","message":"Unsupported Media Type: application/octet-stream"}"#
        );
        assert_eq!(
            body_of(handler_crash("request.body.match is not a function")).await,
            r#"{"statusCode":500,"error":"Internal Server Error","message":"request.body.match is not a function"}"#
        );
    }
}
