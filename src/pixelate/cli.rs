//! `pixelsmith pixelate` and `pixelsmith palettes`: arguments, help, and the human/JSON report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, ValueEnum};

use super::palette_file;
use crate::engine::{self, Dither, Limits, Options, palettes};

/// Turn an image into pixel art.
///
/// The image is cut into an exact grid of square blocks (or exactly --width columns); each block
/// becomes one flat colour, averaged in linear light. Colours are then reduced to a palette built
/// from the image in the Oklab colour space (--colors), a retro palette (--palette), or per-channel
/// levels (--levels), optionally dithered. The result is an indexed PNG, drawn at the source's size
/// unless --grid or --scale says otherwise.
///
/// Reads PNG, JPEG (EXIF orientation honoured), WebP, GIF and BMP. Animated GIF, APNG and WebP
/// become animations (`-o out.gif`, `--format apng`) or one frame (`--frame N`).
#[derive(Debug, clap::Args)]
#[command(
    group(ArgGroup::new("size").args(["block", "width"])),
    group(ArgGroup::new("reduce").args(["colors", "palette", "levels"])),
    group(ArgGroup::new("upscale").args(["scale", "grid"])),
    after_help = "Examples:\n  pixelsmith pixelate photo.jpg                      # 8 px blocks, 16 colours → photo.pixel.png\n  pixelsmith pixelate photo.jpg --width 64 --palette pico-8 --dither bayer4 -o sprite.png\n  pixelsmith pixelate logo.png --block 4 --levels 4 --grid --json\n  pixelsmith pixelate a.png sprites/ -o out/ --shared-palette --palette-out set.hex\n  pixelsmith palettes                                 # list the retro palettes"
)]
pub struct Args {
    /// The images to pixelate (`-` reads stdin), or folders of images. With more than one, or a
    /// folder, every file is done in parallel into the folder -o names, as `<name>.png`; a folder
    /// gives the files whose header is an image (others are skipped and counted). Exit code 1
    /// when some files failed (the rest are still written).
    #[arg(required = true, num_args = 1.., value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Where to write the PNG (`-` writes stdout). Default: `<name>.pixel.png` in the current folder
    /// (`<name>.pixel.gif`, an animated GIF, for an animated source).
    /// Only regular files are written (replaced atomically); a symlink is written through to the
    /// file it points to; devices, FIFOs, folders and the input itself are refused. With several
    /// inputs or a folder: the folder for the outputs (created if missing).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Folders given as inputs: descend into their subfolders too (outputs keep the sub-paths).
    #[arg(long)]
    pub recursive: bool,

    /// Several inputs: build one palette (--colors N) from all of them together, every image
    /// weighing the same, and use it for every output, so a sprite set matches.
    #[arg(long, conflicts_with_all = ["palette", "levels", "full_color"])]
    pub shared_palette: bool,

    /// Also write the palette used (the shared one, a fixed one, or the single output's) to this
    /// file: .hex (one rrggbb a line), .gpl (GIMP palette) or .png (one pixel per colour).
    /// --palette reads these files back.
    #[arg(long, value_name = "FILE")]
    pub palette_out: Option<PathBuf>,

    /// Block size: each N×N square of source pixels becomes one pixel. [default: 8]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub block: Option<u32>,

    /// Instead of --block: the grid is exactly W cells wide; the height follows the aspect ratio.
    #[arg(short, long, value_name = "W", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub width: Option<u32>,

    /// Build a palette of at most N colours (2–256) from the image, in Oklab; `full` is
    /// --full-color. [default: 16]
    #[arg(short, long, value_name = "N", value_parser = parse_colors)]
    pub colors: Option<ColorCount>,

    /// Use a fixed palette: a built-in name (see `pixelsmith palettes`), hex colours
    /// "#000,#fff,…", or a palette file (.hex, .gpl, .png: as --palette-out writes them).
    #[arg(short, long, value_name = "NAME|HEX|FILE")]
    pub palette: Option<String>,

    /// Posterise each RGB channel to L levels (2–8), like the original pixel-art service.
    #[arg(short, long, value_name = "L", value_parser = clap::value_parser!(u8).range(2..=8))]
    pub levels: Option<u8>,

