//! Reduces the cells' colours: binary alpha, then a palette (built in Oklab by variance splits and
//! k-means, fixed, or posterised), then each cell's entry (with the chosen dithering).
//!
//! Everything here works on the grid, never the full image, and reads cells one at a time: the
//! only per-cell memory is one code (a byte for palettes up to 256 colours) and one bit of alpha.

use super::colorspace::{
    Lab, dist2, linear_to_oklab, linear_to_srgb, oklab_to_srgb8, srgb8_to_oklab,
};
use super::dither::{self, Space};
use super::error::{Error, zeroed};
use super::grid::Cells;
use super::matching::{Matcher, srgb8_to_cielab};
use super::options::{Colors, Dither, Options};
use super::sort::sort_by;

/// One palette for all the frames of an animation.
mod frames;
pub(crate) use frames::reduce_frames;

/// Each cell's palette entry (or, past 256 colours, the cells' own colours), and the palette
/// (only colours some cell uses, darkest first).
#[derive(Debug, Clone)]
pub(crate) struct Quantized {
    pub palette: Vec<[u8; 3]>,
    /// Palette indices per cell; `Truecolor` when the output keeps each cell's colour.
    pub codes: Codes,
    /// One bit per cell: whether it is opaque.
    pub opaque: BitSet,
    pub has_transparency: bool,
    /// Distinct colours in the output (the palette's length, or more for true colour).
    pub colors_used: usize,
}

/// One code per cell, in the narrowest integer that holds every code.
#[derive(Debug, Clone)]
pub(crate) enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    /// No codes: the output keeps every cell's own colour (more than 256 of them).
    Truecolor,
}

impl Codes {
    /// Zeroed codes for `cells` cells taking values below `count`.
    pub fn for_count(count: usize, cells: usize) -> Result<Self, Error> {
        Ok(if count <= 256 {
            Codes::U8(zeroed(cells)?)
        } else {
            Codes::U16(zeroed(cells)?)
        })
    }

