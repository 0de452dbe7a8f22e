//! Query strings: `a=1&b=two%20words` into ordered name/value pairs.
//!
//! Only splits and percent-decodes; what the names mean is up to the route (and, for options, the
//! engine's `Options::set`).

use crate::engine::quote;

/// One query string parsed into `(name, value)` pairs, in order, repeats kept.
pub(crate) fn parse(query: &str) -> Result<Vec<(String, String)>, String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Percent-decoding with `+` as a space. A `%` not followed by two hex digits stays as it is
/// (people type `palette=#abc` and `100%` in envelopes by hand).
fn decode(text: &str) -> Result<String, String> {
    if !text.contains(['%', '+']) {
        return Ok(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hex_value(h) << 4 | hex_value(l));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        format!(
            "the query part `{}` does not decode to UTF-8 text",
            quote(text)
        )
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse(q).unwrap()
    }

    #[test]
    fn splits_pairs_in_order_and_keeps_repeats() {
        assert_eq!(
            pairs("?block=8&colors=16&block=4"),
            vec![
                ("block".into(), "8".into()),
                ("colors".into(), "16".into()),
                ("block".into(), "4".into())
            ]
        );
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("&&grid&"), vec![("grid".into(), String::new())]);
        assert_eq!(pairs("a=b=c"), vec![("a".into(), "b=c".into())]);
    }

    #[test]
    fn percent_and_plus_decode_but_stray_percent_stays() {
        assert_eq!(
            pairs("palette=%231a1c2c%2C%23f4f4f4&x=a+b&y=100%&z=%zz"),
            vec![
                ("palette".into(), "#1a1c2c,#f4f4f4".into()),
                ("x".into(), "a b".into()),
                ("y".into(), "100%".into()),
                ("z".into(), "%zz".into())
            ]
        );
        assert_eq!(
            pairs("palette=#abcdef"),
            vec![("palette".into(), "#abcdef".into())]
        );
        assert_eq!(pairs("n=%C3%A9"), vec![("n".into(), "é".into())]);
    }

    #[test]
    fn invalid_utf8_after_decoding_is_an_error_naming_the_part() {
        let err = parse("a=%FF").unwrap_err();
        assert!(err.contains("`%FF`"), "{err}");
    }
}
