"""The official Python MCP SDK (`mcp` 2.3) as a second, independent client of `pixelsmith mcp`.

Drives the real binary over stdio: lists the tools, pixelates a picture, builds the service,
checks the module, runs it locally and smoke-tests it, and makes a call that must fail as a tool
result. Both protocol revisions: the initialize handshake (mode="legacy", 2025-11-25) and
2026-07-28 without initialize.

Run from the repository root after `cargo build`:
    pytest tests/python/test_mcp.py
`PIXELSMITH_BIN` overrides the binary (default target/debug/pixelsmith).
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PIXELSMITH_BIN", REPO / "target" / "debug" / "pixelsmith"))
TOOLS = [
    "build_service", "call_service", "check_module", "deploy", "deployment_logs", "deployment_status",
    "list_deployments", "pixelate", "pixelate_batch", "remove_deployment", "restart_deployment", "run_local",
]  # fmt: skip

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if not BIN.is_file():
        pytest.fail(f"{BIN} is missing: run `cargo build` first (or set PIXELSMITH_BIN)")
    shutil.copy(REPO / "fixtures" / "horse.png", tmp_path / "horse.png")
    return tmp_path


def server(workdir: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k != "PIXELSMITH_ROOTS"}
    env["PIXELSMITH_LOG"] = "warn"
    return StdioServerParameters(
        command=str(BIN),
        args=["mcp", "--allow-root", str(REPO)],
        cwd=str(workdir),
        env=env,
    )


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def test_the_whole_flow_over_the_initialize_handshake(workdir: Path) -> None:
    async with Client(server(workdir), mode="legacy", read_timeout_seconds=1800) as client:
        assert client.protocol_version == "2025-11-25"
        assert client.server_info is not None and client.server_info.name == "pixelsmith"

        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert sorted(tools) == TOOLS
        assert tools["check_module"].annotations.read_only_hint is True
        assert tools["pixelate"].annotations.destructive_hint is True
        assert tools["run_local"].annotations.open_world_hint is False
        assert all(t.output_schema is not None for t in listed.tools)

        # pixelate: a file in the root, the grid, a preview image and the file on disk.
        result = await client.call_tool("pixelate", {"path": "horse.png", "width": 50, "levels": 4})
        assert not result.is_error, text_of(result)
        report = result.structured_content["report"]
        assert report["grid_width"] == 50
        assert (report["source_width"], report["source_height"]) == (400, 328)
        written = Path(result.structured_content["output_path"])
        assert written == (workdir / "horse.pixel.png").resolve()
        assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        images = [c for c in result.content if getattr(c, "type", "") == "image"]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"

        # build_service: the real cargo build in the repository, with progress.
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        result = await client.call_tool(
            "build_service", {"project_dir": str(REPO)}, progress_callback=on_progress
        )
        assert not result.is_error, text_of(result)
        built = result.structured_content
        assert built["module_path"].endswith("wasm32-wasip1/release/wasm-service.wasm")
        assert len(built["sha256"]) == 64 and built["size_bytes"] > 0
        assert built["check"]["passed"] is True
        assert progress and progress == sorted(progress), progress

        # check_module on what was built.
        result = await client.call_tool("check_module", {"path": built["module_path"]})
        assert not result.is_error, text_of(result)
        assert result.structured_content["passed"] is True
        probes = result.structured_content["dynamic"]["probes"]
        # GET /, a small pixelate, a large body (stdin drained), the error path (no trap).
        assert len(probes) == 4 and all(p["passed"] for p in probes), probes

        # run_local + call_service, then stop.
        result = await client.call_tool("run_local", {"module": built["module_path"]})
        assert not result.is_error, text_of(result)
        started = result.structured_content["started"]
        result = await client.call_tool("call_service", {"url": started["runner_url"], "block": 4})
        assert not result.is_error, text_of(result)
        assert result.structured_content["ok"] is True, result.structured_content
        result = await client.call_tool("run_local", {"action": "stop"})
        assert result.structured_content["stopped"] == [started["id"]]

        # A failing call is a tool result with a message to act on, not a protocol error.
        result = await client.call_tool("pixelate", {"path": "/etc/hostname"})
        assert result.is_error
        assert "outside the allowed roots" in text_of(result)
        assert "--allow-root" in text_of(result)


async def test_the_2026_07_28_revision_without_initialize(workdir: Path) -> None:
    async with Client(server(workdir), mode="2026-07-28") as client:
        assert client.protocol_version == "2026-07-28"
        listed = await client.list_tools()
        assert sorted(t.name for t in listed.tools) == TOOLS
        result = await client.call_tool("pixelate", {"path": "horse.png", "palette": "game-boy"})
        assert not result.is_error, text_of(result)
        assert len(result.structured_content["report"]["palette"]) <= 4
        result = await client.call_tool("check_module", {"path": "horse.png"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["passed"] is False
        assert result.structured_content["findings"][0]["rule"] == "not_wasm"


async def test_pixelate_batch_shares_one_palette_and_reports_each_file(workdir: Path) -> None:
    """Five sprites, a corrupt file, a text file and a symlink out of the roots, in one call."""
    import tempfile

    from PIL import Image

    sprites = workdir / "sprites"
    sprites.mkdir()
    for i in range(5):
        image = Image.new("RGB", (48, 32), (40 * i, 200 - 30 * i, 90 + 25 * i))
        for x in range(0, 48, 3):  # a second colour per sprite: the palette has work to do
            image.putpixel((x, x % 32), (250 - 40 * i, 30 * i, 60))
        image.save(sprites / f"sprite{i}.png")
    walk = [Image.new("RGB", (48, 32), (30, 60, 90)) for _ in range(3)]
    for k, frame in enumerate(walk):  # a square walking right: an animation stays one
        frame.paste((230, 200, 40), (8 + 12 * k, 8, 20 + 12 * k, 20))
    walk[0].save(sprites / "walk.gif", save_all=True, append_images=walk[1:], duration=100, loop=0)
    (sprites / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (sprites / "notes.txt").write_text("not an image")
    outside = Path(tempfile.mkdtemp())
    Image.new("RGB", (16, 16), (255, 0, 0)).save(outside / "secret.png")
    (sprites / "link.png").symlink_to(outside / "secret.png")

    progress: list[tuple[float, float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    async with Client(server(workdir), mode="legacy", read_timeout_seconds=300) as client:
        result = await client.call_tool(
            "pixelate_batch",
            {"paths": ["sprites"], "output_dir": "out", "shared_palette": True, "colors": 6, "grid": True},
            progress_callback=on_progress,
        )
        assert not result.is_error, text_of(result)
        report = result.structured_content
        assert (report["done"], report["failed"], report["skipped"]) == (6, 2, 1), report
        walked = next(f for f in report["files"] if f["input"].endswith("walk.gif"))
        assert walked["output"].endswith("walk.gif") and walked["frames"] == 3, walked
        with Image.open(walked["output"]) as out:
            assert out.n_frames == 3
        assert report["cancelled"] is False
        failures = {Path(f["input"]).name: f["error"] for f in report["files"] if not f["ok"]}
        assert set(failures) == {"broken.png", "link.png"}, failures
        assert "outside the allowed roots" in failures["link.png"]
        palette = {tuple(int(h[i : i + 2], 16) for i in (1, 3, 5)) for h in report["palette"]}
        assert 2 <= len(palette) <= 6, report["palette"]
        for entry in report["files"]:
            if entry["ok"]:
                with Image.open(entry["output"]) as out:
                    used = {c[:3] for _, c in out.convert("RGBA").getcolors(1 << 16)}
                assert used <= palette, (entry["output"], used, palette)
        assert not (workdir / "out" / "secret.png").exists()
        values = [v for v, _ in progress]
        assert values and values == sorted(values), progress
        assert all(total is not None and v <= total for v, total in progress), progress

        empty = await client.call_tool("pixelate_batch", {"paths": [], "output_dir": "out"})
        assert empty.is_error, text_of(empty)


async def test_a_long_pixelate_says_it_is_working_when_asked_for_progress(workdir: Path) -> None:
    # Seconds of diffusion at 256 colours in a debug build: hosts that time calls out restart
    # their clock on progress, and without it such a call could outlast them.
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(workdir / "noise.png")
    messages: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(server(workdir), mode="legacy", read_timeout_seconds=600) as client:
        result = await client.call_tool(
            "pixelate",
            {"path": "noise.png", "block": 1, "colors": 256, "dither": "floyd-steinberg"},
            progress_callback=on_progress,
        )
        assert not result.is_error, text_of(result)
    assert messages and all(m.startswith("working: ") for m in messages), messages
