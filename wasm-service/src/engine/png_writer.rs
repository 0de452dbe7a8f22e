//! A minimal PNG writer: IHDR, PLTE, tRNS, one IDAT compressed with `fdeflate`, IEND.
//!
//! Written here rather than with the `png` crate's encoder because that encoder links a second
//! deflate implementation (flate2 + miniz_oxide) for its slower levels: about 30 KB of the
//! deployed module, whose size every request pays for. The `png` crate still decodes.

/// The pixel layout of the raw rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PngColor<'a> {
    /// Palette indices of `bits` (1, 2, 4 or 8) each; `palette` is RGB triples, `trns` the alpha of
    /// the first entries.
    Indexed {
        bits: u8,
        palette: &'a [u8],
        trns: Option<&'a [u8]>,
    },
    Rgb,
    Rgba,
}

impl PngColor<'_> {
    fn bits_per_pixel(self) -> usize {
        match self {
            PngColor::Indexed { bits, .. } => usize::from(bits),
            PngColor::Rgb => 24,
            PngColor::Rgba => 32,
        }
    }

    /// Bytes per row of `width` pixels.
    pub(crate) fn stride(self, width: u32) -> usize {
        (width as usize * self.bits_per_pixel()).div_ceil(8)
    }
}

/// PNG filter types, by their number in the format.
const NONE: u8 = 0;
const SUB: u8 = 1;
const UP: u8 = 2;
const AVERAGE: u8 = 3;
const PAETH: u8 = 4;

/// Encodes an image given as its distinct rows and how many times each repeats, as a PNG.
/// `row(r, buf)` writes distinct row `r` (`color.stride(width)` bytes, zeroed) into `buf`, so the
/// raw image is never held whole: only the row being filtered and the one above it. Cells drawn
/// larger than a pixel repeat rows; a repeat is written as filter Up over zeros without being
/// built or compared.
///
/// Fast mode chooses a filter per distinct row with libpng's smallest-sum heuristic; repeats are
/// zeros that fdeflate compresses to almost nothing. `optimize` also tries Up, None and Paeth on
/// every row, and keeps the smallest stream.
pub(crate) fn write(
    width: u32,
    height: u32,
    color: PngColor<'_>,
    rows: &dyn Fn(usize, &mut [u8]),
    repeats: &[u32],
    optimize: bool,
) -> Vec<u8> {
    let stride = color.stride(width);
    debug_assert_eq!(repeats.iter().sum::<u32>(), height);
    let bpp = color.bits_per_pixel().div_ceil(8).max(1);

    let strategies: &[Strategy] = if optimize {
        &[
            Strategy::PerRow,
            Strategy::All(UP),
            Strategy::All(NONE),
            Strategy::All(PAETH),
        ]
    } else {
        &[Strategy::PerRow]
    };
    let idat = strategies
        .iter()
        .map(|&s| compress(rows, repeats, stride, bpp, s))
        .min_by_key(Vec::len)
        .unwrap_or_default();

    let mut out = Vec::with_capacity(idat.len() + 1024);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let (color_type, depth) = match color {
        PngColor::Indexed { bits, .. } => (3, bits),
        PngColor::Rgb => (2, 8),
        PngColor::Rgba => (6, 8),
    };
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Depth, colour type, then deflate compression, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[depth, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let PngColor::Indexed { palette, trns, .. } = color {
        chunk(&mut out, b"PLTE", palette);
        if let Some(trns) = trns {
            chunk(&mut out, b"tRNS", trns);
        }
    }
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = super::crc32::crc32(&[&out[start..]]);
    out.extend_from_slice(&crc.to_be_bytes());
}

#[derive(Debug, Clone, Copy)]
enum Strategy {
    /// The same filter on every row.
    All(u8),
    /// Per distinct row, the filter whose output has the smallest sum of absolute values (libpng's
    /// heuristic); repeats get Up.
    PerRow,
}

/// The zlib stream of the filtered image: each row prefixed by its filter type.
fn compress(
    rows: &dyn Fn(usize, &mut [u8]),
    repeats: &[u32],
    stride: usize,
    bpp: usize,
    strategy: Strategy,
) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    const VEC: &str = "writing to a Vec";
    let mut z =
        fdeflate::Compressor::new(Vec::with_capacity(stride * repeats.len() / 4 + 64)).expect(VEC);
    // Filter type then filtered bytes, handed to the compressor in one call.
    let mut line = vec![0u8; stride + 1];
    let mut repeat = vec![0u8; stride + 1];
    // The distinct row being written and the one above it (zeros above the first).
    let mut current = vec![0u8; stride];
    let mut prior = vec![0u8; stride];
    for (r, &times) in repeats.iter().enumerate() {
        current.fill(0);
        rows(r, &mut current);
        for k in 0..times {
            if k == 1 {
                // From the first repeat on, the row above is this row itself.
                prior.copy_from_slice(&current);
            }
            let row = &current[..];
            if k > 0 && !matches!(strategy, Strategy::All(kind) if kind != UP) {
                // A repeat under Up: the filter type, then zeros.
                repeat[0] = UP;
                z.write_data(&repeat).expect(VEC);
                continue;
            }
            let kind = match strategy {
                Strategy::All(kind) => kind,
                Strategy::PerRow => smallest_sum_filter(row, &prior, bpp),
            };
            line[0] = kind;
            filter_row(kind, row, &prior, bpp, &mut line[1..]);
            z.write_data(&line).expect(VEC);
        }
        std::mem::swap(&mut current, &mut prior);
    }
    z.finish().expect(VEC)
}

