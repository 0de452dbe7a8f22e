//! The grid: where cell edges fall, the per-cell sums that decoders feed row by row, and the
//! compact store of the finished cell means.
//!
//! Cells average in linear light with premultiplied alpha: a cell's colour is Σ(linear·α)/Σα, so a
//! transparent neighbour never darkens an edge, and its alpha is Σα/area.
//!
//! Memory: the sums live only for the current row of cells; finished means are stored in the
//! narrowest form that keeps them (see [`CellStore`]), so even one cell per pixel (`block 1`)
//! takes no more than the decoded image itself.

use super::color_profile::{Conversion, ProfileReport};
use super::colorspace::{SRGB_TO_LINEAR, linear_to_srgb8_fast, srgb_to_linear_table};
use super::detail::Extremes;
use super::error::{Error, zeroed};
use super::options::Grid;
use super::orientation::Orientation;

/// Cell edges in pixel coordinates of the decoded image (`xs.len() == cols + 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub xs: Vec<u32>,
    pub ys: Vec<u32>,
}

impl Layout {
    /// Edges for a `width × height` (decoded, displayed) image.
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

    pub fn cells(&self) -> usize {
        self.cols() as usize * self.rows() as usize
    }

    pub fn max_cell_width(&self) -> u32 {
        self.xs.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1)
    }

    /// Source pixels covered by cell `i` (row-major).
    pub fn area(&self, i: usize) -> f32 {
        let cols = self.cols() as usize;
        let (c, r) = (i % cols, i / cols);
        (f64::from(self.xs[c + 1] - self.xs[c]) * f64::from(self.ys[r + 1] - self.ys[r])) as f32
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
    /// Mean linear-light sRGB of the opaque part (unpremultiplied), 0..=1.
    pub rgb: [f32; 3],
    /// Mean alpha over the cell, 0..=1.
    pub alpha: f32,
}

/// The finished cell means, in the narrowest form that keeps them.
///
/// - `F32`: cells of 16 or more pixels on average: 16 bytes a cell, at most 1 byte per pixel.
/// - `U16`: cells of 2 to 16 pixels: linear light and alpha in steps of 1/65535 (finer than
///   8-bit sRGB everywhere), 8 bytes a cell, at most 4 bytes per pixel.
/// - `U8`: cells of about one pixel: 8-bit sRGB (plus alpha when the source has it), exactly the
///   pixel for a one-pixel cell, at most 4 bytes per pixel.
#[derive(Debug, Clone)]
pub(crate) enum CellStore {
    F32(Vec<[f32; 4]>),
    U16(Vec<[u16; 4]>),
    U8 { data: Vec<u8>, channels: usize },
}

impl CellStore {
    /// An empty store for `cells` cells covering `pixels` source pixels.
    fn for_grid(cells: usize, pixels: u64, has_alpha: bool) -> Result<Self, Error> {
        let cells64 = cells as u64;
        Ok(if cells64 * 16 <= pixels {
            CellStore::F32(zeroed(cells)?)
        } else if cells64 * 2 <= pixels {
            CellStore::U16(zeroed(cells)?)
        } else {
            let channels = if has_alpha { 4 } else { 3 };
            CellStore::U8 {
                data: zeroed(cells * channels)?,
                channels,
            }
        })
    }

    /// Bytes per cell of the form chosen for `cells` cells over `pixels` pixels (for the memory
    /// estimate, before anything is allocated).
    pub fn bytes_per_cell(cells: u64, pixels: u64, has_alpha: bool) -> u64 {
        if cells * 16 <= pixels {
            16
        } else if cells * 2 <= pixels {
            8
        } else if has_alpha {
            4
        } else {
            3
        }
    }

    pub fn len(&self) -> usize {
        match self {
            CellStore::F32(v) => v.len(),
            CellStore::U16(v) => v.len(),
            CellStore::U8 { data, channels } => data.len() / channels,
        }
    }

