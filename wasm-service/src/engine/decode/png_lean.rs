//! A lean PNG decoder for the deployed module: every PNG (all colour types and bit depths,
//! palettes and tRNS, Adam7), rows streamed to the grid as 8-bit grey, grey+alpha, RGB or RGBA
//! exactly as the `png` crate's `normalize_to_color8` gives them (16-bit samples keep their high
//! byte; low bit depths scale to 0..=255; tRNS becomes an alpha channel).
//!
//! Why not the `png` crate, which native builds use: it is 63 KB of the module (its streaming
//! decoder, text/APNG handling and crc32fast's 16 KiB tables), a sixth of the 400 KiB budget that
//! every request on OSC pays to load. This reader parses the few chunks pixels need, checks every
//! chunk's CRC, inflates with `inflate` (written for the interpreter) and unfilters with
//! the native pipeline's filters. A differential test decodes every PNG kind with both decoders
//! and requires identical rows, so the module and native builds keep giving the same bytes.

use crate::engine::color_profile::Samples;
use crate::engine::crc32::crc32;
use crate::engine::error::{Error, zeroed};
use crate::engine::grid::{Cells, Channels};
use crate::engine::probe::{Format, check_size};

use super::inflate::{InflateError, Inflater, inflate_bounded};
use super::unfilter::unfilter;
use super::{Bitmap, Plan, Request};

/// Decodes `input` into the grid `request` asks for (the module's PNG path).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) fn decode(input: &[u8], request: &Request<'_>) -> Result<Cells, Error> {
    let png = LeanPng::read(input)?;
    check_size(png.width, png.height, request.limits)?;
    let channels = png.channels();
    let plan = Plan::for_png(
        input,
        png.icc.as_deref(),
        Samples::GrayOrRgb {
            gray: matches!(channels, Channels::Gray | Channels::GrayAlpha),
        },
    );
    if png.interlaced {
        let data = png.deinterlace()?;
        let bitmap = Bitmap {
            width: png.width,
            height: png.height,
            channels,
            data,
        };
        return bitmap.into_grid(request, plan);
    }
    let (mut acc, finish) = plan.accumulator(
        request.grid,
        request.detail,
        (png.width, png.height),
        channels,
    )?;
    png.rows(|row| acc.push_row(row, channels))?;
    Ok(finish.cells(acc, 1, None))
}

/// The data of the first chunk of `kind`, found by walking the chunk headers (no CRC check: a
/// damaged chunk only loses its metadata here, the decoder reports the damage). Used for `eXIf`,
/// which may come before or after the image data.
pub(super) fn chunk(input: &[u8], kind: [u8; 4]) -> Option<&[u8]> {
    let mut at = 8;
    while at + 8 <= input.len() {
        let len = u32::from_be_bytes(input[at..at + 4].try_into().ok()?) as usize;
        let name = &input[at + 4..at + 8];
        let data = input.get(at + 8..at.checked_add(8 + len)?)?;
        if name == kind {
            return Some(data);
        }
        if name == b"IEND" {
            return None;
        }
        at = at.checked_add(12 + len)?;
    }
    None
}

/// `input` ending in an IEND chunk when it lacks one but every chunk before is whole: some
/// writers stop after the image data, and browsers, Pillow and ImageMagick show such a file,
/// where the decoders here read the missing IEND as a cut-off file. A file cut inside a chunk
/// is left as it is (still "truncated").
pub(crate) fn with_end(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    let mut at = 8;
    let mut image_data = false;
    while let Some(head) = input.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"IEND" => return std::borrow::Cow::Borrowed(input),
            b"IDAT" => image_data = true,
            _ => {}
        }
        match at.checked_add(12 + len) {
            Some(next) if next <= input.len() => at = next,
            _ => return std::borrow::Cow::Borrowed(input),
        }
    }
    if at == input.len() && image_data {
        let mut whole = Vec::with_capacity(input.len() + IEND.len());
        whole.extend_from_slice(input);
        whole.extend_from_slice(&IEND);
        std::borrow::Cow::Owned(whole)
    } else {
        std::borrow::Cow::Borrowed(input)
    }
}

/// A PLTE chunk holds 1 to 256 RGB entries (PNG specification, 11.2.3).
fn check_palette_length(len: usize) -> Result<(), Error> {
    if len == 0 || !len.is_multiple_of(3) || len > 256 * 3 {
        return Err(malformed(format!(
            "its palette (PLTE) is {len} bytes long, not 1 to 256 RGB entries of 3 bytes"
        )));
    }
    Ok(())
}

