//! A small JSON value with its own parser and writer, so the module does not carry `serde_json`.
//!
//! The module must stay small (OSC's runner loads and validates the whole module on every request),
//! and `serde_json` with its `Value` machinery costs more of that budget than everything else the
//! router does. This covers what the envelope needs: strict RFC 8259 parsing with a nesting limit,
//! objects that keep their field order, numbers kept as their text (options are parsed from text
//! anyway), and compact output that is always valid UTF-8. `Serialize`/`Deserialize` and the
//! `serde_json::Value` conversions (`serde_impl`) exist for native callers; the module never
//! instantiates them.

mod parse;
mod serde_impl;

use std::fmt;

pub use parse::{MAX_DEPTH, ParseError};

/// A JSON value. Objects keep their fields in order (duplicates included); numbers keep their text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    /// A number's text as it appeared (or was written), always valid JSON number syntax.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document (surrounding whitespace allowed).
    pub fn parse(text: &[u8]) -> Result<Json, ParseError> {
        parse::parse(text)
    }

    /// An object from `(name, value)` pairs, in that order.
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        Json::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// A number with three decimals (milliseconds with microsecond resolution); `null` if not finite.
    pub fn millis(value: f64) -> Json {
        if !value.is_finite() {
            return Json::Null;
        }
        // `as` saturates, and timings are never negative; clamping keeps the text valid anyway.
        let micros = (value.max(0.0) * 1000.0 + 0.5) as u64;
        Json::Number(format!("{}.{:03}", micros / 1000, micros % 1000))
    }

    /// The value of field `name` (the last one, if repeated), if this is an object that has it.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative whole number.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(fields) => Some(fields),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    /// Appends the compact JSON text of this value to `out`.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(name, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Compact JSON text.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out);
        f.write_str(&out)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Self {
                Json::Number(n.to_string())
            }
        }
    )*};
}
from_integer!(u8, u16, u32, u64, usize, i32, i64);

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Self {
        value.map_or(Json::Null, Into::into)
    }
}

/// Writes `s` as a JSON string: quotes, backslashes and control characters escaped, the rest
/// (including non-ASCII) as is.
fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1F | 0x7F => "",
            _ => continue,
        };
        // Every byte that stops the scan is ASCII, so these slices fall on char boundaries.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{:04x}", b));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escapes_and_keeps_non_ascii() {
        let v = Json::object([("k\"", Json::from("a\\b\n\u{1}\u{7f}é✓"))]);
        assert_eq!(v.to_string(), r#"{"k\"":"a\\b\n\u0001\u007fé✓"}"#);
    }

    #[test]
    fn millis_have_three_decimals_and_non_finite_is_null() {
        assert_eq!(Json::millis(12.3456), Json::Number("12.346".into()));
        assert_eq!(Json::millis(0.0), Json::Number("0.000".into()));
        assert_eq!(Json::millis(f64::NAN), Json::Null);
    }
}
