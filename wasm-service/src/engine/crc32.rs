//! CRC-32 as PNG chunks use it (ISO 3309 / ITU-T V.42: polynomial 0xEDB88320 reflected, initial
//! and final value 0xFFFFFFFF; PNG specification annex D), one byte at a time through a
//! 256-entry table built at compile time.
//!
//! Why not `crc32fast`: its slicing-by-16 tables are 16 KiB of the deployed module, whose size
//! every request pays for; chunks are checked once and the table form is fast enough for that.

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The CRC of `parts` concatenated (a chunk's type and data, without copying them together).
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            c = TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_check_value_and_a_real_chunk() {
        // The CRC-32 check value of "123456789" (Williams, "A painless guide to CRC").
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        // An IEND chunk's CRC, as every PNG ends with it.
        assert_eq!(crc32(&[b"IEND", b""]), 0xAE42_6082);
        assert_eq!(crc32(&[b"IE", b"ND"]), 0xAE42_6082);
    }
}