    #[inline]
    pub fn set(&mut self, i: usize, code: u32) {
        match self {
            Codes::U8(v) => v[i] = code as u8,
            Codes::U16(v) => v[i] = code as u16,
            Codes::Truecolor => {}
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        match self {
            Codes::U8(v) => u32::from(v[i]),
            Codes::U16(v) => u32::from(v[i]),
            Codes::Truecolor => 0,
        }
    }

    /// Renumbers every code through `table`. A code the table does not cover (a transparent
    /// cell's 0 when no cell is opaque and the palette is empty) becomes 0: such cells are never
    /// read for their colour.
    fn remap(&mut self, table: &[u32]) {
        let new = |c: u32| table.get(c as usize).copied().unwrap_or(0);
        match self {
            Codes::U8(v) => v.iter_mut().for_each(|c| *c = new(u32::from(*c)) as u8),
            Codes::U16(v) => v.iter_mut().for_each(|c| *c = new(u32::from(*c)) as u16),
            Codes::Truecolor => {}
        }
    }
}

/// A fixed-size set of bits.
#[derive(Debug, Clone)]
pub(crate) struct BitSet(Vec<u64>);

impl BitSet {
    fn new(len: usize) -> Self {
        BitSet(vec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

pub(crate) fn reduce(cells: &Cells, options: &Options) -> Result<Quantized, Error> {
    let n = cells.len();
    let opaque = opaque_cells(cells, options.alpha_threshold);
    let has_transparency = (0..n).any(|i| !opaque.contains(i));
    let cols = cells.layout.cols() as usize;
    let metric = Metric::of(options);
    let cache = LabCache::new(srgb8_to_oklab);
    let lab_of = |i: usize| opaque.contains(i).then(|| metric.lab(cells, i, &cache));

    let (codes, colors) = match &options.colors {
        Colors::Full => return full_color(cells, opaque, has_transparency),
        Colors::Levels(levels) => {
            // Posterise in sRGB per channel, as the original service did.
            let space = Space::Levels { levels: *levels };
            let srgb_of = |i: usize| {
                opaque
                    .contains(i)
                    .then(|| cells.get(i).rgb.map(linear_to_srgb))
            };
            let mut codes = Codes::for_count(space.code_count(), n)?;
            if options.dither == Dither::None {
                // The same codes without three `powf` per cell (see `LevelThresholds`).
                let thresholds = LevelThresholds::new(*levels);
                for i in (0..n).filter(|&i| opaque.contains(i)) {
                    codes.set(i, thresholds.code(cells.get(i).rgb));
                }
            } else {
                dither::apply(n, cols, &srgb_of, &space, options.dither, &mut codes);
            }
            (codes, space.level_colors())
        }
        Colors::Palette(p) => {
            // Fixed palettes match in CIELAB by CIEDE2000 (see `matching` for why).
            let matcher = Matcher::new(&p.colors, metric.chroma);
            let cielab = LabCache::new(srgb8_to_cielab);
            let cielab_of = |i: usize| {
                opaque.contains(i).then(|| match cells.store.srgb8(i) {
                    Some(c) => {
                        let lab = cielab.get(c);
                        [lab[0], lab[1] * metric.chroma, lab[2] * metric.chroma]
                    }
                    None => matcher.lab(cells.get(i).rgb),
                })
            };
            let space = Space::Fixed { matcher: &matcher };
            let mut codes = Codes::for_count(space.code_count(), n)?;
            dither::apply(n, cols, &cielab_of, &space, options.dither, &mut codes);
            (codes, p.colors.clone())
        }
        Colors::Count(count) => {
            let palette = build_palette(cells, &opaque, usize::from(*count), metric);
            let codes = map_to_palette(n, cols, &lab_of, &palette, metric, options)?;
            (codes, palette)
        }
    };
    Ok(index(codes, &colors, opaque, has_transparency))
}

/// Posterising without dithering, decided in linear light: for each level boundary, the smallest
/// linear value whose sRGB level reaches it. A channel's level is then the number of boundaries at
/// or below its value, exactly the level `Space::Levels` gives its sRGB value (the sRGB curve is
/// non-decreasing; the tests compare both around every boundary), at a few comparisons instead of
/// a `powf` (several hundred interpreted instructions) per channel and cell.
struct LevelThresholds {
    levels: u8,
    bounds: Vec<f32>,
}

impl LevelThresholds {
    fn new(levels: u8) -> Self {
        let level_of = |v: f32| dither::srgb_level(levels, linear_to_srgb(v));
        let bounds = (1..u32::from(levels))
            .map(|k| {
                // Bisect the bit patterns of 0.0..=1.0 (ordered as the values are).
                let (mut below, mut at) = (0u32, 1.0f32.to_bits());
                while at - below > 1 {
                    let mid = below + (at - below) / 2;
                    if level_of(f32::from_bits(mid)) >= k {
                        at = mid;
                    } else {
                        below = mid;
                    }
                }
                f32::from_bits(at)
            })
            .collect();
        LevelThresholds { levels, bounds }
    }

    fn level(&self, v: f32) -> u32 {
        self.bounds.iter().filter(|&&b| v >= b).count() as u32
    }

    /// The code of a linear-light colour, as `Space::Levels` numbers them.
    fn code(&self, [r, g, b]: [f32; 3]) -> u32 {
        // Three calls, not an array `map` (a loop through stack memory in the module).
        dither::level_code(self.levels, [self.level(r), self.level(g), self.level(b)])
    }
}

/// One bit per cell: whether its mean alpha reaches `alpha_threshold` (0..=255).
fn opaque_cells(cells: &Cells, alpha_threshold: u8) -> BitSet {
    let threshold = f32::from(alpha_threshold);
    let mut opaque = BitSet::new(cells.len());
    for i in 0..cells.len() {
        let alpha = cells.get(i).alpha;
        if alpha > 0.0 && alpha * 255.0 + 0.5 >= threshold {
            opaque.insert(i);
        }
    }
    opaque
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
    fn of(options: &Options) -> Self {
        Metric {
            chroma: if options.vivid {
                VIVID_CHROMA_WEIGHT
            } else {
                1.0
            },
        }
    }

    fn stretch(self, lab: Lab) -> Lab {
        [lab[0], lab[1] * self.chroma, lab[2] * self.chroma]
    }

    fn unstretch(self, p: Lab) -> Lab {
        [p[0], p[1] / self.chroma, p[2] / self.chroma]
    }

    /// Cell `i` in this space. `cache` remembers recent 8-bit colours (one-pixel cells repeat
    /// colours a lot, and three cube roots per cell would dominate the job).
    fn lab(self, cells: &Cells, i: usize, cache: &LabCache) -> Lab {
        let lab = match cells.store.srgb8(i) {
            Some(c) => cache.get(c),
            None => linear_to_oklab(cells.get(i).rgb),
        };
        self.stretch(lab)
    }
}

/// A direct-mapped cache of sRGB 8-bit → Oklab (or CIELAB) conversions (4,096 slots, 64 KiB).
struct LabCache {
    slots: std::cell::RefCell<Vec<(u32, Lab)>>,
    convert: fn([u8; 3]) -> Lab,
}

impl LabCache {
    const SLOTS: usize = 4096;

    fn new(convert: fn([u8; 3]) -> Lab) -> Self {
        // The key u32::MAX is no 24-bit colour: every slot starts empty.
        LabCache {
            slots: std::cell::RefCell::new(vec![(u32::MAX, [0.0; 3]); Self::SLOTS]),
            convert,
        }
    }

    fn get(&self, c: [u8; 3]) -> Lab {
        let key = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        // Fibonacci hashing spreads neighbouring colours over the slots.
        let slot = (key.wrapping_mul(2_654_435_769) >> 20) as usize;
        let mut slots = self.slots.borrow_mut();
        if slots[slot].0 != key {
            slots[slot] = (key, (self.convert)(c));
        }
        slots[slot].1
    }
}

/// Every cell keeps its own colour. Up to 256 distinct colours this is an ordinary indexed
/// result; past that the output is true colour, read straight from the cells.
fn full_color(cells: &Cells, opaque: BitSet, has_transparency: bool) -> Result<Quantized, Error> {
    let n = cells.len();
    let srgb = |i: usize| {
        cells
            .store
            .srgb8(i)
            .unwrap_or_else(|| cells.get(i).rgb.map(|v| (linear_to_srgb(v) + 0.5) as u8))
    };
    // Distinct colours, exactly: one bit per 24-bit colour (2 MiB).
    let mut seen = vec![0u64; (1 << 24) / 64];
    let mut distinct = 0usize;
    let mut first: Vec<[u8; 3]> = Vec::new();
    for i in (0..n).filter(|&i| opaque.contains(i)) {
        let c = srgb(i);
        let key = (usize::from(c[0]) << 16) | (usize::from(c[1]) << 8) | usize::from(c[2]);
        if seen[key / 64] >> (key % 64) & 1 == 0 {
            seen[key / 64] |= 1 << (key % 64);
            distinct += 1;
            if first.len() <= 256 {
                first.push(c);
            }
        }
    }
    if distinct > 256 {
        return Ok(Quantized {
            palette: Vec::new(),
            codes: Codes::Truecolor,
            opaque,
            has_transparency,
            colors_used: distinct,
        });
    }
    // At most 256 colours: a sorted table and a binary search (a hash map would cost the module
    // kilobytes for nothing).
    let mut lookup: Vec<([u8; 3], u32)> = first
        .iter()
        .enumerate()
        .map(|(k, &c)| (c, k as u32))
        .collect();
    sort_by(&mut lookup, |a, b| a.cmp(b));
    let mut codes = Codes::for_count(first.len(), n)?;
    for i in (0..n).filter(|&i| opaque.contains(i)) {
        let c = srgb(i);
        if let Ok(at) = lookup.binary_search_by(|e| e.0.cmp(&c)) {
            codes.set(i, lookup[at].1);
        }
    }
    Ok(index(codes, &first, opaque, has_transparency))
}

/// Each opaque cell's entry in an adaptive `palette` (dithered as asked), in Oklab.
fn map_to_palette(
    n: usize,
    cols: usize,
    lab_of: &dyn Fn(usize) -> Option<Lab>,
    palette: &[[u8; 3]],
    metric: Metric,
    options: &Options,
) -> Result<Codes, Error> {
    let entries: Vec<Lab> = palette
        .iter()
        .map(|&c| metric.stretch(srgb8_to_oklab(c)))
        .collect();
    let space = Space::Palette {
        entries: &entries,
        chroma: metric.chroma,
    };
    let mut codes = Codes::for_count(space.code_count(), n)?;
    dither::apply(n, cols, lab_of, &space, options.dither, &mut codes);
    Ok(codes)
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
fn build_palette(cells: &Cells, opaque: &BitSet, n: usize, metric: Metric) -> Vec<[u8; 3]> {
    palette_from_points(cell_points(cells, opaque, metric), n, metric)
}

/// The opaque cells as palette points (in `metric`'s space, weighted by cell area), merged into
/// small Oklab bins.
fn cell_points(cells: &Cells, opaque: &BitSet, metric: Metric) -> Vec<(Lab, f32)> {
    let cache = LabCache::new(srgb8_to_oklab);
    binned(
        (0..cells.len())
            .filter(|&i| opaque.contains(i))
            .map(|i| (metric.lab(cells, i, &cache), cells.area(i))),
    )
}

/// One image's contribution to a palette shared by several: its opaque cells as binned points,
/// with weights summing to 1, so every image counts the same whatever its size.
pub(crate) fn sample_points(cells: &Cells, options: &Options) -> Vec<(Lab, f32)> {
    let opaque = opaque_cells(cells, options.alpha_threshold);
    let mut points = cell_points(cells, &opaque, Metric::of(options));
    let total: f64 = points.iter().map(|p| f64::from(p.1)).sum();
    if total > 0.0 {
        points
            .iter_mut()
            .for_each(|p| p.1 = (f64::from(p.1) / total) as f32);
    }
    points
}

/// The palette of at most `n` colours for several images' [`sample_points`] pooled together:
/// the very builder a single image's adaptive palette uses.
pub(crate) fn pooled_palette(
    samples: &[&[(Lab, f32)]],
    n: usize,
    options: &Options,
) -> Vec<[u8; 3]> {
    let points = binned(samples.iter().flat_map(|s| s.iter().copied()));
    palette_from_points(points, n, Metric::of(options))
}

/// Variance splits then k-means over binned `points`, back to distinct sRGB colours (stills,
/// shared palettes, and animations, which pool every frame's cells into one set of points).
fn palette_from_points(points: Vec<(Lab, f32)>, n: usize, metric: Metric) -> Vec<[u8; 3]> {
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
    sort_by(&mut axes, |&a, &b| spread[b].total_cmp(&spread[a]));
    for axis in axes {
        if spread[axis] <= 0.0 {
            continue;
        }
        sort_by(points, |a, b| a.0[axis].total_cmp(&b.0[axis]));
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

/// Keeps only the colours some opaque cell uses, sorted darkest first (ties by value, so equal
/// colours from different codes merge), and renumbers the codes to match, in place.
fn index(
    mut codes: Codes,
    colors: &[[u8; 3]],
    opaque: BitSet,
    has_transparency: bool,
) -> Quantized {
    let mut used = vec![false; colors.len()];
    let cells = match &codes {
        Codes::U8(v) => v.len(),
        Codes::U16(v) => v.len(),
        Codes::Truecolor => 0,
    };
    for i in (0..cells).filter(|&i| opaque.contains(i)) {
        used[codes.get(i) as usize] = true;
    }
    let mut palette: Vec<([u8; 3], f32)> = colors
        .iter()
        .zip(&used)
        .filter(|&(_, &u)| u)
        .map(|(&c, _)| (c, srgb8_to_oklab(c)[0]))
        .collect();
    sort_by(&mut palette, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    palette.dedup_by(|a, b| a.0 == b.0);
    let mut remap = vec![0u32; colors.len()];
    for (code, color) in colors.iter().enumerate() {
        if used[code] {
            let at = palette.binary_search_by(|p| {
                p.1.total_cmp(&srgb8_to_oklab(*color)[0])
                    .then(p.0.cmp(color))
            });
            remap[code] = at.map_or(0, |i| i as u32);
        }
    }
    codes.remap(&remap);
    // Transparent cells keep code 0 (never read: their alpha bit says what they are).
    let palette: Vec<[u8; 3]> = palette.into_iter().map(|(c, _)| c).collect();
    let mut codes = codes;
    if palette.len() <= 256
        && let Codes::U16(v) = &codes
    {
        codes = Codes::U8(v.iter().map(|&c| c as u8).collect());
    }
    Quantized {
        colors_used: palette.len(),
        palette,
        codes,
        opaque,
        has_transparency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counting thresholds gives the level of every value `Space::Levels` gives: tested at every
    /// float within 50,000 steps of each boundary (where a rounding wobble would show), on a
    /// million spread over 0..=1, and outside it.
    #[test]
    fn level_thresholds_agree_with_posterising_the_srgb_value() {
        for levels in 2..=8u8 {
            let thresholds = LevelThresholds::new(levels);
            let direct = |v: f32| dither::srgb_level(levels, linear_to_srgb(v));
            let near = thresholds.bounds.iter().flat_map(|b| {
                let bits = b.to_bits();
                (bits - 50_000..bits + 50_000).map(f32::from_bits)
            });
            let spread = (0..1_000_000u32).map(|i| i as f32 / 999_999.0);
            let outside = [-1.0, -0.0, 1.0, 1.0001, 7.5, f32::NAN, f32::INFINITY];
            for v in near.chain(spread).chain(outside) {
                assert_eq!(thresholds.level(v), direct(v), "levels {levels}, {v:e}");
            }
        }
    }

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
        let mut opaque = BitSet::new(4);
        for i in [0, 2, 3] {
            opaque.insert(i);
        }
        let q = index(Codes::U8(vec![1, 0, 2, 1]), &colors, opaque, true);
        assert_eq!(q.palette, vec![[0, 0, 0], [255, 255, 255]]);
        assert_eq!([q.codes.get(0), q.codes.get(2), q.codes.get(3)], [1, 0, 1]);
        assert!(!q.opaque.contains(1));
        assert!(q.has_transparency);
    }
}
