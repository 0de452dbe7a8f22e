#!/usr/bin/env python3
"""Pixel-art quality of Pixelsmith against Pillow, libimagequant and ImageMagick (issue 10).

    pip install -r benches/requirements.txt        # Pillow, numpy, scikit-image, imagequant
    apt-get install imagemagick-6.q16              # /usr/bin/convert-im6.q16
    PIXELSMITH_BIN=target/release/pixelsmith python3 benches/quality.py [--out DIR] [--images a,b]

In one run, on photos (the bundled fixtures and public-domain photos from scikit-image's data),
a flat logo with text and thin lines and an RGBA sprite (both drawn here), it renders Pixelsmith
(`pixelate IN --grid --json`, PICO-8, Game Boy and 16 adaptive colours, each of dither none,
floyd-steinberg, atkinson, bayer4, at --detail 0 and the --details given) and its peers on the
same grid. The peers get the linear-light box reference grid as input, so only palette matching
and dithering differ. Each output is scored against that reference (see quality_metrics.py for
the exact definitions), tables are printed per image and palette, and the output folder receives
a contact sheet per image, results.json and summary.md (the compact tables and target verdicts).

PIXELSMITH_BIN: the binary to judge (default: `cargo build --release`, then target/release/).
PIXELSMITH_BASELINE_BIN: optional second binary (e.g. a build from before issue 10), judged as
"Pixelsmith (baseline)" for the "adaptive 16 no worse than today" target.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from quality_color import linear_to_oklab, linear_to_u8, oklab_lch, u8_to_linear
from quality_inputs import cell_coverage, load_all, reference_grid
from quality_metrics import evaluate, near_flat_cells
from quality_report import print_image_tables, write_summary
from quality_sheet import contact_sheet
from quality_tools import palette_rgb, peers, run_pixelsmith

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PALETTES = ["pico-8", "game-boy", "adaptive16"]
DITHERS = ["none", "floyd-steinberg", "atkinson", "bayer4"]


def pixelsmith_binary():
    env = os.environ.get("PIXELSMITH_BIN")
    if env:
        return os.path.abspath(env)
    subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    return os.path.join(REPO, "target", "release", "pixelsmith")


def peer_input(ref_lin, opaque):
    """The reference grid as 8-bit sRGB; transparent cells take their nearest opaque cell's colour
    (so they neither add a fake colour to adaptive palettes nor leak black into diffusion)."""
    u8 = linear_to_u8(ref_lin)
    if opaque.all() or not opaque.any():
        return u8
    from scipy.ndimage import distance_transform_edt

    _, (iy, ix) = distance_transform_edt(~opaque, return_indices=True)
    return u8[iy, ix]


def reference_rgba(ref_lin, opaque):
    return np.dstack([linear_to_u8(ref_lin), np.where(opaque, 255, 0).astype(np.uint8)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/pixelsmith-quality", help="output folder")
    ap.add_argument("--images", default="", help="comma-separated subset of image names")
    ap.add_argument("--details", default="50,100", help="--detail strengths besides 0")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    binary = pixelsmith_binary()
    baseline = os.environ.get("PIXELSMITH_BASELINE_BIN")
    details = [int(x) for x in args.details.split(",") if x.strip()]
    only = set(args.images.split(",")) if args.images else None
    t0 = time.time()
    images = load_all(REPO, work, only)
    print(f"pixelsmith: {binary}" + (f"\nbaseline: {baseline}" if baseline else ""))
    print(f"images: {', '.join(f'{t.name} (block {t.block})' for t in images)}\n")

    results = []  # one dict per (image, palette, tool, dither, detail)
    checks = {}
    for t in images:
        ref_lin, opaque, _ = reference_grid(t.rgba, t.block)
        grid_in = peer_input(ref_lin, opaque)
        near = near_flat_cells(ref_lin, opaque)
        feats = None
        if t.features:
            green = oklab_lch(linear_to_oklab(u8_to_linear(np.array([0, 200, 64]))))[2]
            feats = {
                n: (cell_coverage(mask, t.block), float(green) if n == "green_dot" else None)
                for n, mask in t.features.items()
            }
        # Sanity check: Pixelsmith's own full-colour grid against this reference.
        full, rep = run_pixelsmith(
            binary, t.path, os.path.join(work, f"{t.name}-full.png"), t.block, "full-color", None
        )
        assert full.shape[:2] == ref_lin.shape[:2], (t.name, full.shape, ref_lin.shape)
        fm = evaluate(ref_lin, opaque, full)
        checks[t.name] = {
            "grid": f"{ref_lin.shape[1]}x{ref_lin.shape[0]}",
            "full_color_de00_mean": fm["de00_mean"],
            "full_color_de00_p95": fm["de00_p95"],
            "alpha_mismatch": fm["alpha_mismatch"],
            "color_profile": rep.get("color_profile"),
        }
        sheet_rows = []
        for pal in PALETTES:
            fixed = palette_rgb(pal) if pal != "adaptive16" else None
            tiles = []
            variants = [("Pixelsmith", binary, d, 0) for d in DITHERS]
            variants += [("Pixelsmith", binary, d, k) for k in details for d in DITHERS]
            if baseline:
                variants += [("Pixelsmith (baseline)", baseline, d, 0) for d in DITHERS]
            for tool, b, d, k in variants:
                tag = "ps" if tool == "Pixelsmith" else "base"
                png = os.path.join(work, f"{t.name}-{pal}-{d}-{k}-{tag}.png")
                grid, _ = run_pixelsmith(b, t.path, png, t.block, pal, d, detail=k)
                m = evaluate(ref_lin, opaque, grid, fixed, feats, near)
                results.append(dict(image=t.name, kind=t.kind, palette=pal, tool=tool, dither=d, detail=k, **m))
                if tool == "Pixelsmith" and (k == 0 or (k == details[0] and d == "none")):
                    short = {"none": "none", "floyd-steinberg": "FS", "atkinson": "Atkinson", "bayer4": "Bayer4"}[d]
                    tiles.append((f"Pixelsmith detail {k}" if k else f"Pixelsmith {short}", grid))
            for label, (cls, grid) in peers(grid_in, pal, work, f"{t.name}-{pal}").items():
                grid[..., 3] = np.where(opaque, 255, 0)  # peers got RGB: the reference's binary alpha
                m = evaluate(ref_lin, opaque, grid, fixed, feats, near)
                results.append(dict(image=t.name, kind=t.kind, palette=pal, tool=label, dither=cls, detail=0, **m))
                tiles.append((label, grid))
            sheet_rows.append((pal, tiles))
        print_image_tables(t.name, t.block, checks[t.name], [r for r in results if r["image"] == t.name])
        contact_sheet(
            os.path.join(out, f"sheet-{t.name}.png"),
            f"{t.name}, block {t.block}: source, reference grid, then each palette's outputs",
            t.rgba,
            reference_rgba(ref_lin, opaque),
            sheet_rows,
        )
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"checks": checks, "results": results}, f, indent=1)
    summary = write_summary(os.path.join(out, "summary.md"), results, checks, details)
    print(summary)
    print(f"\n{len(results)} outputs scored in {time.time() - t0:.0f} s; sheets, results.json and summary.md in {out}")


if __name__ == "__main__":
    main()
