//! PNG row filters (ISO/IEC 15948, §9): undoing Sub, Up, Average and Paeth in place. Shared by
//! the native two-thread decode (`png_pipeline`) and the module's lean decoder (`png_lean`).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod words;

/// Undoes one row's filter in place; `above` is the unfiltered row above (zeros for the first),
/// `bpp` the bytes per complete pixel (1..=8). An unknown filter type is an error.
pub(super) fn unfilter(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> Result<(), ()> {
    // Under an interpreter (OSC's runner) each executed instruction costs, so Up goes 8 bytes at
    // a time, and Sub, Average and Paeth for 8-bit RGB and RGBA (bpp 3 and 4) a pixel at a time:
    // in the module as 16-bit vector lanes, natively (Sub and Average) in a 32-bit word. What
    // those leave (other pixel sizes, a last 3-byte pixel) goes byte by byte.
    let n = row.len().min(above.len());
    let (above, row) = (&above[..n], &mut row[..n]);
    match filter {
        0 => {}
        2 => {
            let mut rows = row.chunks_exact_mut(8);
            let mut aboves = above.chunks_exact(8);
            for (x, b) in (&mut rows).zip(&mut aboves) {
                let sum = add_bytes64(u64_at(x), u64_at(b));
                x.copy_from_slice(&sum.to_le_bytes());
            }
            for (x, &b) in rows.into_remainder().iter_mut().zip(aboves.remainder()) {
                *x = x.wrapping_add(b);
            }
        }
        1 | 3 | 4 => {
            let done = whole_pixels(filter, bpp, above, row);
            bytes(filter, bpp, above, row, done);
        }
        _ => return Err(()),
    }
    Ok(())
}

/// Sub, Average or Paeth over the leading 3- or 4-byte pixels that fit a 4-byte step; returns
/// the bytes done (0 for other pixel sizes), the rest being left to [`bytes`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn whole_pixels(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> usize {
    match bpp {
        3 | 4 => simd::whole_pixels(filter, bpp, above, row),
        _ => 0,
    }
}

/// Sub, Average or Paeth over the leading 3- or 4-byte pixels that fit a 4-byte step; returns
/// the bytes done (0 for other pixel sizes, and for Paeth), the rest being left to [`bytes`].
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn whole_pixels(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> usize {
    match (filter, bpp) {
        (1 | 3, 3 | 4) => words::whole_pixels(filter == 3, bpp, above, row),
        _ => 0,
    }
}

/// Sub, Average or Paeth byte by byte from byte `from` on, `left` being the byte `bpp` back in
/// the row being rebuilt (none for the first pixel, whose predictor is then 0, half the byte
/// above, or the byte above).
fn bytes(filter: u8, bpp: usize, above: &[u8], row: &mut [u8], from: usize) {
    let head = bpp.min(row.len());
    for i in from..head {
        let predicted = match filter {
            1 => 0,
            3 => above[i] >> 1,
            _ => above[i],
        };
        row[i] = row[i].wrapping_add(predicted);
    }
    let from = from.max(head);
    match filter {
        1 => {
            for i in from..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        3 => {
            for i in from..row.len() {
                let sum = u16::from(row[i - bpp]) + u16::from(above[i]);
                row[i] = row[i].wrapping_add((sum >> 1) as u8);
            }
        }
        _ => {
            for i in from..row.len() {
                let predicted = paeth_predictor(row[i - bpp], above[i], above[i - bpp]);
                row[i] = row[i].wrapping_add(predicted);
            }
        }
    }
}

/// Four bytes as a little-endian word.
#[inline(always)]
pub(super) fn u32_at(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4 bytes"))
}

#[inline(always)]
fn u64_at(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Eight byte lanes added modulo 256 each (no carry crosses a lane).
#[inline(always)]
fn add_bytes64(x: u64, y: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    ((x & LOW7) + (y & LOW7)) ^ ((x ^ y) & !LOW7)
}

/// The PNG Paeth predictor: whichever of left (`a`), above (`b`) and upper-left (`c`) is closest
/// to `a + b - c`, ties going in that order.
///
/// Written without the three distances, which compile to unpredictable branches on photos: with
/// `t = 3c - (a + b)`, `c` is nearest exactly when `min(a, b) < t < max(a, b)`; below that range
/// the larger of `a`, `b` wins, above it the smaller (the test checks all 2^24 inputs against
/// [`paeth_reference`](tests::paeth_reference)).
#[inline(always)]
fn paeth_predictor(a: u8, b: u8, c: u8) -> u8 {
    let (a, b, c) = (i16::from(a), i16::from(b), i16::from(c));
    let t = 3 * c - (a + b);
    let (lo, hi) = (a.min(b), a.max(b));
    let not_hi = if hi <= t { lo } else { c };
    (if t <= lo { hi } else { not_hi }) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The predictor as the PNG specification writes it.
    fn paeth_reference(a: u8, b: u8, c: u8) -> u8 {
        let p = i16::from(a) + i16::from(b) - i16::from(c);
        let pa = (p - i16::from(a)).abs();
        let pb = (p - i16::from(b)).abs();
        let pc = (p - i16::from(c)).abs();
        if pa <= pb && pa <= pc {
            a
        } else if pb <= pc {
            b
        } else {
            c
        }
    }

    #[test]
    fn the_paeth_predictor_matches_the_specification_on_every_input() {
        for a in 0..=255 {
            for b in 0..=255 {
                for c in 0..=255 {
                    assert_eq!(
                        paeth_predictor(a, b, c),
                        paeth_reference(a, b, c),
                        "{a} {b} {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_unknown_filter_type_fails() {
        assert!(unfilter(5, 3, &[0; 3], &mut [0; 3]).is_err());
    }

    /// The filters as the specification writes them, byte by byte with explicit neighbours.
    fn unfilter_reference(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) {
        for i in 0..row.len() {
            let a = if i >= bpp { row[i - bpp] } else { 0 };
            let b = above[i];
            let c = if i >= bpp { above[i - bpp] } else { 0 };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                _ => paeth_reference(a, b, c),
            };
            row[i] = row[i].wrapping_add(predicted);
        }
    }

    #[test]
    fn every_filter_and_pixel_size_matches_the_specification() {
        let above: Vec<u8> = (0..48u32).map(|i| (i * 37 % 251) as u8).collect();
        let row: Vec<u8> = (0..48u32).map(|i| (i * 91 % 241) as u8).collect();
        for filter in 0..=4u8 {
            for bpp in 1..=8 {
                for len in [0, 1, bpp - 1, bpp, bpp + 1, 2 * bpp + 1, 9, 47, 48] {
                    let mut got = row[..len].to_vec();
                    unfilter(filter, bpp, &above[..len], &mut got).unwrap();
                    let mut want = row[..len].to_vec();
                    unfilter_reference(filter, bpp, &above[..len], &mut want);
                    assert_eq!(got, want, "filter {filter} bpp {bpp} len {len}");
                }
            }
        }
    }
}
