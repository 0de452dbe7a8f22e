//! Dithering on the grid: ordered (Knoll's pattern dithering over a Bayer matrix, which works
//! with any palette) and error diffusion (Floyd–Steinberg serpentine, Atkinson).
//!
//! Cells are read one at a time through a closure and codes written straight into the output,
//! and error diffusion keeps only the rows its kernel reaches, so memory stays a few rows of
//! cells whatever the grid size.

use super::colorspace::{Lab, dist2};
use super::options::Dither;
use super::quantize::{Codes, nearest};

/// The colour space cells are quantised in, and how.
pub(crate) enum Space<'a> {
    /// Oklab; the nearest palette entry. Codes are entry indices.
    Palette { entries: &'a [Lab] },
    /// sRGB 0..=255 per channel; the nearest of `levels` evenly spaced values. Codes number the
    /// level triples densely: `(r·L + g)·L + b`.
    Levels { levels: u8 },
}

impl Space<'_> {
    /// How many codes this space can produce.
    pub(crate) fn code_count(&self) -> usize {
        match self {
            Space::Palette { entries } => entries.len(),
            Space::Levels { levels } => usize::from(*levels).pow(3),
        }
    }

    /// The code and the colour (in this space) nearest to `c`.
    fn quantize(&self, c: [f32; 3]) -> (u32, [f32; 3]) {
        match self {
            Space::Palette { entries } => {
                let i = nearest(entries, c);
                (i as u32, entries[i])
            }
            Space::Levels { levels } => {
                let l = u32::from(*levels);
                let step = 255.0 / (l - 1) as f32;
                let k = c.map(|v| (v.clamp(0.0, 255.0) / step + 0.5) as u32);
                ((k[0] * l + k[1]) * l + k[2], k.map(|k| k as f32 * step))
            }
        }
    }

    /// The sRGB colour of every level code (indexed by code).
    pub(crate) fn level_colors(&self) -> Vec<[u8; 3]> {
        let Space::Levels { levels } = self else {
            return Vec::new();
        };
        let l = u32::from(*levels);
        let step = 255.0 / (l - 1) as f32;
        let value = |k: u32| (k as f32 * step + 0.5) as u8;
        (0..l * l * l)
            .map(|code| [value(code / (l * l)), value(code / l % l), value(code % l)])
            .collect()
    }

    /// Keeps diffused error from running away outside the space.
    fn clamp(&self, c: [f32; 3]) -> [f32; 3] {
        match self {
            Space::Palette { .. } => [
                c[0].clamp(0.0, 1.0),
                c[1].clamp(-0.5, 0.5),
                c[2].clamp(-0.5, 0.5),
            ],
            Space::Levels { .. } => c.map(|v| v.clamp(0.0, 255.0)),
        }
    }
}

/// Writes the chosen code of every cell into `codes`. `color(i)` is cell `i`'s colour in the
/// space, `None` for a transparent cell (its code is left as it is). The grid has `cols` columns.
pub(crate) fn apply(
    cells: usize,
    cols: usize,
    color: &dyn Fn(usize) -> Option<[f32; 3]>,
    space: &Space<'_>,
    dither: Dither,
    codes: &mut Codes,
) {
    match dither {
        Dither::None => {
            for i in 0..cells {
                if let Some(c) = color(i) {
                    codes.set(i, space.quantize(c).0);
                }
            }
        }
        Dither::Bayer2 => ordered(cells, cols, color, space, 1, codes),
        Dither::Bayer4 => ordered(cells, cols, color, space, 2, codes),
        Dither::Bayer8 => ordered(cells, cols, color, space, 3, codes),
        Dither::FloydSteinberg => diffuse(cells, cols, color, space, FLOYD_STEINBERG, true, codes),
        Dither::Atkinson => diffuse(cells, cols, color, space, ATKINSON, false, codes),
    }
}

/// The Bayer index matrix of size 2^order, values 0..4^order, row-major.
fn bayer(order: u32) -> Vec<u32> {
    let n = 1usize << order;
    (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as u32, (i / n) as u32);
            let mut v = 0;
            for bit in 0..order {
                let (xb, yb) = ((x >> bit) & 1, (y >> bit) & 1);
                v |= ((xb ^ yb) << 1 | yb) << (2 * (order - 1 - bit));
            }
            v
        })
        .collect()
}