    /// Keep every block's own colour (no palette; may exceed 256 colours).
    #[arg(long, conflicts_with_all = ["colors", "palette", "levels"])]
    pub full_color: bool,

    /// Keep small saturated details (a flag, a badge): chroma counts double in the palette.
    #[arg(long)]
    pub vivid: bool,

    /// Dithering, done on the grid.
    #[arg(short, long, value_enum, ignore_case = true, default_value_t = DitherArg::None)]
    pub dither: DitherArg,

    /// Draw each cell as a K×K square instead of at the source's size.
    #[arg(short, long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub scale: Option<u32>,

    /// Write the grid itself: one pixel per cell.
    #[arg(short, long)]
    pub grid: bool,

    /// Blocks less opaque than this (0–255) become fully transparent; the rest fully opaque.
    #[arg(long, value_name = "T", default_value_t = engine::DEFAULT_ALPHA_THRESHOLD)]
    pub alpha_threshold: u8,

    /// Spend more time for a smaller PNG.
    #[arg(long)]
    pub optimize: bool,

    /// 0–100: how strongly thin dark lines, text and small saturated features keep a cell of
    /// their own colour instead of being averaged away. [default: 0]
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub detail: Option<u8>,

    /// JPEG decoding: `full` decodes every pixel (exact linear-light cells); `fast` decodes at a
    /// reduced DCT scale (1/2–1/8) when the block allows, up to 8× less work, colours near fine
    /// detail and cell edges drift.
    #[arg(long, value_enum, value_name = "SCALE", default_value_t = DctScaleArg::Full)]
    pub dct_scale: DctScaleArg,

    /// Refuse sources that declare more pixels than this (checked before decoding).
    #[arg(long, value_name = "PIXELS", default_value_t = Limits::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    /// Refuse jobs whose working memory (decoded image, grid, output), estimated from the header
    /// before decoding, would exceed this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = Limits::DEFAULT_MAX_MEMORY_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(16..=1 << 20))]
    pub max_memory: u64,

    /// Print the report as JSON on stdout (grid size, palette, timings, output path; for an
    /// animation also its frames and delays).
    #[arg(long)]
    pub json: bool,

    /// Pixelate only frame N (0-based) of an animated GIF, APNG or WebP, as a still PNG.
    #[arg(long, value_name = "N")]
    pub frame: Option<u32>,

    /// Output format. Default: from the output's extension (`.gif` animated GIF, `.apng`
    /// animated PNG), else PNG. An animated source keeps every frame, with one palette.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A still PNG (an animated source needs --frame).
    Png,
    /// An animated GIF (every frame, one palette, delays and loop count kept).
    Gif,
    /// An animated PNG.
    Apng,
}

/// Dithering kinds, with the service's spellings as aliases (`Dither::parse`), so a query copied
/// from Studio or the API works as a flag too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DitherArg {
    /// Flat colours.
    #[value(alias = "off", alias = "false")]
    None,
    /// Ordered, 2×2 Bayer pattern.
    Bayer2,
    /// Ordered, 4×4 Bayer pattern (the classic pixel-art look).
    #[value(alias = "bayer", alias = "ordered")]
    Bayer4,
    /// Ordered, 8×8 Bayer pattern.
    Bayer8,
    /// Error diffusion, Floyd–Steinberg (serpentine): seen from afar, as light as the area it draws.
    #[value(alias = "fs", alias = "floyd", alias = "floyd_steinberg")]
    FloydSteinberg,
    /// Error diffusion, Atkinson (Mac-like: drops a quarter of the error, for contrast).
    Atkinson,
}

/// How a JPEG is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DctScaleArg {
    /// Every pixel: exact cell colours.
    Full,
    /// A reduced DCT scale when the block allows: faster, less exact.
    Fast,
}

