//! Animated input: every frame composited onto the canvas as a viewer shows it.
//!
//! GIF (disposal none/keep, restore to background, restore to previous; local palettes;
//! transparency; frame offsets), APNG (blend source/over, dispose none/background/previous; a
//! default image that is not part of the animation is skipped; native builds only) and animated
//! WebP (composited by `image-webp`; with the `webp` feature). Frames are handed over one at a
//! time as the whole RGBA canvas, so only one canvas (and a saved rectangle) is ever held.

use crate::engine::error::{Error, zeroed};
use crate::engine::options::Limits;
use crate::engine::probe::{Format, ImageInfo};

/// What an animation's headers say, read before any frame is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The canvas every frame is drawn on.
    pub width: u32,
    pub height: u32,
    /// How many frames the animation shows (1 for a still).
    pub frames: u32,
    /// How many times it plays in all: 0 forever. Each format stores this differently (see
    /// `gif_plays`; APNG's `num_plays` and WebP's loop count are the total already).
    pub plays: u32,
}

/// Called with each composited frame: the RGBA canvas and the frame's delay in milliseconds.
pub(crate) type EachFrame<'a> = dyn FnMut(&[u8], u32) -> Result<(), Error> + 'a;

/// The header of `input` (already probed and checked): `None` when its format has no animation.
pub(crate) fn header(
    input: &[u8],
    info: &ImageInfo,
    limits: &Limits,
) -> Result<Option<Header>, Error> {
    match info.format {
        Format::Gif => gif_header(input, limits).map(Some),
        #[cfg(not(target_arch = "wasm32"))]
        Format::Png => apng_header(input, limits),
        #[cfg(feature = "webp")]
        Format::Webp => webp_header(input, limits),
        _ => Ok(None),
    }
}

/// Composites the frames of `input` in order and hands each to `each` as the RGBA canvas and its
/// delay in milliseconds, stopping after frame `last` if given.
pub(crate) fn composite(
    input: &[u8],
    info: &ImageInfo,
    limits: &Limits,
    last: Option<usize>,
    each: &mut EachFrame<'_>,
) -> Result<(), Error> {
    match info.format {
        Format::Gif => gif_frames(input, limits, last, each),
        #[cfg(not(target_arch = "wasm32"))]
        Format::Png => apng_frames(&super::png_lean::with_end(input), limits, last, each),
        #[cfg(feature = "webp")]
        Format::Webp => webp_frames(input, limits, last, each),
        _ => Err(Error::decoder(info.format, "this format has no animation")),
    }
}

/// A rectangle of the canvas, already clipped to it.
#[derive(Debug, Clone, Copy, Default)]
struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

impl Rect {
    fn clipped(x: u32, y: u32, w: u32, h: u32, width: u32, height: u32) -> Self {
        let (x, y) = (x.min(width), y.min(height));
        Rect {
            x: x as usize,
            y: y as usize,
            w: w.min(width - x) as usize,
            h: h.min(height - y) as usize,
        }
    }

    fn clear(self, canvas: &mut [u8], width: usize) {
        for row in self.y..self.y + self.h {
            let at = (row * width + self.x) * 4;
            canvas[at..at + self.w * 4].fill(0);
        }
    }

    fn save(self, canvas: &[u8], width: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.w * self.h * 4);
        for row in self.y..self.y + self.h {
            let at = (row * width + self.x) * 4;
            out.extend_from_slice(&canvas[at..at + self.w * 4]);
        }
        out
    }

    fn restore(self, saved: &[u8], canvas: &mut [u8], width: usize) {
        for (k, row) in (self.y..self.y + self.h).enumerate() {
            let at = (row * width + self.x) * 4;
            canvas[at..at + self.w * 4]
                .copy_from_slice(&saved[k * self.w * 4..(k + 1) * self.w * 4]);
        }
    }
}

/// What to do with a frame's area before the next frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dispose {
    Keep,
    Background,
    Previous,
}

/// The previous frame's area and disposal, applied before the next frame is drawn.
#[derive(Default)]
struct Pending {
    rect: Rect,
    dispose: Option<Dispose>,
    saved: Vec<u8>,
}

