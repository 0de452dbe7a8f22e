//! Embedded ICC colour profiles: how a decoder's samples become linear-light sRGB, as a
//! colour-managed viewer (a browser, Photoshop) shows them.
//!
//! Two ways in:
//! - **Matrix/TRC profiles** (what phones and cameras write: Display P3, Adobe RGB, ProPhoto, and
//!   grey profiles), read by `icc`: each channel goes through the profile's tone curve into the
//!   profile's linear RGB, cells are averaged there, and each cell mean is then taken to linear
//!   sRGB by a 3×3 matrix (profile RGB → PCS XYZ (D50) → sRGB). The matrix is linear, so averaging
//!   first and converting second is exact, and it costs nothing per pixel. Colours outside sRGB
//!   are clipped at the cell, as a display clips them. Native builds and the module do this alike.
//! - **LUT-based profiles** (CMYK, and RGB profiles with only A2B tables) are converted per pixel
//!   to 8-bit sRGB by `moxcms`, a colour-management crate, before averaging. That needs its LUT
//!   engine, which only the native build carries (cargo feature `cms-lut`); the deployed module
//!   ignores such profiles and says so in the report.
//!
//! A profile equivalent to sRGB is treated as no profile, so the common sRGB-tagged file costs
//! nothing and gives the same bytes as an untagged one. A profile that cannot be read is ignored,
//! with the reason in the report, never an error: the pixels are still there.

use serde::Serialize;

use super::colorspace::linear_to_srgb;
use super::icc::{self, Shaper, Space};

/// What happened to an embedded profile, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileReport {
    /// The profile's own description (e.g. "Display P3"), or a placeholder when it has none.
    pub name: String,
    /// Whether colours were converted with it.
    pub applied: bool,
    /// What was done, or why the profile was ignored.
    pub note: String,
}

/// How decoded samples turn into linear sRGB.
pub(crate) enum Conversion {
    /// Plain sRGB: no profile, or one equivalent to sRGB.
    Srgb,
    /// Per-channel tone curves into the profile's linear RGB (`tables`, indexed by the 8-bit
    /// sample), then `matrix` (row-major, profile linear RGB → linear sRGB) on every cell mean.
    Shaper {
        tables: Box<[[f32; 256]; 3]>,
        matrix: [[f32; 3]; 3],
    },
    /// Every pixel converted to 8-bit sRGB by the CMS before it is summed.
    #[cfg(feature = "cms-lut")]
    PerPixel(PerPixel),
}

impl std::fmt::Debug for Conversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conversion::Srgb => "Srgb",
            Conversion::Shaper { .. } => "Shaper",
            #[cfg(feature = "cms-lut")]
            Conversion::PerPixel(_) => "PerPixel",
        })
    }
}

/// The samples a profile is asked to convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Samples {
    /// Grey, grey + alpha, RGB or RGBA: the profile must be a grey or RGB profile.
    GrayOrRgb { gray: bool },
    /// Four CMYK channels in ICC encoding (0 = no ink): the profile must be a CMYK profile.
    Cmyk,
}

/// Whether converting `samples` by `icc` takes lookup tables (a CMS step per pixel), which only
/// native builds have.
#[cfg(feature = "cms-lut")]
pub(crate) fn needs_lookup_tables(icc: &[u8], samples: Samples) -> bool {
    matches!(conversion(icc, samples).0, Conversion::PerPixel(_))
}

/// Reads `icc` (the bytes of an embedded profile) and decides how samples of kind `samples`
/// are converted, with what the report should say.
pub(crate) fn conversion(icc: &[u8], samples: Samples) -> (Conversion, ProfileReport) {
    let profile = match icc::read(icc) {
        Ok(p) => p,
        Err(e) => {
            return (
                Conversion::Srgb,
                report(
                    "unreadable profile".into(),
                    false,
                    format!("ignored: the embedded profile could not be read ({e}); shown as sRGB"),
                ),
            );
        }
    };
    let name = if profile.name.is_empty() {
        "unnamed profile".to_string()
    } else {
        profile.name.clone()
    };
    let fits = match samples {
        Samples::GrayOrRgb { gray: true } => profile.space == Space::Gray,
        Samples::GrayOrRgb { gray: false } => profile.space == Space::Rgb,
        Samples::Cmyk => profile.space == Space::Cmyk,
    };
    if !fits {
        let what = match samples {
            Samples::GrayOrRgb { gray: true } => "grey",
            Samples::GrayOrRgb { gray: false } => "RGB",
            Samples::Cmyk => "CMYK",
        };
        let note = format!(
            "ignored: a {} profile does not describe {what} samples; shown as sRGB",
            profile.space.name()
        );
        return (Conversion::Srgb, report(name, false, note));
    }
    match profile.shaper {
        Some(shaper) if is_srgb(&shaper) => (
            Conversion::Srgb,
            report(name, false, "sRGB: nothing to convert".into()),
        ),
        Some(shaper) => {
            let how = if profile.space == Space::Gray {
                "converted to sRGB (grey tone curve)"
            } else {
                "converted to sRGB (matrix/TRC profile; cells averaged in its linear light)"
            };
            (
                Conversion::Shaper {
                    tables: Box::new(shaper.tables),
                    matrix: shaper.matrix,
                },
                report(name, true, how.into()),
            )
        }
        None => lut_profile(icc, name, profile.space.name()),
    }
}

