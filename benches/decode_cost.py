"""What exact decoding costs (issue 9), in one run: JPEG at full DCT scale against the fast reduced
scale, natively and in the module under the runner emulation's interpreter, and peak memory of a
50 MP photo at block 1 and block 8 against Pillow doing the same job.

Run from the repository root (release build; ImageMagick not needed, Pillow is):
    PIXELSMITH_BIN=target/release/pixelsmith python3 benches/decode_cost.py [runs]

- Native: `pixelsmith pixelate --json`, the engine's own `timings.total_ms` (process start-up not
  counted), median of N runs.
- Module: `pixelsmith run-local` (the module under wasmi, the stand-in for OSC's WasmEdge
  interpreter, which is 6-10x slower in absolute terms), `POST /pixelate` with the raw JPEG through
  the gateway, wall time per request, median of N.
- Memory: peak RSS (`ru_maxrss` of the child) of one process per job: Pixelsmith's CLI, and a Python
  process running Pillow's `open` → `convert("RGB")` → `resize(BOX)` to the grid → `quantize(16)` →
  `resize(NEAREST)` back to the source size → `save` (Pillow's own import counted in its figure,
  ~25 MB).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("PIXELSMITH_BIN", REPO / "target" / "release" / "pixelsmith"))
MODULE = REPO / "target" / "wasm32-wasip1" / "release" / "wasm-service.wasm"

PILLOW_JOB = r"""
import sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
src, out, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
im = Image.open(src).convert("RGB")
w, h = im.size
grid = im.resize(((w + block - 1) // block, (h + block - 1) // block), Image.BOX)
del im
q = grid.quantize(16)
q.resize((w, h), Image.NEAREST).save(out)
"""


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like test image: the bundled chelsea.png scaled up, with sensor-like noise so the JPEG
    carries real detail at every size."""
    base = Image.open(REPO / "fixtures" / "chelsea.png").convert("RGB").resize((width, height), Image.LANCZOS)
    rng = np.random.default_rng(seed)
    arr = np.asarray(base, dtype=np.int16) + rng.normal(0, 6, (height, width, 1)).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples)


def native_ms(path: Path, args: list[str], runs: int) -> float:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            out = subprocess.run(
                [str(BIN), "pixelate", str(path), "-o", f"{tmp}/out.png", "--json", *args],
                check=True, capture_output=True, text=True,
            )
            times.append(json.loads(out.stdout)["timings"]["total_ms"])
    return median_ms(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunLocal:
    """`pixelsmith run-local` on loopback for the duration of a `with` block."""

    def __enter__(self) -> "RunLocal":
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(BIN), "run-local", "--module", str(MODULE), "--runner-port", str(free_port()),
             "--gateway-port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("run-local did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def pixelate_ms(self, body: bytes, query: str) -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/pixelate?{query}", data=body,
            headers={"content-type": "image/jpeg"}, method="POST",
        )
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as answer:
            answer.read()
            assert answer.status == 200, answer.status
        return (time.perf_counter() - start) * 1000


# Linux carries a process's peak RSS across fork and exec, so a child forked from this (large)
# process would report at least our own peak. A fresh, small launcher process forks the job instead
# and reports the job's own `ru_maxrss` (KiB) and wall time.
LAUNCHER = r"""
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, time.perf_counter() - start, os.waitstatus_to_exitcode(status))
"""


def peak_rss_mib(cmd: list[str]) -> tuple[float, float]:
    """Runs `cmd`; returns (its peak RSS in MiB, wall seconds)."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], capture_output=True, text=True, check=True)
    kib, seconds, code = out.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {out.stderr[-500:]}")
    return int(kib) / 1024, float(seconds)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    if not MODULE.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "wasm-service", "--target", "wasm32-wasip1", "--release"],
                       cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        jpegs = {
            "rocket.jpg (bundled, 4:2:0)": REPO / "fixtures" / "rocket.jpg",
        }
        for name, size, sub in [("2 MP photo, 4:2:0", (1732, 1155), 2), ("2 MP photo, 4:4:4", (1732, 1155), 0)]:
            path = tmp / f"{len(jpegs)}.jpg"
            photo(*size).save(path, quality=85, subsampling=sub)
            jpegs[name] = path
        big = tmp / "12mp.jpg"
        photo(4240, 2832).save(big, quality=90)

        print("## JPEG: full DCT scale (default) against --dct-scale fast, block 8, 16 colours\n")
        print("| image | native full | native fast | full / fast | module full | module fast | full / fast |")
        print("|---|---|---|---|---|---|---|")
        with RunLocal() as local:
            for name, path in jpegs.items():
                nf = native_ms(path, [], runs)
                nq = native_ms(path, ["--dct-scale", "fast"], runs)
                body = path.read_bytes()
                local.pixelate_ms(body, "block=8")  # warm-up
                mf = median_ms([local.pixelate_ms(body, "block=8") for _ in range(runs)])
                mq = median_ms([local.pixelate_ms(body, "block=8&dct_scale=fast") for _ in range(runs)])
                print(f"| {name} | {nf:.1f} ms | {nq:.1f} ms | {nf / nq:.2f}x | {mf:.0f} ms | {mq:.0f} ms | {mf / mq:.2f}x |")
        nf = native_ms(big, [], max(3, runs // 2))
        nq = native_ms(big, ["--dct-scale", "fast"], max(3, runs // 2))
        print(f"| 12 MP photo, 4:2:0 (native only: over the runner's 1 MiB body) | {nf:.1f} ms | {nq:.1f} ms | {nf / nq:.2f}x | | | |")

        print("\n## Peak memory: a 50 MP photo (8660x5774 JPEG), 16 colours, output at the source's size\n")
        huge = tmp / "50mp.jpg"
        photo(8660, 5774, seed=2).save(huge, quality=90)
        decoded_mib = 8660 * 5774 * 4 / 2**20
        print(f"Decoded RGBA would be {decoded_mib:.0f} MiB.\n")
        print("| block | Pixelsmith peak RSS | time | Pillow peak RSS | time | Pillow / Pixelsmith (RSS) | Pixelsmith / decoded RGBA |")
        print("|---|---|---|---|---|---|---|")
        for block in (1, 8):
            ours, t_ours = peak_rss_mib([str(BIN), "pixelate", str(huge), "-o", str(tmp / "o.png"), "--block", str(block)])
            pil, t_pil = peak_rss_mib([sys.executable, "-c", PILLOW_JOB, str(huge), str(tmp / "p.png"), str(block)])
            print(f"| {block} | {ours:.0f} MiB | {t_ours:.1f} s | {pil:.0f} MiB | {t_pil:.1f} s | {pil / ours:.2f}x | {ours / decoded_mib:.2f}x |")


if __name__ == "__main__":
    main()
