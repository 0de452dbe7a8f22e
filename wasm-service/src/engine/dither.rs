//! Dithering on the grid: ordered (a Bayer matrix picks, per cell, one of a pair of palette
//! entries mixed at the ratio that matches the cell, after Yliluoma; the classic per-channel
//! threshold for levels) and error diffusion (Floyd–Steinberg serpentine, Atkinson).
//!
//! Dithering that looks like pixel art keeps flat areas flat and patterns local. For palettes
//! (adaptive or fixed) these rules hold, for ordered and diffused dithering alike:
//! - a cell may only show an entry that could stand for its own colour: one within 2.5 times the
//!   distance of its nearest entry (plus a small slack), or from [`PARTNER_FROM`] the nearest
//!   entry on the other side of it in lightness, and never one of the opposite hue while its
//!   nearest entry keeps its hue, so error or a pattern can never put an orange dot in a black
//!   sky, a dark-green one in a brown wall or a navy one in a dark red;
//! - a cell whose colour already matches an entry (within [`NEAR_MATCH`]) shows it and takes no
//!   diffused error, so a flat background next to a shape stays clean;
//! - a flat area (a fill, not a slow gradient's step) shows its nearest entry unless a mix of two
//!   entries shows it far better ([`FLAT_KEEP`], [`FLAT_NEAR_MIX_SHARE`], [`FLAT_MIX_SHARE`]): a
//!   logo's blue stays one blue, a grey with only black and white is a pattern;
//! - Bayer mixes the nearest entry (what undithered output shows) with one partner;
//! - diffused error is damped and capped ([`DAMPING`], [`MAX_ERROR`]) in the space matching uses,
//!   its lightness part less tightly than its hue (a hue no entry has only piles up);
//!   Floyd–Steinberg carries it to the neighbours as linear light: a pattern's cells blend as
//!   light, so that is the average it must keep (carried in CIELAB, noisy dark reds came out half
//!   again as light as they are; see BENCHMARKS.md §6). Entries are still chosen in the matching
//!   space, and two-entry mixes are judged as light. Atkinson, which drops a quarter of the error
//!   by design, and ordered dithering keep the matching space (see [`ATKINSON`], [`best_mix`]).
//!
//! Cells are read one at a time through a closure and codes written straight into the output,
//! and error diffusion keeps only the rows its kernel reaches, so memory stays a few rows of
//! cells whatever the grid size.

use super::colorspace::{Lab, dist2, linear_to_oklab, oklab_to_linear};
use super::detail::luminance;
use super::matching::{Matcher, ciede2000};
use super::options::Dither;
use super::quantize::Codes;
use super::sort::sort_by;

/// A colour difference under which a cell counts as already matching an entry, in ΔE (CIEDE2000,
/// or Oklab distance × 100): about one just-noticeable difference.
pub(crate) const NEAR_MATCH: f32 = 2.5;
/// How far past its nearest entry a cell may be drawn with another entry: [`CANDIDATE_REACH`]
/// times the nearest entry's distance, or that distance plus this many ΔE, whichever is more.
const CANDIDATE_SLACK: f32 = 8.0;
/// See [`CANDIDATE_SLACK`]. Measured on the quality benchmark's photos (BENCHMARKS.md §6): at 2
/// a photo's reds could not keep their local average (retina's fundus with PICO-8 and
/// Floyd–Steinberg, blur-3 4.78 against 4.25 at 2.5); 3 gained nothing more.
const CANDIDATE_REACH: f32 = 2.5;
/// The share of a cell's quantisation error passed on to its neighbours.
const DAMPING: f32 = 0.85;
/// The largest error (in ΔE) a cell passes on: a cell far from every entry would otherwise push
/// its neighbours into colours nothing near them has. (16 lost too much of a photo's local
/// average once error is carried as light; 32 gained little more; BENCHMARKS.md §6.)
const MAX_ERROR: f32 = 24.0;
/// From this distance (ΔE) to its nearest entry a cell may also mix with the nearest entry on
/// the other side of it in lightness, wherever that lies: nearer, a dot of a far entry would be
/// an odd speck (a grey dot in a black sky); farther, the pattern is how the colour shows.
const PARTNER_FROM: f32 = 6.0;
/// How many nearest entries ordered dithering and diffusion consider for a cell.
const SHORTLIST: usize = 6;
/// Neighbours within this many ΔE of a cell count as its own colour (a flat area: a logo's
/// fill, a sprite's tunic), well under one 8-bit step, so a photo's gradient never counts.
/// Measured as the Euclidean distance of the space (ΔE*ab for fixed palettes): it is asked of
/// every neighbour of every cell, and a CIEDE2000 for each made dithering a noisy photo at
/// block 1 twice as slow.
const FLAT_SAME: f32 = 0.2;
/// Within [`FLAT_KEEP`] (and from [`PARTNER_FROM`]), a flat area is still patterned when a mix of
/// two entries comes within this share of its nearest entry's distance: a grey with only black
/// and white (a mix matches it exactly) is how 1-bit art shows a tone, where a logo's blue
/// between two PICO-8 blues is a fill.
const FLAT_NEAR_MIX_SHARE: f32 = 0.25;
/// How far (cells) along a row or column a run of one colour is followed to tell a fill from a
/// step of a slow gradient.
const GRADIENT_REACH: isize = 16;
/// A change of at most this many ΔE where a run of one colour ends is a gradient's next step (a
/// sky's 8-bit values rising by one), not the edge of a fill.
const GRADIENT_STEP: f32 = 1.5;
/// A flat area whose nearest entry is within this many ΔE is drawn with that entry alone, as
/// pixel art draws a fill: error diffusion would break it into a pattern of stray cells (PICO-8's
/// nearest entries to a logo blue, a brown or a red tunic are 10–21 away). Farther from every
/// entry it is patterned only when a mix of two entries shows it much better (see
/// [`FLAT_MIX_SHARE`]): a mid grey with only black and white is 33 from white (CIEDE2000 weighs
/// lightness less in the light) and must stay a checker.
const FLAT_KEEP: f32 = 25.0;
/// A flat area farther than [`FLAT_KEEP`] from every entry is still drawn with its nearest entry
/// unless some mix of two entries comes within this share of that distance: a brown fill with
/// the Game Boy's four greens (34 ΔE from the nearest, about as far from every mix of two) stays
/// one green, where a grey between black and white (a mix matches it) keeps its checker.
const FLAT_MIX_SHARE: f32 = 0.5;
/// A flat area farther than [`FLAT_KEEP`] from every entry whose nearest entry is also this far
/// off in lightness (L*, or Oklab L × 100) is patterned whatever its hue, as lightness is then all
/// a pattern can keep: a red disc with only black and white (white is 47 L* lighter) was drawn
/// white and vanished into its white ground; the Game Boy's brown horse (its nearest green is
/// 1 L* off) stays one green, and so does a logo's light-blue disc (21 L* off: at 20 it became a
/// pattern of greens whose CIEDE2000 to it was further than the one green's).
const FLAT_LIGHTNESS: f32 = 25.0;

