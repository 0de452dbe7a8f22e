//! Reads an image's format and declared size from its first bytes, and checks them against the
//! limits before any decoder allocates a pixel. This is the decompression-bomb gate.

use serde::Serialize;

use super::error::Error;
use super::options::Limits;

/// The formats the engine decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Jpeg,
    Webp,
    Gif,
    Bmp,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
        }
    }

    /// The format's usual written name, for messages: `PNG`, `JPEG`, `WebP`, `GIF`, `BMP`.
    pub fn label(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
        }
    }
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Format and declared size, without checking limits.
pub fn probe(input: &[u8]) -> Result<ImageInfo, Error> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    let format = sniff(input)?;
    let (width, height) = match format {
        Format::Png => png_size(input),
        Format::Jpeg => jpeg_frame(input).and_then(JpegFrame::supported_size),
        Format::Webp => webp_size(input),
        Format::Gif => gif_size(input),
        Format::Bmp => bmp_size(input),
    }?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Probes and enforces `limits`: the input size, a non-zero size and the pixel count.
pub(crate) fn check(input: &[u8], limits: &Limits) -> Result<ImageInfo, Error> {
    if input.len() > limits.max_input_bytes {
        return Err(Error::InputTooLarge {
            limit: limits.max_input_bytes,
        });
    }
    let info = probe(input)?;
    check_size(info.width, info.height, limits)?;
    if info.format == Format::Png {
        super::decode::check_png_header_and_palette(input)?;
    }
    Ok(info)
}

/// The longest side accepted, in pixels. The pixel limit alone let a 124 KB PNG of one column
/// and 64 million rows keep the module busy past a minute (the decoder and the grid pay per row);
/// 100,000 px is longer than any camera or panorama within the pixel limit needs.
pub const MAX_SIDE: u32 = 100_000;

