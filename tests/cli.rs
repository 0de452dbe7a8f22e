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
        text(&out.stderr).contains("2..=256"),
        "{}",
        text(&out.stderr)
    );
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