/// libpng's heuristic: the filter type whose output bytes, read as signed, have the smallest sum
/// of absolute values (the first of None, Sub, Up, Average, Paeth on a tie). All five sums in one
/// pass over the row: under OSC's interpreter five passes, each filtering into a buffer and summing
/// it, cost twice the executed instructions.
fn smallest_sum_filter(row: &[u8], prior: &[u8], bpp: usize) -> u8 {
    let cost = |v: u8| u32::from((v as i8).unsigned_abs());
    let (mut none, mut sub, mut up, mut average, mut paeth_sum) = (0u32, 0u32, 0u32, 0u32, 0u32);
    for (i, (&x, &b)) in row.iter().zip(prior).enumerate() {
        let (a, c) = if i >= bpp {
            (row[i - bpp], prior[i - bpp])
        } else {
            (0, 0)
        };
        none += cost(x);
        sub += cost(x.wrapping_sub(a));
        up += cost(x.wrapping_sub(b));
        average += cost(x.wrapping_sub(((u16::from(a) + u16::from(b)) / 2) as u8));
        paeth_sum += cost(x.wrapping_sub(paeth(a, b, c)));
    }
    let mut best = (none, NONE);
    for (sum, kind) in [(sub, SUB), (up, UP), (average, AVERAGE), (paeth_sum, PAETH)] {
        if sum < best.0 {
            best = (sum, kind);
        }
    }
    best.1
}

