//! The engine end to end on the bundled photos and on synthetic images, graded by an independent
//! decoder (`image`) and an independent linear-light box reference written here.

use std::collections::{BTreeMap, BTreeSet};

use image::{DynamicImage, ImageFormat, RgbaImage};
use sha2::{Digest, Sha256};
use wasm_service::engine::{self, Colors, Options, palettes};

#[path = "engine/pixel_art.rs"]
mod pixel_art;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path} is missing: {e}"))
}

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

fn run(input: &[u8], pairs: &[(&str, &str)]) -> (RgbaImage, engine::Report, Vec<u8>) {
    let out = engine::pixelate(input, &options(pairs)).unwrap();
    let img = image::load_from_memory_with_format(&out.png, ImageFormat::Png)
        .expect("the engine's PNG decodes with the image crate")
        .to_rgba8();
    assert_eq!(
        (img.width(), img.height()),
        (out.report.output_width, out.report.output_height)
    );
    (img, out.report, out.png)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn distinct(img: &RgbaImage) -> BTreeSet<[u8; 4]> {
    img.pixels().map(|p| p.0).collect()
}

// ---- an independent reference: linear-light, premultiplied box means, in f64 ----

fn to_linear(v: u8) -> f64 {
    let c = f64::from(v) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn oklab(rgb: [f64; 3]) -> [f64; 3] {
    let [r, g, b] = rgb;
    let l = (0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b).cbrt();
    let m = (0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b).cbrt();
    let s = (0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b).cbrt();
    [
        0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
        1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
        0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s,
    ]
}

fn srgb_oklab(p: [u8; 4]) -> [f64; 3] {
    oklab([to_linear(p[0]), to_linear(p[1]), to_linear(p[2])])
}

/// Box means of `block`-pixel squares in linear light, as Oklab; `None` for fully transparent.
fn reference_grid(src: &RgbaImage, block: u32) -> Vec<Option<[f64; 3]>> {
    let (gw, gh) = (src.width().div_ceil(block), src.height().div_ceil(block));
    let mut grid = Vec::new();
    for gy in 0..gh {
        for gx in 0..gw {
            let (mut sum, mut alpha) = ([0.0f64; 3], 0.0f64);
            for y in gy * block..((gy + 1) * block).min(src.height()) {
                for x in gx * block..((gx + 1) * block).min(src.width()) {
                    let p = src.get_pixel(x, y).0;
                    let a = f64::from(p[3]) / 255.0;
                    for k in 0..3 {
                        sum[k] += to_linear(p[k]) * a;
                    }
                    alpha += a;
                }
            }
            grid.push((alpha > 0.0).then(|| oklab(sum.map(|s| s / alpha))));
        }
    }
    grid
}

/// Mean and 95th-percentile Oklab distance (×100, roughly ΔE units) of a grid against the reference.
fn fidelity(src: &RgbaImage, grid: &RgbaImage, block: u32) -> (f64, f64) {
    let reference = reference_grid(src, block);
    let mut errors: Vec<f64> = reference
        .iter()
        .zip(grid.pixels())
        .filter_map(|(r, p)| {
            let r = (*r)?;
            let o = srgb_oklab(p.0);
            Some(
                100.0
                    * ((r[0] - o[0]).powi(2) + (r[1] - o[1]).powi(2) + (r[2] - o[2]).powi(2))
                        .sqrt(),
            )
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    (mean, errors[errors.len() * 95 / 100])
}

#[test]
fn every_block_is_flat_and_the_grid_is_exact() {
    let src = fixture("chelsea.png"); // 451×300: partial last column (451 = 56·8 + 3) and row (300 = 37·8 + 4)
    let (img, report, _) = run(&src, &[("block", "8")]);
    assert_eq!((report.grid_width, report.grid_height), (57, 38));
    assert_eq!((img.width(), img.height()), (451, 300));
    for gy in 0..38 {
        for gx in 0..57 {
            let first = img.get_pixel(gx * 8, gy * 8);
            for y in gy * 8..((gy + 1) * 8).min(300) {
                for x in gx * 8..((gx + 1) * 8).min(451) {
                    assert_eq!(
                        img.get_pixel(x, y),
                        first,
                        "block ({gx},{gy}) is not flat at ({x},{y})"
                    );
                }
            }
        }
    }
}

#[test]
fn palettes_never_exceed_the_requested_size_and_every_entry_is_used() {
    let src = fixture("astronaut.png");
    for n in [2u16, 5, 16, 64, 256] {
        let (img, report, png) = run(
            &src,
            &[("block", "4"), ("colors", &n.to_string()), ("grid", "true")],
        );
        let used = distinct(&img);
        assert!(
            used.len() <= n as usize,
            "{n} colours asked, {} used",
            used.len()
        );
        assert_eq!(
            used.len(),
            report.palette.len(),
            "the report lists exactly the used colours"
        );
        // The PNG's own palette has no unused entry either.
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        let plte = reader
            .info()
            .palette
            .as_ref()
            .expect("indexed output")
            .len()
            / 3;
        assert_eq!(
            plte,
            used.len(),
            "PLTE has {plte} entries for {} used colours",
            used.len()
        );
    }
}

#[test]
fn fidelity_against_a_linear_light_box_reference() {
    let src_bytes = fixture("astronaut.png");
    let src = image::load_from_memory(&src_bytes).unwrap().to_rgba8();
    let mut by_colors = BTreeMap::new();
    for n in [4u16, 16, 64] {
        let (grid, _, _) = run(
            &src_bytes,
            &[("block", "8"), ("colors", &n.to_string()), ("grid", "true")],
        );
        by_colors.insert(n, fidelity(&src, &grid, 8));
    }
    let (full, _, _) = run(
        &src_bytes,
        &[("block", "8"), ("colors", "full"), ("grid", "true")],
    );
    let (full_mean, full_p95) = fidelity(&src, &full, 8);
    // Without a palette, the only error is 8-bit rounding: the averaging itself must be right.
    assert!(
        full_mean < 0.3 && full_p95 < 0.5,
        "full colour: mean {full_mean:.3}, p95 {full_p95:.3}"
    );
    let (m16, p16) = by_colors[&16];
    assert!(
        m16 < 4.0 && p16 < 8.0,
        "16 colours: mean {m16:.2}, p95 {p16:.2}"
    );
    assert!(
        by_colors[&64].0 < m16 && m16 < by_colors[&4].0,
        "error must fall as colours rise: {by_colors:?}"
    );
}

#[test]
fn fixed_palettes_and_levels_only_use_their_colours() {
    let src = fixture("coffee.png");
    for name in palettes::names() {
        let (img, _, _) = run(&src, &[("palette", name), ("dither", "bayer4")]);
        let allowed: BTreeSet<[u8; 3]> =
            palettes::find(name).unwrap().colors().into_iter().collect();
        for c in distinct(&img) {
            assert!(
                allowed.contains(&[c[0], c[1], c[2]]),
                "{name}: {c:?} is not in the palette"
            );
        }
    }
    for levels in [2u8, 3, 4, 8] {
        let (img, _, _) = run(
            &src,
            &[
                ("levels", &levels.to_string()),
                ("dither", "floyd-steinberg"),
            ],
        );
        let step = 255.0 / f64::from(levels - 1);
        for c in distinct(&img) {
            for v in &c[..3] {
                let k = (f64::from(*v) / step).round();
                assert!(
                    (k * step - f64::from(*v)).abs() <= 0.5,
                    "{v} is not a level of {levels}"
                );
            }
        }
    }
}

#[test]
fn alpha_is_binary_and_transparent_pixels_do_not_pull_the_palette() {
    // Left half: invisible pure red (alpha 0). Right half: opaque blue and green stripes.
    let mut img = RgbaImage::new(64, 32);
    for (x, y, p) in img.enumerate_pixels_mut() {
        p.0 = if x < 32 {
            [255, 0, 0, 0]
        } else if y % 16 < 8 {
            [0, 0, 255, 255]
        } else {
            [0, 200, 0, 255]
        };
    }
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    let (out, report, _) = run(&png, &[("block", "8"), ("colors", "4")]);
    assert!(report.transparent);
    for p in out.pixels() {
        assert!(
            p.0[3] == 0 || p.0[3] == 255,
            "alpha {} is not binary",
            p.0[3]
        );
        assert!(
            p.0[3] == 0 || p.0[0] < 40,
            "a red-ish colour {:?} leaked from transparent pixels",
            p.0
        );
    }
    assert!(
        out.pixels().take(32).all(|p| p.0[3] == 0),
        "fully transparent blocks stay transparent"
    );

    // A silhouette with a soft outline: alpha stays binary and the threshold moves the edge.
    let horse = fixture("horse-transparent.png");
    let (strict, _, _) = run(&horse, &[("block", "8"), ("alpha_threshold", "250")]);
    let (loose, _, _) = run(&horse, &[("block", "8"), ("alpha_threshold", "10")]);
    let opaque = |i: &RgbaImage| i.pixels().filter(|p| p.0[3] == 255).count();
    assert!(opaque(&strict) < opaque(&loose));
    assert!(distinct(&strict).iter().all(|p| p[3] == 0 || p[3] == 255));
}

/// An image with no cell opaque enough (fully transparent, or faint everywhere) pixelates to a
/// fully transparent picture in every colour mode (adaptive palettes used to index an empty
/// palette and panic).
#[test]
fn an_image_with_no_opaque_cell_gives_a_transparent_picture_in_every_mode() {
    let faint = |alpha: u8| {
        let img = RgbaImage::from_pixel(16, 16, image::Rgba([200, 0, 0, alpha]));
        encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png)
    };
    let modes: &[&[(&str, &str)]] = &[
        &[],
        &[("colors", "full")],
        &[("palette", "pico-8")],
        &[("levels", "4")],
        &[("dither", "floyd-steinberg")],
        &[("dither", "bayer4"), ("colors", "4")],
        &[("width", "1")],
    ];
    for input in [faint(0), faint(100)] {
        for &mode in modes {
            let (img, report, _) = run(&input, mode);
            assert!(img.pixels().all(|p| p[3] == 0), "{mode:?}");
            assert!(report.transparent && report.colors_used == 0, "{mode:?}");
        }
    }
}

#[test]
fn output_size_options() {
    let src = fixture("coffee.png"); // 600×400
    let (_, r, _) = run(&src, &[("block", "10"), ("grid", "true")]);
    assert_eq!((r.output_width, r.output_height), (60, 40));
    let (_, r, _) = run(&src, &[("block", "10"), ("scale", "3")]);
    assert_eq!((r.output_width, r.output_height), (180, 120));
    let (_, r, _) = run(&src, &[("width", "64")]);
    assert_eq!((r.grid_width, r.grid_height), (64, 43));
    assert_eq!((r.output_width, r.output_height), (64 * 9, 43 * 9));
}

#[test]
fn every_supported_format_decodes_and_agrees_with_png() {
    let src = image::load_from_memory(&fixture("chelsea.png")).unwrap();
    let reference = run(
        &encode(&src, ImageFormat::Png),
        &[("block", "6"), ("colors", "full"), ("grid", "true")],
    )
    .0;
    let mut formats = vec![ImageFormat::Bmp, ImageFormat::Gif, ImageFormat::Jpeg];
    // The deployed module is built without WebP (see Cargo.toml); the workspace build has it.
    if cfg!(feature = "webp") {
        formats.push(ImageFormat::WebP);
    }
    for format in formats {
        let bytes = encode(
            &if format == ImageFormat::Jpeg {
                DynamicImage::ImageRgb8(src.to_rgb8())
            } else {
                src.clone()
            },
            format,
        );
        let (grid, report, _) = run(
            &bytes,
            &[("block", "6"), ("colors", "full"), ("grid", "true")],
        );
        assert_eq!(
            (report.source_width, report.source_height),
            (451, 300),
            "{format:?}"
        );
        // Lossless formats match exactly; GIF (256-colour) and JPEG (lossy) closely.
        let diff = grid
            .pixels()
            .zip(reference.pixels())
            .map(|(a, b)| {
                (0..3)
                    .map(|k| (i32::from(a.0[k]) - i32::from(b.0[k])).abs())
                    .max()
                    .unwrap()
            })
            .sum::<i32>() as f64
            / f64::from(grid.width() * grid.height());
        let bound = match format {
            ImageFormat::Bmp | ImageFormat::WebP => 0.0,
            _ => 6.0,
        };
        assert!(
            diff <= bound,
            "{format:?}: mean channel difference {diff:.2} > {bound}"
        );
    }
}

#[test]
fn jpeg_exif_orientation_is_honoured() {
    let src = DynamicImage::ImageRgb8(
        image::load_from_memory(&fixture("coffee.png"))
            .unwrap()
            .to_rgb8(),
    );
    let jpeg = encode(&src, ImageFormat::Jpeg);
    // Insert an APP1 Exif segment (orientation 6: rotate 90° clockwise) right after SOI.
    let tiff = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(tiff);
    let rotated: Vec<u8> = [&jpeg[..2], &app1[..], &jpeg[2..]].concat();
    let (_, r, _) = run(&rotated, &[("block", "8")]);
    assert_eq!(
        (r.output_width, r.output_height),
        (400, 600),
        "portrait after orientation 6"
    );
    let (_, r, _) = run(&jpeg, &[("block", "8")]);
    assert_eq!((r.output_width, r.output_height), (600, 400));
}

#[test]
fn jpeg_decodes_at_full_size_unless_a_fast_dct_scale_is_asked_for() {
    let jpeg = fixture("rocket.jpg");
    let (_, full, _) = run(&jpeg, &[("block", "8")]);
    assert_eq!(full.decode_scale, 1);
    let fast = |block: &str| run(&jpeg, &[("block", block), ("dct_scale", "fast")]).1;
    let (r8, r12, r5) = (fast("8"), fast("12"), fast("5"));
    assert_eq!(
        (r8.decode_scale, r12.decode_scale, r5.decode_scale),
        (8, 4, 1)
    );
    for r in [&full, &r8] {
        assert_eq!((r.grid_width, r.grid_height), (80, 54));
        assert_eq!((r.output_width, r.output_height), (640, 427));
    }
}

#[test]
fn every_bad_input_gets_its_own_clear_error() {
    let png = fixture("coffee.png");
    let mut zero = png[..33].to_vec();
    zero[16..20].copy_from_slice(&0u32.to_be_bytes());
    let mut bomb = png[..33].to_vec();
    bomb[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    // An indexed PNG whose palette is 13 bytes (the `png` crate panicked on it natively).
    let mut odd_palette = Vec::new();
    {
        let mut e = png::Encoder::new(&mut odd_palette, 4, 4);
        e.set_color(png::ColorType::Indexed);
        e.set_palette(vec![9u8; 12]);
        e.write_header()
            .unwrap()
            .write_image_data(&[0u8; 16])
            .unwrap();
    }
    let plte = odd_palette.windows(4).position(|w| w == b"PLTE").unwrap() - 4;
    let mut chunk = 13u32.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"PLTE");
    chunk.extend_from_slice(&[9u8; 13]);
    let crc_input = [&b"PLTE"[..], &[9u8; 13]].concat();
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &crc_input {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    chunk.extend_from_slice(&(!crc).to_be_bytes());
    odd_palette.splice(plte..plte + 12 + 12, chunk);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty_input"),
        (
            "garbage",
            b"this is not an image at all".to_vec(),
            "unsupported_format",
        ),
        (
            "tiff",
            b"II*\0\x08\0\0\0\0\0".to_vec(),
            "unsupported_format",
        ),
        ("truncated png", png[..png.len() / 2].to_vec(), "truncated"),
        ("png header only", png[..40].to_vec(), "truncated"),
        ("zero-size png", zero, "zero_size"),
        ("bomb png", bomb, "too_many_pixels"),
        ("13-byte palette", odd_palette, "malformed"),
        (
            "truncated jpeg",
            fixture("rocket.jpg")[..5000].to_vec(),
            "truncated",
        ),
    ];
    for (what, bytes, code) in cases {
        let err = engine::pixelate(&bytes, &Options::default()).expect_err(what);
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(
            err.to_string().len() > 20,
            "{what}: message too terse: {err}"
        );
    }
    let small = Options {
        limits: engine::Limits {
            max_pixels: 1000,
            max_input_bytes: 10 << 20,
            ..engine::Limits::default()
        },
        ..Options::default()
    };
    assert_eq!(
        engine::pixelate(&png, &small).unwrap_err().code(),
        "too_many_pixels"
    );
}

#[test]
fn same_input_and_options_give_identical_bytes() {
    let src = fixture("astronaut.png");
    for pairs in [
        &[("colors", "16")][..],
        &[("dither", "floyd-steinberg"), ("palette", "pico-8")][..],
    ] {
        let a = engine::pixelate(&src, &options(pairs)).unwrap().png;
        let b = engine::pixelate(&src, &options(pairs)).unwrap().png;
        assert_eq!(a, b);
    }
}

/// Golden hashes: any change to the output bytes for these fixed cases must be deliberate.
/// `PIXELSMITH_BLESS=1` rewrites `tests/golden/hashes.txt` and then fails on purpose.
#[test]
fn golden_hashes() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("astronaut.png", &[]),
        (
            "astronaut.png",
            &[("width", "48"), ("palette", "pico-8"), ("dither", "bayer4")],
        ),
        (
            "coffee.png",
            &[
                ("block", "10"),
                ("colors", "16"),
                ("dither", "floyd-steinberg"),
            ],
        ),
        (
            "chelsea.png",
            &[("block", "6"), ("levels", "4"), ("scale", "2")],
        ),
        (
            "horse-transparent.png",
            &[
                ("block", "8"),
                ("palette", "game-boy"),
                ("dither", "atkinson"),
            ],
        ),
        (
            "rocket.jpg",
            &[("block", "8"), ("colors", "32"), ("grid", "true")],
        ),
    ];
    let mut lines = String::new();
    for (file, pairs) in cases {
        let png = engine::pixelate(&fixture(file), &options(pairs))
            .unwrap()
            .png;
        let hash: String = Sha256::digest(&png)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push_str(&format!(
            "{file} {} {hash}\n",
            if key.is_empty() {
                "-".into()
            } else {
                key.join("&")
            }
        ));
    }
    let path = format!("{}/tests/golden/hashes.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("PIXELSMITH_BLESS").is_some() {
        std::fs::write(&path, &lines).unwrap();
        panic!("rewrote {path}; run again without PIXELSMITH_BLESS");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == lines,
        "output bytes changed.\n--- expected ({path})\n{expected}--- actual\n{lines}(bless with PIXELSMITH_BLESS=1 if intended)"
    );
}

#[test]
fn colors_option_is_respected_for_tiny_and_flat_images() {
    // A one-colour image gives a one-colour palette, whatever was asked.
    let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        10,
        10,
        image::Rgb([12, 34, 56]),
    ));
    let (out, report, _) = run(&encode(&img, ImageFormat::Png), &[("colors", "16")]);
    assert_eq!(report.palette, vec!["#0c2238".to_string()]);
    assert_eq!(distinct(&out).len(), 1);
    assert!(matches!(
        options(&[("colors", "7")]).colors,
        Colors::Count(7)
    ));
}

