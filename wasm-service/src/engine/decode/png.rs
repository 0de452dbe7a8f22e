//! PNG: rows stream from the `png` crate straight into the grid sums.

use std::io::Cursor;

use crate::engine::error::Error;
use crate::engine::grid::{Accumulator, Cells, Channels, Layout};
use crate::engine::options::{Grid, Limits};
use crate::engine::probe::{Format, check_size};

pub(super) fn decode(input: &[u8], grid: Grid, limits: &Limits) -> Result<Cells, Error> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(input),
        png::Limits {
            bytes: super::decoder_memory_limit(limits),
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(error)?;
    let (width, height, interlaced) = {
        let info = reader.info();
        (info.width, info.height, info.interlaced)
    };
    check_size(width, height, limits)?;
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => Channels::Gray,
        png::ColorType::GrayscaleAlpha => Channels::GrayAlpha,
        png::ColorType::Rgb => Channels::Rgb,
        png::ColorType::Rgba => Channels::Rgba,
        // EXPAND turns indexed colour into RGB(A).
        png::ColorType::Indexed => {
            return Err(Error::decoder(
                Format::Png,
                "indexed colour was not expanded",
            ));
        }
    };

    if interlaced {
        // Adam7 rows arrive out of order: take the whole frame, then sum it.
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| Error::decoder(Format::Png, "image too large"))?;
        let mut data = vec![0u8; size];
        reader.next_frame(&mut data).map_err(error)?;
        let bitmap = super::Bitmap {
            width,
            height,
            channels,
            data,
        };
        return Ok(bitmap.into_grid(grid));
    }

    let mut acc = Accumulator::new(Layout::new(grid, width, height));
    let row_len = width as usize * channels.count();
    while let Some(row) = reader.next_row().map_err(error)? {
        acc.push_row(&row.data()[..row_len], channels);
    }
    Ok(acc.finish(1, width, height))
}

fn error(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(Format::Png)
        }
        png::DecodingError::LimitsExceeded => {
            Error::decoder(Format::Png, "the decoder's memory limit was exceeded")
        }
        other => Error::decoder(Format::Png, other),
    }
}
