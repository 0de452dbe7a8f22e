//! Decoding, straight into the grid's per-cell sums.
//!
//! PNG rows stream into the sums without a full-size buffer. JPEG decodes at a reduced DCT scale
//! when the block size allows (an 8×8 DCT block's scaled output is already its average), so the
//! per-pixel work shrinks by up to 64×. The other formats decode to a buffer first.

mod bmp;
mod exif;
mod gif;
mod jpeg;
mod png;
#[cfg(not(target_arch = "wasm32"))]
mod png_pipeline;
#[cfg(feature = "webp")]
mod webp;

use super::error::Error;
use super::grid::{Accumulator, Cells, Channels, Layout};
use super::options::{Grid, Limits};
use super::probe::{Format, ImageInfo};

/// Decodes `input` (already probed and checked) into the grid.
pub(crate) fn decode_to_grid(
    input: &[u8],
    info: &ImageInfo,
    grid: Grid,
    limits: &Limits,
) -> Result<Cells, Error> {
    match info.format {
        Format::Png => png::decode(input, grid, limits),
        Format::Jpeg => jpeg::decode(input, grid, limits),
        #[cfg(feature = "webp")]
        Format::Webp => webp::decode(input, limits).map(|img| img.into_grid(grid)),
        #[cfg(not(feature = "webp"))]
        Format::Webp => Err(Error::NotInThisBuild { format: "WebP" }),
        Format::Gif => gif::decode(input, limits).map(|img| img.into_grid(grid)),
        Format::Bmp => bmp::decode(input, limits).map(|img| img.into_grid(grid)),
    }
}

/// A decoded image held in memory: 8 bits per channel, rows top to bottom.
#[derive(Debug)]
pub(crate) struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub channels: Channels,
    pub data: Vec<u8>,
}

impl Bitmap {
    fn row_len(&self) -> usize {
        self.width as usize * self.channels.count()
    }

    /// Sums the whole bitmap into a grid laid out over it.
    pub fn into_grid(self, grid: Grid) -> Cells {
        let (w, h) = (self.width, self.height);
        self.into_grid_scaled(grid, 1, (w, h))
    }

    /// Sums a bitmap the decoder already shrank by `decode_scale` from `source` (width, height).
    pub fn into_grid_scaled(self, grid: Grid, decode_scale: u32, source: (u32, u32)) -> Cells {
        let mut acc = Accumulator::new(Layout::new(grid, self.width, self.height));
        for row in self.data.chunks_exact(self.row_len()) {
            acc.push_row(row, self.channels);
        }
        acc.finish(decode_scale, source.0, source.1)
    }

    /// Applies an EXIF orientation (2..=8) so the bitmap shows as the camera meant it.
    pub fn oriented(self, orientation: u16) -> Bitmap {
        if !(2..=8).contains(&orientation) {
            return self;
        }
        let (w, h, n) = (
            self.width as usize,
            self.height as usize,
            self.channels.count(),
        );
        // Orientations 5..=8 swap the axes.
        let (ow, oh) = if orientation >= 5 { (h, w) } else { (w, h) };
        let mut out = vec![0u8; self.data.len()];
        for oy in 0..oh {
            for ox in 0..ow {
                let (sx, sy) = match orientation {
                    2 => (w - 1 - ox, oy),
                    3 => (w - 1 - ox, h - 1 - oy),
                    4 => (ox, h - 1 - oy),
                    5 => (oy, ox),
                    6 => (oy, h - 1 - ox),
                    7 => (w - 1 - oy, h - 1 - ox),
                    _ => (w - 1 - oy, ox),
                };
                let (s, d) = ((sy * w + sx) * n, (oy * ow + ox) * n);
                out[d..d + n].copy_from_slice(&self.data[s..s + n]);
            }
        }
        Bitmap {
            width: ow as u32,
            height: oh as u32,
            channels: self.channels,
            data: out,
        }
    }
}

/// Bytes a decoder may allocate: the full image at 4 bytes per pixel (plus slack for its tables).
fn decoder_memory_limit(limits: &Limits) -> usize {
    usize::try_from(limits.max_pixels.saturating_mul(4))
        .unwrap_or(usize::MAX)
        .saturating_add(16 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: u32, h: u32) -> Bitmap {
        Bitmap {
            width: w,
            height: h,
            channels: Channels::Gray,
            data: (0..(w * h) as u8).collect(),
        }
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        // 0 1 2      3 0
        // 3 4 5  →   4 1
        //            5 2
        let r = numbered(3, 2).oriented(6);
        assert_eq!((r.width, r.height), (2, 3));
        assert_eq!(r.data, vec![3, 0, 4, 1, 5, 2]);
    }

    #[test]
    fn orientation_3_rotates_half_a_turn_and_8_counter_clockwise() {
        assert_eq!(numbered(3, 2).oriented(3).data, vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(numbered(3, 2).oriented(8).data, vec![2, 5, 1, 4, 0, 3]);
    }
}
