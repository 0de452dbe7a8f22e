"""The official TypeScript MCP SDK v2 (npm `@modelcontextprotocol/client@2.4.0`) as a client of the
real `pixelsmith mcp`, over stdio and over Streamable HTTP, in both protocol revisions.

`tests/ts-client/client.mjs` connects (`legacy`: 2025-11-25 with `initialize`; `auto`: 2026-07-28
through `server/discover`), lists the tools, makes the calls in `CALLS` (`pixelate` on the bundled
astronaut with numeric and boolean arguments, then one that must fail) and prints what it saw as JSON. The SDK
validates structured content against the output schema on its own. These tests check the rest
against the fixture and the file written, decoded with Pillow.

Needs Node >= 20 and `npm ci --prefix tests/ts-client`; `.ci/run` installs them. Locally, without
them and without CI set, the tests skip; in CI they fail.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from support import McpHttp, missing, node

REPO = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO / "tests" / "ts-client"
SCRIPT = CLIENT_DIR / "client.mjs"
FIXTURE = REPO / "fixtures" / "astronaut.png"
GOLDEN_TOOLS = REPO / "tests" / "golden" / "tools_list.json"
WIDTH, COLORS = 32, 6
# What client.mjs calls: numbers and booleans as JSON numbers and booleans, then a path outside
# the roots, which must come back as a tool result with isError.
CALLS = [
    {"name": "pixelate", "arguments": {
        "path": FIXTURE.name, "width": WIDTH, "colors": COLORS, "grid": True, "vivid": True,
        "output": "astronaut.ts.png",
    }},
    {"name": "pixelate", "arguments": {"path": "/etc/hostname"}},
]  # fmt: skip
REVISION = {"legacy": ("2025-11-25", "legacy"), "auto": ("2026-07-28", "modern")}


def run_client(mode: str, *transport: str) -> dict:
    if not (CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "client").is_dir():
        missing(f"{CLIENT_DIR}/node_modules is missing (npm ci --prefix tests/ts-client)")
    env = {k: v for k, v in os.environ.items() if k != "PIXELSMITH_ROOTS"}
    out = subprocess.run(
        [node(20), str(SCRIPT), mode, json.dumps(CALLS), *transport],
        cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    what = f"client.mjs {mode} {' '.join(transport)}"
    assert out.returncode == 0, f"{what} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return json.loads(out.stdout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The server's working directory (its only root), with the fixture in it."""
    shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    return tmp_path


def png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG", img.format
    return img.convert("RGBA")


def check_session(seen: dict, mode: str, workdir: Path) -> None:
    """Everything client.mjs saw, checked against the request, the fixture and the file on disk."""
    version, era = REVISION[mode]
    assert (seen["protocolVersion"], seen["era"]) == (version, era), seen
    assert seen["server"]["name"] == "pixelsmith", seen["server"]

    golden = json.loads(GOLDEN_TOOLS.read_text())
    golden = golden["tools"] if isinstance(golden, dict) else golden
    assert [t["name"] for t in seen["tools"]] == [t["name"] for t in golden]
    assert all(t["hasOutputSchema"] for t in seen["tools"])
    props = next(t for t in seen["tools"] if t["name"] == "pixelate")["inputSchema"]["properties"]
    assert {k: props[k]["type"] for k in ("width", "colors", "grid", "vivid")} == {
        "width": "integer", "colors": "integer", "grid": "boolean", "vivid": "boolean",
    }  # fmt: skip

    # pixelate: a tool result, not a protocol error, with an image and the structured report.
    assert len(seen["calls"]) == len(CALLS)
    call = seen["calls"][0]
    assert "threw" not in call, call
    result = call["result"]
    texts = [c["text"] for c in result["content"] if c["type"] == "text"]
    assert result["isError"] is False, texts
    images = [c for c in result["content"] if c["type"] == "image"]
    assert len(images) == 1 and images[0]["mimeType"] == "image/png", [c["type"] for c in result["content"]]
    preview = png(base64.b64decode(images[0]["data"]))

    source = Image.open(FIXTURE)
    rows = round(WIDTH * source.height / source.width)
    structured = result["structuredContent"]
    report = structured["report"]
    assert (report["source_width"], report["source_height"]) == source.size
    assert (report["grid_width"], report["grid_height"]) == (WIDTH, rows), report
    assert (report["output_width"], report["output_height"]) == (WIDTH, rows), report  # grid=true
    assert 2 <= report["colors_used"] == len(report["palette"]) <= COLORS, report
    assert "grid=true" in structured["query"] and "vivid=true" in structured["query"], structured["query"]

    written = Path(structured["output_path"])
    assert written == (workdir / CALLS[0]["arguments"]["output"]).resolve()
    full = png(written.read_bytes())
    assert structured["output_bytes"] == written.stat().st_size
    assert full.size == (WIDTH, rows)
    used = {"#{:02x}{:02x}{:02x}".format(*px[:3]) for _, px in full.getcolors(WIDTH * rows)}
    assert used == set(report["palette"]), (sorted(used), report["palette"])
    assert preview.size == full.size and preview.tobytes() == full.tobytes()

    # A path outside the roots: a result with isError and a message to act on, not a JSON-RPC error.
    call = seen["calls"][1]
    assert "threw" not in call, call
    assert call["result"]["isError"] is True, call
    message = " ".join(c["text"] for c in call["result"]["content"] if c["type"] == "text")
    assert "outside the allowed roots" in message and "--allow-root" in message, message


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_ts_sdk_over_stdio(cli: Path, workdir: Path, mode: str) -> None:
    check_session(run_client(mode, "stdio", str(cli), str(workdir)), mode, workdir)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_ts_sdk_over_streamable_http(cli: Path, workdir: Path, mode: str) -> None:
    with McpHttp(cli, workdir) as server:
        seen = run_client(mode, "http", server.url)
        assert server.alive(), server.stderr
    check_session(seen, mode, workdir)
