//! Detail that reads at small sizes (`detail` option): thin dark lines, text and small saturated
//! features keep a cell of their own colour when a box mean would average them away.
//!
//! The idea is that of content-adaptive downscaling (Kopf, Shamir and Peers, "Content-Adaptive
//! Image Downscaling", SIGGRAPH Asia 2013) and of hand-made pixel art: a cell is not always the
//! mean of its pixels; a minority feature that stands out (a 1-px outline, an eye, a letter's
//! stroke) may claim it. Done here cheaply and in one streaming pass: while a cell's pixels are
//! summed, its darkest and its most saturated pixel are remembered, with their spread; when the
//! cell closes, a two-level model (pixels are either the feature or the background) estimates how
//! much of the cell the feature covers from the mean and the extremes:
//! `share = (background − mean) / (background − feature)`. A strong feature covering a minority of
//! the cell pulls the cell's colour toward itself, the more the thinner it is, times the strength.
//! A feature covering most of the cell already sets its mean, and a cell without contrast is left
//! alone, so flat areas and gradients are untouched.

/// A feature covering at most this share of a cell may claim it (thinner ones claim it more).
const MINORITY: f32 = 0.4;
/// How far apart (in perceptual lightness, cube root of luminance) the darkest and the lightest
/// pixel must be for a dark feature to count: a dark grey line on white, not texture.
const DARK_CONTRAST: f32 = 0.25;
/// How much more saturated (sRGB max − min, 0..=255) than the cell's mean colour a pixel must be
/// for a saturated feature to count: a green eye on a face, not skin tone.
const SATURATION_CONTRAST: f32 = 60.0;

/// What detail remembers about one cell while its pixels arrive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extremes {
    darkest_y: f32,
    darkest: [f32; 3],
    lightest_y: f32,
    /// sRGB chroma (max − min of the 8-bit samples) of the most saturated pixel, and its colour.
    vivid_c: f32,
    vivid: [f32; 3],
    least_c: f32,
    /// Σ chroma and pixel count, for the mean chroma.
    sum_c: f32,
    count: f32,
}

impl Default for Extremes {
    fn default() -> Self {
        Extremes {
            darkest_y: f32::INFINITY,
            darkest: [0.0; 3],
            lightest_y: f32::NEG_INFINITY,
            vivid_c: -1.0,
            vivid: [0.0; 3],
            least_c: f32::INFINITY,
            sum_c: 0.0,
            count: 0.0,
        }
    }
}

/// Relative luminance of linear RGB (ITU-R BT.709 / sRGB primaries).
pub(crate) fn luminance(rgb: [f32; 3]) -> f32 {
    0.212_672_9 * rgb[0] + 0.715_152_2 * rgb[1] + 0.072_175 * rgb[2]
}

impl Extremes {
    /// Notes one opaque pixel: `rgb` in linear light, `chroma` its sRGB max − min.
    #[inline]
    pub fn observe(&mut self, rgb: [f32; 3], chroma: f32) {
        let y = luminance(rgb);
        if y < self.darkest_y {
            self.darkest_y = y;
            self.darkest = rgb;
        }
        if y > self.lightest_y {
            self.lightest_y = y;
        }
        if chroma > self.vivid_c {
            self.vivid_c = chroma;
            self.vivid = rgb;
        }
        self.least_c = self.least_c.min(chroma);
        self.sum_c += chroma;
        self.count += 1.0;
    }

    /// The cell's colour with detail applied: `mean` (linear light) pulled toward a minority
    /// feature by up to `strength` (0..=1).
    pub fn apply(&self, mean: [f32; 3], strength: f32) -> [f32; 3] {
        if self.count < 2.0 || strength <= 0.0 {
            return mean;
        }
        let dark = self.dark_claim(mean);
        let vivid = self.vivid_claim(mean);
        let (weight, feature) = if dark >= vivid {
            (dark, self.darkest)
        } else {
            (vivid, self.vivid)
        };
        let w = weight * strength;
        if w <= 0.0 {
            return mean;
        }
        // Mixed in perceptual lightness (the cube root of linear light, as Oklab's L), so a
        // strength of 50 takes a cell halfway in how light it looks: mixed in linear light, a
        // 1-px black line's cell at block 4 stayed a light grey until strength 100.
        [0, 1, 2].map(|k| {
            let (m, f) = (
                libm::cbrtf(mean[k].max(0.0)),
                libm::cbrtf(feature[k].max(0.0)),
            );
            let v = m + (f - m) * w;
            v * v * v
        })
    }

