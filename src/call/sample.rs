//! The built-in test picture `call_service` sends when no image is given: 96×64 pixels (a 12×8
//! grid at the default block of 8) with gradients, a disc and hard edges, so a pixelation has
//! something to average and a palette something to choose. Generated, so no file is needed.

/// The sample as PNG bytes (RGB, 8 bits).
pub fn sample_png() -> Vec<u8> {
    const W: u32 = 96;
    const H: u32 = 64;
    let mut pixels = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let (dx, dy) = (x as i32 - 60, y as i32 - 30);
            let rgb = if dx * dx + dy * dy < 18 * 18 {
                [240, 200, 40]
            } else if x < 20 && y > 40 {
                [20, 30, 120]
            } else {
                [(x * 255 / W) as u8, (y * 255 / H) as u8, 128]
            };
            pixels.extend_from_slice(&rgb);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, W, H);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Encoding a fixed in-memory picture into a Vec cannot fail.
    let mut writer = encoder
        .write_header()
        .expect("PNG header for a fixed picture");
    writer
        .write_image_data(&pixels)
        .expect("PNG data for a fixed picture");
    writer.finish().expect("PNG end for a fixed picture");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_is_a_96_by_64_png_the_engine_reads() {
        let info = wasm_service::engine::probe(&super::sample_png()).unwrap();
        assert_eq!((info.width, info.height), (96, 64));
    }
}
