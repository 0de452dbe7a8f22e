//! BMP: uncompressed 1/4/8-bit palette, 16/24/32-bit and bit-field images, and RLE4/RLE8
//! compressed palette images (what cameras, Paint, old tools and screenshots write). Alpha is
//! read where the header gives an alpha mask (BI_ALPHABITFIELDS, or a V4/V5 header with 32-bit
//! BI_RGB, as browsers read it); a 32-bit image whose alpha is zero everywhere is opaque (many
//! writers leave that byte unset). Pixels an RLE image skips are transparent, as browsers show
//! them.

use crate::engine::error::{Error, zeroed};
use crate::engine::grid::Channels;
use crate::engine::options::Limits;
use crate::engine::probe::{Format, check_size};

use super::Bitmap;

const BI_RGB: u32 = 0;
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;
const BI_BITFIELDS: u32 = 3;
const BI_ALPHABITFIELDS: u32 = 6;

pub(super) fn decode(b: &[u8], limits: &Limits) -> Result<Bitmap, Error> {
    let truncated = || Error::truncated(Format::Bmp);
    let u16_at = |at: usize| -> Result<u32, Error> {
        Ok(u32::from(u16::from_le_bytes(
            b.get(at..at + 2)
                .ok_or_else(truncated)?
                .try_into()
                .unwrap_or_default(),
        )))
    };
    let u32_at = |at: usize| -> Result<u32, Error> {
        Ok(u32::from_le_bytes(
            b.get(at..at + 4)
                .ok_or_else(truncated)?
                .try_into()
                .unwrap_or_default(),
        ))
    };

    let pixel_offset = u32_at(10)? as usize;
    let header = u32_at(14)? as usize;
    let (width, raw_height, bits, compression) = if header == 12 {
        (u16_at(18)? as i32, u16_at(20)? as i32, u16_at(24)?, BI_RGB)
    } else {
        (
            u32_at(18)? as i32,
            u32_at(22)? as i32,
            u16_at(28)?,
            u32_at(30)?,
        )
    };
    if width <= 0 || raw_height == 0 {
        return Err(Error::ZeroSize {
            width: width.max(0) as u32,
            height: raw_height.unsigned_abs(),
        });
    }
    let (width, height, top_down) = (width as u32, raw_height.unsigned_abs(), raw_height < 0);
    check_size(width, height, limits)?;

    // A V4/V5 header (108/124 bytes) carries an alpha mask at offset 14 + 52 that browsers
    // honour for 32-bit BI_RGB too.
    let v4_alpha = if header >= 108 { u32_at(14 + 52)? } else { 0 };
    let masks = match (compression, bits) {
        (BI_RGB, 16) => Some([0x7C00, 0x03E0, 0x001F, 0]),
        (BI_RGB, 32) => Some([0xFF_0000, 0xFF00, 0xFF, v4_alpha]),
        (BI_BITFIELDS | BI_ALPHABITFIELDS, 16 | 32) => {
            // Masks follow a 40-byte header, or live inside a V2+ header.
            let at = 14 + 40;
            let alpha = if compression == BI_ALPHABITFIELDS || header >= 56 {
                u32_at(at + 12)?
            } else {
                0
            };
            Some([u32_at(at)?, u32_at(at + 4)?, u32_at(at + 8)?, alpha])
        }
        (BI_RGB, 1 | 4 | 8 | 24) | (BI_RLE8, 8) | (BI_RLE4, 4) => None,
        (BI_RLE8 | BI_RLE4, _) => {
            return Err(Error::decoder(
                Format::Bmp,
                format!("run-length compression {compression} does not fit {bits}-bit pixels"),
            ));
        }
        _ => {
            return Err(Error::decoder(
                Format::Bmp,
                format!("{bits}-bit BMP with compression {compression} is not supported"),
            ));
        }
    };

    let palette: Vec<[u8; 3]> = if bits <= 8 {
        let entry = if header == 12 { 3 } else { 4 };
        let count = match u32_at(46) {
            Ok(n) if header >= 40 && n > 0 => (n as usize).min(256),
            _ => 1 << bits,
        };
        let start = 14 + header;
        (0..count)
            .map(|i| {
                let p = b
                    .get(start + i * entry..start + i * entry + 3)
                    .ok_or_else(truncated)?;
                Ok([p[2], p[1], p[0]])
            })
            .collect::<Result<_, Error>>()?
    } else {
        Vec::new()
    };

    if matches!(compression, BI_RLE8 | BI_RLE4) {
        if top_down {
            return Err(Error::decoder(
                Format::Bmp,
                "a run-length compressed BMP cannot be stored top-down",
            ));
        }
        let data = b.get(pixel_offset..).ok_or_else(truncated)?;
        return rle(data, width, height, bits, &palette);
    }

    let stride = (width as usize * bits as usize).div_ceil(32) * 4;
    let has_alpha = masks.is_some_and(|m| m[3] != 0);
    let channels = if has_alpha {
        Channels::Rgba
    } else {
        Channels::Rgb
    };
    let n = channels.count();
    let mut data = zeroed(width as usize * height as usize * n)?;
    for y in 0..height as usize {
        let src_row = if top_down { y } else { height as usize - 1 - y };
        let at = pixel_offset + src_row * stride;
        let row = b.get(at..at + stride).ok_or_else(truncated)?;
        let out = &mut data[y * width as usize * n..(y + 1) * width as usize * n];
        for x in 0..width as usize {
            let px = &mut out[x * n..x * n + n];
            match bits {
                24 => px.copy_from_slice(&[row[x * 3 + 2], row[x * 3 + 1], row[x * 3]]),
                16 | 32 => {
                    let v = if bits == 16 {
                        u32::from(u16::from_le_bytes([row[x * 2], row[x * 2 + 1]]))
                    } else {
                        u32::from_le_bytes([
                            row[x * 4],
                            row[x * 4 + 1],
                            row[x * 4 + 2],
                            row[x * 4 + 3],
                        ])
                    };
                    let m = masks.unwrap_or_default();
                    for (c, mask) in m.iter().enumerate().take(n) {
                        px[c] = extract(v, *mask);
                    }
                }
                _ => {
                    let per_byte = 8 / bits as usize;
                    let byte = row[x / per_byte];
                    let shift = 8 - bits as usize * (x % per_byte + 1);
                    let index = (byte >> shift) as usize & ((1 << bits) - 1);
                    let color = palette.get(index).copied().unwrap_or([0, 0, 0]);
                    px.copy_from_slice(&color);
                }
            }
        }
    }
    if has_alpha && data.chunks_exact(4).all(|p| p[3] == 0) {
        // An alpha byte left at zero everywhere is unset, not a transparent picture.
        data.chunks_exact_mut(4).for_each(|p| p[3] = 255);
    }
    Ok(Bitmap {
        width,
        height,
        channels,
        data,
    })
}

