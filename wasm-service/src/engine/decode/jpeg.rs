//! JPEG: decoded at full size by default, so every cell is averaged in linear light from real
//! pixels; on request (`dct_scale=fast`) at the largest DCT scale (1/2, 1/4, 1/8) the block size is
//! a multiple of. CMYK and YCCK (Adobe's inverted inks, with or without the APP14 marker), embedded ICC profiles and EXIF orientation are
//! honoured.
//!
//! Why full size is the default (measured on `jpeg-decoder`'s scaled decode against its full
//! decode, cell means at every block size 2–32): a reduced scale averages each s×s square in the
//! JPEG's gamma-encoded YCbCr, not in linear light, and for 4:2:0 files its chroma, upsampled
//! from the reduced planes, bleeds across cell edges. On a photo (the astronaut at quality 92) the
//! 99th-percentile cell error at block 8 is 0.1 levels at full size, 5 at 1/2, 40 at 1/8; on 8-px
//! colour stripes aligned to the grid (4:2:0) it is 0.3, 12 and 109. The fast scale is up to 8×
//! less work, which matters most on OSC's interpreter: it stays available as an explicit choice.

use std::io::Cursor;

use crate::engine::color_profile::Samples;
use crate::engine::error::Error;
use crate::engine::grid::{Cells, Channels};
use crate::engine::options::Grid;
use crate::engine::probe::{Format, check_size};

use super::{Bitmap, Plan, Request};

/// Which DCT scale a JPEG is decoded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DctScale {
    /// Full size: exact linear-light cell means.
    #[default]
    Full,
    /// The largest of 1/2, 1/4, 1/8 that the block size is a multiple of: less work, with gamma-
    /// space averaging inside each scaled pixel and 4:2:0 colour bleeding across cell edges.
    Fast,
}

/// Whether `input` is a JPEG whose embedded ICC profile native builds convert pixel by pixel
/// through lookup tables (CMYK print profiles, A2B-only RGB): the deployed module, which leaves
/// that colour management out, would show its colours unconverted. Reads the headers only.
#[cfg(feature = "cms-lut")]
pub(crate) fn needs_lookup_tables(input: &[u8]) -> bool {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(input));
    if decoder.read_info().is_err() {
        return false;
    }
    let (Some(info), Some(icc)) = (decoder.info(), decoder.icc_profile()) else {
        return false;
    };
    let samples = match info.pixel_format {
        jpeg_decoder::PixelFormat::CMYK32 => Samples::Cmyk,
        jpeg_decoder::PixelFormat::RGB24 => Samples::GrayOrRgb { gray: false },
        _ => Samples::GrayOrRgb { gray: true },
    };
    crate::engine::color_profile::needs_lookup_tables(&icc, samples)
}

/// The bytes from the first scan (SOS) to the end: the coded image data and what follows it,
/// without the metadata before it (an XMP packet or a preview must not make a damaged file look
/// big enough). The whole length when the segments cannot be walked.
fn coded_len(input: &[u8]) -> usize {
    let mut at = 2;
    while let (Some(&0xFF), Some(&marker)) = (input.get(at), input.get(at + 1)) {
        match marker {
            0xFF => at += 1,
            0xDA => return input.len() - at,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => match input.get(at + 2..at + 4) {
                Some(len) => at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]])),
                None => break,
            },
        }
    }
    input.len()
}

/// Refuses a file far too small for the size its header declares, before decoding it: every
/// 8×8 block of a Huffman-coded JPEG (the only kind decoded here) takes at least one bit, its DC
/// code. `jpeg-decoder` pads missing data and paints made-up colours, and a 775-byte file that
/// declares 7900×7900 took a minute of the runner's time to answer that.
fn check_data_suffices(file_len: usize, width: u32, height: u32) -> Result<(), Error> {
    let blocks = u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8));
    let least = blocks.div_ceil(8);
    if (file_len as u64) < least {
        return Err(Error::Malformed {
            format: "JPEG",
            detail: format!(
                "it declares {width}x{height} pixels, which take at least {least} bytes of coded \
                 data, but the whole file is {file_len} bytes: its header is damaged or the file \
                 is cut off"
            ),
        });
    }
    Ok(())
}

