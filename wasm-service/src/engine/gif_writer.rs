//! Animated GIF output with the `gif` crate's encoder: one global palette, frame delays and the
//! loop count kept, transparency kept, and only the rectangle that changed stored per frame.
//!
//! Frames are drawn (nearest-neighbour, like the PNG output) one at a time, and each is written
//! once the next is known: a pixel that turns transparent cannot be drawn over with GIF's "keep"
//! disposal, so the frame before it is then disposed "to background" over a rectangle that covers
//! those pixels, and the next frame redraws that rectangle in full.

use super::encode::Spans;
use super::error::{Error, zeroed};

/// One frame drawn at the output size: a palette index per pixel.
pub(crate) struct Drawn {
    pub pixels: Vec<u8>,
    pub width: usize,
}

/// A rectangle of output pixels: x, y, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl Area {
    pub fn union(self, other: Option<Area>) -> Area {
        let Some(o) = other else { return self };
        let (x, y) = (self.x.min(o.x), self.y.min(o.y));
        let right = (self.x + self.w).max(o.x + o.w);
        let bottom = (self.y + self.h).max(o.y + o.h);
        Area {
            x,
            y,
            w: right - x,
            h: bottom - y,
        }
    }
}

/// Draws one frame's cell codes (0 transparent, `k` palette entry `k - 1`) at the output size:
/// `index(code)` is the pixel value for a code.
pub(crate) fn draw(
    codes: &[u16],
    cols: usize,
    spans: &Spans,
    index: &dyn Fn(u16) -> u8,
) -> Result<Drawn, Error> {
    let (w, h) = spans.size();
    let (w, h) = (w as usize, h as usize);
    let mut pixels: Vec<u8> = zeroed(w * h)?;
    let mut y = 0;
    for (r, &rh) in spans.heights.iter().enumerate() {
        let start = y * w;
        let mut x = 0;
        for (c, &cw) in spans.widths.iter().enumerate() {
            let v = index(codes[r * cols + c]);
            pixels[start + x..start + x + cw as usize].fill(v);
            x += cw as usize;
        }
        for k in 1..rh as usize {
            pixels.copy_within(start..start + w, start + k * w);
        }
        y += rh as usize;
    }
    Ok(Drawn { pixels, width: w })
}