    /// How strongly the darkest pixel claims the cell (0..=1).
    fn dark_claim(&self, mean: [f32; 3]) -> f32 {
        let (lo, hi) = (self.darkest_y, self.lightest_y);
        if libm::cbrtf(hi) - libm::cbrtf(lo.max(0.0)) < DARK_CONTRAST {
            return 0.0;
        }
        let share = (hi - luminance(mean)) / (hi - lo);
        claim(share)
    }

    /// How strongly the most saturated pixel claims the cell (0..=1).
    fn vivid_claim(&self, mean: [f32; 3]) -> f32 {
        let mean_chroma = srgb_chroma(mean);
        if self.vivid_c - mean_chroma < SATURATION_CONTRAST || self.vivid_c <= self.least_c {
            return 0.0;
        }
        let share = (self.sum_c / self.count - self.least_c) / (self.vivid_c - self.least_c);
        claim(share)
    }
}

/// A feature's claim on its cell from the share it covers: none above [`MINORITY`], rising to
/// full at [`FULL_CLAIM`].
fn claim(share: f32) -> f32 {
    if !(0.0..MINORITY).contains(&share) {
        return 0.0;
    }
    ((MINORITY - share) / (MINORITY - FULL_CLAIM)).min(1.0)
}

/// A feature covering at most this share of a cell claims it fully: a 1-px line across a 4×4
/// cell covers a quarter.
const FULL_CLAIM: f32 = 0.25;

/// The sRGB max − min (0..=255) of a linear colour.
fn srgb_chroma(rgb: [f32; 3]) -> f32 {
    let s = rgb.map(super::colorspace::linear_to_srgb);
    s[0].max(s[1]).max(s[2]) - s[0].min(s[1]).min(s[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(pixels: &[([f32; 3], f32)]) -> ([f32; 3], Extremes) {
        let mut e = Extremes::default();
        let mut sum = [0.0; 3];
        for &(rgb, _) in pixels {
            e.observe(rgb, srgb_chroma(rgb));
            (0..3).for_each(|k| sum[k] += rgb[k]);
        }
        (sum.map(|v| v / pixels.len() as f32), e)
    }

    #[test]
    fn a_thin_dark_line_claims_its_cell_and_a_flat_cell_stays() {
        // 4×4 of white with a 1-px black line: 4 of 16 pixels.
        let mut px = vec![([1.0f32; 3], 0.0); 12];
        px.extend(vec![([0.0f32; 3], 0.0); 4]);
        let (mean, e) = cell(&px);
        let out = e.apply(mean, 1.0);
        assert!(
            luminance(out) < 0.3 * luminance(mean),
            "{out:?} vs mean {mean:?}"
        );
        let (flat, e) = cell(&vec![([0.4f32; 3], 0.0); 16]);
        assert_eq!(e.apply(flat, 1.0), flat);
        // Half dark, half light is an edge, not a minority feature: the mean stays.
        let mut half = vec![([1.0f32; 3], 0.0); 8];
        half.extend(vec![([0.0f32; 3], 0.0); 8]);
        let (mean, e) = cell(&half);
        assert_eq!(e.apply(mean, 1.0), mean);
    }

    #[test]
    fn a_small_saturated_dot_claims_a_greyish_cell() {
        // A green dot (2 of 16 pixels) on a beige face.
        let beige = ([0.7, 0.45, 0.3], 80.0);
        let green = ([0.01, 0.35, 0.04], 130.0);
        let mut px = vec![beige; 14];
        px.extend([green, green]);
        let (mean, e) = cell(&px);
        let out = e.apply(mean, 1.0);
        assert!(out[1] > out[0], "the cell should turn green: {out:?}");
    }
}
