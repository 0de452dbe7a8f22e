//! EXIF orientation applied to the grid instead of the pixels.
//!
//! A decoder hands rows over as they are stored; the picture is meant to be shown turned and/or
//! mirrored (EXIF tag 0x0112, values 1..=8, as JPEG, PNG `eXIf` and WebP `EXIF` carry it). Rather
//! than turning a full-size bitmap (a second copy of it), the grid is laid out on the stored image
//! with the same cell edges the upright picture would have, the sums run in storage order, and
//! only the finished cells are put in display order. So orientation costs nothing per pixel and
//! works for row-streaming decoders too.

use super::grid::Layout;

/// How stored pixels map to the displayed picture, from the EXIF orientation value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Orientation {
    /// Stored rows are displayed columns (EXIF 5..=8).
    transposed: bool,
    /// The stored x axis runs against its display axis.
    mirror_x: bool,
    /// The stored y axis runs against its display axis.
    mirror_y: bool,
}

impl Orientation {
    /// The orientation for an EXIF value; anything outside 1..=8 means upright, as viewers do.
    ///
    /// EXIF 2.32 §4.6.4 (tag 274): 1 upright, 2 mirrored horizontally, 3 turned 180°, 4 mirrored
    /// vertically, 5 transposed, 6 turned 90° clockwise to view, 7 transversed, 8 turned 90°
    /// counter-clockwise to view.
    pub fn from_exif(value: u16) -> Self {
        let (transposed, mirror_x, mirror_y) = match value {
            2 => (false, true, false),
            3 => (false, true, true),
            4 => (false, false, true),
            5 => (true, false, false),
            6 => (true, false, true),
            7 => (true, true, true),
            8 => (true, true, false),
            _ => (false, false, false),
        };
        Orientation {
            transposed,
            mirror_x,
            mirror_y,
        }
    }

    /// The displayed size of a stored `(width, height)` image.
    pub fn display_size(self, stored: (u32, u32)) -> (u32, u32) {
        if self.transposed {
            (stored.1, stored.0)
        } else {
            stored
        }
    }

    /// The cell edges on the stored image that give exactly `display`'s cells once turned.
    /// `display` is laid out on the displayed size.
    pub fn stored_layout(self, display: &Layout) -> Layout {
        let (along_x, along_y) = if self.transposed {
            (&display.ys, &display.xs)
        } else {
            (&display.xs, &display.ys)
        };
        Layout {
            xs: mirrored(along_x, self.mirror_x),
            ys: mirrored(along_y, self.mirror_y),
        }
    }

    /// The display index of the stored cell at (`col`, `row`) of a stored layout with
    /// `cols` × `rows` cells.
    pub fn display_index(self, col: usize, row: usize, cols: usize, rows: usize) -> usize {
        let along_x = if self.mirror_x { cols - 1 - col } else { col };
        let along_y = if self.mirror_y { rows - 1 - row } else { row };
        if self.transposed {
            // Stored columns run down the display, stored rows across it (`rows` display columns).
            along_x * rows + along_y
        } else {
            along_y * cols + along_x
        }
    }
}

/// Edges counted from the other end: for a mirrored axis, the display's first cell is the
/// stored image's last.
fn mirrored(edges: &[u32], mirror: bool) -> Vec<u32> {
    if !mirror {
        return edges.to_vec();
    }
    let len = *edges.last().unwrap_or(&0);
    edges.iter().rev().map(|&e| len - e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::options::Grid;

    /// The reference: the pixel that the displayed (ox, oy) shows, for a stored w×h image, as
    /// turning a bitmap would do it.
    fn stored_pixel(o: u16, ox: usize, oy: usize, w: usize, h: usize) -> (usize, usize) {
        match o {
            2 => (w - 1 - ox, oy),
            3 => (w - 1 - ox, h - 1 - oy),
            4 => (ox, h - 1 - oy),
            5 => (oy, ox),
            6 => (oy, h - 1 - ox),
            7 => (w - 1 - oy, h - 1 - ox),
            8 => (w - 1 - oy, ox),
            _ => (ox, oy),
        }
    }

    #[test]
    fn every_orientation_puts_each_pixel_in_the_cell_a_turned_bitmap_would() {
        let (w, h) = (7usize, 5usize);
        for value in 1..=8u16 {
            let o = Orientation::from_exif(value);
            let (dw, dh) = o.display_size((w as u32, h as u32));
            let display = Layout::new(Grid::Block(3), dw, dh);
            let stored = o.stored_layout(&display);
            let (cols, rows) = (stored.cols() as usize, stored.rows() as usize);
            assert_eq!(cols * rows, (display.cols() * display.rows()) as usize);
            for oy in 0..dh as usize {
                for ox in 0..dw as usize {
                    let (sx, sy) = stored_pixel(value, ox, oy, w, h);
                    let col = stored
                        .xs
                        .windows(2)
                        .position(|e| (e[0]..e[1]).contains(&(sx as u32)));
                    let row = stored
                        .ys
                        .windows(2)
                        .position(|e| (e[0]..e[1]).contains(&(sy as u32)));
                    let got = o.display_index(col.unwrap(), row.unwrap(), cols, rows);
                    let want = (oy / 3) * display.cols() as usize + ox / 3;
                    assert_eq!(got, want, "orientation {value}, display pixel ({ox},{oy})");
                }
            }
        }
    }
}
