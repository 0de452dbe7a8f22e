//! PNG output: indexed at the smallest bit depth that fits (truecolour only past 256 colours),
//! each cell drawn as a flat rectangle (nearest-neighbour upscale), row by row: the full-size
//! picture is never held in memory, only the compressed stream.

use super::colorspace::linear_to_srgb8;
use super::error::Error;
use super::grid::{Cells, Layout};
use super::options::{Grid, Output};
use super::png_writer::{self, PngColor};
use super::quantize::{Codes, Quantized};

/// How many output pixels each column and each row of cells spans.
pub(crate) struct Spans {
    pub widths: Vec<u32>,
    pub heights: Vec<u32>,
}

impl Spans {
    /// `source` is the displayed source size (width, height).
    pub fn new(layout: &Layout, source: (u32, u32), grid: Grid, output: Output) -> Self {
        let (cols, rows) = (layout.cols() as usize, layout.rows() as usize);
        let uniform = |k: u32| Spans {
            widths: vec![k; cols],
            heights: vec![k; rows],
        };
        match (output, grid) {
            (Output::Grid, _) => uniform(1),
            (Output::Scale(k), _) => uniform(k),
            // The source size, cropping the partial last blocks exactly as the source did.
            (Output::Original, Grid::Block(block)) => Spans {
                widths: (0..cols as u32)
                    .map(|c| block.min(source.0 - c * block))
                    .collect(),
                heights: (0..rows as u32)
                    .map(|r| block.min(source.1 - r * block))
                    .collect(),
            },
            // Cells of a fixed column count are uneven in the source; draw them evenly instead.
            (Output::Original, Grid::Width(_)) => {
                uniform(((source.0 + cols as u32 / 2) / cols as u32).max(1))
            }
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.widths.iter().sum(), self.heights.iter().sum())
    }
}

/// Writes the quantised grid as a PNG drawn with `spans`. `cells` supplies the colours when the
/// output is true colour (more than 256 colours).
pub(crate) fn write_png(
    q: &Quantized,
    cells: &Cells,
    spans: &Spans,
    optimize: bool,
) -> Result<Vec<u8>, Error> {
    let (width, height) = spans.size();
    let cols = cells.layout.cols() as usize;
    let entries = q.palette.len() + usize::from(q.has_transparency);

    if !matches!(q.codes, Codes::Truecolor) && entries <= 256 {
        // Transparent is entry 0 so tRNS stays one byte long.
        let shift = u32::from(q.has_transparency);
        let mut plte = Vec::with_capacity(entries.max(1) * 3);
        if q.has_transparency {
            plte.extend_from_slice(&[0, 0, 0]);
        }
        plte.extend(q.palette.iter().flatten());
        // PLTE may not be empty; a fully transparent image still gets its one entry.
        if plte.is_empty() {
            plte.extend_from_slice(&[0, 0, 0]);
        }
        let bits: u8 = match entries {
            0..=2 => 1,
            3..=4 => 2,
            5..=16 => 4,
            _ => 8,
        };
        let color = PngColor::Indexed {
            bits,
            palette: &plte,
            trns: q.has_transparency.then_some(&[0u8][..]),
        };
        let bits = usize::from(bits);
        let index_of = |i: usize| {
            if q.opaque.contains(i) {
                q.codes.get(i) + shift
            } else {
                0
            }
        };
        let row = |r: usize, out: &mut [u8]| {
            draw_row(cols, spans, r, |x, w, i| {
                let v = index_of(i) as u8;
                if bits == 8 {
                    out[x..x + w].fill(v);
                    return;
                }
                for x in x..x + w {
                    let bit = x * bits;
                    out[bit / 8] |= v << (8 - bits - bit % 8);
                }
            })
        };
        Ok(png_writer::write(
            width,
            height,
            color,
            &row,
            &spans.heights,
            optimize,
        ))
    } else {
        let alpha = q.has_transparency;
        let color = if alpha { PngColor::Rgba } else { PngColor::Rgb };
        let n = if alpha { 4 } else { 3 };
        let rgb_of = |i: usize| match q.codes {
            Codes::Truecolor => cells
                .store
                .srgb8(i)
                .unwrap_or_else(|| linear_to_srgb8(cells.get(i).rgb)),
            _ => q.palette[q.codes.get(i) as usize],
        };
        let row = |r: usize, out: &mut [u8]| {
            draw_row(cols, spans, r, |x, w, i| {
                if q.opaque.contains(i) {
                    let rgb = rgb_of(i);
                    for px in out[x * n..(x + w) * n].chunks_exact_mut(n) {
                        px[..3].copy_from_slice(&rgb);
                        if alpha {
                            px[3] = 255;
                        }
                    }
                }
            })
        };
        Ok(png_writer::write(
            width,
            height,
            color,
            &row,
            &spans.heights,
            optimize,
        ))
    }
}

/// Draws distinct row `r` (one row of cells): `put(x, w, cell)` for every cell, whose pixels are
/// `x..x + w` of the output row (a cell's colour is looked up once, not once per pixel).
fn draw_row(cols: usize, spans: &Spans, r: usize, mut put: impl FnMut(usize, usize, usize)) {
    let mut x = 0;
    for (c, &w) in spans.widths.iter().enumerate() {
        let w = w as usize;
        put(x, w, r * cols + c);
        x += w;
    }
}
