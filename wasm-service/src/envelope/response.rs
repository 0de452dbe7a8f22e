//! [`Response`]: an answer as the one JSON line the module writes to stdout, and reading that line
//! back (envelopes and the flat legacy answers).

use serde::{Deserialize, Serialize};

use super::{ENVELOPE_TAG, EnvelopeError, Json, base64, body_bytes};

/// The most characters an error message carries ([`Response::error`]); the longest message the
/// module writes itself (what it accepts on stdin) is well under it.
pub const MAX_ERROR_MESSAGE: usize = 2_000;

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
    ///
    /// Messages longer than [`MAX_ERROR_MESSAGE`] characters are cut there (with a note), so no
    /// error can echo unbounded input back, whichever message forgot to quote it briefly.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        let message = match message.char_indices().nth(MAX_ERROR_MESSAGE) {
            Some((at, _)) => format!(
                "{}… (message cut at {MAX_ERROR_MESSAGE} of {} characters)",
                &message[..at],
                message.chars().count()
            ),
            None => message.to_string(),
        };
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