/// One loop per filter type, so the common ones (None, Up) compile to straight copies.
fn filter_row(kind: u8, row: &[u8], prior: &[u8], bpp: usize, out: &mut [u8]) {
    let bpp = bpp.min(row.len());
    match kind {
        NONE => out.copy_from_slice(row),
        UP => {
            for ((o, &r), &p) in out.iter_mut().zip(row).zip(prior) {
                *o = r.wrapping_sub(p);
            }
        }
        SUB => {
            out[..bpp].copy_from_slice(&row[..bpp]);
            for i in bpp..row.len() {
                out[i] = row[i].wrapping_sub(row[i - bpp]);
            }
        }
        AVERAGE => {
            for i in 0..row.len() {
                let left = if i >= bpp { u16::from(row[i - bpp]) } else { 0 };
                out[i] = row[i].wrapping_sub(((left + u16::from(prior[i])) / 2) as u8);
            }
        }
        _ => {
            for i in 0..row.len() {
                let (left, up_left) = if i >= bpp {
                    (row[i - bpp], prior[i - bpp])
                } else {
                    (0, 0)
                };
                out[i] = row[i].wrapping_sub(paeth(left, prior[i], up_left));
            }
        }
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(raw: &[u8], stride: usize) -> impl Fn(usize, &mut [u8]) + '_ {
        move |r, buf| buf.copy_from_slice(&raw[r * stride..(r + 1) * stride])
    }

    fn decode(png: &[u8]) -> (png::OutputInfo, Vec<u8>, Option<Vec<u8>>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let palette = reader.info().palette.as_ref().map(|p| p.to_vec());
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf, palette)
    }

    #[test]
    fn indexed_images_round_trip_through_the_png_decoder_with_every_strategy() {
        // 5×3 at 2 bits: rows with repeats and changes, so each filter does something.
        let color = PngColor::Indexed {
            bits: 2,
            palette: &[0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255],
            trns: Some(&[0]),
        };
        let stride = color.stride(5);
        let raw = vec![
            0b0001_1011,
            0b0100_0000,
            0b0001_1011,
            0b0100_0000,
            0b1110_0100,
            0b1100_0000,
        ];
        assert_eq!(raw.len(), stride * 3);
        for optimize in [false, true] {
            let png = write(5, 3, color, &rows_of(&raw, stride), &[1, 1, 1], optimize);
            let (info, pixels, palette) = decode(&png);
            assert_eq!(
                (info.width, info.height, info.bit_depth),
                (5, 3, png::BitDepth::Two)
            );
            assert_eq!(pixels, raw);
            assert_eq!(palette.unwrap().len(), 12);
        }
    }

    /// The one-pass choice picks what filtering each way and summing picks, ties included.
    #[test]
    fn the_one_pass_filter_choice_matches_filtering_five_times() {
        let mut seed = 1u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for case in 0..400 {
            let bpp = 1 + case % 4;
            let len = 1 + case % 37;
            // Some rows flat or repeated, so ties between filters happen.
            let (row, prior): (Vec<u8>, Vec<u8>) = match case % 3 {
                0 => (
                    (0..len).map(|_| next()).collect(),
                    (0..len).map(|_| next()).collect(),
                ),
                1 => (vec![next(); len], vec![next(); len]),
                _ => {
                    let row: Vec<u8> = (0..len).map(|_| next() % 3).collect();
                    (row.clone(), row)
                }
            };
            let mut line = vec![0u8; len];
            let five_passes = [NONE, SUB, UP, AVERAGE, PAETH]
                .into_iter()
                .min_by_key(|&k| {
                    filter_row(k, &row, &prior, bpp, &mut line);
                    line.iter()
                        .map(|&b| u64::from((b as i8).unsigned_abs()))
                        .sum::<u64>()
                })
                .unwrap();
            assert_eq!(
                smallest_sum_filter(&row, &prior, bpp),
                five_passes,
                "case {case}"
            );
        }
    }

    #[test]
    fn truecolour_round_trips_and_optimize_is_never_larger() {
        let (w, h) = (37u32, 23u32);
        let raw: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        let repeats = vec![1; h as usize];
        let stride = PngColor::Rgba.stride(w);
        let fast = write(
            w,
            h,
            PngColor::Rgba,
            &rows_of(&raw, stride),
            &repeats,
            false,
        );
        let small = write(w, h, PngColor::Rgba, &rows_of(&raw, stride), &repeats, true);
        assert!(small.len() <= fast.len());
        for png in [fast, small] {
            let (info, pixels, _) = decode(&png);
            assert_eq!(info.color_type, png::ColorType::Rgba);
            assert_eq!(pixels, raw);
        }
    }
}