    /// Cell `i`'s mean.
    #[inline]
    pub fn get(&self, i: usize) -> Cell {
        match self {
            CellStore::F32(v) => {
                let [r, g, b, a] = v[i];
                Cell {
                    rgb: [r, g, b],
                    alpha: a,
                }
            }
            CellStore::U16(v) => {
                let [r, g, b, a] = v[i].map(|x| f32::from(x) * (1.0 / 65535.0));
                Cell {
                    rgb: [r, g, b],
                    alpha: a,
                }
            }
            CellStore::U8 { data, channels } => {
                let lin = srgb_to_linear_table();
                let p = &data[i * channels..(i + 1) * channels];
                Cell {
                    rgb: [lin[p[0] as usize], lin[p[1] as usize], lin[p[2] as usize]],
                    alpha: if *channels == 4 {
                        f32::from(p[3]) * (1.0 / 255.0)
                    } else {
                        1.0
                    },
                }
            }
        }
    }

    /// Cell `i`'s 8-bit sRGB colour when the store holds it exactly, without a round trip
    /// through linear light (the fast path for one-pixel cells).
    #[inline]
    pub fn srgb8(&self, i: usize) -> Option<[u8; 3]> {
        match self {
            CellStore::U8 { data, channels } => {
                let p = &data[i * channels..i * channels + 3];
                Some([p[0], p[1], p[2]])
            }
            _ => None,
        }
    }

    fn set(&mut self, i: usize, rgb: [f32; 3], alpha: f32) {
        match self {
            CellStore::F32(v) => v[i] = [rgb[0], rgb[1], rgb[2], alpha],
            CellStore::U16(v) => {
                let q = |x: f32| (x.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16;
                v[i] = [q(rgb[0]), q(rgb[1]), q(rgb[2]), q(alpha)];
            }
            CellStore::U8 { data, channels } => {
                let c = *channels;
                let srgb = linear_to_srgb8_fast(rgb);
                data[i * c..i * c + 3].copy_from_slice(&srgb);
                if c == 4 {
                    data[i * c + 3] = (alpha.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                }
            }
        }
    }
}

/// The averaged grid plus how it was made.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    pub layout: Layout,
    pub store: CellStore,
    /// The JPEG DCT scale used (1 = full size).
    pub decode_scale: u32,
    /// The source's displayed size (after EXIF orientation, before any DCT scale).
    pub source_width: u32,
    pub source_height: u32,
    /// What was done with an embedded colour profile, if the source had one.
    pub profile: Option<ProfileReport>,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.store.len()
    }

    #[inline]
    pub fn get(&self, i: usize) -> Cell {
        self.store.get(i)
    }

    pub fn area(&self, i: usize) -> f32 {
        self.layout.area(i)
    }
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

    pub fn has_alpha(self) -> bool {
        matches!(self, Channels::GrayAlpha | Channels::Rgba)
    }
}

/// Linear-light sums of 8-bit sRGB RGB pixels (`px`: 3 bytes each), two pixels a step through the
/// static table: fewer operations per pixel under OSC's interpreter (a constant table address, half
/// the loop steps), and the same additions in the same order as one pixel at a time, so the same
/// bits.
fn sum_srgb_pixels(px: &[u8]) -> (f32, f32, f32) {
    let t = &SRGB_TO_LINEAR;
    let (mut r, mut g, mut b) = (0.0f32, 0.0f32, 0.0f32);
    let mut pairs = px.chunks_exact(6);
    for p in &mut pairs {
        r += t[p[0] as usize];
        g += t[p[1] as usize];
        b += t[p[2] as usize];
        r += t[p[3] as usize];
        g += t[p[4] as usize];
        b += t[p[5] as usize];
    }
    if let [pr, pg, pb] = *pairs.remainder() {
        r += t[pr as usize];
        g += t[pg as usize];
        b += t[pb as usize];
    }
    (r, g, b)
}

/// How samples become linear light: per-channel tables, and a matrix for each cell mean.
struct Linear {
    tables: Box<[[f32; 256]; 3]>,
    matrix: Option<[[f32; 3]; 3]>,
    /// Samples are plain sRGB: one-pixel cells can keep their bytes as they are.
    srgb: bool,
    /// A CMS transform every RGB(A) row goes through first (LUT-based profiles), with its
    /// scratch row.
    #[cfg(feature = "cms-lut")]
    per_pixel: Option<(super::color_profile::PerPixel, Vec<u8>)>,
}

