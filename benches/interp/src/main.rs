//! Pixelsmith's module against an original-like module under one interpreter (wasmi, as in the
//! runner emulation): medians of wall time and of wasmi fuel (≈ executed instructions, a measure
//! independent of the machine) per request, and the ratios original / ours.
//!
//! Every run does what OSC's runner does per request: load and validate the module's bytes, a
//! fresh instance with a WASI context holding only stdin/stdout, `_start`. The requests are the
//! original service's JSON shape (`{"image_base64":…,"pixel_size":8,"color_levels":4}`), which
//! both modules answer, plus health.
//!
//! Usage: interp-bench OURS.wasm ORIGINAL.wasm FIXTURES_DIR [RUNS]

use std::io::Cursor;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use wasmi::{Config, Engine, Linker, Module, Store};
use wasmi_wasi::WasiCtx;
use wasmi_wasi::wasi_common::pipe::{ReadPipe, WritePipe};

const FUEL: u64 = u64::MAX / 2;

struct Measured {
    wall: Duration,
    fuel: u64,
}

fn run_once(engine: &Engine, bytes: &[u8], stdin: &[u8]) -> (Measured, Vec<u8>) {
    let started = Instant::now();
    let module = Module::new(engine, bytes).expect("the module loads");
    let out = Arc::new(RwLock::new(Vec::new()));
    let mut builder = wasmi_wasi::WasiCtxBuilder::new();
    builder.arg("main.wasm").unwrap();
    builder
        .stdin(Box::new(ReadPipe::new(Cursor::new(stdin.to_vec()))))
        .stdout(Box::new(WritePipe::from_shared(out.clone())));
    let mut store = Store::new(engine, builder.build());
    store.set_fuel(FUEL).unwrap();
    let mut linker = Linker::<WasiCtx>::new(engine);
    wasmi_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&store, "_start").unwrap();
    if let Err(err) = start.call(&mut store, ()) {
        assert_eq!(err.i32_exit_status(), Some(0), "the module failed: {err}");
    }
    let wall = started.elapsed();
    let fuel = FUEL - store.get_fuel().unwrap();
    let stdout = std::mem::take(&mut *out.write().unwrap());
    (Measured { wall, fuel }, stdout)
}

