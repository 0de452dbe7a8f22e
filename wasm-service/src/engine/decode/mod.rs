//! Decoding, straight into the grid's per-cell sums.
//!
//! Every decoder hands rows over as they are stored, together with a [`Plan`]: the EXIF
//! orientation (applied to the grid, not the pixels: see `orientation`) and the embedded colour
//! profile's conversion (see `color_profile`). PNG rows stream into the sums without a full-size
//! buffer; the other formats decode to a buffer first.

mod bmp;
mod exif;
pub(crate) mod frames;
mod gif;
mod inflate;
mod jpeg;
#[cfg(not(target_arch = "wasm32"))]
mod png;
mod png_lean;
pub(crate) use png_lean::check_header_and_palette as check_png_header_and_palette;
#[cfg(not(target_arch = "wasm32"))]
mod png_pipeline;
mod unfilter;
#[cfg(feature = "webp")]
mod webp;

use super::color_profile::{self, Conversion, ProfileReport, Samples};
use super::error::Error;
use super::grid::{Accumulator, Cells, Channels, Layout};
use super::options::{Grid, Limits};
use super::orientation::Orientation;
use super::probe::{Format, ImageInfo};

pub use jpeg::DctScale;

/// What the caller asks of a decode beyond the grid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub grid: Grid,
    pub limits: &'a Limits,
    pub dct_scale: DctScale,
    /// `detail` strength, 0..=1 (see `detail`).
    pub detail: f32,
}

/// Whether `input` has an embedded colour profile that only native builds convert (through
/// lookup tables: CMYK print profiles, A2B-only RGB); the deployed module shows such colours
/// unconverted. JPEG, PNG (`iCCP`) and WebP (`ICCP`); headers only.
#[cfg(feature = "cms-lut")]
pub fn needs_native_color_management(input: &[u8]) -> bool {
    match super::probe::probe(input).map(|info| info.format) {
        Ok(Format::Jpeg) => jpeg::needs_lookup_tables(input),
        #[cfg(not(target_arch = "wasm32"))]
        Ok(Format::Png) => png::needs_lookup_tables(input) || png_primaries_need_native(input),
        #[cfg(feature = "webp")]
        Ok(Format::Webp) => webp::needs_lookup_tables(input),
        _ => false,
    }
}

/// Whether a PNG's colour comes from a `cHRM` naming other primaries than sRGB's (no `iCCP`,
/// no `sRGB`), which the module leaves out (see `png_color`).
#[cfg(all(feature = "cms-lut", not(target_arch = "wasm32")))]
fn png_primaries_need_native(input: &[u8]) -> bool {
    png_lean::chunk(input, *b"iCCP").is_none()
        && png_lean::chunk(input, *b"sRGB").is_none()
        && png_lean::chunk(input, *b"cHRM").is_some_and(super::png_color::names_other_primaries)
}

/// Decodes `input` (already probed and checked) into the grid.
pub(crate) fn decode_to_grid(
    input: &[u8],
    info: &ImageInfo,
    request: Request<'_>,
) -> Result<Cells, Error> {
    let limits = request.limits;
    match info.format {
        // Native builds decode PNG with the `png` crate (and two threads when it pays); the
        // module with its own lean decoder (see `png_lean` for why), proven row-for-row equal.
        #[cfg(not(target_arch = "wasm32"))]
        Format::Png => png::decode(&png_lean::with_end(input), &request),
        #[cfg(target_arch = "wasm32")]
        Format::Png => png_lean::decode(&png_lean::with_end(input), &request),
        Format::Jpeg => jpeg::decode(input, request),
        #[cfg(feature = "webp")]
        Format::Webp => webp::decode(input, &request),
        #[cfg(not(feature = "webp"))]
        Format::Webp => Err(Error::NotInThisBuild { format: "WebP" }),
        Format::Gif => gif::decode(input, limits)?.into_grid(&request, Plan::plain()),
        Format::Bmp => bmp::decode(input, limits)?.into_grid(&request, Plan::plain()),
    }
}

/// How stored rows become the displayed, sRGB picture.
pub(crate) struct Plan {
    pub orientation: Orientation,
    pub conversion: Conversion,
    pub profile: Option<ProfileReport>,
}

impl Plan {
    /// Upright sRGB: no metadata to honour.
    pub fn plain() -> Self {
        Plan {
            orientation: Orientation::default(),
            conversion: Conversion::Srgb,
            profile: None,
        }
    }