/// Ordered dithering. Levels: the classic per-channel Bayer threshold. Palettes: each cell's
/// target is matched by the best mix of two palette colours at a ratio the matrix can draw
/// (Yliluoma's first algorithm), and the cell's threshold picks which of the two it shows. Mixing
/// only two near colours keeps flat areas to clean two-tone patterns instead of confetti.
fn ordered(
    cells: usize,
    cols: usize,
    color: &dyn Fn(usize) -> Option<[f32; 3]>,
    space: &Space<'_>,
    order: u32,
    codes: &mut Codes,
) {
    let matrix = bayer(order);
    let n = 1usize << order;
    let steps = (n * n) as f32;
    let pairs = match space {
        Space::Palette { entries } => pairs(entries),
        Space::Levels { .. } => Vec::new(),
    };
    for i in 0..cells {
        let Some(target) = color(i) else {
            continue;
        };
        let (x, y) = (i % cols, i / cols);
        // Threshold in (0, 1): the cell shows the second colour when its mix ratio is above it.
        let threshold = (matrix[(y % n) * n + x % n] as f32 + 0.5) / steps;
        let code = match space {
            Space::Levels { levels } => {
                let step = 255.0 / f32::from(levels - 1);
                let nudged = target.map(|v| v + (threshold - 0.5) * step);
                space.quantize(nudged).0
            }
            Space::Palette { .. } => {
                let (a, b, ratio) = best_mix(&pairs, target, steps);
                if ratio > threshold { b } else { a }
            }
        };
        codes.set(i, code);
    }
}

/// How much a mix of two far-apart colours is penalised against its colour error: without it, a
/// grey is happily drawn as black and white instead of the two greys beside it.
const MIX_SPREAD_PENALTY: f32 = 0.1;

/// One candidate pair for [`best_mix`], with what every cell would otherwise recompute.
struct Pair {
    a: u32,
    b: u32,
    origin: Lab,
    d: Lab,
    inv_len2: f32,
    penalty: f32,
}

fn pairs(entries: &[Lab]) -> Vec<Pair> {
    let mut out = Vec::with_capacity(entries.len() * (entries.len() + 1) / 2);
    for (i, &a) in entries.iter().enumerate() {
        for (j, &b) in entries.iter().enumerate().skip(i) {
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            out.push(Pair {
                a: i as u32,
                b: j as u32,
                origin: a,
                d,
                inv_len2: if len2 > 0.0 { 1.0 / len2 } else { 0.0 },
                penalty: MIX_SPREAD_PENALTY * len2,
            });
        }
    }
    out
}

/// The pair of entries (a, b) and the ratio of b (a multiple of 1/steps) whose mix is closest to
/// `target`, with far-apart pairs penalised.
fn best_mix(pairs: &[Pair], target: Lab, steps: f32) -> (u32, u32, f32) {
    let mut best = (f32::INFINITY, 0u32, 0u32, 0.0f32);
    for p in pairs {
        let (a, d) = (p.origin, p.d);
        let t = ((target[0] - a[0]) * d[0] + (target[1] - a[1]) * d[1] + (target[2] - a[2]) * d[2])
            * p.inv_len2;
        // Round to a drawable ratio; the cast truncates a non-negative value (no libm floor).
        let ratio = (t.clamp(0.0, 1.0) * steps + 0.5) as u32 as f32 / steps;
        let mix = [
            a[0] + d[0] * ratio,
            a[1] + d[1] * ratio,
            a[2] + d[2] * ratio,
        ];
        let err = dist2(mix, target) + p.penalty * (0.5 - (ratio - 0.5).abs());
        if err < best.0 {
            best = (err, p.a, p.b, ratio);
        }
    }
    (best.1, best.2, best.3)
}

/// Neighbour offsets (dx, dy) and weights for error diffusion.
type Kernel = &'static [(isize, usize, f32)];
const FLOYD_STEINBERG: Kernel = &[
    (1, 0, 7.0 / 16.0),
    (-1, 1, 3.0 / 16.0),
    (0, 1, 5.0 / 16.0),
    (1, 1, 1.0 / 16.0),
];
const ATKINSON: Kernel = &[
    (1, 0, 0.125),
    (2, 0, 0.125),
    (-1, 1, 0.125),
    (0, 1, 0.125),
    (1, 1, 0.125),
    (0, 2, 0.125),
];