#[test]
fn vivid_keeps_small_saturated_details() {
    // Astronaut at 16 colours: the flag and the mission badge are small and saturated; an
    // error-minimising palette spends its entries on the large orange, grey and skin areas. Score:
    // how much chroma the most saturated 5 % of cells (by the reference) lose.
    let src_bytes = fixture("astronaut.png");
    let src = image::load_from_memory(&src_bytes).unwrap().to_rgba8();
    let reference = reference_grid(&src, 8);
    let chroma = |lab: [f64; 3]| lab[1].hypot(lab[2]);
    let mut by_chroma: Vec<usize> = (0..reference.len()).collect();
    by_chroma
        .sort_by(|&a, &b| chroma(reference[b].unwrap()).total_cmp(&chroma(reference[a].unwrap())));
    let top = &by_chroma[..reference.len() / 20];
    let loss = |vivid: &str| {
        let (grid, _, _) = run(
            &src_bytes,
            &[
                ("block", "8"),
                ("colors", "16"),
                ("grid", "true"),
                ("vivid", vivid),
            ],
        );
        let pixels: Vec<[u8; 4]> = grid.pixels().map(|p| p.0).collect();
        top.iter()
            .map(|&i| chroma(reference[i].unwrap()) - chroma(srgb_oklab(pixels[i])))
            .sum::<f64>()
            / top.len() as f64
    };
    let (plain, vivid) = (loss("false"), loss("true"));
    assert!(
        vivid < plain * 0.8,
        "chroma lost on the most saturated cells: vivid {vivid:.4}, plain {plain:.4}"
    );
}