/// The colour space cells are quantised in, and how.
pub(crate) enum Space<'a> {
    /// An adaptive palette: Oklab with a and b scaled by `chroma` (2 in vivid mode, else 1),
    /// Euclidean nearest. Codes are entry indices.
    Palette { entries: &'a [Lab], chroma: f32 },
    /// A fixed palette: CIELAB, CIEDE2000 nearest (see `matching`). Codes are entry indices.
    Fixed { matcher: &'a Matcher },
    /// sRGB 0..=255 per channel; the nearest of `levels` evenly spaced values, dithered the
    /// classic way (the original service's posterisation). Codes number the level triples
    /// densely: `(r·L + g)·L + b`.
    Levels { levels: u8 },
}

impl Space<'_> {
    /// How many codes this space can produce.
    pub(crate) fn code_count(&self) -> usize {
        match self {
            Space::Palette { entries, .. } => entries.len(),
            Space::Fixed { matcher } => matcher.len(),
            Space::Levels { levels } => usize::from(*levels).pow(3),
        }
    }

    /// ΔE-like units per unit of this space (Oklab spans 0..1 where CIELAB spans 0..100).
    fn unit(&self) -> f32 {
        match self {
            Space::Palette { .. } => 100.0,
            Space::Fixed { .. } | Space::Levels { .. } => 1.0,
        }
    }

    /// The colour of entry `code` in this space.
    fn entry(&self, code: u32) -> [f32; 3] {
        match self {
            Space::Palette { entries, .. } => entries[code as usize],
            Space::Fixed { matcher } => matcher.entry(code as usize),
            Space::Levels { levels } => {
                let l = u32::from(*levels);
                let step = 255.0 / (l - 1) as f32;
                [code / (l * l), code / l % l, code % l].map(|k| k as f32 * step)
            }
        }
    }

    /// The difference between two colours of this space, in ΔE.
    fn difference(&self, a: [f32; 3], b: [f32; 3]) -> f32 {
        match self {
            Space::Fixed { .. } => ciede2000(a, b),
            _ => f32::sqrt(dist2(a, b)) * self.unit(),
        }
    }

    /// A colour of this space as linear-light sRGB (0..=1; what the eye averages over a pattern)
    /// for palettes; levels stay sRGB values 0..=255 (the classic dither diffuses those).
    fn to_light(&self, c: [f32; 3]) -> [f32; 3] {
        match self {
            Space::Palette { chroma, .. } => oklab_to_linear([c[0], c[1] / chroma, c[2] / chroma]),
            Space::Fixed { matcher } => matcher.linear(c),
            Space::Levels { .. } => c,
        }
    }

    /// The inverse of [`Space::to_light`].
    fn light_to_space(&self, v: [f32; 3]) -> [f32; 3] {
        match self {
            Space::Palette { chroma, .. } => {
                let lab = linear_to_oklab(v);
                [lab[0], lab[1] * chroma, lab[2] * chroma]
            }
            Space::Fixed { matcher } => matcher.lab(v),
            Space::Levels { .. } => v,
        }
    }

    /// Whether `a` and `b` count as one colour of a flat area (see [`FLAT_SAME`]).
    fn same(&self, a: [f32; 3], b: [f32; 3]) -> bool {
        let limit = FLAT_SAME / self.unit();
        a == b || dist2(a, b) <= limit * limit
    }

    /// The code nearest to `c`.
    fn quantize(&self, c: [f32; 3]) -> u32 {
        match self {
            Space::Palette { entries, .. } => super::quantize::nearest(entries, c) as u32,
            Space::Fixed { matcher } => matcher.nearest(c).0 as u32,
            Space::Levels { levels } => level_code(*levels, c.map(|v| srgb_level(*levels, v))),
        }
    }

    /// The entries that could stand for a cell of colour `c`, nearest first, with their
    /// differences in ΔE (palettes only; at least the nearest entry).
    fn candidates(&self, c: [f32; 3]) -> Vec<(u32, f32)> {
        let ranked: Vec<(u32, f32)> = match self {
            Space::Fixed { matcher } => matcher
                .ranked(c)
                .into_iter()
                .map(|(i, d)| (i as u32, d))
                .collect(),
            Space::Palette { entries, .. } => {
                let mut all: Vec<(u32, f32)> = entries
                    .iter()
                    .enumerate()
                    .map(|(i, &e)| (i as u32, dist2(e, c)))
                    .collect();
                sort_by(&mut all, |x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
                all.truncate(SHORTLIST);
                all.into_iter()
                    .map(|(i, d2)| (i, f32::sqrt(d2) * self.unit()))
                    .collect()
            }
            Space::Levels { .. } => vec![(self.quantize(c), 0.0)],
        };
        let Some(&(first, nearest)) = ranked.first() else {
            return ranked;
        };
        let reach = reach(nearest);
        let n = self.entry(first);
        // No dot of another hue (see `Matcher::turns_hue`) in a chromatic cell's pattern (a navy
        // dot in a dark red, where black is as dark), unless no entry on that side of the cell's
        // lightness keeps its hue (a sky with a palette that has no light blue, a red with the
        // Game Boy's greens): then lightness is all a pattern there can keep.
        let turns = |code: u32| self.turns_hue(c, code);
        let lighter = |code: u32| self.entry(code)[0] >= c[0];
        let side_keeps = [true, false].map(|side| {
            ranked
                .iter()
                .any(|&(code, _)| lighter(code) == side && !turns(code))
        });
        let keeps_hue = |code: u32| !turns(code) || !side_keeps[usize::from(!lighter(code))];
        // The nearest entry on the other side of `c` in lightness: a colour far from every entry
        // (a grey with only black and white, a ramp with 4 greens) is shown by mixing the two
        // entries that bracket its lightness, however far the second is.
        let other_side = |code: u32| (self.entry(code)[0] - c[0]) * (n[0] - c[0]) < 0.0;
        let partner = (nearest >= PARTNER_FROM)
            .then(|| {
                ranked
                    .iter()
                    .find(|&&(code, _)| other_side(code) && keeps_hue(code))
                    .map(|p| p.0)
            })
            .flatten();
        ranked
            .into_iter()
            .filter(|&(code, d)| {
                code == first
                    || Some(code) == partner
                    || (d <= reach && keeps_hue(code) && brackets(c, n, self.entry(code)))
            })
            .collect()
    }

    /// Whether the nearest entry `code` is [`FLAT_LIGHTNESS`] or more off `c` in lightness while
    /// another entry lies on the other side of it, so a pattern of the two can show its lightness
    /// (white is lighter than every Game Boy green: no pattern makes it lighter).
    fn lightness_reachable(&self, c: [f32; 3], code: u32) -> bool {
        let off = self.entry(code)[0] - c[0];
        off.abs() * self.unit() >= FLAT_LIGHTNESS
            && (0..self.code_count() as u32).any(|e| (self.entry(e)[0] - c[0]) * off < 0.0)
    }

    /// Whether entry `code` would turn a clearly chromatic `c` to another hue (fixed palettes
    /// only: see `Matcher::turns_hue`).
    fn turns_hue(&self, c: [f32; 3], code: u32) -> bool {
        match self {
            Space::Fixed { matcher } => matcher.turns_hue(c, code as usize),
            _ => false,
        }
    }

    /// The difference (ΔE) between `c` and the closest mix of two of its candidate entries (mixed
    /// as light: see [`Space::mix`]); infinite with fewer than two. Each pair is tried at the
    /// share nearest in light and at every 1/16: where the two differ in lightness, the share
    /// nearest in linear light can be far from the nearest in ΔE (an ochre fill with DawnBringer's
    /// 16 colours seemed no mix could show it, and stayed one orange).
    fn best_pair_difference(&self, c: [f32; 3]) -> f32 {
        let candidates = self.candidates(c);
        let light = self.to_light(c);
        let mut best = f32::INFINITY;
        for (k, &(a, _)) in candidates.iter().enumerate() {
            let la = self.to_light(self.entry(a));
            for &(b, _) in &candidates[k + 1..] {
                let lb = self.to_light(self.entry(b));
                let nearest = along(la, lb, light).map_or(0.0, |(_, t, _)| t.clamp(0.0, 1.0));
                for share in (1..16).map(|step| step as f32 / 16.0).chain([nearest]) {
                    best = best.min(self.difference(self.mix(la, lb, share), c));
                }
            }
        }
        best
    }

    /// The colour a pattern of two entries shows, given as light (`la`, `lb`: see
    /// [`Space::to_light`]) with a share `ratio` of the second: what the eye sees of it from afar
    /// is the average of their light.
    fn mix(&self, la: [f32; 3], lb: [f32; 3], ratio: f32) -> [f32; 3] {
        self.light_to_space([0, 1, 2].map(|k| la[k] + (lb[k] - la[k]) * ratio))
    }

    /// The sRGB colour of every level code (indexed by code).
    pub(crate) fn level_colors(&self) -> Vec<[u8; 3]> {
        let Space::Levels { levels } = self else {
            return Vec::new();
        };
        let n = usize::from(*levels).pow(3) as u32;
        (0..n)
            .map(|code| self.entry(code).map(|v| (v + 0.5) as u8))
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
            Space::Fixed { .. } => [
                c[0].clamp(0.0, 100.0),
                c[1].clamp(-256.0, 256.0),
                c[2].clamp(-256.0, 256.0),
            ],
            Space::Levels { .. } => c.map(|v| v.clamp(0.0, 255.0)),
        }
    }
}

