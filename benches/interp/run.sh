#!/usr/bin/env bash
# Builds Pixelsmith's module, the original-like module and the benchmark, then runs it.
# Usage: benches/interp/run.sh [RUNS]   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build -q -p wasm-service --target wasm32-wasip1 --release)
# The original was built with cargo's default release profile: an empty RUSTFLAGS keeps the
# module's own flags (.cargo/config.toml: opt-level s, simd128) off the stand-in.
(cd "$root/benches/original-like" && RUSTFLAGS="" CARGO_TARGET_DIR="$target/original-like" \
  cargo build -q --release --target wasm32-wasip1)
(cd "$root/benches/interp" && CARGO_TARGET_DIR="$target/interp-bench" cargo build -q --release)
"$target/interp-bench/release/interp-bench" \
  "$target/wasm32-wasip1/release/wasm-service.wasm" \
  "$target/original-like/wasm32-wasip1/release/original-like.wasm" \
  "$root/fixtures" "${1:-7}"