/// A logo-like picture (white ground, a blue block, a brown block) with PICO-8 and error
/// diffusion or Bayer: each flat fill comes out as one palette colour, with no dither dots
/// (issue 10; Bayer drew the fills as patterns and a near-white UI background with grey dots).
#[test]
fn flat_fills_stay_one_colour_under_dithering_with_a_fixed_palette() {
    let img = RgbaImage::from_fn(96, 64, |x, y| {
        image::Rgba(match (x, y) {
            (8..40, 8..56) => [0x1f, 0x5f, 0xbf, 255], // between navy, lavender and light blue
            (56..88, 8..56) => [0x78, 0x48, 0x28, 255], // between rust and warm grey
            _ => [255, 255, 255, 255],
        })
    });
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    for dither in ["floyd-steinberg", "atkinson", "bayer4"] {
        let (out, _, _) = run(
            &png,
            &[("block", "4"), ("palette", "pico-8"), ("dither", dither)],
        );
        for (x0, x1) in [(8, 40), (56, 88)] {
            let mut fill = BTreeSet::new();
            for y in (8..56).step_by(4) {
                for x in (x0..x1).step_by(4) {
                    fill.insert(out.get_pixel(x, y).0);
                }
            }
            assert_eq!(fill.len(), 1, "{dither}: the fill at x {x0}.. has {fill:?}");
        }
        let ground: BTreeSet<[u8; 4]> = (0..96).step_by(4).map(|x| out.get_pixel(x, 0).0).collect();
        assert_eq!(ground.len(), 1, "{dither}: the ground has {ground:?}");
    }
}