/// Checks a PNG's header and palette before any decoder sees them, so both builds refuse the
/// same files in the same words (the `png` crate words its own errors as debug text) and the
/// `png` crate never meets a PLTE whose length is not a multiple of 3 (it panics on one, seen
/// with 0.18.1).
pub(crate) fn check_header_and_palette(input: &[u8]) -> Result<(), Error> {
    if let Some(head) = input.get(8..16)
        && &head[4..8] == b"IHDR"
    {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        // A short file is the decoder's to report as truncated.
        if let Some(ihdr) = input.get(16..16 + len.min(13)) {
            check_ihdr(ihdr, len)?;
        }
    }
    let mut at = 8;
    while let Some(head) = input.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"PLTE" => return check_palette_length(len),
            b"IDAT" | b"IEND" if input.get(25) == Some(&3) => {
                return Err(malformed("an indexed-colour image has no palette (PLTE)"));
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        let Some(next) = at.checked_add(12 + len) else {
            break;
        };
        at = next;
    }
    Ok(())
}

/// Bytes inflated per decompressor call.
const GROWTH: usize = 32 << 10;
/// Inflated bytes already consumed before the buffer is shifted back (keeping the 32 KiB window).
const SHIFT_AT: usize = 256 << 10;
/// The deflate look-back window.
const WINDOW: usize = 32 << 10;

/// A PNG's header and the chunks its pixels need, every chunk's CRC checked.
pub(crate) struct LeanPng<'a> {
    pub width: u32,
    pub height: u32,
    pub interlaced: bool,
    color_type: u8,
    depth: u8,
    /// RGBA per palette index (missing entries opaque black, as the `png` crate gives them), and
    /// how many entries PLTE has.
    palette: Option<Box<[[u8; 4]; 256]>>,
    palette_len: usize,
    /// The tRNS colour for grey or RGB images, as the `png` crate keeps it: the low bytes of its
    /// 16-bit samples for depths below 16, the raw two bytes per sample at 16.
    trns_key: Option<Vec<u8>>,
    has_trns: bool,
    /// The iCCP profile, inflated.
    pub icc: Option<Vec<u8>>,
    idat: Vec<&'a [u8]>,
}

fn truncated() -> Error {
    Error::truncated(Format::Png)
}