/// The rows error diffusion can reach: the current one and the next `depth`, each holding the
/// cells' colours plus the error diffused into them so far (`None`: transparent).
struct Window {
    rows: Vec<Vec<Option<[f32; 3]>>>,
    /// The grid row held in `rows[0]`.
    first: usize,
}

impl Window {
    fn new(
        depth: usize,
        cols: usize,
        total_rows: usize,
        color: &dyn Fn(usize) -> Option<[f32; 3]>,
    ) -> Self {
        let mut w = Window {
            rows: Vec::with_capacity(depth + 1),
            first: 0,
        };
        for r in 0..=depth {
            w.rows.push(Self::load(r, cols, total_rows, color));
        }
        w
    }

    fn load(
        row: usize,
        cols: usize,
        total_rows: usize,
        color: &dyn Fn(usize) -> Option<[f32; 3]>,
    ) -> Vec<Option<[f32; 3]>> {
        if row >= total_rows {
            return Vec::new();
        }
        (row * cols..(row + 1) * cols).map(color).collect()
    }

    /// Moves on to the next grid row, loading the one that comes into reach.
    fn advance(
        &mut self,
        cols: usize,
        total_rows: usize,
        color: &dyn Fn(usize) -> Option<[f32; 3]>,
    ) {
        self.rows.rotate_left(1);
        self.first += 1;
        let depth = self.rows.len() - 1;
        let last = self.rows.len() - 1;
        self.rows[last] = Self::load(self.first + depth, cols, total_rows, color);
    }
}

fn diffuse(
    cells: usize,
    cols: usize,
    color: &dyn Fn(usize) -> Option<[f32; 3]>,
    space: &Space<'_>,
    kernel: Kernel,
    serpentine: bool,
    codes: &mut Codes,
) {
    let rows = cells / cols.max(1);
    let depth = kernel.iter().map(|k| k.1).max().unwrap_or(0);
    let mut window = Window::new(depth, cols, rows, color);
    for y in 0..rows {
        let reverse = serpentine && y % 2 == 1;
        for step in 0..cols {
            let x = if reverse { cols - 1 - step } else { step };
            let Some(value) = window.rows[0][x] else {
                continue;
            };
            let old = space.clamp(value);
            let (code, new) = space.quantize(old);
            codes.set(y * cols + x, code);
            let err = [old[0] - new[0], old[1] - new[1], old[2] - new[2]];
            for &(dx, dy, w) in kernel {
                let dx = if reverse { -dx } else { dx };
                let nx = x as isize + dx;
                if nx < 0 || nx as usize >= cols || y + dy >= rows {
                    continue;
                }
                if let Some(target) = window.rows[dy][nx as usize].as_mut() {
                    for k in 0..3 {
                        target[k] += err[k] * w;
                    }
                }
            }
        }
        window.advance(cols, rows, color);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bayer_matrices_are_permutations() {
        assert_eq!(bayer(1), vec![0, 2, 3, 1]);
        for order in 1..=3 {
            let mut m = bayer(order);
            m.sort_unstable();
            assert_eq!(m, (0..1 << (2 * order)).collect::<Vec<u32>>());
        }
    }

    #[test]
    fn a_mid_grey_dithers_to_a_mix_of_black_and_white() {
        let entries = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let space = Space::Palette { entries: &entries };
        let grey = |_| Some([0.5, 0.0, 0.0]);
        for d in [Dither::Bayer4, Dither::FloydSteinberg, Dither::Atkinson] {
            let mut codes = Codes::for_count(2, 16).unwrap();
            apply(16, 4, &grey, &space, d, &mut codes);
            let white = (0..16).filter(|&i| codes.get(i) == 1).count();
            assert!((6..=10).contains(&white), "{d:?}: {white} of 16 white");
        }
        let mut flat = Codes::for_count(2, 16).unwrap();
        apply(16, 4, &grey, &space, Dither::None, &mut flat);
        assert!((0..16).all(|i| flat.get(i) == flat.get(0)));
    }
}