impl Linear {
    fn new(conversion: Conversion) -> Self {
        let srgb_tables = || {
            let t = *srgb_to_linear_table();
            Box::new([t, t, t])
        };
        match conversion {
            Conversion::Shaper { tables, matrix } => Linear {
                tables,
                matrix: Some(matrix),
                srgb: false,
                #[cfg(feature = "cms-lut")]
                per_pixel: None,
            },
            Conversion::Srgb => Linear {
                tables: srgb_tables(),
                matrix: None,
                srgb: true,
                #[cfg(feature = "cms-lut")]
                per_pixel: None,
            },
            #[cfg(feature = "cms-lut")]
            Conversion::PerPixel(per_pixel) => Linear {
                tables: srgb_tables(),
                matrix: None,
                srgb: true,
                per_pixel: Some((per_pixel, Vec::new())),
            },
        }
    }
}

/// Receives rows top to bottom (as stored) and sums them into cells.
pub(crate) struct Accumulator {
    /// The layout over the stored image.
    stored: Layout,
    /// The layout callers asked for, over the displayed image.
    display: Layout,
    orientation: Orientation,
    linear: Linear,
    /// Sums for the current row of cells: premultiplied r, g, b and alpha.
    band: Vec<[f64; 4]>,
    next_row_edge: usize,
    y: u32,
    store: CellStore,
    /// Every cell is exactly one pixel and the samples are sRGB: rows are copied, not summed.
    copy_rows: bool,
    /// `detail` strength (0..=1) and, per column of the current band, what it needs; `None`
    /// when off (then the plain loops run).
    detail: Option<(f32, Vec<Extremes>)>,
}

impl Accumulator {
    /// Sums for `display` (laid out over the displayed image) while rows arrive as stored
    /// (`orientation` says how they are turned), converting samples as `conversion` says.
    /// `has_alpha` tells whether rows will carry alpha (it picks the store's form).
    /// `detail` (0..=1) is how strongly small strong features claim their cell (see `detail`).
    pub fn with_detail(
        display: Layout,
        orientation: Orientation,
        conversion: Conversion,
        has_alpha: bool,
        detail: f32,
    ) -> Result<Self, Error> {
        let stored = orientation.stored_layout(&display);
        let pixels = u64::from(*display.xs.last().unwrap_or(&0))
            * u64::from(*display.ys.last().unwrap_or(&0));
        let store = CellStore::for_grid(display.cells(), pixels, has_alpha)?;
        let linear = Linear::new(conversion);
        let one_pixel_cells = display.cells() as u64 == pixels;
        let detail = (detail > 0.0 && !one_pixel_cells).then(|| {
            (
                detail.min(1.0),
                vec![Extremes::default(); stored.cols() as usize],
            )
        });
        Ok(Accumulator {
            detail,
            band: vec![[0.0; 4]; stored.cols() as usize],
            next_row_edge: 1,
            y: 0,
            copy_rows: one_pixel_cells && linear.srgb && matches!(store, CellStore::U8 { .. }),
            store,
            linear,
            stored,
            display,
            orientation,
        })
    }

    /// A plain upright sRGB grid (tests, and decoders with nothing to convert).
    #[cfg(test)]
    pub fn upright(display: Layout, has_alpha: bool) -> Self {
        Self::with_detail(
            display,
            Orientation::default(),
            Conversion::Srgb,
            has_alpha,
            0.0,
        )
        .expect("test grids fit in memory")
    }

    /// Adds the next stored row (`width × channels` bytes).
    pub fn push_row(&mut self, row: &[u8], channels: Channels) {
        #[cfg(feature = "cms-lut")]
        if let Some((per_pixel, mut scratch)) = self.linear.per_pixel.take() {
            self.push_converted_row(&per_pixel, &mut scratch, row, channels);
            self.linear.per_pixel = Some((per_pixel, scratch));
            return;
        }
        self.push_row_plain(row, channels);
    }

