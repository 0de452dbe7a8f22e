//! WebP (lossy and lossless; the first frame of an animation), with its ICC profile (`ICCP`) and
//! EXIF orientation (`EXIF`) honoured.

use std::io::Cursor;

use crate::engine::color_profile::Samples;
use crate::engine::error::{Error, zeroed};
use crate::engine::grid::{Cells, Channels};

use crate::engine::probe::{Format, check_size};

use super::{Bitmap, Plan, Request};

/// Whether the WebP's `ICCP` profile takes lookup tables (see
/// `needs_native_color_management`); headers only.
#[cfg(feature = "cms-lut")]
pub(super) fn needs_lookup_tables(input: &[u8]) -> bool {
    let Ok(mut decoder) = image_webp::WebPDecoder::new(Cursor::new(input)) else {
        return false;
    };
    decoder.icc_profile().ok().flatten().is_some_and(|icc| {
        crate::engine::color_profile::needs_lookup_tables(&icc, Samples::GrayOrRgb { gray: false })
    })
}

pub(super) fn decode(input: &[u8], request: &Request<'_>) -> Result<Cells, Error> {
    let limits = request.limits;
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(input)).map_err(|e| error(input, e))?;
    decoder.set_memory_limit(super::decoder_memory_limit(limits));
    let (width, height) = decoder.dimensions();
    check_size(width, height, limits)?;
    let channels = if decoder.has_alpha() {
        Channels::Rgba
    } else {
        Channels::Rgb
    };
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| Error::decoder(Format::Webp, "image too large"))?;
    // Metadata errors only lose the metadata: the pixels still decode.
    let icc = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten();
    let plan = Plan::from_metadata(
        exif.as_deref(),
        icc.as_deref(),
        Samples::GrayOrRgb { gray: false },
    );
    let mut data = zeroed(size)?;
    decoder.read_image(&mut data).map_err(|e| error(input, e))?;
    let bitmap = Bitmap {
        width,
        height,
        channels,
        data,
    };
    bitmap.into_grid(request, plan)
}

/// The engine's error for a WebP decoding failure: `truncated` when the file is shorter than its
/// RIFF header says (image-webp then reports a corrupt bitstream) or data ran out, else malformed.
pub(super) fn error(input: &[u8], e: image_webp::DecodingError) -> Error {
    let declared = input
        .get(4..8)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) + 8);
    let short = declared.is_some_and(|size| (input.len() as u64) < size);
    match e {
        image_webp::DecodingError::IoError(ref io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Error::truncated(Format::Webp)
        }
        _ if short => Error::truncated(Format::Webp),
        other => Error::decoder(Format::Webp, other),
    }
}
