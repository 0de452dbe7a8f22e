"""Native and wasm give the same bytes.

The same engine is compiled twice: into the native `pixelsmith` CLI and into the wasm32-wasip1
module. This runs the CLI natively and the module under PyPI `wasmtime` (a WASI runtime nobody here
wrote), on every bundled image with several option sets, and requires identical PNG bytes.

Run from the repository root: python -m pytest tests/python/test_identity.py -q
"""

from __future__ import annotations

import pytest
from support import FIXTURES, pixelate_in_module, run_cli

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


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("query,flags", CASES, ids=[c[0] or "defaults" for c in CASES])
def test_module_and_native_cli_give_identical_png_bytes(wasm, cli, image, query, flags):
    answer = pixelate_in_module(wasm, (FIXTURES / image).read_bytes(), query)
    assert answer.status == 200, answer.text[:300]
    assert answer.doc["content_type"] == "image/png"
    wasm_png = answer.body_bytes()
    native_png = run_cli(cli, FIXTURES / image, flags).stdout
    assert wasm_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert wasm_png == native_png, f"{image} {query or 'defaults'}: wasm and native bytes differ"
