//! Gives the module a build identity: a hash of this crate's sources, its manifest and the
//! workspace lock file, as `PIXELSMITH_BUILD` (16 hex digits). `/health` answers it, and a deploy
//! reads it from the module's bytes (`pixelsmith-build:<id>` in its data) to check that the live
//! app serves the module it pushed, not the one it ran before a restart took effect.

//!
//! It also writes `srgb_to_linear.rs`, the sRGB decoding curve as a static table (see
//! [`srgb_to_linear_table`]).

use std::path::{Path, PathBuf};

fn main() {
    srgb_to_linear_table();
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    collect(&dir.join("src"), &mut files);
    files.sort();
    files.push(dir.join("Cargo.toml"));
    files.push(dir.join("../Cargo.lock"));
    // FNV-1a, 64-bit (Fowler, Noll, Vo): enough to tell builds apart, no dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in &files {
        let name = file.strip_prefix(&dir).unwrap_or(file);
        eat(name.to_string_lossy().as_bytes());
        eat(&std::fs::read(file).unwrap_or_default());
    }
    println!("cargo:rustc-env=PIXELSMITH_BUILD={hash:016x}");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=../Cargo.lock");
}

/// `SRGB_TO_LINEAR: [f32; 256]`, each 8-bit sRGB value as linear light 0..=1 by the sRGB transfer
/// function (IEC 61966-2-1: `c / 12.92` up to 0.04045, else `((c + 0.055) / 1.055)^2.4`), in f32
/// with `libm` (pure Rust: the same bits on every target). Static data rather than a table filled
/// at first use: the module's downscale loop then reads it at a constant address, two operations
/// a lookup fewer under OSC's interpreter. `engine::colorspace`'s test recomputes every entry.
fn srgb_to_linear_table() {
    let entries: Vec<String> = (0..=255u8)
        .map(|i| {
            let c = f32::from(i) / 255.0;
            let v = if c <= 0.04045 {
                c / 12.92
            } else {
                libm::powf((c + 0.055) / 1.055, 2.4)
            };
            format!("f32::from_bits({:#010x})", v.to_bits())
        })
        .collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let text = format!(
        "/// sRGB 8-bit value → linear light 0..=1 (written by build.rs).\n\
         pub(crate) static SRGB_TO_LINEAR: [f32; 256] = [{}];\n",
        entries.join(", ")
    );
    std::fs::write(out.join("srgb_to_linear.rs"), text).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
