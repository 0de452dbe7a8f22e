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
use super::probe::{Format, ImageInfo};

/// Bytes the decoder of `input` (probed as `info`) may hold at its peak.
fn decoder_bytes(input: &[u8], info: &ImageInfo) -> u64 {
    let decoded = u64::from(info.width) * u64::from(info.height);
    match info.format {
        // Rows stream (a few rows of up to 16 bytes a pixel); an interlaced image (IHDR's
        // interlace byte, file offset 28) is held whole: 8 bytes a pixel after normalising, plus
        // the png crate's own buffer.
        Format::Png if input.get(28) == Some(&1) => decoded * 16,
        Format::Png => u64::from(info.width) * 16 * 4,
        // Output (up to 4 bytes a pixel for CMYK) plus component planes (up to 4 bytes) plus
        // progressive coefficients (2 bytes per sample, up to 4 components).
        Format::Jpeg => decoded * 16,
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

    #[test]
    fn large_blocks_cost_little_beyond_the_decoder() {
        let o = Options::default();
        let est = estimate(&[0; 64], &info(Format::Png, 8000, 8000), &o);
        assert!(est < 64_000_000 / 2, "{est}");
    }
}
