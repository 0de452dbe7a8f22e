//! The JSON parser: strict RFC 8259, field order kept, numbers kept as text, nesting bounded.
//!
//! Hot path: a base64 body is one long string, so plain runs inside strings are scanned sixteen
//! bytes at a time in the module (`envelope/simd.rs`), else eight, and copied as slices.

use std::fmt;

use super::Json;

/// Deepest nesting the parser accepts; deeper input would only exhaust the module's stack.
pub const MAX_DEPTH: usize = 64;

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

/// Parses one JSON document (surrounding whitespace allowed).
pub(super) fn parse(text: &[u8]) -> Result<Json, ParseError> {
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
            // A vector at a time in the module, then eight bytes at a time while none of them
            // ends the run (a base64 body is one long run), then byte by byte to find its end.
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            let vectors = crate::envelope::simd::plain_json_blocks(&self.s[self.at..]);
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            let vectors = 0;
            let words = self.s[self.at + vectors..]
                .chunks_exact(8)
                .take_while(|c| {
                    !ends_run(u64::from_le_bytes([
                        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                    ]))
                })
                .count()
                * 8;
            let plain = vectors + words;
            let run = plain
                + self.s[self.at + plain..]
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
}
