//! Pixelsmith against its peers, in one run, on the same images: block 10, 16 colours.
//!
//! Run: `cargo bench -p wasm-service --bench peers` (needs `convert-im6.q16` from Debian's
//! `imagemagick-6.q16`, and `python3` with Pillow; a missing peer is reported and skipped).
//! Optional: `PEERS_RUNS=N` repetitions per case (default 9), `PEERS_IMAGES=a.png,b.png` inputs.
//!
//! Each figure is the median wall time of one whole job, file in → file out:
//! - pixelsmith: read the file, `engine::pixelate`, write the PNG (in this process);
//! - Pillow: open+load, `resize(BOX)`, `quantize(16)`, `resize(NEAREST)`, `save` — once with its
//!   default PNG settings (zlib level 6, as people run it) and once with `compress_level=1`, the
//!   closest to our fast compression (timed inside one Python process, so interpreter start-up is
//!   not counted against it);
//! - ImageMagick: one `convert-im6.q16` process (`-scale` box, `+dither -colors 16`, `-scale`
//!   back), its start-up included (≈ 5 ms, printed as `im: start-up`) — again with its default PNG
//!   settings and with `png:compression-level=1`;
//! - decode floors: the `png` crate decoding the whole file to pixels, and the engine's own decode
//!   into grid sums (`engine::decode_only`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wasm_service::engine::{self, Options};

