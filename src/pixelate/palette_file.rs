//! Palette files: `.hex` (one `rrggbb` a line, as Lospec serves them), `.gpl` (GIMP palette) and
//! `.png` (one pixel per colour, in a row). Written by `--palette-out`, read back by `--palette`,
//! so a palette built for one batch can be reused later. Only the file formats live here; which
//! palette to write is the caller's business.

use std::path::Path;

use crate::engine::Palette;

/// The palette file formats, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One `rrggbb` per line.
    Hex,
    /// GIMP palette: a `GIMP Palette` line, a `Name:` header, then `r g b name` lines.
    Gpl,
    /// A PNG one pixel high, one pixel per colour.
    Png,
}

impl Kind {
    /// The format `path`'s extension names (any case), if it is one of the three.
    pub fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "hex" => Some(Kind::Hex),
            "gpl" => Some(Kind::Gpl),
            "png" => Some(Kind::Png),
            _ => None,
        }
    }
}

/// The most colours a palette file may hold (the engine's limit for fixed palettes).
const MAX_COLORS: usize = 256;

/// `palette` in the format `kind`.
pub fn encode(palette: &Palette, kind: Kind) -> anyhow::Result<Vec<u8>> {
    let hex = |c: &[u8; 3]| format!("{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    Ok(match kind {
        Kind::Hex => palette
            .colors
            .iter()
            .map(|c| hex(c) + "\n")
            .collect::<String>()
            .into_bytes(),
        Kind::Gpl => {
            let mut text = format!(
                "GIMP Palette\nName: pixelsmith {}\nColumns: {}\n#\n",
                palette.name,
                palette.colors.len().min(16)
            );
            for c in &palette.colors {
                text.push_str(&format!("{:3} {:3} {:3}\t#{}\n", c[0], c[1], c[2], hex(c)));
            }
            text.into_bytes()
        }
        Kind::Png => {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, palette.colors.len().max(1) as u32, 1);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header()?;
            let row: Vec<u8> = palette.colors.iter().flatten().copied().collect();
            writer.write_image_data(&row)?;
            writer.finish()?;
            out
        }
    })
}

/// Reads a palette file of format `kind` from `bytes`; `name` becomes the palette's name.
/// Repeated colours are kept once, in first-seen order.
pub fn decode(bytes: &[u8], kind: Kind, name: &str) -> anyhow::Result<Palette> {
    let mut colors: Vec<[u8; 3]> = Vec::new();
    match kind {
        Kind::Hex => {
            let text = std::str::from_utf8(bytes)?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with(';') || line.starts_with("//") {
                    continue;
                }
                colors.push(parse_hex(line.trim_start_matches('#')).ok_or_else(|| {
                    anyhow::anyhow!("line {}: `{line}` is not a colour like 1a1c2c", n + 1)
                })?);
            }
        }
        Kind::Gpl => {
            let text = std::str::from_utf8(bytes)?;
            let mut lines = text.lines().enumerate();
            if lines.next().map(|(_, l)| l.trim()) != Some("GIMP Palette") {
                anyhow::bail!("not a GIMP palette: the first line is not `GIMP Palette`");
            }
            for (n, line) in lines {
                let line = line.trim();
                if line.is_empty()
                    || line.starts_with('#')
                    || line.starts_with("Name:")
                    || line.starts_with("Columns:")
                {
                    continue;
                }
                let channels: Vec<Option<u8>> = line
                    .split_whitespace()
                    .take(3)
                    .map(|v| v.parse().ok())
                    .collect();
                match channels[..] {
                    [Some(r), Some(g), Some(b)] => colors.push([r, g, b]),
                    _ => anyhow::bail!(
                        "line {}: `{line}` is not `red green blue [name]` with values 0-255",
                        n + 1
                    ),
                }
            }
        }
        Kind::Png => {
            let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            decoder
                .set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
            let mut reader = decoder.read_info()?;
            let width = reader.info().width as usize;
            if width > MAX_COLORS {
                anyhow::bail!(
                    "a palette PNG is one pixel per colour, at most {MAX_COLORS} wide; this one is {width}"
                );
            }
            let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
            let frame = reader.next_frame(&mut buf)?;
            let row = &buf[..frame.line_size];
            let step = frame.color_type.samples();
            for px in row.chunks_exact(step) {
                let c = match frame.color_type {
                    png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => {
                        [px[0], px[0], px[0]]
                    }
                    _ => [px[0], px[1], px[2]],
                };
                colors.push(c);
            }
        }
    }
    let mut distinct: Vec<[u8; 3]> = Vec::with_capacity(colors.len());
    for c in colors {
        if !distinct.contains(&c) {
            distinct.push(c);
        }
    }
    if distinct.is_empty() || distinct.len() > MAX_COLORS {
        anyhow::bail!(
            "a palette file needs 1 to {MAX_COLORS} colours, this one has {}",
            distinct.len()
        );
    }
    Ok(Palette {
        name: name.to_string(),
        colors: distinct,
    })
}

/// `rrggbb` (six hex digits, no `#`) as sRGB bytes; `None` for anything else.
pub(crate) fn parse_hex(digits: &str) -> Option<[u8; 3]> {
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(digits, 16).ok()?;
    Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// Reads the palette file at `path` (its extension says the format).
pub fn read(path: &Path) -> anyhow::Result<Palette> {
    let kind = Kind::of(path).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: a palette file ends in .hex, .gpl or .png",
            path.display()
        )
    })?;
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read palette {}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    decode(&bytes, kind, &name).map_err(|e| anyhow::anyhow!("palette {}: {e}", path.display()))
}

/// Writes `palette` to `path` in the format its extension names (atomically, like the PNGs).
pub fn write(palette: &Palette, path: &Path) -> anyhow::Result<()> {
    let kind = Kind::of(path).ok_or_else(|| {
        anyhow::anyhow!(
            "--palette-out {}: give a file ending in .hex, .gpl or .png",
            path.display()
        )
    })?;
    super::write_output(path, &encode(palette, kind)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_reads_back_the_same_colours_in_order() {
        let palette = Palette {
            name: "shared".to_string(),
            colors: vec![
                [0, 0, 0],
                [255, 255, 255],
                [26, 28, 44],
                [255, 0, 77],
                [1, 2, 3],
            ],
        };
        for kind in [Kind::Hex, Kind::Gpl, Kind::Png] {
            let bytes = encode(&palette, kind).unwrap();
            let back = decode(&bytes, kind, "shared").unwrap();
            assert_eq!(back.colors, palette.colors, "{kind:?}");
        }
        let gpl = String::from_utf8(encode(&palette, Kind::Gpl).unwrap()).unwrap();
        assert!(gpl.starts_with("GIMP Palette\nName: "), "{gpl}");
    }

    #[test]
    fn broken_files_say_which_line() {
        let err = decode(b"000000\nzzz\n", Kind::Hex, "x").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = decode(b"JASC-PAL\n", Kind::Gpl, "x").unwrap_err();
        assert!(err.to_string().contains("GIMP Palette"), "{err}");
        let err = decode(b"", Kind::Hex, "x").unwrap_err();
        assert!(err.to_string().contains("1 to 256"), "{err}");
    }
}
