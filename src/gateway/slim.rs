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

/// One PNG chunk: its type, its data, and the whole chunk (length, type, data, CRC).
struct Chunk<'a> {
    kind: &'a [u8; 4],
    data: &'a [u8],
    whole: &'a [u8],
}

/// The chunks of a PNG up to and including IEND; `None` when its structure breaks off first.
fn png_chunks(image: &[u8]) -> Option<Vec<Chunk<'_>>> {
    let mut chunks = Vec::new();
    let mut at = PNG_SIGNATURE.len();
    loop {
        let length = u32::from_be_bytes(image.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind: &[u8; 4] = image.get(at + 4..at + 8)?.try_into().ok()?;
        let end = at.checked_add(12)?.checked_add(length)?;
        let whole = image.get(at..end)?;
        chunks.push(Chunk {
            kind,
            data: &whole[8..8 + length],
            whole,
        });
        if kind == b"IEND" {
            return Some(chunks);
        }
        at = end;
    }
}

fn strip_png(image: &[u8]) -> Option<Vec<u8>> {
    let mut out = PNG_SIGNATURE.to_vec();
    for chunk in png_chunks(image)? {
        // Critical chunks have an upper-case first letter (PNG spec, 5.4).
        if chunk.kind[0].is_ascii_uppercase() || PNG_KEPT.contains(&chunk.kind) {
            out.extend_from_slice(chunk.whole);
        }
    }
    Some(out)
}

/// The largest image data (filtered scanlines) [`recompress_png`] inflates: 256 MB.
const MAX_SCANLINES: u64 = 256 << 20;

/// A still PNG with its image data deflated again at the best compression, every other chunk as
/// it was: the very same filtered scanlines, so every decoder sees the same pixels. Editors and
/// screenshot tools often store PNGs barely compressed (`fixtures/astronaut.png` is 791 KB, 445
/// KB this way), and a reduction would only come close to the CLI's answer. `None` when it is
/// not a still PNG, is damaged (a bad CRC, image data split by other chunks: the engine reports
/// those, so they are never repaired here), or would not get smaller than `max_len` bytes (given
/// up as soon as the output passes it: a photo already well compressed costs one pass, not a
/// best-level one).
pub(crate) fn recompress_png(image: &[u8], max_len: usize) -> Option<Vec<u8>> {
    use std::io::{Read as _, Write as _};
    if !image.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let chunks = png_chunks(image)?;
    let header = chunks
        .first()
        .filter(|c| c.kind == b"IHDR" && c.data.len() == 13)?;
    if chunks.iter().any(|c| c.kind == b"acTL") {
        return None;
    }
    let width = u64::from(u32::from_be_bytes(header.data[0..4].try_into().ok()?));
    let height = u64::from(u32::from_be_bytes(header.data[4..8].try_into().ok()?));
    let channels = match header.data[9] {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return None,
    };
    let bits_per_pixel = u64::from(header.data[8]) * channels;
    // Filter bytes and rows; interlacing adds at most as much again (seven passes' rows).
    let scanlines = height * (1 + (width * bits_per_pixel).div_ceil(8)) * 2 + 64;
    if scanlines > MAX_SCANLINES {
        return None;
    }
    let idat: Vec<usize> = (0..chunks.len())
        .filter(|&i| chunks[i].kind == b"IDAT")
        .collect();
    let consecutive = idat.windows(2).all(|w| w[1] == w[0] + 1);
    let intact = idat.iter().all(|&i| {
        let c = &chunks[i];
        let mut crc = flate2::Crc::new();
        crc.update(c.kind);
        crc.update(c.data);
        c.whole[c.whole.len() - 4..] == crc.sum().to_be_bytes()
    });
    if idat.is_empty() || !consecutive || !intact {
        return None;
    }
    let compressed: Vec<u8> = idat
        .iter()
        .flat_map(|&i| chunks[i].data.iter().copied())
        .collect();
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(scanlines + 1)
        .read_to_end(&mut raw)
        .ok()?;
    if raw.len() as u64 > scanlines {
        return None;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for piece in raw.chunks(256 << 10) {
        encoder.write_all(piece).ok()?;
        if encoder.get_ref().len() > max_len {
            return None;
        }
    }
    let data = encoder.finish().ok()?;
    if data.len() > max_len {
        return None;
    }
    let mut out = PNG_SIGNATURE.to_vec();
    let mut written = false;
    for chunk in &chunks {
        if chunk.kind != b"IDAT" {
            out.extend_from_slice(chunk.whole);
        } else if !written {
            written = true;
            out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
            out.extend_from_slice(b"IDAT");
            out.extend_from_slice(&data);
            let mut crc = flate2::Crc::new();
            crc.update(b"IDAT");
            crc.update(&data);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        }
    }
    (out.len() < image.len()).then_some(out)
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
    fn a_barely_compressed_png_is_deflated_again_with_the_same_pixels() {
        // 16-bit RGBA stored without compression: the scanlines are kept as they are.
        let samples: Vec<u16> = (0..80u32)
            .flat_map(|y| (0..120u32).map(move |x| (x, y)))
            .flat_map(|(x, y)| [x * 500, y * 800, 9000, 65535 - x * y].map(|v| v as u16))
            .collect();
        let mut stored = Vec::new();
        let mut encoder = png::Encoder::new(&mut stored, 120, 80);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Sixteen);
        encoder.set_compression(png::Compression::NoCompression);
        let mut writer = encoder.write_header().unwrap();
        let bytes: Vec<u8> = samples.iter().flat_map(|v| v.to_be_bytes()).collect();
        writer.write_image_data(&bytes).unwrap();
        writer.finish().unwrap();
        let smaller = recompress_png(&stored, usize::MAX).unwrap();
        assert!(
            smaller.len() * 4 < stored.len() * 3,
            "{} of {}",
            smaller.len(),
            stored.len()
        );
        assert_eq!(pixelated(&smaller), pixelated(&stored));
        // Already compressed as well as it gets, or not a PNG: nothing to gain.
        assert_eq!(recompress_png(&smaller, usize::MAX), None);
        assert_eq!(recompress_png(&jpeg(false), usize::MAX), None);
        // Over the size asked for: given up.
        assert_eq!(recompress_png(&stored, smaller.len() / 2), None);
        // A damaged image data chunk is not repaired (the engine reports it).
        let mut damaged = stored.clone();
        let at = damaged.windows(4).position(|w| w == b"IDAT").unwrap() + 40;
        damaged[at] ^= 0x55;
        assert_eq!(recompress_png(&damaged, usize::MAX), None);
    }

    #[test]
    fn nothing_to_drop_other_formats_and_damage_give_none() {
        let plain = jpeg(false);
        assert_eq!(strip(&plain), None);
        assert_eq!(strip(b"GIF89a......"), None);
        assert_eq!(strip(&plain[..plain.len() / 2]), None, "no EOI");
    }
}
