//! sRGB ↔ linear light ↔ Oklab, with the pure-Rust `libm` so every target rounds the same way.

use std::sync::OnceLock;

/// A colour in Oklab (L in 0..=1, a and b roughly -0.4..=0.4).
pub(crate) type Lab = [f32; 3];

include!(concat!(env!("OUT_DIR"), "/srgb_to_linear.rs"));

/// sRGB 8-bit value → linear light 0..=1, as a table (hot loop of the downscale): the sRGB
/// transfer function (IEC 61966-2-1), computed by build.rs (see [`SRGB_TO_LINEAR`]).
pub(crate) fn srgb_to_linear_table() -> &'static [f32; 256] {
    &SRGB_TO_LINEAR
}

/// Linear light 0..=1 → sRGB 0..=255 as a float (not rounded).
pub(crate) fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    let c = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * libm::powf(v, 1.0 / 2.4) - 0.055
    };
    c * 255.0
}

/// Linear light → sRGB 8-bit, rounded.
pub(crate) fn linear_to_srgb8(rgb: [f32; 3]) -> [u8; 3] {
    rgb.map(|v| (linear_to_srgb(v) + 0.5) as u8)
}

/// Linear sRGB → Oklab (Björn Ottosson's matrices).
pub(crate) fn linear_to_oklab([r, g, b]: [f32; 3]) -> Lab {
    let l = 0.412_221_46 * r + 0.536_332_55 * g + 0.051_445_995 * b;
    let m = 0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b;
    let s = 0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b;
    let (l, m, s) = (libm::cbrtf(l), libm::cbrtf(m), libm::cbrtf(s));
    [
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    ]
}

/// Oklab → linear sRGB (may fall outside 0..=1 for out-of-gamut colours).
pub(crate) fn oklab_to_linear([l, a, b]: Lab) -> [f32; 3] {
    let l_ = l + 0.396_337_78 * a + 0.215_803_76 * b;
    let m_ = l - 0.105_561_346 * a - 0.063_854_17 * b;
    let s_ = l - 0.089_484_18 * a - 1.291_485_5 * b;
    let (l, m, s) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    [
        4.076_741_7 * l - 3.307_711_6 * m + 0.230_969_94 * s,
        -1.268_438 * l + 2.609_757_4 * m - 0.341_319_38 * s,
        -0.004_196_086_3 * l - 0.703_418_6 * m + 1.707_614_7 * s,
    ]
}

/// Linear light → sRGB 8-bit through a 65,536-entry table (built on first use): for stores
/// that keep one byte per channel, where three `powf` per cell would dominate.
pub(crate) fn linear_to_srgb8_fast(rgb: [f32; 3]) -> [u8; 3] {
    static TABLE: OnceLock<Box<[u8; 65536]>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = Box::new([0u8; 65536]);
        for (i, v) in t.iter_mut().enumerate() {
            *v = (linear_to_srgb(i as f32 / 65535.0) + 0.5) as u8;
        }
        t
    });
    rgb.map(|v| table[(v.clamp(0.0, 1.0) * 65535.0 + 0.5) as usize])
}

/// sRGB 8-bit → Oklab.
pub(crate) fn srgb8_to_oklab(c: [u8; 3]) -> Lab {
    let t = srgb_to_linear_table();
    linear_to_oklab([t[c[0] as usize], t[c[1] as usize], t[c[2] as usize]])
}

/// Oklab → sRGB 8-bit (clipped to the gamut).
pub(crate) fn oklab_to_srgb8(lab: Lab) -> [u8; 3] {
    linear_to_srgb8(oklab_to_linear(lab))
}

/// Squared Euclidean distance in Oklab.
#[inline]
pub(crate) fn dist2(a: Lab, b: Lab) -> f32 {
    let (dl, da, db) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    dl * dl + da * da + db * db
}

/// `#rrggbb`.
pub(crate) fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oklab_round_trips_every_grey_and_primary() {
        for c in [
            [0, 0, 0],
            [255, 255, 255],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [128, 64, 200],
        ] {
            assert_eq!(oklab_to_srgb8(srgb8_to_oklab(c)), c);
        }
        let white = srgb8_to_oklab([255, 255, 255]);
        assert!((white[0] - 1.0).abs() < 1e-3 && white[1].abs() < 1e-3 && white[2].abs() < 1e-3);
    }

    #[test]
    fn linear_table_matches_the_srgb_curve() {
        let t = srgb_to_linear_table();
        for (i, &v) in t.iter().enumerate() {
            let c = i as f32 / 255.0;
            let curve = if c <= 0.04045 {
                c / 12.92
            } else {
                libm::powf((c + 0.055) / 1.055, 2.4)
            };
            assert_eq!(v.to_bits(), curve.to_bits(), "entry {i}");
        }
        assert_eq!(t[0], 0.0);
        assert!((t[255] - 1.0).abs() < 1e-6);
        assert!((t[128] - 0.2158605).abs() < 1e-5);
        for i in 0..=255u8 {
            assert_eq!((linear_to_srgb(t[i as usize]) + 0.5) as u8, i);
        }
    }
}
