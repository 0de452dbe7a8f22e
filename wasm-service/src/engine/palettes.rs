//! Named retro palettes and custom hex palettes.
//!
//! Several variants exist for most of these; each entry names the one shipped.

use serde::Serialize;

use super::error::{Error, quote};

/// A fixed palette: a name (a built-in one's, or `custom`) and its colours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Palette {
    pub name: String,
    #[serde(serialize_with = "serialize_hex")]
    pub colors: Vec<[u8; 3]>,
}

/// A built-in palette.
#[derive(Debug, Clone, Copy)]
pub struct NamedPalette {
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// Which variant this is and where its values come from.
    pub source: &'static str,
    pub hex: &'static [u32],
}

impl NamedPalette {
    pub fn colors(&self) -> Vec<[u8; 3]> {
        self.hex.iter().map(|&v| rgb(v)).collect()
    }

    pub fn palette(&self) -> Palette {
        Palette {
            name: self.name.to_string(),
            colors: self.colors(),
        }
    }
}

const fn rgb(v: u32) -> [u8; 3] {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// Every built-in palette, in the order listings show them.
pub const BUILT_IN: &[NamedPalette] = &[
    NamedPalette {
        name: "pico-8",
        aliases: &["pico8"],
        source: "PICO-8 fantasy console, the 16 standard colours (Lexaloffle)",
        hex: &[
            0x000000, 0x1D2B53, 0x7E2553, 0x008751, 0xAB5236, 0x5F574F, 0xC2C3C7, 0xFFF1E8,
            0xFF004D, 0xFFA300, 0xFFEC27, 0x00E436, 0x29ADFF, 0x83769C, 0xFF77A8, 0xFFCCAA,
        ],
    },
    NamedPalette {
        name: "game-boy",
        aliases: &["gameboy", "gb", "dmg"],
        source: "Game Boy (DMG-01) green LCD, 4 shades",
        hex: &[0x0F380F, 0x306230, 0x8BAC0F, 0x9BBC0F],
    },
    NamedPalette {
        name: "cga",
        aliases: &["cga16"],
        source: "IBM CGA full 16-colour RGBI palette (with the brown fix for colour 6)",
        hex: &[
            0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
            0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF,
        ],
    },
    NamedPalette {
        name: "c64",
        aliases: &["commodore64", "commodore-64", "pepto"],
        source: "Commodore 64, Pepto's measured palette",
        hex: &[
            0x000000, 0xFFFFFF, 0x68372B, 0x70A4B2, 0x6F3D86, 0x588D43, 0x352879, 0xB8C76F,
            0x6F4F25, 0x433900, 0x9A6759, 0x444444, 0x6C6C6C, 0x9AD284, 0x6C5EB5, 0x959595,
        ],
    },
    NamedPalette {
        name: "zx-spectrum",
        aliases: &["zx", "spectrum", "zxspectrum"],
        source: "ZX Spectrum, normal (D7) and bright (FF) colours; black appears once",
        hex: &[
            0x000000, 0x0000D7, 0xD70000, 0xD700D7, 0x00D700, 0x00D7D7, 0xD7D700, 0xD7D7D7,
            0x0000FF, 0xFF0000, 0xFF00FF, 0x00FF00, 0x00FFFF, 0xFFFF00, 0xFFFFFF,
        ],
    },
    NamedPalette {
        name: "nes",
        aliases: &["famicom", "nes-2c02"],
        source: "NES/Famicom 2C02, the 54 distinct colours of the common editor palette (Lospec \"Nintendo Entertainment System\")",
        hex: &[
            0x000000, 0xFCFCFC, 0xF8F8F8, 0xBCBCBC, 0x7C7C7C, 0xA4E4FC, 0x3CBCFC, 0x0078F8,
            0x0000FC, 0xB8B8F8, 0x6888FC, 0x0058F8, 0x0000BC, 0xD8B8F8, 0x9878F8, 0x6844FC,
            0x4428BC, 0xF8B8F8, 0xF878F8, 0xD800CC, 0x940084, 0xF8A4C0, 0xF85898, 0xE40058,
            0xA80020, 0xF0D0B0, 0xF87858, 0xF83800, 0xA81000, 0xFCE0A8, 0xFCA044, 0xE45C10,
            0x881400, 0xF8D878, 0xF8B800, 0xAC7C00, 0x503000, 0xD8F878, 0xB8F818, 0x00B800,
            0x007800, 0xB8F8B8, 0x58D854, 0x00A800, 0x006800, 0xB8F8D8, 0x58F898, 0x00A844,
            0x005800, 0x00FCFC, 0x00E8D8, 0x008888, 0x004058, 0x787878,
        ],
    },
    NamedPalette {
        name: "1-bit",
        aliases: &["1bit", "mono", "monochrome", "bw"],
        source: "pure black and white",
        hex: &[0x000000, 0xFFFFFF],
    },
    NamedPalette {
        name: "sweetie-16",
        aliases: &["sweetie16", "sweetie"],
        source: "Sweetie 16 by GrafxKid (TIC-80's default)",
        hex: &[
            0x1A1C2C, 0x5D275D, 0xB13E53, 0xEF7D57, 0xFFCD75, 0xA7F070, 0x38B764, 0x257179,
            0x29366F, 0x3B5DC9, 0x41A6F6, 0x73EFF7, 0xF4F4F4, 0x94B0C2, 0x566C86, 0x333C57,
        ],
    },
    NamedPalette {
        name: "endesga-32",
        aliases: &["endesga32", "edg32"],
        source: "ENDESGA 32 by ENDESGA",
        hex: &[
            0xBE4A2F, 0xD77643, 0xEAD4AA, 0xE4A672, 0xB86F50, 0x733E39, 0x3E2731, 0xA22633,
            0xE43B44, 0xF77622, 0xFEAE34, 0xFEE761, 0x63C74D, 0x3E8948, 0x265C42, 0x193C3E,
            0x124E89, 0x0099DB, 0x2CE8F5, 0xFFFFFF, 0xC0CBDC, 0x8B9BB4, 0x5A6988, 0x3A4466,
            0x262B44, 0x181425, 0xFF0044, 0x68386C, 0xB55088, 0xF6757A, 0xE8B796, 0xC28569,
        ],
    },
    NamedPalette {
        name: "db16",
        aliases: &["dawnbringer-16", "dawnbringer16"],
        source: "DawnBringer's 16-colour palette (DB16)",
        hex: &[
            0x140C1C, 0x442434, 0x30346D, 0x4E4A4E, 0x854C30, 0x346524, 0xD04648, 0x757161,
            0x597DCE, 0xD27D2C, 0x8595A1, 0x6DAA2C, 0xD2AA99, 0x6DC2CA, 0xDAD45E, 0xDEEED6,
        ],
    },
    NamedPalette {
        name: "db32",
        aliases: &["dawnbringer-32", "dawnbringer32"],
        source: "DawnBringer's 32-colour palette (DB32)",
        hex: &[
            0x000000, 0x222034, 0x45283C, 0x663931, 0x8F563B, 0xDF7126, 0xD9A066, 0xEEC39A,
            0xFBF236, 0x99E550, 0x6ABE30, 0x37946E, 0x4B692F, 0x524B24, 0x323C39, 0x3F3F74,
            0x306082, 0x5B6EE1, 0x639BFF, 0x5FCDE4, 0xCBDBFC, 0xFFFFFF, 0x9BADB7, 0x847E87,
            0x696A6A, 0x595652, 0x76428A, 0xAC3232, 0xD95763, 0xD77BBA, 0x8F974A, 0x8A6F30,
        ],
    },
    NamedPalette {
        name: "grayscale-4",
        aliases: &["gray4", "grey4", "greyscale-4"],
        source: "four evenly spaced greys (black, 33%, 67%, white)",
        hex: &[0x000000, 0x555555, 0xAAAAAA, 0xFFFFFF],
    },
];

/// Looks a palette up by name (any case; `-`, `_` and spaces alike) or parses custom hex colours.
pub fn resolve(spec: &str) -> Result<Palette, Error> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(Error::option(
            "palette",
            "empty; give a palette name or hex colours",
        ));
    }
    if let Some(found) = find(spec) {
        return Ok(found.palette());
    }
    if spec.starts_with('#') || spec.contains(',') || spec.split_whitespace().count() > 1 {
        return parse_custom(spec);
    }
    // A lone bare token: a hex colour only if it looks like one, else an unknown name.
    if spec.len() == 6 && spec.bytes().all(|b| b.is_ascii_hexdigit()) {
        return parse_custom(spec);
    }
    Err(Error::option(
        "palette",
        format!(
            "unknown palette `{}`; built-in palettes: {} (or give hex colours like `#1a1c2c,#f4f4f4`)",
            quote(spec),
            names().join(", ")
        ),
    ))
}

