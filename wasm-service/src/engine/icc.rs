//! A reader for the ICC profiles phones and cameras embed: matrix/TRC RGB profiles (Display P3,
//! Adobe RGB, ProPhoto, sRGB) and grey TRC profiles, per ICC.1:2022 (tag types `XYZ `, `curv`,
//! `para`, `desc`, `mluc`).
//!
//! Why not the colour-management crate here: measured in the deployed module (wasm32, opt-level s,
//! LTO), `moxcms` adds 155 KB and `qcms` 90 KB to a module whose budget is 400 KiB and which every
//! request loads; this reader adds a few KB. It does only what those profiles need (tone curves to
//! 256-entry tables and the colorant matrix), the rest — profiles built from lookup tables, CMYK —
//! goes to `moxcms` in native builds (`color_profile`), and the tests check this reader against
//! `moxcms` and LittleCMS on real profiles.
//!
//! All arithmetic is plain IEEE f32/f64 with `libm`, so native and wasm builds give the same tables
//! and matrix bit for bit.

/// What a matrix/TRC or grey profile says about its samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shaper {
    /// Each channel's tone curve sampled at the 256 8-bit codes, in linear light (0..=1).
    /// Grey profiles repeat their one curve.
    pub tables: [[f32; 256]; 3],
    /// Profile linear RGB → linear sRGB, row-major (the identity for grey).
    pub matrix: [[f32; 3]; 3],
}

/// A profile as far as this reader understands it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    /// The profile's description (`desc`), trimmed; empty if it has none.
    pub name: String,
    pub space: Space,
    /// Present for matrix/TRC RGB and TRC grey profiles.
    pub shaper: Option<Shaper>,
}

/// The profile's data colour space (header bytes 16..20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    Rgb,
    Gray,
    Cmyk,
    Other,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::Rgb => "RGB",
            Space::Gray => "grey",
            Space::Cmyk => "CMYK",
            Space::Other => "non-RGB",
        }
    }
}

/// Why a profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError(pub &'static str);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The colorants of the sRGB profile (IEC 61966-2-1 primaries and D65 white, Bradford-adapted to
/// the D50 profile connection space), as every sRGB ICC profile carries them in rXYZ/gXYZ/bXYZ.
const SRGB_D50: [[f64; 3]; 3] = [
    [0.436_074_7, 0.385_064_9, 0.143_080_4],
    [0.222_504_5, 0.716_878_6, 0.060_616_9],
    [0.013_932_2, 0.097_104_5, 0.714_173_3],
];

/// Reads `bytes` as an ICC profile.
pub(crate) fn read(bytes: &[u8]) -> Result<Profile, ReadError> {
    if bytes.len() < 132 || &bytes[36..40] != b"acsp" {
        return Err(ReadError("it is not an ICC profile (no `acsp` signature)"));
    }
    let space = match &bytes[16..20] {
        b"RGB " => Space::Rgb,
        b"GRAY" => Space::Gray,
        b"CMYK" => Space::Cmyk,
        _ => Space::Other,
    };
    let tags = Tags::new(bytes)?;
    let name = tags.get(*b"desc").map(description).unwrap_or_default();
    let pcs_is_xyz = &bytes[20..24] == b"XYZ ";
    let shaper = match space {
        Space::Rgb if pcs_is_xyz => rgb_shaper(&tags)?,
        Space::Gray => gray_shaper(&tags)?,
        _ => None,
    };
    Ok(Profile {
        name,
        space,
        shaper,
    })
}

/// The tag table: (signature, data) pairs within the profile.
struct Tags<'a> {
    bytes: &'a [u8],
    entries: Vec<([u8; 4], usize, usize)>,
}

impl<'a> Tags<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, ReadError> {
        let count = be32(bytes, 128).ok_or(ReadError("the tag table is cut off"))? as usize;
        if count > 1000 {
            return Err(ReadError("the tag table is implausibly long"));
        }
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let at = 132 + i * 12;
            let sig = bytes
                .get(at..at + 4)
                .ok_or(ReadError("the tag table is cut off"))?;
            let offset = be32(bytes, at + 4).ok_or(ReadError("the tag table is cut off"))? as usize;
            let size = be32(bytes, at + 8).ok_or(ReadError("the tag table is cut off"))? as usize;
            if offset.checked_add(size).is_none_or(|end| end > bytes.len()) {
                return Err(ReadError("a tag points past the end of the profile"));
            }
            entries.push(([sig[0], sig[1], sig[2], sig[3]], offset, size));
        }
        Ok(Tags { bytes, entries })
    }

    fn get(&self, sig: [u8; 4]) -> Option<&'a [u8]> {
        self.entries
            .iter()
            .find(|e| e.0 == sig)
            .map(|&(_, offset, size)| &self.bytes[offset..offset + size])
    }
}