fn report(name: String, applied: bool, note: String) -> ProfileReport {
    ProfileReport {
        name,
        applied,
        note,
    }
}

#[cfg(feature = "cms-lut")]
fn lut_profile(icc: &[u8], name: String, kind: &str) -> (Conversion, ProfileReport) {
    match PerPixel::new(icc, kind == "CMYK") {
        Ok(per_pixel) => (
            Conversion::PerPixel(per_pixel),
            report(
                name,
                true,
                format!("converted to sRGB pixel by pixel ({kind} profile with lookup tables)"),
            ),
        ),
        Err(e) => (
            Conversion::Srgb,
            report(
                name,
                false,
                format!("ignored: the {kind} profile could not be used ({e}); shown as sRGB"),
            ),
        ),
    }
}

#[cfg(not(feature = "cms-lut"))]
fn lut_profile(_icc: &[u8], name: String, kind: &str) -> (Conversion, ProfileReport) {
    let shown = if kind == "CMYK" {
        "the inks were converted without a profile"
    } else {
        "shown as sRGB"
    };
    (
        Conversion::Srgb,
        report(
            name,
            false,
            format!(
                "ignored: this {kind} profile is built from lookup tables, which need the \
                 colour-management engine this build leaves out to stay small (the native CLI and \
                 MCP server have it); {shown}"
            ),
        ),
    )
}

/// A per-pixel CMS transform to 8-bit sRGB (native builds).
#[cfg(feature = "cms-lut")]
pub(crate) struct PerPixel {
    transform: std::sync::Arc<moxcms::Transform8BitExecutor>,
}

#[cfg(feature = "cms-lut")]
impl PerPixel {
    fn new(icc: &[u8], cmyk: bool) -> Result<Self, moxcms::CmsError> {
        let profile = moxcms::ColorProfile::new_from_slice(icc)?;
        // moxcms takes 8-bit CMYK in the RGBA layout.
        let layout = if cmyk {
            moxcms::Layout::Rgba
        } else {
            moxcms::Layout::Rgb
        };
        let transform = profile.create_transform_8bit(
            layout,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )?;
        Ok(PerPixel { transform })
    }

    /// Converts `src` (`channels` bytes per pixel) into `dst` (3 bytes per pixel, sRGB).
    pub fn convert(&self, src: &[u8], dst: &mut [u8]) {
        // Sizes are the caller's (matching widths); a mismatch is a bug, and the transform
        // leaves `dst` as it was.
        let _ = self.transform.transform(src, dst);
    }
}

/// Whether tone curves and matrix are sRGB's to within 8-bit precision: every sample
/// linearises to a value that encodes back to itself, and the matrix is the identity to 0.2 %.
fn is_srgb(shaper: &Shaper) -> bool {
    let curves = shaper.tables.iter().all(|t| {
        t.iter()
            .enumerate()
            .all(|(i, &v)| (linear_to_srgb(v) + 0.5) as usize == i)
    });
    let identity = shaper.matrix.iter().enumerate().all(|(r, row)| {
        row.iter()
            .enumerate()
            .all(|(c, &v)| (v - if r == c { 1.0 } else { 0.0 }).abs() < 2e-3)
    });
    curves && identity
}

#[cfg(all(test, feature = "cms-lut"))]
mod tests {
    use super::*;

    /// This crate's matrix/TRC reader against moxcms on the profiles a Debian machine carries
    /// (Ghostscript's Adobe RGB, ProPhoto, sRGB and grey), where present.
    #[test]
    fn the_matrix_trc_reader_agrees_with_moxcms() {
        let dir = std::path::Path::new("/usr/share/color/icc/ghostscript");
        let mut checked = 0;
        for name in [
            "a98.icc",
            "rommrgb.icc",
            "srgb.icc",
            "default_rgb.icc",
            "sgray.icc",
        ] {
            let Ok(bytes) = std::fs::read(dir.join(name)) else {
                continue;
            };
            let ours = icc::read(&bytes).unwrap();
            let Some(shaper) = ours.shaper else {
                continue;
            };
            let theirs = moxcms::ColorProfile::new_from_slice(&bytes).unwrap();
            let trc = if ours.space == Space::Gray {
                [&theirs.gray_trc, &theirs.gray_trc, &theirs.gray_trc]
            } else {
                [&theirs.red_trc, &theirs.green_trc, &theirs.blue_trc]
            };
            for (k, t) in trc.iter().enumerate() {
                let table = theirs.build_8bit_lin_table(t).unwrap();
                for i in 0..256 {
                    let d = (shaper.tables[k][i] - table[i]).abs();
                    assert!(d < 5e-4, "{name} channel {k} code {i}: {d}");
                }
            }
            if ours.space == Space::Rgb {
                let m = theirs.transform_matrix(&moxcms::ColorProfile::new_srgb());
                for r in 0..3 {
                    for c in 0..3 {
                        let d = (f64::from(shaper.matrix[r][c]) - m.v[r][c]).abs();
                        assert!(d < 2e-3, "{name} matrix [{r}][{c}]: {d}");
                    }
                }
            }
            checked += 1;
        }
        eprintln!("checked {checked} profiles against moxcms");
    }
}
