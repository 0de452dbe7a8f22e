//! The `pixelsmith pixelate` and `palettes` commands as a user runs them: the real binary, real
//! files, exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pixelsmith(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pixelsmith"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the pixelsmith binary runs")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn pixelate_writes_next_to_the_working_directory_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("coffee.png");
    let out = pixelsmith(&["pixelate", input.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = dir.path().join("coffee.pixel.png");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("coffee.pixel.png") && stdout.contains("grid 75x50"),
        "{stdout}"
    );
    let png = std::fs::read(&written).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // Full colour has no palette: the summary counts the colours used.
    let out = pixelsmith(
        &["pixelate", input.to_str().unwrap(), "--full-color"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    let colours: usize = stdout
        .split(" colours")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no colour count in {stdout}"));
    assert!(colours > 256, "a photo in full colour: {stdout}");
    // A grid wider than the image: one cell per pixel, and the CLI says so.
    let out = pixelsmith(
        &["pixelate", input.to_str().unwrap(), "--width", "4000"],
        dir.path(),
    );
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("grid 600x400"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("grid has 600 columns, not 4000"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_report_carries_grid_palette_timings_and_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("astronaut.png");
    let out = pixelsmith(
        &[
            "pixelate",
            input.to_str().unwrap(),
            "--width",
            "32",
            "--palette",
            "game-boy",
            "--json",
            "-o",
            "gb.png",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON report");
    assert_eq!(report["grid_width"], 32);
    assert_eq!(report["output"], "gb.png");
    let palette = report["palette"].as_array().unwrap();
    assert!(!palette.is_empty() && palette.len() <= 4);
    let allowed = ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"];
    assert!(
        palette
            .iter()
            .all(|c| allowed.contains(&c.as_str().unwrap())),
        "{palette:?}"
    );
    assert!(report["timings"]["total_ms"].as_f64().unwrap() > 0.0);
    assert!(dir.path().join("gb.png").exists());
}

#[test]
fn png_on_stdout_keeps_the_summary_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("horse-transparent.png");
    let out = pixelsmith(
        &["pixelate", input.to_str().unwrap(), "-o", "-", "--grid"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        out.stdout.starts_with(b"\x89PNG"),
        "stdout holds only the PNG"
    );
    assert!(
        text(&out.stderr).contains("+ transparent"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_inputs_fail_with_exit_code_2_and_a_message_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    std::fs::write(
        dir.path().join("cut.png"),
        &std::fs::read(fixture("coffee.png")).unwrap()[..1000],
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["pixelate", "missing.png"], "cannot read missing.png"),
        (&["pixelate", "."], "is a directory"),
        (
            &["pixelate", "notes.txt"],
            "not a PNG, JPEG, WebP, GIF or BMP",
        ),
        (&["pixelate", "cut.png"], "truncated"),
        (
            &["pixelate", "cut.png", "--palette", "vaporwave"],
            "unknown palette `vaporwave`",
        ),
        (
            &["pixelate", "cut.png", "--json", "-o", "-"],
            "both want stdout",
        ),
    ];
    for (args, expected) in cases {
        let out = pixelsmith(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected `{expected}` in:\n{stderr}"
        );
    }
    let out = pixelsmith(&["pixelate", "x.png", "--colors", "1"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects out-of-range values"
    );
    assert!(
        text(&out.stderr).contains("from 2 to 256, or `full`"),
        "{}",
        text(&out.stderr)
    );
    // `--colors full`, as the service spells it, is --full-color.
    let input = fixture("horse.png");
    let a = dir.path().join("full-a.png");
    let b = dir.path().join("full-b.png");
    let (input_text, a_text, b_text) = (
        input.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    );
    for args in [
        ["pixelate", input_text, "-o", a_text, "--colors", "FULL"],
        ["pixelate", input_text, "-o", b_text, "--full-color", "-b8"],
    ] {
        let run = pixelsmith(&args, dir.path());
        assert!(run.status.success(), "{args:?}: {}", text(&run.stderr));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A typo in the output's folder creates nothing.
    let input = fixture("horse.png");
    let out = pixelsmith(
        &[
            "pixelate",
            input.to_str().unwrap(),
            "-o",
            "nowhere/deeper/x.png",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("the folder nowhere/deeper does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("nowhere").exists());
    // A decompression bomb is refused from its header.
    let input = fixture("astronaut.png");
    let out = pixelsmith(
        &["pixelate", input.to_str().unwrap(), "--max-pixels", "1000"],
        dir.path(),
    );
    assert!(
        text(&out.stderr).contains("over the limit of 1000 pixels"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_explains_the_options_with_examples() {
    let out = pixelsmith(&["pixelate", "--help"], Path::new("."));
    let help = text(&out.stdout);
    for needle in [
        "--block",
        "--width",
        "--palette",
        "--dither",
        "floyd-steinberg",
        "Examples:",
        "Oklab",
    ] {
        assert!(
            help.contains(needle),
            "`{needle}` missing from help:\n{help}"
        );
    }
}

#[test]
fn palettes_lists_every_built_in_and_renders_a_swatch() {
    let dir = tempfile::tempdir().unwrap();
    let out = pixelsmith(&["palettes", "--swatch", "swatch.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    for name in [
        "pico-8",
        "game-boy",
        "cga",
        "c64",
        "zx-spectrum",
        "nes",
        "1-bit",
        "sweetie-16",
        "endesga-32",
        "db16",
        "db32",
    ] {
        assert!(list.contains(name), "{name} missing:\n{list}");
    }
    let swatch = image::open(dir.path().join("swatch.png"))
        .unwrap()
        .to_rgb8();
    // One 16-px row per palette; the widest (NES, 54 colours) sets the width.
    assert_eq!(swatch.height() % 16, 0);
    assert_eq!(swatch.width(), 54 * 16);
    assert_eq!(
        swatch.get_pixel(8, 8).0,
        [0, 0, 0],
        "pico-8 starts with black"
    );
}

#[test]
fn errors_are_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = pixelsmith(&["pixelate", "missing.png"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_closed_output_pipe_ends_the_command_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let horse = fixture("horse.png");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith"))
        .args(["pixelate", "--json", "-o", "out.png"])
        .arg(&horse)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before anything is written (`| head -c 0`).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {err}",
        out.status
    );
}

#[test]
fn an_output_named_as_another_image_format_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("horse.png"), dir.path().join("horse.png")).unwrap();
    for output in ["out.jpg", "out.JPEG", "out.webp", "out.bmp"] {
        let out = pixelsmith(&["pixelate", "horse.png", "-o", output], dir.path());
        assert_eq!(out.status.code(), Some(2), "{output}");
        let err = text(&out.stderr);
        assert!(
            err.contains("writes PNG") && err.contains(".png"),
            "{output}: {err}"
        );
        assert!(!dir.path().join(output).exists(), "{output}");
    }
    let out = pixelsmith(&["pixelate", "horse.png", "-o", "out.png"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn output_goes_only_to_regular_files_and_never_over_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let horse = dir.path().join("horse.png");
    std::fs::copy(fixture("horse.png"), &horse).unwrap();
    let original = std::fs::read(&horse).unwrap();
    // The input itself, directly or through a link.
    std::os::unix::fs::symlink(&horse, dir.path().join("link.png")).unwrap();
    for output in ["horse.png", "link.png", "./horse.png"] {
        let out = pixelsmith(&["pixelate", "horse.png", "-o", output], dir.path());
        assert_eq!(out.status.code(), Some(2), "{output}");
        assert!(
            text(&out.stderr).contains("it is the input image"),
            "{output}"
        );
    }
    assert_eq!(std::fs::read(&horse).unwrap(), original);
    // A FIFO, a device and a folder are refused and left as they are.
    let fifo = dir.path().join("pipe");
    crate::support::mkfifo(&fifo);
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    for (output, kind) in [
        (fifo.to_str().unwrap(), "FIFO"),
        ("/dev/null", "device"),
        ("folder", "folder"),
    ] {
        let out = pixelsmith(&["pixelate", "horse.png", "-o", output], dir.path());
        assert_eq!(out.status.code(), Some(2), "{output}");
        let err = text(&out.stderr);
        assert!(
            err.contains("not a regular file") && err.contains(kind),
            "{err}"
        );
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A symlink to another file is written through: the link stays, its target changes.
    let target = dir.path().join("target.png");
    std::fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("out.png")).unwrap();
    let out = pixelsmith(&["pixelate", "horse.png", "-o", "out.png"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::symlink_metadata(dir.path().join("out.png"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&target).unwrap().starts_with(b"\x89PNG"));
}

// Batches and shared palettes (issue 14, "Animations and batches": the batch part).

/// A `size`×`size` sprite: a diagonal gradient between two colours picked by `seed`, so each file
/// has its own colours.
fn sprite(path: &Path, seed: u32, size: u32) {
    let a = [
        (seed * 53 % 256) as u8,
        (seed * 97 % 256) as u8,
        (seed * 31 % 256) as u8,
    ];
    let b = [255 - a[0], a[2], 255 - a[1]];
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let t = (x + y) as f32 / (2 * size - 2) as f32;
        image::Rgb([0, 1, 2].map(|k| (f32::from(a[k]) * (1.0 - t) + f32::from(b[k]) * t) as u8))
    });
    img.save(path).unwrap();
}

/// Twenty sprites in `dir/sprites`; the eleventh (`s10.png`) cut short when `corrupt`.
fn sprite_folder(dir: &Path, corrupt: bool) -> PathBuf {
    let sprites = dir.join("sprites");
    std::fs::create_dir_all(&sprites).unwrap();
    for i in 0..20 {
        sprite(&sprites.join(format!("s{i:02}.png")), i + 1, 48);
    }
    if corrupt {
        let bytes = std::fs::read(sprites.join("s10.png")).unwrap();
        std::fs::write(sprites.join("s10.png"), &bytes[..bytes.len() / 2]).unwrap();
    }
    sprites
}

/// Every RGB colour of the opaque pixels of the PNG at `path`.
fn colours_of(path: &Path) -> std::collections::BTreeSet<[u8; 3]> {
    let img = image::open(path).unwrap().to_rgba8();
    img.pixels()
        .filter(|p| p[3] > 0)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn hex_palette(path: &Path) -> std::collections::BTreeSet<[u8; 3]> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v = u32::from_str_radix(l.trim(), 16).unwrap();
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        })
        .collect()
}

fn pngs_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_batch_with_one_corrupt_file_writes_the_rest_names_the_failure_once_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    sprite_folder(dir.path(), true);
    std::fs::write(dir.path().join("sprites/readme.txt"), "not an image").unwrap();
    let out = pixelsmith(&["pixelate", "sprites", "-o", "out"], dir.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(pngs_in(&dir.path().join("out")).len(), 19, "{stderr}");
    assert!(!dir.path().join("out/s10.png").exists());
    assert_eq!(stderr.matches("s10.png").count(), 1, "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    // Not a terminal: one plain line per file, no bar.
    assert_eq!(stderr.lines().filter(|l| l.starts_with('[')).count(), 20);
    assert!(
        stderr.contains("[20/20]") && !stderr.contains('\r'),
        "{stderr}"
    );
    assert!(
        stdout.contains("19 done, 1 failed, 1 skipped (not images) of 20 files"),
        "{stdout}"
    );
}

#[test]
fn shared_palette_is_written_and_every_output_uses_only_its_colours() {
    let dir = tempfile::tempdir().unwrap();
    sprite_folder(dir.path(), false);
    let out = pixelsmith(
        &[
            "pixelate",
            "sprites",
            "-o",
            "out",
            "--shared-palette",
            "--colors",
            "12",
            "--palette-out",
            "set.hex",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let palette = hex_palette(&dir.path().join("set.hex"));
    assert!(palette.len() > 2 && palette.len() <= 12, "{palette:?}");
    let outputs = pngs_in(&dir.path().join("out"));
    assert_eq!(outputs.len(), 20);
    let mut union = std::collections::BTreeSet::new();
    for png in &outputs {
        let used = colours_of(png);
        assert!(
            used.is_subset(&palette),
            "{} uses colours outside the shared palette:\n{:?}\npalette:\n{palette:?}",
            png.display(),
            used.difference(&palette).collect::<Vec<_>>()
        );
        union.extend(used);
    }
    // Twenty different gradients in 12 colours: the outputs share them, none has its own set.
    assert!(union.len() <= 12, "{union:?}");
}

#[test]
fn palette_files_round_trip_through_hex_gpl_and_png() {
    let dir = tempfile::tempdir().unwrap();
    sprite(&dir.path().join("a.png"), 3, 32);
    sprite(&dir.path().join("b.png"), 7, 32);
    let run = |args: &[&str]| {
        let out = pixelsmith(args, dir.path());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    };
    run(&[
        "pixelate",
        "a.png",
        "b.png",
        "-o",
        "o1",
        "--shared-palette",
        "--palette-out",
        "p.hex",
    ]);
    run(&[
        "pixelate",
        "a.png",
        "b.png",
        "-o",
        "o2",
        "--palette",
        "p.hex",
        "--palette-out",
        "p.gpl",
    ]);
    run(&[
        "pixelate",
        "a.png",
        "b.png",
        "-o",
        "o3",
        "--palette",
        "p.gpl",
        "--palette-out",
        "p.png",
    ]);
    run(&[
        "pixelate",
        "a.png",
        "b.png",
        "-o",
        "o4",
        "--palette",
        "p.png",
        "--palette-out",
        "q.hex",
    ]);
    // A palette file that is not there is named as a missing file, not an unknown palette.
    let out = pixelsmith(
        &[
            "pixelate",
            "a.png",
            "-o",
            "x.png",
            "--palette",
            "nofile.hex",
        ],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no such palette file") && err.contains("nofile.hex"),
        "{err}"
    );
    let first = std::fs::read_to_string(dir.path().join("p.hex")).unwrap();
    let last = std::fs::read_to_string(dir.path().join("q.hex")).unwrap();
    assert_eq!(
        first, last,
        "the palette changed on its way through .gpl and .png"
    );
    let gpl = std::fs::read_to_string(dir.path().join("p.gpl")).unwrap();
    assert!(gpl.starts_with("GIMP Palette\nName: "), "{gpl}");
    let png = image::open(dir.path().join("p.png")).unwrap();
    assert_eq!(
        (png.width(), png.height()),
        (first.lines().count() as u32, 1)
    );
    // One file: the palette written is the colours its output uses.
    run(&[
        "pixelate",
        "a.png",
        "-o",
        "one.png",
        "--colors",
        "6",
        "--palette-out",
        "one.hex",
    ]);
    assert_eq!(
        hex_palette(&dir.path().join("one.hex")),
        colours_of(&dir.path().join("one.png"))
    );
    // The same palette gives the same pixels, whichever file it came from.
    for o in ["o2", "o3", "o4"] {
        assert_eq!(
            std::fs::read(dir.path().join(o).join("a.png")).unwrap(),
            std::fs::read(dir.path().join("o2/a.png")).unwrap(),
            "{o}"
        );
    }
}

#[test]
fn json_batch_prints_one_report_per_file_and_nothing_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    sprite_folder(dir.path(), false);
    std::fs::create_dir_all(dir.path().join("sprites/more")).unwrap();
    sprite(&dir.path().join("sprites/more/deep.png"), 40, 16);
    let out = pixelsmith(
        &["pixelate", "sprites", "-o", "out", "--recursive", "--json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    let reports: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(reports.len(), 21, "{stdout}");
    assert!(reports.iter().all(|r| r["grid_width"].is_u64()));
    // A recursive folder keeps its sub-paths.
    assert!(dir.path().join("out/more/deep.png").exists());
}

#[test]
fn batch_progress_on_a_terminal_is_a_bar() {
    let dir = tempfile::tempdir().unwrap();
    sprite_folder(dir.path(), false);
    let command = format!(
        "{} pixelate sprites -o out",
        env!("CARGO_BIN_EXE_pixelsmith")
    );
    // `script` runs the command on a pseudo-terminal, as a user's shell would.
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .output()
        .expect("util-linux script runs");
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("/20") && screen.contains('\r') && screen.contains("=>"),
        "no progress bar in:\n{screen}"
    );
    assert!(screen.contains("20 done, 0 failed of 20 files"), "{screen}");
    assert_eq!(pngs_in(&dir.path().join("out")).len(), 20);
}

#[test]
fn batch_refuses_clashing_names_and_overwriting_inputs_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    sprite(&dir.path().join("a.png"), 1, 16);
    std::fs::create_dir(dir.path().join("more")).unwrap();
    sprite(&dir.path().join("more/a.png"), 2, 16);
    let cases: &[(&[&str], &str)] = &[
        (
            &["pixelate", "a.png", "more", "-o", "out"],
            "would both be written as",
        ),
        (&["pixelate", "a.png", "more"], "need -o DIR"),
        (&["pixelate", "more"], "is a directory"),
        (
            &["pixelate", "more", "-o", "more"],
            "it is one of the inputs",
        ),
        (
            &["pixelate", "a.png", "more", "-o", "a.png"],
            "is not a folder",
        ),
    ];
    for (args, expected) in cases {
        let out = pixelsmith(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected `{expected}` in:\n{stderr}"
        );
    }
    assert!(!dir.path().join("out").exists());
    // Every clash is named in one go.
    sprite(&dir.path().join("b.png"), 3, 16);
    sprite(&dir.path().join("more/b.png"), 4, 16);
    let out = pixelsmith(
        &["pixelate", "a.png", "b.png", "more", "-o", "out"],
        dir.path(),
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("out/a.png") && stderr.contains("out/b.png"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

/// The service's spellings of a dither kind work as CLI flags too, so a query copied from Studio or
/// the API can be used on the command line.
#[test]
fn dither_flags_take_the_services_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("horse.png");
    let run = |dither: &str| {
        let out = pixelsmith(
            &[
                "pixelate",
                input.to_str().unwrap(),
                "--dither",
                dither,
                "-o",
                "-",
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{dither}: {}", text(&out.stderr));
        out.stdout
    };
    let canonical = run("floyd-steinberg");
    for spelling in ["fs", "Floyd-Steinberg", "floyd_steinberg", "FLOYD"] {
        assert_eq!(run(spelling), canonical, "{spelling}");
    }
    assert_eq!(run("ordered"), run("bayer4"));
}

#[test]
fn a_failed_single_file_with_json_still_prints_a_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = std::fs::read(fixture("rocket.jpg")).unwrap();
    std::fs::write(dir.path().join("cut.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    let out = pixelsmith(
        &["pixelate", "cut.jpg", "-o", "x.png", "--json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(doc["code"], "truncated", "{doc}");
    let error = doc["error"].as_str().unwrap();
    assert!(error.contains("JPEG"), "{doc}");
    assert_eq!(error.matches("too early").count(), 1, "said once: {error}");
    assert!(text(&out.stderr).contains("error:"));
}
