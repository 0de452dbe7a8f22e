//! PNG decoding on two threads, for native builds.
//!
//! The `png` crate decodes on one thread: it inflates, then unfilters each row, and inflating is
//! only part of the work. Here one thread only inflates (driving `png::StreamingDecoder` itself)
//! and hands complete filtered rows, in batches, to the calling thread, which unfilters them and
//! sums them into the grid while the next batch inflates. The rows reach the accumulator in the
//! same order with the same bytes, so the result is bit-identical to the sequential path.
//!
//! It applies only to the common case — 8-bit grey, grey+alpha, RGB or RGBA, not interlaced,
//! no tRNS chunk, not animated, and large enough to pay for a thread — where the decoded row is
//! the unfiltered row as-is (`normalize_to_color8` would not change it). Everything else, and
//! every failure, goes to the sequential path in `png.rs`: on any error this returns [`Failed`]
//! and the caller decodes again sequentially, which produces exactly the error (or the result) the
//! sequential decoder always did. Bad input costs a second pass; good input never does.
//!
//! It does about the same total CPU work as the sequential path (measured: ~36 ms vs ~35.5 ms
//! on a 4 MP photo), split ~19 ms inflating / ~18 ms unfiltering and summing, so it only wins
//! wall time when a second core is actually free.
//!
//! The wasm32 module has no threads and never compiles this file.

use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use super::unfilter::unfilter;
use crate::engine::grid::{Accumulator, Channels};

/// Filtered bytes below which a second thread is not worth starting.
const MIN_BYTES: u64 = 256 << 10;
/// Rows per batch handed from the inflating thread to the calling one.
const BATCH_ROWS: usize = 32;
/// Batches in flight between the threads (beyond the one each thread holds).
const QUEUE: usize = 2;
/// Inflated bytes asked for per `update` call, as the png crate's own `Reader` does.
const GROWTH: usize = 8 << 10;
/// Bytes already taken out of the inflate buffer before it is shifted back to its start
/// (the shift also copies the 32 KiB look-back window, so it should not happen often).
const SHIFT_AT: usize = 256 << 10;

/// The pipeline failed; decode sequentially to learn (and report) exactly why.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Failed;

/// The image's shape, when the pipeline applies to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub width: u32,
    pub height: u32,
    pub channels: Channels,
}

/// Whether the pipeline can decode this image (see the module doc), and its shape if so.
pub(super) fn applies(info: &png::Info<'_>) -> Option<Shape> {
    let shape = shape(info)?;
    let bytes = (shape.row_len() as u64 + 1) * u64::from(shape.height);
    (bytes >= MIN_BYTES).then_some(shape)
}

fn shape(info: &png::Info<'_>) -> Option<Shape> {
    if info.interlaced
        || info.bit_depth != png::BitDepth::Eight
        || info.trns.is_some()
        || info.animation_control.is_some()
        || info.frame_control.is_some()
    {
        return None;
    }
    let channels = match info.color_type {
        png::ColorType::Grayscale => Channels::Gray,
        png::ColorType::GrayscaleAlpha => Channels::GrayAlpha,
        png::ColorType::Rgb => Channels::Rgb,
        png::ColorType::Rgba => Channels::Rgba,
        png::ColorType::Indexed => return None,
    };
    Some(Shape {
        width: info.width,
        height: info.height,
        channels,
    })
}

impl Shape {
    /// Bytes of one unfiltered row.
    fn row_len(&self) -> usize {
        self.width as usize * self.channels.count()
    }
}

/// Decodes the image's rows into `acc`, inflating on a second thread.
///
/// `input` must be the PNG whose header gave `shape`.
pub(super) fn decode_rows(input: &[u8], shape: Shape, acc: &mut Accumulator) -> Result<(), Failed> {
    let (full_tx, full_rx) = sync_channel(QUEUE);
    let (free_tx, free_rx) = channel();
    std::thread::scope(|s| {
        // No thread to be had: decode sequentially instead.
        let inflater = std::thread::Builder::new()
            .name("png-inflate".into())
            .spawn_scoped(s, move || inflate(input, shape, &full_tx, &free_rx))
            .map_err(|_| Failed)?;
        let unfiltered = unfilter_rows(shape, acc, full_rx, &free_tx);
        let inflated = inflater
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        unfiltered.and(inflated)
    })
}