impl Pending {
    fn apply(&mut self, canvas: &mut [u8], width: usize) {
        match self.dispose {
            Some(Dispose::Background) => self.rect.clear(canvas, width),
            Some(Dispose::Previous) => self.rect.restore(&self.saved, canvas, width),
            _ => {}
        }
    }

    fn start(&mut self, rect: Rect, dispose: Dispose, canvas: &[u8], width: usize) {
        self.rect = rect;
        self.dispose = Some(dispose);
        self.saved = if dispose == Dispose::Previous {
            rect.save(canvas, width)
        } else {
            Vec::new()
        };
    }
}

/// Draws `pixels` (RGBA, `rect.w` wide) onto the canvas: replacing (`over` false) or alpha
/// compositing over what is there.
fn blit(canvas: &mut [u8], width: usize, rect: Rect, pixels: &[u8], stride: usize, over: bool) {
    for row in 0..rect.h {
        let src = &pixels[row * stride * 4..row * stride * 4 + rect.w * 4];
        let at = ((rect.y + row) * width + rect.x) * 4;
        let dst = &mut canvas[at..at + rect.w * 4];
        if !over {
            dst.copy_from_slice(src);
            continue;
        }
        for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
            match s[3] {
                0 => {}
                255 => d.copy_from_slice(s),
                sa => {
                    // Straight alpha "over", in 8-bit sRGB as browsers composite.
                    let (sa, da) = (u32::from(sa), u32::from(d[3]));
                    let out_a = sa * 255 + da * (255 - sa);
                    for k in 0..3 {
                        let v = u32::from(s[k]) * sa * 255 + u32::from(d[k]) * da * (255 - sa);
                        d[k] = ((v + out_a / 2) / out_a.max(1)) as u8;
                    }
                    d[3] = ((out_a + 127) / 255) as u8;
                }
            }
        }
    }
}

fn gif_options(limits: &Limits, skip: bool) -> gif::DecodeOptions {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    options.skip_frame_decoding(skip);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(super::decoder_memory_limit(limits) as u64)
            .unwrap_or(std::num::NonZeroU64::MIN),
    ));
    options
}

/// Total plays from a GIF's NETSCAPE2.0 loop count, which counts repeats after the first play
/// (how Chromium and Firefox read it): no extension plays once, `n` plays `n + 1` times, 0
/// forever. The gif crate reports a missing extension as `Finite(0)`.
fn gif_plays(repeat: gif::Repeat) -> u32 {
    match repeat {
        gif::Repeat::Infinite => 0,
        gif::Repeat::Finite(n) => u32::from(n) + 1,
    }
}

/// The GIF canvas: the logical screen, or the first frame's extent when the screen is empty.
fn gif_canvas(sw: u32, sh: u32, first: Option<&gif::Frame<'_>>) -> (u32, u32) {
    match first {
        Some(f) if sw == 0 || sh == 0 => (
            sw.max(u32::from(f.left) + u32::from(f.width)),
            sh.max(u32::from(f.top) + u32::from(f.height)),
        ),
        _ => (sw, sh),
    }
}

/// Counts the frames without decoding their pixels (the LZW data is skipped).
fn gif_header(input: &[u8], limits: &Limits) -> Result<Header, Error> {
    let input = super::gif::with_trailer(input);
    let mut decoder = gif_options(limits, true)
        .read_info(&input[..])
        .map_err(super::gif::error)?;
    let (sw, sh) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let mut frames = 0u32;
    let mut canvas = (sw, sh);
    while let Some(frame) = next_gif_frame(&mut decoder, frames as usize)? {
        if frames == 0 {
            canvas = gif_canvas(sw, sh, Some(frame));
        }
        frames += 1;
    }
    if frames == 0 {
        return Err(Error::decoder(Format::Gif, "the file has no image frame"));
    }
    Ok(Header {
        width: canvas.0,
        height: canvas.1,
        frames,
        plays: gif_plays(decoder.repeat()),
    })
}

/// The next frame, or `None` at the end. A frame after the first whose data is damaged (a bad
/// LZW code) ends the animation there, as browsers show the frames before it; a file cut off
/// inside a frame is still reported as truncated.
fn next_gif_frame<R: std::io::Read>(
    decoder: &mut gif::Decoder<R>,
    index: usize,
) -> Result<Option<&gif::Frame<'static>>, Error> {
    match decoder.read_next_frame() {
        Ok(frame) => Ok(frame),
        Err(err) => match super::gif::error(err) {
            Error::Malformed { .. } if index > 0 => Ok(None),
            err => Err(err),
        },
    }
}

