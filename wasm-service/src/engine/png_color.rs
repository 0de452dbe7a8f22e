//! The colour a PNG states without an ICC profile: `gAMA` (its samples' encoding gamma) and
//! `cHRM` (its primaries and white), which browsers apply when the file has neither `iCCP` nor
//! `sRGB` (PNG specification, 3rd edition, 4.3: `iCCP`, then `sRGB`, then `cHRM`/`gAMA`).
//!
//! A gamma of 1/2.2 with sRGB's primaries (or none) is what sRGB writers add for old decoders, and
//! is shown as sRGB, as image tools do; the rest is converted: linear data (`gAMA` 1.0, common
//! from scientific and rendering tools), old Mac files (1/1.8), wide-gamut primaries.

use super::color_profile::{Conversion, ProfileReport};
use super::colorspace::srgb_to_linear_table;
use super::icc::{invert, multiply};

/// Encoding gammas (× 100000) shown as sRGB: 1/2.2 is 45455; writers round it either way.
const NEAR_SRGB_GAMMA: std::ops::RangeInclusive<u32> = 45_000..=46_000;

/// sRGB's primaries and white (IEC 61966-2-1), as `cHRM` spells them: white, red, green, blue.
const SRGB_CHROMATICITIES: [[f64; 2]; 4] =
    [[0.3127, 0.3290], [0.64, 0.33], [0.30, 0.60], [0.15, 0.06]];

/// How samples of a PNG with these `gAMA` and `cHRM` chunk payloads (either may be absent)
/// become sRGB; `None` when they say sRGB (or nothing usable). `gray` samples take the gamma
/// only.
pub(crate) fn conversion(
    gama: Option<&[u8]>,
    chrm: Option<&[u8]>,
    gray: bool,
) -> Option<(Conversion, ProfileReport)> {
    let gamma = gama
        .and_then(|d| Some(u32::from_be_bytes(d.get(..4)?.try_into().ok()?)))
        .filter(|&g| g > 0 && g <= 1_000_000);
    let chromaticities = chrm.filter(|_| !gray).and_then(read_chrm);
    let matrix = match chromaticities {
        Some(c) => primaries_to_srgb(c)?,
        None => IDENTITY,
    };
    let primaries_are_srgb = is_identity(&matrix);
    if primaries_are_srgb && gamma.is_none_or(|g| NEAR_SRGB_GAMMA.contains(&g)) {
        return None;
    }
    let table = match gamma {
        // The decoding exponent is the inverse of the encoding gamma.
        Some(g) => {
            let exponent = 100_000.0 / g as f32;
            std::array::from_fn(|i| libm::powf(i as f32 / 255.0, exponent))
        }
        None => *srgb_to_linear_table(),
    };
    let mut said = Vec::new();
    if let Some(g) = gamma {
        // Integer arithmetic: formatting a float would add ~20 KB of code to the module.
        let hundredths = (10_000_000 + g / 2) / g;
        said.push(format!(
            "gAMA 1/{}.{:02}",
            hundredths / 100,
            hundredths % 100
        ));
    }
    if chromaticities.is_some() && !primaries_are_srgb {
        said.push("cHRM primaries".to_string());
    }
    let what = said.join(", ");
    Some((
        Conversion::Shaper {
            tables: Box::new([table, table, table]),
            matrix,
        },
        ProfileReport {
            name: format!("PNG {what}"),
            applied: true,
            note: format!("converted to sRGB from the file's {what} (it has no ICC profile)"),
        },
    ))
}

const IDENTITY: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn is_identity(m: &[[f32; 3]; 3]) -> bool {
    m.iter()
        .zip(IDENTITY.iter())
        .all(|(a, b)| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-3))
}

/// Whether a PNG's `cHRM` payload names primaries other than sRGB's, which only native builds
/// convert (the module leaves the matrix out to stay within its size budget; the gateway sends
/// it the native engine's sRGB pixels instead).
#[cfg(feature = "cms-lut")]
pub(crate) fn names_other_primaries(chrm: &[u8]) -> bool {
    read_chrm(chrm)
        .is_some_and(|c| c != SRGB_CHROMATICITIES && to_srgb(c).is_some_and(|m| !is_identity(&m)))
}

/// [`to_srgb`] natively; the module keeps sRGB's primaries (see [`names_other_primaries`]).
fn primaries_to_srgb(c: [[f64; 2]; 4]) -> Option<[[f32; 3]; 3]> {
    if cfg!(feature = "cms-lut") {
        to_srgb(c)
    } else {
        Some(IDENTITY)
    }
}

