//! WebP (lossy and lossless; the first frame of an animation).

use std::io::Cursor;

use crate::engine::error::Error;
use crate::engine::grid::Channels;
use crate::engine::options::Limits;
use crate::engine::probe::{Format, check_size};

use super::Bitmap;

pub(super) fn decode(input: &[u8], limits: &Limits) -> Result<Bitmap, Error> {
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
    let mut data = vec![0u8; size];
    decoder.read_image(&mut data).map_err(error)?;
    Ok(Bitmap {
        width,
        height,
        channels,
        data,
    })
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
