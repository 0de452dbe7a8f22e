"""MCP Inspector's CLI (npm `@modelcontextprotocol/inspector@0.15.0`) against the real `pixelsmith mcp`.

The Inspector fills tool arguments from the input schema: a property typed `["integer","null"]` made it
send `width=64` as the string "64", and the call failed. These tests call `pixelate` with numeric and
boolean arguments the way a user types them (`--tool-arg width=16`) and check `tools/list` has plain
types for optional arguments.

Needs `npm ci --prefix tests/inspector` and `cargo build`; `.ci/run` installs them. Locally, without
the Inspector and without CI set, the tests skip; in CI they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSPECTOR = REPO / "tests" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


def missing(what: str) -> None:
    """No silent skips in CI: a missing tool fails there, and skips only on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (bash .ci/run installs it)")
    pytest.skip(what)


def inspector(cli: Path, cwd: Path, *args: str) -> dict:
    if not INSPECTOR.exists():
        missing(f"{INSPECTOR} is missing (npm ci --prefix tests/inspector)")
    if shutil.which("node") is None:
        missing("node is not installed")
    out = subprocess.run(
        [str(INSPECTOR), "--cli", str(cli), "mcp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"inspector failed:\n{out.stdout}\n{out.stderr}"
    return json.loads(out.stdout)


def test_inspector_calls_pixelate_with_numbers_and_booleans(cli: Path, tmp_path: Path) -> None:
    shutil.copy(REPO / "fixtures" / "horse.png", tmp_path / "horse.png")
    result = inspector(
        cli, tmp_path, "--method", "tools/call", "--tool-name", "pixelate",
        "--tool-arg", "path=horse.png", "--tool-arg", "width=16", "--tool-arg", "colors=4",
        "--tool-arg", "grid=true", "--tool-arg", "vivid=true", "--tool-arg", "output=small.png",
    )  # fmt: skip
    assert result.get("isError") is not True, result
    report = result["structuredContent"]["report"]
    assert report["grid_width"] == 16 and report["output_width"] == 16, report
    assert len(report["palette"]) <= 4, report
    assert (tmp_path / "small.png").is_file()


def test_inspector_sees_plain_types_for_optional_arguments(cli: Path, tmp_path: Path) -> None:
    tools = inspector(cli, tmp_path, "--method", "tools/list")["tools"]
    assert len(tools) >= 7
    for tool in tools:
        for name, prop in tool["inputSchema"].get("properties", {}).items():
            kind = prop.get("type")
            assert not isinstance(kind, list), f"{tool['name']}.{name}: {kind}"
            assert "anyOf" not in prop or all(o.get("type") != "null" for o in prop["anyOf"]), (tool["name"], name)
