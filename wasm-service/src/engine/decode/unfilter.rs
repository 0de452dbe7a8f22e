//! PNG row filters (ISO/IEC 15948, §9): undoing Sub, Up, Average and Paeth in place. Shared by
//! the native two-thread decode (`png_pipeline`) and the module's lean decoder (`png_lean`).

/// Undoes one row's filter in place; `above` is the unfiltered row above (zeros for the first),
/// `bpp` the bytes per complete pixel (1..=8). An unknown filter type is an error.
pub(super) fn unfilter(filter: u8, bpp: usize, above: &[u8], row: &mut [u8]) -> Result<(), ()> {
    match (filter, bpp) {
        (0, _) => {}
        (1, 1) => sub::<1>(row),
        (1, 2) => sub::<2>(row),
        (1, 3) => sub::<3>(row),
        (1, 4) => sub::<4>(row),
        (2, _) => up(above, row),
        (3, 1) => average::<1>(above, row),
        (3, 2) => average::<2>(above, row),
        (3, 3) => average::<3>(above, row),
        (3, 4) => average::<4>(above, row),
        (4, 1) => paeth::<1>(above, row),
        (4, 2) => paeth::<2>(above, row),
        (4, 3) => paeth::<3>(above, row),
        (4, 4) => paeth::<4>(above, row),
        // 16-bit grey+alpha, RGB and RGBA: the same filters over more bytes, without a
        // specialised copy each (rare inputs; the module pays for every instantiation).
        (1, _) => sub_any(bpp, row),
        (3, _) => average_any(bpp, above, row),
        (4, _) => paeth_any(bpp, above, row),
        _ => return Err(()),
    }
    Ok(())
}

fn sub_any(bpp: usize, row: &mut [u8]) {
    for i in bpp..row.len() {
        row[i] = row[i].wrapping_add(row[i - bpp]);
    }
}

fn average_any(bpp: usize, above: &[u8], row: &mut [u8]) {
    for i in 0..row.len() {
        let left = if i >= bpp { u16::from(row[i - bpp]) } else { 0 };
        row[i] = row[i].wrapping_add(((left + u16::from(above[i])) >> 1) as u8);
    }
}

fn paeth_any(bpp: usize, above: &[u8], row: &mut [u8]) {
    for i in 0..row.len() {
        let (left, corner) = if i >= bpp {
            (row[i - bpp], above[i - bpp])
        } else {
            (0, 0)
        };
        row[i] = row[i].wrapping_add(paeth_predictor(left, above[i], corner));
    }
}

fn sub<const N: usize>(row: &mut [u8]) {
    let mut left = [0u8; N];
    for px in row.chunks_exact_mut(N) {
        for i in 0..N {
            px[i] = px[i].wrapping_add(left[i]);
            left[i] = px[i];
        }
    }
}

fn up(above: &[u8], row: &mut [u8]) {
    for (x, &b) in row.iter_mut().zip(above) {
        *x = x.wrapping_add(b);
    }
}

fn average<const N: usize>(above: &[u8], row: &mut [u8]) {
    let mut left = [0u8; N];
    for (px, up) in row.chunks_exact_mut(N).zip(above.chunks_exact(N)) {
        for i in 0..N {
            let mean = ((u16::from(left[i]) + u16::from(up[i])) >> 1) as u8;
            px[i] = px[i].wrapping_add(mean);
            left[i] = px[i];
        }
    }
}

fn paeth<const N: usize>(above: &[u8], row: &mut [u8]) {
    let mut left = [0u8; N];
    let mut corner = [0u8; N];
    for (px, up) in row.chunks_exact_mut(N).zip(above.chunks_exact(N)) {
        for i in 0..N {
            px[i] = px[i].wrapping_add(paeth_predictor(left[i], up[i], corner[i]));
            left[i] = px[i];
            corner[i] = up[i];
        }
    }
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

    #[test]
    fn specialised_and_general_filters_agree() {
        let above: Vec<u8> = (0..48u32).map(|i| (i * 37 % 251) as u8).collect();
        let row: Vec<u8> = (0..48u32).map(|i| (i * 91 % 241) as u8).collect();
        for filter in 1..=4u8 {
            for bpp in 1..=4 {
                let mut a = row.clone();
                unfilter(filter, bpp, &above, &mut a).unwrap();
                let mut b = row.clone();
                match filter {
                    1 => sub_any(bpp, &mut b),
                    2 => up(&above, &mut b),
                    3 => average_any(bpp, &above, &mut b),
                    _ => paeth_any(bpp, &above, &mut b),
                }
                assert_eq!(a, b, "filter {filter} bpp {bpp}");
            }
        }
    }
}