/// Decodes RLE8 (`bits` 8) or RLE4 (`bits` 4) data (Microsoft's BMP run-length encoding: runs,
/// absolute runs padded to 16 bits, end-of-line, delta and end-of-bitmap escapes), bottom-up.
fn rle(
    data: &[u8],
    width: u32,
    height: u32,
    bits: u32,
    palette: &[[u8; 3]],
) -> Result<Bitmap, Error> {
    let (w, h) = (width as usize, height as usize);
    let mut out = zeroed(w * h * 4)?;
    let (mut x, mut y) = (0usize, 0usize); // y counts rows from the bottom
    let mut put = |x: usize, y: usize, index: usize| {
        if x < w && y < h {
            let at = ((h - 1 - y) * w + x) * 4;
            let [r, g, b] = palette.get(index).copied().unwrap_or([0, 0, 0]);
            out[at..at + 4].copy_from_slice(&[r, g, b, 255]);
        }
    };
    let nibble = |byte: u8, k: usize| {
        usize::from(if k.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 15
        })
    };
    let mut at = 0;
    let truncated = || Error::truncated(Format::Bmp);
    loop {
        let (count, value) = (
            *data.get(at).ok_or_else(truncated)?,
            *data.get(at + 1).ok_or_else(truncated)?,
        );
        at += 2;
        match (count, value) {
            (0, 0) => {
                x = 0;
                y += 1;
            }
            (0, 1) => break,
            (0, 2) => {
                let d = data.get(at..at + 2).ok_or_else(truncated)?;
                x += usize::from(d[0]);
                y += usize::from(d[1]);
                at += 2;
            }
            (0, n) => {
                let n = usize::from(n);
                let bytes = if bits == 8 { n } else { n.div_ceil(2) };
                let run = data.get(at..at + bytes).ok_or_else(truncated)?;
                for k in 0..n {
                    let index = if bits == 8 {
                        usize::from(run[k])
                    } else {
                        nibble(run[k / 2], k)
                    };
                    put(x, y, index);
                    x += 1;
                }
                at += bytes + bytes % 2;
            }
            (n, v) => {
                for k in 0..usize::from(n) {
                    let index = if bits == 8 {
                        usize::from(v)
                    } else {
                        nibble(v, k)
                    };
                    put(x, y, index);
                    x += 1;
                }
            }
        }
        if y >= h {
            break;
        }
    }
    let skipped = out.chunks_exact(4).any(|p| p[3] == 0);
    let (channels, data) = if skipped {
        (Channels::Rgba, out)
    } else {
        (
            Channels::Rgb,
            out.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        )
    };
    Ok(Bitmap {
        width,
        height,
        channels,
        data,
    })
}

/// Scales the bits under `mask` to 0..=255.
fn extract(v: u32, mask: u32) -> u8 {
    if mask == 0 {
        return 0;
    }
    let shift = mask.trailing_zeros();
    let max = mask >> shift;
    (((v & mask) >> shift) * 255 / max) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmp24(w: u32, h: i32, pixels_bgr_bottom_up: &[u8]) -> Vec<u8> {
        let stride = (w as usize * 3).div_ceil(4) * 4;
        let mut b = b"BM".to_vec();
        b.extend_from_slice(&(54 + pixels_bgr_bottom_up.len() as u32).to_le_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&54u32.to_le_bytes());
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(&(w as i32).to_le_bytes());
        b.extend_from_slice(&h.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&24u16.to_le_bytes());
        b.extend_from_slice(&[0; 24]);
        assert_eq!(
            pixels_bgr_bottom_up.len(),
            stride * h.unsigned_abs() as usize
        );
        b.extend_from_slice(pixels_bgr_bottom_up);
        b
    }

    #[test]
    fn decodes_bottom_up_24_bit_rows_with_padding() {
        // 1x2: bottom row blue, top row red; each row padded to 4 bytes.
        let b = bmp24(1, 2, &[255, 0, 0, 0, 0, 0, 255, 0]);
        let img = decode(&b, &Limits::default()).unwrap();
        assert_eq!(img.data, vec![255, 0, 0, 0, 0, 255]);
    }

    #[test]
    fn a_short_file_is_truncated() {
        let mut b = bmp24(1, 2, &[255, 0, 0, 0, 0, 0, 255, 0]);
        b.truncate(b.len() - 3);
        assert_eq!(
            decode(&b, &Limits::default()).unwrap_err().code(),
            "truncated"
        );
    }
}
