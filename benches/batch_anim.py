"""Animations and batches against ImageMagick doing the same job (issue 14), in one run, with ratios.

Two jobs, each with one palette shared by everything it makes (the point of both features):
- **clip**: a 100-frame 480x270 animated GIF (a pan across a bundled photo with a moving square)
  pixelated at block 4 with one 16-colour palette into an animated GIF.
  Pixelsmith: `pixelsmith pixelate clip.gif -o out.gif --block 4 --colors 16`.
  ImageMagick 6: one palette from all frames (`-coalesce -scale 25% +append -colors 16
  -unique-colors`), then `-coalesce -scale 25% -scale 400% +dither -remap palette.png
  -layers Optimize` — its per-frame scale/remap loop.
- **sprites**: a folder of 200 64x64 RGBA sprites pixelated at block 4 with one shared 16-colour
  palette into a folder. Pixelsmith: `pixelsmith pixelate sprites/ -o out/ --block 4 --colors 16
  --shared-palette`. ImageMagick 6: the palette from all sprites scaled and appended, then `mogrify -scale 25%
  -scale 400% +dither -remap palette.png` over the folder.

Wall time, median of `RUNS`; the ratio is ImageMagick's time over Pixelsmith's (> 1: Pixelsmith is
faster). ImageMagick is single-file per process here as people run it; Pixelsmith uses every core
for the sprite folder (rayon) and one for the animation.

Run from the repository root after `cargo build --release`:
    python3 benches/batch_anim.py
`PIXELSMITH_BIN` overrides the binary; `CONVERT`/`MOGRIFY` the ImageMagick 6 tools.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("PIXELSMITH_BIN", REPO / "target" / "release" / "pixelsmith"))
CONVERT = os.environ.get("CONVERT", "convert-im6.q16")
MOGRIFY = os.environ.get("MOGRIFY", "mogrify-im6.q16")
RUNS = 3


def make_clip(path: Path) -> None:
    """100 frames: a 480x270 window panning across astronaut.png, a red square crossing it."""
    photo = Image.open(REPO / "fixtures" / "astronaut.png").convert("RGB").resize((960, 540))
    frames = []
    for i in range(100):
        x = int(i * 4.8)
        frame = photo.crop((x, 135, x + 480, 405))
        ImageDraw.Draw(frame).rectangle((20 + 4 * i, 100, 60 + 4 * i, 140), fill=(220, 30, 40))
        frames.append(frame)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0)


def make_sprites(folder: Path) -> None:
    """200 sprites: a few filled shapes in a random hue family on a transparent background."""
    rng = random.Random(14)
    folder.mkdir()
    for i in range(200):
        sprite = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        base = [rng.randrange(256) for _ in range(3)]
        for _ in range(5):
            box = sorted(rng.sample(range(64), 2)), sorted(rng.sample(range(64), 2))
            color = tuple(max(0, min(255, c + rng.randrange(-60, 60))) for c in base) + (255,)
            draw.ellipse((box[0][0], box[1][0], box[0][1], box[1][1]), fill=color)
        sprite.save(folder / f"sprite{i:03}.png")


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def median_of(job) -> float:
    return statistics.median(job() for _ in range(RUNS))


def main() -> int:
    for tool in (CONVERT, MOGRIFY):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (apt install imagemagick-6.q16)", file=sys.stderr)
            return 2
    if not BIN.is_file():
        print(f"{BIN} is missing: cargo build --release", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_clip(work / "clip.gif")
        make_sprites(work / "sprites")

        def ours_clip() -> float:
            return timed([str(BIN), "pixelate", "clip.gif", "-o", "ours.gif", "--block", "4",
                          "--colors", "16"], work)

        def magick_clip() -> float:
            started = time.perf_counter()
            subprocess.run([CONVERT, "clip.gif", "-coalesce", "-scale", "25%", "+append", "+dither",
                            "-colors", "16", "-unique-colors", "clip-palette.png"], cwd=work, check=True)
            subprocess.run([CONVERT, "clip.gif", "-coalesce", "-scale", "25%", "-scale", "400%",
                            "+dither", "-remap", "clip-palette.png", "-layers", "Optimize",
                            "magick.gif"], cwd=work, check=True)
            return time.perf_counter() - started

        def ours_sprites() -> float:
            shutil.rmtree(work / "ours", ignore_errors=True)
            return timed([str(BIN), "pixelate", "sprites", "-o", "ours", "--block", "4",
                          "--colors", "16", "--shared-palette"], work)

        def magick_sprites() -> float:
            out = work / "magick"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            sprites = sorted(str(p) for p in (work / "sprites").iterdir())
            started = time.perf_counter()
            subprocess.run([CONVERT, *sprites, "-scale", "25%", "+append", "+dither", "-colors", "16",
                            "-unique-colors", "sprite-palette.png"], cwd=work, check=True)
            subprocess.run([MOGRIFY, "-path", str(out), "-scale", "25%", "-scale", "400%", "+dither",
                            "-remap", "sprite-palette.png", *sprites], cwd=work, check=True)
            return time.perf_counter() - started

        rows = []
        for name, ours, theirs in (("clip: 100-frame 480x270 GIF", ours_clip, magick_clip),
                                   ("sprites: 200 64x64 PNGs", ours_sprites, magick_sprites)):
            ours_s, theirs_s = median_of(ours), median_of(theirs)
            rows.append((name, ours_s, theirs_s))
        frames = Image.open(work / "ours.gif").n_frames
        print(f"machine: {os.cpu_count()} cores; median of {RUNS} runs; output frames: {frames}")
        print(f"{'job':32} {'pixelsmith':>11} {'imagemagick':>12} {'ratio':>7}")
        for name, ours_s, theirs_s in rows:
            print(f"{name:32} {ours_s * 1000:9.0f} ms {theirs_s * 1000:10.0f} ms {theirs_s / ours_s:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