/// How far (ΔE) past a cell's nearest entry, `nearest` away, another entry may be and still
/// stand for it: [`CANDIDATE_REACH`] times that distance, or that distance plus
/// [`CANDIDATE_SLACK`].
fn reach(nearest: f32) -> f32 {
    (CANDIDATE_REACH * nearest).max(nearest + CANDIDATE_SLACK)
}

/// Whether entry `e` can help draw `c` together with its nearest entry `n`: `c` lies between
/// them in lightness (so a ramp of entries, like the Game Boy's greens, dithers by lightness
/// whatever the hues), or some mix of the two is clearly closer to `c` than `n` alone (the
/// squared distance drops by [`MIX_GAIN`] or more: mixing hues at one lightness). White next to
/// a cream and a grey entry is neither, so it stays cream; a dark blue-grey between black and
/// navy is, so it may mix them.
fn brackets(c: [f32; 3], n: [f32; 3], e: [f32; 3]) -> bool {
    let cn = [c[0] - n[0], c[1] - n[1], c[2] - n[2]];
    let en = [e[0] - n[0], e[1] - n[1], e[2] - n[2]];
    if cn[0] * en[0] > 0.0 {
        return true;
    }
    let len2 = en[0] * en[0] + en[1] * en[1] + en[2] * en[2];
    let along = cn[0] * en[0] + cn[1] * en[1] + cn[2] * en[2];
    if len2 <= 0.0 || along <= 0.0 {
        return false;
    }
    // The closest mix on the segment (ratio t), and how much nearer it is than `n`.
    let t = (along / len2).min(1.0);
    let gain = 2.0 * t * along - t * t * len2;
    let cn2 = cn[0] * cn[0] + cn[1] * cn[1] + cn[2] * cn[2];
    gain >= MIX_GAIN * cn2
}