/// A flat brown with the Game Boy's four greens is far from every entry (34 ΔE) and about as far
/// from every mix of two of them, so a pattern would show nothing of it: the fill stays one green
/// under error diffusion (it was a two-green pattern of stray cells).
#[test]
fn a_flat_colour_no_mix_can_show_stays_its_nearest_entry() {
    let img = RgbaImage::from_fn(64, 64, |x, y| {
        image::Rgba(match (x, y) {
            (8..56, 8..56) => [0x78, 0x48, 0x28, 255],
            _ => [255, 255, 255, 255],
        })
    });
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    for dither in ["floyd-steinberg", "atkinson"] {
        let (out, _, _) = run(
            &png,
            &[("block", "4"), ("palette", "game-boy"), ("dither", dither)],
        );
        let fill: BTreeSet<[u8; 4]> = (8..56)
            .step_by(4)
            .flat_map(|y| (8..56).step_by(4).map(move |x| (x, y)))
            .map(|(x, y)| out.get_pixel(x, y).0)
            .collect();
        assert_eq!(fill.len(), 1, "{dither}: the brown fill has {fill:?}");
    }
}

/// A slow sky gradient (its 8-bit values change every few cells, so runs of cells share one
/// colour) is a gradient, not a fill: error diffusion patterns it with PICO-8 (it came out one
/// solid blue but for 4 of 256 rows), while a fill beside it stays one colour.
#[test]
fn a_slow_gradient_is_dithered_while_a_fill_stays_flat() {
    let img = RgbaImage::from_fn(256, 512, |x, y| {
        if x >= 192 {
            return image::Rgba([0x1f, 0x5f, 0xbf, 255]);
        }
        let t = y as f32 / 511.0;
        let mix = |a: f32, b: f32| (a + (b - a) * t).round() as u8;
        image::Rgba([mix(90.0, 150.0), mix(140.0, 190.0), mix(200.0, 230.0), 255])
    });
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    for dither in ["floyd-steinberg", "atkinson"] {
        let (out, _, _) = run(
            &png,
            &[
                ("block", "2"),
                ("palette", "pico-8"),
                ("dither", dither),
                ("grid", "true"),
            ],
        );
        let mixed_rows = (0..256)
            .filter(|&y| {
                let row: BTreeSet<[u8; 4]> = (0..90).map(|x| out.get_pixel(x, y).0).collect();
                row.len() > 1
            })
            .count();
        assert!(
            mixed_rows >= 128,
            "{dither}: {mixed_rows} of 256 sky rows patterned"
        );
        let fill: BTreeSet<[u8; 4]> = (0..256)
            .flat_map(|y| (100..128).map(move |x| (x, y)))
            .map(|(x, y)| out.get_pixel(x, y).0)
            .collect();
        assert_eq!(fill.len(), 1, "{dither}: the fill has {fill:?}");
    }
}