/// The built-in palette with this name or alias.
pub fn find(name: &str) -> Option<&'static NamedPalette> {
    let key = normalise(name);
    BUILT_IN
        .iter()
        .find(|p| normalise(p.name) == key || p.aliases.iter().any(|a| normalise(a) == key))
}

/// Names of every built-in palette.
pub fn names() -> Vec<&'static str> {
    BUILT_IN.iter().map(|p| p.name).collect()
}

/// Palette names compared without case and separators. ASCII case folding is enough (every
/// name is ASCII), and Unicode's case tables would cost the module 14 KB.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn parse_custom(spec: &str) -> Result<Palette, Error> {
    let mut colors = Vec::new();
    for token in spec
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let digits = token.trim_start_matches('#');
        let bad = || {
            Error::option(
                "palette",
                format!(
                    "`{}` is not a hex colour like #1a1c2c or #fc0",
                    quote(token)
                ),
            )
        };
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let value = u32::from_str_radix(digits, 16).map_err(|_| bad())?;
        let color = match digits.len() {
            6 => rgb(value),
            3 => {
                let (r, g, b) = ((value >> 8) & 0xF, (value >> 4) & 0xF, value & 0xF);
                [(r * 17) as u8, (g * 17) as u8, (b * 17) as u8]
            }
            _ => return Err(bad()),
        };
        if !colors.contains(&color) {
            colors.push(color);
        }
    }
    if colors.is_empty() || colors.len() > 256 {
        return Err(Error::option(
            "palette",
            format!(
                "a custom palette needs 1 to 256 colours, got {}",
                colors.len()
            ),
        ));
    }
    Ok(Palette {
        name: "custom".to_string(),
        colors,
    })
}

