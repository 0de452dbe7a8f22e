//! Bytes a PNG or JPEG carries that its picture does not use, dropped so the upload can reach the
//! runner (1 MiB per request) as it is.
//!
//! Phones append a video to a JPEG (motion photos), editors add XMP packets, previews and text
//! chunks. The runner's limit is on the whole request, so such an upload used to be reduced, or
//! refused at block 1, although its pixels fit many times over. Without those bytes the module
//! decodes exactly the pixels the native engine decodes from the original, so the answer is the
//! CLI's, byte for byte, where a reduction only comes close.
//!
//! Kept, everything that changes the pixels or their meaning:
//! - JPEG: every marker segment and all entropy-coded data from SOI to EOI, except APPn segments
//!   other than APP0 (JFIF), APP1 `Exif` (orientation), APP2 `ICC_PROFILE` and APP14 `Adobe`
//!   (colour transform), and COM. Nothing after EOI.
//! - PNG: the critical chunks and `tRNS`, `iCCP`, `sRGB`, `gAMA`, `cHRM`, `cICP`, `eXIf`, and
//!   APNG's `acTL`, `fcTL`, `fdAT`. Nothing after IEND.

/// PNG's 8-byte signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Ancillary PNG chunks that affect the decoded picture.
const PNG_KEPT: [&[u8; 4]; 10] = [
    b"tRNS", b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"eXIf", b"acTL", b"fcTL", b"fdAT",
];

/// `image` without what its picture does not use, or `None` when it is not a PNG or JPEG, its
/// structure cannot be walked to the end of the image (the engine then reports the damage), or
/// there is nothing to drop.
pub(crate) fn strip(image: &[u8]) -> Option<Vec<u8>> {
    let slim = if image.starts_with(PNG_SIGNATURE) {
        strip_png(image)?
    } else if image.starts_with(&[0xFF, 0xD8]) {
        strip_jpeg(image)?
    } else {
        return None;
    };
    (slim.len() < image.len()).then_some(slim)
}

fn strip_png(image: &[u8]) -> Option<Vec<u8>> {
    let mut out = PNG_SIGNATURE.to_vec();
    let mut at = PNG_SIGNATURE.len();
    loop {
        let length = u32::from_be_bytes(image.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind: &[u8; 4] = image.get(at + 4..at + 8)?.try_into().ok()?;
        let end = at.checked_add(12)?.checked_add(length)?;
        let chunk = image.get(at..end)?;
        // Critical chunks have an upper-case first letter (PNG spec, 5.4).
        if kind[0].is_ascii_uppercase() || PNG_KEPT.contains(&kind) {
            out.extend_from_slice(chunk);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        at = end;
    }
}

fn strip_jpeg(image: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0xFF, 0xD8];
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        while image.get(at) == Some(&0xFF) && image.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *image.get(at)? != 0xFF {
            return None;
        }
        let marker = *image.get(at + 1)?;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&image[at..at + 2]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([
            *image.get(at + 2)?,
            *image.get(at + 3)?,
        ]));
        let end = at.checked_add(2 + length)?;
        let segment = image.get(at..end)?;
        if keeps_segment(marker, &segment[4..]) {
            out.extend_from_slice(segment);
        }
        at = end;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            let data_end = entropy_end(image, at)?;
            out.extend_from_slice(&image[at..data_end]);
            at = data_end;
        }
    }
}

/// Whether a JPEG segment with `marker` and `payload` is kept (see the module doc).
fn keeps_segment(marker: u8, payload: &[u8]) -> bool {
    match marker {
        0xE0 => true,
        0xE1 => payload.starts_with(b"Exif\0"),
        0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xEE => payload.starts_with(b"Adobe"),
        0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    }
}

/// Where the entropy-coded data starting at `from` ends: the first marker in it.
fn entropy_end(image: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let ff = at + image.get(at..)?.iter().position(|&b| b == 0xFF)?;
        match *image.get(ff + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => at = ff + 1,
            _ => return Some(ff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_service::engine::{self, Options};

    fn jpeg(progressive: bool) -> Vec<u8> {
        let rgb = image::RgbImage::from_fn(40, 24, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 10) as u8, ((x + y) * 3) as u8])
        });
        let mut out = Vec::new();
        if progressive {
            // Progressive with restart markers: DHT segments between ten scans, RSTn in them.
            return std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/progressive.jpg"
            ))
            .unwrap();
        }
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&rgb)
            .unwrap();
        out
    }

    /// `jpeg` with an XMP packet and a comment after SOI and a video's worth of bytes after EOI.
    fn bloated_jpeg(jpeg: &[u8]) -> Vec<u8> {
        let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        xmp.extend(std::iter::repeat_n(b'x', 60_000));
        let mut out = jpeg[..2].to_vec();
        for (marker, payload) in [(0xE1u8, xmp), (0xFE, b"a comment".to_vec())] {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(&payload);
        }
        out.extend_from_slice(&jpeg[2..]);
        out.extend(std::iter::repeat_n(0xFFu8, 3).chain((0..300_000u32).map(|i| i as u8)));
        out
    }

    fn pixelated(image: &[u8]) -> Vec<u8> {
        let mut options = Options::default();
        options.set("block", "2").unwrap();
        engine::pixelate(image, &options).unwrap().png
    }

    #[test]
    fn a_jpeg_loses_its_extras_and_keeps_its_pixels() {
        for progressive in [false, true] {
            let original = jpeg(progressive);
            let bloated = bloated_jpeg(&original);
            let slim = strip(&bloated).unwrap();
            assert!(slim.len() < original.len() + 100, "{progressive}");
            assert_eq!(pixelated(&slim), pixelated(&bloated), "{progressive}");
        }
    }

    #[test]
    fn a_png_loses_its_text_and_keeps_its_pixels_profile_and_orientation() {
        let rgb =
            image::RgbImage::from_fn(30, 20, |x, y| image::Rgb([x as u8 * 8, y as u8 * 12, 7]));
        let mut info = png::Info::with_size(30, 20);
        info.color_type = png::ColorType::Rgb;
        info.bit_depth = png::BitDepth::Eight;
        info.exif_metadata = Some(
            b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0"
                .to_vec()
                .into(),
        );
        info.uncompressed_latin1_text
            .push(png::text_metadata::TEXtChunk::new(
                "Comment",
                "z".repeat(200_000),
            ));
        let mut bloated = Vec::new();
        let mut writer = png::Encoder::with_info(&mut bloated, info)
            .unwrap()
            .write_header()
            .unwrap();
        writer.write_image_data(rgb.as_raw()).unwrap();
        writer.finish().unwrap();
        bloated.extend_from_slice(b"trailing bytes after IEND");
        let slim = strip(&bloated).unwrap();
        assert!(slim.len() < 10_000, "{}", slim.len());
        assert!(slim.windows(4).any(|w| w == b"eXIf"), "orientation kept");
        assert_eq!(pixelated(&slim), pixelated(&bloated));
    }

    #[test]
    fn nothing_to_drop_other_formats_and_damage_give_none() {
        let plain = jpeg(false);
        assert_eq!(strip(&plain), None);
        assert_eq!(strip(b"GIF89a......"), None);
        assert_eq!(strip(&plain[..plain.len() / 2]), None, "no EOI");
    }
}
