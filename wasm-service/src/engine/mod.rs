//! The pixel engine: image bytes in, pixel-art PNG bytes out.
//!
//! Pipeline: [`probe`] the header and check the limits → decode (straight into per-cell sums where
//! the format allows) → cell means in linear light with premultiplied alpha → binary alpha →
//! palette in Oklab (built, fixed or posterised) → dithering on the grid → indexed PNG, upscaled
//! with nearest neighbour. Every step is deterministic and uses no platform maths library, so the
//! native build and the `wasm32-wasip1` build give the same bytes.

pub mod animation;
#[cfg(not(target_arch = "wasm32"))]
mod apng_writer;
mod color_profile;
mod colorspace;
mod crc32;
mod decode;
mod detail;
mod dither;
mod encode;
mod error;
mod gif_writer;
mod grid;
mod icc;
mod matching;
mod memory;
mod options;
mod orientation;
pub mod palettes;
mod png_color;
mod png_writer;
mod probe;
mod quantize;
mod shared_palette;
mod sort;

pub use color_profile::ProfileReport;
#[cfg(feature = "cms-lut")]
pub use decode::needs_native_color_management;
pub use error::{Error, QUOTE_LIMIT, quote};
pub use options::{
    Colors, DEFAULT_ALPHA_THRESHOLD, DEFAULT_BLOCK, DEFAULT_COLORS, DctScale, Dither, Grid, Limits,
    OPTION_NAMES, Options, Output,
};
pub use palettes::Palette;
pub use probe::{Format, ImageInfo, probe};
pub use shared_palette::{PaletteSample, palette_sample, shared_palette, shared_palette_from};

use serde::Serialize;

/// What a pixelation produced: the PNG and a report about it.
#[derive(Debug, Clone)]
pub struct Pixelated {
    pub png: Vec<u8>,
    pub report: Report,
}

/// Facts about one pixelation, for people and agents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Source format, e.g. "png".
    pub format: &'static str,
    pub source_width: u32,
    pub source_height: u32,
    /// The grid: one cell per output "pixel".
    pub grid_width: u32,
    pub grid_height: u32,
    /// Block size in source pixels (for a grid width, the widest cell).
    pub block: u32,
    pub output_width: u32,
    pub output_height: u32,
    /// The colours the output uses, as `#rrggbb`, darkest first; empty when the output is true
    /// colour (more than 256 colours: see `colors_used`).
    pub palette: Vec<String>,
    /// How many distinct colours the output uses.
    pub colors_used: usize,
    /// Whether some cells are fully transparent.
    pub transparent: bool,
    /// JPEG only: the DCT scale the decoder used (1, 2, 4 or 8), 1 otherwise.
    pub decode_scale: u32,
    /// The source's embedded ICC profile, if it had one: its name, and whether and how colours
    /// were converted with it.
    pub color_profile: Option<ProfileReport>,
    pub png_bytes: usize,
    pub timings: Timings,
}

/// Where the time went, in milliseconds (wall clock; not part of the deterministic output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    pub decode_ms: f64,
    pub palette_ms: f64,
    pub encode_ms: f64,
    pub total_ms: f64,
}

/// Turns an encoded image into pixel art according to `options`.
///
/// Errors: every [`Error`]; before any pixel is decoded, the input's size, its declared pixels,
/// the output's pixels and the job's estimated memory are checked against `options.limits`.
pub fn pixelate(input: &[u8], options: &Options) -> Result<Pixelated, Error> {
    let clock = Clock::start();
    let info = check(input, options)?;
    let cells = decode::decode_to_grid(input, &info, request(options))?;
    let decode_ms = clock.lap();
    finish(cells, &info, options, clock, decode_ms)
}

/// Like [`pixelate`], for an input the caller no longer needs: it is freed as soon as it is
/// decoded, so the rest of the job does not hold it (a large file's bytes are often as large as
/// the cells of a small block size).
pub fn pixelate_owned(input: Vec<u8>, options: &Options) -> Result<Pixelated, Error> {
    let clock = Clock::start();
    let info = check(&input, options)?;
    let cells = decode::decode_to_grid(&input, &info, request(options))?;
    drop(input);
    let decode_ms = clock.lap();
    finish(cells, &info, options, clock, decode_ms)
}

