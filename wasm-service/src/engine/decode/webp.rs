//! WebP (lossy and lossless; the first frame of an animation), with its ICC profile (`ICCP`) and
//! EXIF orientation (`EXIF`) honoured.

use std::io::Cursor;

use crate::engine::color_profile::Samples;
use crate::engine::error::{Error, zeroed};
use crate::engine::grid::{Cells, Channels};

use crate::engine::probe::{Format, check_size};

use super::{Bitmap, Plan, Request};

pub(super) fn decode(input: &[u8], request: &Request<'_>) -> Result<Cells, Error> {
    let limits = request.limits;
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(input)).map_err(error)?;
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
    decoder.read_image(&mut data).map_err(error)?;
    let bitmap = Bitmap {
        width,
        height,
        channels,
        data,
    };
    bitmap.into_grid(request, plan)
}

fn error(e: image_webp::DecodingError) -> Error {
    match e {
        image_webp::DecodingError::IoError(ref io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Error::truncated(Format::Webp)
        }
        other => Error::decoder(Format::Webp, other),
    }
}