/// `cHRM`'s eight values (× 100000): white, red, green, blue, each x then y.
fn read_chrm(d: &[u8]) -> Option<[[f64; 2]; 4]> {
    let v = |i: usize| -> Option<f64> {
        let raw = u32::from_be_bytes(d.get(i * 4..i * 4 + 4)?.try_into().ok()?);
        Some(f64::from(raw) / 100_000.0)
    };
    let c = [
        [v(0)?, v(1)?],
        [v(2)?, v(3)?],
        [v(4)?, v(5)?],
        [v(6)?, v(7)?],
    ];
    c.iter().all(|p| p[1] > 0.0 && p[0] >= 0.0).then_some(c)
}

/// Linear RGB with these chromaticities → linear sRGB, the white adapted to D65 with Bradford
/// when it differs; `None` for primaries that make no invertible matrix.
fn to_srgb(c: [[f64; 2]; 4]) -> Option<[[f32; 3]; 3]> {
    let source = rgb_to_xyz(c)?;
    let adapted = multiply(&bradford(xyz(c[0]), xyz(SRGB_CHROMATICITIES[0])), &source);
    let m = multiply(&invert(&rgb_to_xyz(SRGB_CHROMATICITIES)?), &adapted);
    let m = m.map(|row| row.map(|v| v as f32));
    m.iter().flatten().all(|v| v.is_finite()).then_some(m)
}

/// XYZ (Y = 1) of chromaticity `[x, y]`.
fn xyz([x, y]: [f64; 2]) -> [f64; 3] {
    [x / y, 1.0, (1.0 - x - y) / y]
}

/// The RGB → XYZ matrix whose white (RGB 1, 1, 1) is `c[0]` (SMPTE RP 177).
fn rgb_to_xyz(c: [[f64; 2]; 4]) -> Option<[[f64; 3]; 3]> {
    let columns = [xyz(c[1]), xyz(c[2]), xyz(c[3])];
    let m: [[f64; 3]; 3] = [0, 1, 2].map(|row| columns.map(|col| col[row]));
    let white = xyz(c[0]);
    let inverse = invert(&m);
    let s = [0, 1, 2].map(|r| (0..3).map(|k| inverse[r][k] * white[k]).sum::<f64>());
    let scaled = m.map(|row| [row[0] * s[0], row[1] * s[1], row[2] * s[2]]);
    scaled
        .iter()
        .flatten()
        .all(|v| v.is_finite())
        .then_some(scaled)
}

/// Bradford chromatic adaptation from white `from` to white `to` (XYZ).
fn bradford(from: [f64; 3], to: [f64; 3]) -> [[f64; 3]; 3] {
    const B: [[f64; 3]; 3] = [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ];
    let cone = |w: [f64; 3]| [0, 1, 2].map(|r| (0..3).map(|k| B[r][k] * w[k]).sum::<f64>());
    let (f, t) = (cone(from), cone(to));
    let scale = [
        [t[0] / f[0], 0.0, 0.0],
        [0.0, t[1] / f[1], 0.0],
        [0.0, 0.0, t[2] / f[2]],
    ];
    multiply(&invert(&B), &multiply(&scale, &B))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrm(c: [[f64; 2]; 4]) -> Vec<u8> {
        c.iter()
            .flatten()
            .flat_map(|v| ((v * 100_000.0).round() as u32).to_be_bytes())
            .collect()
    }

    #[test]
    fn srgb_as_png_chunks_changes_nothing_and_linear_data_is_converted() {
        let gama_srgb = 45_455u32.to_be_bytes();
        assert!(conversion(Some(&gama_srgb), None, false).is_none());
        assert!(conversion(Some(&gama_srgb), Some(&chrm(SRGB_CHROMATICITIES)), false).is_none());
        assert!(conversion(None, None, false).is_none());
        let linear = 100_000u32.to_be_bytes();
        let (Conversion::Shaper { tables, matrix }, report) =
            conversion(Some(&linear), None, false).unwrap()
        else {
            panic!("a shaper")
        };
        assert!((tables[0][128] - 128.0 / 255.0).abs() < 1e-6);
        assert!(is_identity(&matrix));
        assert!(
            report.applied && report.name.contains("gAMA 1/1.00"),
            "{report:?}"
        );
    }

    #[test]
    #[cfg(feature = "cms-lut")]
    fn adobe_rgb_primaries_widen_the_gamut() {
        let adobe = [[0.3127, 0.3290], [0.64, 0.33], [0.21, 0.71], [0.15, 0.06]];
        let gama = 45_455u32.to_be_bytes();
        let (Conversion::Shaper { matrix, .. }, _) =
            conversion(Some(&gama), Some(&chrm(adobe)), false).unwrap()
        else {
            panic!("a shaper")
        };
        // The known Adobe RGB (1998) → sRGB matrix (both D65).
        let known = [
            [1.3982, -0.3982, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -0.0429, 1.0429],
        ];
        for (row, want) in matrix.iter().zip(known) {
            for (v, w) in row.iter().zip(want) {
                assert!((v - w).abs() < 1e-3, "{matrix:?}");
            }
        }
        // Each row sums to 1: white stays white.
        for row in matrix {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-3, "{row:?}");
        }
    }
}
