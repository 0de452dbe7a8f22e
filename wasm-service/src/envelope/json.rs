//! A small JSON value with its own parser and writer, so the module does not carry `serde_json`.
//!
//! The module must stay small (OSC's runner loads and validates the whole module on every request),
//! and `serde_json` with its `Value` machinery costs more of that budget than everything else the
//! router does. This covers what the envelope needs: strict RFC 8259 parsing with a nesting limit,
//! objects that keep their field order, numbers kept as their text (options are parsed from text
//! anyway), and compact output that is always valid UTF-8. `Serialize`/`Deserialize` and the
//! `serde_json::Value` conversions exist for native callers; the module never instantiates them.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

/// Deepest nesting the parser accepts; deeper input would only exhaust the module's stack.
pub const MAX_DEPTH: usize = 64;

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

/// Why a text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong, e.g. "expected `,` or `}`".
    pub what: &'static str,
    /// Byte offset into the input.
    pub at: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for ParseError {}

impl Json {
    /// Parses one JSON document (surrounding whitespace allowed).
    pub fn parse(text: &[u8]) -> Result<Json, ParseError> {
        let text = std::str::from_utf8(text).map_err(|e| ParseError {
            what: "the text is not valid UTF-8",
            at: e.valid_up_to(),
        })?;
        let mut p = Parser {
            s: text.as_bytes(),
            text,
            at: 0,
        };
        let value = p.value(0)?;
        p.skip_ws();
        if p.at < p.s.len() {
            return Err(p.fail("unexpected text after the JSON value"));
        }
        Ok(value)
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

/// Whether any byte of `word` is `"`, `\\` or a control character (below 0x20): the bytes that end
/// a plain run inside a string. Classic SWAR: `x - 0x01…01 & !x & 0x80…80` is non-zero exactly
/// when some byte of `x` is zero (and `x - n·0x01…01` likewise when some byte is below `n`).
fn ends_run(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    (quote | backslash | control) != 0
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn fail(&self, what: &'static str) -> ParseError {
        ParseError { what, at: self.at }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.at) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.s.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.fail(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, ParseError> {
        self.skip_ws();
        match self.s.get(self.at) {
            None => Err(self.fail("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.fail("unexpected character, expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &'static str, value: Json) -> Result<Json, ParseError> {
        if self.s[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.fail("unexpected word, expected true, false or null"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested too deeply"));
        }
        self.at += 1;
        let mut fields = Vec::new();
        self.skip_ws();
        if self.s.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.at) != Some(&b'"') {
                return Err(self.fail("expected a field name in double quotes"));
            }
            let name = self.string()?;
            self.expect(b':', "expected `:` after the field name")?;
            let value = self.value(depth)?;
            fields.push((name, value));
            self.skip_ws();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(fields));
                }
                _ => return Err(self.fail("expected `,` or `}` in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested too deeply"));
        }
        self.at += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.fail("expected `,` or `]` in an array")),
            }
        }
    }

