//! Animations: animated GIF, APNG and WebP in; animated GIF or APNG out, or one frame as a still.
//!
//! Every frame is composited onto the canvas as a viewer shows it (see `decode::frames`), cut on
//! the same grid with the same options, and reduced with one palette built from all frames'
//! cells weighted by how long each frame is shown (see `quantize::frames`), so colours do not
//! flicker and static areas stay identical under every dither. The total decoded pixels (frame
//! count × canvas) are checked against the pixel limit before any frame is decoded.

use serde::Serialize;

use super::decode::{self, Bitmap, Plan, frames};
use super::error::Error;
use super::grid::{Cells, Channels};
use super::options::Options;
use super::probe;
use super::{Clock, Pixelated, Timings, colorspace, encode, quantize};

/// The animated formats the engine writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnimationFormat {
    /// GIF89a with a global palette and a loop extension.
    Gif,
    /// Animated PNG (native builds only).
    Apng,
}

impl AnimationFormat {
    /// The format's name as reports give it: "gif" or "apng".
    pub fn name(self) -> &'static str {
        match self {
            AnimationFormat::Gif => "gif",
            AnimationFormat::Apng => "apng",
        }
    }

    /// The format's usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            AnimationFormat::Gif => "gif",
            AnimationFormat::Apng => "png",
        }
    }
}

/// What an animated pixelation produced: the file and a report about it.
#[derive(Debug, Clone)]
pub struct Animated {
    /// The encoded animation (GIF or APNG).
    pub bytes: Vec<u8>,
    pub report: AnimationReport,
}

/// One frame's place in the animation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameReport {
    /// 0-based frame number (what `--frame` takes).
    pub index: usize,
    /// How long the frame is shown, in milliseconds, as the output stores it (a GIF keeps
    /// hundredths of a second: 33 ms is written as 30, 1 ms as 10 rather than 0).
    pub delay_ms: u32,
}

/// Facts about an animated pixelation, for people and agents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnimationReport {
    /// Source format, e.g. "gif".
    pub format: &'static str,
    /// Output format: "gif" or "apng".
    pub output_format: AnimationFormat,
    /// The canvas every frame is drawn on.
    pub source_width: u32,
    pub source_height: u32,
    pub grid_width: u32,
    pub grid_height: u32,
    /// Block size in source pixels (for a grid width, the widest cell).
    pub block: u32,
    pub output_width: u32,
    pub output_height: u32,
    /// The one palette every frame uses, as `#rrggbb`, darkest first.
    pub palette: Vec<String>,
    pub colors_used: usize,
    /// Whether some cell of some frame is fully transparent.
    pub transparent: bool,
    pub frame_count: usize,
    /// Every frame with its delay.
    pub frames: Vec<FrameReport>,
    /// How many times the animation plays in all: 0 forever, 1 once (what a GIF without a loop
    /// extension does). Kept from the source and converted between formats: a GIF stores repeats
    /// after the first play, APNG and WebP the total.
    pub plays: u32,
    /// Size of the encoded output.
    pub bytes: usize,
    pub timings: Timings,
}

/// How many frames `input` shows, read from its headers without decoding a frame: `None` for a
/// still (a format without animation, or a PNG/WebP that is not animated).
pub fn frame_count(input: &[u8], options: &Options) -> Result<Option<u32>, Error> {
    let info = probe::check(input, &options.limits)?;
    Ok(frames::header(input, &info, &options.limits)?.map(|h| h.frames))
}