/// Decoders call this again with every size their headers declare (a frame may reach past the
/// canvas the probe saw), before they decode any pixel.
pub(crate) fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), Error> {
    if width == 0 || height == 0 {
        return Err(Error::ZeroSize { width, height });
    }
    if width.max(height) > MAX_SIDE {
        return Err(Error::SideTooLong {
            width,
            height,
            limit: MAX_SIDE,
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Error::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn sniff(b: &[u8]) -> Result<Format, Error> {
    let known = |detected| {
        Err(Error::UnsupportedFormat {
            detected: Some(detected),
        })
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Ok(Format::Webp)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Ok(Format::Gif)
    } else if b.starts_with(b"BM") && b.len() >= 6 {
        Ok(Format::Bmp)
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        known("TIFF")
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        let brand = &b[8..12];
        if brand == b"avif" || brand == b"avis" {
            known("AVIF")
        } else if brand.starts_with(b"hei") || brand.starts_with(b"mif1") || brand == b"heix" {
            known("HEIC")
        } else {
            known("ISO media (MP4/HEIF)")
        }
    } else if b.starts_with(b"qoif") {
        known("QOI")
    } else if b.starts_with(b"8BPS") {
        known("PSD")
    } else if b.starts_with(b"%PDF") {
        known("PDF")
    } else if b.starts_with(&[0, 0, 1, 0]) {
        known("ICO")
    } else if looks_like_svg(b) {
        known("SVG")
    } else if b.starts_with(b"\x89PNG")
        || b.starts_with(&[0xFF, 0xD8])
        || b.starts_with(b"GIF8")
        || b.starts_with(b"RIFF")
    {
        // The magic number is cut short: the file is truncated.
        Err(Error::Truncated {
            format: if b[0] == 0x89 {
                "PNG"
            } else if b[0] == 0xFF {
                "JPEG"
            } else if b[0] == b'G' {
                "GIF"
            } else {
                "WebP"
            },
        })
    } else {
        Err(Error::UnsupportedFormat { detected: None })
    }
}

fn looks_like_svg(b: &[u8]) -> bool {
    let head = &b[..b.len().min(256)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start();
    t.starts_with("<svg") || (t.starts_with("<?xml") && text.contains("<svg"))
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}
fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn png_size(b: &[u8]) -> Result<(u32, u32), Error> {
    let truncated = Error::Truncated { format: "PNG" };
    let first = b.get(12..16).ok_or(truncated.clone())?;
    if first == b"CgBI" {
        // Xcode's "compressed" PNGs: BGRA, premultiplied, raw deflate; only Apple reads them.
        return Err(Error::UnsupportedFeature {
            format: "PNG",
            feature: "Apple's iPhone-optimised (CgBI)",
            advice: "it is not a standard PNG; convert it back with `xcrun pngcrush \
                     -revert-iphone-optimizations in.png out.png` on a Mac, or open it in Preview \
                     and export a PNG",
        });
    }
    if first != b"IHDR" {
        return Err(Error::malformed("PNG", "the first chunk is not IHDR"));
    }
    Ok((
        be32(b, 16).ok_or(truncated.clone())?,
        be32(b, 20).ok_or(truncated)?,
    ))
}

/// A JPEG's frame header (SOF): which coding process, sample precision and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegFrame {
    /// The SOF marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3
    /// lossless; 0xC5..=0xC7 hierarchical; 0xC9..=0xCB and 0xCD..=0xCF arithmetic-coded.
    marker: u8,
    precision: u8,
    width: u32,
    height: u32,
    /// Colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    components: u8,
}

/// What a JPEG decoder will hold for `input`, from its frame header: whether it is progressive
/// (coefficients for the whole image are kept until the last scan) and how many components it
/// has. `None` when the header cannot be read (the probe has refused such a file already).
pub(crate) fn jpeg_shape(input: &[u8]) -> Option<(bool, u8)> {
    let frame = jpeg_frame(input).ok()?;
    let progressive = matches!(frame.marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    Some((progressive, frame.components))
}

impl JpegFrame {
    /// The size, or why no decoder here can read the file although it is a valid JPEG
    /// (ITU-T T.81 allows all of these; baseline, extended, progressive and lossless Huffman
    /// coding are what `jpeg-decoder` implements).
    fn supported_size(self) -> Result<(u32, u32), Error> {
        let unsupported = |feature, advice| {
            Err(Error::UnsupportedFeature {
                format: "JPEG",
                feature,
                advice,
            })
        };
        const RESAVE: &str = "re-save it as a baseline or progressive JPEG, or as PNG";
        match self.marker {
            0xC9..=0xCB | 0xCD..=0xCF => unsupported("arithmetic-coded", RESAVE),
            0xC5..=0xC7 => unsupported("hierarchical", RESAVE),
            0xC3 => Ok((self.width, self.height)),
            _ if self.precision == 12 => unsupported(
                "12-bit",
                "convert it to 8 bits per channel (a baseline or progressive JPEG, or PNG)",
            ),
            _ if self.precision != 8 => Err(Error::malformed(
                "JPEG",
                format!("the frame header gives {} bits per sample", self.precision),
            )),
            // A zero height means the height comes later, in a DNL marker after the first scan.
            _ if self.height == 0 && self.width > 0 => unsupported(
                "height-after-the-first-scan (DNL)",
                "re-save it with an ordinary encoder, as JPEG or PNG",
            ),
            _ => Ok((self.width, self.height)),
        }
    }
}

fn jpeg_frame(b: &[u8]) -> Result<JpegFrame, Error> {
    let truncated = || Error::Truncated { format: "JPEG" };
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *b.get(at).ok_or_else(truncated)? != 0xFF {
            return Err(Error::malformed(
                "JPEG",
                format!("expected a marker at byte {at}"),
            ));
        }
        let marker = *b.get(at + 1).ok_or_else(truncated)?;
        at += 2;
        match marker {
            0xD0..=0xD7 | 0x01 => continue, // stand-alone markers
            0xD9 | 0xDA => {
                return Err(Error::malformed(
                    "JPEG",
                    "no frame header (SOF) before the image data",
                ));
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Ok(JpegFrame {
                    marker,
                    precision: *b.get(at + 2).ok_or_else(truncated)?,
                    height: be16(b, at + 3).ok_or_else(truncated)?,
                    width: be16(b, at + 5).ok_or_else(truncated)?,
                    components: *b.get(at + 7).ok_or_else(truncated)?,
                });
            }
            _ => {
                let len = be16(b, at).ok_or_else(truncated)? as usize;
                if len < 2 {
                    return Err(Error::malformed("JPEG", "a segment length is below 2"));
                }
                at += len;
            }
        }
    }
}

fn webp_size(b: &[u8]) -> Result<(u32, u32), Error> {
    let truncated = || Error::Truncated { format: "WebP" };
    let chunk = b.get(12..16).ok_or_else(truncated)?;
    match chunk {
        b"VP8 " => {
            // 4-byte chunk size, 3-byte frame tag, start code 9d 01 2a, then 14-bit sizes.
            if b.get(23..26).ok_or_else(truncated)? != [0x9d, 0x01, 0x2a] {
                return Err(Error::malformed("WebP", "bad VP8 start code"));
            }
            Ok((
                le16(b, 26).ok_or_else(truncated)? & 0x3FFF,
                le16(b, 28).ok_or_else(truncated)? & 0x3FFF,
            ))
        }
        b"VP8L" => {
            if *b.get(20).ok_or_else(truncated)? != 0x2f {
                return Err(Error::malformed("WebP", "bad VP8L signature"));
            }
            let bits = le32(b, 21).ok_or_else(truncated)?;
            Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Ok((
            le24(b, 24).ok_or_else(truncated)? + 1,
            le24(b, 27).ok_or_else(truncated)? + 1,
        )),
        _ => Err(Error::malformed("WebP", "unknown first chunk")),
    }
}

/// The logical screen, grown to hold the first frame as the decoders here (and browsers) grow
/// the canvas: some encoders write a zero screen, or one smaller than the picture.
fn gif_size(b: &[u8]) -> Result<(u32, u32), Error> {
    let truncated = Error::Truncated { format: "GIF" };
    let (sw, sh) = (
        le16(b, 6).ok_or(truncated.clone())?,
        le16(b, 8).ok_or(truncated)?,
    );
    Ok(match gif_first_frame_end(b) {
        Some((right, bottom)) => (sw.max(right), sh.max(bottom)),
        None => (sw, sh),
    })
}

/// The right and bottom edges of a GIF's first image descriptor, walking past the global colour
/// table and any extensions; `None` when the file ends or breaks first (the decoder says why).
fn gif_first_frame_end(b: &[u8]) -> Option<(u32, u32)> {
    let flags = *b.get(10)?;
    let mut at = 13
        + if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        };
    loop {
        match *b.get(at)? {
            0x21 => {
                at += 2;
                loop {
                    let n = usize::from(*b.get(at)?);
                    at += 1 + n;
                    if n == 0 {
                        break;
                    }
                }
            }
            0x2C => {
                let (left, top) = (le16(b, at + 1)?, le16(b, at + 3)?);
                let (w, h) = (le16(b, at + 5)?, le16(b, at + 7)?);
                return Some((left + w, top + h));
            }
            _ => return None,
        }
    }
}

fn bmp_size(b: &[u8]) -> Result<(u32, u32), Error> {
    let truncated = || Error::Truncated { format: "BMP" };
    let header = le32(b, 14).ok_or_else(truncated)?;
    if header == 12 {
        return Ok((
            le16(b, 18).ok_or_else(truncated)?,
            le16(b, 20).ok_or_else(truncated)?,
        ));
    }
    if header < 40 {
        return Err(Error::malformed(
            "BMP",
            format!("unknown header size {header}"),
        ));
    }
    let w = le32(b, 18).ok_or_else(truncated)? as i32;
    let h = le32(b, 22).ok_or_else(truncated)? as i32;
    if w < 0 {
        return Err(Error::malformed("BMP", "negative width"));
    }
    Ok((w as u32, h.unsigned_abs()))
}

impl Error {
    /// A decoder ran out of data: reported with the format's display name.
    pub(crate) fn truncated(format: Format) -> Self {
        Error::Truncated {
            format: format.label(),
        }
    }

    pub(crate) fn decoder(format: Format, detail: impl std::fmt::Display) -> Self {
        Error::malformed(format.label(), detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bomb_header_is_refused_before_decoding() {
        // A PNG signature + IHDR declaring 100000 x 100000, and nothing else.
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&100_000u32.to_be_bytes());
        b.extend_from_slice(&100_000u32.to_be_bytes());
        let err = check(&b, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "too_many_pixels");
        assert!(err.to_string().contains("100000x100000"), "{err}");
    }

    #[test]
    fn an_apple_cgbi_png_is_named_with_the_way_back() {
        // Xcode's iPhone-optimised PNGs put a CgBI chunk before IHDR.
        let b = b"\x89PNG\r\n\x1a\n\0\0\0\x04CgBI\x50\0\x20\x06\0\0\0\0\0\0\0\x0dIHDR".to_vec();
        let err = check(&b, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_feature");
        assert!(
            err.to_string().contains("CgBI") && err.to_string().contains("pngcrush"),
            "{err}"
        );
    }

    #[test]
    fn a_gif_screen_smaller_than_its_first_frame_grows_as_browsers_show_it() {
        let mut gif = Vec::new();
        {
            let mut encoder = gif::Encoder::new(&mut gif, 6, 4, &[0, 0, 0, 255, 0, 0]).unwrap();
            let frame = gif::Frame {
                width: 6,
                height: 4,
                buffer: std::borrow::Cow::Owned(vec![1; 24]),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).unwrap();
        }
        for (w, h) in [(0u16, 0u16), (3, 2), (6, 4)] {
            let mut g = gif.clone();
            g[6..8].copy_from_slice(&w.to_le_bytes());
            g[8..10].copy_from_slice(&h.to_le_bytes());
            let info = probe(&g).unwrap();
            assert_eq!((info.width, info.height), (6, 4), "screen {w}x{h}");
            let mut options = crate::engine::Options::default();
            options.set("block", "1").unwrap();
            let done = crate::engine::pixelate(&g, &options).unwrap();
            assert_eq!((done.report.grid_width, done.report.grid_height), (6, 4));
        }
    }

    #[test]
    fn a_side_over_the_limit_is_refused_within_the_pixel_limit() {
        let png = |w: u32, h: u32| {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            b.extend_from_slice(&w.to_be_bytes());
            b.extend_from_slice(&h.to_be_bytes());
            b
        };
        for (w, h) in [(1, 64_000_000), (640_000, 100)] {
            let err = check(&png(w, h), &Limits::default()).unwrap_err();
            assert_eq!(err.code(), "too_many_pixels");
            assert!(matches!(err, Error::SideTooLong { .. }), "{err}");
            assert!(err.to_string().contains("100000 pixels"), "{err}");
        }
        assert!(check(&png(100_000, 640), &Limits::default()).is_ok());
    }

    #[test]
    fn known_but_unsupported_formats_are_named() {
        let err = probe(b"II*\0\x08\0\0\0").unwrap_err();
        assert!(
            err.to_string().starts_with("TIFF images are not supported"),
            "{err}"
        );
        assert_eq!(probe(b"hello").unwrap_err().code(), "unsupported_format");
        assert_eq!(probe(b"").unwrap_err(), Error::Empty);
        assert_eq!(probe(b"\x89PNG").unwrap_err().code(), "truncated");
    }
}
