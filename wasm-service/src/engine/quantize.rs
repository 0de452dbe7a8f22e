//! Reduces the cells' colours: binary alpha, then a palette (built in Oklab by variance splits and
//! k-means, fixed, or posterised), then each cell's entry (with the chosen dithering).
//!
//! Everything here works on the grid, never the full image: a few thousand cells, not millions of
//! pixels.

use std::collections::BTreeMap;

use super::colorspace::{
    Lab, dist2, linear_to_oklab, linear_to_srgb, oklab_to_srgb8, srgb8_to_oklab,
};
use super::dither::{self, Space};
use super::error::Error;
use super::grid::{Cell, Cells};
use super::options::{Colors, Options};

/// Marks a transparent cell in [`Quantized::indices`].
pub(crate) const TRANSPARENT: u32 = u32::MAX;

/// Each cell's palette entry, and the palette (only colours some cell uses, darkest first).
#[derive(Debug, Clone)]
pub(crate) struct Quantized {
    pub palette: Vec<[u8; 3]>,
    pub indices: Vec<u32>,
    pub has_transparency: bool,
}

pub(crate) fn reduce(cells: &Cells, options: &Options) -> Result<Quantized, Error> {
    let opaque: Vec<bool> = cells
        .cells
        .iter()
        .map(|c| c.alpha > 0.0 && c.alpha * 255.0 + 0.5 >= f32::from(options.alpha_threshold))
        .collect();
    let cols = cells.layout.cols() as usize;
    let metric = Metric {
        chroma: if options.vivid {
            VIVID_CHROMA_WEIGHT
        } else {
            1.0
        },
    };

    // Each opaque cell gets a code; `colors[code]` is its sRGB colour.
    let (codes, colors): (Vec<Option<u32>>, Vec<[u8; 3]>) = match &options.colors {
        Colors::Full => full_color_codes(&cells.cells, &opaque),
        Colors::Levels(levels) => {
            // Posterise in sRGB per channel, as the original service did.
            let work: Vec<[f32; 3]> = cells
                .cells
                .iter()
                .map(|c| c.rgb.map(linear_to_srgb))
                .collect();
            let space = Space::Levels { levels: *levels };
            let codes = dither::apply(&work, &opaque, cols, &space, options.dither);
            (codes, space.level_colors())
        }
        Colors::Palette(p) => {
            let labs = oklab_cells(&cells.cells, metric);
            let codes = map_to_palette(&labs, &opaque, cols, &p.colors, metric, options);
            (codes, p.colors.clone())
        }
        Colors::Count(n) => {
            let labs = oklab_cells(&cells.cells, metric);
            let palette = build_palette(&labs, &cells.cells, &opaque, usize::from(*n), metric);
            let codes = map_to_palette(&labs, &opaque, cols, &palette, metric, options);
            (codes, palette)
        }
    };
    Ok(index(&codes, &colors))
}

/// How much chroma (a, b) counts against lightness in `--vivid` mode. Error-minimising palettes
/// spend their entries on large areas of lightness detail and drop small saturated ones (a flag, a
/// badge); stretching a and b makes a small blue patch as costly to lose as a large grey ramp.
const VIVID_CHROMA_WEIGHT: f32 = 2.0;

/// The space palettes are built and matched in: Oklab with a and b scaled by `chroma`.
#[derive(Debug, Clone, Copy)]
struct Metric {
    chroma: f32,
}

impl Metric {
    fn stretch(self, lab: Lab) -> Lab {
        [lab[0], lab[1] * self.chroma, lab[2] * self.chroma]
    }

    fn unstretch(self, p: Lab) -> Lab {
        [p[0], p[1] / self.chroma, p[2] / self.chroma]
    }
}

fn oklab_cells(cells: &[Cell], metric: Metric) -> Vec<Lab> {
    cells
        .iter()
        .map(|c| metric.stretch(linear_to_oklab(c.rgb)))
        .collect()
}

