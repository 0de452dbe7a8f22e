//! The grid: where cell edges fall, and the per-cell sums that decoders feed row by row.
//!
//! Cells average in linear light with premultiplied alpha: a cell's colour is Σ(linear·α)/Σα, so a
//! transparent neighbour never darkens an edge, and its alpha is Σα/area.

use super::colorspace::srgb_to_linear_table;
use super::options::Grid;

/// Cell edges in pixel coordinates of the decoded image (`xs.len() == cols + 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub xs: Vec<u32>,
    pub ys: Vec<u32>,
}

impl Layout {
    /// Edges for a `width × height` (decoded) image.
    pub fn new(grid: Grid, width: u32, height: u32) -> Self {
        match grid {
            Grid::Block(block) => Layout {
                xs: block_edges(width, block),
                ys: block_edges(height, block),
            },
            Grid::Width(cols) => {
                let cols = cols.min(width).max(1);
                let rows = ((u64::from(height) * u64::from(cols) + u64::from(width) / 2)
                    / u64::from(width))
                .clamp(1, u64::from(height)) as u32;
                Layout {
                    xs: even_edges(width, cols),
                    ys: even_edges(height, rows),
                }
            }
        }
    }

    pub fn cols(&self) -> u32 {
        self.xs.len() as u32 - 1
    }

    pub fn rows(&self) -> u32 {
        self.ys.len() as u32 - 1
    }

    pub fn max_cell_width(&self) -> u32 {
        self.xs.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1)
    }
}

fn block_edges(len: u32, block: u32) -> Vec<u32> {
    let n = len.div_ceil(block);
    (0..=n).map(|i| (i * block).min(len)).collect()
}

/// `n` cells over `len` pixels, widths differing by at most one.
fn even_edges(len: u32, n: u32) -> Vec<u32> {
    (0..=n)
        .map(|i| (u64::from(i) * u64::from(len) / u64::from(n)) as u32)
        .collect()
}

/// One cell's mean, before any palette.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    /// Mean linear-light RGB of the opaque part (unpremultiplied).
    pub rgb: [f32; 3],
    /// Mean alpha over the cell, 0..=1.
    pub alpha: f32,
    /// Source pixels covered (a partial edge cell weighs less in the palette).
    pub area: f32,
}

/// The averaged grid plus how it was made.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    pub layout: Layout,
    pub cells: Vec<Cell>,
    /// The JPEG DCT scale used (1 = full size).
    pub decode_scale: u32,
    /// The source's displayed size (after EXIF orientation, before any DCT scale).
    pub source_width: u32,
    pub source_height: u32,
}

/// Pixel layouts decoders hand over: 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::GrayAlpha => 2,
            Channels::Rgb => 3,
            Channels::Rgba => 4,
        }
    }
}

/// Receives rows top to bottom and sums them into cells.
pub(crate) struct Accumulator {
    layout: Layout,
    /// Sums for the current row of cells: premultiplied r, g, b and alpha.
    band: Vec<[f64; 4]>,
    next_row_edge: usize,
    y: u32,
    cells: Vec<Cell>,
}

impl Accumulator {
    pub fn new(layout: Layout) -> Self {
        let cols = layout.cols() as usize;
        let rows = layout.rows() as usize;
        Accumulator {
            band: vec![[0.0; 4]; cols],
            next_row_edge: 1,
            y: 0,
            cells: Vec::with_capacity(cols * rows),
            layout,
        }
    }