fn gif_frames(
    input: &[u8],
    limits: &Limits,
    last: Option<usize>,
    each: &mut EachFrame<'_>,
) -> Result<(), Error> {
    let input = super::gif::with_trailer(input);
    let mut decoder = gif_options(limits, false)
        .read_info(&input[..])
        .map_err(super::gif::error)?;
    let (sw, sh) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let mut canvas: Vec<u8> = Vec::new();
    let (mut width, mut height) = (sw, sh);
    let mut pending = Pending::default();
    let mut index = 0usize;
    while let Some(frame) = next_gif_frame(&mut decoder, index)? {
        if index == 0 {
            (width, height) = gif_canvas(sw, sh, Some(frame));
            crate::engine::probe::check_size(width, height, limits)?;
            canvas = zeroed(width as usize * height as usize * 4)?;
        }
        let w = width as usize;
        pending.apply(&mut canvas, w);
        let rect = Rect::clipped(
            u32::from(frame.left),
            u32::from(frame.top),
            u32::from(frame.width),
            u32::from(frame.height),
            width,
            height,
        );
        let dispose = match frame.dispose {
            gif::DisposalMethod::Background => Dispose::Background,
            gif::DisposalMethod::Previous => Dispose::Previous,
            _ => Dispose::Keep,
        };
        pending.start(rect, dispose, &canvas, w);
        // Transparent pixels (alpha 0) leave the canvas as it is.
        blit(
            &mut canvas,
            w,
            rect,
            &frame.buffer,
            usize::from(frame.width),
            true,
        );
        each(&canvas, u32::from(frame.delay) * 10)?;
        if last == Some(index) {
            return Ok(());
        }
        index += 1;
    }
    if index == 0 {
        return Err(Error::decoder(Format::Gif, "the file has no image frame"));
    }
    if let Some(last) = last {
        return Err(no_such_frame(last, index));
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn apng_reader<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<png::Reader<std::io::Cursor<&'a [u8]>>, Error> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(input),
        png::Limits {
            bytes: super::decoder_memory_limit(limits),
        },
    );
    decoder.set_ignore_text_chunk(true);
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    decoder.read_info().map_err(png_error)
}

#[cfg(not(target_arch = "wasm32"))]
use super::png::error as png_error;

#[cfg(not(target_arch = "wasm32"))]
fn apng_header(input: &[u8], limits: &Limits) -> Result<Option<Header>, Error> {
    let reader = apng_reader(input, limits)?;
    let info = reader.info();
    Ok(info.animation_control.map(|actl| Header {
        width: info.width,
        height: info.height,
        frames: actl.num_frames,
        plays: actl.num_plays,
    }))
}

