"""Native and wasm give the same bytes.

The same engine is compiled twice: into the native `pixelsmith` CLI and into the wasm32-wasip1
module. This runs the CLI natively and the module under PyPI `wasmtime` (a WASI runtime nobody here
wrote), on every bundled image with several option sets, and requires identical PNG bytes.

Run from the repository root: python -m pytest tests/python/test_identity.py -q
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from pathlib import Path

import pytest
import wasmtime

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MODULE = REPO / "target" / "wasm32-wasip1" / "release" / "wasm-service.wasm"
CLI = REPO / "target" / "debug" / "pixelsmith"

# (query string for the module, the same options as CLI flags)
CASES = [
    ("", []),
    ("block=10&colors=16", ["--block", "10", "--colors", "16"]),
    ("width=48&palette=pico-8&dither=bayer4", ["--width", "48", "--palette", "pico-8", "--dither", "bayer4"]),
    ("block=6&levels=4&dither=floyd-steinberg&grid=true",
     ["--block", "6", "--levels", "4", "--dither", "floyd-steinberg", "--grid"]),
    ("block=12&colors=64&dither=atkinson&scale=2",
     ["--block", "12", "--colors", "64", "--dither", "atkinson", "--scale", "2"]),
]  # fmt: skip
IMAGES = ["astronaut.png", "coffee.png", "chelsea.png", "horse-transparent.png", "rocket.jpg"]


@pytest.fixture(scope="session")
def built() -> tuple[wasmtime.Engine, wasmtime.Module]:
    for args in (
        ["cargo", "build", "-p", "wasm-service", "--target", "wasm32-wasip1", "--release"],
        ["cargo", "build", "-p", "pixelsmith", "--bin", "pixelsmith"],
    ):
        subprocess.run(args, cwd=REPO, check=True)
    engine = wasmtime.Engine()
    return engine, wasmtime.Module.from_file(engine, str(MODULE))


def run_module(built, stdin: bytes) -> dict:
    engine, module = built
    with tempfile.TemporaryDirectory() as tmp:
        stdin_path, stdout_path = Path(tmp, "in"), Path(tmp, "out")
        stdin_path.write_bytes(stdin)
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["main.wasm"]
        wasi.stdin_file = str(stdin_path)
        wasi.stdout_file = str(stdout_path)
        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exit:
            assert exit.code == 0, f"module exited with {exit.code}"
        return json.loads(stdout_path.read_bytes().decode("utf-8"))


def run_native(image: Path, flags: list[str]) -> bytes:
    done = subprocess.run([str(CLI), "pixelate", str(image), "-o", "-", *flags], capture_output=True, check=True)
    return done.stdout


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("query,flags", CASES, ids=[c[0] or "defaults" for c in CASES])
def test_module_and_native_cli_give_identical_png_bytes(built, image, query, flags):
    source = (FIXTURES / image).read_bytes()
    request = {
        "method": "POST",
        "path": "/pixelate",
        "query": query,
        "content_type": "application/octet-stream",
        "body_base64": base64.b64encode(source).decode(),
    }
    answer = run_module(built, json.dumps(request).encode())
    assert answer["status"] == 200, answer
    assert answer["content_type"] == "image/png"
    wasm_png = base64.b64decode(answer["body_base64"])
    native_png = run_native(FIXTURES / image, flags)
    assert wasm_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert wasm_png == native_png, f"{image} {query or 'defaults'}: wasm and native bytes differ"