impl From<DitherArg> for Dither {
    fn from(d: DitherArg) -> Self {
        match d {
            DitherArg::None => Dither::None,
            DitherArg::Bayer2 => Dither::Bayer2,
            DitherArg::Bayer4 => Dither::Bayer4,
            DitherArg::Bayer8 => Dither::Bayer8,
            DitherArg::FloydSteinberg => Dither::FloydSteinberg,
            DitherArg::Atkinson => Dither::Atkinson,
        }
    }
}

/// `--colors`: a palette size, or `full` (every block's own colour), as the service's
/// `colors=full` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorCount {
    /// At most this many colours (2–256).
    Count(u16),
    /// No palette: `--full-color`.
    Full,
}

fn parse_colors(value: &str) -> Result<ColorCount, String> {
    if value.eq_ignore_ascii_case("full") {
        return Ok(ColorCount::Full);
    }
    match value.parse::<u16>() {
        Ok(n @ 2..=256) => Ok(ColorCount::Count(n)),
        _ => Err(format!(
            "`{value}` is not a palette size: give a number of colours from 2 to 256, or `full` \
             to keep every block's own colour"
        )),
    }
}

impl Args {
    /// The engine options these arguments ask for (palette names go through the engine's parser;
    /// an existing file ending in .hex, .gpl or .png is read as a palette file).
    pub fn options(&self) -> anyhow::Result<Options> {
        let mut o = Options::default();
        if let Some(b) = self.block {
            o.set("block", &b.to_string())?;
        }
        if let Some(w) = self.width {
            o.set("width", &w.to_string())?;
        }
        match self.colors {
            Some(ColorCount::Count(c)) => o.set("colors", &c.to_string())?,
            Some(ColorCount::Full) => o.set("colors", "full")?,
            None => {}
        }
        if let Some(p) = &self.palette {
            let path = std::path::Path::new(p);
            if palette_file::Kind::of(path).is_some() {
                // Named like a palette file: read it, or say it is missing (not "unknown palette").
                if !path.is_file() {
                    anyhow::bail!(
                        "--palette {p}: no such palette file (looked for it because it ends in \
                         .hex, .gpl or .png); check the path, or give a built-in palette's name \
                         (`pixelsmith palettes` lists them) or hex colours like `#1a1c2c,#f4f4f4`"
                    );
                }
                o.colors = engine::Colors::Palette(palette_file::read(path)?);
            } else {
                o.set("palette", p)?;
            }
        }
        if let Some(l) = self.levels {
            o.set("levels", &l.to_string())?;
        }
        if self.full_color {
            o.set("colors", "full")?;
        }
        if let Some(k) = self.scale {
            o.set("scale", &k.to_string())?;
        }
        if self.grid {
            o.set("grid", "true")?;
        }
        o.dither = self.dither.into();
        o.vivid = self.vivid;
        o.alpha_threshold = self.alpha_threshold;
        o.optimize = self.optimize;
        if let Some(d) = self.detail {
            o.set("detail", &d.to_string())?;
        }
        if self.dct_scale == DctScaleArg::Fast {
            o.set("dct_scale", "fast")?;
        }
        o.limits.max_pixels = self.max_pixels;
        o.limits.max_memory_bytes = self.max_memory << 20;
        Ok(o)
    }
}

/// `pixelsmith pixelate`: one file as ever, or a batch (several inputs or a folder).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json && args.output.as_deref() == Some(std::path::Path::new("-")) {
        anyhow::bail!(
            "--json and `-o -` both want stdout: write the PNG to a file, or drop --json"
        );
    }
    if let Some(path) = &args.palette_out
        && palette_file::Kind::of(path).is_none()
    {
        anyhow::bail!(
            "--palette-out {}: give a file ending in .hex, .gpl or .png",
            path.display()
        );
    }
    let options = args.options()?;
    if args.inputs.len() > 1 || args.inputs.iter().any(|p| p.is_dir()) {
        return super::batch::run(&args, options);
    }
    let outcome = run_single(&args, options);
    if args.json
        && let Err(err) = &outcome
    {
        // With --json, stdout carries a document whatever happens (as a batch's lines do); the
        // message goes to stderr too.
        let code = err
            .downcast_ref::<super::Error>()
            .map_or("failed", super::batch::error_code);
        let value = serde_json::json!({
            "input": args.inputs[0].display().to_string(),
            "error": crate::cli::error_text(err),
            "code": code,
        });
        println!("{value}");
    }
    outcome
}