/// The bounding box of the pixels where `keep(before, after)` is true, if any.
pub(crate) fn bbox(prev: &Drawn, cur: &Drawn, keep: impl Fn(u8, u8) -> bool) -> Option<Area> {
    let w = cur.width;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (y, (a, b)) in prev
        .pixels
        .chunks_exact(w)
        .zip(cur.pixels.chunks_exact(w))
        .enumerate()
    {
        if a == b {
            continue;
        }
        for x in 0..w {
            if keep(a[x], b[x]) {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    (x0 != usize::MAX).then(|| Area {
        x: x0,
        y: y0,
        w: x1 - x0 + 1,
        h: y1 - y0 + 1,
    })
}

/// The pixels of `area` in `drawn`, row by row.
pub(crate) fn crop(drawn: &Drawn, area: Area) -> Vec<u8> {
    let mut out = Vec::with_capacity(area.w * area.h);
    for y in area.y..area.y + area.h {
        let at = y * drawn.width + area.x;
        out.extend_from_slice(&drawn.pixels[at..at + area.w]);
    }
    out
}

/// A frame delay in GIF's hundredths of a second: rounded, but never 0 for a frame that had a
/// delay (browsers show a 0 delay for about 100 ms), capped at 655.35 s.
pub(crate) fn delay_cs(ms: u32) -> u16 {
    match ms {
        0 => 0,
        ms => u16::try_from(((ms + 5) / 10).max(1)).unwrap_or(u16::MAX),
    }
}

/// The colour table both animation writers store, as RGB triples: the palette, then a black
/// entry for transparent cells when there are any (never empty: a table needs one entry); and
/// the index of that transparent entry (only meaningful with transparency, then ≤ 255).
pub(crate) fn color_table(palette: &[[u8; 3]], has_transparency: bool) -> (Vec<u8>, u8) {
    let mut table: Vec<u8> = palette.iter().flatten().copied().collect();
    if has_transparency || table.is_empty() {
        table.extend_from_slice(&[0, 0, 0]);
    }
    (table, palette.len() as u8)
}

/// A cell code's index in [`color_table`]: code 0 is transparent, `k` is `palette[k - 1]`.
pub(crate) fn table_index(code: u16, transparent: u8) -> u8 {
    if code == 0 {
        transparent
    } else {
        (code - 1) as u8
    }
}

/// A GIF frame waiting for the next one (which may change its area and disposal).
struct Pending {
    drawn: Drawn,
    area: Area,
    delay_ms: u32,
    background: bool,
}

/// An animation ready to encode, as both animation writers take it.
#[derive(Clone, Copy)]
pub(crate) struct Sequence<'a> {
    /// Frame `f`'s cell codes, row-major on a `cols`-wide grid: 0 transparent, `k` for
    /// `palette[k - 1]`.
    pub frames: &'a [Vec<u16>],
    pub cols: usize,
    /// How cells are drawn at the output size.
    pub spans: &'a Spans,
    pub palette: &'a [[u8; 3]],
    /// Whether some cell of some frame is transparent (code 0).
    pub has_transparency: bool,
    /// Each frame's display time in milliseconds.
    pub delays_ms: &'a [u32],
    /// How many times it plays in all: 0 forever.
    pub plays: u32,
}

/// Writes an animated GIF; `plays` 1 writes no loop extension, `n` stores `n - 1` repeats
/// (capped at 65,535), 0 loops forever.
pub(crate) fn write(sequence: &Sequence<'_>) -> Result<Vec<u8>, Error> {
    let Sequence {
        frames,
        cols,
        spans,
        palette,
        has_transparency,
        delays_ms,
        plays,
    } = *sequence;
    let (w, h) = spans.size();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(Error::Encode(format!(
            "a GIF is at most 65535 pixels on a side, and this one would be {w}x{h}: ask for a \
             smaller `scale` or the grid itself (`grid`)"
        )));
    };
    let (table, transparent) = color_table(palette, has_transparency);
    let index = |code: u16| table_index(code, transparent);
    let encode_err = |e: gif::EncodingError| Error::Encode(e.to_string());
    let mut encoder = gif::Encoder::new(Vec::new(), w16, h16, &table).map_err(encode_err)?;
    if plays != 1 {
        let repeat = match plays {
            0 => gif::Repeat::Infinite,
            n => gif::Repeat::Finite(u16::try_from(n - 1).unwrap_or(u16::MAX)),
        };
        encoder.set_repeat(repeat).map_err(encode_err)?;
    }
    let trns = has_transparency.then_some(transparent);
    let mut emit = |p: &Pending| -> Result<(), Error> {
        let frame = gif::Frame {
            delay: delay_cs(p.delay_ms),
            dispose: if p.background {
                gif::DisposalMethod::Background
            } else {
                gif::DisposalMethod::Keep
            },
            transparent: trns,
            left: p.area.x as u16,
            top: p.area.y as u16,
            width: p.area.w as u16,
            height: p.area.h as u16,
            buffer: std::borrow::Cow::Owned(crop(&p.drawn, p.area)),
            ..gif::Frame::default()
        };
        encoder.write_frame(&frame).map_err(encode_err)
    };

    let full = Area {
        x: 0,
        y: 0,
        w: w as usize,
        h: h as usize,
    };
    let mut pending: Option<Pending> = None;
    for (codes, &delay_ms) in frames.iter().zip(delays_ms) {
        let drawn = draw(codes, cols, spans, &index)?;
        let area = match pending.as_mut() {
            None => full,
            Some(prev) => {
                let changed = bbox(&prev.drawn, &drawn, |a, b| a != b);
                let cleared = bbox(&prev.drawn, &drawn, |a, b| {
                    has_transparency && a != transparent && b == transparent
                });
                match cleared {
                    // The previous frame clears an area covering the pixels that turn
                    // transparent; this one redraws all of that area.
                    Some(cleared) => {
                        prev.area = prev.area.union(Some(cleared));
                        prev.background = true;
                        prev.area.union(changed)
                    }
                    // Nothing changed: one unchanged pixel keeps the frame (and its delay).
                    None => changed.unwrap_or(Area {
                        x: 0,
                        y: 0,
                        w: 1,
                        h: 1,
                    }),
                }
            }
        };
        if let Some(prev) = pending.take() {
            emit(&prev)?;
        }
        pending = Some(Pending {
            drawn,
            area,
            delay_ms,
            background: false,
        });
    }
    if let Some(last) = pending.take() {
        emit(&last)?;
    }
    encoder.into_inner().map_err(encode_err)
}
