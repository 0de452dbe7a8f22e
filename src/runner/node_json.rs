//! The `SyntaxError` message Node's `JSON.parse` throws (V8's JSON parser, Node 22), which
//! Fastify sends back as the message of its 400 for an `application/json` body that does not
//! parse (`{"statusCode":400,"error":"Bad Request","message":…}`, no `code`).
//!
//! A validator, not a parser: it walks the text as V8's `JsonParser` does (positions in UTF-16
//! code units, V8's token classes, the same order of checks) and returns the message of the first
//! error, or `None` when `JSON.parse` accepts the text. The message templates, the context rules
//! for "Unexpected token" (the whole text when shorter than 21 units, else 10 units either side
//! with ellipses) and the line/column rule (`\r\n` counts once) are V8's.

/// V8's `kMaxContextCharacters` and `kMinOriginalSourceLengthForContext`.
const CONTEXT: usize = 10;
const MIN_LENGTH_FOR_CONTEXT: usize = CONTEXT * 2 + 1;

/// The message `JSON.parse(text)` throws, or `None` if it parses.
pub fn parse_error(text: &str) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut parser = Parser { s: &units, at: 0 };
    let result = parser
        .value(0)
        .and_then(|()| match parser.skip_whitespace() {
            None => Ok(()),
            Some(_) => Err(parser.fail(Some(Template::NonWhitespaceAfter))),
        });
    result.err()
}

/// V8's one-character token classes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Eos,
    String,
    Number,
    Literal,
    LBrace,
    RBrace,
    LBrack,
    RBrack,
    Colon,
    Comma,
    Whitespace,
    Illegal,
}

fn token_of(unit: Option<u16>) -> Token {
    let Some(unit) = unit else {
        return Token::Eos;
    };
    match unit {
        0x22 => Token::String,
        0x2D | 0x30..=0x39 => Token::Number,
        0x74 | 0x66 | 0x6E => Token::Literal,
        0x7B => Token::LBrace,
        0x7D => Token::RBrace,
        0x5B => Token::LBrack,
        0x5D => Token::RBrack,
        0x3A => Token::Colon,
        0x2C => Token::Comma,
        0x20 | 0x09 | 0x0A | 0x0D => Token::Whitespace,
        _ => Token::Illegal,
    }
}

/// The messages with a position (`… in JSON at position % (line % column %)`).
#[derive(Clone, Copy)]
enum Template {
    UnexpectedNumber,
    UnexpectedString,
    UnterminatedString,
    ExpectedPropNameOrRBrace,
    ExpectedCommaOrRBrack,
    ExpectedCommaOrRBrace,
    ExpectedDoubleQuotedPropertyName,
    ExponentPartMissingNumber,
    ExpectedColonAfterPropertyName,
    UnterminatedFractionalNumber,
    NonWhitespaceAfter,
    BadEscapedCharacter,
    BadControlCharacter,
    BadUnicodeEscape,
    NoNumberAfterMinusSign,
}

impl Template {
    fn text(self) -> &'static str {
        match self {
            Template::UnexpectedNumber => "Unexpected number in JSON",
            Template::UnexpectedString => "Unexpected string in JSON",
            Template::UnterminatedString => "Unterminated string in JSON",
            Template::ExpectedPropNameOrRBrace => "Expected property name or '}' in JSON",
            Template::ExpectedCommaOrRBrack => "Expected ',' or ']' after array element in JSON",
            Template::ExpectedCommaOrRBrace => "Expected ',' or '}' after property value in JSON",
            Template::ExpectedDoubleQuotedPropertyName => {
                "Expected double-quoted property name in JSON"
            }
            Template::ExponentPartMissingNumber => "Exponent part is missing a number in JSON",
            Template::ExpectedColonAfterPropertyName => "Expected ':' after property name in JSON",
            Template::UnterminatedFractionalNumber => "Unterminated fractional number in JSON",
            Template::NonWhitespaceAfter => "Unexpected non-whitespace character after JSON",
            Template::BadEscapedCharacter => "Bad escaped character in JSON",
            Template::BadControlCharacter => "Bad control character in string literal in JSON",
            Template::BadUnicodeEscape => "Bad Unicode escape in JSON",
            Template::NoNumberAfterMinusSign => "No number after minus sign in JSON",
        }
    }
}

