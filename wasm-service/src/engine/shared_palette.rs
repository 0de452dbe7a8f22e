//! One adaptive palette for a set of images (a sprite set, a batch), so every output uses the
//! same colours. Each image is cut into its grid with the caller's options; the cells of all of
//! them are pooled and handed to the builder a single image's `--colors N` palette uses
//! (`quantize`), so there is no second quantizer. Images count equally, whatever their size.
//! No I/O: the caller reads the files, possibly in parallel, one [`PaletteSample`] each.

use super::colorspace::Lab;
use super::error::Error;
use super::options::{Colors, Options};
use super::palettes::Palette;
use super::{check, decode, quantize, request};

/// One image's cells as palette points (binned in Oklab, weights summing to 1): what
/// [`shared_palette_from`] needs of it. A few thousand points at most, whatever the image's size,
/// so a caller can keep one per file instead of the files themselves.
#[derive(Debug, Clone, Default)]
pub struct PaletteSample {
    points: Vec<(Lab, f32)>,
}

impl PaletteSample {
    /// Whether the image had no opaque cell (it then adds nothing to the palette).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Checks and decodes `input` onto its grid (every limit in `options.limits` applies, as for
/// [`super::pixelate`]) and returns its palette points.
pub fn palette_sample(input: &[u8], options: &Options) -> Result<PaletteSample, Error> {
    let info = check(input, options)?;
    let cells = decode::decode_to_grid(input, &info, request(options))?;
    Ok(PaletteSample {
        points: quantize::sample_points(&cells, options),
    })
}

/// The palette of at most `options.colors` (`Colors::Count`, 16 by default) colours for all
/// `samples` together. Each sample weighs the same: a set's small sprites keep their colours next
/// to one large background, as each frame of an animation would. With no opaque cell in any
/// sample the palette is black alone (nothing will be matched against it).
///
/// Errors: [`Error::InvalidOption`] when `options.colors` is a fixed palette, levels or full
/// colour (those need no shared palette).
pub fn shared_palette_from(samples: &[PaletteSample], options: &Options) -> Result<Palette, Error> {
    let count = match options.colors {
        Colors::Count(n) => usize::from(n),
        _ => {
            return Err(Error::option(
                "colors",
                "a shared palette is built for a colour count (colors 2..=256); fixed palettes, \
                 levels and full colour are shared already",
            ));
        }
    };
    let pooled: Vec<&[(Lab, f32)]> = samples.iter().map(|s| s.points.as_slice()).collect();
    let mut colors = quantize::pooled_palette(&pooled, count, options);
    if colors.is_empty() {
        colors.push([0, 0, 0]);
    }
    Ok(Palette {
        name: "shared".to_string(),
        colors,
    })
}

/// [`palette_sample`] of every input, then [`shared_palette_from`]; the first input that fails
/// stops it. Then pixelate each input with `Colors::Palette(palette)`.
pub fn shared_palette(inputs: &[&[u8]], options: &Options) -> Result<Palette, Error> {
    let samples = inputs
        .iter()
        .map(|input| palette_sample(input, options))
        .collect::<Result<Vec<_>, _>>()?;
    shared_palette_from(&samples, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Colors, pixelate};

    /// A `w`×`h` RGB PNG of one colour, written with the `png` crate (a dev-dependency).
    fn flat_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        let mut writer = enc.write_header().unwrap();
        let data: Vec<u8> = (0..w * h).flat_map(|_| rgb).collect();
        writer.write_image_data(&data).unwrap();
        drop(writer);
        out
    }

    #[test]
    fn every_input_counts_the_same_and_outputs_use_only_the_shared_colours() {
        // One large red image and one tiny blue one: with 2 colours, both keep their colour.
        let red = flat_png(256, 256, [200, 20, 20]);
        let blue = flat_png(8, 8, [20, 20, 200]);
        let options = Options {
            colors: Colors::Count(2),
            ..Options::default()
        };
        let palette = shared_palette(&[&red, &blue], &options).unwrap();
        assert_eq!(palette.colors.len(), 2, "{palette:?}");
        let mut fixed = options.clone();
        fixed.colors = Colors::Palette(palette.clone());
        for input in [&red, &blue] {
            let out = pixelate(input, &fixed).unwrap();
            for hex in &out.report.palette {
                let c = u32::from_str_radix(&hex[1..], 16).unwrap();
                let rgb = [(c >> 16) as u8, (c >> 8) as u8, c as u8];
                assert!(palette.colors.contains(&rgb), "{hex} not in {palette:?}");
            }
        }
    }

    #[test]
    fn a_fixed_palette_needs_no_shared_one() {
        let mut options = Options::default();
        options.set("palette", "pico-8").unwrap();
        let err = shared_palette(&[], &options).unwrap_err();
        assert_eq!(err.code(), "invalid_option");
        let err = shared_palette(&[b"not an image"], &Options::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
    }
}