const BLOCK: u32 = 10;
const COLORS: u32 = 16;

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let runs: usize = std::env::var("PEERS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let scratch = std::env::temp_dir().join(format!("pixelsmith-peers-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let images = match std::env::var("PEERS_IMAGES") {
        Ok(list) => list.split(',').map(PathBuf::from).collect(),
        Err(_) => default_images(&scratch),
    };

    let mut options = Options::default();
    options.set("block", &BLOCK.to_string()).unwrap();
    options.set("colors", &COLORS.to_string()).unwrap();

    println!(
        "machine: {} cores; {runs} runs per case, median wall time",
        available_cores()
    );
    println!(
        "pipeline: block {BLOCK}, {COLORS} colours, output at the source size, PNG file in → PNG file out\n"
    );
    let mut ratios = Vec::new();
    println!(
        "| image | pixelsmith | png decode only | engine decode+grid | Pillow default | Pillow level 1 | ImageMagick default | ImageMagick level 1 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for image in &images {
        let bytes = std::fs::read(image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
        let info = engine::probe(&bytes).expect("a supported image");
        let out = scratch.join("pixelsmith.png");

        let ours = median(runs, || {
            let bytes = std::fs::read(image).unwrap();
            let result = engine::pixelate(&bytes, &options).unwrap();
            std::fs::write(&out, &result.png).unwrap();
        });
        let png_floor = median(runs, || decode_png_only(image));
        let grid_floor = median(runs, || {
            let bytes = std::fs::read(image).unwrap();
            engine::decode_only(&bytes, &options).unwrap();
        });
        let pillow_default = pillow(image, runs, &scratch, 6);
        let pillow_fast = pillow(image, runs, &scratch, 1);
        let magick_default = imagemagick(image, info.width, info.height, runs, &scratch, None);
        let magick_fast = imagemagick(image, info.width, info.height, runs, &scratch, Some(1));
        let name = format!(
            "{} ({}×{}, {:.2} MP)",
            image.file_name().unwrap().to_string_lossy(),
            info.width,
            info.height,
            f64::from(info.width) * f64::from(info.height) / 1e6
        );
        let show = |d: Option<Duration>| d.map_or("n/a".to_string(), ms);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            ms(ours),
            ms(png_floor),
            ms(grid_floor),
            show(pillow_default),
            show(pillow_fast),
            show(magick_default),
            show(magick_fast),
        );
        let ratio = |peer: Option<Duration>| {
            peer.map_or("n/a".to_string(), |p| {
                format!("{:.2}×", p.as_secs_f64() / ours.as_secs_f64())
            })
        };
        ratios.push(format!(
            "| {name} | {} | {} | {} | {} | {:.2}× |",
            ratio(pillow_default),
            ratio(pillow_fast),
            ratio(magick_default),
            ratio(magick_fast),
            ours.as_secs_f64() / png_floor.as_secs_f64(),
        ));
    }
    println!(
        "\nHow many times faster pixelsmith is (peer time / pixelsmith time), and its time over the decode-only floor:\n"
    );
    println!(
        "| image | vs Pillow default | vs Pillow level 1 | vs ImageMagick default | vs ImageMagick level 1 | pixelsmith / png decode |"
    );
    println!("|---|---|---|---|---|---|");
    for row in ratios {
        println!("{row}");
    }
    if let Some(startup) = imagemagick_startup(runs) {
        println!(
            "\nim: start-up (`convert-im6.q16 -version`): {}",
            ms(startup)
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn median(runs: usize, mut job: impl FnMut()) -> Duration {
    job(); // warm the page cache and the allocator
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            job();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn decode_png_only(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
}

/// The bundled astronaut (512×512, 0.26 MP) and a 4.4 MP picture made by upscaling the bundled
/// coffee photo with Pillow's Lanczos filter (so nothing is downloaded).
fn default_images(scratch: &Path) -> Vec<PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let large = scratch.join("coffee-2560x1707.png");
    let made = Command::new("python3")
        .args([
            "-c",
            "import sys; from PIL import Image; \
             Image.open(sys.argv[1]).resize((2560, 1707), Image.LANCZOS).save(sys.argv[2])",
        ])
        .arg(fixtures.join("coffee.png"))
        .arg(&large)
        .status()
        .is_ok_and(|s| s.success());
    let mut images = vec![fixtures.join("astronaut.png")];
    if made {
        images.push(large);
    } else {
        eprintln!("python3 with Pillow is missing: the 4 MP case is skipped (pip install pillow)");
    }
    images
}

const PILLOW_SCRIPT: &str = r#"
import sys, time
from PIL import Image
src, dst, runs, block, colors, level = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
def job():
    im = Image.open(src); im.load()
    w, h = im.size
    small = im.convert("RGB").resize((max(1, w // block), max(1, h // block)), Image.BOX)
    q = small.quantize(colors)
    q.resize((w, h), Image.NEAREST).save(dst, compress_level=level)
job()
times = []
for _ in range(runs):
    t = time.perf_counter(); job(); times.append(time.perf_counter() - t)
times.sort()
print(times[len(times) // 2])
"#;

/// Pillow's median time; `level` is the zlib level its PNG writer uses (6 is its default).
fn pillow(image: &Path, runs: usize, scratch: &Path, level: u32) -> Option<Duration> {
    let out = Command::new("python3")
        .args(["-c", PILLOW_SCRIPT])
        .arg(image)
        .arg(scratch.join("pillow.png"))
        .args([
            runs.to_string(),
            BLOCK.to_string(),
            COLORS.to_string(),
            level.to_string(),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "Pillow run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(Duration::from_secs_f64(secs))
}

/// ImageMagick's median time; `level` sets `png:compression-level` (None: its default).
fn imagemagick(
    image: &Path,
    w: u32,
    h: u32,
    runs: usize,
    scratch: &Path,
    level: Option<u32>,
) -> Option<Duration> {
    let out = scratch.join("magick.png");
    let small = format!("{}x{}!", (w / BLOCK).max(1), (h / BLOCK).max(1));
    let full = format!("{w}x{h}!");
    let colors = COLORS.to_string();
    let mut ok = true;
    let t = median(runs, || {
        let status = Command::new("convert-im6.q16")
            .arg(image)
            .args([
                "-scale", &small, "+dither", "-colors", &colors, "-scale", &full,
            ])
            .args(
                level
                    .map(|l| ["-define".to_string(), format!("png:compression-level={l}")])
                    .into_iter()
                    .flatten(),
            )
            .arg(&out)
            .status();
        ok &= status.is_ok_and(|s| s.success());
    });
    if !ok {
        eprintln!("convert-im6.q16 is missing or failed: apt-get install imagemagick-6.q16");
        return None;
    }
    Some(t)
}

fn imagemagick_startup(runs: usize) -> Option<Duration> {
    let mut ok = true;
    let t = median(runs, || {
        ok &= Command::new("convert-im6.q16")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    });
    ok.then_some(t)
}
