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

use std::fmt;

use serde::{Deserialize, Serialize};

pub use json::Json;

/// The protocol tag every response carries (and requests may carry) as `"envelope"`.
pub const ENVELOPE_TAG: &str = "pixelsmith/1";

/// The fields a request envelope may have, in the order they are written.
pub const REQUEST_FIELDS: &[&str] = &[
    "envelope",
    "method",
    "path",
    "query",
    "content_type",
    "accept",
    "body",
    "body_base64",
];

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

/// An HTTP request as JSON text on the module's stdin.
///
/// Every field is optional on the wire: `method` defaults to `GET`, `path` to `/`. The path may
/// carry its own `?query`, which is joined with `query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The protocol tag; when present it must be [`ENVELOPE_TAG`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_path")]
    pub path: String,
    /// The query string without the leading `?`, e.g. `block=8&colors=16`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    /// A text body (a JSON string) or a JSON body (any other JSON value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
    /// A binary body, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_path() -> String {
    "/".to_string()
}

impl Request {
    /// A request with this method and path, no query and no body.
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            envelope: Some(ENVELOPE_TAG.to_string()),
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            content_type: None,
            accept: None,
            body: None,
            body_base64: None,
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Request::new("GET", path)
    }

    /// `POST path` without a body.
    pub fn post(path: &str) -> Self {
        Request::new("POST", path)
    }

    /// `POST /pixelate?query` with the image bytes as the body (its content type judged from the
    /// first bytes, `application/octet-stream` when unknown).
    pub fn pixelate(image: &[u8], query: &str) -> Self {
        Request::post("/pixelate")
            .with_query(query)
            .with_bytes(image, sniff_image_type(image))
    }

    /// Replaces the query string (a leading `?` is dropped).
    pub fn with_query(mut self, query: &str) -> Self {
        self.query = query.strip_prefix('?').unwrap_or(query).to_string();
        self
    }

    /// Sets `accept` (`application/json` asks `/pixelate` for a JSON report).
    pub fn with_accept(mut self, accept: &str) -> Self {
        self.accept = Some(accept.to_string());
        self
    }

    /// A binary body, sent as base64.
    pub fn with_bytes(mut self, bytes: &[u8], content_type: &str) -> Self {
        self.body = None;
        self.body_base64 = Some(base64::encode(bytes));
        self.content_type = Some(content_type.to_string());
        self
    }

    /// A JSON body (`content_type: application/json`).
    pub fn with_json(mut self, value: impl Into<Json>) -> Self {
        self.body_base64 = None;
        self.body = Some(value.into());
        self.content_type = Some("application/json".to_string());
        self
    }

    /// A text body (`content_type: text/plain; charset=utf-8`).
    pub fn with_text(mut self, text: &str) -> Self {
        self.body_base64 = None;
        self.body = Some(Json::from(text));
        self.content_type = Some("text/plain; charset=utf-8".to_string());
        self
    }

    /// The request as a JSON value.
    pub fn to_value(&self) -> Json {
        let mut fields = Vec::with_capacity(REQUEST_FIELDS.len());
        let mut put = |name: &str, value: Json| fields.push((name.to_string(), value));
        if let Some(tag) = &self.envelope {
            put("envelope", Json::from(tag.as_str()));
        }
        put("method", Json::from(self.method.as_str()));
        put("path", Json::from(self.path.as_str()));
        if !self.query.is_empty() {
            put("query", Json::from(self.query.as_str()));
        }
        let optional = [
            ("content_type", &self.content_type),
            ("accept", &self.accept),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                put(name, Json::from(v.as_str()));
            }
        }
        if let Some(body) = &self.body {
            put("body", body.clone());
        }
        if let Some(b64) = &self.body_base64 {
            put("body_base64", Json::from(b64.as_str()));
        }
        Json::Object(fields)
    }

    /// The JSON text to write to the module's stdin (one line).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Parses a request envelope from JSON text.
    pub fn from_json(text: &[u8]) -> Result<Self, EnvelopeError> {
        let value = Json::parse(text).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        Request::from_value(value)
    }

    /// Reads a request envelope from a parsed JSON object. Unknown fields are refused (a typo such
    /// as `body_b64` would otherwise silently send no body); `null` counts as absent.
    pub fn from_value(value: Json) -> Result<Self, EnvelopeError> {
        let Json::Object(fields) = value else {
            return Err(EnvelopeError::Json(
                "a request envelope must be a JSON object".to_string(),
            ));
        };
        let mut request = Request::new("GET", "/");
        request.envelope = None;
        for (name, value) in fields {
            if !REQUEST_FIELDS.contains(&name.as_str()) {
                return Err(EnvelopeError::Json(format!(
                    "unknown field `{name}`; a request envelope has {}",
                    REQUEST_FIELDS.join(", ")
                )));
            }
            if value.is_null() {
                continue;
            }
            if name == "body" {
                request.body = Some(value);
                continue;
            }
            let Json::String(text) = value else {
                return Err(EnvelopeError::Json(format!(
                    "field `{name}` must be a string"
                )));
            };
            match name.as_str() {
                "envelope" => request.envelope = Some(text),
                "method" => request.method = text,
                "path" => request.path = text,
                "query" => request.query = text,
                "content_type" => request.content_type = Some(text),
                "accept" => request.accept = Some(text),
                _ => request.body_base64 = Some(text),
            }
        }
        request.check_version()?;
        Ok(request)
    }

    /// Errors unless the envelope tag is absent or [`ENVELOPE_TAG`].
    pub fn check_version(&self) -> Result<(), EnvelopeError> {
        match &self.envelope {
            Some(tag) if tag != ENVELOPE_TAG => Err(EnvelopeError::Version(tag.clone())),
            _ => Ok(()),
        }
    }

    /// The body as bytes: base64 decoded, text as UTF-8, other JSON as its text; `None` if absent.
    pub fn body_bytes(&self) -> Result<Option<Vec<u8>>, EnvelopeError> {
        body_bytes(self.body.as_ref(), self.body_base64.as_deref())
    }
}

