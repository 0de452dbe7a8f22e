//! One palette for every frame of an animation, and dithering that holds still where the picture
//! does.
//!
//! The palette is the one a still gets ([`palette_from_points`]), built from every frame's cells
//! pooled together, each weighted by its area and by how long its frame is shown, so colours do
//! not flicker from frame to frame. Each frame is then mapped (and dithered) on its own; ordered
//! dithering depends only on a cell's colour and place, so it is fixed to the canvas already.
//! Error diffusion carries error from changing cells into static ones, so a cell whose source is
//! exactly what it was in the previous frame keeps the previous frame's output: static areas stay
//! identical, whatever the dither.

use super::{
    BitSet, Cells, Codes, Colors, Error, LabCache, Metric, Options, VIVID_CHROMA_WEIGHT, binned,
    map_to_palette, palette_from_points, reduce, sort_by, srgb8_to_oklab,
};

/// Every frame's cells as indices into one palette.
#[derive(Debug, Clone)]
pub(crate) struct FrameCodes {
    /// The colours, darkest first; the whole animation uses each of them somewhere.
    pub palette: Vec<[u8; 3]>,
    /// Per frame, one code per cell: 0 for a transparent cell, `k` for `palette[k - 1]`.
    pub frames: Vec<Vec<u16>>,
    /// Whether some cell of some frame is transparent.
    pub has_transparency: bool,
}

/// Reduces every frame (all on the same grid) with one palette for all of them. `weights` are
/// the frames' display times (any unit); they weigh each frame's cells in the palette.
pub(crate) fn reduce_frames(
    frames: &[Cells],
    weights: &[f32],
    options: &Options,
) -> Result<FrameCodes, Error> {
    // Each cell's output as 0xff_rrggbb, or 0 when transparent.
    let mut packed: Vec<Vec<u32>> = Vec::with_capacity(frames.len());
    let pack =
        |c: [u8; 3]| 0xff00_0000 | u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
    match &options.colors {
        Colors::Count(count) => {
            let threshold = f32::from(options.alpha_threshold);
            let opaques: Vec<BitSet> = frames
                .iter()
                .map(|cells| {
                    let mut opaque = BitSet::new(cells.len());
                    for i in 0..cells.len() {
                        let alpha = cells.get(i).alpha;
                        if alpha > 0.0 && alpha * 255.0 + 0.5 >= threshold {
                            opaque.insert(i);
                        }
                    }
                    opaque
                })
                .collect();
            let has_transparency = frames
                .iter()
                .zip(&opaques)
                .any(|(cells, o)| (0..cells.len()).any(|i| !o.contains(i)));
            // GIF has 256 entries in all, and transparency takes one.
            let n = usize::from(*count).min(256 - usize::from(has_transparency));
            let metric = Metric {
                chroma: if options.vivid {
                    VIVID_CHROMA_WEIGHT
                } else {
                    1.0
                },
            };
            let cache = LabCache::new(srgb8_to_oklab);
            let points = binned(frames.iter().zip(&opaques).zip(weights).flat_map(
                |((cells, opaque), &w)| {
                    let cache = &cache;
                    (0..cells.len())
                        .filter(move |&i| opaque.contains(i))
                        .map(move |i| (metric.lab(cells, i, cache), cells.area(i) * w))
                },
            ));
            let palette = palette_from_points(points, n, metric);
            for (cells, opaque) in frames.iter().zip(&opaques) {
                let lab_of = |i: usize| opaque.contains(i).then(|| metric.lab(cells, i, &cache));
                let cols = cells.layout.cols() as usize;
                let codes = map_to_palette(cells.len(), cols, &lab_of, &palette, metric, options)?;
                packed.push(
                    (0..cells.len())
                        .map(|i| {
                            if opaque.contains(i) {
                                pack(palette[codes.get(i) as usize])
                            } else {
                                0
                            }
                        })
                        .collect(),
                );
            }
        }
        // Fixed palettes and levels are the same colours in every frame already; full colour is
        // each cell's own.
        _ => {
            for cells in frames {
                let q = reduce(cells, options)?;
                if matches!(q.codes, Codes::Truecolor) {
                    return Err(too_many_colours());
                }
                packed.push(
                    (0..cells.len())
                        .map(|i| {
                            if q.opaque.contains(i) {
                                pack(q.palette[q.codes.get(i) as usize])
                            } else {
                                0
                            }
                        })
                        .collect(),
                );
            }
        }
    }

    // Static cells keep the previous frame's output (see the module doc).
    for f in 1..frames.len() {
        let (before, after) = packed.split_at_mut(f);
        let (prev, cur) = (&before[f - 1], &mut after[0]);
        for (i, out) in cur.iter_mut().enumerate() {
            if frames[f].get(i) == frames[f - 1].get(i) {
                *out = prev[i];
            }
        }
    }

    // The palette: every colour used, darkest first (ties by value), as for a still.
    let mut used: Vec<u32> = packed
        .iter()
        .flatten()
        .copied()
        .filter(|&c| c != 0)
        .collect();
    sort_by(&mut used, |a, b| a.cmp(b));
    used.dedup();
    let has_transparency = packed.iter().flatten().any(|&c| c == 0);
    if used.len() + usize::from(has_transparency) > 256 {
        return Err(too_many_colours());
    }
    let unpack = |c: u32| [(c >> 16) as u8, (c >> 8) as u8, c as u8];
    let mut palette: Vec<([u8; 3], f32)> = used
        .iter()
        .map(|&c| (unpack(c), srgb8_to_oklab(unpack(c))[0]))
        .collect();
    sort_by(&mut palette, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = palette.into_iter().map(|(c, _)| c).collect();
    // Code of each used colour, in `used` order (sorted by value) for a binary search.
    let mut code_of: Vec<(u32, u16)> = palette
        .iter()
        .enumerate()
        .map(|(k, &c)| (pack(c), k as u16 + 1))
        .collect();
    sort_by(&mut code_of, |a, b| a.0.cmp(&b.0));
    let frames = packed
        .into_iter()
        .map(|frame| {
            frame
                .into_iter()
                .map(|c| match code_of.binary_search_by(|e| e.0.cmp(&c)) {
                    Ok(at) if c != 0 => code_of[at].1,
                    _ => 0,
                })
                .collect()
        })
        .collect();
    Ok(FrameCodes {
        palette,
        frames,
        has_transparency,
    })
}

fn too_many_colours() -> Error {
    Error::option(
        "colors",
        "an animation keeps at most 256 colours over all its frames (GIF's limit), and this one \
         would have more: ask for a palette size (`colors`, at most 256) or a fixed `palette`",
    )
}
