//! Dithering on the grid: ordered (Knoll's pattern dithering over a Bayer matrix, which works
//! with any palette) and error diffusion (Floyd–Steinberg serpentine, Atkinson).

use super::colorspace::{Lab, dist2};
use super::options::Dither;
use super::quantize::nearest;

/// The colour space cells are quantised in, and how.
pub(crate) enum Space<'a> {
    /// Oklab; the nearest palette entry. Codes are entry indices.
    Palette { entries: &'a [Lab] },
    /// sRGB 0..=255 per channel; the nearest of `levels` evenly spaced values. Codes pack the three
    /// level numbers, 3 bits each.
    Levels { levels: u8 },
}

impl Space<'_> {
    /// The code and the colour (in this space) nearest to `c`.
    fn quantize(&self, c: [f32; 3]) -> (u32, [f32; 3]) {
        match self {
            Space::Palette { entries } => {
                let i = nearest(entries, c);
                (i as u32, entries[i])
            }
            Space::Levels { levels } => {
                let step = 255.0 / f32::from(levels - 1);
                let k = c.map(|v| (v.clamp(0.0, 255.0) / step + 0.5) as u32);
                (k[0] << 6 | k[1] << 3 | k[2], k.map(|k| k as f32 * step))
            }
        }
    }

    /// The sRGB colour of every level code (indexed by code).
    pub(crate) fn level_colors(&self) -> Vec<[u8; 3]> {
        let Space::Levels { levels } = self else {
            return Vec::new();
        };
        let step = 255.0 / f32::from(levels - 1);
        let value = |k: u32| (k as f32 * step + 0.5) as u8;
        (0..512u32)
            .map(|code| [value(code >> 6), value((code >> 3) & 7), value(code & 7)])
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

/// The chosen code for every opaque cell; `None` for the others.
pub(crate) fn apply(
    work: &[[f32; 3]],
    opaque: &[bool],
    cols: usize,
    space: &Space<'_>,
    dither: Dither,
) -> Vec<Option<u32>> {
    match dither {
        Dither::None => work
            .iter()
            .zip(opaque)
            .map(|(&c, &o)| o.then(|| space.quantize(c).0))
            .collect(),
        Dither::Bayer2 => ordered(work, opaque, cols, space, 1),
        Dither::Bayer4 => ordered(work, opaque, cols, space, 2),
        Dither::Bayer8 => ordered(work, opaque, cols, space, 3),
        Dither::FloydSteinberg => diffuse(work, opaque, cols, space, FLOYD_STEINBERG, true),
        Dither::Atkinson => diffuse(work, opaque, cols, space, ATKINSON, false),
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
    work: &[[f32; 3]],
    opaque: &[bool],
    cols: usize,
    space: &Space<'_>,
    order: u32,
) -> Vec<Option<u32>> {
    let matrix = bayer(order);
    let n = 1usize << order;
    let steps = (n * n) as f32;
    let pairs = match space {
        Space::Palette { entries } => pairs(entries),
        Space::Levels { .. } => Vec::new(),
    };
    work.iter()
        .zip(opaque)
        .enumerate()
        .map(|(i, (&target, &o))| {
            if !o {
                return None;
            }
            let (x, y) = (i % cols, i / cols);
            // Threshold in (0, 1): the cell shows the second colour when its mix ratio is above it.
            let threshold = (matrix[(y % n) * n + x % n] as f32 + 0.5) / steps;
            Some(match space {
                Space::Levels { levels } => {
                    let step = 255.0 / f32::from(levels - 1);
                    let nudged = target.map(|v| v + (threshold - 0.5) * step);
                    space.quantize(nudged).0
                }
                Space::Palette { .. } => {
                    let (a, b, ratio) = best_mix(&pairs, target, steps);
                    if ratio > threshold { b } else { a }
                }
            })
        })
        .collect()
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

fn diffuse(
    work: &[[f32; 3]],
    opaque: &[bool],
    cols: usize,
    space: &Space<'_>,
    kernel: Kernel,
    serpentine: bool,
) -> Vec<Option<u32>> {
    let rows = work.len() / cols.max(1);
    let mut buf = work.to_vec();
    let mut out = vec![None; work.len()];
    for y in 0..rows {
        let reverse = serpentine && y % 2 == 1;
        for step in 0..cols {
            let x = if reverse { cols - 1 - step } else { step };
            let i = y * cols + x;
            if !opaque[i] {
                continue;
            }
            let old = space.clamp(buf[i]);
            let (code, new) = space.quantize(old);
            out[i] = Some(code);
            let err = [old[0] - new[0], old[1] - new[1], old[2] - new[2]];
            for &(dx, dy, w) in kernel {
                let dx = if reverse { -dx } else { dx };
                let (nx, ny) = (x as isize + dx, y + dy);
                if nx < 0 || nx as usize >= cols || ny >= rows {
                    continue;
                }
                let j = ny * cols + nx as usize;
                if opaque[j] {
                    for k in 0..3 {
                        buf[j][k] += err[k] * w;
                    }
                }
            }
        }
    }
    out
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
        let work = vec![[0.5, 0.0, 0.0]; 16];
        let opaque = vec![true; 16];
        for d in [Dither::Bayer4, Dither::FloydSteinberg, Dither::Atkinson] {
            let out = apply(&work, &opaque, 4, &space, d);
            let white = out.iter().filter(|c| c.unwrap() == 1).count();
            assert!((6..=10).contains(&white), "{d:?}: {white} of 16 white");
        }
        let flat = apply(&work, &opaque, 4, &space, Dither::None);
        assert!(flat.iter().all(|c| *c == flat[0]));
    }
}
