//! JPEG: decoded at the largest DCT scale (1/2, 1/4, 1/8) that the block size is a multiple of,
//! then EXIF orientation, then the grid.

use std::io::Cursor;

use crate::engine::error::Error;
use crate::engine::grid::{Cells, Channels};
use crate::engine::options::{Grid, Limits};
use crate::engine::probe::{Format, check_size};

use super::Bitmap;

pub(super) fn decode(input: &[u8], grid: Grid, limits: &Limits) -> Result<Cells, Error> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(input));
    decoder.set_max_decoding_buffer_size(super::decoder_memory_limit(limits));
    decoder.read_info().map_err(error)?;
    let info = decoder
        .info()
        .ok_or_else(|| Error::truncated(Format::Jpeg))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(width, height, limits)?;
    let orientation = decoder
        .exif_data()
        .and_then(super::exif::orientation)
        .unwrap_or(1);

    // A DCT scale only keeps the grid exact when every block is a whole number of scaled pixels.
    let mut scale = 1;
    let mut grid = grid;
    if let Grid::Block(block) = grid
        && let Some(s) = [8u32, 4, 2].into_iter().find(|s| block % s == 0)
    {
        let (w, h) = (width.div_ceil(s), height.div_ceil(s));
        let got = decoder.scale(w as u16, h as u16).map_err(error)?;
        if (u32::from(got.0), u32::from(got.1)) == (w, h) {
            scale = s;
            grid = Grid::Block(block / s);
        } else {
            decoder.scale(info.width, info.height).map_err(error)?;
        }
    }

    let pixels = decoder.decode().map_err(error)?;
    let info = decoder
        .info()
        .ok_or_else(|| Error::truncated(Format::Jpeg))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let (channels, data) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (Channels::Gray, pixels),
        jpeg_decoder::PixelFormat::L16 => (
            Channels::Gray,
            pixels.chunks_exact(2).map(|p| p[0]).collect(),
        ),
        jpeg_decoder::PixelFormat::RGB24 => (Channels::Rgb, pixels),
        jpeg_decoder::PixelFormat::CMYK32 => (Channels::Rgb, cmyk_to_rgb(&pixels)),
    };
    let expected = w as usize * h as usize * channels.count();
    if data.len() < expected {
        return Err(Error::truncated(Format::Jpeg));
    }
    let bitmap = Bitmap {
        width: w,
        height: h,
        channels,
        data,
    };
    let source = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    Ok(bitmap
        .oriented(orientation)
        .into_grid_scaled(grid, scale, source))
}

/// jpeg-decoder hands back CMYK already inverted as Adobe writes it: channel = 255 - ink.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u32::from(p[3]);
            [0, 1, 2].map(|i| ((u32::from(p[i]) * k + 127) / 255) as u8)
        })
        .collect()
}

fn error(e: jpeg_decoder::Error) -> Error {
    match e {
        jpeg_decoder::Error::Io(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(Format::Jpeg)
        }
        jpeg_decoder::Error::Format(ref msg) if msg.contains("end of") || msg.contains("EOF") => {
            Error::truncated(Format::Jpeg)
        }
        other => Error::decoder(Format::Jpeg, other),
    }
}