/// Stage 1: inflates the image data and sends complete filtered rows (filter byte first).
fn inflate(
    input: &[u8],
    shape: Shape,
    full: &SyncSender<Vec<u8>>,
    free: &Receiver<Vec<u8>>,
) -> Result<(), Failed> {
    let stride = shape.row_len() + 1;
    let mut options = png::DecodeOptions::default();
    options.set_ignore_text_chunk(true);
    options.set_ignore_iccp_chunk(true);
    let mut decoder = png::StreamingDecoder::new_with_options(options);
    let mut pos = 0;

    // Skip to the first IDAT, as `Reader` does.
    loop {
        let (n, event) = update(&mut decoder, input, pos, None)?;
        pos += n;
        match event {
            png::Decoded::ChunkBegin(_, png::chunk::IDAT) => break,
            png::Decoded::ChunkBegin(_, png::chunk::fdAT)
            | png::Decoded::ChunkComplete(png::chunk::IEND) => return Err(Failed),
            _ => {}
        }
    }

    // `buf[..region.available]` may be discarded; `buf[region.available..region.filled]` is the
    // inflater's look-back window; `buf[start..region.filled]` is the next, incomplete row.
    let mut buf = Vec::new();
    let mut region = png::UnfilterRegion::default();
    let mut start = 0;
    let mut remaining = stride as u64 * u64::from(shape.height);
    let mut rows_left = shape.height;
    let mut flushed = false;
    let mut batch = Vec::with_capacity(BATCH_ROWS * stride);
    while rows_left > 0 {
        if flushed {
            // The IDAT chunks ended before the last row.
            return Err(Failed);
        }
        let discard = region.available.min(start);
        if discard >= SHIFT_AT {
            buf.copy_within(discard..region.filled, 0);
            start -= discard;
            region.available -= discard;
            region.filled -= discard;
        }
        // Never let the inflater run past the image's data (the `Reader` sizes its buffer so).
        let room = remaining.min(GROWTH as u64) as usize;
        if buf.len() < region.filled + room || room < GROWTH {
            buf.resize(region.filled + room, 0);
        }

        let before = region.filled;
        let (n, event) = update(&mut decoder, input, pos, Some(&mut region.as_buf(&mut buf)))?;
        pos += n;
        remaining -= (region.filled - before) as u64;
        if remaining == 0 {
            region.available = region.filled;
        }
        flushed = matches!(event, png::Decoded::ImageDataFlushed);

        while rows_left > 0 && region.filled - start >= stride {
            batch.extend_from_slice(&buf[start..start + stride]);
            start += stride;
            rows_left -= 1;
            if batch.len() == BATCH_ROWS * stride {
                full.send(batch).map_err(|_| Failed)?;
                batch = free
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH_ROWS * stride));
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        full.send(batch).map_err(|_| Failed)?;
    }

    // Read to the end of the IDAT chunks (checking their CRCs), as `Reader` does after the last row.
    while !flushed {
        let (n, event) = update(&mut decoder, input, pos, None)?;
        pos += n;
        flushed = matches!(event, png::Decoded::ImageDataFlushed);
    }
    Ok(())
}

/// One `StreamingDecoder::update` on the rest of `input`; running out of input is an error, as in
/// `Reader`.
fn update(
    decoder: &mut png::StreamingDecoder,
    input: &[u8],
    pos: usize,
    image_data: Option<&mut png::UnfilterBuf<'_>>,
) -> Result<(usize, png::Decoded), Failed> {
    let rest = &input[pos..];
    if rest.is_empty() {
        return Err(Failed);
    }
    decoder.update(rest, image_data).map_err(|_| Failed)
}

