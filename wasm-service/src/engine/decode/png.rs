//! PNG: rows stream from the `png` crate straight into the grid sums (on native builds, large
//! 8-bit images inflate on a second thread: see `png_pipeline`).

use std::io::Cursor;

use crate::engine::error::Error;
use crate::engine::grid::{Accumulator, Cells, Channels, Layout};
use crate::engine::options::{Grid, Limits};
use crate::engine::probe::{Format, check_size};

pub(super) fn decode(input: &[u8], grid: Grid, limits: &Limits) -> Result<Cells, Error> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(cells) = pipelined(input, grid, limits)? {
        return Ok(cells);
    }
    sequential(input, grid, limits)
}

/// The two-thread decode (see `png_pipeline`) when it applies and succeeds. `Ok(None)` means
/// decode sequentially: it does not apply, or it failed and the sequential path reports why.
#[cfg(not(target_arch = "wasm32"))]
fn pipelined(input: &[u8], grid: Grid, limits: &Limits) -> Result<Option<Cells>, Error> {
    use super::png_pipeline;

    let shape = {
        let mut decoder = png::Decoder::new_with_limits(
            Cursor::new(input),
            png::Limits {
                bytes: super::decoder_memory_limit(limits),
            },
        );
        decoder.set_ignore_text_chunk(true);
        decoder.set_ignore_iccp_chunk(true);
        // Header errors are left to the sequential path.
        let Ok(reader) = decoder.read_info() else {
            return Ok(None);
        };
        let info = reader.info();
        check_size(info.width, info.height, limits)?;
        match png_pipeline::applies(info) {
            Some(shape) => shape,
            None => return Ok(None),
        }
    };
    let mut acc = Accumulator::new(Layout::new(grid, shape.width, shape.height));
    Ok(png_pipeline::decode_rows(input, shape, &mut acc)
        .ok()
        .map(|()| acc.finish(1, shape.width, shape.height)))
}

/// The `png` crate's own row-by-row decode: every PNG, and the only path in the wasm module.
pub(super) fn sequential(input: &[u8], grid: Grid, limits: &Limits) -> Result<Cells, Error> {
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