/// Pixelates every frame of `input` and encodes them as one animation in `format`. A still input
/// gives a one-frame animation.
///
/// Errors: every [`Error`]; [`Error::TooManyFramePixels`] when frame count × canvas is over
/// `options.limits.max_pixels` (checked before decoding).
pub fn pixelate_animation(
    input: &[u8],
    options: &Options,
    format: AnimationFormat,
) -> Result<Animated, Error> {
    let clock = Clock::start();
    let info = super::check(input, options)?;
    let header = frames::header(input, &info, &options.limits)?;
    let mut all: Vec<Cells> = Vec::new();
    let mut delays: Vec<u32> = Vec::new();
    let plays = match header {
        Some(h) => {
            let total = u64::from(h.frames) * u64::from(h.width) * u64::from(h.height);
            if total > options.limits.max_pixels {
                return Err(Error::TooManyFramePixels {
                    frames: h.frames,
                    width: h.width,
                    height: h.height,
                    limit: options.limits.max_pixels,
                });
            }
            let needed =
                super::memory::estimate_animation(input, h.frames, h.width, h.height, options);
            if needed > options.limits.max_memory_bytes {
                return Err(Error::OverMemoryBudget {
                    needed,
                    budget: options.limits.max_memory_bytes,
                });
            }
            frames::composite(input, &info, &options.limits, None, &mut |canvas, delay| {
                all.push(canvas_cells(canvas, &h, options)?);
                delays.push(delay);
                Ok(())
            })?;
            h.plays
        }
        None => {
            all.push(decode::decode_to_grid(
                input,
                &info,
                super::request(options),
            )?);
            delays.push(0);
            1
        }
    };
    let decode_ms = clock.lap();

    // Browsers show frames of 10 ms or less for 100 ms; weigh them as shown.
    let weights: Vec<f32> = delays
        .iter()
        .map(|&d| if d <= 10 { 100.0 } else { d as f32 })
        .collect();
    let reduced = quantize::reduce_frames(&all, &weights, options)?;
    let palette_ms = clock.lap();

    let cells = &all[0];
    let spans = encode::Spans::new(
        &cells.layout,
        (cells.source_width, cells.source_height),
        options.grid,
        options.output,
    );
    let (out_w, out_h) = spans.size();
    let cols = cells.layout.cols() as usize;
    let sequence = super::gif_writer::Sequence {
        frames: &reduced.frames,
        cols,
        spans: &spans,
        palette: &reduced.palette,
        has_transparency: reduced.has_transparency,
        delays_ms: &delays,
        plays,
    };
    let bytes = match format {
        AnimationFormat::Gif => super::gif_writer::write(&sequence)?,
        #[cfg(not(target_arch = "wasm32"))]
        AnimationFormat::Apng => super::apng_writer::write(&sequence)?,
        #[cfg(target_arch = "wasm32")]
        AnimationFormat::Apng => return Err(Error::NotInThisBuild { format: "APNG" }),
    };
    let encode_ms = clock.lap();
    let report = AnimationReport {
        format: info.format.name(),
        output_format: format,
        source_width: cells.source_width,
        source_height: cells.source_height,
        grid_width: cells.layout.cols(),
        grid_height: cells.layout.rows(),
        block: cells.layout.max_cell_width() * cells.decode_scale,
        output_width: out_w,
        output_height: out_h,
        palette: reduced
            .palette
            .iter()
            .map(|c| colorspace::hex(*c))
            .collect(),
        colors_used: reduced.palette.len(),
        transparent: reduced.has_transparency,
        frame_count: delays.len(),
        frames: delays
            .iter()
            .enumerate()
            .map(|(index, &delay)| FrameReport {
                index,
                delay_ms: match format {
                    // What the file holds: GIF stores hundredths of a second.
                    AnimationFormat::Gif => u32::from(super::gif_writer::delay_cs(delay)) * 10,
                    AnimationFormat::Apng => delay,
                },
            })
            .collect(),
        plays,
        bytes: bytes.len(),
        timings: Timings {
            decode_ms,
            palette_ms,
            encode_ms,
            total_ms: clock.total(),
        },
    };
    Ok(Animated { bytes, report })
}

/// Pixelates frame `index` (0-based) of an animation as a still PNG, composited as a viewer
/// shows it (only the frames up to it are decoded). Frame 0 of a still is the still itself.
pub fn pixelate_frame(input: &[u8], index: usize, options: &Options) -> Result<Pixelated, Error> {
    let clock = Clock::start();
    let info = super::check(input, options)?;
    let Some(header) = frames::header(input, &info, &options.limits)? else {
        if index != 0 {
            // A damaged file says what is wrong with it rather than that it has one frame.
            super::decode_only(input, options)?;
            return Err(Error::option(
                "frame",
                format!("frame {index} does not exist: the image is a still (frame 0 only)"),
            ));
        }
        return super::pixelate(input, options);
    };
    let mut cells = None;
    frames::composite(
        input,
        &info,
        &options.limits,
        Some(index),
        &mut |canvas, _| {
            cells = Some(canvas_cells(canvas, &header, options)?);
            Ok(())
        },
    )?;
    let cells = cells.ok_or_else(|| Error::option("frame", "the animation has no frames"))?;
    let decode_ms = clock.lap();
    super::finish(cells, &info, options, clock, decode_ms)
}

/// One frame of an animation as a viewer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    /// RGBA, 8 bits a sample, not premultiplied, rows top to bottom (`width × height × 4` bytes).
    pub rgba: Vec<u8>,
}

/// Frame `index` (0-based) of the animation `input`, composited onto its canvas as a viewer
/// shows it (only the frames up to it are decoded). For front ends that hand one frame on to a
/// decoder that reads stills only (the gateway, for the deployed module).
///
/// Errors: every [`Error`] decoding gives; [`Error::InvalidOption`] naming `frame` when `input`
/// is a still or has no frame `index`.
pub fn composited_frame(input: &[u8], index: usize, options: &Options) -> Result<Canvas, Error> {
    let info = probe::check(input, &options.limits)?;
    let Some(header) = frames::header(input, &info, &options.limits)? else {
        return Err(Error::option(
            "frame",
            "the image is a still, not an animation: leave `frame` out",
        ));
    };
    let mut canvas = None;
    frames::composite(
        input,
        &info,
        &options.limits,
        Some(index),
        &mut |rgba, _| {
            canvas = Some(rgba.to_vec());
            Ok(())
        },
    )?;
    let rgba = canvas.ok_or_else(|| Error::option("frame", "the animation has no frames"))?;
    Ok(Canvas {
        width: header.width,
        height: header.height,
        rgba,
    })
}

/// One composited canvas on the grid.
fn canvas_cells(canvas: &[u8], header: &frames::Header, options: &Options) -> Result<Cells, Error> {
    let bitmap = Bitmap {
        width: header.width,
        height: header.height,
        channels: Channels::Rgba,
        data: canvas.to_vec(),
    };
    bitmap.into_grid(&super::request(options), Plan::plain())
}
