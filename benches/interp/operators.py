"""Wasm operators executed per request: our module against the original-like module.

A second cost model beside `run.sh`'s wasmi fuel. wasmtime's fuel counts every executed wasm
operator as 1 (local.get and i32.add alike), which is how a stack interpreter such as
WasmEdge's pays: one dispatch per operator. wasmi's fuel is register-based and leaves most local
traffic out, so the two differ; both are reported in BENCHMARKS.md section 7.

Usage (after `benches/interp/run.sh` has built both modules):
    pip install wasmtime numpy Pillow
    python3 benches/interp/operators.py [OURS.wasm ORIGINAL.wasm]

With `--phases` it also splits our coffee.png request at the engine's clock reads (the module
reads the clock between decoding, quantising and encoding).
"""

import base64
import struct
import sys
import tempfile
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
OURS = TARGET / "wasm32-wasip1/release/wasm-service.wasm"
ORIGINAL = TARGET / "original-like/wasm32-wasip1/release/original-like.wasm"
FUEL = 10**13


def run(engine, module, stdin, marks=None):
    """Operators executed (millions) by one `_start` with `stdin`; its stdout."""
    work = Path(tempfile.mkdtemp())
    (work / "in").write_bytes(stdin)
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["module.wasm"]
    wasi.stdin_file = str(work / "in")
    wasi.stdout_file = str(work / "out")
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    store.set_fuel(FUEL)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    if marks is not None:
        linker.allow_shadowing = True
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()

        def clock(caller, _id, _precision, out):
            marks.append(FUEL - store.get_fuel())
            caller.get("memory").write(caller, struct.pack("<Q", len(marks) * 10**6), out)
            return 0

        linker.define_func(
            "wasi_snapshot_preview1",
            "clock_time_get",
            wasmtime.FuncType([i32, i64, i32], [i32]),
            clock,
            access_caller=True,
        )
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    return (FUEL - store.get_fuel()) / 1e6, (work / "out").read_bytes()


def legacy(image, extra=""):
    """The original service's request shape."""
    encoded = base64.b64encode(image).decode()
    return f'{{"image_base64":"{encoded}","pixel_size":8,"color_levels":4{extra}}}'.encode()


def two_megapixel_jpeg(png):
    """A 1800x1200 JPEG (quality 85) from a bundled photo, as run.sh makes it."""
    import io

    from PIL import Image

    photo = Image.open(io.BytesIO(png)).convert("RGB").resize((1800, 1200), Image.BILINEAR)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=85)
    return out.getvalue()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ours_path, original_path = (Path(args[0]), Path(args[1])) if len(args) == 2 else (OURS, ORIGINAL)
    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    ours = wasmtime.Module.from_file(engine, str(ours_path))
    original = wasmtime.Module.from_file(engine, str(original_path))
    coffee = (ROOT / "fixtures/coffee.png").read_bytes()
    rocket = (ROOT / "fixtures/rocket.jpg").read_bytes()
    big = two_megapixel_jpeg(coffee)
    health = b'{"action":"health"}'
    cases = [
        ("health, {\"action\":\"health\"}", health, health),
        ("coffee.png 600x400 PNG, JSON/base64", legacy(coffee), legacy(coffee)),
        ("rocket.jpg 640x427 JPEG, full DCT", legacy(rocket), legacy(rocket)),
        ("rocket.jpg, ours with dct_scale=fast", legacy(rocket, ',"dct_scale":"fast"'), legacy(rocket)),
        ("2 MP JPEG, full DCT", legacy(big), legacy(big)),
        ("2 MP JPEG, ours with dct_scale=fast", legacy(big, ',"dct_scale":"fast"'), legacy(big)),
    ]
    print(f"modules: ours {ours_path.stat().st_size} bytes, original-like {original_path.stat().st_size} bytes\n")
    print("| request | ours (M operators) | original-like | ratio |")
    print("|---|---|---|---|")
    for name, ours_in, original_in in cases:
        mine, out = run(engine, ours, ours_in)
        assert b'"status":"ok"' in out, out[:300]
        theirs, out = run(engine, original, original_in)
        assert b'"status":"ok"' in out, out[:300]
        print(f"| {name} | {mine:.2f} | {theirs:.2f} | **{theirs / mine:.2f}x** |")
    if "--phases" in sys.argv:
        marks = []
        total, _ = run(engine, ours, legacy(coffee), marks)
        points = [0.0] + [m / 1e6 for m in marks] + [total]
        spans = [b - a for a, b in zip(points, points[1:])]
        names = ["stdin, JSON, base64", "decode + cell sums", "quantise", "encode PNG", "", "answer"]
        print("\nOurs on coffee.png (JSON shape), by phase (M operators):\n")
        for name, span in zip(names, spans):
            if name:
                print(f"- {name}: {span:.1f}")


if __name__ == "__main__":
    main()
