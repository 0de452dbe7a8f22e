//! The engine's memory budget: an upper estimate of a job's peak memory, made from the header
//! and the options before any pixel is decoded, so a job that cannot fit is refused with a
//! message instead of failing half-way (natively: swapping or being killed; in the wasm module:
//! trapping on a failed `memory.grow`, which OSC's runner would answer with an empty 200).
//!
//! The figures follow what each stage holds at its peak (see `grid::CellStore`, `quantize`,
//! `encode`): the input, the decoder's buffers, the cell store, one code per cell, and the
//! compressed output. They are deliberately generous where a decoder's internals are not ours
//! (JPEG planes and progressive coefficients).

use super::grid::{CellStore, Layout};
use super::options::{Colors, Options, Output};
use super::probe::{Format, ImageInfo, jpeg_shape};

/// Bytes the decoder of `input` (probed as `info`) may hold at its peak.
fn decoder_bytes(input: &[u8], info: &ImageInfo) -> u64 {
    let decoded = u64::from(info.width) * u64::from(info.height);
    match info.format {
        // Rows stream (a few rows of up to 16 bytes a pixel); an interlaced image (IHDR's
        // interlace byte, file offset 28) is held whole: 8 bytes a pixel after normalising, plus
        // the png crate's own buffer.
        Format::Png if input.get(28) == Some(&1) => decoded * 16,
        Format::Png => u64::from(info.width) * 16 * 4,
        // jpeg-decoder holds a plane per component (a byte a sample; subsampled planes are
        // smaller, counted full), for a progressive file every coefficient until the last scan
        // (2 bytes a sample), then its output (a byte per component); CMYK is then converted to
        // RGB (3 more). Unreadable headers were refused by the probe; count the worst case.
        Format::Jpeg => {
            let (progressive, components) = jpeg_shape(input).unwrap_or((true, 4));
            let c = u64::from(components.clamp(1, 4));
            let per_pixel =
                c + if progressive { 2 * c } else { 0 } + c + if c == 4 { 3 } else { 0 };
            decoded * per_pixel
        }
        // Output RGBA plus the decoder's working planes.
        Format::Webp => decoded * 8,
        // The canvas (RGBA) plus the frame's RGBA buffer.
        Format::Gif => decoded * 8,
        Format::Bmp => decoded * 4,
    }
}

/// An upper estimate of the peak bytes `options` needs for `input`, whose header is `info`
/// (the input itself included).
pub(crate) fn estimate(input: &[u8], info: &ImageInfo, options: &Options) -> u64 {
    let pixels = u64::from(info.width) * u64::from(info.height);
    let layout = Layout::new(options.grid, info.width, info.height);
    let cells = layout.cells() as u64;
    // The store's form is chosen from the cell size; alpha is not known yet, so assume it.
    let store = cells * CellStore::bytes_per_cell(cells, pixels, true);
    let codes = match options.colors {
        Colors::Full | Colors::Count(_) | Colors::Palette(_) => cells,
        Colors::Levels(l) if u32::from(l).pow(3) <= 256 => cells,
        Colors::Levels(_) => cells * 2,
    } + cells / 8;
    // The compressed PNG: bounded by its raw size (a byte per output pixel for palettes, up to
    // four for true colour), which flat cells shrink far below.
    let (cols, rows) = (u64::from(layout.cols()), u64::from(layout.rows()));
    let out_pixels = match options.output {
        Output::Grid => cols * rows,
        Output::Scale(k) => cols * rows * u64::from(k) * u64::from(k),
        Output::Original => pixels,
    };
    let bytes_per_pixel = if matches!(options.colors, Colors::Full) {
        4
    } else {
        1
    };
    let output = out_pixels.min(cells * 8) * bytes_per_pixel + (1 << 16);
    // Fixed costs: palette bins (1 MiB of slots), the full-colour census (2 MiB), tables.
    let fixed = 4 << 20;
    // The decoder's buffers and the store overlap: the store fills while the decoder still holds
    // its output.
    input.len() as u64 + decoder_bytes(input, info) + store + codes + output + fixed
}

