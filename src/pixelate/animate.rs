//! Animations in `pixelsmith pixelate`: choosing between a still, one frame and an animation
//! from `--frame`, `--format` and the output's extension, and reporting an animation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::engine::animation::{self, AnimationFormat};
use crate::engine::{self, Options, Pixelated};

use super::cli::{Args, FormatArg};

/// What `run` did: wrote an animation itself, or made a still for the caller to write and report.
pub enum Outcome {
    /// The animation is written and reported; exit with this code. `palette` is the one every
    /// frame uses (`#rrggbb`), for `--palette-out`.
    Done {
        code: ExitCode,
        palette: Vec<String>,
    },
    /// A still PNG (the source's only frame, or `--frame N`).
    Still(Box<Pixelated>),
}

/// The animated format the arguments ask for: `--format`, else the output's extension
/// (`.gif`, `.apng`); `None` means a PNG still.
fn wanted(args: &Args, output: &Path) -> Option<AnimationFormat> {
    match args.format {
        Some(FormatArg::Gif) => Some(AnimationFormat::Gif),
        Some(FormatArg::Apng) => Some(AnimationFormat::Apng),
        Some(FormatArg::Png) => None,
        None => match super::output_extension(output).as_deref() {
            Some("gif") => Some(AnimationFormat::Gif),
            Some("apng") => Some(AnimationFormat::Apng),
            _ => None,
        },
    }
}

/// Reads `input` and makes what the arguments ask for: an animation (written and reported
/// here), frame `--frame N` as a still, or the still of a non-animated source. A PNG output of
/// an animated source without `--frame` is refused with what to do instead.
pub fn run(args: &Args, input: &Path, options: &Options, output: &Path) -> anyhow::Result<Outcome> {
    let format = wanted(args, output);
    if let (Some(f), Some(_)) = (format, args.frame) {
        anyhow::bail!(
            "--frame gives one frame as a still PNG, but the output is {}: drop --frame for the \
             whole animation, or write the frame to a .png file",
            if f == AnimationFormat::Gif {
                "a GIF"
            } else {
                "an APNG"
            }
        );
    }
    let bytes = super::read_input(input, options.limits.max_input_bytes)?;
    let engine_err = |source| super::Error::Engine {
        path: input.to_path_buf(),
        source,
    };
    if let Some(index) = args.frame {
        let still =
            animation::pixelate_frame(&bytes, index as usize, options).map_err(engine_err)?;
        return Ok(Outcome::Still(Box::new(still)));
    }
    let format = match format {
        Some(format) => format,
        None => match animation::frame_count(&bytes, options).map_err(engine_err)? {
            // No output name to choose by (the default name, or stdout): an animation stays one.
            Some(n)
                if n > 1
                    && args.format.is_none()
                    && (args.output.is_none() || output == Path::new("-")) =>
            {
                AnimationFormat::Gif
            }
            Some(n) if n > 1 => anyhow::bail!(
                "{} is an animation of {n} frames, and a PNG output holds one picture: write the \
                 animation with `-o OUT.gif` (animated GIF) or `--format apng` / `-o OUT.apng` \
                 (animated PNG), or pick one frame with `--frame N` (0..={})",
                input.display(),
                n - 1
            ),
            _ => {
                let still = engine::pixelate(&bytes, options).map_err(engine_err)?;
                return Ok(Outcome::Still(Box::new(still)));
            }
        },
    };
    // Without -o, the default name takes the format's extension.
    let output: PathBuf = if args.output.is_none() {
        output.with_extension(format.extension())
    } else {
        output.to_path_buf()
    };
    super::check_not_input(input, &output)?;
    let result = animation::pixelate_animation(&bytes, options, format).map_err(engine_err)?;
    drop(bytes);
    super::write_output(&output, &result.bytes)?;
    let r = &result.report;
    if args.json {
        let mut value = serde_json::to_value(r)?;
        value["output"] = serde_json::Value::String(output.display().to_string());
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let line = format!(
            "wrote {} ({}, {} frame{}, {}x{} px, grid {}x{}, {} colours{}) in {:.1} ms",
            output.display(),
            match format {
                AnimationFormat::Gif => "animated GIF",
                AnimationFormat::Apng => "APNG",
            },
            r.frame_count,
            if r.frame_count == 1 { "" } else { "s" },
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
    Ok(Outcome::Done {
        code: ExitCode::SUCCESS,
        palette: result.report.palette,
    })
}
