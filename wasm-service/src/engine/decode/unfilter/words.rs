//! Sub and Average for 3- and 4-byte pixels a pixel per 32-bit word, for native builds (the
//! module does them in vector lanes, `simd.rs`): byte lanes handled without carries between them.

use super::u32_at;

/// Sub (`average == false`) or Average for 3- or 4-byte pixels, a pixel per 32-bit word; returns
/// the bytes done. A 3-byte pixel's word also holds the next pixel's first byte, which gets
/// nothing added (its lane of `left` and of the mean is masked off), so it is stored back
/// unchanged; the last such pixel, whose word would run past the row, is left undone.
pub(super) fn whole_pixels(average: bool, bpp: usize, above: &[u8], row: &mut [u8]) -> usize {
    let mask = if bpp == 4 { u32::MAX } else { 0x00FF_FFFF };
    let mut left = 0u32;
    let mut i = 0;
    while let Some(word) = row.get_mut(i..i + 4) {
        let word: &mut [u8; 4] = word.try_into().expect("4 bytes");
        let predicted = if average {
            mean_bytes(left, u32_at(&above[i..i + 4])) & mask
        } else {
            left
        };
        let x = add_bytes(u32::from_le_bytes(*word), predicted);
        *word = x.to_le_bytes();
        left = x & mask;
        i += bpp;
    }
    i
}

const LOW7: u32 = 0x7F7F_7F7F;
const HIGH: u32 = 0x8080_8080;

/// Four byte lanes added modulo 256 each (no carry crosses a lane).
#[inline(always)]
fn add_bytes(x: u32, y: u32) -> u32 {
    ((x & LOW7) + (y & LOW7)) ^ ((x ^ y) & HIGH)
}

/// Four byte lanes of `(a + b) / 2`, rounded down, as Average takes them.
#[inline(always)]
fn mean_bytes(a: u32, b: u32) -> u32 {
    (a & b) + (((a ^ b) >> 1) & LOW7)
}