/// The least share of a cell's squared distance to its nearest entry that mixing in another
/// entry must remove for that entry to be a candidate (0.3: the mix points within about 57° of
/// the cell's direction).
const MIX_GAIN: f32 = 0.3;

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
            // Remembered only where a lookup is dear (CIEDE2000 for a fixed palette).
            let mut nearest = matches!(space, Space::Fixed { .. }).then(Nearest::default);
            for i in 0..cells {
                if let Some(c) = color(i) {
                    let code = match nearest.as_mut() {
                        Some(nearest) => nearest.of(space, c).0,
                        None => space.quantize(c),
                    };
                    codes.set(i, code);
                }
            }
        }
        Dither::Bayer2 => ordered(cells, cols, color, space, 1, codes),
        Dither::Bayer4 => ordered(cells, cols, color, space, 2, codes),
        Dither::Bayer8 => ordered(cells, cols, color, space, 3, codes),
        Dither::FloydSteinberg => diffuse(cells, cols, color, space, &FLOYD_STEINBERG, codes),
        Dither::Atkinson => diffuse(cells, cols, color, space, &ATKINSON, codes),
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

/// The level (0..`levels`) an sRGB value (0..=255) posterises to, the nearest of `levels`
/// evenly spaced values.
pub(crate) fn srgb_level(levels: u8, v: f32) -> u32 {
    let step = 255.0 / f32::from(levels - 1);
    (v.clamp(0.0, 255.0) / step + 0.5) as u32
}

/// The code of a posterised colour from its three channel levels (red most significant).
pub(crate) fn level_code(levels: u8, [r, g, b]: [u32; 3]) -> u32 {
    let l = u32::from(levels);
    (r * l + g) * l + b
}

/// Ordered dithering. Levels: the classic per-channel Bayer threshold. Palettes: each cell's
/// target is matched by the best mix of two of its candidate entries at a ratio the matrix can
/// draw (Yliluoma's first algorithm, restricted to pairs of the cell's nearest entry and one that
/// brackets its colour closely), and the cell's threshold picks which of the two it shows. A cell with one candidate, that
/// already matches an entry, or that lies in a flat area error diffusion would keep flat, shows
/// its nearest entry.
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
    let grid = Grid {
        cols,
        rows: cells / cols.max(1),
        color,
        space,
    };
    let mut nearest = Nearest::default();
    for i in 0..cells {
        let Some(target) = color(i) else {
            continue;
        };
        // A flat area stays flat here too: a pattern only where the colour changes or no
        // single entry can stand for it.
        if let (code, true) = grid.keeps_nearest(i, target, &mut nearest) {
            codes.set(i, code);
            continue;
        }
        let (x, y) = (i % cols, i / cols);
        // Threshold in (0, 1): the cell shows the second colour when its mix ratio is above it.
        let threshold = (matrix[(y % n) * n + x % n] as f32 + 0.5) / steps;
        let code = match space {
            Space::Levels { levels } => {
                let step = 255.0 / f32::from(levels - 1);
                let nudged = target.map(|v| v + (threshold - 0.5) * step);
                space.quantize(nudged)
            }
            _ => {
                let (a, b, ratio) = best_mix(space, target, steps);
                if ratio > threshold { b } else { a }
            }
        };
        codes.set(i, code);
    }
}

/// How much a mix of two far-apart colours is penalised against its colour error (per ΔE² of
/// spread): without it, a grey is happily drawn as black and white instead of the two greys
/// beside it.
const MIX_SPREAD_PENALTY: f32 = 0.1;
/// The same for the lightness part of a pair's spread: small, so between two pairs that both
/// bracket a grey the nearer greys still win over black and white.
const MIX_LIGHTNESS_PENALTY: f32 = 0.02;

