//! Redrawing a one-pixel-per-cell PNG (what the module answers with `grid=true`) at a given size,
//! each cell a flat rectangle, keeping the PNG's colour type, bit depth, palette and
//! transparency. The gateway uses it after fitting: the module pixelated a reduced copy, and
//! the picture must come back at the source's size exactly as the engine draws `Output::Original`.
//!
//! Only pixel rows are touched; no colour is converted, so the cell colours stay bit-exact.

use std::io::Cursor;

/// Cell spans in output pixels: `widths[c]` pixels for column `c`, `heights[r]` for row `r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans {
    pub widths: Vec<u32>,
    pub heights: Vec<u32>,
}

/// Redraws `grid_png` (one pixel per cell, `widths.len() × heights.len()`) with each cell drawn
/// as a `widths[c] × heights[r]` rectangle.
pub fn redraw(grid_png: &[u8], spans: &Spans) -> Result<Vec<u8>, String> {
    let mut decoder = png::Decoder::new(Cursor::new(grid_png));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("the module's PNG does not decode: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("the module's PNG is too large to redraw")?;
    let mut pixels = vec![0; size];
    let frame = reader
        .next_frame(&mut pixels)
        .map_err(|e| format!("the module's PNG does not decode: {e}"))?;
    let (cols, rows) = (frame.width as usize, frame.height as usize);
    if cols != spans.widths.len() || rows != spans.heights.len() {
        return Err(format!(
            "the module's grid PNG is {cols}x{rows}, expected {}x{} cells",
            spans.widths.len(),
            spans.heights.len()
        ));
    }
    let info = reader.info();
    let bits = frame.bit_depth as usize * frame.color_type.samples();
    let out_w: u32 = spans.widths.iter().sum();
    let out_h: u32 = spans.heights.iter().sum();

    let mut out_rows = Vec::with_capacity(out_h as usize * row_bytes(out_w as usize, bits));
    for (r, &height) in spans.heights.iter().enumerate() {
        let line = &pixels[r * frame.line_size..(r + 1) * frame.line_size];
        let cells = unpack(line, cols, bits);
        let unit = cells.len() / cols.max(1);
        let mut wide = Vec::with_capacity(out_w as usize * unit);
        for (c, &width) in spans.widths.iter().enumerate() {
            for _ in 0..width {
                wide.extend_from_slice(&cells[c * unit..(c + 1) * unit]);
            }
        }
        let packed = pack(&wide, bits);
        for _ in 0..height {
            out_rows.extend_from_slice(&packed);
        }
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, out_w, out_h);
    encoder.set_color(frame.color_type);
    encoder.set_depth(frame.bit_depth);
    if let Some(palette) = &info.palette {
        encoder.set_palette(palette.to_vec());
    }
    if let Some(trns) = &info.trns {
        encoder.set_trns(trns.to_vec());
    }
    // Repeated rows become all-zero under the Up filter (the engine's own choice too).
    encoder.set_filter(png::Filter::Up);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("could not write the redrawn PNG: {e}"))?;
    writer
        .write_image_data(&out_rows)
        .map_err(|e| format!("could not write the redrawn PNG: {e}"))?;
    writer
        .finish()
        .map_err(|e| format!("could not write the redrawn PNG: {e}"))?;
    Ok(out)
}

fn row_bytes(width: usize, bits: usize) -> usize {
    (width * bits).div_ceil(8)
}

/// One scan line into per-pixel units: one byte per pixel below 8 bits, else its bytes.
fn unpack(line: &[u8], width: usize, bits: usize) -> Vec<u8> {
    if bits >= 8 {
        return line[..width * bits / 8].to_vec();
    }
    let per_byte = 8 / bits;
    let mask = (1u8 << bits) - 1;
    (0..width)
        .map(|x| {
            let shift = 8 - bits * (x % per_byte + 1);
            (line[x / per_byte] >> shift) & mask
        })
        .collect()
}

/// The inverse of [`unpack`] for a whole line.
fn pack(units: &[u8], bits: usize) -> Vec<u8> {
    if bits >= 8 {
        return units.to_vec();
    }
    let per_byte = 8 / bits;
    units
        .chunks(per_byte)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |byte, (i, &v)| byte | (v << (8 - bits * (i + 1))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexed_png(width: u32, height: u32, depth: png::BitDepth, rows: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(depth);
        encoder.set_palette(vec![0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
        encoder.set_trns(vec![0u8]);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(rows).unwrap();
        writer.finish().unwrap();
        out
    }

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>, png::BitDepth, Option<Vec<u8>>) {
        let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
        decoder.set_transformations(png::Transformations::IDENTITY);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        buf.truncate(frame.buffer_size());
        let trns = reader.info().trns.as_ref().map(|t| t.to_vec());
        (frame.width, frame.height, buf, frame.bit_depth, trns)
    }

    #[test]
    fn two_bit_cells_become_rectangles_with_partial_last_cells() {
        // 3x2 cells, 2-bit indices: row 0 = [1,2,3], row 1 = [0,1,2].
        let grid = indexed_png(3, 2, png::BitDepth::Two, &[0b01_10_11_00, 0b00_01_10_00]);
        let spans = Spans {
            widths: vec![4, 4, 2],
            heights: vec![4, 1],
        };
        let out = redraw(&grid, &spans).unwrap();
        let (w, h, data, depth, trns) = decode(&out);
        assert_eq!((w, h, depth), (10, 5, png::BitDepth::Two));
        assert_eq!(trns, Some(vec![0]), "transparency kept");
        let rows: Vec<Vec<u8>> = data.chunks(3).map(|r| unpack(r, 10, 2)).collect();
        assert_eq!(rows[0], vec![1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
        assert_eq!(rows[3], rows[0]);
        assert_eq!(rows[4], vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn a_grid_of_the_wrong_size_is_refused() {
        let grid = indexed_png(1, 1, png::BitDepth::Eight, &[1]);
        let spans = Spans {
            widths: vec![2, 2],
            heights: vec![2],
        };
        assert!(redraw(&grid, &spans).unwrap_err().contains("expected 2x1"));
    }

    #[test]
    fn pack_inverts_unpack() {
        let line = [0b1011_0010, 0b0111_0000];
        assert_eq!(
            pack(&unpack(&line, 3, 4), 4),
            vec![0b1011_0010, 0b0111_0000]
        );
    }
}
