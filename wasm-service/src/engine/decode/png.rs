//! PNG: rows stream from the `png` crate straight into the grid sums (on native builds, large
//! 8-bit images inflate on a second thread: see `png_pipeline`). An embedded ICC profile (`iCCP`)
//! and an EXIF orientation (`eXIf`, before or after the image data) are honoured.

use std::io::Cursor;

use crate::engine::color_profile::Samples;
use crate::engine::error::{Error, zeroed};
use crate::engine::grid::{Cells, Channels};
use crate::engine::options::Limits;
use crate::engine::probe::{Format, check_size};

use super::{Plan, Request};

pub(super) fn decode(input: &[u8], request: &Request<'_>) -> Result<Cells, Error> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(cells) = pipelined(input, request)? {
        return Ok(cells);
    }
    sequential(input, request)
}

fn decoder<'a>(input: &'a [u8], limits: &Limits) -> png::Decoder<Cursor<&'a [u8]>> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(input),
        png::Limits {
            bytes: super::decoder_memory_limit(limits),
        },
    );
    decoder.set_ignore_text_chunk(true);
    decoder
}

/// Whether the PNG's `iCCP` profile takes lookup tables (see `needs_native_color_management`);
/// headers only.
#[cfg(feature = "cms-lut")]
pub(super) fn needs_lookup_tables(input: &[u8]) -> bool {
    let Ok(reader) = decoder(input, &crate::engine::Limits::default()).read_info() else {
        return false;
    };
    let info = reader.info();
    let gray = matches!(
        info.color_type,
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha
    );
    info.icc_profile.as_deref().is_some_and(|icc| {
        crate::engine::color_profile::needs_lookup_tables(icc, Samples::GrayOrRgb { gray })
    })
}

/// The plan for a PNG whose header `info` was read: its profile, and its orientation from an
/// `eXIf` chunk wherever it sits (the `png` crate only sees those before the image data).
fn plan(input: &[u8], info: &png::Info<'_>, gray: bool) -> Plan {
    Plan::for_png(
        input,
        info.icc_profile.as_deref(),
        Samples::GrayOrRgb { gray },
    )
}

/// The two-thread decode (see `png_pipeline`) when it applies and succeeds. `Ok(None)` means
/// decode sequentially: it does not apply, or it failed and the sequential path reports why.
#[cfg(not(target_arch = "wasm32"))]
fn pipelined(input: &[u8], request: &Request<'_>) -> Result<Option<Cells>, Error> {
    use super::png_pipeline;

    let limits = request.limits;
    let (shape, plan) = {
        // Header errors are left to the sequential path.
        let Ok(reader) = decoder(input, limits).read_info() else {
            return Ok(None);
        };
        let info = reader.info();
        check_size(info.width, info.height, limits)?;
        match png_pipeline::applies(info) {
            Some(shape) => {
                let gray = matches!(shape.channels, Channels::Gray | Channels::GrayAlpha);
                (shape, plan(input, info, gray))
            }
            None => return Ok(None),
        }
    };
    let (mut acc, finish) = plan.accumulator(
        request.grid,
        request.detail,
        (shape.width, shape.height),
        shape.channels,
    )?;
    Ok(png_pipeline::decode_rows(input, shape, &mut acc)
        .ok()
        .map(|()| finish.cells(acc, 1, None)))
}

/// The `png` crate's own row-by-row decode: every PNG, and the only path in the wasm module.
pub(super) fn sequential(input: &[u8], request: &Request<'_>) -> Result<Cells, Error> {
    let limits = request.limits;
    let mut decoder = decoder(input, limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
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
    let gray = matches!(channels, Channels::Gray | Channels::GrayAlpha);
    let plan = plan(input, reader.info(), gray);

    if interlaced {
        // Adam7 rows arrive out of order: take the whole frame, then sum it.
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| Error::decoder(Format::Png, "image too large"))?;
        let mut data = zeroed(size)?;
        reader.next_frame(&mut data).map_err(error)?;
        let bitmap = super::Bitmap {
            width,
            height,
            channels,
            data,
        };
        return bitmap.into_grid(request, plan);
    }

    let (mut acc, finish) =
        plan.accumulator(request.grid, request.detail, (width, height), channels)?;
    let row_len = width as usize * channels.count();
    while let Some(row) = reader.next_row().map_err(error)? {
        acc.push_row(&row.data()[..row_len], channels);
    }
    Ok(finish.cells(acc, 1, None))
}

/// The `png` crate's error in the words the module's own reader (`png_lean`) uses for the same
/// damage, so the CLI and the service say the same thing.
pub(super) fn error(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(Format::Png)
        }
        png::DecodingError::LimitsExceeded => {
            Error::decoder(Format::Png, "the decoder's memory limit was exceeded")
        }
        png::DecodingError::Format(ref f) => {
            let text = f.to_string();
            if text.contains("CRC") {
                Error::decoder(
                    Format::Png,
                    format!(
                        "a chunk's checksum (CRC) does not match its data{}: the file was damaged \
                         in transfer or storage; download or export it again",
                        chunk_name(&text)
                            .map(|n| format!(" (in its {n} chunk)"))
                            .unwrap_or_default()
                    ),
                )
            } else if text.contains("deflate") {
                // The png crate's text names the inflater's internal error (`BadCodeLength…`).
                super::png_lean::inflate_error()
            } else if text.contains("not have enough data") {
                super::png_lean::too_few_rows()
            } else if text.contains("Unrecognized critical chunk") {
                super::png_lean::unknown_critical_chunk(
                    &chunk_name(&text).unwrap_or_else(|| "unnamed".into()),
                )
            } else if let Some(n) = text.strip_prefix("Unknown filter method ") {
                // The IHDR's filter method is checked before decoding: this is a row's filter.
                super::png_lean::unknown_row_filter(n.trim_end_matches('.'))
            } else {
                Error::decoder(Format::Png, text)
            }
        }
        other => Error::decoder(Format::Png, other),
    }
}

/// The chunk a `png` error (a CRC, an unknown critical chunk) names, as text (`IDAT`), when its
/// message names one.
fn chunk_name(message: &str) -> Option<String> {
    // png 0.18 writes the chunk type's debug form, `ChunkType { type: IHDR, … }`; older
    // versions a byte list, e.g. `[73, 68, 65, 84]`.
    if let Some(at) = message.find("type: ") {
        let name = message.get(at + 6..at + 10)?;
        return name
            .bytes()
            .all(|b| b.is_ascii_alphabetic())
            .then(|| name.to_owned());
    }
    let start = message.find('[')?;
    let end = start + message[start..].find(']')?;
    let bytes: Option<Vec<u8>> = message[start + 1..end]
        .split(',')
        .map(|b| b.trim().parse().ok())
        .collect();
    let bytes = bytes?;
    (bytes.len() == 4 && bytes.iter().all(u8::is_ascii_alphabetic))
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_chunk_of_a_crc_error() {
        assert_eq!(
            chunk_name("CRC error: expected 0x1 have 0x2 while decoding [73, 68, 65, 84] chunk."),
            Some("IDAT".into())
        );
        assert_eq!(
            chunk_name(
                "CRC error: expected 0x81d2a88e have 0x7ed2a88e while decoding ChunkType { type: \
                 IHDR, critical: true, private: false, reserved: false, safecopy: false } chunk."
            ),
            Some("IHDR".into())
        );
        assert_eq!(chunk_name("no list here"), None);
    }
}