/// The pair of candidate entries (a, b) and the ratio of b (a multiple of 1/steps) whose mix is
/// closest to `target`, with far-apart pairs penalised; `(a, a, 0)` when no mix beats the
/// nearest entry alone. Ratios are taken in the matching space, not as light: judged as light, a
/// cell near the lighter entry of a pair gets more cells of the darker, and the Game Boy's mean
/// CIEDE2000 on photos rose above Pillow's (BENCHMARKS.md §6).
fn best_mix(space: &Space<'_>, target: [f32; 3], steps: f32) -> (u32, u32, f32) {
    let candidates = space.candidates(target);
    let (nearest, d0) = candidates[0];
    if d0 <= NEAR_MATCH || candidates.len() == 1 {
        return (nearest, nearest, 0.0);
    }
    let unit = space.unit();
    let mut best = (d0 * d0, nearest, nearest, 0.0f32);
    // Every pair holds the nearest entry, the one undithered output shows: a teal is drawn with
    // PICO-8's blue and a partner, never as a checker of green and grey that averages close.
    let a = nearest;
    let ea = space.entry(a);
    for &(b, _) in &candidates[1..] {
        let Some((d, t, len2)) = along(ea, space.entry(b), target) else {
            continue;
        };
        // The ratio of the closest mix, or where the cell lies beside the pair rather than
        // between them, the one that matches its lightness: a grey between two of the Game Boy's
        // greens lies beside their segment (less yellow than both), yet it is drawn by mixing
        // them to its lightness. (Trying both for every pair drew photos with more mixes than
        // their per-cell error allows: Game Boy's mean ΔE00 went above Pillow FS.)
        let by_lightness =
            (d[0] != 0.0 && !(0.0..=1.0).contains(&t)).then(|| (target[0] - ea[0]) / d[0]);
        let Some((ratio, err)) = [Some(t), by_lightness]
            .into_iter()
            .flatten()
            // Only pairs the cell lies between: a pair beyond it is a far colour's dots.
            .filter(|t| (0.0..=1.0).contains(t))
            .map(|t| {
                // A drawable ratio; the cast truncates a non-negative value (no libm floor).
                let ratio = (t * steps + 0.5) as u32 as f32 / steps;
                let mix = [0, 1, 2].map(|c| ea[c] + d[c] * ratio);
                (ratio, space.difference(mix, target))
            })
            .min_by(|x, y| x.1.total_cmp(&y.1))
        else {
            continue;
        };
        // Spread across hues costs more than spread in lightness: a ramp of shades (the Game
        // Boy's greens) is drawn by mixing neighbours in lightness however far apart.
        let light2 = d[0] * d[0] * unit * unit;
        let hue2 = len2 * unit * unit - light2;
        let spread = MIX_SPREAD_PENALTY * hue2 + MIX_LIGHTNESS_PENALTY * light2;
        let cost = err * err + spread * (0.5 - (ratio - 0.5).abs());
        if cost < best.0 {
            best = (cost, a, b, ratio);
        }
    }
    (best.1, best.2, best.3)
}

/// Where `c` projects onto the line from `a` to `b`: the direction `b - a`, the ratio `t` along it
/// (0 at `a`, 1 at `b`, unclamped) and its squared length; `None` when `a` and `b` coincide.
fn along(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> Option<([f32; 3], f32, f32)> {
    let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    (len2 > 0.0).then(|| {
        let t = ((c[0] - a[0]) * d[0] + (c[1] - a[1]) * d[1] + (c[2] - a[2]) * d[2]) / len2;
        (d, t, len2)
    })
}

/// An error diffusion kernel and how it walks the grid.
struct Kernel {
    /// Neighbour offsets (dx, dy) and the share of the error each receives.
    weights: &'static [(isize, usize, f32)],
    /// Every other row right to left (the kernel mirrored).
    serpentine: bool,
    /// Whether error is carried as linear light (see [`Space::to_light`]) rather than in the
    /// matching space.
    as_light: bool,
}

impl Kernel {
    /// Colour `c` of `space` in the space this kernel carries error in. (Not inlined: four call
    /// sites in the diffusion loop would each hold both conversions, and the module has a size
    /// budget.)
    #[inline(never)]
    fn carry(&self, space: &Space<'_>, c: [f32; 3]) -> [f32; 3] {
        if self.as_light { space.to_light(c) } else { c }
    }

    /// The inverse of [`Kernel::carry`].
    #[inline(never)]
    fn uncarry(&self, space: &Space<'_>, v: [f32; 3]) -> [f32; 3] {
        if self.as_light {
            space.light_to_space(v)
        } else {
            v
        }
    }
}

/// Floyd–Steinberg (1976), serpentine. It passes on the whole error, so carried as light its
/// patterns keep the light of the area they draw.
const FLOYD_STEINBERG: Kernel = Kernel {
    weights: &[
        (1, 0, 7.0 / 16.0),
        (-1, 1, 3.0 / 16.0),
        (0, 1, 5.0 / 16.0),
        (1, 1, 1.0 / 16.0),
    ],
    serpentine: true,
    as_light: true,
};
/// Bill Atkinson's kernel (MacPaint): six neighbours get 1/8 each, a quarter of the error is
/// dropped for contrast. Carried as light, that loss fell on the shadows (1-bit greys darker
/// than sRGB 50 came out solid black), so it keeps the matching space's average, as it was
/// designed to in gamma-encoded values.
const ATKINSON: Kernel = Kernel {
    weights: &[
        (1, 0, 0.125),
        (2, 0, 0.125),
        (-1, 1, 0.125),
        (0, 1, 0.125),
        (1, 1, 0.125),
        (0, 2, 0.125),
    ],
    serpentine: false,
    as_light: false,
};

/// One cell in the diffusion window: its own colour, the error diffused into it so far, and
/// whether it already matches an entry (then it takes none).
#[derive(Clone, Copy)]
struct Slot {
    own: [f32; 3],
    /// The error diffused into the cell so far, in the space the kernel carries it in.
    error: [f32; 3],
    /// The entry nearest to `own`.
    nearest: u32,
    /// Shown with its nearest entry, taking and passing on no error: it matches an entry, or it
    /// lies inside a flat area close enough to one (see [`FLAT_KEEP`]).
    matched: bool,
}

/// The rows error diffusion can reach: the current one and the next `depth` (`None`:
/// transparent).
struct Window {
    rows: Vec<Vec<Option<Slot>>>,
    /// The grid row held in `rows[0]`.
    first: usize,
    /// Nearest entries of the colours loaded so far, for every row.
    nearest: Nearest,
}

impl Window {
    fn new(depth: usize, grid: Grid<'_>) -> Self {
        let mut w = Window {
            rows: Vec::with_capacity(depth + 1),
            first: 0,
            nearest: Nearest::default(),
        };
        for r in 0..=depth {
            let row = grid.load(r, &mut w.nearest);
            w.rows.push(row);
        }
        w
    }

    /// Moves on to the next grid row, loading the one that comes into reach.
    fn advance(&mut self, grid: Grid<'_>) {
        self.rows.rotate_left(1);
        self.first += 1;
        let last = self.rows.len() - 1;
        self.rows[last] = grid.load(self.first + last, &mut self.nearest);
    }
}

/// What the window loads rows from.
#[derive(Clone, Copy)]
struct Grid<'a> {
    cols: usize,
    rows: usize,
    color: &'a dyn Fn(usize) -> Option<[f32; 3]>,
    space: &'a Space<'a>,
}