/// One input, one output file (or stdout).
fn run_single(args: &Args, options: Options) -> anyhow::Result<ExitCode> {
    let input = &args.inputs[0];
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| super::default_output(input, std::path::Path::new(".")));
    super::check_not_input(input, &output)?;
    super::check_output_name(&output)?;
    if let Some(path) = &args.palette_out {
        super::check_not_input(input, path)?;
    }
    let result = match super::animate::run(args, input, &options, &output)? {
        super::animate::Outcome::Done { code, palette } => {
            write_palette_out(args, input, &options, &palette)?;
            return Ok(code);
        }
        super::animate::Outcome::Still(result) => *result,
    };
    super::write_output(&output, &result.png)?;
    let r = &result.report;
    write_palette_out(args, input, &options, &r.palette)?;
    if let Some(note) = super::width_note(options.grid, r) {
        eprintln!("note: {note}");
    }
    if args.json {
        let mut value = serde_json::to_value(r)?;
        value["output"] = serde_json::Value::String(output.display().to_string());
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        // With the PNG on stdout, the summary goes to stderr.
        let line = format!(
            "wrote {} ({}x{} px, grid {}x{}, {} colours{}) in {:.1} ms",
            output.display(),
            r.output_width,
            r.output_height,
            r.grid_width,
            r.grid_height,
            r.colors_used,
            if r.transparent { " + transparent" } else { "" },
            r.timings.total_ms
        );
        super::print_summary(&output, &line);
    }
    Ok(ExitCode::SUCCESS)
}

/// List the built-in palettes, or render them as a swatch image.
#[derive(Debug, clap::Args)]
pub struct PalettesArgs {
    /// Also write a PNG swatch (one row per palette, in list order) to this path.
    #[arg(long, value_name = "PNG")]
    pub swatch: Option<PathBuf>,
    /// Only this palette (name or alias).
    pub name: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn palettes(args: PalettesArgs) -> anyhow::Result<ExitCode> {
    let chosen: Vec<&palettes::NamedPalette> = match &args.name {
        Some(name) => vec![palettes::find(name).with_context(|| {
            format!(
                "unknown palette `{name}`; built-in palettes: {}",
                palettes::names().join(", ")
            )
        })?],
        None => palettes::BUILT_IN.iter().collect(),
    };
    if args.json {
        let list: Vec<_> = chosen
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "aliases": p.aliases, "source": p.source,
                    "colors": p.palette().colors.iter().map(|c| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        for p in &chosen {
            println!("{:<12} {:>3} colours  {}", p.name, p.hex.len(), p.source);
        }
    }
    if let Some(path) = &args.swatch {
        let png = palettes::swatch_png(&chosen, 16)?;
        super::write_output(path, &png)?;
        eprintln!("wrote swatch {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `--palette-out` for one input: a fixed palette (`--palette`) is written whole, in its own
/// order, as a batch writes it, so it reads back the same; otherwise the colours the output uses
/// (`used`, `#rrggbb`).
fn write_palette_out(
    args: &Args,
    input: &std::path::Path,
    options: &engine::Options,
    used: &[String],
) -> anyhow::Result<()> {
    let Some(path) = &args.palette_out else {
        return Ok(());
    };
    if let engine::Colors::Palette(fixed) = &options.colors {
        let palette = engine::Palette {
            name: fixed.name.clone(),
            colors: fixed.colors.clone(),
        };
        return palette_file::write(&palette, path);
    }
    if used.is_empty() {
        anyhow::bail!(
            "--palette-out: the output keeps more than 256 colours, so it has no palette; use \
             --colors N or --palette"
        );
    }
    let colors = used
        .iter()
        .filter_map(|hex| palette_file::parse_hex(hex.trim_start_matches('#')))
        .collect();
    let name = input
        .file_stem()
        .map_or("stdin".into(), |s| s.to_string_lossy().into_owned());
    palette_file::write(&engine::Palette { name, colors }, path)
}