/// A PNG showing each palette as a row of `cell`-pixel squares, in the order given.
pub fn swatch_png(palettes: &[&NamedPalette], cell: u32) -> Result<Vec<u8>, Error> {
    let cell = cell.clamp(1, 64) as usize;
    let widest = palettes
        .iter()
        .map(|p| p.hex.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h) = (widest * cell, palettes.len().max(1) * cell);
    // A neutral grey shows where a shorter palette ends.
    let mut data = vec![0x80u8; w * h * 3];
    for (row, p) in palettes.iter().enumerate() {
        for (i, c) in p.colors().iter().enumerate() {
            for y in row * cell..(row + 1) * cell {
                for x in i * cell..(i + 1) * cell {
                    data[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(c);
                }
            }
        }
    }
    let stride = w * 3;
    Ok(super::png_writer::write(
        w as u32,
        h as u32,
        super::png_writer::PngColor::Rgb,
        &|r, buf| buf.copy_from_slice(&data[r * stride..(r + 1) * stride]),
        &vec![1; h],
        true,
    ))
}

fn serialize_hex<S: serde::Serializer>(colors: &[[u8; 3]], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(colors.iter().map(|&c| super::colorspace::hex(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve_in_any_spelling() {
        assert_eq!(resolve("PICO_8").unwrap().colors.len(), 16);
        assert_eq!(resolve("gameboy").unwrap().name, "game-boy");
        assert_eq!(resolve("Dawnbringer 32").unwrap().colors.len(), 32);
        assert_eq!(resolve("endesga-32").unwrap().colors.len(), 32);
    }

    #[test]
    fn built_in_palettes_have_no_duplicates() {
        for p in BUILT_IN {
            let colors = p.colors();
            for (i, c) in colors.iter().enumerate() {
                assert!(!colors[..i].contains(c), "{} repeats {:?}", p.name, c);
            }
        }
    }

    #[test]
    fn custom_hex_palettes_parse_and_bad_ones_say_why() {
        let p = resolve("#000, #ffffff 336699").unwrap();
        assert_eq!(
            p.colors,
            vec![[0, 0, 0], [255, 255, 255], [0x33, 0x66, 0x99]]
        );
        let err = resolve("#12345").unwrap_err().to_string();
        assert!(err.contains("`#12345` is not a hex colour"), "{err}");
        let err = resolve("vaporwave").unwrap_err().to_string();
        assert!(
            err.contains("unknown palette `vaporwave`") && err.contains("pico-8"),
            "{err}"
        );
    }
}