impl Grid<'_> {
    fn load(&self, row: usize, table: &mut Nearest) -> Vec<Option<Slot>> {
        if row >= self.rows {
            return Vec::new();
        }
        (row * self.cols..(row + 1) * self.cols)
            .map(|i| {
                (self.color)(i).map(|c| {
                    let (nearest, matched) = self.keeps_nearest(i, c, table);
                    Slot {
                        own: c,
                        error: [0.0; 3],
                        nearest,
                        matched,
                    }
                })
            })
            .collect()
    }
}

/// Nearest entries of recently seen colours, in a small direct-mapped table: a fill repeats one
/// colour and a photo at small blocks many, and for a fixed palette each lookup costs several
/// CIEDE2000 evaluations.
struct Nearest {
    slots: Vec<Option<Seen>>,
}

/// What [`Nearest`] remembers of one colour.
#[derive(Clone, Copy)]
struct Seen {
    colour: [f32; 3],
    code: u32,
    /// ΔE from `colour` to entry `code`.
    difference: f32,
    /// [`Space::best_pair_difference`] of `colour`, once asked for (a flat fill asks it of
    /// every cell).
    pair_difference: Option<f32>,
}

/// Slots of [`Nearest`] (a power of two): about 30 KiB.
const NEAREST_SLOTS: usize = 1024;

impl Default for Nearest {
    fn default() -> Self {
        Nearest {
            slots: vec![None; NEAREST_SLOTS],
        }
    }
}

impl Nearest {
    /// The code nearest to `c` and its difference (ΔE).
    fn of(&mut self, space: &Space<'_>, c: [f32; 3]) -> (u32, f32) {
        let seen = self.seen(space, c);
        (seen.code, seen.difference)
    }

    /// [`Space::best_pair_difference`] of `c`.
    fn pair_difference(&mut self, space: &Space<'_>, c: [f32; 3]) -> f32 {
        let seen = self.seen(space, c);
        *seen
            .pair_difference
            .get_or_insert_with(|| space.best_pair_difference(c))
    }

    /// The slot of `c`, filled with its nearest entry if it held another colour.
    fn seen(&mut self, space: &Space<'_>, c: [f32; 3]) -> &mut Seen {
        let [a, b, d] = c.map(f32::to_bits);
        let hash = (a ^ b.rotate_left(11) ^ d.rotate_left(22)).wrapping_mul(0x9E37_79B1);
        let slot = &mut self.slots[(hash >> 22) as usize % NEAREST_SLOTS];
        if slot.is_none_or(|seen| seen.colour != c) {
            let code = space.quantize(c);
            *slot = Some(Seen {
                colour: c,
                code,
                difference: space.difference(space.entry(code), c),
                pair_difference: None,
            });
        }
        slot.as_mut().expect("filled above")
    }
}

impl Grid<'_> {
    /// Cell `i`'s (colour `c`) nearest entry, and whether the cell is shown with it undithered:
    /// it matches an entry ([`NEAR_MATCH`]), or it lies in a flat area (not a slow gradient's
    /// step) that no mix of two entries shows much better than its nearest entry: always below
    /// [`PARTNER_FROM`], then by [`FLAT_NEAR_MIX_SHARE`] up to [`FLAT_KEEP`] and by
    /// [`FLAT_MIX_SHARE`] beyond, unless its nearest entry is [`FLAT_LIGHTNESS`] off. Levels
    /// never are (the classic posterisation dithers all).
    fn keeps_nearest(&self, i: usize, c: [f32; 3], nearest: &mut Nearest) -> (u32, bool) {
        let (code, d) = nearest.of(self.space, c);
        let keeps = !matches!(self.space, Space::Levels { .. })
            && (d <= NEAR_MATCH
                || (self.is_flat(i, c)
                    && !self.in_gradient(i, c)
                    && (d < PARTNER_FROM || {
                        let (share, off_in_lightness) = if d <= FLAT_KEEP {
                            (FLAT_NEAR_MIX_SHARE, false)
                        } else {
                            (FLAT_MIX_SHARE, self.space.lightness_reachable(c, code))
                        };
                        !off_in_lightness && nearest.pair_difference(self.space, c) > share * d
                    })));
        (code, keeps)
    }

    /// Whether cell `i` (colour `c`), in a run of cells of its colour, is one step of a slow
    /// gradient rather than a fill: along its row or its column, the first cell of another colour
    /// on either side (within [`GRADIENT_REACH`] cells) differs by a small step
    /// ([`GRADIENT_STEP`]), as in a sky whose 8-bit values change every few cells. A fill ends
    /// at an edge, a border or transparency.
    fn in_gradient(&self, i: usize, c: [f32; 3]) -> bool {
        let (x, y) = ((i % self.cols) as isize, (i / self.cols) as isize);
        // Whether the run, followed in direction (dx, dy), ends in a small step.
        let steps = |dx: isize, dy: isize| {
            for k in 1..=GRADIENT_REACH {
                let (nx, ny) = (x + dx * k, y + dy * k);
                if nx < 0 || ny < 0 || nx as usize >= self.cols || ny as usize >= self.rows {
                    return false;
                }
                let Some(n) = (self.color)(ny as usize * self.cols + nx as usize) else {
                    return false;
                };
                if !self.space.same(n, c) {
                    return self.space.difference(n, c) <= GRADIENT_STEP;
                }
            }
            false
        };
        // Steps on both sides: a fill next to its own anti-aliased edge has one on one side.
        (steps(-1, 0) && steps(1, 0)) || (steps(0, -1) && steps(0, 1))
    }

    /// Whether cell `i` (colour `c`) is part of a flat area: at least 3 of its 8 neighbours
    /// have its colour (within [`FLAT_SAME`]), as the corner of a 2×2 patch does, so a fill's
    /// edge and corners belong to it as much as its inside.
    fn is_flat(&self, i: usize, c: [f32; 3]) -> bool {
        let (x, y) = ((i % self.cols) as isize, (i / self.cols) as isize);
        let mut same = 0;
        for (dx, dy) in [
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ] {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx as usize >= self.cols || ny as usize >= self.rows {
                continue;
            }
            if let Some(n) = (self.color)(ny as usize * self.cols + nx as usize)
                && self.space.same(n, c)
            {
                same += 1;
                if same >= 3 {
                    return true;
                }
            }
        }
        false
    }
}

