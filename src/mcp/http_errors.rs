//! JSON-RPC answers for request bodies the Streamable HTTP transport cannot use.
//!
//! rmcp answers a POST whose body is not a JSON-RPC message with a plain-text `415` ("fail to
//! deserialize request body …", although the content type was right) and a body that broke off
//! with a plain-text `500`. A client cannot tie either to its request. The spec's answers are
//! JSON-RPC errors: `-32700` (parse error) for text that is not JSON, `-32600` (invalid request)
//! for JSON that is not a JSON-RPC message, with HTTP `400`; and a body that stalled past the
//! body timeout is `408` with the reason. Also here: the status a session's DELETE gets.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Axum middleware: a session ended with DELETE is answered `204 No Content`, not rmcp's `202
/// Accepted` (the deletion is done, not queued; the Python SDK takes only 200 or 204 as success and
/// logs "Session termination failed: 202" at every clean close).
pub async fn session_end_status(request: Request, next: Next) -> Response {
    let delete = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    if delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = Body::empty();
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    response
}

/// What rmcp writes before serde's message when a body does not deserialize.
const NOT_DESERIALIZED: &str = "fail to deserialize request body ";
/// The most of rmcp's plain-text answer read to recognise it.
const MAX_TEXT: usize = 64 * 1024;

/// Axum middleware: rewrites rmcp's plain-text answers to unusable POST bodies as JSON-RPC errors.
pub async fn json_rpc_errors(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::UNSUPPORTED_MEDIA_TYPE && status != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_TEXT).await else {
        return (parts, Body::empty()).into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    if let Some(reason) = text.strip_prefix(NOT_DESERIALIZED) {
        let (code, what) = if is_data_error(reason) {
            (
                -32600,
                "the body is JSON but not a JSON-RPC request or notification",
            )
        } else {
            (-32700, "the body is not valid JSON")
        };
        return rpc_error(
            StatusCode::BAD_REQUEST,
            code,
            &format!("{what} ({reason}); send one JSON-RPC message per POST"),
        );
    }
    if text.starts_with("Failed to read request body") {
        return rpc_error(
            StatusCode::REQUEST_TIMEOUT,
            -32600,
            "the request body stopped arriving before its end (or broke off); send it again",
        );
    }
    (parts, Body::from(bytes)).into_response()
}

/// Serde's data errors (valid JSON of the wrong shape), as opposed to its syntax and EOF errors.
fn is_data_error(reason: &str) -> bool {
    [
        "did not match",
        "unrecognized JSON-RPC message",
        "missing field",
        "unknown variant",
        "unknown field",
        "invalid type",
        "invalid value",
        "invalid length",
    ]
    .iter()
    .any(|marker| reason.contains(marker))
}

fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
