//! Animated PNG output with the `png` crate's APNG encoder (native builds only): indexed colour
//! with one palette, delays and the play count kept, and only the rectangle that changed stored
//! per frame. Frames blend with "source", so a pixel that turns transparent is simply written
//! transparent, and dispose "none" keeps the canvas for the next frame.

use super::error::Error;
use super::gif_writer::{Area, Sequence, bbox, color_table, crop, draw, table_index};

/// Writes an APNG (`plays` is APNG's `num_plays`).
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
    let (table, transparent) = color_table(palette, has_transparency);
    let index = |code: u16| table_index(code, transparent);
    let mut trns: Vec<u8> = Vec::new();
    if has_transparency {
        trns = vec![255; palette.len()];
        trns.push(0);
    }
    let err = |e: png::EncodingError| Error::Encode(e.to_string());
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(table);
        if has_transparency {
            encoder.set_trns(trns);
        }
        encoder
            .set_animated(frames.len() as u32, plays)
            .map_err(err)?;
        let mut writer = encoder.write_header().map_err(err)?;
        let mut prev = None;
        for (codes, &delay_ms) in frames.iter().zip(delays_ms) {
            let drawn = draw(codes, cols, spans, &index)?;
            let area = match &prev {
                None => Area {
                    x: 0,
                    y: 0,
                    w: w as usize,
                    h: h as usize,
                },
                Some(p) => bbox(p, &drawn, |a, b| a != b).unwrap_or(Area {
                    x: 0,
                    y: 0,
                    w: 1,
                    h: 1,
                }),
            };
            // Moving to the origin first keeps every intermediate frame inside the canvas.
            writer.set_frame_position(0, 0).map_err(err)?;
            writer
                .set_frame_dimension(area.w as u32, area.h as u32)
                .map_err(err)?;
            writer
                .set_frame_position(area.x as u32, area.y as u32)
                .map_err(err)?;
            let (num, den) = match u16::try_from(delay_ms) {
                Ok(ms) => (ms, 1000),
                Err(_) => (u16::try_from(delay_ms / 10).unwrap_or(u16::MAX), 100),
            };
            writer.set_frame_delay(num, den).map_err(err)?;
            writer.set_blend_op(png::BlendOp::Source).map_err(err)?;
            writer.set_dispose_op(png::DisposeOp::None).map_err(err)?;
            writer.write_image_data(&crop(&drawn, area)).map_err(err)?;
            prev = Some(drawn);
        }
        writer.finish().map_err(err)?;
    }
    Ok(out)
}
