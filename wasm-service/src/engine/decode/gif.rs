//! GIF: the first frame, placed on a transparent canvas of the logical screen's size.

use crate::engine::error::{Error, zeroed};
use crate::engine::grid::Channels;
use crate::engine::options::Limits;
use crate::engine::probe::{Format, check_size};

use super::Bitmap;

pub(super) fn decode(input: &[u8], limits: &Limits) -> Result<Bitmap, Error> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(super::decoder_memory_limit(limits) as u64)
            .unwrap_or(std::num::NonZeroU64::MIN),
    ));
    let input = with_trailer(input);
    let mut decoder = options.read_info(&input[..]).map_err(error)?;
    let (sw, sh) = (u32::from(decoder.width()), u32::from(decoder.height()));
    // The frame's descriptor first, so its size is checked before any pixel is decoded.
    let frame = decoder
        .next_frame_info()
        .map_err(error)?
        .ok_or_else(|| Error::decoder(Format::Gif, "the file has no image frame"))?;
    let (fx, fy, fw, fh) = (
        u32::from(frame.left),
        u32::from(frame.top),
        u32::from(frame.width),
        u32::from(frame.height),
    );
    // Some encoders write a zero logical screen, or frames past it: the canvas grows to hold them.
    let (width, height) = (sw.max(fx + fw), sh.max(fy + fh));
    check_size(fw, fh, limits)?;
    check_size(width, height, limits)?;
    let mut pixels = zeroed(decoder.buffer_size())?;
    decoder.read_into_buffer(&mut pixels).map_err(error)?;
    let mut data = zeroed(width as usize * height as usize * 4)?;
    for y in 0..fh as usize {
        let src = &pixels[y * fw as usize * 4..(y + 1) * fw as usize * 4];
        let at = ((fy as usize + y) * width as usize + fx as usize) * 4;
        data[at..at + src.len()].copy_from_slice(src);
    }
    Ok(Bitmap {
        width,
        height,
        channels: Channels::Rgba,
        data,
    })
}

/// `input` ending in GIF's trailer byte (`;`, 0x3B): many writers leave it off, and browsers,
/// Pillow and ImageMagick show every frame such a file holds, where the gif crate reports the
/// missing byte as a cut-off file. A file cut inside a frame still fails (the added byte cannot
/// complete its data); one with bytes after its trailer is read as before (the decoder stops at
/// the first trailer).
pub(super) fn with_trailer(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if input.last() == Some(&0x3B) {
        std::borrow::Cow::Borrowed(input)
    } else {
        let mut whole = Vec::with_capacity(input.len() + 1);
        whole.extend_from_slice(input);
        whole.push(0x3B);
        std::borrow::Cow::Owned(whole)
    }
}

/// The engine's error for a GIF decoding failure: running out of data is `truncated` (the gif
/// crate reports it as an I/O error or as "Unexpected End of File"), anything else malformed.
pub(super) fn error(e: gif::DecodingError) -> Error {
    match e {
        gif::DecodingError::Io(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::truncated(Format::Gif)
        }
        other => {
            let text = other.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("unexpected eof") || lower.contains("end of file") {
                Error::truncated(Format::Gif)
            } else {
                Error::decoder(Format::Gif, text)
            }
        }
    }
}