/// Stage 2: unfilters the rows in place, in order, and sums them into `acc`.
fn unfilter_rows(
    shape: Shape,
    acc: &mut Accumulator,
    full: Receiver<Vec<u8>>,
    free: &Sender<Vec<u8>>,
) -> Result<(), Failed> {
    let len = shape.row_len();
    let stride = len + 1;
    let bpp = shape.channels.count();
    // The row above the first is all zeros.
    let mut above = vec![0u8; len];
    for mut batch in full {
        let rows = batch.len() / stride;
        for k in 0..rows {
            let (done, rest) = batch.split_at_mut(k * stride);
            let prev = match k {
                0 => &above[..],
                _ => &done[done.len() - len..],
            };
            let (filter, row) = rest[..stride].split_first_mut().ok_or(Failed)?;
            unfilter(*filter, bpp, prev, row).map_err(|()| Failed)?;
            acc.push_row(row, shape.channels);
        }
        above.copy_from_slice(&batch[batch.len() - len..]);
        // The inflater may have finished already; then the buffer is simply dropped.
        let _ = free.send(batch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::decode::{DctScale, Request};
    use crate::engine::grid::{Cells, Layout};
    use crate::engine::options::{Grid, Limits};

    fn request(grid: Grid, limits: &Limits) -> Request<'_> {
        Request {
            grid,
            limits,
            dct_scale: DctScale::Full,
            detail: 0.0,
        }
    }

    /// A PNG of deterministic noisy pixels, every row with `filter` (or adaptive filters).
    fn encode(width: u32, height: u32, color: png::ColorType, filter: png::Filter) -> Vec<u8> {
        let n = match color {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            _ => 4,
        };
        let mut state = 0x2545_f491_u32 ^ width.wrapping_mul(31) ^ height;
        let data: Vec<u8> = (0..width as usize * height as usize * n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Smooth gradients with noise, so every predictor gets real work.
                ((i / n) as u32 % 251).wrapping_add(state % 13) as u8
            })
            .collect();
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(color);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_filter(filter);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&data).unwrap();
        }
        out
    }

    fn pipelined(input: &[u8]) -> Result<Cells, Failed> {
        let reader = png::Decoder::new(std::io::Cursor::new(input))
            .read_info()
            .unwrap();
        let shape = shape(reader.info()).expect("the pipeline applies");
        let mut acc = Accumulator::upright(
            Layout::new(Grid::Block(4), shape.width, shape.height),
            shape.channels.has_alpha(),
        );
        decode_rows(input, shape, &mut acc)?;
        Ok(acc.finish(1, (shape.width, shape.height)))
    }

    fn sequential(input: &[u8]) -> Cells {
        super::super::png::sequential(input, &request(Grid::Block(4), &Limits::default())).unwrap()
    }

    fn assert_same(input: &[u8]) {
        let (a, b) = (pipelined(input).unwrap(), sequential(input));
        assert_eq!(a.layout, b.layout);
        assert_eq!(a.len(), b.len());
        assert!((0..a.len()).all(|i| {
            let (x, y) = (a.get(i), b.get(i));
            x.rgb.map(f32::to_bits) == y.rgb.map(f32::to_bits)
                && x.alpha.to_bits() == y.alpha.to_bits()
        }));
    }

    #[test]
    fn every_filter_and_colour_type_matches_the_sequential_decode() {
        let filters = [
            png::Filter::NoFilter,
            png::Filter::Sub,
            png::Filter::Up,
            png::Filter::Avg,
            png::Filter::Paeth,
            png::Filter::Adaptive,
        ];
        let colors = [
            png::ColorType::Grayscale,
            png::ColorType::GrayscaleAlpha,
            png::ColorType::Rgb,
            png::ColorType::Rgba,
        ];
        for filter in filters {
            for color in colors {
                for (w, h) in [(1, 1), (37, 1), (1, 40), (61, 77), (301, 150)] {
                    assert_same(&encode(w, h, color, filter));
                }
            }
        }
    }

    #[test]
    fn a_large_image_with_many_batches_and_buffer_shifts_matches() {
        // 1.5 MB of filtered data: many IDAT chunks, batches and shifts of the inflate buffer.
        let input = encode(999, 401, png::ColorType::Rgba, png::Filter::Adaptive);
        assert_same(&input);
        assert!(
            applies(
                &png::Decoder::new(std::io::Cursor::new(&input[..]))
                    .read_info()
                    .unwrap()
                    .info()
                    .clone()
            )
            .is_some()
        );
    }

    #[test]
    fn truncated_or_corrupt_data_fails_where_the_sequential_decode_fails() {
        let input = encode(301, 150, png::ColorType::Rgb, png::Filter::Paeth);
        let sequential_fails = |input: &[u8]| {
            super::super::png::sequential(input, &request(Grid::Block(1), &Limits::default()))
                .is_err()
        };
        // Cut in the IDAT data, in the last IDAT's CRC, and in IEND (which neither path reads).
        for cut in [60, input.len() / 2, input.len() - 13, input.len() - 1] {
            assert_eq!(
                pipelined(&input[..cut]).is_err(),
                sequential_fails(&input[..cut]),
                "cut at {cut}"
            );
        }
        assert!(pipelined(&input[..input.len() / 2]).is_err());
        assert!(pipelined(&input[..input.len() - 1]).is_ok());
        // A flipped byte inside the IDAT data breaks its CRC.
        let mut corrupt = input.clone();
        let at = corrupt.len() / 2;
        corrupt[at] ^= 0x55;
        assert_eq!(pipelined(&corrupt).err(), Some(Failed));
        assert!(sequential_fails(&corrupt));
    }

    /// Timing check on a real photo: `cargo test --release … pipeline_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn pipeline_timing() {
        let path = std::env::var("PNG").unwrap_or_else(|_| "/tmp/cups-4mp.png".into());
        let input = std::fs::read(path).unwrap();
        let time = |f: &dyn Fn()| {
            (0..15)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::MAX, f64::min)
        };
        let grid = Grid::Block(10);
        let limits = Limits::default();
        // The photo really takes the pipeline (a failure would fall back silently in `decode`).
        let reader = png::Decoder::new(std::io::Cursor::new(&input[..]))
            .read_info()
            .unwrap();
        let shape = applies(reader.info()).expect("the pipeline applies");
        let mut acc = Accumulator::upright(
            Layout::new(grid, shape.width, shape.height),
            shape.channels.has_alpha(),
        );
        decode_rows(&input, shape, &mut acc).unwrap();
        let seq = time(&|| {
            super::super::png::sequential(&input, &request(grid, &limits)).unwrap();
        });
        let par = time(&|| {
            super::super::png::decode(&input, &request(grid, &limits)).unwrap();
        });
        // `Reader::read_row` into our own buffer instead of `next_row` (the png crate's only
        // other row API), to see whether it saves a copy.
        let by_next_row = time(&|| {
            let mut reader = png::Decoder::new(std::io::Cursor::new(&input[..]))
                .read_info()
                .unwrap();
            while let Some(row) = reader.next_row().unwrap() {
                std::hint::black_box(row.data());
            }
        });
        let by_read_row = time(&|| {
            let mut reader = png::Decoder::new(std::io::Cursor::new(&input[..]))
                .read_info()
                .unwrap();
            let mut row = vec![0; reader.output_line_size(reader.info().width).unwrap()];
            while reader.read_row(&mut row).unwrap().is_some() {
                std::hint::black_box(&row);
            }
        });
        println!("min of 15: sequential {seq:.1} ms, pipelined {par:.1} ms");
        // CPU time (both threads) per decode, from /proc/self/stat (Linux only; 10 ms ticks).
        let cpu_ms = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split(' ').collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(12) + ticks(13)) * 10.0
        };
        for (name, pipeline) in [("sequential", false), ("pipelined", true)] {
            let before = cpu_ms();
            for _ in 0..40 {
                if pipeline {
                    super::super::png::decode(&input, &request(grid, &limits)).unwrap();
                } else {
                    super::super::png::sequential(&input, &request(grid, &limits)).unwrap();
                }
            }
            println!(
                "{name}: {:.1} ms CPU per decode",
                (cpu_ms() - before) / 40.0
            );
        }
        println!("png crate alone: next_row {by_next_row:.1} ms, read_row {by_read_row:.1} ms");
        let inflate_only = time(&|| {
            let (full_tx, full_rx) = sync_channel(QUEUE);
            let (free_tx, free_rx) = channel();
            std::thread::scope(|s| {
                s.spawn(|| {
                    for b in full_rx {
                        let _ = free_tx.send(b);
                    }
                });
                inflate(&input, shape, &full_tx, &free_rx).unwrap();
                drop(full_tx);
            });
        });
        let mut filtered = Vec::new();
        {
            let (full_tx, full_rx) = sync_channel(4096);
            let (_free_tx, free_rx) = channel();
            inflate(&input, shape, &full_tx, &free_rx).unwrap();
            drop(full_tx);
            filtered.extend(full_rx);
        }
        let stage2 = time(&|| {
            let (full_tx, full_rx) = channel();
            for b in &filtered {
                full_tx.send(b.clone()).unwrap();
            }
            drop(full_tx);
            let (free_tx, _free_rx) = channel();
            let mut acc = Accumulator::upright(
                Layout::new(grid, shape.width, shape.height),
                shape.channels.has_alpha(),
            );
            unfilter_rows(shape, &mut acc, full_rx, &free_tx).unwrap();
        });
        // Unfilters every batch in order, handing each plain row to `each`.
        let unfilter_all = |each: &mut dyn FnMut(&[u8])| {
            let len = shape.row_len();
            let mut above = vec![0u8; len];
            for b in &filtered {
                let mut b = b.clone();
                for row in b.chunks_exact_mut(len + 1) {
                    let (f, row) = row.split_first_mut().unwrap();
                    unfilter(*f, shape.channels.count(), &above, row).unwrap();
                    above.copy_from_slice(row);
                    each(row);
                }
            }
        };
        let unfilter_only = time(&|| unfilter_all(&mut |_| {}));
        let clone_only = time(&|| {
            for b in &filtered {
                std::hint::black_box(b.clone());
            }
        });
        let mut plain = Vec::new();
        unfilter_all(&mut |row| plain.extend_from_slice(row));
        let sum_only = time(&|| {
            let mut acc = Accumulator::upright(
                Layout::new(grid, shape.width, shape.height),
                shape.channels.has_alpha(),
            );
            for row in plain.chunks_exact(shape.row_len()) {
                acc.push_row(row, shape.channels);
            }
            std::hint::black_box(acc.finish(1, (shape.width, shape.height)));
        });
        println!(
            "unfilter only {unfilter_only:.1} ms, clone only {clone_only:.1} ms, sum only {sum_only:.1} ms"
        );
        let counts = filtered
            .iter()
            .flat_map(|b| b.chunks_exact(shape.row_len() + 1).map(|r| r[0]))
            .fold([0; 5], |mut c, f| {
                c[f as usize] += 1;
                c
            });
        println!(
            "inflate only {inflate_only:.1} ms, unfilter+sum (incl clone) {stage2:.1} ms, filters {counts:?}"
        );
    }
}