/// Every cell keeps its own colour: codes number the distinct colours in first-seen order.
fn full_color_codes(cells: &[Cell], opaque: &[bool]) -> (Vec<Option<u32>>, Vec<[u8; 3]>) {
    let mut seen: BTreeMap<[u8; 3], u32> = BTreeMap::new();
    let mut colors = Vec::new();
    let codes = cells
        .iter()
        .zip(opaque)
        .map(|(c, &o)| {
            o.then(|| {
                let rgb = c.rgb.map(|v| (linear_to_srgb(v) + 0.5) as u8);
                *seen.entry(rgb).or_insert_with(|| {
                    colors.push(rgb);
                    colors.len() as u32 - 1
                })
            })
        })
        .collect();
    (codes, colors)
}

/// Each opaque cell's entry in `palette` (dithered as asked).
fn map_to_palette(
    labs: &[Lab],
    opaque: &[bool],
    cols: usize,
    palette: &[[u8; 3]],
    metric: Metric,
    options: &Options,
) -> Vec<Option<u32>> {
    let entries: Vec<Lab> = palette
        .iter()
        .map(|&c| metric.stretch(srgb8_to_oklab(c)))
        .collect();
    dither::apply(
        labs,
        opaque,
        cols,
        &Space::Palette { entries: &entries },
        options.dither,
    )
}

