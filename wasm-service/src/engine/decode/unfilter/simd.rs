//! Sub, Average and Paeth for 8-bit RGB and RGBA in the module (built with `+simd128`): a pixel
//! per step, its bytes in 16-bit vector lanes.
//!
//! The filters chain pixel to pixel (each predicts from the one just rebuilt), so a vector holds
//! one pixel, not sixteen bytes; what it saves is Paeth's per-byte selection, a dozen vector
//! instructions for the whole pixel where the byte loop spends them per byte, under OSC's
//! interpreter which pays per instruction. Same predictors, same bytes as [`super::bytes`].

use core::arch::wasm32::{
    i16x8_add, i16x8_le, i16x8_max, i16x8_min, i16x8_sub, i32x4_extract_lane, u8x16_narrow_i16x8,
    u16x8, u16x8_extend_low_u8x16, u16x8_shr, u16x8_splat, u32x4_splat, v128, v128_and,
    v128_bitselect,
};

use super::u32_at;

/// Sub (1), Average (3) or Paeth (4) over the pixels of `bpp` 3 or 4 whose 4-byte word fits in
/// the row; returns the bytes done.
pub(super) fn whole_pixels(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> usize {
    match filter {
        1 => pixels(bpp, above, row, |left, _, _| left),
        3 => pixels(bpp, above, row, |left, up, _| {
            u16x8_shr(i16x8_add(left, up), 1)
        }),
        _ => pixels(bpp, above, row, paeth),
    }
}

/// Rebuilds pixel after pixel with `predict(left, above, upper_left)`. A 3-byte pixel's word also
/// holds the next pixel's first byte: its lane gets nothing added and is stored back unchanged.
#[inline(always)]
fn pixels(
    bpp: usize,
    above: &[u8],
    row: &mut [u8],
    predict: impl Fn(v128, v128, v128) -> v128,
) -> usize {
    let lanes = match bpp {
        4 => u16x8(0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0, 0, 0, 0),
        _ => u16x8(0xFFFF, 0xFFFF, 0xFFFF, 0, 0, 0, 0, 0),
    };
    let byte = u16x8_splat(0xFF);
    let (mut left, mut upper_left) = (u16x8_splat(0), u16x8_splat(0));
    let mut i = 0;
    while i + 4 <= row.len() {
        let up = widen(u32_at(&above[i..i + 4]));
        let filtered = widen(u32_at(&row[i..i + 4]));
        let predicted = v128_and(predict(left, up, upper_left), lanes);
        let rebuilt = v128_and(i16x8_add(filtered, predicted), byte);
        let narrow = u8x16_narrow_i16x8(rebuilt, rebuilt);
        row[i..i + 4].copy_from_slice(&i32x4_extract_lane::<0>(narrow).to_le_bytes());
        (left, upper_left) = (rebuilt, up);
        i += bpp;
    }
    i
}

/// Four bytes in the low four 16-bit lanes.
#[inline(always)]
fn widen(word: u32) -> v128 {
    u16x8_extend_low_u8x16(u32x4_splat(word))
}

/// [`super::paeth_predictor`] per lane: with `t = 3c - (a + b)`, `c` when `min(a, b) < t <
/// max(a, b)`, else the larger of `a`, `b` below that range and the smaller above it.
#[inline(always)]
fn paeth(a: v128, b: v128, c: v128) -> v128 {
    let t = i16x8_sub(i16x8_add(c, i16x8_add(c, c)), i16x8_add(a, b));
    let (lo, hi) = (i16x8_min(a, b), i16x8_max(a, b));
    let not_hi = v128_bitselect(lo, c, i16x8_le(hi, t));
    v128_bitselect(hi, not_hi, i16x8_le(t, lo))
}
