//! Reduces the cells' colours: binary alpha, then a palette (built in Oklab by variance splits and
//! k-means, fixed, or posterised), then each cell's entry (with the chosen dithering).
//!
//! Everything here works on the grid, never the full image: a few thousand cells, not millions of
//! pixels.

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

    let chosen: Vec<Option<[u8; 3]>> = match &options.colors {
        Colors::Full => cells
            .cells
            .iter()
            .zip(&opaque)
            .map(|(c, &o)| o.then(|| c.rgb.map(|v| (linear_to_srgb(v) + 0.5) as u8)))
            .collect(),
        Colors::Levels(levels) => {
            // Posterise in sRGB per channel, as the original service did.
            let step = 255.0 / f32::from(levels - 1);
            let work: Vec<[f32; 3]> = cells
                .cells
                .iter()
                .map(|c| c.rgb.map(linear_to_srgb))
                .collect();
            let space = Space::Levels { step };
            dither::apply(&work, &opaque, cols, &space, options.dither)
                .into_iter()
                .map(|c| c.map(|c| c.map(|v| (v + 0.5) as u8)))
                .collect()
        }
        Colors::Palette(p) => map_to_palette(cells, &opaque, cols, &p.colors, options),
        Colors::Count(n) => {
            let palette = build_palette(&cells.cells, &opaque, usize::from(*n));
            map_to_palette(cells, &opaque, cols, &palette, options)
        }
    };
    Ok(index(chosen))
}

fn oklab_cells(cells: &[Cell]) -> Vec<Lab> {
    cells.iter().map(|c| linear_to_oklab(c.rgb)).collect()
}

fn map_to_palette(
    cells: &Cells,
    opaque: &[bool],
    cols: usize,
    palette: &[[u8; 3]],
    options: &Options,
) -> Vec<Option<[u8; 3]>> {
    let entries: Vec<Lab> = palette.iter().map(|&c| srgb8_to_oklab(c)).collect();
    let work = oklab_cells(&cells.cells);
    let space = Space::Palette { entries: &entries };
    dither::apply(&work, opaque, cols, &space, options.dither)
        .into_iter()
        .map(|chosen| {
            chosen.map(|lab| {
                let i = nearest(&entries, lab);
                palette[i]
            })
        })
        .collect()
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
fn build_palette(cells: &[Cell], opaque: &[bool], n: usize) -> Vec<[u8; 3]> {
    let points: Vec<(Lab, f32)> = cells
        .iter()
        .zip(opaque)
        .filter(|&(_, &o)| o)
        .map(|(c, _)| (linear_to_oklab(c.rgb), c.area))
        .collect();
    if points.is_empty() {
        return Vec::new();
    }
    let mut centroids = variance_split(points.clone(), n);
    kmeans(&points, &mut centroids, if n > 32 { 8 } else { 16 });
    let mut palette: Vec<[u8; 3]> = Vec::with_capacity(centroids.len());
    for c in centroids {
        let rgb = oklab_to_srgb8(c);
        if !palette.contains(&rgb) {
            palette.push(rgb);
        }
    }
    palette
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

/// Turns chosen colours into a palette of the colours actually used (darkest first) and indices.
fn index(chosen: Vec<Option<[u8; 3]>>) -> Quantized {
    let mut palette: Vec<[u8; 3]> = chosen.iter().flatten().copied().collect();
    palette.sort_by(|a, b| {
        let (la, lb) = (srgb8_to_oklab(*a)[0], srgb8_to_oklab(*b)[0]);
        la.total_cmp(&lb).then(a.cmp(b))
    });
    palette.dedup();
    let has_transparency = chosen.iter().any(Option::is_none);
    let indices = chosen
        .iter()
        .map(|c| match c {
            // The palette is sorted by (lightness, rgb), so a binary search on the same key works.
            Some(c) => palette
                .binary_search_by(|p| {
                    let (lp, lc) = (srgb8_to_oklab(*p)[0], srgb8_to_oklab(*c)[0]);
                    lp.total_cmp(&lc).then(p.cmp(c))
                })
                .map_or(TRANSPARENT, |i| i as u32),
            None => TRANSPARENT,
        })
        .collect();
    Quantized {
        palette,
        indices,
        has_transparency,
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
        let q = index(vec![
            Some([255, 255, 255]),
            None,
            Some([0, 0, 0]),
            Some([255, 255, 255]),
        ]);
        assert_eq!(q.palette, vec![[0, 0, 0], [255, 255, 255]]);
        assert_eq!(q.indices, vec![1, TRANSPARENT, 0, 1]);
        assert!(q.has_transparency);
    }
}