/// An IHDR chunk's data (`len` bytes long as declared; `d` holds at most its first 13): the
/// length, and the colour type, bit depth and methods PNG allows together (PNG spec, 11.2.2).
fn check_ihdr(d: &[u8], len: usize) -> Result<(), Error> {
    if len != 13 || d.len() < 13 {
        return Err(malformed(format!(
            "its header (IHDR) is {len} bytes long, not 13"
        )));
    }
    let (depth, color_type) = (d[8], d[9]);
    let valid = match color_type {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !valid || d[10] != 0 || d[11] != 0 || d[12] > 1 {
        return Err(malformed(format!(
            "colour type {color_type} at {depth} bits (compression {}, filter {}, interlace {}) \
             is not a valid combination",
            d[10], d[11], d[12]
        )));
    }
    Ok(())
}

fn malformed(detail: impl std::fmt::Display) -> Error {
    Error::decoder(Format::Png, detail)
}

/// The message for a damaged chunk, in the same words the native decoder's errors use.
fn crc_error(kind: &[u8]) -> Error {
    malformed(format!(
        "a chunk's checksum (CRC) does not match its data (in its {} chunk): the file was damaged \
         in transfer or storage; download or export it again",
        String::from_utf8_lossy(kind)
    ))
}

/// A critical chunk (uppercase first letter) no decoder may skip, of a kind PNG does not define.
pub(super) fn unknown_critical_chunk(kind: &str) -> Error {
    malformed(format!(
        "it has a critical chunk of an unknown kind ({kind}), which decoders must not skip: the \
         file was damaged or written by a tool for another format"
    ))
}

/// A row whose filter type byte is not one of PNG's five.
pub(super) fn unknown_row_filter(filter: impl std::fmt::Display) -> Error {
    malformed(format!("a row has the unknown filter type {filter}"))
}

pub(super) fn too_few_rows() -> Error {
    malformed(
        "its compressed image data holds fewer rows than its header declares: the file was \
         damaged or written incompletely; export it again",
    )
}

pub(super) fn inflate_error() -> Error {
    malformed(
        "its compressed image data is damaged (the deflate stream cannot be inflated): the file \
         was corrupted in transfer or storage; download or export it again",
    )
}

impl<'a> LeanPng<'a> {
    /// Reads the chunk structure of `input` (a probed PNG).
    pub fn read(input: &'a [u8]) -> Result<Self, Error> {
        let mut png = LeanPng {
            width: 0,
            height: 0,
            interlaced: false,
            color_type: 0,
            depth: 0,
            palette: None,
            palette_len: 0,
            trns_key: None,
            has_trns: false,
            icc: None,
            idat: Vec::new(),
        };
        let mut at = 8;
        let mut seen_ihdr = false;
        loop {
            // Once the image data has ended, only the next chunk's header is read (not its data
            // or CRC, nor anything after it), as the `png` crate reads a file natively.
            let head = input.get(at..at + 8).ok_or_else(truncated)?;
            let kind = &head[4..8];
            if !png.idat.is_empty() && kind != b"IDAT" {
                break;
            }
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let data = input
                .get(at + 8..at.checked_add(8 + len).ok_or_else(truncated)?)
                .ok_or_else(truncated)?;
            let stored = input
                .get(at + 8 + len..at + 12 + len)
                .ok_or_else(truncated)?;
            at += 12 + len;
            if crc32(&[kind, data])
                != u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]])
            {
                // As the `png` crate reads a file natively: an ancillary chunk (lowercase first
                // letter: text, EXIF, a profile) with a bad checksum is left out, not fatal.
                if kind[0] & 0x20 != 0 {
                    continue;
                }
                return Err(crc_error(kind));
            }
            match kind {
                b"IHDR" if seen_ihdr => return Err(malformed("it has a second header (IHDR)")),
                b"IHDR" => {
                    png.header(data)?;
                    seen_ihdr = true;
                }
                _ if !seen_ihdr => return Err(malformed("the first chunk is not IHDR")),
                b"PLTE" => png.palette(data)?,
                b"tRNS" => png.trns(data),
                b"iCCP" => png.icc = iccp(data),
                // APNG frames are not decoded here: say so rather than answer its default image.
                b"acTL" if data.get(..4).is_some_and(|n| n > &[0, 0, 0, 1][..]) => {
                    return Err(Error::UnsupportedFeature {
                        format: "PNG (APNG) in the module",
                        feature: "animated",
                        advice: "the module animates GIF only: send the animation as a GIF, or \
                                 one frame as a still (the gateway and `pixelsmith pixelate` take \
                                 `frame=N` for an APNG)",
                    });
                }
                b"IDAT" => png.idat.push(data),
                b"IEND" => break,
                // As the `png` crate natively: an unknown critical chunk ends the decode.
                _ if kind[0] & 0x20 == 0 => {
                    return Err(unknown_critical_chunk(&String::from_utf8_lossy(kind)));
                }
                _ => {}
            }
        }
        if png.idat.is_empty() {
            return Err(malformed("it has no image data (IDAT)"));
        }
        if png.color_type == 3 && png.palette.is_none() {
            return Err(malformed("an indexed-colour image has no palette (PLTE)"));
        }
        Ok(png)
    }

    fn header(&mut self, d: &[u8]) -> Result<(), Error> {
        check_ihdr(d, d.len())?;
        self.width = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        self.height = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
        self.depth = d[8];
        self.color_type = d[9];
        self.interlaced = d[12] == 1;
        Ok(())
    }

    fn palette(&mut self, d: &[u8]) -> Result<(), Error> {
        check_palette_length(d.len())?;
        let mut p = Box::new([[0u8, 0, 0, 255]; 256]);
        for (entry, rgb) in p.iter_mut().zip(d.chunks_exact(3)) {
            entry[..3].copy_from_slice(rgb);
        }
        self.palette = Some(p);
        self.palette_len = d.len() / 3;
        Ok(())
    }

    fn trns(&mut self, d: &[u8]) {
        match self.color_type {
            3 => {
                // A tRNS longer than the palette is ignored, as the `png` crate does.
                let entries = self.palette_len;
                if let Some(p) = self.palette.as_mut()
                    && d.len() <= entries
                {
                    for (entry, &a) in p.iter_mut().zip(d) {
                        entry[3] = a;
                    }
                    self.has_trns = true;
                }
            }
            0 if d.len() >= 2 => {
                self.trns_key = Some(if self.depth < 16 {
                    vec![d[1]]
                } else {
                    d[..2].to_vec()
                });
                self.has_trns = true;
            }
            2 if d.len() >= 6 => {
                self.trns_key = Some(if self.depth < 16 {
                    vec![d[1], d[3], d[5]]
                } else {
                    d[..6].to_vec()
                });
                self.has_trns = true;
            }
            _ => {}
        }
    }

    /// The channels rows come out in.
    pub fn channels(&self) -> Channels {
        match (self.color_type, self.has_trns) {
            (0, false) => Channels::Gray,
            (0, true) | (4, _) => Channels::GrayAlpha,
            (2, false) | (3, false) => Channels::Rgb,
            _ => Channels::Rgba,
        }
    }

    /// Whether stored rows are already in the `channels()` layout (8-bit grey, grey+alpha, RGB
    /// or RGBA without a `tRNS` key), so they need no normalising copy.
    fn rows_as_stored(&self) -> bool {
        self.depth == 8 && self.color_type != 3 && !self.has_trns
    }

    /// Samples per pixel as stored, and bits per sample.
    fn samples(&self) -> usize {
        match self.color_type {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        }
    }

    /// Bytes of one stored (filtered) row of `width` pixels, without the filter byte.
    fn stored_len(&self, width: u32) -> usize {
        (width as usize * self.samples() * usize::from(self.depth)).div_ceil(8)
    }

    /// Bytes per complete pixel for the filters (at least one).
    fn filter_bpp(&self) -> usize {
        (self.samples() * usize::from(self.depth))
            .div_ceil(8)
            .max(1)
    }

    /// Decodes the image, handing each row (top to bottom, `channels()` layout, 8 bits) to `row`
    /// (an interlaced image is assembled whole first).
    pub fn rows(&self, mut row: impl FnMut(&[u8])) -> Result<(), Error> {
        let out_len = self.width as usize * self.channels().count();
        let mut out = vec![0u8; out_len];
        if !self.interlaced {
            let len = self.stored_len(self.width);
            let mut above = vec![0u8; len];
            let mut rows = 0u32;
            self.inflate_rows(&[(len, self.height)], |_, filtered| {
                let (filter, data) = filtered.split_first_mut().ok_or_else(inflate_error)?;
                unfilter(*filter, self.filter_bpp(), &above, data)
                    .map_err(|()| unknown_row_filter(filter))?;
                if self.rows_as_stored() {
                    row(data);
                } else {
                    self.normalize(data, self.width, &mut out);
                    row(&out);
                }
                above.copy_from_slice(data);
                rows += 1;
                Ok(())
            })?;
            return if rows == self.height {
                Ok(())
            } else {
                Err(too_few_rows())
            };
        }
        // Adam7: seven passes of sub-images, placed into the full image, then handed out.
        let image = self.deinterlace()?;
        for r in image.chunks_exact(out_len.max(1)) {
            row(r);
        }
        Ok(())
    }

    /// The whole interlaced image, normalised, row-major.
    pub fn deinterlace(&self) -> Result<Vec<u8>, Error> {
        const PASSES: [(u32, u32, u32, u32); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let n = self.channels().count();
        let (w, h) = (self.width, self.height);
        let mut image = zeroed(w as usize * h as usize * n)?;
        let shapes: Vec<(u32, u32)> = PASSES
            .iter()
            .map(|&(x0, y0, dx, dy)| ((w + dx - 1 - x0) / dx, (h + dy - 1 - y0) / dy))
            .collect();
        let plan: Vec<(usize, u32)> = shapes
            .iter()
            .map(|&(pw, ph)| {
                (
                    if pw == 0 { 0 } else { self.stored_len(pw) },
                    if pw == 0 { 0 } else { ph },
                )
            })
            .collect();
        let mut above = Vec::new();
        let mut pass_row = vec![0u8; w as usize * n];
        let mut current = (usize::MAX, 0u32);
        self.inflate_rows(&plan, |pass, filtered| {
            if current.0 != pass {
                current = (pass, 0);
                above.clear();
                above.resize(plan[pass].0, 0);
            }
            let (x0, y0, dx, dy) = PASSES[pass];
            let pw = shapes[pass].0;
            let (filter, data) = filtered.split_first_mut().ok_or_else(inflate_error)?;
            unfilter(*filter, self.filter_bpp(), &above, data)
                .map_err(|()| unknown_row_filter(filter))?;
            self.normalize(data, pw, &mut pass_row);
            above.copy_from_slice(data);
            let y = (y0 + current.1 * dy) as usize;
            for i in 0..pw as usize {
                let x = x0 as usize + i * dx as usize;
                let at = (y * w as usize + x) * n;
                image[at..at + n].copy_from_slice(&pass_row[i * n..i * n + n]);
            }
            current.1 += 1;
            Ok(())
        })?;
        Ok(image)
    }

    /// Inflates the image data and hands out each filtered row (filter byte first, mutable: it is
    /// a copy) with its pass index; `plan` is, per pass, the stored row length and row count.
    fn inflate_rows(
        &self,
        plan: &[(usize, u32)],
        mut each: impl FnMut(usize, &mut [u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // The IDAT chunks form one zlib stream; the inflater reads it whole.
        let joined;
        let stream: &[u8] = match self.idat.as_slice() {
            [one] => one,
            chunks => {
                joined = chunks.concat();
                &joined
            }
        };
        let mut inflater = Inflater::new(stream);
        let mut buf: Vec<u8> = Vec::new();
        let (mut filled, mut start) = (0usize, 0usize);
        let mut scratch = Vec::new();
        let mut rows = plan
            .iter()
            .enumerate()
            .flat_map(|(pass, &(len, count))| (0..count).map(move |_| (pass, len + 1)))
            .peekable();
        while rows.peek().is_some() {
            // Hand out every complete row already inflated.
            while let Some(&(pass, stride)) = rows.peek() {
                if filled - start < stride {
                    break;
                }
                scratch.clear();
                scratch.extend_from_slice(&buf[start..start + stride]);
                each(pass, &mut scratch)?;
                start += stride;
                rows.next();
            }
            if rows.peek().is_none() {
                break;
            }
            if inflater.done() {
                // A complete stream with rows missing: malformed, as the `png` crate says.
                return Err(too_few_rows());
            }
            // Drop what the window no longer needs.
            if start > SHIFT_AT {
                let keep = start.min(filled.saturating_sub(WINDOW));
                buf.copy_within(keep..filled, 0);
                filled -= keep;
                start -= keep;
            }
            if buf.len() < filled + GROWTH {
                buf.resize(filled + GROWTH, 0);
            }
            // A zlib stream that ends early inside complete chunks is damaged data, as the
            // `png` crate reports it natively (a file cut short fails in `read` already).
            filled = inflater
                .read(&mut buf, filled)
                .map_err(|_: InflateError| inflate_error())?;
        }
        Ok(())
    }

    /// One unfiltered stored row of `width` pixels → 8-bit samples in `channels()` layout.
    fn normalize(&self, data: &[u8], width: u32, out: &mut [u8]) {
        let w = width as usize;
        let depth = self.depth;
        match (self.color_type, depth) {
            (3, _) => {
                let p = self.palette.as_deref().expect("read() requires a palette");
                let n = self.channels().count();
                for x in 0..w {
                    let c = p[usize::from(sample(data, x, depth))];
                    out[x * n..x * n + n].copy_from_slice(&c[..n]);
                }
            }
            (0, _) => {
                let scale = if depth < 8 {
                    255 / ((1u16 << depth) - 1) as u8
                } else {
                    1
                };
                let key = self.trns_key.as_deref();
                for x in 0..w {
                    let (v, transparent) = if depth == 16 {
                        (data[2 * x], key == Some(&data[2 * x..2 * x + 2]))
                    } else {
                        let raw = sample(data, x, depth);
                        (raw * scale, key == Some(&[raw][..]))
                    };
                    if self.has_trns {
                        out[2 * x] = v;
                        out[2 * x + 1] = if transparent { 0 } else { 255 };
                    } else {
                        out[x] = v;
                    }
                }
            }
            (2, _) => {
                let key = self.trns_key.as_deref();
                let bytes = if depth == 16 { 6 } else { 3 };
                let n = if self.has_trns { 4 } else { 3 };
                for x in 0..w {
                    let px = &data[x * bytes..x * bytes + bytes];
                    let o = &mut out[x * n..x * n + n];
                    for k in 0..3 {
                        o[k] = px[k * bytes / 3];
                    }
                    if self.has_trns {
                        o[3] = if key == Some(px) { 0 } else { 255 };
                    }
                }
            }
            (_, 8) => out[..data.len()].copy_from_slice(data),
            // 16-bit grey+alpha and RGBA: the high byte of every sample.
            _ => {
                for (o, pair) in out.iter_mut().zip(data.chunks_exact(2)) {
                    *o = pair[0];
                }
            }
        }
    }
}

/// Sample `x` of a row packed at `depth` bits (1, 2, 4 or 8), most significant bits first.
fn sample(data: &[u8], x: usize, depth: u8) -> u8 {
    match depth {
        8 => data[x],
        _ => {
            let bits = usize::from(depth);
            let per_byte = 8 / bits;
            let shift = 8 - bits * (x % per_byte + 1);
            (data[x / per_byte] >> shift) & ((1u16 << bits) - 1) as u8
        }
    }
}

/// An iCCP chunk's profile: name, NUL, compression method 0, zlib data. `None` if damaged (the
/// pixels still decode; the profile is then simply absent).
fn iccp(data: &[u8]) -> Option<Vec<u8>> {
    let nul = data.iter().position(|&b| b == 0)?;
    if data.get(nul + 1) != Some(&0) {
        return None;
    }
    inflate_bounded(data.get(nul + 2..)?, 16 << 20)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// Decodes with the `png` crate as native builds do: `normalize_to_color8`, row by row.
    fn reference(input: &[u8]) -> (Channels, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(input));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().unwrap();
        let channels = match reader.output_color_type().0 {
            png::ColorType::Grayscale => Channels::Gray,
            png::ColorType::GrayscaleAlpha => Channels::GrayAlpha,
            png::ColorType::Rgb => Channels::Rgb,
            _ => Channels::Rgba,
        };
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (channels, buf)
    }

    fn lean(input: &[u8]) -> (Channels, Vec<u8>) {
        let png = LeanPng::read(input).unwrap();
        let mut out = Vec::new();
        png.rows(|r| out.extend_from_slice(r)).unwrap();
        (png.channels(), out)
    }

    /// A PNG written by hand (interlaced or not, filter type 0): the `png` crate's encoder writes
    /// no Adam7.
    #[allow(clippy::too_many_arguments)]
    fn handmade(
        w: u32,
        h: u32,
        color: u8,
        depth: u8,
        samples: &[u16],
        plte: &[u8],
        trns: &[u8],
        interlaced: bool,
    ) -> Vec<u8> {
        let spp = match color {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        };
        let passes: Vec<(u32, u32, u32, u32)> = if interlaced {
            vec![
                (0, 0, 8, 8),
                (4, 0, 8, 8),
                (0, 4, 4, 8),
                (2, 0, 4, 4),
                (0, 2, 2, 4),
                (1, 0, 2, 2),
                (0, 1, 1, 2),
            ]
        } else {
            vec![(0, 0, 1, 1)]
        };
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in passes {
            let xs: Vec<u32> = (x0..w).step_by(dx as usize).collect();
            if xs.is_empty() {
                continue;
            }
            for y in (y0..h).step_by(dy as usize) {
                raw.push(0u8);
                let mut bits: Vec<u8> = Vec::new();
                let (mut acc, mut n) = (0u32, 0u32);
                for &x in &xs {
                    for k in 0..spp {
                        let v = u32::from(samples[((y * w + x) as usize) * spp + k]);
                        if depth == 16 {
                            bits.extend_from_slice(&(v as u16).to_be_bytes());
                        } else if depth == 8 {
                            bits.push(v as u8);
                        } else {
                            acc = (acc << depth) | v;
                            n += u32::from(depth);
                            if n == 8 {
                                bits.push(acc as u8);
                                acc = 0;
                                n = 0;
                            }
                        }
                    }
                }
                if n > 0 {
                    bits.push((acc << (8 - n)) as u8);
                }
                raw.extend_from_slice(&bits);
            }
        }
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[depth, color, 0, 0, u8::from(interlaced)]);
        let idat = fdeflate::compress_to_vec(&raw);
        let chunks = [
            (b"IHDR", &ihdr[..]),
            (b"PLTE", plte),
            (b"tRNS", trns),
            (b"IDAT", &idat[..]),
            (b"IEND", &[]),
        ];
        png_file(
            chunks
                .into_iter()
                .filter(|(k, d)| !d.is_empty() || *k == b"IEND"),
        )
    }

    /// A PNG file of `chunks` (type and data; lengths and CRCs are added).
    fn png_file<'c>(chunks: impl IntoIterator<Item = (&'c [u8; 4], &'c [u8])>) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
        }
        out
    }

    /// Every colour type at every bit depth, with and without tRNS, plain and interlaced: the
    /// lean decoder gives exactly the `png` crate's rows.
    #[test]
    fn every_kind_of_png_decodes_exactly_as_the_png_crate_decodes_it() {
        let kinds: &[(u8, &[u8])] = &[
            (0, &[1, 2, 4, 8, 16]),
            (2, &[8, 16]),
            (3, &[1, 2, 4, 8]),
            (4, &[8, 16]),
            (6, &[8, 16]),
        ];
        let mut checked = 0;
        for (w, h) in [(37u32, 29u32), (1, 1), (3, 9), (9, 2)] {
            for &(color, depths) in kinds {
                let spp = match color {
                    0 | 3 => 1,
                    4 => 2,
                    2 => 3,
                    _ => 4,
                };
                for &depth in depths {
                    let max = (1u32 << depth) - 1;
                    let samples: Vec<u16> = (0..(w * h) as usize * spp)
                        .map(|i| ((i as u32 * 7919 + i as u32 / 5 * 31) % (max + 1)) as u16)
                        .collect();
                    for trns in [false, true] {
                        if trns && matches!(color, 4 | 6) {
                            continue;
                        }
                        let entries = 1usize << depth.min(8);
                        let plte: Vec<u8> = if color == 3 {
                            (0..entries * 3).map(|i| (i * 13 % 256) as u8).collect()
                        } else {
                            Vec::new()
                        };
                        let key: Vec<u8> = match (trns, color) {
                            (false, _) => Vec::new(),
                            (true, 3) => (0..entries / 2).map(|i| (i * 40 % 256) as u8).collect(),
                            // The first pixel's own value, so some pixels are transparent.
                            (true, 0) => samples[0].to_be_bytes().to_vec(),
                            _ => samples[..3].iter().flat_map(|v| v.to_be_bytes()).collect(),
                        };
                        for interlaced in [false, true] {
                            let png =
                                handmade(w, h, color, depth, &samples, &plte, &key, interlaced);
                            let what = format!(
                                "{w}x{h} colour {color} depth {depth} trns={trns} interlaced={interlaced}"
                            );
                            assert_eq!(lean(&png), reference(&png), "{what}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn every_filter_decodes_as_the_png_crate_decodes_it() {
        for filter in [
            png::Filter::NoFilter,
            png::Filter::Sub,
            png::Filter::Up,
            png::Filter::Avg,
            png::Filter::Paeth,
        ] {
            for (color, bpp) in [
                (png::ColorType::Rgb, 3usize),
                (png::ColorType::Rgba, 4),
                (png::ColorType::Grayscale, 1),
            ] {
                let (w, h) = (300u32, 200u32);
                let data: Vec<u8> = (0..(w * h) as usize * bpp)
                    .map(|i| ((i * 7919 + i / 900 * 31) % 251) as u8)
                    .collect();
                let mut out = Vec::new();
                {
                    let mut e = png::Encoder::new(&mut out, w, h);
                    e.set_color(color);
                    e.set_filter(filter);
                    e.write_header().unwrap().write_image_data(&data).unwrap();
                }
                assert_eq!(lean(&out), reference(&out), "{color:?} {filter:?}");
            }
        }
    }

    /// A `w`×`h` 8-bit RGB PNG whose image data is `zlib`.
    fn rgb_png(w: u32, h: u32, zlib: &[u8]) -> Vec<u8> {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png_file([(b"IHDR", &ihdr[..]), (b"IDAT", zlib), (b"IEND", &[])])
    }

    /// What the two decoders make of damaged image data inside intact chunks: the same verdict.
    #[test]
    fn damaged_image_data_in_intact_chunks_gets_the_png_crates_verdict() {
        let (w, h) = (40u32, 30u32);
        let rows: Vec<u8> = (0..h)
            .flat_map(|y| std::iter::once(1u8).chain((0..w * 3).map(move |x| (x * 7 + y) as u8)))
            .collect();
        let stream = fdeflate::compress_to_vec(&rows);
        // A wrong Adler-32: neither verifies it, both decode the image.
        let mut adler = stream.clone();
        *adler.last_mut().unwrap() ^= 1;
        let png = rgb_png(w, h, &adler);
        assert_eq!(lean(&png), reference(&png));
        // A stream cut short, and a complete stream with too few rows: both refuse, and the
        // module says the data is malformed (not that the file is cut off), as native does.
        let short = fdeflate::compress_to_vec(&rows[..rows.len() / 2]);
        for zlib in [&stream[..stream.len() / 2], &short[..]] {
            let png = rgb_png(w, h, zlib);
            let e = LeanPng::read(&png)
                .and_then(|p| p.rows(|_| {}))
                .expect_err("must fail");
            assert_eq!(e.code(), "malformed", "{e}");
            let mut decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
            decoder.set_transformations(png::Transformations::normalize_to_color8());
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            assert!(reader.next_frame(&mut buf).is_err());
        }
    }

    /// What follows the image data is not read beyond the next chunk's header, as the `png`
    /// crate reads natively: a damaged chunk there, or a cut inside IEND, still decodes, the same
    /// in both builds; a file that ends with its image data is cut off for both.
    #[test]
    fn nothing_after_the_image_data_is_read_but_the_next_chunk_header() {
        let (w, h) = (8u32, 4u32);
        let rows: Vec<u8> = (0..h)
            .flat_map(|y| std::iter::once(0u8).chain((0..w * 3).map(move |x| (x * 9 + y) as u8)))
            .collect();
        let png = rgb_png(w, h, &fdeflate::compress_to_vec(&rows));
        let iend = png.len() - 12;
        let mut text = png[..iend].to_vec();
        text.extend_from_slice(&png_file([(b"tEXt", &b"k\0v"[..])])[8..]);
        let crc_at = text.len() - 4;
        text[crc_at] ^= 1;
        for damaged in [text, png[..png.len() - 1].to_vec()] {
            assert_eq!(lean(&damaged), reference(&damaged));
        }
        let e = LeanPng::read(&png[..iend]).err().expect("no IEND");
        assert_eq!(e.code(), "truncated");
    }

    /// Broken headers and palettes are malformed for both builds (the `png` crate panics on a
    /// palette whose length is not a multiple of 3, so it is checked before any decoder runs).
    #[test]
    fn broken_headers_and_palettes_are_malformed() {
        let mut ihdr = 8u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&4u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
        let idat = fdeflate::compress_to_vec(&[0u8; 4 * 9]);
        let indexed = |ihdr: &[u8], plte: &[u8], twice: bool| {
            let mut chunks = vec![(b"IHDR", ihdr)];
            if twice {
                chunks.push((b"IHDR", ihdr));
            }
            chunks.extend([(b"PLTE", plte), (b"IDAT", &idat[..]), (b"IEND", &[][..])]);
            png_file(chunks)
        };
        let long_header = [&ihdr[..], &[0, 0]].concat();
        let cases = [
            ("13-byte palette", indexed(&ihdr, &[7; 13], false)),
            ("empty palette", indexed(&ihdr, &[], false)),
            ("257 entries", indexed(&ihdr, &[7; 257 * 3], false)),
            ("15-byte header", indexed(&long_header, &[7; 6], false)),
            ("two headers", indexed(&ihdr, &[7; 6], true)),
        ];
        for (what, png) in cases {
            let e = LeanPng::read(&png).err().expect(what);
            assert_eq!(e.code(), "malformed", "{what}: {e}");
        }
        assert!(check_header_and_palette(&indexed(&ihdr, &[7; 13], false)).is_err());
        assert!(check_header_and_palette(&indexed(&ihdr, &[7; 6], false)).is_ok());
        // No palette at all: the same words from both builds (the png crate said "Missing
        // palette of indexed image.").
        let no_palette = png_file(vec![
            (b"IHDR", &ihdr[..]),
            (b"IDAT", &idat[..]),
            (b"IEND", &[][..]),
        ]);
        let err = check_header_and_palette(&no_palette).unwrap_err();
        assert!(err.to_string().contains("has no palette (PLTE)"), "{err}");
    }

    #[test]
    fn a_png_without_its_iend_decodes_and_one_cut_inside_a_chunk_does_not() {
        let ihdr = [0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0];
        let idat = fdeflate::compress_to_vec(&[0, 10, 20, 30, 0, 40, 50, 60]);
        let whole = png_file([
            (b"IHDR", &ihdr[..]),
            (b"IDAT", &idat[..]),
            (b"IEND", &[][..]),
        ]);
        let no_end = &whole[..whole.len() - 12];
        assert_eq!(with_end(no_end).as_ref(), whole.as_slice());
        let pixelate = |png: &[u8]| {
            let mut options = crate::engine::Options::default();
            options.set("block", "1").unwrap();
            crate::engine::pixelate(png, &options).map(|done| done.png)
        };
        assert_eq!(pixelate(no_end).unwrap(), pixelate(&whole).unwrap());
        let cut = &whole[..whole.len() - 15];
        assert_eq!(with_end(cut).as_ref(), cut, "cut inside the IDAT chunk");
        assert_eq!(pixelate(cut).unwrap_err().code(), "truncated");
    }

    #[test]
    fn unknown_critical_chunks_and_row_filters_are_refused_in_the_native_words() {
        let ihdr = [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0];
        let good = miniz_oxide::deflate::compress_to_vec_zlib(&[0, 9], 6);
        let bad_filter = miniz_oxide::deflate::compress_to_vec_zlib(&[7, 9], 6);
        let unknown = png_file([
            (b"IHDR", &ihdr[..]),
            (b"TEST", &[1, 2][..]),
            (b"IDAT", &good[..]),
            (b"IEND", &[][..]),
        ]);
        let filtered = png_file([
            (b"IHDR", &ihdr[..]),
            (b"IDAT", &bad_filter[..]),
            (b"IEND", &[][..]),
        ]);
        for (what, file) in [("TEST chunk", unknown), ("filter 7", filtered)] {
            let lean = LeanPng::read(&file)
                .and_then(|png| png.rows(|_| {}))
                .unwrap_err();
            let native = crate::engine::decode_only(&file, &Default::default()).unwrap_err();
            assert_eq!(lean.to_string(), native.to_string(), "{what}");
            assert!(!lean.to_string().contains("ChunkType"), "{lean}");
        }
    }

    #[test]
    fn finds_a_chunk_after_the_image_data() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (*b"IHDR", &[0u8; 13][..]),
            (*b"IDAT", &[1, 2]),
            (*b"eXIf", b"MM"),
        ] {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(&kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&[0; 4]);
        }
        assert_eq!(chunk(&png, *b"eXIf"), Some(&b"MM"[..]));
        assert_eq!(chunk(&png, *b"iCCP"), None);
    }

    #[test]
    fn a_damaged_checksum_and_cut_off_data_are_told_apart() {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, 64, 64);
            e.set_color(png::ColorType::Rgb);
            e.write_header()
                .unwrap()
                .write_image_data(&vec![7u8; 64 * 64 * 3])
                .unwrap();
        }
        let idat = out.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(out[idat - 4..idat].try_into().unwrap()) as usize;
        let mut crc = out.clone();
        crc[idat + 4 + len] ^= 1;
        let e = LeanPng::read(&crc).err().unwrap();
        assert!(
            e.to_string().contains("checksum (CRC)") && e.to_string().contains("IDAT"),
            "{e}"
        );
        let cut = &out[..idat + 10];
        assert_eq!(LeanPng::read(cut).err().unwrap().code(), "truncated");
    }

    /// A damaged ancillary chunk before the image data (text, a profile, transparency) is left
    /// out as the `png` crate leaves it out: same rows, no profile, no tRNS key.
    #[test]
    fn ancillary_chunks_with_bad_checksums_are_left_out_as_natively() {
        let rows = [0u8, 10, 20, 30, 0, 200, 100, 50];
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&rows, 6);
        let ihdr = [0, 0, 0, 1, 0, 0, 0, 2, 8, 2, 0, 0, 0];
        let text = *b"Comment\0hello";
        let trns = [0, 10, 0, 20, 0, 30];
        let mut icc = b"p\0\0".to_vec();
        icc.extend_from_slice(&zlib);
        for (kind, data) in [
            (b"tEXt", &text[..]),
            (b"tRNS", &trns[..]),
            (b"iCCP", &icc[..]),
        ] {
            let mut file = png_file([
                (b"IHDR", &ihdr[..]),
                (kind, data),
                (b"IDAT", &zlib[..]),
                (b"IEND", &[][..]),
            ]);
            // Damage the chunk's stored CRC (just before the IDAT chunk's length).
            let idat = file.windows(4).position(|w| w == b"IDAT").unwrap();
            file[idat - 5] ^= 0xFF;
            assert_eq!(lean(&file), reference(&file), "{}", kind.escape_ascii());
            assert!(LeanPng::read(&file).unwrap().icc.is_none());
        }
    }
}
