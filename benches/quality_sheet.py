"""Contact sheets for the quality benchmark: the source, the reference grid, then every output."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TILE = 160  # longest side of a tile, in pixels
LABEL_H = 28
PAD = 6


def _font():
    try:
        return ImageFont.load_default(size=11)
    except TypeError:
        return ImageFont.load_default()


def _checker(w, h):
    y, x = np.mgrid[0:h, 0:w]
    c = np.where(((x // 8) + (y // 8)) % 2 == 0, 214, 240).astype(np.uint8)
    return Image.fromarray(np.dstack([c, c, c]), "RGB")


def _tile(rgba):
    """A grid upscaled by the largest whole factor that fits TILE, on a checkerboard."""
    h, w = rgba.shape[:2]
    k = max(1, round(TILE / max(h, w)))
    im = Image.fromarray(rgba, "RGBA").resize((w * k, h * k), Image.Resampling.NEAREST)
    bg = _checker(*im.size)
    bg.paste(im, (0, 0), im)
    return bg


def _source_tile(rgba, size):
    im = Image.fromarray(rgba, "RGBA")
    im = im.resize(size, Image.Resampling.LANCZOS)
    bg = _checker(*size)
    bg.paste(im, (0, 0), im)
    return bg


def contact_sheet(path, title, source_rgba, reference_rgba, rows):
    """Write a sheet. `rows` is a list of (row label, [(tile label, RGBA grid), ...])."""
    ref_tile = _tile(reference_rgba)
    th = ref_tile.size[1]
    tw = max(ref_tile.size[0], 150)  # room for the labels
    ncols = max([2] + [len(r[1]) for r in rows])
    width = PAD + ncols * (tw + PAD)
    height = PAD + (1 + len(rows)) * (th + LABEL_H + PAD) + 20
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    font = _font()
    d.text((PAD, 4), title, fill=(0, 0, 0), font=font)
    y = 20

    def put(x, y, label, tile):
        for i, line in enumerate(label.split("\n")[:2]):
            d.text((x, y + i * 12), line, fill=(0, 0, 0), font=font)
        sheet.paste(tile, (x, y + LABEL_H))

    put(PAD, y, "source", _source_tile(source_rgba, ref_tile.size))
    put(PAD + tw + PAD, y, "reference grid\n(linear-light box)", ref_tile)
    y += th + LABEL_H + PAD
    for row_label, tiles in rows:
        for i, (label, grid) in enumerate(tiles):
            put(PAD + i * (tw + PAD), y, f"{row_label}\n{label}" if i == 0 else label, _tile(grid))
        y += th + LABEL_H + PAD
    sheet.save(path, optimize=True)
