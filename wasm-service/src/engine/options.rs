//! What a caller can ask of the engine, with defaults and one text parser shared by every front end
//! (the router's query strings and JSON fields, the MCP tools), so an option means the same everywhere.

use serde::Serialize;

pub use super::decode::DctScale;
use super::error::{Error, quote};
use super::palettes::{self, Palette};

/// Default block size in source pixels when neither a block size nor a grid width is given.
pub const DEFAULT_BLOCK: u32 = 8;
/// Default palette size when no colour option is given.
pub const DEFAULT_COLORS: u16 = 16;
/// Default alpha threshold: a block at least half opaque stays, below that it becomes transparent.
pub const DEFAULT_ALPHA_THRESHOLD: u8 = 128;

/// How the source is cut into grid cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grid {
    /// Square blocks of this many source pixels; the last row and column may be partial.
    Block(u32),
    /// Exactly this many columns; rows follow the aspect ratio. Cells are whole source pixels whose
    /// widths differ by at most one.
    Width(u32),
}

/// How cell colours are reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Colors {
    /// A palette of at most this many colours (2..=256), built from the image in Oklab.
    Count(u16),
    /// A fixed palette (named or custom); cells take the nearest entry in Oklab.
    Palette(Palette),
    /// Per-channel posterisation to this many levels (2..=8), like the original pixel-art service.
    Levels(u8),
    /// Keep every cell's own colour.
    Full,
}

/// Dithering, always done on the grid (never on the full-size image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dither {
    #[default]
    None,
    Bayer2,
    Bayer4,
    Bayer8,
    FloydSteinberg,
    Atkinson,
}

impl Dither {
    /// Every accepted name, in the order `--help` lists them.
    pub const NAMES: &'static [&'static str] = &[
        "none",
        "bayer2",
        "bayer4",
        "bayer8",
        "floyd-steinberg",
        "atkinson",
    ];

    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "none" | "off" | "false" => Dither::None,
            "bayer2" => Dither::Bayer2,
            "bayer4" | "bayer" | "ordered" => Dither::Bayer4,
            "bayer8" => Dither::Bayer8,
            "floyd-steinberg" | "fs" | "floyd" => Dither::FloydSteinberg,
            "atkinson" => Dither::Atkinson,
            _ => {
                return Err(Error::option(
                    "dither",
                    format!(
                        "`{name}` is not a dither kind; use one of {}",
                        Dither::NAMES.join(", ")
                    ),
                ));
            }
        })
    }
}

/// The size of the output picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The source's size (for `Grid::Width`, the grid scaled by the whole factor closest to it).
    Original,
    /// One output pixel per cell.
    Grid,
    /// Each cell drawn as a square of this many pixels (1..=64).
    Scale(u32),
}

/// Limits checked from the header and the options, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Most pixels (width × height) a source may declare.
    pub max_pixels: u64,
    /// Most bytes an input may have.
    pub max_input_bytes: usize,
    /// Most pixels (width × height) the output picture may have: a few cells drawn at a large
    /// `scale` would otherwise be a decompression bomb of their own.
    pub max_output_pixels: u64,
    /// Most bytes a job may need at its peak (input, decoder buffers, cells, codes, output), as
    /// estimated before decoding (see `memory`).
    pub max_memory_bytes: u64,
}

impl Limits {
    pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;
    pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
    /// The output limit is the input's: the output may be as large as any accepted source.
    pub const DEFAULT_MAX_OUTPUT_PIXELS: u64 = Self::DEFAULT_MAX_PIXELS;
    /// 1 GiB: every job within the other default limits fits (the largest, a 64 MP progressive
    /// JPEG at one cell per pixel, needs about 0.9 GiB), and the wasm module (32-bit, at most
    /// 4 GiB of linear memory) never reaches a failing `memory.grow`.
    pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 1 << 30;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_input_bytes: Self::DEFAULT_MAX_INPUT_BYTES,
            max_output_pixels: Self::DEFAULT_MAX_OUTPUT_PIXELS,
            max_memory_bytes: Self::DEFAULT_MAX_MEMORY_BYTES,
        }
    }
}

/// Everything the engine can be asked; `Options::default()` is what a bare request gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Options {
    pub grid: Grid,
    pub colors: Colors,
    pub dither: Dither,
    /// Cells whose mean alpha is below this (0..=255) become fully transparent; the rest opaque.
    pub alpha_threshold: u8,
    pub output: Output,
    /// Weigh chroma double when building and matching palettes, so small saturated details keep
    /// their colour.
    pub vivid: bool,
    /// Spend more time for a smaller PNG (best compression, filter search).
    pub optimize: bool,
    /// The DCT scale JPEGs are decoded at: full size (exact) or the fastest the block allows.
    pub dct_scale: DctScale,
    /// How strongly thin dark lines, text and small saturated features claim their cell,
    /// 0 (off: plain box means) ..= 100 (see `detail`).
    pub detail: u8,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            grid: Grid::Block(DEFAULT_BLOCK),
            colors: Colors::Count(DEFAULT_COLORS),
            dither: Dither::None,
            alpha_threshold: DEFAULT_ALPHA_THRESHOLD,
            output: Output::Original,
            vivid: false,
            optimize: false,
            dct_scale: DctScale::Full,
            detail: 0,
            limits: Limits::default(),
        }
    }
}