/// A response as the one JSON line the module writes to stdout.
///
/// Build one with the constructors; [`Response::to_line`] gives the stdout text and
/// [`Response::from_output`] reads it back (the flat legacy answers too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    envelope: String,
    pub status: u16,
    pub content_type: String,
    /// Extra HTTP headers a gateway should send, lower-case names (e.g. `allow` on a 405); a JSON
    /// object on the wire.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "header_map")]
    pub headers: Vec<(String, String)>,
    /// A JSON body, or a text body as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
    /// A binary body, standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Set for answers to the original service's request shapes: their stdout is `body` alone.
    #[serde(skip)]
    legacy: bool,
}

impl Response {
    fn new(status: u16, content_type: &str) -> Self {
        Response {
            envelope: ENVELOPE_TAG.to_string(),
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: None,
            body_base64: None,
            legacy: false,
        }
    }

    /// A JSON body with this status.
    pub fn json(status: u16, value: impl Into<Json>) -> Self {
        let mut r = Response::new(status, "application/json");
        r.body = Some(value.into());
        r
    }

    /// A 200 `image/png` response.
    pub fn png(bytes: &[u8]) -> Self {
        Response::binary(200, "image/png", bytes)
    }

    /// A binary body (sent as base64) with this status and content type.
    pub fn binary(status: u16, content_type: &str, bytes: &[u8]) -> Self {
        let mut r = Response::new(status, content_type);
        r.body_base64 = Some(base64::encode(bytes));
        r
    }

    /// A `text/plain` body.
    pub fn text(status: u16, text: &str) -> Self {
        let mut r = Response::new(status, "text/plain; charset=utf-8");
        r.body = Some(Json::from(text));
        r
    }