/// A flat mid grey with only black and white is far from both (CIEDE2000 33 and 50): error
/// diffusion keeps the pattern that is the only way to show it. Floyd–Steinberg carries error as
/// light, so its share of white is the grey's light (sRGB 128 is 21.6 % of white's; half white,
/// as carrying it in CIELAB gave, looks like sRGB 188 from afar); Atkinson keeps its lightness.
#[test]
fn a_flat_colour_far_from_every_entry_keeps_its_dither_pattern() {
    let img = RgbaImage::from_pixel(64, 64, image::Rgba([128, 128, 128, 255]));
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    for (dither, expected) in [("floyd-steinberg", 0.17..=0.27), ("atkinson", 0.3..=0.7)] {
        let (out, _, _) = run(
            &png,
            &[
                ("block", "1"),
                ("palette", "#000000,#ffffff"),
                ("dither", dither),
            ],
        );
        let white = out.pixels().filter(|p| p.0[0] > 128).count() as f64 / 4096.0;
        assert!(expected.contains(&white), "{dither}: {white} white");
    }
}

/// Flat greys with only black and white (1-bit art): each is a pattern whose share of white
/// rises with the grey, whether it lies near black or near white (greys within 25 ΔE of black
/// or white came out solid black or white, found by a new user: a mix matches them exactly).
#[test]
fn flat_greys_with_black_and_white_are_patterns_that_follow_the_tone() {
    for dither in ["floyd-steinberg", "atkinson", "bayer4"] {
        let mut previous = 0.0;
        for v in [48u8, 64, 96, 128, 160, 192] {
            let img = RgbaImage::from_pixel(32, 32, image::Rgba([v, v, v, 255]));
            let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
            let (out, _, _) = run(
                &png,
                &[("block", "1"), ("palette", "1-bit"), ("dither", dither)],
            );
            let white = out.pixels().filter(|p| p.0[0] > 128).count() as f64 / 1024.0;
            assert!(
                white > previous && white < 1.0,
                "{dither}: grey {v} is {white:.2} white (the grey before: {previous:.2})"
            );
            previous = white;
        }
    }
}

