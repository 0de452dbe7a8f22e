"""The deployed module against the native build of the same program, in one run.

Both are `wasm-service/src/main.rs` (stdin → router → stdout): once compiled for wasm32-wasip1 and run
under PyPI wasmtime (instantiate + `_start` per request, as OSC's runner starts a fresh instance per
request; the module is compiled once beforehand, since WasmEdge's interpreter has no compile step to
compare with), once compiled natively and run as a process per request. Same stdin bytes, median of N.

Run from the repository root:
    python3 wasm-service/benches/module_speed.py [runs]
"""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import wasmtime

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "target" / "wasm32-wasip1" / "release" / "wasm-service.wasm"
NATIVE = REPO / "target" / "release" / "wasm-service"


def build() -> None:
    for target in (["--target", "wasm32-wasip1"], []):
        subprocess.run(["cargo", "build", "-q", "-p", "wasm-service", "--release", *target], cwd=REPO, check=True)


def envelope(image: Path, query: str) -> bytes:
    body = base64.b64encode(image.read_bytes()).decode()
    return json.dumps({"method": "POST", "path": "/pixelate", "query": query, "body_base64": body}).encode()


def wasm_once(engine: wasmtime.Engine, module: wasmtime.Module, stdin: Path, stdout: Path) -> float:
    start = time.perf_counter()
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["main.wasm"]
    wasi.stdin_file = str(stdin)
    wasi.stdout_file = str(stdout)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    elapsed = time.perf_counter() - start
    assert json.loads(stdout.read_bytes())["status"] == 200
    return elapsed


def native_once(stdin_bytes: bytes) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(NATIVE)], input=stdin_bytes, capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    assert json.loads(done.stdout)["status"] == 200
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    build()
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(MODULE))
    cases = [
        ("empty stdin (GET /health)", b""),
        ("coffee.png, block 8, 16 colours (envelope)", envelope(REPO / "fixtures" / "coffee.png", "block=8&colors=16")),
        ("rocket.jpg, block 8, 16 colours (envelope)", envelope(REPO / "fixtures" / "rocket.jpg", "block=8&colors=16")),
    ]  # fmt: skip
    print(f"module: {MODULE.stat().st_size:,} bytes; {runs} runs, medians\n")
    print("| request | wasm under wasmtime | native process | wasm / native |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, stdin_bytes in cases:
            stdin, stdout = Path(tmp, "in"), Path(tmp, "out")
            stdin.write_bytes(stdin_bytes)
            wasm_once(engine, module, stdin, stdout)  # warm caches
            native_once(stdin_bytes)
            wasm = statistics.median(wasm_once(engine, module, stdin, stdout) for _ in range(runs))
            native = statistics.median(native_once(stdin_bytes) for _ in range(runs))
            print(f"| {name} | {wasm * 1000:.1f} ms | {native * 1000:.1f} ms | {wasm / native:.2f}× |")


if __name__ == "__main__":
    main()