pub(super) fn decode(input: &[u8], request: Request<'_>) -> Result<Cells, Error> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(input));
    decoder.set_max_decoding_buffer_size(super::decoder_memory_limit(request.limits));
    decoder.read_info().map_err(error)?;
    let info = decoder
        .info()
        .ok_or_else(|| Error::truncated(Format::Jpeg))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(width, height, request.limits)?;
    check_data_suffices(coded_len(input), width, height)?;

    let mut scale = 1;
    let mut grid = request.grid;
    // Cells are laid out from the displayed picture's top left. When EXIF turns that corner
    // away from the stored one (orientations other than 1 and 5), cell edges meet the scaled
    // pixels only if each side is a whole number of them; otherwise a cell would mix in its
    // neighbour's pixels (up to 170 levels off at an edge), so a smaller scale or none is used.
    let keeps_origin = matches!(
        decoder.exif_data().and_then(super::exif::orientation),
        None | Some(1 | 5)
    );
    if request.dct_scale == DctScale::Fast
        && let Grid::Block(block) = grid
        && let Some(s) = [8u32, 4, 2]
            .into_iter()
            .find(|s| block % s == 0 && (keeps_origin || (width % s == 0 && height % s == 0)))
    {
        // The grid stays exact only when every block is a whole number of scaled pixels.
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
    let exif = decoder.exif_data().map(<[u8]>::to_vec);
    let icc = decoder.icc_profile();
    let (channels, data, plan) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (
            Channels::Gray,
            pixels,
            Plan::from_metadata(
                exif.as_deref(),
                icc.as_deref(),
                Samples::GrayOrRgb { gray: true },
            ),
        ),
        jpeg_decoder::PixelFormat::L16 => (
            Channels::Gray,
            pixels.chunks_exact(2).map(|p| p[0]).collect(),
            Plan::from_metadata(
                exif.as_deref(),
                icc.as_deref(),
                Samples::GrayOrRgb { gray: true },
            ),
        ),
        jpeg_decoder::PixelFormat::RGB24 => (
            Channels::Rgb,
            pixels,
            Plan::from_metadata(
                exif.as_deref(),
                icc.as_deref(),
                Samples::GrayOrRgb { gray: false },
            ),
        ),
        jpeg_decoder::PixelFormat::CMYK32 => {
            // jpeg-decoder reads every CMYK file as Adobe stores them (inverted, 255 = no ink),
            // whether or not Adobe's APP14 marker is there, as Pillow, ImageMagick and browsers
            // do: nearly every CMYK JPEG comes from Adobe software, and one whose marker was
            // stripped must not turn black.
            let inks = pixels;
            let mut plan = Plan::from_metadata(exif.as_deref(), icc.as_deref(), Samples::Cmyk);
            let rgb = cmyk_to_rgb(&inks, &mut plan);
            (Channels::Rgb, rgb, plan)
        }
    };
    let expected = w as usize * h as usize * channels.count();
    if data.len() < expected {
        return Err(Error::truncated(Format::Jpeg));
    }
    let source = plan.orientation.display_size((width, height));
    let bitmap = Bitmap {
        width: w,
        height: h,
        channels,
        data,
    };
    bitmap.into_grid_scaled(grid, request.detail, plan, scale, Some(source))
}

/// Inks (0 = none, 255 = full, as ICC profiles encode CMYK) to sRGB: through the file's CMYK
/// profile when this build has the LUT engine, otherwise by the usual profile-less rule
/// R = (1 − C)(1 − K), as Pillow, ImageMagick and browsers without a profile do. Either way the
/// plan's conversion is used up here (the rows it hands on are sRGB).
fn cmyk_to_rgb(inks: &[u8], plan: &mut Plan) -> Vec<u8> {
    let conversion = std::mem::replace(
        &mut plan.conversion,
        crate::engine::color_profile::Conversion::Srgb,
    );
    #[cfg(feature = "cms-lut")]
    if let crate::engine::color_profile::Conversion::PerPixel(per_pixel) = conversion {
        let mut rgb = vec![0u8; inks.len() / 4 * 3];
        per_pixel.convert(inks, &mut rgb);
        return rgb;
    }
    let _ = conversion;
    inks.chunks_exact(4)
        .flat_map(|p| {
            let k = 255 - u32::from(p[3]);
            [0, 1, 2].map(|i| (((255 - u32::from(p[i])) * k + 127) / 255) as u8)
        })
        .collect()
}

fn error(e: jpeg_decoder::Error) -> Error {
    use jpeg_decoder::UnsupportedFeature as F;
    let unsupported = |feature| Error::UnsupportedFeature {
        format: "JPEG",
        feature,
        advice: "re-save it as a baseline or progressive JPEG, or as PNG",
    };
    match e {
        jpeg_decoder::Error::Io(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(Format::Jpeg)
        }
        jpeg_decoder::Error::Format(ref msg) if msg.contains("end of") || msg.contains("EOF") => {
            Error::truncated(Format::Jpeg)
        }
        jpeg_decoder::Error::Unsupported(feature) => unsupported(match feature {
            F::Hierarchical => "hierarchical",
            F::ArithmeticEntropyCoding => "arithmetic-coded",
            F::SamplePrecision(12) => "12-bit",
            F::SamplePrecision(_) => "non-8-bit",
            F::ComponentCount(_) => "an unusual number of colour components in a",
            F::DNL => "height-after-the-first-scan (DNL)",
            F::SubsamplingRatio | F::NonIntegerSubsamplingRatio => {
                "unusual chroma subsampling in a"
            }
            F::ColorTransform(_) => "an unusual colour transform in a",
        }),
        other => Error::decoder(Format::Jpeg, other),
    }
}
