//! Matching cells to a fixed palette (PICO-8, Game Boy, custom hex): CIEDE2000 in CIELAB.
//!
//! Why not Euclidean Oklab, which builds adaptive palettes so well: a fixed palette offers few,
//! far-apart entries, and the nearest in Oklab often is the one at the right lightness but the
//! wrong hue — near-black blue-greys go to PICO-8's navy, dark reds to navy, cyans to light grey.
//! CIEDE2000 (CIE 142-2001) weighs lightness less for dark and light colours and keeps hue and
//! chroma apart, and on the cases that went wrong it picks what a pixel artist (and Pillow's plain
//! RGB nearest) picks, while keeping lightness order; the quality benchmark
//! (`benches/quality.py`) measures it against Oklab and the peers on whole images.
//!
//! CIEDE2000 in turn weighs chroma lightly at high chroma, so a saturated colour far from every
//! entry can land on a neutral grey (pure cyan on PICO-8's light grey); a clearly chromatic cell
//! keeps an entry of its own hue when one is nearly as close ([`Matcher::ranked`]).
//!
//! Cost: the Euclidean CIELAB distance (ΔE*ab, cheap) ranks the entries first and CIEDE2000 only
//! decides among the nearest few, so a 16-colour palette costs about six CIEDE2000 evaluations per
//! cell, on the grid only.

use super::colorspace::{Lab, srgb_to_linear_table};
use super::sort::sort_by;

/// CIELAB (D65 white, the sRGB reference), L* 0..=100.
pub(crate) type CieLab = [f32; 3];

