//! PNG output: indexed at the smallest bit depth that fits (truecolour only past 256 colours),
//! each cell drawn as a flat rectangle (nearest-neighbour upscale).

use super::error::Error;
use super::grid::Layout;
use super::options::{Grid, Output};
use super::png_writer::{self, PngColor};
use super::quantize::{Quantized, TRANSPARENT};

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

pub(crate) fn write_png(
    q: &Quantized,
    layout: &Layout,
    spans: &Spans,
    optimize: bool,
) -> Result<Vec<u8>, Error> {
    let (width, height) = spans.size();
    let cols = layout.cols() as usize;
    let entries = q.palette.len() + usize::from(q.has_transparency);

    if entries <= 256 {
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
        let index_of = |i: u32| if i == TRANSPARENT { 0 } else { i + shift };
        let raw = rows(q, cols, spans, color.stride(width), |row, x, i| {
            let v = index_of(i) as u8;
            let bit = x * bits;
            row[bit / 8] |= v << (8 - bits - bit % 8);
        });
        Ok(png_writer::write(
            width,
            height,
            color,
            &raw,
            &spans.heights,
            optimize,
        ))
    } else {
        let alpha = q.has_transparency;
        let color = if alpha { PngColor::Rgba } else { PngColor::Rgb };
        let n = if alpha { 4 } else { 3 };
        let raw = rows(q, cols, spans, color.stride(width), |row, x, i| {
            if i != TRANSPARENT {
                let [r, g, b] = q.palette[i as usize];
                row[x * n..x * n + 3].copy_from_slice(&[r, g, b]);
                if alpha {
                    row[x * n + 3] = 255;
                }
            }
        });
        Ok(png_writer::write(
            width,
            height,
            color,
            &raw,
            &spans.heights,
            optimize,
        ))
    }
}

/// Builds the distinct rows: one expanded row per row of cells (its height is in `spans`).
fn rows(
    q: &Quantized,
    cols: usize,
    spans: &Spans,
    row_bytes: usize,
    put: impl Fn(&mut [u8], usize, u32),
) -> Vec<u8> {
    let mut data = vec![0u8; spans.heights.len() * row_bytes];
    for (r, row) in data.chunks_exact_mut(row_bytes.max(1)).enumerate() {
        let mut x = 0;
        for (c, &w) in spans.widths.iter().enumerate() {
            let i = q.indices[r * cols + c];
            for _ in 0..w {
                put(row, x, i);
                x += 1;
            }
        }
    }
    data
}