#[cfg(not(target_arch = "wasm32"))]
fn apng_frames(
    input: &[u8],
    limits: &Limits,
    last: Option<usize>,
    each: &mut EachFrame<'_>,
) -> Result<(), Error> {
    let mut reader = apng_reader(input, limits)?;
    let (width, height) = (reader.info().width, reader.info().height);
    crate::engine::probe::check_size(width, height, limits)?;
    let Some(actl) = reader.info().animation_control else {
        return Err(Error::decoder(Format::Png, "the PNG is not animated"));
    };
    // Without an fcTL before IDAT, the IDAT image is a default image outside the animation.
    let skip_default = reader.info().frame_control.is_none();
    let total = actl.num_frames as usize + usize::from(skip_default);
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::decoder(Format::Png, "image too large"))?;
    let mut buf: Vec<u8> = zeroed(size)?;
    let w = width as usize;
    let mut canvas: Vec<u8> = zeroed(w * height as usize * 4)?;
    let mut pending = Pending::default();
    let mut rgba: Vec<u8> = Vec::new();
    let mut index = 0usize;
    for k in 0..total {
        let out = reader.next_frame(&mut buf).map_err(png_error)?;
        if k == 0 && skip_default {
            continue;
        }
        let fc = reader
            .info()
            .frame_control
            .ok_or_else(|| Error::decoder(Format::Png, "an APNG frame has no fcTL"))?;
        // Rows as RGBA whatever the colour type (ALPHA added alpha; grey is widened here).
        let px = (out.width * out.height) as usize;
        rgba.clear();
        match out.color_type {
            png::ColorType::Rgba => rgba.extend_from_slice(&buf[..px * 4]),
            png::ColorType::GrayscaleAlpha => {
                for p in buf[..px * 2].chunks_exact(2) {
                    rgba.extend_from_slice(&[p[0], p[0], p[0], p[1]]);
                }
            }
            other => {
                return Err(Error::decoder(
                    Format::Png,
                    format!("unexpected frame colour type {other:?}"),
                ));
            }
        }
        pending.apply(&mut canvas, w);
        let rect = Rect::clipped(fc.x_offset, fc.y_offset, fc.width, fc.height, width, height);
        let dispose = match fc.dispose_op {
            png::DisposeOp::None => Dispose::Keep,
            png::DisposeOp::Background => Dispose::Background,
            // On the first frame, "previous" means the cleared canvas.
            png::DisposeOp::Previous if index == 0 => Dispose::Background,
            png::DisposeOp::Previous => Dispose::Previous,
        };
        pending.start(rect, dispose, &canvas, w);
        let over = fc.blend_op == png::BlendOp::Over;
        blit(&mut canvas, w, rect, &rgba, out.width as usize, over);
        let den = if fc.delay_den == 0 {
            100
        } else {
            u32::from(fc.delay_den)
        };
        each(&canvas, (u32::from(fc.delay_num) * 1000 + den / 2) / den)?;
        if last == Some(index) {
            return Ok(());
        }
        index += 1;
    }
    if let Some(last) = last {
        return Err(no_such_frame(last, index));
    }
    Ok(())
}

fn no_such_frame(asked: usize, count: usize) -> Error {
    Error::option(
        "frame",
        format!(
            "frame {asked} does not exist: the animation has {count} frames (0..={})",
            count.saturating_sub(1)
        ),
    )
}

#[cfg(feature = "webp")]
fn webp_decoder<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<image_webp::WebPDecoder<std::io::Cursor<&'a [u8]>>, Error> {
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(input))
        .map_err(|e| super::webp::error(input, e))?;
    decoder.set_memory_limit(super::decoder_memory_limit(limits));
    Ok(decoder)
}

#[cfg(feature = "webp")]
fn webp_header(input: &[u8], limits: &Limits) -> Result<Option<Header>, Error> {
    let decoder = webp_decoder(input, limits)?;
    if !decoder.is_animated() {
        return Ok(None);
    }
    let (width, height) = decoder.dimensions();
    Ok(Some(Header {
        width,
        height,
        frames: decoder.num_frames(),
        plays: match decoder.loop_count() {
            image_webp::LoopCount::Forever => 0,
            image_webp::LoopCount::Times(n) => u32::from(n.get()),
        },
    }))
}

#[cfg(feature = "webp")]
fn webp_frames(
    input: &[u8],
    limits: &Limits,
    last: Option<usize>,
    each: &mut EachFrame<'_>,
) -> Result<(), Error> {
    let mut decoder = webp_decoder(input, limits)?;
    let (width, height) = decoder.dimensions();
    crate::engine::probe::check_size(width, height, limits)?;
    let count = decoder.num_frames() as usize;
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| Error::decoder(Format::Webp, "image too large"))?;
    let alpha = decoder.has_alpha();
    let mut buf: Vec<u8> = zeroed(size)?;
    let mut rgba: Vec<u8> = if alpha {
        Vec::new()
    } else {
        zeroed(width as usize * height as usize * 4)?
    };
    for index in 0..count {
        // image-webp composites each frame onto its canvas (blend and dispose included).
        let delay = decoder
            .read_frame(&mut buf)
            .map_err(|e| super::webp::error(input, e))?;
        if alpha {
            each(&buf, delay)?;
        } else {
            for (d, s) in rgba.chunks_exact_mut(4).zip(buf.chunks_exact(3)) {
                d.copy_from_slice(&[s[0], s[1], s[2], 255]);
            }
            each(&rgba, delay)?;
        }
        if last == Some(index) {
            return Ok(());
        }
    }
    if let Some(last) = last {
        return Err(no_such_frame(last, count));
    }
    Ok(())
}