    /// A string starting at the opening quote. Runs without escapes are copied as slices, so a
    /// long base64 string costs one scan and one copy.
    fn string(&mut self) -> Result<String, ParseError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = &self.s[self.at..];
            // Eight bytes at a time while none of them ends the run (a base64 body is one long
            // run), then byte by byte to find where it ends.
            let plain = rest
                .chunks_exact(8)
                .take_while(|c| {
                    !ends_run(u64::from_le_bytes([
                        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                    ]))
                })
                .count()
                * 8;
            let run = plain
                + rest[plain..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .ok_or(ParseError {
                        what: "unterminated string",
                        at: self.s.len(),
                    })?;
            // The stop bytes are ASCII, so the run ends on a char boundary of valid UTF-8 text.
            out.push_str(&self.text[self.at..self.at + run]);
            self.at += run;
            match self.s[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => self.escape(&mut out)?,
                _ => return Err(self.fail("control character in a string (escape it)")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        self.at += 1;
        let Some(&kind) = self.s.get(self.at) else {
            return Err(self.fail("unterminated string"));
        };
        self.at += 1;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if !self.s[self.at..].starts_with(b"\\u") {
                        return Err(self.fail("unpaired surrogate in a \\u escape"));
                    }
                    self.at += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.fail("unpaired surrogate in a \\u escape"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                char::from_u32(code)
                    .ok_or_else(|| self.fail("unpaired surrogate in a \\u escape"))?
            }
            _ => {
                self.at -= 1;
                return Err(self.fail("unknown escape in a string"));
            }
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.fail("a \\u escape needs four hex digits"))?;
        let mut code = 0;
        for &d in digits {
            let v = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.fail("a \\u escape needs four hex digits"))?;
            code = code * 16 + v;
        }
        self.at += 4;
        Ok(code)
    }

    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let n = p.s[p.at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            p.at += n;
            n
        };
        if self.s[self.at] == b'-' {
            self.at += 1;
        }
        match self.s.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.fail("a number needs digits")),
        }
        if self.s.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.fail("a number needs digits after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.s.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.fail("a number needs digits in its exponent"));
            }
        }
        Ok(Json::Number(self.text[start..self.at].to_string()))
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => {
                if let Ok(u) = n.parse::<u64>() {
                    s.serialize_u64(u)
                } else if let Ok(i) = n.parse::<i64>() {
                    s.serialize_i64(i)
                } else {
                    s.serialize_f64(n.parse().unwrap_or(f64::NAN))
                }
            }
            Json::String(text) => s.serialize_str(text),
            Json::Array(items) => s.collect_seq(items),
            Json::Object(fields) => s.collect_map(fields.iter().map(|(k, v)| (k, v))),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        // Debug gives the shortest text that reads back as the same f64 (`0.1`, `1e300`).
        Ok(if v.is_finite() {
            Json::Number(format!("{v:?}"))
        } else {
            Json::Null
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            fields.push(entry);
        }
        Ok(Json::Object(fields))
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value as V;
        match value {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(b),
            V::Number(n) => Json::Number(n.to_string()),
            V::String(s) => Json::String(s),
            V::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            V::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl From<Json> for serde_json::Value {
    fn from(value: Json) -> Self {
        use serde_json::Value as V;
        match value {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(b),
            // The text is valid JSON number syntax; serde_json only refuses what f64 cannot hold.
            Json::Number(n) => n.parse::<serde_json::Number>().map_or(V::Null, V::Number),
            Json::String(s) => V::String(s),
            Json::Array(items) => V::Array(items.into_iter().map(V::from).collect()),
            Json::Object(fields) => {
                V::Object(fields.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Json, ParseError> {
        Json::parse(text.as_bytes())
    }

    #[test]
    fn parses_every_kind_and_keeps_field_order_and_number_text() {
        let v =
            parse(r#" {"b":[1,-2.5e3,0.25],"a":{"t":true,"f":false,"n":null},"s":"x"} "#).unwrap();
        let fields: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(fields, ["b", "a", "s"]);
        assert_eq!(
            v.get("b").unwrap().as_array().unwrap(),
            [
                Json::Number("1".into()),
                Json::Number("-2.5e3".into()),
                Json::Number("0.25".into())
            ]
        );
        assert_eq!(v.get("a").unwrap().get("t"), Some(&Json::Bool(true)));
        assert!(v.get("a").unwrap().get("n").unwrap().is_null());
        assert_eq!(v.get("s").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn agrees_with_serde_json_on_valid_documents() {
        let docs = [
            r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","n":[0,-0,1.5,1E+2,-3e-4],"e":{},"l":[]}"#,
            r#"["é", "\u0000", 12345678901234567890, true]"#,
            "  \"plain\"  ",
            "null",
        ];
        for doc in docs {
            let ours = parse(doc).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(doc).unwrap();
            // Compare as serde_json values, and our output must read back the same.
            assert_eq!(serde_json::Value::from(ours.clone()), theirs, "{doc}");
            let written = ours.to_string();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&written).unwrap(),
                theirs
            );
            assert_eq!(parse(&written).unwrap(), ours, "{written}");
        }
    }

    #[test]
    fn refuses_what_rfc_8259_refuses_and_says_where() {
        let bad = [
            ("", "unexpected end of input, expected a value", 0),
            ("{", "expected a field name in double quotes", 1),
            ("{\"a\" 1}", "expected `:` after the field name", 5),
            ("[1,]", "unexpected character, expected a JSON value", 3),
            ("[1 2]", "expected `,` or `]` in an array", 3),
            ("{'a':1}", "expected a field name in double quotes", 1),
            ("01", "unexpected text after the JSON value", 1),
            ("1.", "a number needs digits after `.`", 2),
            ("-", "a number needs digits", 1),
            ("\"a\nb\"", "control character in a string (escape it)", 2),
            ("\"\\x\"", "unknown escape in a string", 2),
            ("\"\\ud800\"", "unpaired surrogate in a \\u escape", 7),
            ("\"abc", "unterminated string", 4),
            ("tru", "unexpected word, expected true, false or null", 0),
            ("{} x", "unexpected text after the JSON value", 3),
        ];
        for (doc, what, at) in bad {
            assert_eq!(parse(doc), Err(ParseError { what, at }), "{doc:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(doc).is_err(),
                "{doc:?}"
            );
        }
        let err = Json::parse(b"\"\xff\"").unwrap_err();
        assert_eq!(err.what, "the text is not valid UTF-8");
    }

    #[test]
    fn nesting_is_bounded_instead_of_exhausting_the_stack() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(100_000);
        assert_eq!(parse(&deep).unwrap_err().what, "nested too deeply");
    }

    #[test]
    fn writes_escapes_and_keeps_non_ascii() {
        let v = Json::object([("k\"", Json::from("a\\b\n\u{1}\u{7f}é✓"))]);
        assert_eq!(v.to_string(), r#"{"k\"":"a\\b\n\u0001\u007fé✓"}"#);
    }

    #[test]
    fn the_eight_byte_scan_stops_exactly_where_the_bytewise_one_does() {
        for stop in [b'"', b'\\', 0x00, 0x1F] {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = stop;
                assert!(ends_run(u64::from_le_bytes(word)), "{stop:#x} at {at}");
            }
        }
        for word in [
            *b"abcdefgh",
            *b"ABCD+/=9",
            [0x20, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0x21, 0x5D],
        ] {
            assert!(!ends_run(u64::from_le_bytes(word)), "{word:?}");
        }
        // Strings of every length around the chunk size, with the quote at every position.
        for len in 0..20 {
            let body: String = "é1234567".chars().cycle().take(len).collect();
            let doc = format!("[\"{body}\",1]");
            assert_eq!(
                parse(&doc).unwrap(),
                Json::Array(vec![Json::from(body.as_str()), Json::Number("1".into())])
            );
        }
    }

    #[test]
    fn millis_have_three_decimals_and_non_finite_is_null() {
        assert_eq!(Json::millis(12.3456), Json::Number("12.346".into()));
        assert_eq!(Json::millis(0.0), Json::Number("0.000".into()));
        assert_eq!(Json::millis(f64::NAN), Json::Null);
    }

    #[test]
    fn serde_round_trip_matches_the_text_form() {
        let v = parse(r#"{"a":[1,2.5,"x",null,{"b":false}]}"#).unwrap();
        let via_serde: Json = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(via_serde, v);
    }
}