    /// The error shape every failure uses: `{"error":{"code":…,"message":…}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Response::json(
            status,
            Json::object([(
                "error",
                Json::object([("code", Json::from(code)), ("message", Json::from(message))]),
            )]),
        )
    }

    /// An answer in the original service's flat shape: stdout is `value` itself, no envelope.
    /// `status` is what a gateway should use; the value should carry it too if clients need it.
    pub fn legacy(status: u16, value: Json) -> Self {
        let mut r = Response::json(status, value);
        r.legacy = true;
        r
    }

    /// Adds a header (the name is lower-cased).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this answers a legacy request shape (stdout is the flat body).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The protocol tag this response carries.
    pub fn envelope(&self) -> &str {
        &self.envelope
    }

    /// The response as a JSON value: the envelope, or the flat body of a legacy answer.
    pub fn to_value(&self) -> Json {
        if self.legacy {
            return self.body.clone().unwrap_or_default();
        }
        let mut fields = vec![
            ("envelope".to_string(), Json::from(self.envelope.as_str())),
            ("status".to_string(), Json::from(self.status)),
            (
                "content_type".to_string(),
                Json::from(self.content_type.as_str()),
            ),
        ];
        if !self.headers.is_empty() {
            let headers = self
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), Json::from(v.as_str())))
                .collect();
            fields.push(("headers".to_string(), Json::Object(headers)));
        }
        if let Some(body) = &self.body {
            fields.push(("body".to_string(), body.clone()));
        }
        if let Some(b64) = &self.body_base64 {
            fields.push(("body_base64".to_string(), Json::from(b64.as_str())));
        }
        Json::Object(fields)
    }

    /// The text the module writes to stdout: one line of JSON (no newline; `main` adds it).
    pub fn to_line(&self) -> String {
        self.to_value().to_string()
    }

    /// Reads what a module wrote to stdout: an envelope, or a flat legacy answer (which becomes a
    /// legacy response whose status is its `http_status` field, else 200).
    pub fn from_output(text: &str) -> Result<Self, EnvelopeError> {
        let value = Json::parse(text.as_bytes()).map_err(|e| {
            EnvelopeError::Json(format!(
                "the module's output is not one JSON document ({e})"
            ))
        })?;
        match value.get("envelope") {
            Some(Json::String(tag)) if tag == ENVELOPE_TAG => Response::from_envelope(value),
            Some(Json::String(tag)) => Err(EnvelopeError::Version(tag.clone())),
            _ if value.as_object().is_some() => {
                let status = value
                    .get("http_status")
                    .and_then(Json::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(200);
                Ok(Response::legacy(status, value))
            }
            _ => Err(EnvelopeError::Json(
                "the module's output is JSON but not an object".to_string(),
            )),
        }
    }

    fn from_envelope(value: Json) -> Result<Self, EnvelopeError> {
        let bad = |what: &str| EnvelopeError::Json(format!("response envelope: {what}"));
        let Json::Object(fields) = value else {
            return Err(bad("not an object"));
        };
        let mut r = Response::new(0, "");
        let mut content_type = None;
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("status", v) => {
                    r.status = v
                        .as_u64()
                        .and_then(|s| u16::try_from(s).ok())
                        .ok_or_else(|| bad("`status` must be a whole number"))?;
                }
                ("content_type", Json::String(t)) => content_type = Some(t),
                ("headers", Json::Object(headers)) => {
                    for (n, v) in headers {
                        let Json::String(v) = v else {
                            return Err(bad("header values must be strings"));
                        };
                        r.headers.push((n, v));
                    }
                }
                ("body", v) if !v.is_null() => r.body = Some(v),
                ("body_base64", Json::String(b)) => r.body_base64 = Some(b),
                // The tag was checked by the caller; other fields are for newer readers.
                _ => {}
            }
        }
        if r.status == 0 {
            return Err(bad("`status` is missing"));
        }
        r.content_type = content_type.ok_or_else(|| bad("`content_type` is missing"))?;
        Ok(r)
    }

    /// The body as bytes (what an HTTP client would receive): base64 decoded, text as UTF-8,
    /// other JSON as its text; empty when there is no body.
    pub fn decode_body(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(body_bytes(self.body.as_ref(), self.body_base64.as_deref())?.unwrap_or_default())
    }

    /// The JSON body, if the body is JSON (not text and not binary).
    pub fn json_body(&self) -> Option<&Json> {
        self.body.as_ref().filter(|v| !v.is_string())
    }

    /// `error.code` of an error response.
    pub fn error_code(&self) -> Option<&str> {
        self.body.as_ref()?.get("error")?.get("code")?.as_str()
    }

    /// `error.message` of an error response.
    pub fn error_message(&self) -> Option<&str> {
        self.body.as_ref()?.get("error")?.get("message")?.as_str()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

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

/// The content type of image bytes, judged by their first bytes.
fn sniff_image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.starts_with(b"BM") {
        "image/bmp"
    } else {
        "application/octet-stream"
    }
}

/// Serde form of `Response::headers`: a JSON object of strings.
mod header_map {
    use serde::de::{Deserialize, Deserializer};
    use serde::ser::Serializer;

    pub(super) fn serialize<S: Serializer>(
        headers: &[(String, String)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(headers.iter().map(|(n, v)| (n, v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests;