/// Median wall time and fuel of `runs` runs; checks that the answer says `"status":"ok"`.
fn measure(engine: &Engine, bytes: &[u8], stdin: &[u8], runs: usize) -> Measured {
    let mut walls = Vec::new();
    let mut fuel = 0;
    for _ in 0..runs {
        let (m, stdout) = run_once(engine, bytes, stdin);
        let text = String::from_utf8_lossy(&stdout);
        assert!(
            text.contains(r#""status":"ok""#) || text.contains(r#""status":200"#),
            "not an ok answer: {}",
            &text[..text.len().min(300)]
        );
        walls.push(m.wall);
        fuel = m.fuel;
    }
    walls.sort();
    Measured {
        wall: walls[walls.len() / 2],
        fuel,
    }
}

fn legacy_request(image: &[u8], extra: &str) -> Vec<u8> {
    format!(
        r#"{{"image_base64":"{}","pixel_size":8,"color_levels":4{extra}}}"#,
        base64::engine::general_purpose::STANDARD.encode(image)
    )
    .into_bytes()
}

/// Frames in the animated GIF case: 8 keep the clip under the runner's 1 MiB as base64.
const FRAMES: u32 = 8;

/// An animated GIF of `frames` 480×270 frames panning 4 px a frame across a bundled photo
/// (scaled to 720×480), 80 ms each, as a short clip would be; and its first frame alone as a GIF.
fn panning_gif(png: &[u8], frames: u32) -> (Vec<u8>, Vec<u8>) {
    use image::codecs::gif::{GifEncoder, Repeat};
    let photo = image::load_from_memory(png).unwrap().to_rgba8();
    let photo = image::imageops::resize(&photo, 720, 480, image::imageops::FilterType::Triangle);
    let encode = |count: u32| {
        let mut out = Vec::new();
        {
            let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
            encoder.set_repeat(Repeat::Infinite).unwrap();
            for f in 0..count {
                let view = image::imageops::crop_imm(&photo, 4 * f, 2 * f, 480, 270).to_image();
                let delay = image::Delay::from_numer_denom_ms(80, 1);
                encoder
                    .encode_frame(image::Frame::from_parts(view, 0, 0, delay))
                    .unwrap();
            }
        }
        out
    };
    (encode(frames), encode(1))
}

/// A 2 MP JPEG (1800×1200, quality 85) made from a bundled photo, as a phone photo scaled down.
fn two_megapixel_jpeg(png: &[u8]) -> Vec<u8> {
    let photo = image::load_from_memory(png).unwrap().to_rgb8();
    let big = image::imageops::resize(&photo, 1800, 1200, image::imageops::FilterType::Triangle);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&big)
        .unwrap();
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: interp-bench OURS.wasm ORIGINAL.wasm FIXTURES_DIR [RUNS]");
        std::process::exit(2);
    }
    let ours = std::fs::read(&args[1]).expect("read our module");
    let original = std::fs::read(&args[2]).expect("read the original-like module");
    let fixtures = std::path::Path::new(&args[3]);
    let runs: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(7);
    let coffee = std::fs::read(fixtures.join("coffee.png")).unwrap();
    let rocket = std::fs::read(fixtures.join("rocket.jpg")).unwrap();
    let big = two_megapixel_jpeg(&coffee);

    let mut config = Config::default();
    config.consume_fuel(true);
    let engine = Engine::new(&config);

    // Load and validate only: the start-up every request pays.
    let load = |bytes: &[u8]| {
        let mut walls: Vec<Duration> = (0..runs.max(5) * 3)
            .map(|_| {
                let t = Instant::now();
                Module::new(&engine, bytes).unwrap();
                t.elapsed()
            })
            .collect();
        walls.sort();
        walls[walls.len() / 2]
    };
    println!(
        "modules: ours {} bytes (load+validate {:.2} ms), original-like {} bytes (load+validate {:.2} ms); median of {runs} runs\n",
        ours.len(),
        load(&ours).as_secs_f64() * 1e3,
        original.len(),
        load(&original).as_secs_f64() * 1e3,
    );

    let health = br#"{"action":"health"}"#.to_vec();
    let cases: Vec<(String, Vec<u8>, Vec<u8>)> = vec![
        (
            "health, {\"action\":\"health\"}".into(),
            health.clone(),
            health.clone(),
        ),
        (
            "health, ours as GET / (empty stdin)".into(),
            Vec::new(),
            health,
        ),
        (
            format!(
                "coffee.png 600x400 PNG, JSON/base64 ({} KB)",
                coffee.len() / 1000
            ),
            legacy_request(&coffee, ""),
            legacy_request(&coffee, ""),
        ),
        (
            format!(
                "rocket.jpg 640x427 JPEG, JSON/base64, full DCT ({} KB)",
                rocket.len() / 1000
            ),
            legacy_request(&rocket, ""),
            legacy_request(&rocket, ""),
        ),
        (
            "rocket.jpg, ours with dct_scale=fast".into(),
            legacy_request(&rocket, r#","dct_scale":"fast""#),
            legacy_request(&rocket, ""),
        ),
        (
            format!(
                "2 MP JPEG 1800x1200, JSON/base64, full DCT ({} KB)",
                big.len() / 1000
            ),
            legacy_request(&big, ""),
            legacy_request(&big, ""),
        ),
        (
            "2 MP JPEG, ours with dct_scale=fast".into(),
            legacy_request(&big, r#","dct_scale":"fast""#),
            legacy_request(&big, ""),
        ),
    ];
    println!(
        "| request | ours | original-like | ratio (time) | ours fuel | original fuel | ratio (fuel) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, ours_in, original_in) in cases {
        let a = measure(&engine, &ours, &ours_in, runs);
        let b = measure(&engine, &original, &original_in, runs);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | **{:.2}x** | {:.2} M | {:.2} M | {:.2}x |",
            a.wall.as_secs_f64() * 1e3,
            b.wall.as_secs_f64() * 1e3,
            b.wall.as_secs_f64() / a.wall.as_secs_f64(),
            a.fuel as f64 / 1e6,
            b.fuel as f64 / 1e6,
            b.fuel as f64 / a.fuel.max(1) as f64,
        );
    }

    // Animations (ours only: the original answers one still). The same request natively
    // (engine in this process, no interpreter) gives the interpreter's cost factor.
    let (clip, first) = panning_gif(&coffee, FRAMES);
    println!(
        "\nOurs on an animated GIF (480x270, {FRAMES} frames, {} KB, under the runner's 1 MiB as base64; raw bytes after a request line, block 8, 16 colours):\n",
        clip.len() / 1000
    );
    println!("| request | time | fuel | per frame |");
    println!("|---|---|---|---|");
    let request = |image: &[u8], query: &str| {
        let mut stdin = format!("POST /pixelate?{query}\n").into_bytes();
        stdin.extend_from_slice(image);
        stdin
    };
    for (name, image, query, count) in [
        ("first frame alone, a still GIF", &first, "block=8&colors=16", 1),
        ("all frames, animated GIF out", &clip, "block=8&colors=16", FRAMES),
        (
            "all frames, Floyd-Steinberg",
            &clip,
            "block=8&colors=16&dither=floyd-steinberg",
            FRAMES,
        ),
        (
            "the last frame as a still PNG (every frame decoded)",
            &clip,
            "block=8&colors=16&frame=7",
            1,
        ),
    ] {
        let m = measure(&engine, &ours, &request(image, query), runs);
        println!(
            "| {name} | {:.1} ms | {:.2} M | {:.1} ms |",
            m.wall.as_secs_f64() * 1e3,
            m.fuel as f64 / 1e6,
            m.wall.as_secs_f64() * 1e3 / f64::from(count)
        );
    }

    // Where our time goes on coffee.png: the same picture through cheaper request shapes.
    let line = |query: &str, image: &[u8]| {
        let mut stdin = format!("POST /pixelate?{query}\n").into_bytes();
        stdin.extend_from_slice(image);
        stdin
    };
    let steps: Vec<(&str, Vec<u8>)> = vec![
        ("empty stdin (start-up, health)", Vec::new()),
        (
            "coffee.png as raw bytes after a request line, grid output (decode + cells + quantise)",
            line("block=8&levels=4&grid=true", &coffee),
        ),
        (
            "coffee.png as raw bytes after a request line, full-size output",
            line("block=8&levels=4", &coffee),
        ),
        (
            "coffee.png in the JSON/base64 shape, full-size output",
            legacy_request(&coffee, ""),
        ),
    ];
    println!("\nOurs on coffee.png, by request shape:\n");
    println!("| request | time | fuel |");
    println!("|---|---|---|");
    for (name, stdin) in steps {
        let m = measure(&engine, &ours, &stdin, runs);
        println!(
            "| {name} | {:.1} ms | {:.2} M |",
            m.wall.as_secs_f64() * 1e3,
            m.fuel as f64 / 1e6
        );
    }
}
