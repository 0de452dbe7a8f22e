//! Standard base64 (RFC 4648, `+/`, `=` padding) for envelope bodies.
//!
//! Hand-written because the module's size is its start-up time on OSC's runner, and this is a few
//! hundred bytes of code where a general-purpose crate's decoder is several kilobytes.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for c in &mut chunks {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize],
                ALPHABET[(n >> 12) as usize & 63],
            ]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize],
                ALPHABET[(n >> 12) as usize & 63],
                ALPHABET[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
    // Every byte pushed comes from ALPHABET or is `=`: ASCII.
    String::from_utf8(out).expect("base64 output is ASCII")
}

/// Why a text is not base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub what: &'static str,
    /// Byte offset into the text given.
    pub at: usize,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for DecodeError {}

/// Sextet values by input byte; `NOT_SEXTET` for everything else (handled by the slow path).
static SEXTETS: [u8; 256] = {
    let mut table = [NOT_SEXTET; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};
const NOT_SEXTET: u8 = 0xFF;

/// Decodes standard base64. Whitespace (line-wrapped `base64` output) is skipped, padding is
/// optional, and a `data:…;base64,` prefix is dropped. URL-safe `-_` is accepted too.
///
/// Bodies reach the module as long base64 strings and every input byte costs interpreted
/// instructions on OSC's runner, so whole groups of four are decoded at once through a table; any
/// other byte (whitespace, `=`, garbage) switches to a byte-at-a-time path that explains errors.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let mut start = 0;
    // Only a `data:` URL is searched for its comma (a whole body scanned for one costs time).
    if let Some(comma) = text.starts_with("data:").then(|| text.find(',')).flatten() {
        start = comma + 1;
    }
    // Written through indexing into a sized buffer: an `extend_from_slice` per group is a call
    // and a capacity check per three bytes, which an interpreter pays for in full.
    let body = &bytes[start..];
    let mut out = vec![0u8; body.len() / 4 * 3 + 3];
    let mut groups = 0;
    for (group, decoded) in body.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        // Four plain lookups: an array `map` here compiles to a loop through stack memory.
        let a = u32::from(SEXTETS[usize::from(group[0])]);
        let b = u32::from(SEXTETS[usize::from(group[1])]);
        let c = u32::from(SEXTETS[usize::from(group[2])]);
        let d = u32::from(SEXTETS[usize::from(group[3])]);
        if (a | b | c | d) >= 64 {
            break;
        }
        let n = a << 18 | b << 12 | c << 6 | d;
        decoded[0] = (n >> 16) as u8;
        decoded[1] = (n >> 8) as u8;
        decoded[2] = n as u8;
        groups += 1;
    }
    out.truncate(groups * 3);
    let i = start + groups * 4;
    decode_rest(bytes, i, out)
}

/// The byte-at-a-time tail of [`decode`], from a group boundary at `from`.
fn decode_rest(bytes: &[u8], from: usize, mut out: Vec<u8>) -> Result<Vec<u8>, DecodeError> {
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        let v = match (b, SEXTETS[b as usize]) {
            (_, v) if v < 64 => v,
            (b'=', _) => {
                padding += 1;
                continue;
            }
            (b' ' | b'\t' | b'\n' | b'\r', _) => continue,
            _ => {
                return Err(DecodeError {
                    what: "invalid base64 character",
                    at: i,
                });
            }
        };
        if padding > 0 {
            return Err(DecodeError {
                what: "base64 data after `=` padding",
                at: i,
            });
        }
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // A lone sixth of a byte left over means a character is missing; fewer bits are padding.
    if bits >= 6 || padding > 2 {
        return Err(DecodeError {
            what: "base64 data has the wrong length",
            at: bytes.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn encode_and_decode_agree_with_the_base64_crate_for_every_length() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in 0..70 {
            let slice = &data[len * 7 % 200..][..len];
            let ours = encode(slice);
            assert_eq!(ours, STANDARD.encode(slice), "len {len}");
            assert_eq!(decode(&ours).unwrap(), slice, "len {len}");
            assert_eq!(
                decode(ours.trim_end_matches('=')).unwrap(),
                slice,
                "len {len}"
            );
        }
    }

    #[test]
    fn decode_skips_wrapping_and_data_url_prefixes() {
        assert_eq!(decode("AJ+S\nlg==\n").unwrap(), [0, 159, 146, 150]);
        assert_eq!(
            decode("data:image/png;base64,AJ+Slg==").unwrap(),
            [0, 159, 146, 150]
        );
        assert_eq!(decode("AJ-Slg").unwrap(), [0, 159, 146, 150]);
    }

    #[test]
    fn decode_says_what_is_wrong_and_where() {
        assert_eq!(
            decode("AJ+S!g==").unwrap_err(),
            DecodeError {
                what: "invalid base64 character",
                at: 4
            }
        );
        assert_eq!(
            decode("AA==AA").unwrap_err().what,
            "base64 data after `=` padding"
        );
        assert_eq!(
            decode("AAAAA").unwrap_err().what,
            "base64 data has the wrong length"
        );
    }
}
