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


def animated_gif(path, transparent: bool) -> None:
    """A 120×80 GIF made by Pillow: a sun moving over a gradient, 6 frames, restore to background;
    with `transparent`, a transparent sky."""
    from PIL import Image, ImageDraw

    frames = []
    for i in range(6):
        im = Image.new("RGBA", (120, 80), (0, 0, 0, 0) if transparent else (20, 30, 60, 255))
        d = ImageDraw.Draw(im)
        for x in range(120):
            d.line([(x, 60), (x, 80)], fill=(x * 2, 100, 200 - x, 255))
        d.ellipse([10 + i * 15, 10, 40 + i * 15, 40], fill=(240, 200, 30, 255))
        frames.append(im)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[80, 80, 120, 80, 80, 200],
                   loop=0, disposal=2)  # fmt: skip


@pytest.mark.parametrize("transparent", [False, True], ids=["opaque", "transparent"])
@pytest.mark.parametrize("query,flags", CASES[1:4], ids=[c[0] for c in CASES[1:4]])
def test_animated_gif_module_and_native_cli_give_identical_gif_bytes(wasm, cli, tmp_path, transparent, query, flags):
    source = tmp_path / "sun.gif"
    animated_gif(source, transparent)
    answer = pixelate_in_module(wasm, source.read_bytes(), query)
    assert answer.status == 200, answer.text[:300]
    assert answer.doc["content_type"] == "image/gif"
    native = run_cli(cli, source, [*flags, "--format", "gif"]).stdout
    assert answer.body_bytes() == native, f"{query}: wasm and native GIF bytes differ"
    # Frame 2 as a still, both ways.
    still = pixelate_in_module(wasm, source.read_bytes(), query + "&frame=2")
    assert still.doc["content_type"] == "image/png", still.text[:300]
    assert still.body_bytes() == run_cli(cli, source, [*flags, "--frame", "2"]).stdout