/// `err` shortened to at most `cap`, except that its lightness part (the first component) may
/// keep up to `light_cap`: a cell between two entries far apart in lightness (a grey between
/// black and white) must pass on enough error for its neighbours to reach the other entry, or a
/// band of one entry forms; a hue no entry has only piles up, so that part stays capped.
fn capped(err: [f32; 3], cap: f32, light_cap: f32) -> [f32; 3] {
    let len = f32::sqrt(err[0] * err[0] + err[1] * err[1] + err[2] * err[2]);
    if len <= cap {
        return err;
    }
    let scale = cap / len;
    let light = (err[0].abs() * scale).max(err[0].abs().min(light_cap));
    [light.copysign(err[0]), err[1] * scale, err[2] * scale]
}

fn diffuse(
    cells: usize,
    cols: usize,
    color: &dyn Fn(usize) -> Option<[f32; 3]>,
    space: &Space<'_>,
    kernel: &Kernel,
    codes: &mut Codes,
) {
    let rows = cells / cols.max(1);
    let grid = Grid {
        cols,
        rows,
        color,
        space,
    };
    let classic = matches!(space, Space::Levels { .. });
    let depth = kernel.weights.iter().map(|k| k.1).max().unwrap_or(0);
    let max_error = MAX_ERROR / space.unit();
    let mut window = Window::new(depth, grid);
    for y in 0..rows {
        let reverse = kernel.serpentine && y % 2 == 1;
        for step in 0..cols {
            let x = if reverse { cols - 1 - step } else { step };
            let Some(slot) = window.rows[0][x] else {
                continue;
            };
            // The cell's colour with the error it received (exactly its own without).
            let carried = (slot.error != [0.0; 3]).then(|| {
                let own = kernel.carry(space, slot.own);
                [0, 1, 2].map(|k| own[k] + slot.error[k])
            });
            let old = carried.map_or(slot.own, |c| space.clamp(kernel.uncarry(space, c)));
            // The error a cell may pass on: capped, unless it mixes with a far lightness partner
            // (a grey between black and white), whose pattern needs the whole error to form; its
            // lightness part may always reach the farthest entry the cell may show (see `capped`).
            let mut cap = max_error;
            let mut light_cap = max_error;
            let code = if classic {
                space.quantize(old)
            } else if slot.matched {
                slot.nearest
            } else {
                // The entry nearest to the value with error, among those that could stand for
                // the cell's own colour.
                let allowed = space.candidates(slot.own);
                let nearest = allowed.first().map_or(0.0, |a| a.1);
                let farthest = allowed.iter().map(|a| a.1).fold(0.0, f32::max);
                if farthest > reach(nearest) {
                    cap = cap.max(farthest / space.unit());
                }
                light_cap = cap.max(farthest / space.unit());
                allowed
                    .iter()
                    .map(|&(code, _)| (code, space.difference(space.entry(code), old)))
                    .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                    .map_or(0, |(code, _)| code)
            };
            codes.set(y * cols + x, code);
            if slot.matched {
                continue;
            }
            let new = space.entry(code);
            let mut err = [old[0] - new[0], old[1] - new[1], old[2] - new[2]];
            if !classic {
                // Capped in the matching space: the whole error when no cap applies (however
                // far outside the gamut, so nothing is lost to clamping). Carried as light, a
                // capped error passes on the capped share of its light error and all of its
                // luminance (as in `capped`, lightness may reach the farthest entry the cell may
                // show). Carrying the light between the entry and the capped colour instead was
                // far smaller, at a saturated entry, than the same change at the cell: a pale
                // green next to the ZX Spectrum's green never left that green.
                let kept = capped(err, cap, light_cap);
                let whole = carried.unwrap_or_else(|| kernel.carry(space, slot.own));
                let from = kernel.carry(space, new);
                let to = if kernel.as_light || kept == err {
                    whole
                } else {
                    [0, 1, 2].map(|k| new[k] + kept[k])
                };
                let share = if kernel.as_light && kept != err {
                    let length = |v: [f32; 3]| f32::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                    length(kept) / length(err)
                } else {
                    1.0
                };
                let whole_error = [0, 1, 2].map(|k| to[k] - from[k]);
                let y = if share < 1.0 {
                    luminance(whole_error)
                } else {
                    0.0
                };
                err = whole_error.map(|e| (e * share + y * (1.0 - share)) * DAMPING);
            }
            for &(dx, dy, w) in kernel.weights {
                let dx = if reverse { -dx } else { dx };
                let nx = x as isize + dx;
                if nx < 0 || nx as usize >= cols || y + dy >= rows {
                    continue;
                }
                if let Some(target) = window.rows[dy][nx as usize].as_mut()
                    && !target.matched
                {
                    for (v, e) in target.error.iter_mut().zip(err) {
                        *v += e * w;
                    }
                }
            }
        }
        window.advance(grid);
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
    fn a_grey_dithers_to_black_and_white_in_the_share_of_its_light() {
        let entries = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let space = Space::Palette {
            entries: &entries,
            chroma: 1.0,
        };
        let white_share = |l: f32, d: Dither| {
            let grey = |_| Some([l, 0.0, 0.0]);
            let mut codes = Codes::for_count(2, 4096).unwrap();
            apply(4096, 64, &grey, &space, d, &mut codes);
            (0..4096).filter(|&i| codes.get(i) == 1).count() as f32 / 4096.0
        };
        // Oklab L 0.5 and 0.8 are 12.5 % and 51.2 % of white's light: seen from afar, error
        // diffusion's black and white cells show the grey when that share of them is white (half
        // white, as diffusing in Oklab gave, looks like L 0.79).
        for (l, light) in [(0.5f32, 0.125f32), (0.8, 0.512)] {
            let white = white_share(l, Dither::FloydSteinberg);
            assert!(
                (white - light).abs() < 0.08,
                "L {l} drawn {white} white, its light is {light}"
            );
        }
        // Every dither draws a pattern whose white share rises with the grey.
        for d in [Dither::Bayer4, Dither::FloydSteinberg, Dither::Atkinson] {
            let shares = [0.4, 0.5, 0.8].map(|l| white_share(l, d));
            assert!(
                0.0 < shares[0]
                    && shares[0] < shares[1]
                    && shares[1] < shares[2]
                    && shares[2] < 1.0,
                "{d:?}: white shares {shares:?}"
            );
        }
        let grey = |_| Some([0.5, 0.0, 0.0]);
        let mut flat = Codes::for_count(2, 16).unwrap();
        apply(16, 4, &grey, &space, Dither::None, &mut flat);
        assert!((0..16).all(|i| flat.get(i) == flat.get(0)));
    }

    #[test]
    fn a_dark_red_never_dithers_with_navy() {
        // PICO-8's navy is the nearest entry darker than these reds (their nearest is the dark
        // purple-red or the rust): as the pattern's partner it put navy dots in dark red cloth.
        let colors = super::super::palettes::resolve("pico-8").unwrap().colors;
        let matcher = Matcher::new(&colors, 1.0);
        let navy = colors
            .iter()
            .position(|&c| c == [0x1d, 0x2b, 0x53])
            .unwrap() as u32;
        let space = Space::Fixed { matcher: &matcher };
        for red in [[104u8, 41, 31], [105, 10, 27], [82, 11, 5], [71, 30, 28]] {
            let lab = super::super::matching::srgb8_to_cielab(red);
            let candidates = space.candidates(lab);
            assert!(
                candidates.iter().all(|&(code, _)| code != navy),
                "{red:?} may be drawn with navy: {candidates:?}"
            );
            assert!(candidates.len() >= 2, "{red:?} has no partner to mix with");
        }
    }

    #[test]
    fn a_flat_fill_near_an_entry_stays_one_entry_while_a_gradient_gets_a_pattern() {
        let entries = [
            [0.0, 0.0, 0.0],
            [0.45, 0.0, 0.0],
            [0.6, 0.0, 0.0],
            [1.0, 0.0, 0.0],
        ];
        let space = Space::Palette {
            entries: &entries,
            chroma: 1.0,
        };
        // A 8×8 fill between two entries (5 and 10 ΔE): error diffusion would mix them.
        let fill = |_| Some([0.5, 0.0, 0.0]);
        // A ramp between the first two entries, no two neighbours alike (1 ΔE per row).
        let ramp = |i: usize| {
            Some([
                0.05 + (i % 8) as f32 * 0.07 + (i / 8) as f32 * 0.01,
                0.0,
                0.0,
            ])
        };
        for d in [Dither::FloydSteinberg, Dither::Atkinson] {
            let mut codes = Codes::for_count(3, 64).unwrap();
            apply(64, 8, &fill, &space, d, &mut codes);
            assert!(
                (0..64).all(|i| codes.get(i) == 1),
                "{d:?}: the fill broke up"
            );
            let mut codes = Codes::for_count(3, 64).unwrap();
            apply(64, 8, &ramp, &space, d, &mut codes);
            let dithered = (0..64)
                .filter(|&i| codes.get(i) != space.quantize(ramp(i).unwrap()))
                .count();
            assert!(
                dithered >= 4,
                "{d:?}: the ramp got no pattern ({dithered} cells)"
            );
        }
    }

    #[test]
    fn a_cell_that_matches_an_entry_takes_no_error_from_its_neighbours() {
        // A row of mid-grey cells (they dither) next to white cells (an exact entry).
        let entries = [[0.0, 0.0, 0.0], [0.6, 0.0, 0.0], [1.0, 0.0, 0.0]];
        let space = Space::Palette {
            entries: &entries,
            chroma: 1.0,
        };
        let color = |i: usize| {
            Some(if i % 8 < 4 {
                [0.33, 0.0, 0.0]
            } else {
                [1.0, 0.0, 0.0]
            })
        };
        for d in [Dither::FloydSteinberg, Dither::Atkinson] {
            let mut codes = Codes::for_count(3, 64).unwrap();
            apply(64, 8, &color, &space, d, &mut codes);
            for i in (0..64).filter(|i| i % 8 >= 4) {
                assert_eq!(codes.get(i), 2, "{d:?}: white cell {i} got a dither dot");
            }
        }
    }
}