/// The option names `Options::set` accepts (aliases in parentheses are accepted too).
pub const OPTION_NAMES: &[(&str, &str)] = &[
    (
        "block",
        "block size in source pixels, 1..=4096 (alias: pixel_size)",
    ),
    (
        "width",
        "grid width in cells, 1..=4096; height follows the aspect ratio",
    ),
    (
        "colors",
        "palette size 2..=256, or `full` to keep every colour",
    ),
    (
        "palette",
        "a named palette (see /palettes) or custom hex colours `#1a1c2c,#5d275d,…`",
    ),
    (
        "levels",
        "per-channel posterisation levels 2..=8 (alias: color_levels)",
    ),
    (
        "dither",
        "none, bayer2, bayer4, bayer8, floyd-steinberg, atkinson",
    ),
    (
        "alpha_threshold",
        "0..=255: cells less opaque than this become transparent",
    ),
    ("scale", "draw each cell as K×K pixels, 1..=64"),
    ("grid", "true: one output pixel per cell"),
    (
        "vivid",
        "true: keep small saturated details (chroma counts double in the palette)",
    ),
    (
        "detail",
        "0..=100 (default 0): how strongly thin dark lines, text and small saturated features keep \
         a cell of their own colour instead of being averaged away",
    ),
    ("optimize", "true: smaller PNG, slower"),
    (
        "dct_scale",
        "JPEG decoding: full (default: exact linear-light cells) or fast (1/2-1/8 DCT scale when \
         the block allows: up to 8x less work, colours near fine detail and edges drift)",
    ),
];

impl Options {
    /// Sets one option from its text form, as it comes from a query string or a JSON field.
    /// A later `block`/`width` replaces an earlier one; likewise `colors`/`palette`/`levels` and
    /// `scale`/`grid`.
    /// Names are read without regard to case, with `-` as `_` (`BLOCK`, `full-color`).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let value = value.trim();
        let key = name.to_ascii_lowercase().replace('-', "_");
        match key.as_str() {
            "block" | "block_size" | "pixel_size" => {
                self.grid = Grid::Block(parse_int("block", value, 1, 4096)?);
            }
            "width" | "grid_width" => self.grid = Grid::Width(parse_int("width", value, 1, 4096)?),
            "colors" | "colours" => {
                self.colors = if value.eq_ignore_ascii_case("full") {
                    Colors::Full
                } else {
                    Colors::Count(parse_int("colors", value, 2, 256)? as u16)
                };
            }
            "palette" => self.colors = Colors::Palette(palettes::resolve(value)?),
            "levels" | "color_levels" => {
                self.colors = Colors::Levels(parse_int("levels", value, 2, 8)? as u8)
            }
            "dither" => self.dither = Dither::parse(value)?,
            "alpha_threshold" => {
                self.alpha_threshold = parse_int("alpha_threshold", value, 0, 255)? as u8;
            }
            "scale" => self.output = Output::Scale(parse_int("scale", value, 1, 64)?),
            "grid" => {
                if parse_bool("grid", value)? {
                    self.output = Output::Grid;
                } else if self.output == Output::Grid {
                    self.output = Output::Original;
                }
            }
            "vivid" => self.vivid = parse_bool("vivid", value)?,
            "detail" => self.detail = parse_int("detail", value, 0, 100)? as u8,
            "dct_scale" => {
                self.dct_scale = match value.to_ascii_lowercase().as_str() {
                    "full" | "1" | "exact" => DctScale::Full,
                    "fast" | "auto" => DctScale::Fast,
                    _ => {
                        return Err(Error::option(
                            "dct_scale",
                            format!("`{}` is not a DCT scale; use full or fast", quote(value)),
                        ));
                    }
                }
            }
            "optimize" => self.optimize = parse_bool("optimize", value)?,
            "full_color" => {
                if parse_bool("full_color", value)? {
                    self.colors = Colors::Full;
                }
            }
            _ => {
                let known: Vec<&str> = OPTION_NAMES.iter().map(|(n, _)| *n).collect();
                return Err(Error::UnknownOption {
                    name: quote(name),
                    known: known.join(", "),
                });
            }
        }
        Ok(())
    }
}

fn parse_int(name: &'static str, value: &str, min: u32, max: u32) -> Result<u32, Error> {
    let n: u32 = value.parse().map_err(|_| {
        Error::option(
            name,
            format!("`{}` is not a whole number ({min}..={max})", quote(value)),
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(Error::option(
            name,
            format!("{n} is out of range {min}..={max}"),
        ));
    }
    Ok(n)
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::option(
            name,
            format!("`{}` is not true or false", quote(value)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_each_option_and_rejects_out_of_range() {
        let mut o = Options::default();
        o.set("block", "12").unwrap();
        assert_eq!(o.grid, Grid::Block(12));
        o.set("width", "64").unwrap();
        assert_eq!(o.grid, Grid::Width(64));
        o.set("colors", "full").unwrap();
        assert_eq!(o.colors, Colors::Full);
        o.set("levels", "4").unwrap();
        assert_eq!(o.colors, Colors::Levels(4));
        o.set("dither", "Floyd_Steinberg").unwrap();
        assert_eq!(o.dither, Dither::FloydSteinberg);
        o.set("scale", "3").unwrap();
        assert_eq!(o.output, Output::Scale(3));
        o.set("grid", "true").unwrap();
        assert_eq!(o.output, Output::Grid);

        let err = o.set("colors", "1").unwrap_err();
        assert!(err.to_string().contains("out of range 2..=256"), "{err}");
        let err = o.set("block", "ten").unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
        let err = o.set("sharpen", "1").unwrap_err();
        assert!(
            err.to_string().contains("unknown option `sharpen`"),
            "{err}"
        );
        let err = o.set("dither", "noise").unwrap_err();
        assert!(err.to_string().contains("bayer4"), "{err}");
    }
}
