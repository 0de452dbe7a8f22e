//! PNG row filters (ISO/IEC 15948, §9): undoing Sub, Up, Average and Paeth in place. Shared by
//! the native two-thread decode (`png_pipeline`) and the module's lean decoder (`png_lean`).

/// Undoes one row's filter in place; `above` is the unfiltered row above (zeros for the first),
/// `bpp` the bytes per complete pixel (1..=8). An unknown filter type is an error.
pub(super) fn unfilter(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> Result<(), ()> {
    // One byte loop per filter for every pixel size: `left` is the byte `bpp` back in the row
    // being rebuilt. Under an interpreter (OSC's runner) this costs a third of per-pixel loops
    // that keep the previous pixel in a small array, and it is a quarter of their code.
    let n = row.len().min(above.len());
    let head = bpp.min(n);
    match filter {
        0 => {}
        1 => {
            for i in head..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        2 => {
            for (x, &b) in row.iter_mut().zip(above) {
                *x = x.wrapping_add(b);
            }
        }
        3 => {
            for i in 0..head {
                row[i] = row[i].wrapping_add(above[i] >> 1);
            }
            for i in head..n {
                let sum = u16::from(row[i - bpp]) + u16::from(above[i]);
                row[i] = row[i].wrapping_add((sum >> 1) as u8);
            }
        }
        4 => {
            // With no left or upper-left neighbour the predictor is the byte above.
            for i in 0..head {
                row[i] = row[i].wrapping_add(above[i]);
            }
            for i in head..n {
                let predicted = paeth_predictor(row[i - bpp], above[i], above[i - bpp]);
                row[i] = row[i].wrapping_add(predicted);
            }
        }
        _ => return Err(()),
    }
    Ok(())
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
                for len in [0, 1, bpp - 1, bpp, bpp + 1, 48] {
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