    fn sum_row(&mut self, row: &[u8], channels: Channels) {
        if self.detail.is_some() {
            self.sum_row_detailed(row, channels);
            return;
        }
        let [tr, tg, tb] = &*self.linear.tables;
        let srgb = self.linear.srgb;
        let n = channels.count();
        for (c, sum) in self.band.iter_mut().enumerate() {
            let (x0, x1) = (self.stored.xs[c] as usize, self.stored.xs[c + 1] as usize);
            let px = &row[x0 * n..x1 * n];
            // Sum one row of a cell in f32 (short runs), then carry into f64 (long columns).
            let (mut r, mut g, mut b, mut a) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            match channels {
                Channels::Rgb if srgb => {
                    (r, g, b) = sum_srgb_pixels(px);
                    a = (x1 - x0) as f32;
                }
                Channels::Rgb => {
                    for p in px.chunks_exact(3) {
                        r += tr[p[0] as usize];
                        g += tg[p[1] as usize];
                        b += tb[p[2] as usize];
                    }
                    a = (x1 - x0) as f32;
                }
                Channels::Rgba => {
                    for p in px.chunks_exact(4) {
                        let al = f32::from(p[3]) * (1.0 / 255.0);
                        r += tr[p[0] as usize] * al;
                        g += tg[p[1] as usize] * al;
                        b += tb[p[2] as usize] * al;
                        a += al;
                    }
                }
                Channels::Gray => {
                    for &v in px {
                        r += tr[v as usize];
                    }
                    g = r;
                    b = r;
                    a = (x1 - x0) as f32;
                }
                Channels::GrayAlpha => {
                    for p in px.chunks_exact(2) {
                        let al = f32::from(p[1]) * (1.0 / 255.0);
                        r += tr[p[0] as usize] * al;
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
        if self.next_row_edge < self.stored.ys.len() && self.y == self.stored.ys[self.next_row_edge]
        {
            self.close_band();
        }
    }

    /// A row through the CMS first: RGB to sRGB, alpha carried over (grey rows have no LUT
    /// profile path and are summed as they are).
    #[cfg(feature = "cms-lut")]
    fn push_converted_row(
        &mut self,
        per_pixel: &super::color_profile::PerPixel,
        scratch: &mut Vec<u8>,
        row: &[u8],
        channels: Channels,
    ) {
        match channels {
            Channels::Rgb => {
                scratch.resize(row.len(), 0);
                per_pixel.convert(row, scratch);
                self.push_row_plain(scratch, Channels::Rgb);
            }
            Channels::Rgba => {
                let rgb: Vec<u8> = row
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect();
                scratch.resize(rgb.len(), 0);
                per_pixel.convert(&rgb, scratch);
                let rgba: Vec<u8> = scratch
                    .chunks_exact(3)
                    .zip(row.chunks_exact(4))
                    .flat_map(|(c, p)| [c[0], c[1], c[2], p[3]])
                    .collect();
                self.push_row_plain(&rgba, Channels::Rgba);
            }
            _ => self.push_row_plain(row, channels),
        }
    }

    /// Sums a row of sRGB or shaper samples (no per-pixel CMS step).
    fn push_row_plain(&mut self, row: &[u8], channels: Channels) {
        if self.copy_rows {
            self.copy_row(row, channels);
            return;
        }
        self.sum_row(row, channels);
    }

    /// [`Accumulator::sum_row`] that also notes each cell's extremes for `detail` (a separate
    /// loop, so the plain one stays as fast as it was).
    fn sum_row_detailed(&mut self, row: &[u8], channels: Channels) {
        let [tr, tg, tb] = &*self.linear.tables;
        let n = channels.count();
        let Some((_, extremes)) = self.detail.as_mut() else {
            return;
        };
        for (c, (sum, ext)) in self.band.iter_mut().zip(extremes.iter_mut()).enumerate() {
            let (x0, x1) = (self.stored.xs[c] as usize, self.stored.xs[c + 1] as usize);
            for p in row[x0 * n..x1 * n].chunks_exact(n) {
                let (rgb, chroma, alpha) = match channels {
                    Channels::Gray => ([tr[p[0] as usize]; 3], 0, 255),
                    Channels::GrayAlpha => ([tr[p[0] as usize]; 3], 0, p[1]),
                    Channels::Rgb | Channels::Rgba => (
                        [tr[p[0] as usize], tg[p[1] as usize], tb[p[2] as usize]],
                        p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]),
                        if n == 4 { p[3] } else { 255 },
                    ),
                };
                let al = f32::from(alpha) * (1.0 / 255.0);
                sum[0] += f64::from(rgb[0] * al);
                sum[1] += f64::from(rgb[1] * al);
                sum[2] += f64::from(rgb[2] * al);
                sum[3] += f64::from(al);
                if alpha >= 128 {
                    ext.observe(rgb, f32::from(chroma));
                }
            }
        }
        self.y += 1;
        if self.next_row_edge < self.stored.ys.len() && self.y == self.stored.ys[self.next_row_edge]
        {
            self.close_band();
        }
    }

    /// Takes a whole decoded bitmap (rows top to bottom, `channels` per pixel, no padding) as the
    /// store itself when every cell is one upright sRGB pixel of the same form, so the image is
    /// never held twice (a 50 MP JPEG at block 1: 150 MB less at the peak). Gives `data` back,
    /// untouched, when it cannot be adopted; the caller then pushes its rows.
    pub fn adopt(&mut self, data: Vec<u8>, channels: Channels) -> Result<(), Vec<u8>> {
        let CellStore::U8 {
            data: store,
            channels: k,
        } = &mut self.store
        else {
            return Err(data);
        };
        let same_form = matches!((channels, *k), (Channels::Rgb, 3) | (Channels::Rgba, 4));
        // Rows a LUT profile still has to convert are not sRGB yet (they were kept raw).
        #[cfg(feature = "cms-lut")]
        if self.linear.per_pixel.is_some() {
            return Err(data);
        }
        if !(self.copy_rows
            && same_form
            && self.y == 0
            && self.orientation == Orientation::default()
            && data.len() == store.len())
        {
            return Err(data);
        }
        *store = data;
        self.y = *self.stored.ys.last().unwrap_or(&0);
        self.next_row_edge = self.stored.ys.len();
        Ok(())
    }

    /// One-pixel cells of sRGB samples: the cell is the pixel, stored as it is.
    fn copy_row(&mut self, row: &[u8], channels: Channels) {
        let (cols, rows) = (self.stored.cols() as usize, self.stored.rows() as usize);
        let stored_row = self.next_row_edge - 1;
        let CellStore::U8 { data, channels: k } = &mut self.store else {
            unreachable!("copy_rows is only set for a U8 store");
        };
        let k = *k;
        let n = channels.count();
        for (col, p) in row.chunks_exact(n).take(cols).enumerate() {
            let at = self.orientation.display_index(col, stored_row, cols, rows) * k;
            let rgba = match channels {
                Channels::Rgb => [p[0], p[1], p[2], 255],
                Channels::Rgba => [p[0], p[1], p[2], p[3]],
                Channels::Gray => [p[0], p[0], p[0], 255],
                Channels::GrayAlpha => [p[0], p[0], p[0], p[1]],
            };
            data[at..at + k].copy_from_slice(&rgba[..k]);
        }
        self.y += 1;
        self.next_row_edge += 1;
    }

    fn close_band(&mut self) {
        let row = self.next_row_edge - 1;
        let y0 = self.stored.ys[row];
        let y1 = self.stored.ys[row + 1];
        let (cols, rows) = (self.stored.cols() as usize, self.stored.rows() as usize);
        for (c, sum) in self.band.iter_mut().enumerate() {
            let area = f64::from(self.stored.xs[c + 1] - self.stored.xs[c]) * f64::from(y1 - y0);
            let alpha = sum[3];
            let mut rgb = if alpha > 0.0 {
                [
                    (sum[0] / alpha) as f32,
                    (sum[1] / alpha) as f32,
                    (sum[2] / alpha) as f32,
                ]
            } else {
                [0.0; 3]
            };
            if let Some((strength, extremes)) = self.detail.as_mut() {
                rgb = extremes[c].apply(rgb, *strength);
                extremes[c] = Extremes::default();
            }
            if let Some(m) = &self.linear.matrix {
                // Profile linear RGB → linear sRGB; what falls outside sRGB is clipped, as a
                // display clips it.
                rgb = [0, 1, 2].map(|k| {
                    (m[k][0] * rgb[0] + m[k][1] * rgb[1] + m[k][2] * rgb[2]).clamp(0.0, 1.0)
                });
            }
            let at = self.orientation.display_index(c, row, cols, rows);
            self.store.set(at, rgb, (alpha / area) as f32);
            *sum = [0.0; 4];
        }
        self.next_row_edge += 1;
    }

    /// The finished grid; rows the decoder never delivered count as transparent.
    pub fn finish(mut self, decode_scale: u32, source: (u32, u32)) -> Cells {
        while self.next_row_edge < self.stored.ys.len() {
            self.close_band();
        }
        Cells {
            layout: self.display,
            store: self.store,
            decode_scale,
            source_width: source.0,
            source_height: source.1,
            profile: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summing_two_srgb_pixels_a_step_gives_the_bits_of_one_at_a_time() {
        let bytes: Vec<u8> = (0..3 * 41u32).map(|i| (i * 97 % 256) as u8).collect();
        let t = srgb_to_linear_table();
        for pixels in 0..=41 {
            let px = &bytes[..3 * pixels];
            let (mut r, mut g, mut b) = (0.0f32, 0.0f32, 0.0f32);
            for p in px.chunks_exact(3) {
                r += t[p[0] as usize];
                g += t[p[1] as usize];
                b += t[p[2] as usize];
            }
            let (r2, g2, b2) = sum_srgb_pixels(px);
            assert_eq!(
                [r2.to_bits(), g2.to_bits(), b2.to_bits()],
                [r.to_bits(), g.to_bits(), b.to_bits()],
                "{pixels} pixels"
            );
        }
    }

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
        let mut acc = Accumulator::upright(Layout::new(Grid::Block(2), 2, 1), true);
        acc.push_row(&[255, 255, 255, 255, 0, 0, 0, 0], Channels::Rgba);
        let cell = acc.finish(1, (2, 1)).get(0);
        assert!((cell.rgb[0] - 1.0).abs() < 1e-4, "{cell:?}");
        assert!((cell.alpha - 0.5).abs() < 1e-4, "{cell:?}");
    }

    #[test]
    fn mean_is_taken_in_linear_light() {
        // Black and white average to linear 0.5 (sRGB ≈ 188), not sRGB 128.
        let mut acc = Accumulator::upright(Layout::new(Grid::Block(2), 2, 1), false);
        acc.push_row(&[0, 255], Channels::Gray);
        let cell = acc.finish(1, (2, 1)).get(0);
        assert!((cell.rgb[0] - 0.5).abs() < 1e-4, "{cell:?}");
    }

    #[test]
    fn each_store_form_keeps_means_to_its_precision() {
        // 64×64 of a ramp: block 8 (F32), block 2 (U16), block 1 (U8 copies the pixels).
        let row: Vec<u8> = (0..64u32).flat_map(|x| [x as u8 * 4, 100, 200]).collect();
        for (block, tolerance) in [(8, 1e-6f32), (2, 1.0 / 65535.0), (1, 0.0)] {
            let mut acc = Accumulator::upright(Layout::new(Grid::Block(block), 64, 64), false);
            for _ in 0..64 {
                acc.push_row(&row, Channels::Rgb);
            }
            let cells = acc.finish(1, (64, 64));
            let lin = srgb_to_linear_table();
            for (i, col) in (0..64 / block as usize).enumerate() {
                let want: f32 = (0..block as usize)
                    .map(|k| lin[(col * block as usize + k) * 4])
                    .sum::<f32>()
                    / block as f32;
                let got = cells.get(i).rgb[0];
                assert!(
                    (got - want).abs() <= tolerance + 1e-6,
                    "block {block}: {got} vs {want}"
                );
            }
            if block == 1 {
                assert_eq!(cells.store.srgb8(5), Some([20, 100, 200]));
            }
        }
    }

    #[test]
    fn an_adopted_bitmap_is_the_grid_its_rows_would_make() {
        let (w, h) = (5u32, 3u32);
        for (channels, k, alpha) in [(Channels::Rgb, 3, false), (Channels::Rgba, 4, true)] {
            let data: Vec<u8> = (0..w * h * k).map(|i| (i * 37 % 251) as u8).collect();
            let layout = || Layout::new(Grid::Block(1), w, h);
            let mut pushed = Accumulator::upright(layout(), alpha);
            for row in data.chunks_exact((w * k) as usize) {
                pushed.push_row(row, channels);
            }
            let mut adopted = Accumulator::upright(layout(), alpha);
            assert!(adopted.adopt(data.clone(), channels).is_ok());
            let (a, b) = (adopted.finish(1, (w, h)), pushed.finish(1, (w, h)));
            for i in 0..(w * h) as usize {
                assert_eq!(a.get(i), b.get(i), "cell {i}");
            }
        }
        // Cells of more than a pixel, or another form, are summed row by row instead.
        let mut acc = Accumulator::upright(Layout::new(Grid::Block(2), 4, 4), false);
        assert!(acc.adopt(vec![0; 48], Channels::Rgb).is_err());
        let mut acc = Accumulator::upright(Layout::new(Grid::Block(1), 4, 4), false);
        assert!(acc.adopt(vec![0; 16], Channels::Gray).is_err());
    }
}
