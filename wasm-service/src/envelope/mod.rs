//! The request and response envelopes the module reads from stdin and writes to stdout.
//!
//! OSC's wasm runner gives a module nothing but stdin and returns its stdout as UTF-8 text with HTTP
//! status 200, so an HTTP exchange travels as JSON: a [`Request`] carries method, path, query,
//! content type and body (text, JSON or base64); a [`Response`] carries status, content type,
//! headers and body (JSON, text or base64 for binary). Every front end (the module's `main`, the
//! runner emulation, the gateway, the MCP tools) builds and reads them with these types, so the wire
//! format is defined once. The text form goes through the small [`json`] codec (the module stays
//! small); the types also implement serde for native callers, and tests keep both forms identical.
//! Routing lives in `router`, not here.

pub mod base64;
pub mod json;
mod request;
mod response;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;

use std::fmt;

pub use json::Json;
pub use request::{REQUEST_FIELDS, Request};
pub use response::{MAX_ERROR_MESSAGE, Response};

/// The protocol tag every response carries (and requests may carry) as `"envelope"`.
pub const ENVELOPE_TAG: &str = "pixelsmith/1";

/// What went wrong reading an envelope or a body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The text is not JSON, or not JSON of the expected shape.
    Json(String),
    /// `body_base64` is not valid base64.
    Base64(String),
    /// The envelope names a protocol version this code does not speak.
    Version(String),
    /// The request carries both `body` and `body_base64`.
    TwoBodies,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Json(detail) => write!(f, "not a valid envelope: {detail}"),
            EnvelopeError::Base64(detail) => write!(f, "the body is not valid base64: {detail}"),
            EnvelopeError::Version(v) => write!(
                f,
                "unknown envelope version `{v}`: this module speaks `{ENVELOPE_TAG}`"
            ),
            EnvelopeError::TwoBodies => {
                write!(
                    f,
                    "give the body once: either `body` or `body_base64`, not both"
                )
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// A body as bytes: base64 decoded, text as UTF-8, other JSON as its text; `None` if absent.
fn body_bytes(body: Option<&Json>, b64: Option<&str>) -> Result<Option<Vec<u8>>, EnvelopeError> {
    match (body, b64) {
        (Some(_), Some(_)) => Err(EnvelopeError::TwoBodies),
        (None, Some(text)) => base64::decode(text)
            .map(Some)
            .map_err(|e| EnvelopeError::Base64(e.to_string())),
        (Some(Json::String(text)), None) => Ok(Some(text.as_bytes().to_vec())),
        (Some(value), None) => Ok(Some(value.to_string().into_bytes())),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
