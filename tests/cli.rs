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
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
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