    /// Adds the next source row (`width × channels` bytes).
    pub fn push_row(&mut self, row: &[u8], channels: Channels) {
        let lin = srgb_to_linear_table();
        let n = channels.count();
        for (c, sum) in self.band.iter_mut().enumerate() {
            let (x0, x1) = (self.layout.xs[c] as usize, self.layout.xs[c + 1] as usize);
            let px = &row[x0 * n..x1 * n];
            // Sum one row of a cell in f32 (short runs), then carry into f64 (long columns).
            let (mut r, mut g, mut b, mut a) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            match channels {
                Channels::Rgb => {
                    for p in px.chunks_exact(3) {
                        r += lin[p[0] as usize];
                        g += lin[p[1] as usize];
                        b += lin[p[2] as usize];
                    }
                    a = (x1 - x0) as f32;
                }
                Channels::Rgba => {
                    for p in px.chunks_exact(4) {
                        let al = f32::from(p[3]) * (1.0 / 255.0);
                        r += lin[p[0] as usize] * al;
                        g += lin[p[1] as usize] * al;
                        b += lin[p[2] as usize] * al;
                        a += al;
                    }
                }
                Channels::Gray => {
                    for &v in px {
                        r += lin[v as usize];
                    }
                    g = r;
                    b = r;
                    a = (x1 - x0) as f32;
                }
                Channels::GrayAlpha => {
                    for p in px.chunks_exact(2) {
                        let al = f32::from(p[1]) * (1.0 / 255.0);
                        r += lin[p[0] as usize] * al;
                        a += al;
                    }
                    g = r;
                    b = r;
                }
            }
            sum[0] += f64::from(r);
            sum[1] += f64::from(g);
            sum[2] += f64::from(b);
            sum[3] += f64::from(a);
        }
        self.y += 1;
        if self.next_row_edge < self.layout.ys.len() && self.y == self.layout.ys[self.next_row_edge]
        {
            self.close_band();
        }
    }

    fn close_band(&mut self) {
        let y0 = self.layout.ys[self.next_row_edge - 1];
        let y1 = self.layout.ys[self.next_row_edge];
        for (c, sum) in self.band.iter_mut().enumerate() {
            let area = f64::from(self.layout.xs[c + 1] - self.layout.xs[c]) * f64::from(y1 - y0);
            let alpha = sum[3];
            let rgb = if alpha > 0.0 {
                [
                    (sum[0] / alpha) as f32,
                    (sum[1] / alpha) as f32,
                    (sum[2] / alpha) as f32,
                ]
            } else {
                [0.0; 3]
            };
            self.cells.push(Cell {
                rgb,
                alpha: (alpha / area) as f32,
                area: area as f32,
            });
            *sum = [0.0; 4];
        }
        self.next_row_edge += 1;
    }

    /// The finished grid; rows the decoder never delivered count as transparent.
    pub fn finish(mut self, decode_scale: u32, source_width: u32, source_height: u32) -> Cells {
        while self.next_row_edge < self.layout.ys.len() {
            self.close_band();
        }
        Cells {
            layout: self.layout,
            cells: self.cells,
            decode_scale,
            source_width,
            source_height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_edges_keep_partial_last_blocks() {
        let l = Layout::new(Grid::Block(4), 10, 4);
        assert_eq!(l.xs, vec![0, 4, 8, 10]);
        assert_eq!(l.ys, vec![0, 4]);
    }

    #[test]
    fn width_edges_give_exactly_that_many_columns() {
        let l = Layout::new(Grid::Width(64), 600, 400);
        assert_eq!(l.cols(), 64);
        assert_eq!(l.rows(), 43);
        let widths: Vec<u32> = l.xs.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(widths.iter().all(|&w| w == 9 || w == 10), "{widths:?}");
    }

    #[test]
    fn premultiplied_mean_ignores_the_colour_of_transparent_pixels() {
        // One cell of 2 px: opaque white and transparent black → white at half alpha.
        let mut acc = Accumulator::new(Layout::new(Grid::Block(2), 2, 1));
        acc.push_row(&[255, 255, 255, 255, 0, 0, 0, 0], Channels::Rgba);
        let cells = acc.finish(1, 2, 1);
        let cell = cells.cells[0];
        assert!((cell.rgb[0] - 1.0).abs() < 1e-6);
        assert!((cell.alpha - 0.5).abs() < 1e-6);
    }

    #[test]
    fn mean_is_taken_in_linear_light() {
        // Black and white average to linear 0.5 (sRGB ≈ 188), not sRGB 128.
        let mut acc = Accumulator::new(Layout::new(Grid::Block(2), 2, 1));
        acc.push_row(&[0, 255], Channels::Gray);
        let cell = acc.finish(1, 2, 1).cells[0];
        assert!((cell.rgb[0] - 0.5).abs() < 1e-6);
    }
}
