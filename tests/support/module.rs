//! The real `wasm-service` module, built once per test run.
//!
//! `module_path()` runs `cargo build -p wasm-service --target wasm32-wasip1 --release` the first
//! time it is called (cargo's own lock serialises it with other builds, and it is incremental, so
//! later runs take a second) and returns the path of the `.wasm`. Tests that need the module the
//! way OSC gets it call this instead of assuming a stale file is there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built module: `target/wasm32-wasip1/release/wasm-service.wasm` of this workspace.
pub fn module_path() -> &'static Path {
    static MODULE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match MODULE.get_or_init(build) {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

/// The built module's bytes.
pub fn module_bytes() -> Vec<u8> {
    std::fs::read(module_path()).expect("the module was just built")
}

/// `wasm-service/examples/panic_answer.rs` built for wasm32-wasip1: the module's own panic hook,
/// then a panic.
pub fn panic_example_path() -> &'static Path {
    static EXAMPLE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = EXAMPLE
        .get_or_init(|| cargo_build(&["--example", "panic_answer"], "examples/panic_answer.wasm"));
    match built {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

fn build() -> Result<PathBuf, String> {
    cargo_build(&[], "wasm-service.wasm")
}

/// `cargo build -p wasm-service --target wasm32-wasip1 --release` plus `extra`, returning the
/// path of `artifact` under the target's release directory.
fn cargo_build(extra: &[&str], artifact: &str) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(&cargo)
        .args([
            "build",
            "-p",
            "wasm-service",
            "--target",
            "wasm32-wasip1",
            "--release",
        ])
        .args(extra)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        return Err(format!(
            "building the module failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let path = target_dir.join("wasm32-wasip1/release").join(artifact);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the build succeeded but {} is missing",
            path.display()
        ))
    }
}
