"""Test images for the quality benchmark and their linear-light box reference grids.

Three kinds of input, all made or fetched when the benchmark runs:
- photos: the bundled `fixtures/*.png|jpg` (those that are photos or sprites), and public-domain
  photos shipped inside the PyPI package scikit-image (`skimage.data`), written out as PNG;
- a flat logo (white ground, blue and red shapes, small text, a 1-px dark horizontal line, a 1-px
  diagonal hairline, 2-px ticks and a small green dot), drawn with Pillow's ImageDraw, with masks
  of each thin feature so the benchmark can tell whether it survived;
- an RGBA sprite (a little knight on a transparent ground) drawn 4x larger with Pillow and box
  downscaled, so its outline is anti-aliased in colour and alpha.
"""

import io
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFont

from quality_color import u8_to_linear


@dataclass
class TestImage:
    """One benchmark input: the file Pixelsmith reads, the decoded pixels and the grid."""

    name: str
    path: str  # the file handed to Pixelsmith
    kind: str  # "photo", "logo", "sprite"
    block: int
    rgba: np.ndarray = None  # decoded sRGB (after any ICC conversion), uint8 H x W x 4
    features: dict = field(default_factory=dict)  # name -> bool mask H x W (logo only)


def _to_srgb_rgba(im):
    """Decode a Pillow image to 8-bit sRGB RGBA, converting through its ICC profile if any."""
    icc = im.info.get("icc_profile")
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    rgba = im.convert("RGBA")
    alpha = np.asarray(rgba)[..., 3]
    rgb = rgba.convert("RGB")
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        rgb = ImageCms.profileToProfile(
            rgb, src, dst, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    out = np.dstack([np.asarray(rgb), alpha if has_alpha else np.full_like(alpha, 255)])
    return out.astype(np.uint8)


def _edges(n, block):
    """Cell edges as the engine places them: every `block` pixels, the last cell partial."""
    cells = -(-n // block)
    return np.minimum(np.arange(cells + 1) * block, n)


def reference_grid(rgba, block, alpha_threshold=128):
    """Linear-light box reference: each cell's premultiplied mean in linear sRGB.

    Returns (lin, opaque, alpha): lin is rows x cols x 3 (unpremultiplied linear sRGB of the
    cell's opaque part), opaque the cells at or above the alpha threshold (as the engine decides),
    alpha the mean alpha (0..1).
    """
    h, w = rgba.shape[:2]
    lin = u8_to_linear(rgba[..., :3])
    a = rgba[..., 3].astype(np.float64) / 255.0
    ys, xs = _edges(h, block), _edges(w, block)
    # Sum over cells with reduceat (rows, then columns).
    prem = np.concatenate([lin * a[..., None], a[..., None]], axis=2)
    sums = np.add.reduceat(np.add.reduceat(prem, ys[:-1], axis=0), xs[:-1], axis=1)
    area = np.outer(np.diff(ys), np.diff(xs)).astype(np.float64)
    asum = sums[..., 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        col = np.where(asum[..., None] > 0, sums[..., :3] / asum[..., None], 0.0)
    alpha = asum / area
    opaque = alpha * 255.0 >= alpha_threshold
    return col, opaque, alpha


def cell_coverage(mask, block):
    """Share of each cell's pixels set in a boolean pixel mask."""
    h, w = mask.shape
    ys, xs = _edges(h, block), _edges(w, block)
    sums = np.add.reduceat(np.add.reduceat(mask.astype(np.float64), ys[:-1], axis=0), xs[:-1], axis=1)
    return sums / np.outer(np.diff(ys), np.diff(xs))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def draw_logo(path):
    """A flat logo, 256 x 192: shapes, small text and thin lines on white. Returns feature masks."""
    w, h = 256, 192
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([16, 16, 79, 63], fill=(31, 95, 191))  # blue block
    d.ellipse([96, 16, 143, 63], fill=(41, 140, 255))  # light blue disc
    d.rectangle([160, 16, 239, 63], fill=(178, 34, 52))  # red banner
    d.rectangle([176, 32, 223, 47], fill=(255, 255, 255))  # white slot in the banner
    masks = {}

    def feature(name, draw_fn):
        layer = Image.new("L", (w, h), 0)
        draw_fn(ImageDraw.Draw(layer), 255)
        draw_fn(d, None)
        masks[name] = np.asarray(layer) > 0

    dark = (26, 26, 26)
    # 1-px dark horizontal line, inside one row of 4-px cells (y = 81 -> cell row 20).
    feature("line_1px", lambda dd, v: dd.line([16, 81, 239, 81], fill=v if v else dark, width=1))
    # 1-px diagonal hairline.
    feature("hairline_diag", lambda dd, v: dd.line([16, 100, 120, 124], fill=v if v else dark, width=1))

    # 2-px ticks, 6 px tall, every 12 px.
    def ticks(dd, v):
        for x in range(140, 240, 12):
            dd.rectangle([x, 100, x + 1, 105], fill=v if v else dark)

    feature("ticks_2px", ticks)
    # Small text (about 8 px cap height).
    font = _font(11)
    feature(
        "text_small",
        lambda dd, v: dd.text((16, 140), "Pixelsmith 42 v1.0", fill=v if v else dark, font=font),
    )
    # A small saturated green dot (3 x 3 px) on white: a "green eye".
    feature("green_dot", lambda dd, v: dd.rectangle([200, 150, 202, 152], fill=v if v else (0, 200, 64)))
    im.save(path)
    return masks


def draw_sprite(path):
    """An RGBA sprite, 256 x 256: a knight drawn at 4x and box-downscaled (anti-aliased alpha)."""
    s = 8  # drawing units are 1/128 of the sprite; 8 px each on the 1024-px canvas
    W = 128 * s
    im = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    out = (27, 27, 47, 255)

    def r(box, fill, outline=True):
        box = [v * s for v in box]
        d.rectangle(box, fill=out if outline else fill)
        if outline:
            d.rectangle([box[0] + 2 * s, box[1] + 2 * s, box[2] - 2 * s, box[3] - 2 * s], fill=fill)

    def e(box, fill):
        box = [v * s for v in box]
        d.ellipse(box, fill=out)
        d.ellipse([box[0] + 2 * s, box[1] + 2 * s, box[2] - 2 * s, box[3] - 2 * s], fill=fill)

    r([44, 84, 60, 120], (43, 79, 168))  # left leg, blue trousers
    r([68, 84, 84, 120], (43, 79, 168))  # right leg
    r([36, 52, 92, 90], (200, 50, 60))  # red tunic
    r([36, 78, 92, 86], (255, 210, 63), outline=False)  # yellow belt
    e([40, 12, 88, 58], (242, 192, 145))  # head, skin
    d.pieslice([40 * s, 8 * s, 88 * s, 44 * s], 180, 360, fill=(107, 62, 38, 255))  # brown hair
    d.rectangle([52 * s, 30 * s, 55 * s, 34 * s], fill=(47, 191, 79, 255))  # green eyes
    d.rectangle([72 * s, 30 * s, 75 * s, 34 * s], fill=(47, 191, 79, 255))
    d.polygon(
        [(96 * s, 20 * s), (104 * s, 20 * s), (104 * s, 88 * s), (96 * s, 88 * s)],
        fill=(79, 214, 232, 255),
    )  # cyan blade
    d.rectangle([90 * s, 84 * s, 110 * s, 90 * s], fill=(120, 80, 40, 255))  # hilt
    small = im.resize((256, 256), Image.Resampling.BOX)  # Pillow resizes RGBA premultiplied
    small.save(path)


def skimage_photos(workdir):
    """Public-domain photos shipped in the scikit-image wheel, not already bundled as fixtures."""
    from skimage import data

    wanted = [
        # name, loader, block: hubble (near-black sky), retina (dark reds), ihc (browns and blues),
        # motorcycle (saturated reds and dark greys)
        ("hubble_deep_field", data.hubble_deep_field, 8),
        ("retina", data.retina, 16),
        ("immunohistochemistry", data.immunohistochemistry, 8),
        ("motorcycle", lambda: data.stereo_motorcycle()[0], 8),
    ]
    out = []
    for name, load, block in wanted:
        arr = load()
        path = os.path.join(workdir, f"{name}.png")
        Image.fromarray(arr).save(path)
        out.append((name, path, block))
    return out


def load_all(repo, workdir, only=None):
    """Every benchmark input, decoded."""
    os.makedirs(workdir, exist_ok=True)
    items = []
    fx = os.path.join(repo, "fixtures")
    for fname, block, kind in [
        ("astronaut.png", 8, "photo"),
        ("coffee.png", 8, "photo"),
        ("chelsea.png", 8, "photo"),
        ("rocket.jpg", 8, "photo"),
        ("horse-transparent.png", 8, "sprite"),
    ]:
        items.append(TestImage(fname.rsplit(".", 1)[0], os.path.join(fx, fname), kind, block))
    for name, path, block in skimage_photos(workdir):
        items.append(TestImage(name, path, "photo", block))
    logo = os.path.join(workdir, "logo.png")
    masks = draw_logo(logo)
    items.append(TestImage("logo", logo, "logo", 4, features=masks))
    sprite = os.path.join(workdir, "sprite.png")
    draw_sprite(sprite)
    items.append(TestImage("sprite", sprite, "sprite", 4))
    if only:
        items = [t for t in items if t.name in only]
    for t in items:
        with Image.open(t.path) as im:
            t.rgba = _to_srgb_rgba(im)
    return items
