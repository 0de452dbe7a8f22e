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
const SCAN_BYTES: usize = 64 * 1024;
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
    let (scan, size) = match declared {
        Some(n) if n > MAX_MESSAGE_BYTES as u64 => (
            drain(Oversized::default(), request.into_body().into_data_stream()).await,
            Some(n),
        ),
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
                kept.extend_from_slice(&chunk);
                if kept.len() > MAX_MESSAGE_BYTES {
                    over = true;
                    break;
                }
            }
            if !over {
                let request = Request::from_parts(parts, axum::body::Body::from(kept));
                return next.run(request).await;
            }
            let mut scan = Oversized::default();
            scan.add(&kept);
            drop(kept);
            let scan = drain(scan, stream).await;
            let seen = scan.bytes();
            (scan, Some(seen))
        }
    };
    let body = scan.answer(size);
    // 200: the JSON-RPC error is the answer to the request, which a client delivers to the
    // call that made it; an HTTP error status would end its session.
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// What is kept of a message over the limit to answer it: its size, and its first and last
/// [`SCAN_BYTES`], where the request's `"id"` is (see [`find_id`]). Used by the HTTP middleware
/// and the stdio framing alike, so both answer with the same error.
#[derive(Debug, Default)]
pub(crate) struct Oversized {
    bytes: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Oversized {
    /// Takes the next piece of the message.
    pub(crate) fn add(&mut self, piece: &[u8]) {
        self.bytes += piece.len() as u64;
        if self.head.len() < SCAN_BYTES {
            let take = (SCAN_BYTES - self.head.len()).min(piece.len());
            self.head.extend_from_slice(&piece[..take]);
        }
        self.tail.extend_from_slice(piece);
        if self.tail.len() > 2 * SCAN_BYTES {
            self.tail.drain(..self.tail.len() - SCAN_BYTES);
        }
    }

    /// Bytes seen so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The JSON-RPC "invalid request" error answering the message: its id (null when not
    /// found), the limit and the `path` way out; `size` is the message's size when known.
    pub(crate) fn answer(&self, size: Option<u64>) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": find_id(&self.head, &self.tail),
            "error": {"code": -32600, "message": too_large_message(size),
                      "data": {"limit_bytes": MAX_MESSAGE_BYTES}}
        })
    }
}

/// Reads the rest of an oversized body into `scan`, to its end or [`MAX_DRAIN_BYTES`] (past
/// that the id is given up: the answer's id is then null).
async fn drain(mut scan: Oversized, mut stream: axum::body::BodyDataStream) -> Oversized {
    while let Some(Ok(chunk)) = stream.next().await {
        scan.add(&chunk);
        if scan.bytes > MAX_DRAIN_BYTES {
            scan.head.clear();
            scan.tail.clear();
            break;
        }
    }
    scan
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
