//! Base64 decoding 16 characters per wasm SIMD vector, for the module (built with `+simd128`).
//!
//! OSC's runner interprets the module, and an interpreter pays one dispatch per instruction
//! whether it moves 4 bytes or 16, so a block of 16 characters costs about 20 vector
//! instructions here against about 230 scalar ones through [`super::block_tables`].
//!
//! The method is Muła and Lemire's ("Faster Base64 Encoding and Decoding Using AVX2
//! Instructions", ACM Transactions on the Web 12(3), 2018): a character is valid when the
//! entries its low and high nibbles select in two 16-byte tables share no bit; its sextet is
//! the character plus an offset chosen by its high nibble (`/` moved down one slot, as it shares
//! `+`'s nibble); four sextets become three bytes by two multiply-add steps. wasm's
//! `i8x16.swizzle` does the table lookups and `i32x4.dot_i16x8_s` the second multiply-add.
//! Only the standard alphabet is taken here: a block holding anything else (URL-safe `-_`,
//! whitespace, `=`) stops this loop and is left to the scalar paths, which accept or explain it.

use core::arch::wasm32::{
    i8x16, i8x16_add, i8x16_swizzle, i16x8_shl, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_splat,
    i64x2_extract_lane, u8x16_eq, u8x16_shr, u8x16_splat, u16x8_shr, u16x8_splat, v128, v128_and,
    v128_any_true, v128_or,
};

use crate::envelope::simd::load;

/// By low nibble: bits that mark the characters with that low nibble which are not base64.
const BY_LOW_NIBBLE: v128 = i8x16(
    0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
);
/// By high nibble: the bit that class of characters has in [`BY_LOW_NIBBLE`] when invalid.
const BY_HIGH_NIBBLE: v128 = i8x16(
    0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
);
/// Character → sextet offset by high nibble (slot 1 is `/`, slot 2 `+`, 3 digits, 4–5 upper
/// case, 6–7 lower case).
const OFFSET: v128 = i8x16(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
/// The three bytes of each 32-bit lane's 24-bit value, most significant first; the last four
/// bytes are unused.
const GROUP_BYTES: v128 = i8x16(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);

/// Decodes the 16-character blocks at the start of `body` while each is standard base64 without
/// padding, appending 12 bytes per block to `out`; returns the characters consumed.
pub(super) fn decode_blocks(body: &[u8], out: &mut Vec<u8>) -> usize {
    let (blocks, _) = body.as_chunks::<16>();
    let start = out.len();
    out.resize(start + blocks.len() * 12, 0);
    let (decoded, _) = out[start..].as_chunks_mut::<12>();
    let mut done = 0;
    for (chars, bytes) in blocks.iter().zip(decoded) {
        let Some(block) = decode_block(chars) else {
            break;
        };
        bytes[..8].copy_from_slice(&i64x2_extract_lane::<0>(block).to_le_bytes());
        bytes[8..].copy_from_slice(&i32x4_extract_lane::<2>(block).to_le_bytes());
        done += 1;
    }
    out.truncate(start + done * 12);
    done * 16
}

/// Sixteen characters → twelve bytes (in the vector's first twelve bytes), or `None` if any is
/// not in the standard alphabet.
fn decode_block(chars: &[u8; 16]) -> Option<v128> {
    let v = load(chars);
    let high = u8x16_shr(v, 4);
    let low = v128_and(v, u8x16_splat(0x0F));
    let invalid = v128_and(
        i8x16_swizzle(BY_LOW_NIBBLE, low),
        i8x16_swizzle(BY_HIGH_NIBBLE, high),
    );
    if v128_any_true(invalid) {
        return None;
    }
    // `/` is 0x2F like `+` (0x2B): its all-ones comparison moves it to slot 1.
    let slot = i8x16_add(high, u8x16_eq(v, u8x16_splat(b'/')));
    let sextets = i8x16_add(v, i8x16_swizzle(OFFSET, slot));
    // Per 16-bit lane (bytes a, b): a << 6 | b; per 32-bit lane: first pair << 12 | second.
    let pairs = v128_or(
        i16x8_shl(v128_and(sextets, u16x8_splat(0x003F)), 6),
        u16x8_shr(sextets, 8),
    );
    let groups = i32x4_dot_i16x8(pairs, i32x4_splat(0x0001_1000));
    Some(i8x16_swizzle(groups, GROUP_BYTES))
}