/// The index of the entry nearest to `c` (the first on a tie).
pub(crate) fn nearest(entries: &[Lab], c: Lab) -> usize {
    let mut best = (f32::INFINITY, 0);
    for (i, &e) in entries.iter().enumerate() {
        let d = dist2(e, c);
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

/// A palette of at most `n` colours for the opaque cells: Wu-style variance splits, refined by
/// k-means, all in Oklab and weighted by cell area. Deterministic: stable sorts, first-wins ties.
fn build_palette(
    labs: &[Lab],
    cells: &[Cell],
    opaque: &[bool],
    n: usize,
    metric: Metric,
) -> Vec<[u8; 3]> {
    let points = binned(
        labs.iter()
            .zip(cells)
            .zip(opaque)
            .filter(|&(_, &o)| o)
            .map(|((&lab, c), _)| (lab, c.area)),
    );
    if points.is_empty() {
        return Vec::new();
    }
    let mut centroids = variance_split(points.clone(), n);
    kmeans(&points, &mut centroids, if n > 32 { 8 } else { 16 });
    let mut palette: Vec<[u8; 3]> = Vec::with_capacity(centroids.len());
    for c in centroids {
        let rgb = oklab_to_srgb8(metric.unstretch(c));
        if !palette.contains(&rgb) {
            palette.push(rgb);
        }
    }
    palette
}

/// Bins per Oklab axis when merging near-identical cells: 64 steps of L (≈ 0.016) and of a, b over
/// ±0.35 (≈ 0.011), under a just-noticeable difference, so the palette loses nothing visible.
const BINS: usize = 64;

/// Merges points that fall in the same small Oklab bin into one point at their weighted mean.
/// A photo's tens of thousands of cells become a few thousand points, which is what makes the
/// palette cheap; bins keep first-seen order, so the result is deterministic.
fn binned(points: impl Iterator<Item = (Lab, f32)>) -> Vec<(Lab, f32)> {
    let mut slot = vec![u32::MAX; BINS * BINS * BINS];
    let mut bins: Vec<Moments> = Vec::new();
    let axis =
        |v: f32, lo: f32, span: f32| (((v - lo) / span * BINS as f32) as usize).min(BINS - 1);
    for p in points {
        let key = (axis(p.0[0], 0.0, 1.0) * BINS + axis(p.0[1], -0.35, 0.7)) * BINS
            + axis(p.0[2], -0.35, 0.7);
        if slot[key] == u32::MAX {
            slot[key] = bins.len() as u32;
            bins.push(Moments::default());
        }
        bins[slot[key] as usize].add(p);
    }
    bins.iter().map(|m| (m.mean(), m.w as f32)).collect()
}

#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    w: f64,
    s: [f64; 3],
    ss: f64,
}

impl Moments {
    fn add(&mut self, (p, w): (Lab, f32)) {
        let w = f64::from(w);
        self.w += w;
        for (k, &v) in p.iter().enumerate() {
            self.s[k] += w * f64::from(v);
            self.ss += w * f64::from(v) * f64::from(v);
        }
    }

    fn sse(&self) -> f64 {
        if self.w <= 0.0 {
            return 0.0;
        }
        let norm = self.s.iter().map(|s| s * s).sum::<f64>() / self.w;
        (self.ss - norm).max(0.0)
    }

    fn mean(&self) -> Lab {
        self.s.map(|s| (s / self.w.max(f64::MIN_POSITIVE)) as f32)
    }
}

fn moments(points: &[(Lab, f32)]) -> Moments {
    let mut m = Moments::default();
    points.iter().for_each(|&p| m.add(p));
    m
}

/// Repeatedly splits the box with the largest squared error at the cut (along its widest axis)
/// that leaves the least total error: Wu's criterion, evaluated exactly on the points.
fn variance_split(mut points: Vec<(Lab, f32)>, n: usize) -> Vec<Lab> {
    // Boxes are ranges of `points`, with their error; a box that cannot split has error 0.
    let mut boxes: Vec<(usize, usize, f64)> = vec![(0, points.len(), moments(&points).sse())];
    while boxes.len() < n {
        let Some((pick, _)) = boxes.iter().enumerate().filter(|(_, b)| b.2 > 0.0).fold(
            None::<(usize, f64)>,
            |best, (i, b)| match best {
                Some((_, e)) if e >= b.2 => best,
                _ => Some((i, b.2)),
            },
        ) else {
            break;
        };
        let (start, end, _) = boxes[pick];
        match best_cut(&mut points[start..end]) {
            Some(cut) => {
                let mid = start + cut;
                boxes[pick] = (start, mid, moments(&points[start..mid]).sse());
                boxes.push((mid, end, moments(&points[mid..end]).sse()));
            }
            None => boxes[pick].2 = 0.0,
        }
    }
    boxes
        .iter()
        .map(|&(s, e, _)| moments(&points[s..e]).mean())
        .collect()
}

/// Sorts `points` along the axis of largest variance and returns the cut with the least summed
/// error, or `None` if every point is the same along every axis.
fn best_cut(points: &mut [(Lab, f32)]) -> Option<usize> {
    let m = moments(points);
    let mean = m.mean();
    let mut spread = [0.0f64; 3];
    for &(p, w) in points.iter() {
        for k in 0..3 {
            let d = f64::from(p[k] - mean[k]);
            spread[k] += f64::from(w) * d * d;
        }
    }
    let mut axes = [0usize, 1, 2];
    axes.sort_by(|&a, &b| spread[b].total_cmp(&spread[a]));
    for axis in axes {
        if spread[axis] <= 0.0 {
            continue;
        }
        points.sort_by(|a, b| a.0[axis].total_cmp(&b.0[axis]));
        let mut left = Moments::default();
        let mut best: Option<(f64, usize)> = None;
        for i in 1..points.len() {
            left.add(points[i - 1]);
            if points[i - 1].0[axis] == points[i].0[axis] {
                continue;
            }
            let right = Moments {
                w: m.w - left.w,
                s: [m.s[0] - left.s[0], m.s[1] - left.s[1], m.s[2] - left.s[2]],
                ss: m.ss - left.ss,
            };
            let err = left.sse() + right.sse();
            if best.is_none_or(|(e, _)| err < e) {
                best = Some((err, i));
            }
        }
        if let Some((_, cut)) = best {
            return Some(cut);
        }
    }
    None
}

/// Lloyd's k-means: move each centroid to the weighted mean of its points, until nothing moves.
fn kmeans(points: &[(Lab, f32)], centroids: &mut [Lab], max_rounds: usize) {
    let mut assignment = vec![usize::MAX; points.len()];
    for _ in 0..max_rounds {
        let mut changed = false;
        for (a, &(p, _)) in assignment.iter_mut().zip(points) {
            let i = nearest(centroids, p);
            if *a != i {
                *a = i;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![Moments::default(); centroids.len()];
        for (&a, &p) in assignment.iter().zip(points) {
            sums[a].add(p);
        }
        for (c, m) in centroids.iter_mut().zip(&sums) {
            // An emptied cluster keeps its place; it is dropped later if no cell uses it.
            if m.w > 0.0 {
                *c = m.mean();
            }
        }
    }
}

/// Keeps only the colours some cell uses, sorted darkest first (ties by value, so equal colours
/// from different codes merge), and renumbers the cells to match.
fn index(codes: &[Option<u32>], colors: &[[u8; 3]]) -> Quantized {
    let mut used = vec![false; colors.len()];
    codes
        .iter()
        .flatten()
        .for_each(|&c| used[c as usize] = true);
    let mut palette: Vec<([u8; 3], f32)> = colors
        .iter()
        .zip(&used)
        .filter(|&(_, &u)| u)
        .map(|(&c, _)| (c, srgb8_to_oklab(c)[0]))
        .collect();
    palette.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    palette.dedup_by(|a, b| a.0 == b.0);
    let mut remap = vec![TRANSPARENT; colors.len()];
    for (code, color) in colors.iter().enumerate() {
        if used[code] {
            let at = palette.binary_search_by(|p| {
                p.1.total_cmp(&srgb8_to_oklab(*color)[0])
                    .then(p.0.cmp(color))
            });
            remap[code] = at.map_or(TRANSPARENT, |i| i as u32);
        }
    }
    Quantized {
        palette: palette.into_iter().map(|(c, _)| c).collect(),
        indices: codes
            .iter()
            .map(|c| c.map_or(TRANSPARENT, |c| remap[c as usize]))
            .collect(),
        has_transparency: codes.iter().any(Option::is_none),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_points(colors: &[[u8; 3]]) -> Vec<(Lab, f32)> {
        colors.iter().map(|&c| (srgb8_to_oklab(c), 1.0)).collect()
    }

    #[test]
    fn variance_split_finds_well_separated_clusters() {
        let mut colors = Vec::new();
        for i in 0..10u8 {
            colors.push([250 - i, 0, 0]);
            colors.push([0, 0, 240 + i]);
            colors.push([i, 200 + i, i]);
        }
        let mut centroids = variance_split(lab_points(&colors), 3);
        kmeans(&lab_points(&colors), &mut centroids, 16);
        let mut rgb: Vec<[u8; 3]> = centroids.iter().map(|&c| oklab_to_srgb8(c)).collect();
        rgb.sort();
        assert_eq!(rgb.len(), 3);
        assert!(
            rgb[0][2] > 200 && rgb[1][1] > 180 && rgb[2][0] > 230,
            "{rgb:?}"
        );
    }

    #[test]
    fn fewer_distinct_colours_than_asked_gives_exactly_those() {
        let colors = [[10, 20, 30], [200, 100, 50], [10, 20, 30]];
        let centroids = variance_split(lab_points(&colors), 16);
        assert_eq!(centroids.len(), 2);
    }

    #[test]
    fn index_keeps_only_used_colours_darkest_first() {
        let colors = [[9, 9, 9], [255, 255, 255], [0, 0, 0]];
        let q = index(&[Some(1), None, Some(2), Some(1)], &colors);
        assert_eq!(q.palette, vec![[0, 0, 0], [255, 255, 255]]);
        assert_eq!(q.indices, vec![1, TRANSPARENT, 0, 1]);
        assert!(q.has_transparency);
    }
}