fn rgb_shaper(tags: &Tags<'_>) -> Result<Option<Shaper>, ReadError> {
    let (Some(r), Some(g), Some(b)) = (tags.get(*b"rXYZ"), tags.get(*b"gXYZ"), tags.get(*b"bXYZ"))
    else {
        // No colorants: a profile built from lookup tables.
        return Ok(None);
    };
    let (Some(rt), Some(gt), Some(bt)) =
        (tags.get(*b"rTRC"), tags.get(*b"gTRC"), tags.get(*b"bTRC"))
    else {
        return Ok(None);
    };
    let columns = [xyz(r)?, xyz(g)?, xyz(b)?];
    let profile: [[f64; 3]; 3] = [0, 1, 2].map(|row| columns.map(|c| c[row]));
    let to_srgb = multiply(&invert(&SRGB_D50), &profile);
    let matrix = to_srgb.map(|row| row.map(|v| v as f32));
    if matrix.iter().flatten().any(|v| !v.is_finite()) {
        return Err(ReadError("its colorants do not make an invertible matrix"));
    }
    Ok(Some(Shaper {
        tables: [table(rt)?, table(gt)?, table(bt)?],
        matrix,
    }))
}

fn gray_shaper(tags: &Tags<'_>) -> Result<Option<Shaper>, ReadError> {
    let Some(k) = tags.get(*b"kTRC") else {
        return Ok(None);
    };
    let t = table(k)?;
    Ok(Some(Shaper {
        tables: [t, t, t],
        matrix: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    }))
}

/// An `XYZ ` tag's first value.
fn xyz(tag: &[u8]) -> Result<[f64; 3], ReadError> {
    if tag.get(0..4) != Some(b"XYZ ") || tag.len() < 20 {
        return Err(ReadError("a colorant tag is not of type XYZ"));
    }
    Ok([8, 12, 16].map(|at| s15f16(tag, at)))
}

/// A tone curve (`curv` or `para`) sampled at the 256 8-bit codes.
fn table(tag: &[u8]) -> Result<[f32; 256], ReadError> {
    let curve = Curve::parse(tag)?;
    let mut t = [0.0f32; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = curve.eval(i as f32 / 255.0).clamp(0.0, 1.0);
    }
    Ok(t)
}

/// ICC tone curves: `curv` (identity, a gamma, or a sampled table) and `para` (the five
/// parametric function types of ICC.1:2022 §10.18).
enum Curve<'a> {
    Gamma(f32),
    Table(&'a [u8]),
    /// Function type and its parameters g, a, b, c, d, e, f (unused ones zero).
    Parametric(u16, [f32; 7]),
}

impl<'a> Curve<'a> {
    fn parse(tag: &'a [u8]) -> Result<Self, ReadError> {
        match tag.get(0..4) {
            Some(b"curv") => {
                let n = be32(tag, 8).ok_or(ReadError("a tone curve is cut off"))? as usize;
                match n {
                    0 => Ok(Curve::Gamma(1.0)),
                    1 => {
                        let raw = be16(tag, 12).ok_or(ReadError("a tone curve is cut off"))?;
                        Ok(Curve::Gamma(f32::from(raw) / 256.0))
                    }
                    _ => tag
                        .get(12..12 + 2 * n)
                        .map(Curve::Table)
                        .ok_or(ReadError("a tone curve's table is cut off")),
                }
            }
            Some(b"para") => {
                let kind = be16(tag, 8).ok_or(ReadError("a tone curve is cut off"))?;
                let count = match kind {
                    0 => 1,
                    1 => 3,
                    2 => 4,
                    3 => 5,
                    4 => 7,
                    _ => return Err(ReadError("a parametric tone curve has an unknown type")),
                };
                if tag.len() < 12 + 4 * count {
                    return Err(ReadError("a tone curve is cut off"));
                }
                let mut p = [0.0f32; 7];
                for (k, v) in p.iter_mut().enumerate().take(count) {
                    *v = s15f16(tag, 12 + 4 * k) as f32;
                }
                Ok(Curve::Parametric(kind, p))
            }
            _ => Err(ReadError("a tone curve is neither curv nor para")),
        }
    }

