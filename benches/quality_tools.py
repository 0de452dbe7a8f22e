"""The renderers compared by the quality benchmark: Pixelsmith and its peers, on the same grid.

Pixelsmith reads the source file itself (`pixelsmith pixelate IN --grid --json ...`). The peers
get the linear-light box reference grid (8-bit sRGB, one pixel per cell) as input, so that only
palette matching and dithering differ between them:
- Pillow `Image.quantize(palette=...)`, plain (`Dither.NONE`) and Floyd–Steinberg; for 16
  adaptive colours `quantize(16)` (median cut) for the palette, then the same two mappings;
- libimagequant through PyPI `imagequant` (adaptive 16 only), dithering level 0 and 1;
- ImageMagick 6 (`convert-im6.q16`), `-remap palette.png` (fixed) or `-colors 16` (adaptive),
  with `-dither None` and `-dither FloydSteinberg`.
Every renderer returns the output grid as uint8 rows x cols x 4 (RGBA).
"""

import json
import os
import subprocess

import numpy as np
from PIL import Image

PALETTES = {
    "pico-8": [
        0x000000,
        0x1D2B53,
        0x7E2553,
        0x008751,
        0xAB5236,
        0x5F574F,
        0xC2C3C7,
        0xFFF1E8,
        0xFF004D,
        0xFFA300,
        0xFFEC27,
        0x00E436,
        0x29ADFF,
        0x83769C,
        0xFF77A8,
        0xFFCCAA,
    ],
    "game-boy": [0x0F380F, 0x306230, 0x8BAC0F, 0x9BBC0F],
}
IM6 = "/usr/bin/convert-im6.q16"


def palette_rgb(name):
    """A fixed palette as an N x 3 uint8 array."""
    return np.array([[(c >> 16) & 255, (c >> 8) & 255, c & 255] for c in PALETTES[name]], np.uint8)


def run_pixelsmith(binary, src, out_png, block, palette, dither, detail=0, extra=()):
    """One Pixelsmith run; returns (RGBA grid, JSON report)."""
    cmd = [binary, "pixelate", src, "--grid", "--json", "-b", str(block), "-o", out_png]
    if palette == "adaptive16":
        cmd += ["--colors", "16"]
    elif palette == "full-color":
        cmd += ["--full-color"]
    else:
        cmd += ["--palette", palette]
    if dither:
        cmd += ["--dither", dither]
    if detail:
        cmd += ["--detail", str(detail)]
    cmd += list(extra)
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    report = json.loads(res.stdout)
    with Image.open(out_png) as im:
        return np.asarray(im.convert("RGBA")).copy(), report


def _rgba(im):
    return np.asarray(im.convert("RGBA")).copy()


def _pal_image(colors):
    """A P-mode image carrying `colors`, padded with copies of the first (so padding can't win)."""
    flat = [int(v) for c in colors for v in c]
    flat += flat[:3] * (256 - len(colors))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def pillow_fixed(grid_rgb, colors, fs):
    """Pillow quantize(palette=...), plain or Floyd–Steinberg."""
    im = Image.fromarray(grid_rgb, "RGB")
    dither = Image.Dither.FLOYDSTEINBERG if fs else Image.Dither.NONE
    return _rgba(im.quantize(palette=_pal_image(colors), dither=dither))


def pillow_adaptive(grid_rgb, n, fs):
    """Pillow quantize(n) (median cut) for the palette, then mapped plain or Floyd–Steinberg."""
    im = Image.fromarray(grid_rgb, "RGB")
    q = im.quantize(n, dither=Image.Dither.NONE)
    used = sorted(set(q.getdata()))
    pal = np.array(q.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)[used]
    if not fs:
        return _rgba(q)
    return pillow_fixed(grid_rgb, pal, True)


def imagequant_adaptive(grid_rgb, n, dither):
    """libimagequant (PyPI imagequant), n colours, dithering level 0 or 1."""
    import imagequant

    im = Image.fromarray(grid_rgb, "RGB").convert("RGBA")
    return _rgba(imagequant.quantize_pil_image(im, dithering_level=1.0 if dither else 0.0, max_colors=n))


def imagemagick(grid_rgb, workdir, tag, fs, colors=None, n=None):
    """ImageMagick 6: -remap to a palette image (colors) or -colors n; -dither None / FloydSteinberg."""
    src = os.path.join(workdir, f"{tag}-im-in.png")
    dst = os.path.join(workdir, f"{tag}-im-out.png")
    Image.fromarray(grid_rgb, "RGB").save(src)
    cmd = [IM6, src, "-dither", "FloydSteinberg" if fs else "None"]
    if colors is not None:
        pal = os.path.join(workdir, f"{tag}-im-pal.png")
        Image.fromarray(np.asarray(colors, np.uint8).reshape(1, -1, 3), "RGB").save(pal)
        cmd += ["-remap", pal]
    else:
        cmd += ["-colors", str(n)]
    cmd += ["PNG32:" + dst]
    subprocess.run(cmd, check=True, capture_output=True)
    with Image.open(dst) as im:
        return _rgba(im)


def peers(grid_rgb, palette, workdir, tag):
    """Every peer's output for one palette ("pico-8", "game-boy" or "adaptive16").

    Returns {label: (dither class, RGBA grid)}; the dither class is "none" or "fs".
    """
    out = {}
    if palette == "adaptive16":
        out["Pillow"] = ("none", pillow_adaptive(grid_rgb, 16, False))
        out["Pillow FS"] = ("fs", pillow_adaptive(grid_rgb, 16, True))
        out["libimagequant"] = ("none", imagequant_adaptive(grid_rgb, 16, False))
        out["libimagequant dither"] = ("fs", imagequant_adaptive(grid_rgb, 16, True))
        out["ImageMagick"] = ("none", imagemagick(grid_rgb, workdir, tag, False, n=16))
        out["ImageMagick FS"] = ("fs", imagemagick(grid_rgb, workdir, tag, True, n=16))
    else:
        colors = palette_rgb(palette)
        out["Pillow"] = ("none", pillow_fixed(grid_rgb, colors, False))
        out["Pillow FS"] = ("fs", pillow_fixed(grid_rgb, colors, True))
        out["ImageMagick"] = ("none", imagemagick(grid_rgb, workdir, tag, False, colors=colors))
        out["ImageMagick FS"] = ("fs", imagemagick(grid_rgb, workdir, tag, True, colors=colors))
    return out