/// The checks made before decoding: input size and header (the bomb gate), output size, memory.
fn check(input: &[u8], options: &Options) -> Result<ImageInfo, Error> {
    let limits = &options.limits;
    let info = probe::check(input, limits)?;
    // The output's pixel count does not depend on orientation (turning swaps width and height).
    let layout = grid::Layout::new(options.grid, info.width, info.height);
    let spans = encode::Spans::new(
        &layout,
        (info.width, info.height),
        options.grid,
        options.output,
    );
    let (out_w, out_h) = spans.size();
    if u64::from(out_w) * u64::from(out_h) > limits.max_output_pixels {
        return Err(Error::OutputTooLarge {
            width: out_w,
            height: out_h,
            limit: limits.max_output_pixels,
        });
    }
    let needed = memory::estimate(input, &info, options);
    if needed > limits.max_memory_bytes {
        return Err(Error::OverMemoryBudget {
            needed,
            budget: limits.max_memory_bytes,
        });
    }
    Ok(info)
}

fn request(options: &Options) -> decode::Request<'_> {
    decode::Request {
        grid: options.grid,
        limits: &options.limits,
        dct_scale: options.dct_scale,
        detail: f32::from(options.detail) / 100.0,
    }
}

fn finish(
    cells: grid::Cells,
    info: &ImageInfo,
    options: &Options,
    clock: Clock,
    decode_ms: f64,
) -> Result<Pixelated, Error> {
    let quantized = quantize::reduce(&cells, options)?;
    let palette_ms = clock.lap();

    let spans = encode::Spans::new(
        &cells.layout,
        (cells.source_width, cells.source_height),
        options.grid,
        options.output,
    );
    let (out_w, out_h) = spans.size();
    let png = encode::write_png(&quantized, &cells, &spans, options.optimize)?;
    let encode_ms = clock.lap();

    let report = Report {
        format: info.format.name(),
        source_width: cells.source_width,
        source_height: cells.source_height,
        grid_width: cells.layout.cols(),
        grid_height: cells.layout.rows(),
        block: cells.layout.max_cell_width() * cells.decode_scale,
        output_width: out_w,
        output_height: out_h,
        palette: quantized
            .palette
            .iter()
            .map(|c| colorspace::hex(*c))
            .collect(),
        colors_used: quantized.colors_used,
        transparent: quantized.has_transparency,
        decode_scale: cells.decode_scale,
        color_profile: cells.profile.clone(),
        png_bytes: png.len(),
        timings: Timings {
            decode_ms,
            palette_ms,
            encode_ms,
            total_ms: clock.total(),
        },
    };
    Ok(Pixelated { png, report })
}

/// What [`decode_only`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Cells across and down.
    pub grid: (u32, u32),
    /// The source's size in pixels as displayed: after EXIF orientation (a quarter turn swaps
    /// [`probe`]'s stored width and height), before any DCT scale.
    pub source: (u32, u32),
}

/// Decodes only (to the same cell sums the pipeline uses); the floor a benchmark compares
/// against, and how the gateway learns the grid and the displayed size without encoding.
pub fn decode_only(input: &[u8], options: &Options) -> Result<Decoded, Error> {
    let info = check(input, options)?;
    let cells = decode::decode_to_grid(input, &info, request(options))?;
    Ok(Decoded {
        grid: (cells.layout.cols(), cells.layout.rows()),
        source: (cells.source_width, cells.source_height),
    })
}

/// Wall-clock laps. `std::time::Instant` works on wasm32-wasip1 too (WASI `clock_time_get`).
struct Clock {
    start: std::time::Instant,
    last: std::cell::Cell<std::time::Instant>,
}

impl Clock {
    fn start() -> Self {
        let now = std::time::Instant::now();
        Clock {
            start: now,
            last: std::cell::Cell::new(now),
        }
    }

    fn lap(&self) -> f64 {
        let now = std::time::Instant::now();
        let ms = now.duration_since(self.last.get()).as_secs_f64() * 1000.0;
        self.last.set(now);
        ms
    }

    fn total(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }
}