/// Deeper than this, V8 would throw a RangeError (stack overflow) instead; Fastify answers that
/// as a 500. Not emulated: deep nesting is reported as valid here.
const MAX_DEPTH: usize = 10_000;

struct Parser<'a> {
    s: &'a [u16],
    at: usize,
}

type Step = Result<(), String>;

impl Parser<'_> {
    fn current(&self) -> Option<u16> {
        self.s.get(self.at).copied()
    }

    /// Skips JSON whitespace and returns the next unit.
    fn skip_whitespace(&mut self) -> Option<u16> {
        while token_of(self.current()) == Token::Whitespace {
            self.at += 1;
        }
        self.current()
    }

    fn value(&mut self, depth: usize) -> Step {
        let next = self.skip_whitespace();
        match token_of(next) {
            Token::String => {
                self.at += 1;
                self.string()
            }
            Token::Number => self.number(),
            Token::Literal => match next {
                Some(0x74) => self.literal("true"),
                Some(0x66) => self.literal("false"),
                _ => self.literal("null"),
            },
            Token::LBrace => self.object(depth),
            Token::LBrack => self.array(depth),
            _ => Err(self.fail(None)),
        }
    }

    fn object(&mut self, depth: usize) -> Step {
        self.at += 1;
        if self.skip_whitespace() == Some(b'}'.into()) {
            self.at += 1;
            return Ok(());
        }
        let mut first = true;
        loop {
            let expected = if first {
                Template::ExpectedPropNameOrRBrace
            } else {
                Template::ExpectedDoubleQuotedPropertyName
            };
            self.expect(Token::String, expected)?;
            self.string()?;
            self.expect(Token::Colon, Template::ExpectedColonAfterPropertyName)?;
            self.value((depth + 1).min(MAX_DEPTH))?;
            first = false;
            if !self.check(Token::Comma) {
                return self.expect(Token::RBrace, Template::ExpectedCommaOrRBrace);
            }
        }
    }

    fn array(&mut self, depth: usize) -> Step {
        self.at += 1;
        if self.check(Token::RBrack) {
            return Ok(());
        }
        loop {
            self.value((depth + 1).min(MAX_DEPTH))?;
            if !self.check(Token::Comma) {
                return self.expect(Token::RBrack, Template::ExpectedCommaOrRBrack);
            }
        }
    }

    /// V8's `Check`: skips whitespace, consumes the token if it is next.
    fn check(&mut self, token: Token) -> bool {
        let next = self.skip_whitespace();
        if token_of(next) == token {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// V8's `ExpectNext`/`Expect` with a message: anything else (even the end) fails with it.
    fn expect(&mut self, token: Token, message: Template) -> Step {
        if self.check(token) {
            Ok(())
        } else {
            Err(self.fail(Some(message)))
        }
    }

    /// The rest of a string, after its opening quote (V8's `ScanJsonString`).
    fn string(&mut self) -> Step {
        loop {
            let Some(unit) = self.current() else {
                return Err(self.fail(Some(Template::UnterminatedString)));
            };
            match unit {
                0x22 => {
                    self.at += 1;
                    return Ok(());
                }
                0x5C => {
                    self.at += 1;
                    match self.current() {
                        None => return Err(self.fail(None)),
                        Some(c) if c > 0xFF => return Err(self.fail(None)),
                        Some(0x22 | 0x5C | 0x2F | 0x62 | 0x66 | 0x6E | 0x72 | 0x74) => self.at += 1,
                        Some(0x75) => {
                            for _ in 0..4 {
                                self.at += 1;
                                let hex = self
                                    .current()
                                    .is_some_and(|c| c < 0x80 && (c as u8).is_ascii_hexdigit());
                                if !hex {
                                    return Err(self.fail(Some(Template::BadUnicodeEscape)));
                                }
                            }
                            self.at += 1;
                        }
                        Some(_) => return Err(self.fail(Some(Template::BadEscapedCharacter))),
                    }
                }
                c if c < 0x20 => return Err(self.fail(Some(Template::BadControlCharacter))),
                _ => self.at += 1,
            }
        }
    }

    /// V8's `ParseJsonNumberAsDoubleOrSmi`, for its errors only.
    fn number(&mut self) -> Step {
        let digit = |c: Option<u16>| c.is_some_and(|c| (0x30..=0x39).contains(&c));
        // Digits, '.', 'e', 'E', '+' and '-' (V8's `IsNumberPart`).
        let number_part =
            |c: Option<u16>| digit(c) || matches!(c, Some(0x2E | 0x65 | 0x45 | 0x2B | 0x2D));
        let negative = self.current() == Some(0x2D);
        if negative {
            self.at += 1;
        }
        if self.current() == Some(0x30) {
            self.at += 1;
            if number_part(self.current()) {
                if digit(self.current()) {
                    return Err(self.fail(Some(Template::UnexpectedNumber)));
                }
            } else if !negative {
                return Ok(());
            }
        } else {
            if !digit(self.current()) {
                return Err(self.fail(Some(Template::NoNumberAfterMinusSign)));
            }
            while digit(self.current()) {
                self.at += 1;
            }
        }
        if self.current() == Some(0x2E) {
            self.at += 1;
            if !digit(self.current()) {
                return Err(self.fail(Some(Template::UnterminatedFractionalNumber)));
            }
            while digit(self.current()) {
                self.at += 1;
            }
        }
        if matches!(self.current(), Some(0x65 | 0x45)) {
            self.at += 1;
            if matches!(self.current(), Some(0x2B | 0x2D)) {
                self.at += 1;
            }
            if !digit(self.current()) {
                return Err(self.fail(Some(Template::ExponentPartMissingNumber)));
            }
            while digit(self.current()) {
                self.at += 1;
            }
        }
        Ok(())
    }

    /// V8's `ScanLiteral`: the first mismatching unit is the unexpected token.
    fn literal(&mut self, word: &str) -> Step {
        for expected in word.encode_utf16() {
            match self.current() {
                Some(unit) if unit == expected => self.at += 1,
                _ => return Err(self.fail(None)),
            }
        }
        Ok(())
    }

    /// The message for an error at the current position: `template`, or (V8's
    /// `LookUpErrorMessageForJsonToken`) one chosen by the token there.
    fn fail(&self, template: Option<Template>) -> String {
        let unit = self.current();
        let template = template.or(match token_of(unit) {
            Token::Number => Some(Template::UnexpectedNumber),
            Token::String => Some(Template::UnexpectedString),
            _ => None,
        });
        if let Some(template) = template {
            let (line, column) = self.line_column();
            return format!(
                "{} at position {} (line {line} column {column})",
                template.text(),
                self.at
            );
        }
        let Some(unit) = unit else {
            return "Unexpected end of JSON input".to_string();
        };
        let source = String::from_utf16_lossy(self.s);
        if matches!(
            source.as_str(),
            "[object Object]" | "undefined" | "Infinity" | "NaN"
        ) {
            return format!("\"{source}\" is not valid JSON");
        }
        let token = String::from_utf16_lossy(&[unit]);
        let len = self.s.len();
        let pos = self.at;
        if len < MIN_LENGTH_FOR_CONTEXT {
            return format!("Unexpected token '{token}', \"{source}\" is not valid JSON");
        }
        let cut = |from: usize, to: usize| String::from_utf16_lossy(&self.s[from..to.min(len)]);
        if pos < CONTEXT {
            format!(
                "Unexpected token '{token}', \"{}\"... is not valid JSON",
                cut(0, pos + CONTEXT)
            )
        } else if pos < len - CONTEXT {
            format!(
                "Unexpected token '{token}', ...\"{}\"... is not valid JSON",
                cut(pos - CONTEXT, pos + CONTEXT)
            )
        } else {
            format!(
                "Unexpected token '{token}', ...\"{}\" is not valid JSON",
                cut(pos - CONTEXT, len)
            )
        }
    }

    /// V8's `CalculateFileLocation`: 1-based; `\r\n`, `\r` and `\n` end a line.
    fn line_column(&self) -> (usize, usize) {
        let mut line = 1;
        let mut line_start = 0;
        let mut i = 0;
        while i < self.at {
            if self.s[i] == 0x0D && i + 1 < self.at && self.s[i + 1] == 0x0A {
                i += 1;
            }
            if self.s[i] == 0x0D || self.s[i] == 0x0A {
                line += 1;
                line_start = i + 1;
            }
            i += 1;
        }
        (line, 1 + self.at - line_start)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_error;

    /// Messages as Node 22's `JSON.parse` throws them.
    #[test]
    fn messages_match_v8() {
        let cases = [
            (
                "not json",
                "Unexpected token 'o', \"not json\" is not valid JSON",
            ),
            (
                "{a:1}",
                "Expected property name or '}' in JSON at position 1 (line 1 column 2)",
            ),
            (
                "{",
                "Expected property name or '}' in JSON at position 1 (line 1 column 2)",
            ),
            ("[", "Unexpected end of JSON input"),
            ("", "Unexpected end of JSON input"),
            (
                "{\"a\":1",
                "Expected ',' or '}' after property value in JSON at position 6 (line 1 column 7)",
            ),
            (
                "{\"a\" 1}",
                "Expected ':' after property name in JSON at position 5 (line 1 column 6)",
            ),
            (
                "{\"a\":1,}",
                "Expected double-quoted property name in JSON at position 7 (line 1 column 8)",
            ),
            (
                "[1 2]",
                "Expected ',' or ']' after array element in JSON at position 3 (line 1 column 4)",
            ),
            ("[1,]", "Unexpected token ']', \"[1,]\" is not valid JSON"),
            (
                "\"abc",
                "Unterminated string in JSON at position 4 (line 1 column 5)",
            ),
            (
                "\"a\nb\"",
                "Bad control character in string literal in JSON at position 2 (line 1 column 3)",
            ),
            (
                "\"\\x\"",
                "Bad escaped character in JSON at position 2 (line 1 column 3)",
            ),
            (
                "\"\\u12G4\"",
                "Bad Unicode escape in JSON at position 5 (line 1 column 6)",
            ),
            (
                "-",
                "No number after minus sign in JSON at position 1 (line 1 column 2)",
            ),
            (
                "1.",
                "Unterminated fractional number in JSON at position 2 (line 1 column 3)",
            ),
            (
                "1e+",
                "Exponent part is missing a number in JSON at position 3 (line 1 column 4)",
            ),
            (
                "01",
                "Unexpected number in JSON at position 1 (line 1 column 2)",
            ),
            (
                "{} x",
                "Unexpected non-whitespace character after JSON at position 3 (line 1 column 4)",
            ),
            (
                "[\"a\" \"b\"]",
                "Expected ',' or ']' after array element in JSON at position 5 (line 1 column 6)",
            ),
            ("tru", "Unexpected end of JSON input"),
            ("trux", "Unexpected token 'x', \"trux\" is not valid JSON"),
            ("undefined", "\"undefined\" is not valid JSON"),
            (
                "{\n  \"a\": 1,\r\n  b: 2}",
                "Expected double-quoted property name in JSON at position 15 (line 3 column 3)",
            ),
            (
                "{\"path\":\"/health\", oops}",
                "Expected double-quoted property name in JSON at position 19 (line 1 column 20)",
            ),
            (
                "this is definitely not json at all",
                "Unexpected token 'h', \"this is def\"... is not valid JSON",
            ),
            (
                "[1, 2, 3, 4, 5, 6, 7, x, 9, 10, 11, 12]",
                "Unexpected token 'x', ...\" 5, 6, 7, x, 9, 10, \"... is not valid JSON",
            ),
            (
                "[1, 2, 3, 4, 5, 6, 7, 8, 9, x]",
                "Unexpected token 'x', ...\" 7, 8, 9, x]\" is not valid JSON",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(parse_error(text).as_deref(), Some(message), "{text:?}");
        }
    }

    #[test]
    fn valid_json_has_no_error() {
        for text in [
            "{}",
            " [ ] ",
            "\"x\"",
            "-0",
            "-0.5e-3",
            "0",
            "{\"a\":[1,true,false,null,\"\\u00e9\\n\"]}",
            "1E5",
        ] {
            assert_eq!(parse_error(text), None, "{text:?}");
        }
    }
}
