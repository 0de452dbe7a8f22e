//! [`Request`]: an HTTP request as the JSON text the module reads from stdin.

use serde::{Deserialize, Serialize};

use super::{ENVELOPE_TAG, EnvelopeError, Json, base64, body_bytes};

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
