//! One limit on the size of an MCP message, the same over stdio and Streamable HTTP: large
//! enough for the biggest `data_base64` `pixelate` takes ([`MAX_BASE64_CHARS`], 48 MiB) plus its
//! JSON-RPC envelope, so an image that is too large always reaches the tool and is refused there
//! with an `isError` result naming the limit and the `path` alternative.
//!
//! An HTTP request declaring a larger body gets a JSON-RPC error (with the request's id, found
//! by scanning the body's start and end while it is drained) instead of a plain-text 413 that
//! a client cannot tie to its request.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

pub use super::pixelate::MAX_BASE64_CHARS;

/// The most bytes one MCP message may have (a stdio line or an HTTP request body).
pub const MAX_MESSAGE_BYTES: usize = MAX_BASE64_CHARS + 1024 * 1024;

/// How many bytes of an oversized body's start and end are kept to find its id.
pub(crate) const SCAN_BYTES: usize = 64 * 1024;
/// Past this, an oversized body is not drained any further (the id is then unknown).
const MAX_DRAIN_BYTES: u64 = 1024 * 1024 * 1024;

/// The text every over-limit message gets.
pub fn too_large_message(bytes: Option<u64>) -> String {
    let size = bytes.map_or_else(|| "larger than".to_string(), |n| format!("{n} bytes, over"));
    format!(
        "the request is {size} the limit of {MAX_MESSAGE_BYTES} bytes per MCP message \
         (data_base64 takes at most {MAX_BASE64_CHARS} characters): write the image to a file \
         inside the allowed roots and pass `path` instead"
    )
}

/// Axum middleware: a POST whose declared length is over [`MAX_MESSAGE_BYTES`] is answered with
/// a JSON-RPC "invalid request" error naming the limit, instead of reaching the transport.
pub async fn refuse_oversized(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (id, size) = match declared {
        Some(n) if n > MAX_MESSAGE_BYTES as u64 => {
            (drain_for_id(request.into_body()).await, Some(n))
        }
        Some(_) => return next.run(request).await,
        // No declared length (chunked): read up to the limit here, and pass the request on only
        // if it stays within it.
        None => {
            let (parts, body) = request.into_parts();
            let mut stream = body.into_data_stream();
            let mut kept: Vec<u8> = Vec::new();
            let mut over = false;
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else { break };
                if kept.len() + chunk.len() > MAX_MESSAGE_BYTES {
                    over = true;
                    kept.extend_from_slice(&chunk);
                    break;
                }
                kept.extend_from_slice(&chunk);
            }
            if !over {
                let request = Request::from_parts(parts, axum::body::Body::from(kept));
                return next.run(request).await;
            }
            let head = kept[..SCAN_BYTES.min(kept.len())].to_vec();
            let rest = axum::body::Body::from_stream(stream);
            let (tail_id, seen) = drain_tail(rest, kept).await;
            let id = match find_id(&head, &[]) {
                Value::Null => tail_id,
                id => id,
            };
            (id, Some(seen))
        }
    };
    let declared = size;
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32600, "message": too_large_message(declared),
                  "data": {"limit_bytes": MAX_MESSAGE_BYTES}}
    });
    // 200: the JSON-RPC error is the answer to the request, which a client delivers to the
    // call that made it; an HTTP error status would end its session.
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Reads the body to its end (bounded), keeping its first and last [`SCAN_BYTES`], and finds the
/// top-level `"id"`.
async fn drain_for_id(body: axum::body::Body) -> Value {
    let mut head: Vec<u8> = Vec::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut seen = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len() as u64;
        if head.len() < SCAN_BYTES {
            let take = (SCAN_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        tail.extend_from_slice(&chunk);
        if tail.len() > 2 * SCAN_BYTES {
            tail.drain(..tail.len() - SCAN_BYTES);
        }
        if seen > MAX_DRAIN_BYTES {
            return Value::Null;
        }
    }
    find_id(&head, &tail)
}

/// Drains the rest of an oversized chunked body after `seen_so_far`, returning the id found in
/// its last bytes and the total size.
async fn drain_tail(rest: axum::body::Body, seen_so_far: Vec<u8>) -> (Value, u64) {
    let mut seen = seen_so_far.len() as u64;
    let mut tail = seen_so_far[seen_so_far.len().saturating_sub(SCAN_BYTES)..].to_vec();
    drop(seen_so_far);
    let mut stream = rest.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len() as u64;
        tail.extend_from_slice(&chunk);
        if tail.len() > 2 * SCAN_BYTES {
            tail.drain(..tail.len() - SCAN_BYTES);
        }
        if seen > MAX_DRAIN_BYTES {
            return (Value::Null, seen);
        }
    }
    (find_id(&[], &tail), seen)
}

/// The id of a JSON-RPC request from its start and end: SDKs write it before `params` (TS, Rust)
/// or after them (Python), so the first `"id"` before `"params"` in the head, else the last one
/// in the tail.
pub(crate) fn find_id(head: &[u8], tail: &[u8]) -> Value {
    let head = String::from_utf8_lossy(head);
    let before_params = head.find("\"params\"").map_or(&head[..], |at| &head[..at]);
    if let Some(id) = before_params
        .find("\"id\"")
        .and_then(|at| id_at(&before_params[at..]))
    {
        return id;
    }
    let tail = String::from_utf8_lossy(tail);
    tail.rfind("\"id\"")
        .and_then(|at| id_at(&tail[at..]))
        .unwrap_or(Value::Null)
}

/// The value after `"id":` at the start of `text`, if it is a number or a string.
fn id_at(text: &str) -> Option<Value> {
    let rest = text
        .strip_prefix("\"id\"")?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    match stream.next()? {
        Ok(v @ (Value::Number(_) | Value::String(_))) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_before_or_after_the_params() {
        let ts =
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{"id":1}}}"#;
        assert_eq!(find_id(ts, ts), json!(7));
        let py = br#"{"method":"tools/call","params":{"arguments":{"id":1}},"jsonrpc":"2.0","id":"a-9"}"#;
        assert_eq!(find_id(&py[..20], py), json!("a-9"));
        assert_eq!(find_id(b"garbage", b"garbage"), Value::Null);
    }
}