/// Linear-light sRGB (0..=1) → CIELAB (D65). Matrix from IEC 61966-2-1 (sRGB → XYZ), white
/// (0.95047, 1, 1.08883); the CIE 1976 formulas with ε = 216/24389, κ = 24389/27.
pub(crate) fn linear_to_cielab([r, g, b]: [f32; 3]) -> CieLab {
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| {
        if t > 216.0 / 24389.0 {
            libm::cbrtf(t)
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIELAB (D65) → linear-light sRGB, the inverse of [`linear_to_cielab`] (the CIE 1976 inverse
/// formulas; the XYZ → sRGB matrix of IEC 61966-2-1). Out-of-gamut colours give values outside
/// 0..=1.
pub(crate) fn cielab_to_linear([l, a, b]: CieLab) -> [f32; 3] {
    let fy = (l + 16.0) / 116.0;
    let (fx, fz) = (fy + a / 500.0, fy - b / 200.0);
    let inverse = |f: f32| {
        if f > 6.0 / 29.0 {
            f * f * f
        } else {
            (116.0 * f - 16.0) * 27.0 / 24389.0
        }
    };
    let (x, y, z) = (inverse(fx) * 0.950_47, inverse(fy), inverse(fz) * 1.088_83);
    [
        3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z,
        -0.969_266 * x + 1.876_010_8 * y + 0.041_556 * z,
        0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z,
    ]
}

/// sRGB 8-bit → CIELAB.
pub(crate) fn srgb8_to_cielab(c: [u8; 3]) -> CieLab {
    let t = srgb_to_linear_table();
    linear_to_cielab([t[c[0] as usize], t[c[1] as usize], t[c[2] as usize]])
}

/// CIEDE2000 colour difference between two CIELAB colours, per Sharma, Wu and Dalal (2005),
/// "The CIEDE2000 color-difference formula: implementation notes", with kL = kC = kH = 1.
/// (Square roots are the platform's: IEEE 754 rounds them exactly on every target, so they need
/// no `libm`, and wasm has an instruction for them.)
pub(crate) fn ciede2000(lab1: CieLab, lab2: CieLab) -> f32 {
    use core::f32::consts::PI;
    let deg = PI / 180.0;
    let [l1, a1, b1] = lab1;
    let [l2, a2, b2] = lab2;
    let c1 = f32::sqrt(a1 * a1 + b1 * b1);
    let c2 = f32::sqrt(a2 * a2 + b2 * b2);
    let c_bar7 = pow7((c1 + c2) / 2.0);
    let g = 0.5 * (1.0 - f32::sqrt(c_bar7 / (c_bar7 + 6_103_515_625.0)));
    let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
    let c1p = f32::sqrt(a1p * a1p + b1 * b1);
    let c2p = f32::sqrt(a2p * a2p + b2 * b2);
    let hue = |b: f32, a: f32| {
        if a == 0.0 && b == 0.0 {
            0.0
        } else {
            let h = libm::atan2f(b, a) / deg;
            if h < 0.0 { h + 360.0 } else { h }
        }
    };
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let dl = l2 - l1;
    let dc = c2p - c1p;
    let dh = if c1p * c2p == 0.0 {
        0.0
    } else {
        let d = h2p - h1p;
        if d > 180.0 {
            d - 360.0
        } else if d < -180.0 {
            d + 360.0
        } else {
            d
        }
    };
    let dh_big = 2.0 * f32::sqrt(c1p * c2p) * libm::sinf(dh * deg / 2.0);
    let l_bar = (l1 + l2) / 2.0;
    let c_bar_p = (c1p + c2p) / 2.0;
    let h_bar = if c1p * c2p == 0.0 {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let t = 1.0 - 0.17 * libm::cosf((h_bar - 30.0) * deg)
        + 0.24 * libm::cosf(2.0 * h_bar * deg)
        + 0.32 * libm::cosf((3.0 * h_bar + 6.0) * deg)
        - 0.20 * libm::cosf((4.0 * h_bar - 63.0) * deg);
    let d_theta = 30.0 * libm::expf(-((h_bar - 275.0) / 25.0) * ((h_bar - 275.0) / 25.0));
    let c_bar_p7 = pow7(c_bar_p);
    let rc = 2.0 * f32::sqrt(c_bar_p7 / (c_bar_p7 + 6_103_515_625.0));
    let l50 = (l_bar - 50.0) * (l_bar - 50.0);
    let sl = 1.0 + 0.015 * l50 / f32::sqrt(20.0 + l50);
    let sc = 1.0 + 0.045 * c_bar_p;
    let sh = 1.0 + 0.015 * c_bar_p * t;
    let rt = -libm::sinf(2.0 * d_theta * deg) * rc;
    let (tl, tc, th) = (dl / sl, dc / sc, dh_big / sh);
    f32::sqrt((tl * tl + tc * tc + th * th + rt * tc * th).max(0.0))
}

fn pow7(x: f32) -> f32 {
    let x2 = x * x;
    x2 * x2 * x2 * x
}

/// How many entries, ranked by ΔE*ab, CIEDE2000 decides among. ΔE*ab and CIEDE2000 disagree on
/// the order of entries that are close in ΔE*ab, never about one that is far behind the sixth.
const SHORTLIST: usize = 6;

/// A fixed palette prepared for matching.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    /// Entries in CIELAB, with chroma scaled by `chroma` (see [`Matcher::new`]).
    entries: Vec<CieLab>,
    chroma: f32,
}

impl Matcher {
    /// `palette` in sRGB; `chroma` scales a* and b* of entries and cells alike (2 in `--vivid`
    /// mode, so chroma differences count double, as in palette building).
    pub fn new(palette: &[[u8; 3]], chroma: f32) -> Self {
        Matcher {
            entries: palette
                .iter()
                .map(|&c| stretch(srgb8_to_cielab(c), chroma))
                .collect(),
            chroma,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entry `i` in the matching space.
    pub fn entry(&self, i: usize) -> CieLab {
        self.entries[i]
    }

    /// A cell (linear-light sRGB) in the matching space.
    pub fn lab(&self, linear: [f32; 3]) -> CieLab {
        stretch(linear_to_cielab(linear), self.chroma)
    }

    /// A colour of the matching space in linear-light sRGB (the inverse of [`Matcher::lab`]).
    pub fn linear(&self, c: CieLab) -> [f32; 3] {
        cielab_to_linear(stretch(c, 1.0 / self.chroma))
    }

    /// Whether entry `i` would turn cell `c`, which has a hue (C*ab ≥ [`NEUTRAL_CELL`]), to another
    /// one: the entry is tinted (C*ab ≥ [`NEUTRAL_ENTRY`]) with a hue more than [`HUE_KEEP`]
    /// degrees from the cell's, as PICO-8's navy is from a dark red, or a wine red from a
    /// green-black. Dithering keeps such entries out of a cell's pattern where it can.
    pub fn turns_hue(&self, c: CieLab, i: usize) -> bool {
        let e = self.entries[i];
        let chroma = |lab: CieLab| libm::hypotf(lab[1], lab[2]) / self.chroma;
        chroma(c) >= NEUTRAL_CELL && chroma(e) >= NEUTRAL_ENTRY && !within_hue_keep(e, c)
    }

    /// The nearest entry to `c` by CIEDE2000, and its distance (the first on a tie).
    pub fn nearest(&self, c: CieLab) -> (usize, f32) {
        self.ranked(c).first().copied().unwrap_or((0, 0.0))
    }

    /// The shortlist of entries nearest to `c`, by CIEDE2000, nearest first (ties keep palette
    /// order).
    pub fn ranked(&self, c: CieLab) -> Vec<(usize, f32)> {
        let mut by_ab: Vec<(usize, f32)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, &e)| (i, dist2(e, c)))
            .collect();
        sort_by(&mut by_ab, |x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
        by_ab.truncate(SHORTLIST);
        let mut ranked: Vec<(usize, f32)> = by_ab
            .into_iter()
            .map(|(i, _)| (i, ciede2000(c, self.entries[i])))
            .collect();
        sort_by(&mut ranked, |x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
        self.keep_chroma(c, &mut ranked);
        ranked
    }

    /// A clearly chromatic cell whose nearest entry is a neutral grey is drawn with the nearest
    /// entry of its own hue instead, and a neutral cell whose nearest entry is tinted with the
    /// nearest neutral one, (within [`HUE_KEEP`] degrees) when that one is at most
    /// [`NEUTRAL_MARGIN`] farther: CIEDE2000 weighs chroma lightly at high chroma, so pure cyan
    /// is 27.0 from PICO-8's light grey and 30.2 from its blue, and a cyan figure turned grey.
    fn keep_chroma(&self, c: CieLab, ranked: &mut [(usize, f32)]) {
        let chroma = |lab: CieLab| libm::hypotf(lab[1], lab[2]) / self.chroma;
        let Some(&(first, d0)) = ranked.first() else {
            return;
        };
        let (cell, nearest) = (chroma(c), chroma(self.entries[first]));
        let keeps_hue = |e: CieLab| chroma(e) >= NEUTRAL_ENTRY && within_hue_keep(e, c);
        let keeps_neutral = |e: CieLab| chroma(e) < NEUTRAL_ENTRY;
        // And the other way round: a neutral grey is drawn with a neutral entry rather than a
        // tinted one just as near (PICO-8's lavender is the nearest entry to a few greys of a
        // ramp, which then showed a lavender stripe).
        let wanted: &dyn Fn(CieLab) -> bool = if cell >= CHROMATIC_CELL && nearest < NEUTRAL_ENTRY {
            &keeps_hue
        } else if cell < NEUTRAL_CELL && nearest >= TINTED_ENTRY {
            &keeps_neutral
        } else {
            return;
        };
        if let Some(k) = ranked
            .iter()
            .position(|&(i, d)| d <= NEUTRAL_MARGIN * d0 && wanted(self.entries[i]))
        {
            ranked[..=k].rotate_right(1);
        }
    }
}

/// C*ab from which a cell counts as clearly chromatic (a saturated sky, not a tinted grey).
const CHROMATIC_CELL: f32 = 20.0;
/// C*ab under which an entry counts as a neutral grey (PICO-8's greys are under 6).
const NEUTRAL_ENTRY: f32 = 8.0;
/// C*ab under which a cell counts as a neutral grey.
const NEUTRAL_CELL: f32 = 4.0;
/// C*ab from which an entry counts as tinted (PICO-8's lavender is 22.7).
const TINTED_ENTRY: f32 = 15.0;
/// How far (degrees of CIELAB hue) an entry may be from a chromatic cell's hue and still keep it:
/// cyan (196°) to PICO-8's blue (262°) is 66°.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "named for the docs and the test of COS_HUE_KEEP")
)]
const HUE_KEEP: f32 = 75.0;
/// cos [`HUE_KEEP`] (75°), as a constant: dithering asks [`within_hue_keep`] of several entries
/// for every cell, and a cosine each time is dear in the module (a test holds it equal to
/// `libm::cosf` of the angle).
const COS_HUE_KEEP: f32 = 0.258_819_07;

/// Whether `e`'s hue is within [`HUE_KEEP`] degrees of `c`'s (CIELAB a*, b*; any common chroma
/// scale).
fn within_hue_keep(e: CieLab, c: CieLab) -> bool {
    e[1] * c[1] + e[2] * c[2] >= COS_HUE_KEEP * libm::hypotf(e[1], e[2]) * libm::hypotf(c[1], c[2])
}

/// How much farther (as a factor of CIEDE2000) the hue-keeping entry may be than the grey.
const NEUTRAL_MARGIN: f32 = 1.2;

fn stretch(lab: CieLab, chroma: f32) -> CieLab {
    [lab[0], lab[1] * chroma, lab[2] * chroma]
}

fn dist2(a: Lab, b: Lab) -> f32 {
    let (dl, da, db) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dl * dl + da * da + db * db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_hue_keep_is_the_cosine_of_hue_keep() {
        assert_eq!(COS_HUE_KEEP, libm::cosf(HUE_KEEP.to_radians()));
    }

    #[test]
    fn cielab_to_linear_inverts_linear_to_cielab() {
        for rgb in [
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [0.002, 0.001, 0.004],
            [0.8, 0.05, 0.3],
            [0.1, 0.6, 0.9],
        ] {
            let back = cielab_to_linear(linear_to_cielab(rgb));
            for k in 0..3 {
                assert!(
                    (back[k] - rgb[k]).abs() < 1e-4,
                    "{rgb:?} came back as {back:?}"
                );
            }
        }
    }

    /// Sharma, Wu and Dalal (2005), Table 1: pairs and their CIEDE2000 differences.
    #[test]
    fn ciede2000_matches_the_published_test_data() {
        let pairs: &[([f32; 3], [f32; 3], f32)] = &[
            ([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485], 2.0425),
            ([50.0, 3.1571, -77.2803], [50.0, 0.0, -82.7485], 2.8615),
            ([50.0, 2.8361, -74.0200], [50.0, 0.0, -82.7485], 3.4412),
            ([50.0, -1.3802, -84.2814], [50.0, 0.0, -82.7485], 1.0000),
            ([50.0, 0.0, 0.0], [50.0, -1.0, 2.0], 2.3669),
            ([50.0, 2.49, -0.001], [50.0, -2.49, 0.0011], 7.2195),
            ([50.0, 2.5, 0.0], [73.0, 25.0, -18.0], 27.1492),
            ([50.0, 2.5, 0.0], [61.0, -5.0, 29.0], 22.8977),
            (
                [60.2574, -34.0099, 36.2677],
                [60.4626, -34.1751, 39.4387],
                1.2644,
            ),
            (
                [22.7233, 20.0904, -46.6940],
                [23.0331, 14.9730, -42.5619],
                2.0373,
            ),
            (
                [90.8027, -2.0831, 1.4410],
                [91.1528, -1.6435, 0.0447],
                1.4441,
            ),
            (
                [2.0776, 0.0795, -1.1350],
                [0.9033, -0.0636, -0.5514],
                0.9082,
            ),
        ];
        for &(a, b, want) in pairs {
            let got = ciede2000(a, b);
            assert!((got - want).abs() < 2e-3, "{a:?} {b:?}: {got} vs {want}");
            assert!(
                (ciede2000(b, a) - want).abs() < 2e-3,
                "not symmetric for {a:?} {b:?}"
            );
        }
    }

    /// Pure cyan is nearer PICO-8's light grey than its blue by CIEDE2000 (27.0 vs 30.2), and
    /// must still come out blue; a grey and a faintly tinted one still take the grey.
    #[test]
    fn a_saturated_cell_keeps_its_hue_rather_than_a_nearby_grey() {
        let pico8: Vec<[u8; 3]> = crate::engine::palettes::BUILT_IN[0]
            .hex
            .iter()
            .map(|&v| [(v >> 16) as u8, (v >> 8) as u8, v as u8])
            .collect();
        let m = Matcher::new(&pico8, 1.0);
        let name = |c: [u8; 3]| pico8[m.nearest(srgb8_to_cielab(c)).0];
        assert_eq!(name([0, 255, 255]), [0x29, 0xad, 0xff]);
        assert_eq!(name([0, 200, 200]), [0x29, 0xad, 0xff]);
        assert_eq!(name([194, 195, 199]), [0xc2, 0xc3, 0xc7]);
        assert_eq!(name([190, 200, 205]), [0xc2, 0xc3, 0xc7]);
        // Every neutral grey of a ramp takes a neutral entry, never the lavender beside them.
        for v in 0..=255u8 {
            let got = name([v, v, v]);
            assert_ne!(got, [0x83, 0x76, 0x9c], "grey {v} became lavender");
        }
    }

    #[test]
    fn cielab_of_the_primaries() {
        let white = srgb8_to_cielab([255, 255, 255]);
        assert!((white[0] - 100.0).abs() < 0.01 && white[1].abs() < 0.01 && white[2].abs() < 0.01);
        let red = srgb8_to_cielab([255, 0, 0]);
        assert!(
            (red[0] - 53.24).abs() < 0.05
                && (red[1] - 80.09).abs() < 0.1
                && (red[2] - 67.20).abs() < 0.1,
            "{red:?}"
        );
    }
}