    fn eval(&self, x: f32) -> f32 {
        match *self {
            Curve::Gamma(g) => libm::powf(x, g),
            Curve::Table(raw) => {
                // Linear interpolation between the samples, which span 0..=1 evenly.
                let n = raw.len() / 2;
                let pos = x * (n - 1) as f32;
                let i = (pos as usize).min(n - 2);
                let frac = pos - i as f32;
                let at = |k: usize| {
                    f32::from(u16::from_be_bytes([raw[2 * k], raw[2 * k + 1]])) / 65535.0
                };
                at(i) + (at(i + 1) - at(i)) * frac
            }
            Curve::Parametric(kind, [g, a, b, c, d, e, f]) => {
                let pow = |base: f32| if base > 0.0 { libm::powf(base, g) } else { 0.0 };
                match kind {
                    0 => pow(x),
                    1 => {
                        if a != 0.0 && x >= -b / a {
                            pow(a * x + b)
                        } else {
                            0.0
                        }
                    }
                    2 => {
                        if a != 0.0 && x >= -b / a {
                            pow(a * x + b) + c
                        } else {
                            c
                        }
                    }
                    3 => {
                        if x >= d {
                            pow(a * x + b)
                        } else {
                            c * x
                        }
                    }
                    _ => {
                        if x >= d {
                            pow(a * x + b) + e
                        } else {
                            c * x + f
                        }
                    }
                }
            }
        }
    }
}

/// A `desc` (ICC v2 textDescription) or `mluc` (v4, the first record) tag's text.
fn description(tag: &[u8]) -> String {
    let text = match tag.get(0..4) {
        Some(b"desc") => {
            let n = be32(tag, 8).unwrap_or(0) as usize;
            tag.get(12..12 + n)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default()
        }
        Some(b"mluc") => (|| {
            let len = be32(tag, 20)? as usize;
            let offset = be32(tag, 24)? as usize;
            let units: Vec<u16> = tag
                .get(offset..offset + len)?
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        })()
        .unwrap_or_default(),
        _ => String::new(),
    };
    text.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect()
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn s15f16(b: &[u8], at: usize) -> f64 {
    f64::from(be32(b, at).unwrap_or(0) as i32) / 65536.0
}

pub(crate) fn multiply(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    [0, 1, 2].map(|r| [0, 1, 2].map(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

pub(crate) fn invert(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let cof =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
        [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
        [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
    ]
    .map(|row| row.map(|v| v / det))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parametric_type_3_is_the_srgb_curve() {
        // sRGB's curve as ICC v4 writes it: g 2.4, a 1/1.055, b 0.055/1.055, c 1/12.92, d 0.04045.
        let mut tag = b"para\0\0\0\0\0\x03\0\0".to_vec();
        for v in [2.4f64, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045] {
            tag.extend_from_slice(&((v * 65536.0).round() as i32).to_be_bytes());
        }
        let t = table(&tag).unwrap();
        let srgb = crate::engine::colorspace::srgb_to_linear_table();
        for i in 0..256 {
            assert!(
                (t[i] - srgb[i]).abs() < 2e-4,
                "{i}: {} vs {}",
                t[i],
                srgb[i]
            );
        }
    }

    #[test]
    fn the_srgb_colorants_give_the_identity() {
        let m = multiply(&invert(&SRGB_D50), &SRGB_D50);
        for (r, row) in m.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!((v - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn garbage_and_cut_off_profiles_are_refused_with_a_reason() {
        assert!(read(b"not a profile").is_err());
        let mut cut = vec![0u8; 132];
        cut[36..40].copy_from_slice(b"acsp");
        cut[128..132].copy_from_slice(&5u32.to_be_bytes());
        assert_eq!(read(&cut).unwrap_err().0, "the tag table is cut off");
    }
}