    /// From a file's EXIF block and ICC profile (either may be absent), for samples of `kind`.
    pub fn from_metadata(exif: Option<&[u8]>, icc: Option<&[u8]>, samples: Samples) -> Self {
        let orientation = Orientation::from_exif(exif.and_then(exif::orientation).unwrap_or(1));
        let (conversion, profile) = match icc.filter(|p| !p.is_empty()) {
            Some(icc) => {
                let (conversion, report) = color_profile::conversion(icc, samples);
                (conversion, Some(report))
            }
            None => (Conversion::Srgb, None),
        };
        Plan {
            orientation,
            conversion,
            profile,
        }
    }

    /// A PNG's plan: its `eXIf` orientation (wherever the chunk sits), and its colour as the PNG
    /// specification ranks the chunks: `iCCP` (`icc`), then `sRGB`, then `gAMA` with `cHRM`.
    pub fn for_png(input: &[u8], icc: Option<&[u8]>, samples: Samples) -> Self {
        let mut plan = Plan::from_metadata(png_lean::chunk(input, *b"eXIf"), icc, samples);
        let has_icc = icc.is_some_and(|p| !p.is_empty());
        if !has_icc && png_lean::chunk(input, *b"sRGB").is_none() {
            let gray = matches!(samples, Samples::GrayOrRgb { gray: true });
            if let Some((conversion, report)) = super::png_color::conversion(
                png_lean::chunk(input, *b"gAMA"),
                png_lean::chunk(input, *b"cHRM"),
                gray,
            ) {
                plan.conversion = conversion;
                plan.profile = Some(report);
            }
        }
        plan
    }

    /// An accumulator for `grid` over a stored `width × height` image whose rows carry
    /// `channels`, with `detail` strength (0..=1).
    pub fn accumulator(
        self,
        grid: Grid,
        detail: f32,
        stored: (u32, u32),
        channels: Channels,
    ) -> Result<(Accumulator, Finish), Error> {
        let display = self.orientation.display_size(stored);
        let layout = Layout::new(grid, display.0, display.1);
        let acc = Accumulator::with_detail(
            layout,
            self.orientation,
            self.conversion,
            channels.has_alpha(),
            detail,
        )?;
        Ok((
            acc,
            Finish {
                display,
                profile: self.profile,
            },
        ))
    }
}

/// What `Accumulator::finish` needs besides the sums: the displayed size and the profile note.
pub(crate) struct Finish {
    display: (u32, u32),
    profile: Option<ProfileReport>,
}

impl Finish {
    /// The finished cells, decoded at `decode_scale` from a source of `source` displayed size
    /// (`None`: the decoded size is the source size).
    pub fn cells(self, acc: Accumulator, decode_scale: u32, source: Option<(u32, u32)>) -> Cells {
        let mut cells = acc.finish(decode_scale, source.unwrap_or(self.display));
        cells.profile = self.profile;
        cells
    }
}

/// A decoded image held in memory: 8 bits per channel, rows top to bottom as stored.
#[derive(Debug)]
pub(crate) struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub channels: Channels,
    pub data: Vec<u8>,
}

impl Bitmap {
    fn row_len(&self) -> usize {
        self.width as usize * self.channels.count()
    }

    /// Sums the whole bitmap into the grid `request` asks for, as `plan` says.
    pub fn into_grid(self, request: &Request<'_>, plan: Plan) -> Result<Cells, Error> {
        self.into_grid_scaled(request.grid, request.detail, plan, 1, None)
    }

    /// Sums a bitmap the decoder already shrank by `decode_scale` from a source of `source`
    /// displayed size.
    pub fn into_grid_scaled(
        self,
        grid: Grid,
        detail: f32,
        plan: Plan,
        decode_scale: u32,
        source: Option<(u32, u32)>,
    ) -> Result<Cells, Error> {
        let (mut acc, finish) =
            plan.accumulator(grid, detail, (self.width, self.height), self.channels)?;
        let row_len = self.row_len().max(1);
        if let Err(data) = acc.adopt(self.data, self.channels) {
            for row in data.chunks_exact(row_len) {
                acc.push_row(row, self.channels);
            }
        }
        Ok(finish.cells(acc, decode_scale, source))
    }
}

/// Bytes a decoder may allocate: the full image at 4 bytes per pixel (plus slack for its tables).
fn decoder_memory_limit(limits: &Limits) -> usize {
    usize::try_from(limits.max_pixels.saturating_mul(4))
        .unwrap_or(usize::MAX)
        .saturating_add(16 << 20)
}
