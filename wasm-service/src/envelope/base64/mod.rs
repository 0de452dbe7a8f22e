//! Standard base64 (RFC 4648, `+/`, `=` padding) for envelope bodies.
//!
//! Hand-written because the module's size is its start-up time on OSC's runner, and this is a few
//! hundred bytes of code where a general-purpose crate's decoder is several kilobytes.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;

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
/// instructions on OSC's runner, so runs of clean 16-character blocks are decoded a vector at a
/// time in the module (`simd.rs`), else (natively, or URL-safe blocks) through [`block_tables`];
/// any other byte (whitespace, `=`, garbage) goes through [`Tail`], which
/// explains errors, and the blocks resume at the next group boundary.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let mut at = 0;
    // Only a `data:` URL is searched for its comma (a whole body scanned for one costs time).
    if let Some(comma) = text.starts_with("data:").then(|| text.find(',')).flatten() {
        at = comma + 1;
    }
    let mut out = Vec::with_capacity((bytes.len() - at) / 4 * 3 + 3);
    let mut tail = Tail::default();
    loop {
        if tail.at_group_boundary() {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                at += simd::decode_blocks(&bytes[at..], &mut out);
            }
            at += decode_blocks(&bytes[at..], &mut out);
        }
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        tail.push(byte, at, &mut out)?;
        at += 1;
    }
    tail.finish(bytes.len())?;
    Ok(out)
}

/// Marks a character that is not a sextet in [`block_tables`]: above every valid entry's 24 bits.
const NOT_A_SEXTET_BIT: u32 = 1 << 24;

/// One table per position in a group of four characters, giving the character's six bits already
/// placed where they land among the group's three output bytes read as a little-endian `u32`
/// (`aaaaaabb bbbbcccc ccdddddd`), or [`NOT_A_SEXTET_BIT`]. A group is then four lookups and three
/// ORs (the technique of Nick Galbreath's `modp_b64`); built at first use so that it costs the
/// module no bytes.
fn block_tables() -> &'static [[u32; 256]; 4] {
    static TABLES: std::sync::OnceLock<[[u32; 256]; 4]> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables = [[NOT_A_SEXTET_BIT; 256]; 4];
        for (char, &sextet) in SEXTETS.iter().enumerate() {
            if sextet != NOT_SEXTET {
                let v = u32::from(sextet);
                tables[0][char] = v << 2;
                tables[1][char] = v >> 4 | (v & 0xF) << 12;
                tables[2][char] = (v >> 2) << 8 | (v & 3) << 22;
                tables[3][char] = v << 16;
            }
        }
        tables
    })
}

/// Decodes the 16-character blocks at the start of `body` while every character is a sextet,
/// appending 12 bytes per block to `out`; returns the characters consumed (a multiple of 16).
fn decode_blocks(body: &[u8], out: &mut Vec<u8>) -> usize {
    let (blocks, _) = body.as_chunks::<16>();
    if blocks.is_empty() {
        return 0;
    }
    let tables = block_tables();
    let group = |c: &[u8]| {
        tables[0][usize::from(c[0])]
            | tables[1][usize::from(c[1])]
            | tables[2][usize::from(c[2])]
            | tables[3][usize::from(c[3])]
    };
    let start = out.len();
    // Written through indexing into a sized buffer: a push per byte is a call and a capacity
    // check, which an interpreter pays for in full.
    out.resize(start + blocks.len() * 12, 0);
    let (decoded, _) = out[start..].as_chunks_mut::<12>();
    let mut done = 0;
    for (chars, bytes) in blocks.iter().zip(decoded) {
        let (x0, x1, x2, x3) = (
            group(&chars[0..4]),
            group(&chars[4..8]),
            group(&chars[8..12]),
            group(&chars[12..16]),
        );
        if (x0 | x1 | x2 | x3) >= NOT_A_SEXTET_BIT {
            break;
        }
        // Four groups of three bytes as three words.
        bytes[0..4].copy_from_slice(&(x0 | x1 << 24).to_le_bytes());
        bytes[4..8].copy_from_slice(&(x1 >> 8 | x2 << 16).to_le_bytes());
        bytes[8..12].copy_from_slice(&(x2 >> 16 | x3 << 8).to_le_bytes());
        done += 1;
    }
    out.truncate(start + done * 12);
    done * 16
}

/// The byte-at-a-time part of [`decode`]: whitespace, padding, a last short group, and errors.
#[derive(Default)]
struct Tail {
    /// Bits decoded and not yet written, the newest lowest.
    acc: u32,
    bits: u32,
    padding: usize,
}

impl Tail {
    /// Whether the bytes so far end a whole group, so [`decode_blocks`] may take over.
    fn at_group_boundary(&self) -> bool {
        self.bits == 0 && self.padding == 0
    }

    /// Takes the byte at offset `at`.
    fn push(&mut self, byte: u8, at: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let v = match (byte, SEXTETS[usize::from(byte)]) {
            (_, v) if v < 64 => v,
            (b'=', _) => {
                self.padding += 1;
                return Ok(());
            }
            (b' ' | b'\t' | b'\n' | b'\r', _) => return Ok(()),
            _ => {
                return Err(DecodeError {
                    what: "invalid base64 character",
                    at,
                });
            }
        };
        if self.padding > 0 {
            return Err(DecodeError {
                what: "base64 data after `=` padding",
                at,
            });
        }
        self.acc = self.acc << 6 | u32::from(v);
        self.bits += 6;
        if self.bits >= 8 {
            self.bits -= 8;
            out.push((self.acc >> self.bits) as u8);
        }
        Ok(())
    }

    /// Checks the end of a text `len` bytes long: a lone sixth of a byte left over means a
    /// character is missing; fewer bits are padding.
    fn finish(&self, len: usize) -> Result<(), DecodeError> {
        if self.bits >= 6 || self.padding > 2 {
            return Err(DecodeError {
                what: "base64 data has the wrong length",
                at: len,
            });
        }
        Ok(())
    }
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
    fn long_bodies_decode_as_the_base64_crate_does_wrapped_or_not() {
        // Long enough for the 16-character blocks, with every remainder length after them.
        let data: Vec<u8> = (0..700u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in (0..700).step_by(13).chain(690..700) {
            let slice = &data[..len];
            let plain = STANDARD.encode(slice);
            assert_eq!(decode(&plain).unwrap(), slice, "len {len}");
            // MIME-style lines of 76 characters, and an odd width that splits groups.
            for (width, newline) in [(76, "\n"), (76, "\r\n"), (23, " ")] {
                let wrapped: Vec<&str> = plain
                    .as_bytes()
                    .chunks(width)
                    .map(|line| std::str::from_utf8(line).unwrap())
                    .collect();
                let wrapped = wrapped.join(newline);
                assert_eq!(decode(&wrapped).unwrap(), slice, "len {len} width {width}");
            }
        }
    }

    #[test]
    fn a_bad_character_inside_a_block_is_found_where_it_is() {
        let mut text = STANDARD.encode([7u8; 300]);
        for at in [0, 5, 16, 37, 255, text.len() - 5] {
            let saved = text.clone();
            text.replace_range(at..at + 1, "!");
            assert_eq!(
                decode(&text).unwrap_err(),
                DecodeError {
                    what: "invalid base64 character",
                    at
                },
                "at {at}"
            );
            text = saved;
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
