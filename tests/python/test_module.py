"""The wasm-service module under a WASI runtime nobody here wrote (PyPI `wasmtime`), fed exactly what
OSC's wasm runner feeds it.

The runner (see /work/shared/osc-platform.md) starts the module once per request with argv
["main.wasm"], no environment and no preopened directories; stdin is empty for `GET /`, otherwise the
POSTed text, hex-decoded to bytes when the whole body is hex. stdout comes back as UTF-8 text. So every
call here is a fresh instance with that configuration, the input goes through `runner_stdin` (the
runner's hex rule), and every output must be non-empty UTF-8 holding exactly one JSON line.

Run from the repository root:
    python -m pytest tests/python/test_module.py -q
The module is built once per session with `cargo build -p wasm-service --target wasm32-wasip1
--release`; `PIXELSMITH_WASM` points at a prebuilt module instead.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct

import pytest
from PIL import Image
from support import (
    FIXTURES,
    Module,
    assert_error,
    b64,
    call,
    envelope,
    is_envelope,
    open_png,
    png_bytes,
    post,
)

SIZE_BUDGET = 400 * 1024

# Every function of wasi_snapshot_preview1; WasmEdge implements all of them.
WASI_P1 = {
    "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get",
    "clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
    "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
    "fd_filestat_set_times", "fd_pread", "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite",
    "fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
    "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
    "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
    "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get",
    "sock_accept", "sock_recv", "sock_send", "sock_shutdown",
}  # fmt: skip

GAME_BOY = {(0x0F, 0x38, 0x0F), (0x30, 0x62, 0x30), (0x8B, 0xAC, 0x0F), (0x9B, 0xBC, 0x0F)}


# ---------------------------------------------------------------------------------------------
# Helpers


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {path} is missing")
    return path.read_bytes()


def quadrants(w: int = 64, h: int = 48) -> Image.Image:
    """Red, green / blue, white quadrants."""
    img = Image.new("RGB", (w, h))
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    for i, c in enumerate(colours):
        x0, y0 = (i % 2) * w // 2, (i // 2) * h // 2
        img.paste(c, (x0, y0, x0 + w // 2, y0 + h // 2))
    return img


# ---------------------------------------------------------------------------------------------
# The module file


def test_module_is_a_wasi_p1_core_module_with_start_and_memory(wasm: Module) -> None:
    data = wasm.path.read_bytes()
    # A core module is version 1, layer 0; a component has a different version/layer word.
    assert data[:8] == b"\0asm\x01\0\0\0", data[:8]
    exports = {e.name: type(e.type).__name__ for e in wasm.module.exports}
    assert exports.get("_start") == "FuncType"
    assert exports.get("memory") == "MemoryType"
    imports = [(i.module, i.name, type(i.type).__name__) for i in wasm.module.imports]
    assert imports, "a WASI command imports at least fd_read/fd_write"
    for module, name, kind in imports:
        assert module == "wasi_snapshot_preview1", (module, name)
        assert kind == "FuncType", (name, kind)
        assert name in WASI_P1, name
        # No sockets and no files: the runner gives neither.
        assert not name.startswith(("sock_", "path_")), name
    names = {name for _, name, _ in imports}
    assert {"fd_read", "fd_write"} <= names


def test_module_imports_parsed_from_the_binary_agree(wasm: Module) -> None:
    """Reads the import section straight from the bytes, independently of wasmtime."""
    data = wasm.path.read_bytes()

    def leb(at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, at

    def name(at: int) -> tuple[str, int]:
        n, at = leb(at)
        return data[at : at + n].decode(), at + n

    at, found = 8, []
    while at < len(data):
        section, size_at = data[at], at + 1
        size, body = leb(size_at)
        if section == 2:
            count, p = leb(body)
            for _ in range(count):
                mod, p = name(p)
                field, p = name(p)
                kind = data[p]
                assert kind == 0, f"non-function import {mod}.{field}"
                _, p = leb(p + 1)
                found.append((mod, field))
        at = body + size
    assert sorted(found) == sorted((i.module, i.name) for i in wasm.module.imports)


def test_module_fits_the_size_budget(wasm: Module) -> None:
    size = wasm.path.stat().st_size
    assert size <= SIZE_BUDGET, f"{size} bytes > {SIZE_BUDGET} (the original was 1,038,106)"


# ---------------------------------------------------------------------------------------------
# Routes


def test_empty_stdin_answers_health(wasm: Module) -> None:
    out = call(wasm, b"")
    assert out.status == 200 and out.doc["content_type"] == "application/json"
    body = out.doc["body"]
    assert body["status"] == "ok" and body["service"] == "pixelsmith"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", body["version"])
    assert body["limits"]["max_pixels"] > 0 and body["limits"]["max_stdin_bytes"] > 0
    assert envelope(wasm, method="GET", path="/health").doc == out.doc


def test_index_describes_routes_and_options(wasm: Module) -> None:
    out = envelope(wasm, path="/")
    assert out.status == 200
    routes = {(r["method"], r["path"]) for r in out.doc["body"]["routes"]}
    assert routes == {("GET", "/"), ("GET", "/health"), ("GET", "/palettes"), ("POST", "/pixelate")}
    options = {o["name"] for o in out.doc["body"]["pixelate_options"]}
    assert {"block", "colors", "palette", "levels", "dither", "report"} <= options


def test_palettes_lists_hex_colours(wasm: Module) -> None:
    out = envelope(wasm, method="GET", path="/palettes")
    palettes = {p["name"]: p for p in out.doc["body"]["palettes"]}
    gb = palettes["game-boy"]
    assert {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in gb["colors"]} == GAME_BOY
    for p in palettes.values():
        assert p["size"] == len(p["colors"]) and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in p["colors"])


def test_unknown_path_is_404_and_wrong_method_405(wasm: Module) -> None:
    assert_error(envelope(wasm, method="GET", path="/resize"), 404, "not_found", "/resize")
    out = envelope(wasm, method="GET", path="/pixelate")
    assert_error(out, 405, "method_not_allowed", "POST")
    assert out.doc["headers"] == {"allow": "POST"}
    out = envelope(wasm, method="DELETE", path="/health")
    assert_error(out, 405, "method_not_allowed", "GET")


# ---------------------------------------------------------------------------------------------
# Pixelating


def test_synthetic_quadrants_keep_their_exact_colours(wasm: Module) -> None:
    src = png_bytes(quadrants())
    out = envelope(
        wasm, method="POST", path="/pixelate", query="block=8&grid=true",
        content_type="image/png", body_base64=b64(src),
    )  # fmt: skip
    img = out.image().convert("RGBA")
    assert img.size == (8, 6)
    assert img.getpixel((0, 0)) == (255, 0, 0, 255)
    assert img.getpixel((7, 0)) == (0, 255, 0, 255)
    assert img.getpixel((0, 5)) == (0, 0, 255, 255)
    assert img.getpixel((7, 5)) == (255, 255, 255, 255)


def coffee_checks(img: Image.Image, src: Image.Image, block: int, max_colours: int) -> None:
    """Original size, constant within each block, at most `max_colours`, close to the source."""
    img = img.convert("RGB")
    assert img.size == src.size
    gw, gh = src.width // block, src.height // block
    grid = img.resize((gw, gh), Image.NEAREST)
    assert grid.resize(img.size, Image.NEAREST).tobytes() == img.tobytes(), "blocks are not uniform"
    colours = img.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) <= max_colours, len(colours or [])
    # Each cell against the source block's mean (sRGB box mean; the engine averages in linear light
    # and then quantises; coffee.png measures about 7, while swapped channels give about 70 and a
    # grid shifted by one cell about 20).
    means = src.convert("RGB").reduce(block)
    diffs = [abs(a - b) for a, b in zip(grid.tobytes(), means.tobytes())]
    assert sum(diffs) / len(diffs) < 12, sum(diffs) / len(diffs)


def test_coffee_as_hex_body_is_pixelated_with_defaults(wasm: Module) -> None:
    """What a curl user gets by POSTing `xxd -p coffee.png | tr -d '\\n'` as text/plain."""
    data = fixture("coffee.png")
    out = post(wasm, data.hex())
    assert out.status == 200 and out.doc["content_type"] == "image/png"
    coffee_checks(out.image(), open_png(data), block=8, max_colours=16)
    # The same request as an envelope with the defaults spelled out gives the same bytes.
    spelled = envelope(
        wasm, method="POST", path="/pixelate", query="block=8&colors=16",
        content_type="image/png", body_base64=b64(data),
    )  # fmt: skip
    assert spelled.doc["body_base64"] == out.doc["body_base64"]
    # And as a request line in front of the raw bytes, all hex-encoded.
    line = post(wasm, (b"POST /pixelate?block=8&colors=16\n" + data).hex())
    assert line.doc["body_base64"] == out.doc["body_base64"]


def test_request_line_routes_and_takes_options(wasm: Module) -> None:
    data = fixture("chelsea.png")
    out = post(wasm, (b"POST /pixelate?width=32&grid=true&palette=game-boy HTTP/1.1\r\n" + data).hex())
    img = out.image().convert("RGB")
    assert img.size == (32, 21)
    assert {c for _, c in img.getcolors(1 << 16)} <= GAME_BOY
    assert post(wasm, b"GET /palettes\n".hex()).status == 200
    assert_error(post(wasm, b"GET /nope\n".hex()), 404, "not_found")


def test_report_has_grid_palette_and_the_png(wasm: Module) -> None:
    data = fixture("coffee.png")
    out = envelope(
        wasm, method="POST", path="/pixelate?report=true", query="block=8&colors=16",
        content_type="image/png", body_base64=b64(data),
    )  # fmt: skip
    assert out.status == 200 and out.doc["content_type"] == "application/json"
    r = out.doc["body"]
    assert (r["format"], r["source_width"], r["source_height"]) == ("png", 600, 400)
    assert (r["grid_width"], r["grid_height"], r["block"]) == (75, 50, 8)
    assert 2 <= len(r["palette"]) <= 16
    png = base64.b64decode(r["png_base64"])
    assert r["png_bytes"] == len(png)
    img = open_png(png).convert("RGB")
    used = {"#%02x%02x%02x" % c for _, c in img.getcolors(1 << 16)}
    assert used == set(r["palette"])
    assert set(r["timings"]) == {"decode_ms", "palette_ms", "encode_ms", "total_ms"}
    # accept: application/json asks for the same report.
    by_accept = envelope(
        wasm, method="POST", path="/pixelate", accept="application/json",
        content_type="image/png", body_base64=b64(data),
    )  # fmt: skip
    assert by_accept.doc["body"]["png_base64"] == r["png_base64"]


def test_json_body_with_image_base64_and_options(wasm: Module) -> None:
    data = fixture("chelsea.png")
    out = envelope(
        wasm, method="POST", path="/pixelate", content_type="application/json",
        body={"image_base64": b64(data), "block": 6, "palette": "game-boy", "grid": True},
    )  # fmt: skip
    img = out.image().convert("RGB")
    assert img.size == (451 // 6 + 1, 300 // 6)
    assert {c for _, c in img.getcolors(1 << 16)} <= GAME_BOY


def test_alpha_survives_as_binary_transparency(wasm: Module) -> None:
    data = fixture("horse.png")
    src = open_png(data).convert("RGBA")
    out = envelope(
        wasm, method="POST", path="/pixelate", query="block=8&grid=true",
        content_type="image/png", body_base64=b64(data),
    )  # fmt: skip
    img = out.image().convert("RGBA")
    alphas = set(img.getchannel("A").tobytes())
    assert alphas <= {0, 255}
    # A cell that is fully transparent in the source is transparent in the output.
    src_alpha = src.getchannel("A").reduce(8)
    for (x, y) in [(0, 0), (img.width - 1, 0), (0, img.height - 1)]:
        if src_alpha.getpixel((x, y)) == 0:
            assert img.getpixel((x, y))[3] == 0, (x, y)
    if src_alpha.getextrema()[0] < 128:
        assert 0 in alphas


def test_jpeg_input(wasm: Module) -> None:
    data = fixture("rocket.jpg")
    out = post(wasm, data.hex())
    img = out.image()
    assert img.size == (640, 427)


def test_webp_follows_what_health_says_the_build_decodes(wasm: Module) -> None:
    buf = io.BytesIO()
    quadrants().save(buf, format="WEBP", lossless=True)
    formats = call(wasm, b"").doc["body"]["formats"]
    out = post(wasm, buf.getvalue().hex())
    if "webp" in formats:
        assert out.image().size == (64, 48)
    else:
        assert_error(out, 415, "unsupported_format", "WebP")


# ---------------------------------------------------------------------------------------------
# The original service's shapes


def test_legacy_health(wasm: Module) -> None:
    out = post(wasm, '{"action":"health"}')
    assert not is_envelope(out.doc)
    assert out.doc["status"] == "ok" and out.doc["service"] == "pixelsmith"


def test_legacy_pixelate_answers_flat_json_with_image_base64(wasm: Module) -> None:
    data = fixture("coffee.png")
    out = post(wasm, json.dumps({"image_base64": b64(data), "pixel_size": 8, "color_levels": 4}))
    doc = out.doc
    assert not is_envelope(doc) and doc["status"] == "ok", out.text[:300]
    assert (doc["width"], doc["height"], doc["pixel_size"]) == (600, 400, 8)
    assert (doc["grid_width"], doc["grid_height"]) == (75, 50)
    img = open_png(base64.b64decode(doc["image_base64"])).convert("RGB")
    levels = {0, 85, 170, 255}
    assert all(ch in levels for _, c in img.getcolors(1 << 16) for ch in c)


def test_legacy_errors_are_flat_with_http_status(wasm: Module) -> None:
    out = post(wasm, json.dumps({"image_base64": b64(b"not an image"), "pixel_size": 8}))
    assert out.doc["status"] == "error" and out.doc["http_status"] == 415 and out.doc["error"]
    out = post(wasm, '{"action":"resize"}')
    assert (out.doc["status"], out.doc["http_status"]) == ("error", 400)


# ---------------------------------------------------------------------------------------------
# Bad input: always a status and a message, never an empty or broken stdout


def test_garbage_text_is_400_listing_what_is_accepted(wasm: Module) -> None:
    assert_error(post(wasm, "hello module"), 400, "unrecognized_input", "request envelope")
    assert_error(post(wasm, "{not json"), 400, "invalid_json", "at byte")
    assert_error(post(wasm, '{"foo": 1}'), 400, "unrecognized_input", "foo")


def test_non_image_bytes_are_415(wasm: Module) -> None:
    assert_error(post(wasm, "00ff10fe" * 8), 415, "unsupported_format")


def test_truncated_png_is_422(wasm: Module) -> None:
    data = fixture("coffee.png")
    assert_error(post(wasm, data[: len(data) // 3].hex()), 422, "truncated")


def test_bomb_header_is_413_before_decoding(wasm: Module) -> None:
    data = bytearray(png_bytes(quadrants()))
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    assert_error(post(wasm, bytes(data).hex()), 413, "too_many_pixels", "100000x100000")


def test_bad_option_is_400(wasm: Module) -> None:
    src = b64(png_bytes(quadrants()))
    for query, mentions in [("block=0", "block"), ("colors=1", "colors"), ("dither=noise", "dither"),
                            ("sharpen=1", "unknown option `sharpen`")]:  # fmt: skip
        out = envelope(wasm, method="POST", path="/pixelate", query=query, body_base64=src)
        assert_error(out, 400, "invalid_option", mentions)


def test_envelope_mistakes_are_400(wasm: Module) -> None:
    assert_error(envelope(wasm, path="/", body_b64="AA=="), 400, "bad_request", "body_b64")
    out = envelope(wasm, method="POST", path="/pixelate", body_base64="@@@")
    assert_error(out, 400, "invalid_base64")
    assert_error(envelope(wasm, method="POST", path="/pixelate"), 400, "missing_image")


def test_any_prefix_or_mutation_still_gives_one_json_line(wasm: Module) -> None:
    data = png_bytes(quadrants(32, 32))
    inputs = [data[:n] for n in (1, 8, 9, 16, 24, 33, 40, len(data) - 12, len(data) - 1)]
    flipped = bytearray(data)
    for i in range(40, len(flipped), 7):
        flipped[i] ^= 0x5A
    inputs += [bytes(flipped), b"\xff" * 64, b"\x80\x81\x82", b"[" * 100_000, b'{"a":' * 10_000]
    for stdin in inputs:
        out = call(wasm, stdin)  # asserts UTF-8, one line, one JSON object
        # Decoders may accept a damaged tail (e.g. no IEND); then the answer must be a real PNG.
        if out.status == 200:
            out.image()
        else:
            assert 400 <= out.status < 500, out.text[:300]


def test_stdin_over_the_limit_is_413(wasm: Module) -> None:
    limit = call(wasm, b"").doc["body"]["limits"]["max_stdin_bytes"]
    assert_error(call(wasm, b" " * (limit + 1)), 413, "payload_too_large")