/// A grey ramp with the Game Boy's four greens under Bayer: the transitions between shades are
/// patterned, not hard edges (a grey lies beside the segment between two greens, being less
/// yellow than both, so mixing only along that segment never found a ratio: 4 of 256 columns
/// held two shades, found by a new user).
#[test]
fn a_grey_ramp_with_the_game_boy_greens_gets_bayer_patterns() {
    let img = RgbaImage::from_fn(256, 16, |x, _| {
        let v = x as u8;
        image::Rgba([v, v, v, 255])
    });
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    let (out, _, _) = run(
        &png,
        &[
            ("block", "1"),
            ("palette", "game-boy"),
            ("dither", "bayer4"),
        ],
    );
    let mixed: Vec<u32> = (0..256)
        .filter(|&x| {
            let shades: BTreeSet<[u8; 4]> = (0..16).map(|y| out.get_pixel(x, y).0).collect();
            shades.len() > 1
        })
        .collect();
    // Patterned columns in at least two separate transitions.
    let runs = mixed.windows(2).filter(|w| w[1] > w[0] + 1).count() + 1;
    assert!(
        mixed.len() >= 24 && runs >= 2,
        "{} patterned columns in {runs} runs: {mixed:?}",
        mixed.len()
    );
}

/// A grey ramp with only black and white: dithering draws a pattern across it, from few
/// white cells at the dark end to few black at the light end (not a black half and a white half
/// with a patterned strip between them).
#[test]
fn a_ramp_with_black_and_white_gets_a_pattern_across() {
    let img = RgbaImage::from_fn(256, 32, |x, _| {
        let v = x as u8;
        image::Rgba([v, v, v, 255])
    });
    let png = encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png);
    // Atkinson passes on 6/8 of the error by design, so its ends stay solid for longer.
    for (dither, least) in [("floyd-steinberg", 12), ("atkinson", 9), ("bayer4", 12)] {
        let (out, _, _) = run(
            &png,
            &[
                ("block", "1"),
                ("palette", "#000000,#ffffff"),
                ("dither", dither),
            ],
        );
        // The share of white cells in each band of `width` columns, left to right.
        let white_shares = |width: u32| -> Vec<f64> {
            (0..256 / width)
                .map(|band| {
                    let white = (band * width..(band + 1) * width)
                        .flat_map(|x| (0..32).map(move |y| (x, y)))
                        .filter(|&(x, y)| out.get_pixel(x, y).0[0] > 128)
                        .count();
                    white as f64 / f64::from(width * 32)
                })
                .collect()
        };
        let shares = white_shares(16);
        let patterned = shares.iter().filter(|&&s| s > 0.0 && s < 1.0).count();
        assert!(
            patterned >= least,
            "{dither}: white share per band {shares:?}"
        );
        // The share of white rises along the ramp, 8 columns at a time: no solid black or white
        // bars in the middle (a grey whose two entries are both far kept passing too little
        // error to ever reach the other one: black at x 88..96, white at x 144..152).
        let narrow = white_shares(8);
        assert!(
            narrow.windows(2).all(|w| w[1] >= w[0] - 0.06),
            "{dither}: white share per 8 columns {narrow:.2?}"
        );
    }
}