/// An upper estimate of the peak bytes an animation of `frames` frames on a `width`×`height`
/// canvas needs under `options` (the input included). Frames are decoded one at a time, but
/// every frame's cells are kept until the one palette is built, then a code per cell per frame,
/// and the encoded animation grows by a frame at a time.
pub(crate) fn estimate_animation(
    input: &[u8],
    frames: u32,
    width: u32,
    height: u32,
    options: &Options,
) -> u64 {
    let frames = u64::from(frames);
    let pixels = u64::from(width) * u64::from(height);
    // The composited canvas, the rectangle saved for "restore to previous", the frame being
    // decoded and the copy the grid is cut from: RGBA each.
    let decode = pixels * 4 * 4;
    let layout = Layout::new(options.grid, width, height);
    let cells = layout.cells() as u64;
    let per_frame_cells = cells * CellStore::bytes_per_cell(cells, pixels, true) + cells * 2;
    let (cols, rows) = (u64::from(layout.cols()), u64::from(layout.rows()));
    let out_pixels = match options.output {
        Output::Grid => cols * rows,
        Output::Scale(k) => cols * rows * u64::from(k) * u64::from(k),
        Output::Original => pixels,
    };
    // Two drawn frames (the one written and the next), and the file: at most a byte per output
    // pixel per frame (only changed rectangles are stored, and flat cells compress far below).
    let output = out_pixels * 2 + frames * out_pixels + (1 << 16);
    let fixed = 4 << 20;
    input.len() as u64 + decode + frames * per_frame_cells + output + fixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::options::Grid;

    fn info(format: Format, width: u32, height: u32) -> ImageInfo {
        ImageInfo {
            format,
            width,
            height,
        }
    }

    #[test]
    fn one_cell_per_pixel_stays_near_the_decoded_image() {
        let o = Options {
            grid: Grid::Block(1),
            ..Options::default()
        };
        let est = estimate(&[0; 64], &info(Format::Png, 8000, 8000), &o);
        // 64 MP: store 4 B, codes 1 B, output up to 4 B; the rows stream.
        assert!(est < 64_000_000 * 10, "{est}");
        assert!(est > 64_000_000 * 5, "{est}");
    }

    /// A JPEG's start and frame header: `marker` 0xC0 baseline or 0xC2 progressive.
    fn jpeg_header(marker: u8, width: u16, height: u16, components: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, marker, 0, 8 + 3 * components, 8];
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.push(components);
        b.extend(std::iter::repeat_n(0x11, 3 * usize::from(components)));
        b
    }

    #[test]
    fn a_50_mp_baseline_jpeg_fits_the_default_budget_at_one_cell_per_pixel() {
        let o = Options {
            grid: Grid::Block(1),
            ..Options::default()
        };
        let (w, h) = (8660, 5774);
        let est = |marker, components| {
            let input = jpeg_header(marker, w, h, components);
            estimate(&input, &info(Format::Jpeg, w.into(), h.into()), &o)
        };
        let baseline = est(0xC0, 3);
        assert!(
            baseline < crate::engine::Limits::DEFAULT_MAX_MEMORY_BYTES,
            "{baseline}"
        );
        // Progressive files keep every coefficient; CMYK adds a fourth plane and a conversion.
        assert!(est(0xC2, 3) > baseline);
        assert!(est(0xC2, 4) > est(0xC2, 3));
        assert!(est(0xC0, 1) < baseline);
    }

    #[test]
    fn an_animation_counts_every_frame() {
        let o = Options {
            grid: Grid::Block(1),
            ..Options::default()
        };
        let one = estimate_animation(&[], 1, 480, 270, &o);
        let hundred = estimate_animation(&[], 100, 480, 270, &o);
        // At one cell per pixel each frame keeps its cells and codes and adds its output.
        assert!(hundred > one + 99 * 480 * 270 * 3, "{one} {hundred}");
        // Large blocks keep each frame small: the canvas dominates.
        let blocky = estimate_animation(&[], 100, 480, 270, &Options::default());
        assert!(blocky < hundred / 4, "{blocky} {hundred}");
    }

    #[test]
    fn large_blocks_cost_little_beyond_the_decoder() {
        let o = Options::default();
        let est = estimate(&[0; 64], &info(Format::Png, 8000, 8000), &o);
        assert!(est < 64_000_000 / 2, "{est}");
    }
}
