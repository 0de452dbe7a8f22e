"""Files people really bring, made here at test time, through the native CLI and the wasm module.

Each kind is a property that real images have and that image tools get wrong: CMYK and YCCK JPEGs,
4:2:0 colour edges, embedded colour profiles (Display P3 from phones, Adobe RGB, grey, CMYK),
EXIF orientation outside JPEG, every BMP variant, valid JPEGs with features no decoder here has,
damaged and truncated files, and inputs whose output or memory would explode. The references are
independent: Pillow's decoders and its LittleCMS bindings (`PIL.ImageCms`), as a colour-managed
viewer shows the file.

Run from the repository root: python -m pytest tests/python/test_inputs.py -q
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw
from support import assert_error, open_png, pixelate_in_module, run_cli

LIBGS_ICC = Path("/usr/share/color/icc/ghostscript")


# ---------------------------------------------------------------------------------------------
# Helpers


def pixelate(cli: Path, path: Path, *flags: str) -> tuple[Image.Image, dict]:
    """The CLI's output image and its JSON report."""
    out = path.with_suffix(".out.png")
    done = subprocess.run(
        [str(cli), "pixelate", str(path), "-o", str(out), "--json", *flags], capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    return open_png(out.read_bytes()).convert("RGBA"), report


def refused(cli: Path, path: Path, *flags: str) -> str:
    """The CLI's error text for an input it must refuse."""
    done = subprocess.run([str(cli), "pixelate", str(path), "-o", "-", *flags], capture_output=True, timeout=600)
    assert done.returncode != 0, f"{path.name} was accepted"
    assert not done.stdout, "a refused input wrote output"
    return done.stderr.decode()


def grid_of(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int32)


def same_in_module(wasm, path: Path, native_flags: list[str], query: str, cli: Path) -> None:
    """The module gives exactly the CLI's bytes for this input and these options."""
    answer = pixelate_in_module(wasm, path.read_bytes(), query)
    assert answer.status == 200, answer.text[:400]
    native = run_cli(cli, path, native_flags).stdout
    assert answer.body_bytes() == native, f"{path.name} {query}: module and native bytes differ"


def quadrant_means(img: Image.Image) -> list[tuple[int, int, int]]:
    """Mean colour of each quadrant's inner half (away from the edges), TL, TR, BL, BR."""
    a = grid_of(img)
    h, w = a.shape[:2]
    out = []
    for y0, x0 in [(0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)]:
        q = a[y0 + h // 8 : y0 + h // 2 - h // 8, x0 + w // 8 : x0 + w // 2 - w // 8]
        out.append(tuple(int(round(v)) for v in q.reshape(-1, 3).mean(axis=0)))
    return out


def close(a, b, tolerance: int) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def quadrants(w: int, h: int, colours, mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (w, h))
    for i, c in enumerate(colours):
        x0, y0 = (i % 2) * w // 2, (i // 2) * h // 2
        img.paste(c, (x0, y0, x0 + w // 2, y0 + h // 2))
    return img


# ---------------------------------------------------------------------------------------------
# CMYK JPEGs


CMYK_INKS = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 128)]
CMYK_SHOWN = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (127, 127, 127)]


def without_app14(jpeg: bytes) -> bytes:
    """The file with its Adobe APP14 segment cut out."""
    at = jpeg.find(b"\xff\xee")
    assert at > 0 and jpeg[at + 4 : at + 9] == b"Adobe"
    length = struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
    return jpeg[:at] + jpeg[at + 2 + length :]


def test_cmyk_jpegs_show_their_inks_with_and_without_the_adobe_marker(cli, wasm, tmp_path):
    cmyk = quadrants(64, 64, CMYK_INKS, "CMYK")
    adobe = tmp_path / "adobe.jpg"
    cmyk.save(adobe, "JPEG", quality=95)  # Pillow writes Adobe APP14, transform 0, inverted inks
    assert b"Adobe" in adobe.read_bytes()
    # Inks stay Adobe's inverted ones when the marker is gone (stripped by an editor or an
    # uploader), as Pillow, ImageMagick and browsers read them: such a file must not turn black.
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(without_app14(adobe.read_bytes()))
    with Image.open(plain) as shown:
        assert close(shown.convert("RGB").getpixel((10, 10)), CMYK_SHOWN[0], 6), "Pillow's reading"
    for path in (adobe, plain):
        img, report = pixelate(cli, path, "--block", "4", "--full-color")
        got = quadrant_means(img)
        for g, want in zip(got, CMYK_SHOWN):
            assert close(g, want, 6), f"{path.name}: {got} instead of {CMYK_SHOWN}"
        same_in_module(wasm, path, ["--block", "4"], "block=4", cli)


@pytest.mark.skipif(not (LIBGS_ICC / "default_cmyk.icc").exists(), reason="libgs-common's CMYK profile is missing")
def test_a_cmyk_profile_is_used_natively_and_named_as_ignored_in_the_module(cli, wasm, tmp_path):
    icc = (LIBGS_ICC / "default_cmyk.icc").read_bytes()
    cmyk = quadrants(64, 64, CMYK_INKS, "CMYK")
    path = tmp_path / "profiled.jpg"
    cmyk.save(path, "JPEG", quality=95, icc_profile=icc)
    # The reference: LittleCMS converting the same inks with the same profile, through the profile's
    # tables without LittleCMS's own perceptual black-point scaling (which browsers' CMSs do not
    # apply either: its relative-colorimetric result is what they show).
    srgb = ImageCms.createProfile("sRGB")
    want = ImageCms.profileToProfile(
        Image.open(path), ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, outputMode="RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    img, report = pixelate(cli, path, "--block", "4", "--full-color")
    assert report["color_profile"]["applied"] is True, report["color_profile"]
    for g, w in zip(quadrant_means(img), quadrant_means(want)):
        assert close(g, w, 4), f"{g} vs LittleCMS {w}"
    # The profile does change the picture (a profile-less conversion is far off for cyan).
    assert not close(quadrant_means(img)[0], CMYK_SHOWN[0], 8)
    answer = pixelate_in_module(wasm, path.read_bytes(), "block=4&colors=full&report=true")
    assert answer.status == 200, answer.text[:300]
    note = answer.doc["body"]["color_profile"]
    assert note["applied"] is False and "CMYK" in note["note"], note
    assert_gateway_converts_like_the_cli(cli, wasm, path)


def assert_gateway_converts_like_the_cli(cli: Path, wasm, path: Path) -> None:
    """Through run-local's gateway the answer is the CLI's, byte for byte: the gateway sends the
    module the native engine's colour-managed sRGB pixels and says so."""
    native = run_cli(cli, path, ["--block", "4", "--full-color"]).stdout
    gateway = subprocess.Popen(
        [str(cli), "run-local", "--module", str(wasm.path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        url = None
        while url is None:
            line = gateway.stdout.readline().decode()
            assert line, "run-local ended without printing its URLs"
            if line.startswith("gateway"):
                url = line.split()[1]
        request = urllib.request.Request(
            f"{url}/pixelate?block=4&colors=full", data=path.read_bytes(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert "colours converted to sRGB" in response.headers["x-pixelsmith-converted"], path.name
            assert response.read() == native, f"{path.name}: gateway and CLI bytes differ"
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# JPEG cells against their full-size decode


def stripes(path: Path, subsampling: int) -> Path:
    """8-px red and blue stripes on white aligned to an 8-px grid, and Pillow's full decode as PNG."""
    im = Image.new("RGB", (256, 128), "white")
    d = ImageDraw.Draw(im)
    for x in range(0, 256, 32):
        d.rectangle([x, 0, x + 7, 127], fill=(220, 0, 0))
        d.rectangle([x + 16, 0, x + 23, 127], fill=(0, 0, 200))
    im.save(path, "JPEG", quality=95, subsampling=subsampling)
    twin = path.with_suffix(".decoded.png")
    Image.open(path).convert("RGB").save(twin)
    return twin


@pytest.mark.parametrize("subsampling", [0, 2], ids=["4:4:4", "4:2:0"])
def test_every_jpeg_cell_is_within_two_levels_of_its_full_size_decode(cli, tmp_path, subsampling):
    jpeg = tmp_path / "stripes.jpg"
    twin = stripes(jpeg, subsampling)
    grids = [["--block", str(b)] for b in range(2, 33)] + [["--width", w] for w in ("13", "50", "64", "100")]
    for grid in grids:
        for colours in (["--full-color"], []):
            a, _ = pixelate(cli, jpeg, *grid, *colours, "--grid")
            b, _ = pixelate(cli, twin, *grid, *colours, "--grid")
            worst = np.abs(grid_of(a) - grid_of(b)).max()
            assert worst <= 2, f"{grid} {colours}: a cell differs by {worst} levels from the PNG twin's"


@pytest.mark.parametrize("orientation,scale", [(1, 8), (6, 1), (3, 1)])
def test_fast_dct_scale_keeps_cells_on_the_grid_of_a_rotated_jpeg(cli, tmp_path, orientation, scale):
    # 509x301 (no side a multiple of 2): once EXIF turns the picture, the grid's cells start at
    # the stored picture's far corner and would cut through the scaled pixels, so the scale is
    # dropped; upright, the full 1/8 scale is used.
    y, x = np.mgrid[0:301, 0:509]
    rgb = np.stack([x // 2 % 256, y % 256, (x + y) // 4 % 256], axis=-1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(rgb).save(path, quality=92, exif=exif.tobytes())
    fast, report = pixelate(cli, path, "--block", "8", "--full-color", "--dct-scale", "fast")
    assert report["decode_scale"] == scale, report
    full, _ = pixelate(cli, path, "--block", "8", "--full-color")
    worst = np.abs(grid_of(fast) - grid_of(full)).max()
    assert worst <= (0 if scale == 1 else 40), f"orientation {orientation}: {worst} levels off"


@pytest.mark.parametrize("mode,subsampling", [("RGB", 2), ("RGB", 0), ("L", 0)], ids=["4:2:0", "4:4:4", "grey"])
def test_a_one_pixel_checker_averages_in_linear_light(cli, tmp_path, mode, subsampling):
    y, x = np.mgrid[0:64, 0:64]
    checker = (((x + y) % 2) * 255).astype(np.uint8)
    path = tmp_path / "checker.jpg"
    Image.fromarray(checker).convert(mode).save(path, "JPEG", quality=98, subsampling=subsampling)
    img, report = pixelate(cli, path, "--block", "8", "--full-color", "--grid")
    # Half black, half white in linear light is 0.5, which is sRGB 188 (not the 128 of a gamma mean).
    values = grid_of(img)
    assert np.abs(values - 188).max() <= 3, values[:2, :2]
    assert report["decode_scale"] == 1


# ---------------------------------------------------------------------------------------------
# Embedded colour profiles


def rgb_to_xyz_d50(primaries) -> np.ndarray:
    """Linear RGB → XYZ (D50) for D65 primaries, adapted with Bradford as ICC profiles store it."""

    def xy_to_XYZ(x, y):
        return np.array([x / y, 1.0, (1 - x - y) / y])

    white = xy_to_XYZ(0.3127, 0.3290)
    m = np.stack([xy_to_XYZ(*p) for p in primaries], axis=1)
    m = m * np.linalg.solve(m, white)
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    d50 = np.array([0.9642, 1.0, 0.8249])
    adapt = np.linalg.inv(bradford) @ np.diag((bradford @ d50) / (bradford @ white)) @ bradford
    return adapt @ m


def matrix_trc_profile(primaries, gamma: float, description: str) -> bytes:
    """An ICC v2 matrix/TRC RGB profile (D65 primaries adapted to D50 with Bradford), as phones
    and cameras write them."""
    m = rgb_to_xyz_d50(primaries)
    d50 = np.array([0.9642, 1.0, 0.8249])
    return icc_profile(
        b"RGB ",
        description,
        [(b"wtpt", xyz_tag(d50)), (b"rXYZ", xyz_tag(m[:, 0])), (b"gXYZ", xyz_tag(m[:, 1])),
         (b"bXYZ", xyz_tag(m[:, 2])), (b"rTRC", curve(gamma)), (b"gTRC", curve(gamma)), (b"bTRC", curve(gamma))],
    )  # fmt: skip


def lut_only_profile(primaries, gamma: float, description: str) -> bytes:
    """An RGB profile with no matrix or curves, only an A2B0 lookup table (ICC `lut16Type`: gamma
    input tables, a 2×2×2 grid from linear RGB to PCS XYZ in u1.15, identity output tables), as
    scanner, camera and some monitor vendors' profiles are: a colour-managed viewer converts
    through the table, which only native builds (moxcms) can."""
    m = rgb_to_xyz_d50(primaries)
    entries = 256
    gamma_table = [round((i / (entries - 1)) ** gamma * 65535) for i in range(entries)]
    grid = [m @ np.array([r, g, b], float) for r in (0, 1) for g in (0, 1) for b in (0, 1)]
    lut = b"mft2\0\0\0\0" + bytes([3, 3, 2, 0]) + b"".join(s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut += struct.pack(">HH", entries, 2)
    lut += struct.pack(f">{3 * entries}H", *gamma_table * 3)
    lut += b"".join(struct.pack(">3H", *(min(65535, round(c * 32768)) for c in xyz)) for xyz in grid)
    lut += struct.pack(">6H", *[0, 65535] * 3)
    d50 = np.array([0.9642, 1.0, 0.8249])
    return icc_profile(b"RGB ", description, [(b"wtpt", xyz_tag(d50)), (b"A2B0", lut)])


def s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def xyz_tag(v) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)


def curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", int(round(gamma * 256)))


def icc_profile(space: bytes, description: str, tags) -> bytes:
    text = description.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    tags = [(b"desc", desc), *tags, (b"cprt", b"text\0\0\0\0public domain\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * ((-len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", space, b"XYZ ") + b"\0" * 12
    header += b"acspAPPL" + b"\0" * 24 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"none" + b"\0" * 44
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


DISPLAY_P3 = matrix_trc_profile([(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], 2.2, "Display P3 (test)")
GREY_LINEAR = icc_profile(b"GRAY", "Linear grey (test)", [(b"wtpt", xyz_tag([0.9642, 1.0, 0.8249])), (b"kTRC", curve(1.0))])


def profiles():
    yield "display-p3", DISPLAY_P3
    if (LIBGS_ICC / "a98.icc").exists():
        yield "adobe-rgb", (LIBGS_ICC / "a98.icc").read_bytes()
    if (LIBGS_ICC / "rommrgb.icc").exists():
        yield "prophoto", (LIBGS_ICC / "rommrgb.icc").read_bytes()


PROFILES = list(profiles())


def save_with_profile(src: Image.Image, path: Path, fmt: str, icc: bytes) -> Image.Image:
    """Writes `src` to `path` as `fmt` (losslessly where the format can) with `icc` embedded, and
    returns what a colour-managed viewer shows: LittleCMS converting it to sRGB."""
    extra = {"quality": 100, "subsampling": 0} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    src.save(path, fmt, icc_profile=icc, **extra)
    return ImageCms.profileToProfile(
        Image.open(path).convert("RGB"), ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
        outputMode="RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_lut_only_profile_is_applied_at_every_block_size_and_through_the_gateway(cli, wasm, tmp_path, fmt):
    icc = lut_only_profile([(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], 2.2, "Adobe RGB as a table (test)")
    src = quadrants(64, 64, [(0, 200, 0), (200, 60, 40), (30, 60, 200), (128, 128, 128)])
    path = tmp_path / f"table.{fmt.lower()}"
    viewer = save_with_profile(src, path, fmt, icc)
    assert not close(quadrant_means(viewer)[1], (200, 60, 40), 8), "the profile changes the red"
    # Block 1 keeps each pixel as it is: it once kept them as stored, unconverted, for JPEG and WebP.
    for block in ["1", "4"]:
        img, report = pixelate(cli, path, "--block", block, "--full-color")
        assert report["color_profile"]["applied"] is True, report["color_profile"]
        for g, w in zip(quadrant_means(img), quadrant_means(viewer)):
            assert close(g, w, 3), f"{fmt} block {block}: {g} vs LittleCMS {w}"
    assert_gateway_converts_like_the_cli(cli, wasm, path)


def with_chunks(png: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """`png` with these chunks put right after IHDR."""
    at = 8 + 12 + 13
    extra = b"".join(struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d)) for k, d in chunks)
    return png[:at] + extra + png[at:]


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    v = np.clip(linear, 0, 1)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055) * 255


def test_png_gama_and_chrm_are_shown_as_browsers_show_them(cli, wasm, tmp_path):
    colours = [(149, 11, 4), (30, 160, 60), (20, 40, 120), (128, 128, 128)]
    buf = io.BytesIO()
    quadrants(64, 64, colours).save(buf, "PNG")
    plain = buf.getvalue()
    means = lambda img: np.array(quadrant_means(img), dtype=float)  # noqa: E731
    src = np.array(colours, dtype=float) / 255
    cases = {
        # Linear samples (gAMA 1.0): 149 is 58 % light, sRGB 201.
        "linear": (with_chunks(plain, (b"gAMA", struct.pack(">I", 100000))), srgb_encode(src)),
        # Old Mac files: gamma 1.8.
        "mac": (with_chunks(plain, (b"gAMA", struct.pack(">I", 55556))), srgb_encode(src**1.8)),
        # What sRGB writers add for old decoders: shown as sRGB, unchanged.
        "srgb-gamma": (with_chunks(plain, (b"gAMA", struct.pack(">I", 45455))), src * 255),
    }
    for name, (data, want) in cases.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        img, _ = pixelate(cli, path, "--block", "4", "--full-color")
        assert np.abs(means(img) - want).max() <= 2, f"{name}: {quadrant_means(img)} vs {want.round()}"
        same_in_module(wasm, path, ["--block", "4", "--full-color"], "block=4&colors=full", cli)
    # Adobe RGB primaries (cHRM) with gamma 2.2: converted natively; the module leaves the matrix
    # out, so the gateway sends it the native engine's sRGB pixels.
    adobe = struct.pack(">8I", 31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000)
    path = tmp_path / "adobe.png"
    path.write_bytes(with_chunks(plain, (b"gAMA", struct.pack(">I", 45455)), (b"cHRM", adobe)))
    to_srgb = np.array([[1.3982, -0.3982, 0.0], [0.0, 1.0, 0.0], [0.0, -0.0429, 1.0429]])
    want = srgb_encode((src ** (1 / 0.45455)) @ to_srgb.T)
    img, report = pixelate(cli, path, "--block", "4", "--full-color")
    assert report["color_profile"]["applied"] is True, report
    assert np.abs(means(img) - want).max() <= 2, f"{quadrant_means(img)} vs {want.round()}"
    assert_gateway_converts_like_the_cli(cli, wasm, path)


@pytest.mark.parametrize("name,icc", PROFILES, ids=[p[0] for p in PROFILES])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_rgb_profiles_are_converted_to_srgb_as_a_colour_managed_viewer_shows_them(cli, wasm, tmp_path, name, icc, fmt):
    colours = [(0, 200, 0), (200, 60, 40), (30, 60, 200), (128, 128, 128)]
    src = quadrants(64, 64, colours)
    path = tmp_path / f"{name}.{fmt.lower()}"
    viewer = save_with_profile(src, path, fmt, icc)
    img, report = pixelate(cli, path, "--block", "4", "--full-color")
    assert report["color_profile"]["applied"] is True, report["color_profile"]
    for g, w in zip(quadrant_means(img), quadrant_means(viewer)):
        assert close(g, w, 2), f"{name} {fmt}: {g} vs LittleCMS {w}"
    if fmt != "WEBP":
        same_in_module(wasm, path, ["--block", "4"], "block=4", cli)


def test_a_grey_profile_is_applied_and_an_srgb_profile_changes_nothing(cli, wasm, tmp_path):
    grey = tmp_path / "grey.png"
    Image.new("L", (32, 32), 128).save(grey, icc_profile=GREY_LINEAR)
    img, report = pixelate(cli, grey, "--block", "8", "--full-color")
    # Grey 128 in a linear-light profile is 50 % light: sRGB 188.
    assert close(quadrant_means(img)[0], (188, 188, 188), 1), quadrant_means(img)
    assert report["color_profile"]["applied"] is True
    same_in_module(wasm, grey, ["--block", "8"], "block=8", cli)

    plain = tmp_path / "plain.png"
    tagged = tmp_path / "tagged.png"
    src = quadrants(64, 64, [(0, 200, 0), (200, 60, 40), (30, 60, 200), (128, 128, 128)])
    src.save(plain)
    src.save(tagged, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    a = run_cli(cli, plain, ["--block", "4"]).stdout
    b = run_cli(cli, tagged, ["--block", "4"]).stdout
    assert a == b, "an sRGB profile changed the output"
    _, report = pixelate(cli, tagged, "--block", "4")
    assert report["color_profile"]["applied"] is False and "sRGB" in report["color_profile"]["note"]


def test_an_unreadable_profile_is_ignored_with_the_reason(cli, tmp_path):
    path = tmp_path / "broken-profile.png"
    Image.new("RGB", (16, 16), (10, 200, 30)).save(path, icc_profile=b"not a profile at all, just bytes" * 4)
    img, report = pixelate(cli, path, "--block", "4", "--full-color")
    assert report["color_profile"]["applied"] is False
    assert "could not be read" in report["color_profile"]["note"]
    assert close(quadrant_means(img)[0], (10, 200, 30), 0)


# ---------------------------------------------------------------------------------------------
# EXIF orientation everywhere


UPRIGHT = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
# How to store an upright picture so that EXIF value N turns it back (PIL's transpose per value).
STORE_FOR = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("value", range(2, 9))
def test_png_eXIf_orientation_turns_the_picture_upright(cli, wasm, tmp_path, value):
    up = quadrants(50, 30, UPRIGHT)
    stored = up
    for t in STORE_FOR[value]:
        stored = stored.transpose(t)
    exif = Image.Exif()
    exif[0x0112] = value
    path = tmp_path / f"o{value}.png"
    stored.save(path, exif=exif.tobytes())
    assert Image.open(path).getexif().get(0x0112) == value
    img, report = pixelate(cli, path, "--block", "5", "--full-color")
    assert (report["source_width"], report["source_height"]) == (50, 30)
    assert img.size == (50, 30)
    got = quadrant_means(img)
    assert all(close(g, w, 0) for g, w in zip(got, UPRIGHT)), f"orientation {value}: {got}"
    same_in_module(wasm, path, ["--block", "5"], "block=5", cli)


def test_an_eXIf_chunk_after_the_image_data_still_counts(cli, tmp_path):
    stored = quadrants(50, 30, UPRIGHT).transpose(Image.Transpose.ROTATE_90)
    buf = io.BytesIO()
    stored.save(buf, "PNG")
    png = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    data = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\0\0") else exif.tobytes()
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    iend = png.rfind(b"IEND") - 4
    path = tmp_path / "late-exif.png"
    path.write_bytes(png[:iend] + chunk + png[iend:])
    img, _ = pixelate(cli, path, "--block", "5", "--full-color")
    assert all(close(g, w, 0) for g, w in zip(quadrant_means(img), UPRIGHT))


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_webp_and_jpeg_exif_orientation_turns_the_picture_upright(cli, tmp_path, fmt):
    stored = quadrants(50, 30, UPRIGHT).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / f"o6.{fmt.lower()}"
    extra = {"lossless": True} if fmt == "WEBP" else {"quality": 100, "subsampling": 0}
    stored.save(path, fmt, exif=exif.tobytes(), **extra)
    img, report = pixelate(cli, path, "--block", "5", "--full-color")
    assert img.size == (50, 30)
    assert all(close(g, w, 3) for g, w in zip(quadrant_means(img), UPRIGHT)), quadrant_means(img)


# ---------------------------------------------------------------------------------------------
# BMP kinds


W, H = 40, 30


def bmp_colour(x, y):
    if y < 6:
        return (255, 255, 255)
    return (255, 0, 0) if x < W // 2 else (0, 0, 255)


def write_bmp(path, info, rows, palette=b"", extra=b""):
    off = 14 + len(info) + len(extra) + len(palette)
    data = b"".join(rows)
    path.write_bytes(b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off) + info + extra + palette + data)


def info40(height, bits, comp, colours=0):
    return struct.pack("<IiiHHIIiiII", 40, W, height, 1, bits, comp, 0, 2835, 2835, colours, 0)


def pad(b):
    return b + b"\0" * ((-len(b)) % 4)


def bmp_kinds(tmp: Path) -> dict[str, Path]:
    """Top-down 24-bit and 8-bit, 1-bit, 565 bit fields, V5 with an alpha mask, RLE8, RLE4."""
    kinds = {}
    rows24 = [pad(b"".join(bytes(bmp_colour(x, y)[::-1]) for x in range(W))) for y in range(H)]
    write_bmp(kinds.setdefault("topdown24", tmp / "topdown24.bmp"), info40(-H, 24, 0), rows24)
    pal = bytes([255, 255, 255, 0, 0, 0, 255, 0, 255, 0, 0, 0]) + b"\0" * (4 * 253)
    idx = {(255, 255, 255): 0, (255, 0, 0): 1, (0, 0, 255): 2}
    rows8 = [pad(bytes(idx[bmp_colour(x, y)] for x in range(W))) for y in range(H)]
    write_bmp(kinds.setdefault("topdown8", tmp / "topdown8.bmp"), info40(-H, 8, 0, 256), rows8, palette=pal)

    def row1(y):
        bits = "".join("1" if y < 6 else "0" for _ in range(W))
        return pad(int(bits + "0" * ((-W) % 8), 2).to_bytes((W + 7) // 8, "big"))

    write_bmp(kinds.setdefault("1bit", tmp / "1bit.bmp"), info40(H, 1, 0, 2),
              [row1(y) for y in reversed(range(H))], palette=bytes([0, 0, 0, 0, 255, 255, 255, 0]))  # fmt: skip

    def px565(c):
        r, g, b = c
        return struct.pack("<H", ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3))

    rows565 = [pad(b"".join(px565(bmp_colour(x, y)) for x in range(W))) for y in reversed(range(H))]
    write_bmp(kinds.setdefault("565", tmp / "565.bmp"), info40(H, 16, 3), rows565,
              extra=struct.pack("<III", 0xF800, 0x07E0, 0x001F))  # fmt: skip
    v5 = struct.pack("<IiiHHIIiiII", 124, W, H, 1, 32, 0, 0, 2835, 2835, 0, 0)
    v5 += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000) + b"BGRs" + b"\0" * 36
    v5 += struct.pack("<IIII", 0, 0, 0, 4) + struct.pack("<III", 0, 0, 0)
    rows32 = [b"".join(bytes(bmp_colour(x, y)[::-1]) + bytes([255 if x < W // 2 else 0]) for x in range(W))
              for y in reversed(range(H))]  # fmt: skip
    write_bmp(kinds.setdefault("v5alpha", tmp / "v5alpha.bmp"), v5, rows32)
    # RLE8 and RLE4, written by hand: runs, an absolute run, end of line, end of bitmap.
    for bits in (8, 4):
        data = b""
        for y in reversed(range(H)):
            line = [idx[bmp_colour(x, y)] for x in range(W)]
            if y == 10:
                # An absolute run of the first 6 pixels (padded to 16 bits), then runs.
                n = 6
                raw = bytes(line[:n]) if bits == 8 else bytes((line[k] << 4) | line[k + 1] for k in range(0, n, 2))
                data += bytes([0, n]) + raw + b"\0" * (len(raw) % 2)
                rest = line[n:]
            else:
                rest = line
            k = 0
            while k < len(rest):
                v = rest[k]
                run = 1
                while k + run < len(rest) and rest[k + run] == v and run < 255:
                    run += 1
                data += bytes([run, v if bits == 8 else (v << 4) | v])
                k += run
            data += b"\0\0"
        data += b"\0\1"
        info = struct.pack("<IiiHHIIiiII", 40, W, H, 1, bits, 1 if bits == 8 else 2, len(data), 2835, 2835, 3, 0)
        palette = bytes([255, 255, 255, 0, 0, 0, 255, 0, 255, 0, 0, 0]) + (b"" if bits == 8 else b"\0" * 4 * 13)
        write_bmp(kinds.setdefault(f"rle{bits}", tmp / f"rle{bits}.bmp"), info, [data], palette=palette)
    return kinds


def test_every_bmp_kind_decodes_like_a_browser(cli, wasm, tmp_path):
    for name, path in bmp_kinds(tmp_path).items():
        img, report = pixelate(cli, path, "--block", "2", "--full-color")
        a = np.asarray(img)
        top, left, right = a[1, 10], a[20, 4], a[20, 30]
        if name == "1bit":
            assert tuple(top[:3]) == (255, 255, 255) and tuple(left[:3]) == (0, 0, 0), name
            continue
        assert tuple(top[:3]) == (255, 255, 255), f"{name}: the top bar is at the bottom (flipped?)"
        assert tuple(left[:3]) == (255, 0, 0), f"{name}: left {left}"
        if name == "v5alpha":
            assert left[3] == 255 and right[3] == 0, f"{name}: alpha mask ignored ({left}, {right})"
        else:
            assert tuple(right) == (0, 0, 255, 255), f"{name}: right {right}"
        same_in_module(wasm, path, ["--block", "2"], "block=2", cli)


@pytest.mark.skipif(shutil.which("convert-im6.q16") is None, reason="ImageMagick 6 is not installed")
def test_an_rle8_bmp_written_by_imagemagick_decodes(cli, tmp_path):
    src = bmp_kinds(tmp_path)["topdown8"]
    rle = tmp_path / "im-rle8.bmp"
    subprocess.run(["convert-im6.q16", str(src), "-compress", "RLE", f"BMP3:{rle}"], check=True)
    assert struct.unpack("<I", rle.read_bytes()[30:34])[0] == 1, "ImageMagick did not write RLE8"
    img, _ = pixelate(cli, rle, "--block", "2", "--full-color")
    a = np.asarray(img)
    assert tuple(a[1, 10][:3]) == (255, 255, 255) and tuple(a[20, 4][:3]) == (255, 0, 0)


# ---------------------------------------------------------------------------------------------
# Valid files with unusual features, damaged files, wrong facts in messages


def four_colour_jpegs(tmp: Path) -> dict[str, Path]:
    im = quadrants(64, 48, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)])
    base = tmp / "base.jpg"
    im.save(base, quality=90)
    out = {"qt16": tmp / "qt16.jpg"}
    im.save(out["qt16"], qtables=[[300] + [2] * 63, [300] + [2] * 63])
    data = bytearray(base.read_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 4] = 12
    out["p12"] = tmp / "p12.jpg"
    out["p12"].write_bytes(bytes(data))
    if shutil.which("jpegtran"):
        out["arith"] = tmp / "arith.jpg"
        subprocess.run(["jpegtran", "-arithmetic", "-outfile", str(out["arith"]), str(base)], check=True)
    if shutil.which("cjpeg"):
        ppm = tmp / "base.ppm"
        im.save(ppm)
        out["rst"] = tmp / "rst.jpg"
        subprocess.run(["cjpeg", "-progressive", "-restart", "1B", "-outfile", str(out["rst"]), str(ppm)], check=True)
    return out


def test_valid_jpegs_decode_or_say_which_feature_is_missing(cli, wasm, tmp_path):
    files = four_colour_jpegs(tmp_path)
    for name in ("qt16", "rst"):
        if name in files:
            img, _ = pixelate(cli, files[name], "--block", "4", "--full-color")
            pillow = Image.open(files[name]).convert("RGB")
            for g, w in zip(quadrant_means(img), quadrant_means(pillow)):
                assert close(g, w, 2), (name, g, w)
    unsupported = {"p12": "12-bit JPEG is not supported", "arith": "arithmetic-coded JPEG is not supported"}
    for name, words in unsupported.items():
        if name not in files:
            continue
        message = refused(cli, files[name])
        assert words in message and "malformed" not in message, message
        answer = pixelate_in_module(wasm, files[name].read_bytes())
        assert_error(answer, 415, "unsupported_feature", words)


def test_damaged_pngs_are_reported_in_words(cli, wasm, tmp_path):
    buf = io.BytesIO()
    quadrants(64, 48, UPRIGHT).save(buf, "PNG")
    good = buf.getvalue()
    idat = good.find(b"IDAT")
    length = struct.unpack(">I", good[idat - 4 : idat])[0]
    bad_crc = bytearray(good)
    bad_crc[idat + 4 + length] ^= 0xFF  # the chunk's CRC, its data intact
    bad_data = bytearray(good)
    bad_data[idat + 4] ^= 0xFF  # the zlib stream's first byte, the CRC made to match it
    bad_data[idat + 4 + length : idat + 8 + length] = struct.pack(">I", zlib.crc32(bytes(bad_data[idat : idat + 4 + length])))
    for name, data, words in [("crc", bad_crc, "checksum"), ("deflate", bad_data, "compressed image data is damaged")]:
        path = tmp_path / f"damaged-{name}.png"
        path.write_bytes(bytes(data))
        message = refused(cli, path)
        assert words in message, message
        assert "[" not in message and "Mismatch" not in message and "Huffman" not in message, f"debug text: {message}"
        answer = pixelate_in_module(wasm, bytes(data))
        assert_error(answer, 422, "malformed", words)


def test_a_truncated_progressive_jpeg_says_so(cli, tmp_path):
    y, x = np.mgrid[0:256, 0:256]
    rgb = np.stack([x, y, 255 - (x + y) // 2], axis=-1).astype(np.uint8)
    full = tmp_path / "full.jpg"
    Image.fromarray(rgb).save(full, quality=90, progressive=True)
    cut = tmp_path / "cut.jpg"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    message = refused(cli, cut)
    assert "truncated" in message, message


def test_a_jpeg_far_too_small_for_its_declared_size_is_refused_at_once(cli, wasm, tmp_path):
    # A 16x16 JPEG whose frame header is changed to declare 7900x7900 (62 MP, within the pixel
    # limit): the decoder would pad the missing data with made-up colours for a minute.
    small = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(small, "JPEG", quality=90)
    data = bytearray(small.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 7900, 7900)
    path = tmp_path / "lies.jpg"
    path.write_bytes(bytes(data))
    message = refused(cli, path)
    assert "7900x7900" in message and "damaged or the file is cut off" in message, message
    answer = pixelate_in_module(wasm, bytes(data), "")
    assert_error(answer, 422, "malformed", "damaged or the file is cut off")
    # Metadata does not count as image data: 130 KB of XMP after SOI changes nothing.
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + b"x" * 60_000
    segment = b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
    padded = path.with_name("padded.jpg")
    padded.write_bytes(bytes(data[:2]) + segment + segment + bytes(data[2:]))
    message = refused(cli, padded)
    assert "damaged or the file is cut off" in message, message


def test_an_oversized_input_is_refused_without_a_made_up_size(cli, tmp_path):
    message = refused(cli, Path("/dev/zero"))
    assert "larger than 64 MiB" in message, message
    assert "67108865" not in message


def test_a_frame_bigger_than_its_canvas_is_refused_before_its_pixels_are_decoded(cli, wasm, tmp_path):
    # A GIF whose logical screen is 10x10 but whose frame declares 8999x8999: the canvas would grow.
    frame = Image.new("P", (1, 1))
    buf = io.BytesIO()
    frame.save(buf, "GIF")
    gif = bytearray(buf.getvalue())
    struct.pack_into("<HH", gif, 6, 10, 10)
    at = gif.find(b"\x2c")
    struct.pack_into("<HH", gif, at + 5, 8999, 8999)
    path = tmp_path / "grows.gif"
    path.write_bytes(bytes(gif))
    message = refused(cli, path)
    assert "8999x8999" in message and "refused before decoding" in message, message
    assert_error(pixelate_in_module(wasm, path.read_bytes()), 413, "too_many_pixels", "8999x8999")


# ---------------------------------------------------------------------------------------------
# Memory and output bounds


def peak_rss_kib(command: list[str]) -> int:
    """The command's peak resident set size, measured by a fresh Python whose only child it is
    (this process's own children include the cargo builds)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "sys.stderr.write(done.stderr.decode())\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, timeout=600)
    code, kib = out.stdout.split()
    assert code == "0", out.stderr
    return int(kib)


def flat_png(path: Path, w: int, h: int) -> Path:
    """A w×h flat PNG, a few KB however large (written row by row without holding the image)."""
    raw = zlib.compressobj(9)
    row = b"\0" + b"\x33\x66\x99" * w
    body = b"".join(raw.compress(row) for _ in range(h)) + raw.flush()

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_block_1_on_a_large_image_stays_within_one_and_a_half_decoded_images(cli, tmp_path):
    path = flat_png(tmp_path / "big.png", 8000, 8000)
    assert path.stat().st_size < 300_000
    peak_kib = peak_rss_kib([str(cli), "pixelate", str(path), "--block", "1", "-o", str(tmp_path / "out.png")])
    decoded_rgba = 8000 * 8000 * 4
    assert peak_kib * 1024 <= 1.5 * decoded_rgba, f"peak RSS {peak_kib // 1024} MiB for a {decoded_rgba >> 20} MiB image"


def test_block_1_on_a_large_image_in_the_module_answers_without_trapping(wasm, tmp_path):
    data = flat_png(tmp_path / "big.png", 6000, 6000).read_bytes()
    answer = pixelate_in_module(wasm, data, "block=1&grid=true")
    assert answer.status == 200, answer.text[:300]
    img = answer.image()
    assert img.size == (6000, 6000)


def test_an_output_bomb_is_refused_and_names_the_way_out(cli, wasm, tmp_path):
    path = flat_png(tmp_path / "small.png", 2000, 2000)
    assert path.stat().st_size < 20_000
    message = refused(cli, path, "--block", "1", "--scale", "64")
    assert "output would be 128000x128000" in message and "grid" in message and "scale" in message, message
    answer = pixelate_in_module(wasm, path.read_bytes(), "block=1&scale=64")
    assert_error(answer, 413, "output_too_large", "scale")


def test_animated_webp_keeps_its_frames_delays_and_one_palette(cli: Path, tmp_path: Path) -> None:
    """An animated WebP written by Pillow (libwebp), pixelated to an animated GIF: every frame,
    its delay and one palette (issue 14). Lossless, so the source colours are exact."""
    frames = []
    for i in range(3):
        frame = Image.new("RGBA", (64, 48), (30, 60 + 40 * i, 200, 255))
        ImageDraw.Draw(frame).rectangle((8 + 16 * i, 8, 23 + 16 * i, 23), fill=(230, 40, 40, 255))
        frames.append(frame)
    source = tmp_path / "anim.webp"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0, lossless=True)
    out = tmp_path / "anim.gif"
    done = subprocess.run(
        [str(cli), "pixelate", str(source), "-o", str(out), "--block", "8", "--colors", "4", "--json"],
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["frame_count"] == 3, report
    assert [f["delay_ms"] for f in report["frames"]] == [100, 200, 300], report
    with Image.open(out) as gif:
        assert gif.n_frames == 3
        colours = set()
        for index in range(3):
            gif.seek(index)
            assert gif.info["duration"] == [100, 200, 300][index]
            rgb = gif.convert("RGB")
            colours |= {c for _, c in rgb.getcolors(1 << 16)}
            # The red square moves with its frame: cell (1 + 2 * index, 1) is red.
            r, g, b = rgb.getpixel((8 * (1 + 2 * index) + 4, 12))
            assert r > 150 and g < 100, (index, (r, g, b))
    assert len(colours) <= 4, colours
