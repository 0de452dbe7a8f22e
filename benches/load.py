"""Load check (issue 11): does a long-running server stay flat? Bounded, loopback only.

Starts the release `pixelsmith mcp --http 127.0.0.1:0` and sends it 2,000 mixed HTTP requests, then
`pixelsmith run-local` (the runner emulation + gateway, one process) and sends its gateway 2,000
more. Every 200 requests it samples the server process's resident memory (VmRSS in
/proc/PID/status), open file descriptors (/proc/PID/fd) and threads, and it prints a table and a
verdict: flat when the final sample is within 10 % RSS and 4 fds of the sample after warm-up.

Run from the repository root (builds what it needs unless the variables point at prebuilt files):
    python3 benches/load.py [requests] [mcp|gateway]   # default 2000 per server, both servers
    PIXELSMITH_BIN=... PIXELSMITH_WASM=... python3 benches/load.py

The MCP mix, per round of 20 requests (sequential, one client, a new connection per request):
- 2 whole sessions, 5 requests each: `initialize`, `notifications/initialized`, `tools/list`,
  `tools/call pixelate` (fixtures/horse.png as data_base64, block 16), `DELETE` of the session;
- 3 abandoned sessions: an `initialize` whose session is never used again (the server's session
  cap, 64 by default, must evict them: the warm-up point is after more than 64 of them);
- 3 `ping`s on one long-lived session;
- 2 invalid requests (malformed JSON, an unknown session id, no Accept header, GET without a
  session; in turn), each must get a 4xx;
- 2 stateless 2026-07-28 requests: `tools/list`, and a `pixelate` of a path outside the roots
  (an isError result).
The gateway mix, per round of 20: 6 `GET /health`, 6 `POST /pixelate` of horse.png (block 16,
through the module under the interpreter), 2 `GET /palettes`, 2 invalid (a body that is no image,
an unknown path), 2 abandoned connections (half a request line and headers, then closed), 2
`GET /` asking for JSON.

A request that does not get its expected status is counted as an error; the verdict needs none.
The loop stops after the requests or `DEADLINE_S` seconds, whichever comes first. Every target is
an address the script bound on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = Path(os.environ.get("PIXELSMITH_BIN", TARGET / "release" / "pixelsmith"))
WASM = Path(os.environ.get("PIXELSMITH_WASM", TARGET / "wasm32-wasip1" / "release" / "wasm-service.wasm"))
IMAGE = REPO / "fixtures" / "horse.png"
SAMPLE_EVERY = 200
WARM_UP = 600  # after the session cap (64) has been passed by the abandoned sessions
RSS_TOLERANCE = 0.10
FD_TOLERANCE = 4
DEADLINE_S = 900
TIMEOUT_S = 60
REVISION = "2025-11-25"
MODERN = "2026-07-28"


@dataclass
class Sample:
    requests: int
    seconds: float
    rss_kib: int
    fds: int
    threads: int
    errors: int


@dataclass
class Run:
    """One server under load: its process, the samples, and the requests that went wrong."""

    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    started: float = field(default_factory=time.monotonic)

    def sample(self) -> None:
        status = Path(f"/proc/{self.pid}/status").read_text()
        rss = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
        threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        self.samples.append(Sample(self.sent, time.monotonic() - self.started, rss, fds, threads, len(self.errors)))

    def count(self, what: str, ok: bool, detail: str = "") -> None:
        self.sent += 1
        if not ok:
            self.errors.append(f"request {self.sent} ({what}): {detail[:200]}")
        if self.sent % SAMPLE_EVERY == 0:
            self.sample()


def loopback(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", f"refusing a non-loopback target: {url}"
    return parts.hostname, parts.port, parts.path or "/"


def request(url: str, method: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    host, port, path = loopback(url)
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def messages(body: bytes) -> list[dict]:
    """JSON-RPC messages of a JSON or an SSE body."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        return [json.loads(text)]
    found = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip().startswith("{"):
            found.append(json.loads(line[5:]))
    return found


# --- the MCP server ---------------------------------------------------------------------------


class Mcp:
    """A JSON-RPC client speaking just enough Streamable HTTP for the mix."""

    ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}

    def __init__(self, url: str, run: Run, image_b64: str) -> None:
        self.url, self.run, self.image_b64, self.next_id = url, run, image_b64, 0

    def rpc(self, method: str, params: dict | None, session: str | None = None, extra: dict | None = None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        headers = dict(self.ACCEPT)
        if session:
            headers |= {"mcp-session-id": session, "mcp-protocol-version": REVISION}
        headers |= extra or {}
        status, hdrs, body = request(self.url, "POST", json.dumps(msg).encode(), headers)
        replies = [m for m in messages(body) if m.get("id") == self.next_id] if status == 200 else []
        return status, hdrs, replies[0] if replies else None

    def initialize(self) -> str | None:
        params = {"protocolVersion": REVISION, "capabilities": {}, "clientInfo": {"name": "load", "version": "0"}}
        status, hdrs, reply = self.rpc("initialize", params)
        session = hdrs.get("mcp-session-id")
        ok = status == 200 and reply is not None and "result" in reply and bool(session)
        self.run.count("initialize", ok, f"{status} {reply}")
        return session if ok else None

    def initialized(self, session: str) -> None:
        msg = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        headers = self.ACCEPT | {"mcp-session-id": session, "mcp-protocol-version": REVISION}
        status, _, body = request(self.url, "POST", json.dumps(msg).encode(), headers)
        self.run.count("notifications/initialized", status == 202, f"{status} {body[:200]!r}")

    def whole_session(self) -> None:
        session = self.initialize()
        if not session:
            return
        self.initialized(session)
        status, _, reply = self.rpc("tools/list", {}, session)
        tools = (reply or {}).get("result", {}).get("tools", [])
        self.run.count("tools/list", status == 200 and any(t["name"] == "pixelate" for t in tools), f"{status} {reply}")
        args = {"data_base64": self.image_b64, "block": 16, "output": "load.pixel.png"}
        status, _, reply = self.rpc("tools/call", {"name": "pixelate", "arguments": args}, session)
        result = (reply or {}).get("result", {})
        self.run.count("tools/call pixelate", status == 200 and result.get("isError") is False, f"{status} {str(reply)[:300]}")
        headers = {"mcp-session-id": session, "mcp-protocol-version": REVISION}
        status, _, _ = request(self.url, "DELETE", None, headers)
        self.run.count("DELETE session", status in (200, 202, 204), str(status))

    def ping(self, session: str) -> None:
        status, _, reply = self.rpc("ping", None, session)
        self.run.count("ping", status == 200 and reply is not None and "result" in reply, f"{status} {reply}")

    def invalid(self, which: int) -> None:
        if which == 0:
            status, _, body = request(self.url, "POST", b"{not json", dict(self.ACCEPT))
            what = "malformed JSON"
        elif which == 1:
            msg = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
            status, _, body = request(self.url, "POST", msg, self.ACCEPT | {"mcp-session-id": "no-such-session"})
            what = "unknown session"
        elif which == 2:
            msg = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
            status, _, body = request(self.url, "POST", msg, {"content-type": "application/json"})
            what = "no Accept header"
        else:
            status, _, body = request(self.url, "GET", None, {"accept": "text/event-stream"})
            what = "GET without a session"
        self.run.count(f"invalid: {what}", 400 <= status < 500, f"{status} {body[:200]!r}")

    def stateless(self, which: int) -> None:
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        headers = {"mcp-protocol-version": MODERN}
        if which == 0:
            status, _, reply = self.rpc("tools/list", {"_meta": meta}, extra=headers | {"mcp-method": "tools/list"})
            ok = status == 200 and len((reply or {}).get("result", {}).get("tools", [])) > 0
            self.run.count("2026-07-28 tools/list", ok, f"{status} {str(reply)[:300]}")
        else:
            params = {"name": "pixelate", "arguments": {"path": "/etc/hostname"}, "_meta": meta}
            extra = headers | {"mcp-method": "tools/call", "mcp-name": "pixelate"}
            status, _, reply = self.rpc("tools/call", params, extra=extra)
            ok = status == 200 and (reply or {}).get("result", {}).get("isError") is True
            self.run.count("2026-07-28 pixelate outside the roots", ok, f"{status} {str(reply)[:300]}")


def load_mcp(url: str, run: Run, total: int) -> None:
    client = Mcp(url, run, base64.b64encode(IMAGE.read_bytes()).decode())
    keeper = client.initialize()
    if keeper:
        client.initialized(keeper)
    deadline = time.monotonic() + DEADLINE_S
    round_no = 0
    while run.sent < total and time.monotonic() < deadline:
        for _ in range(2):
            client.whole_session()
        for _ in range(3):
            client.initialize()  # abandoned
        for _ in range(3):
            client.ping(keeper) if keeper else run.count("ping", False, "no long-lived session")
        client.invalid((2 * round_no) % 4)
        client.invalid((2 * round_no + 1) % 4)
        client.stateless(0)
        client.stateless(1)
        round_no += 1


# --- the gateway --------------------------------------------------------------------------------


def load_gateway(url: str, run: Run, total: int) -> None:
    image = IMAGE.read_bytes()
    host, port, _ = loopback(url)
    deadline = time.monotonic() + DEADLINE_S

    def get(path: str, want: int, what: str, headers: dict | None = None) -> None:
        status, _, body = request(url + path, "GET", None, headers)
        run.count(what, status == want, f"{status} {body[:200]!r}")

    while run.sent < total and time.monotonic() < deadline:
        for _ in range(6):
            get("/health", 200, "GET /health")
        for _ in range(6):
            status, hdrs, body = request(url + "/pixelate?block=16", "POST", image, {"content-type": "image/png"})
            ok = status == 200 and hdrs.get("content-type") == "image/png" and body[:8] == b"\x89PNG\r\n\x1a\n"
            run.count("POST /pixelate", ok, f"{status} {body[:200]!r}")
        for _ in range(2):
            get("/palettes", 200, "GET /palettes")
        status, _, body = request(url + "/pixelate", "POST", b"this is no image", {"content-type": "image/png"})
        run.count("invalid: no image", 400 <= status < 500, f"{status} {body[:200]!r}")
        get("/no-such-path", 404, "invalid: unknown path")
        for _ in range(2):
            with socket.create_connection((host, port), timeout=TIMEOUT_S) as sock:
                sock.sendall(b"POST /pixelate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len")
            run.count("abandoned connection", True)
        for _ in range(2):
            get("/", 200, "GET / (JSON)", {"accept": "application/json"})


# --- running and reporting ---------------------------------------------------------------------


def build() -> None:
    if "PIXELSMITH_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--bin", "pixelsmith"], cwd=REPO, check=True)
    if "PIXELSMITH_WASM" not in os.environ:
        subprocess.run(
            ["cargo", "build", "-p", "wasm-service", "--target", "wasm32-wasip1", "--release"], cwd=REPO, check=True
        )


def start(args: list[str], cwd: Path, pattern: str, labels: int) -> tuple[subprocess.Popen, list[str]]:
    """Starts the binary and waits for `labels` URLs matching `pattern` on stdout or stderr."""
    env = dict(os.environ, PIXELSMITH_LOG="warn", RUST_LOG="warn")
    proc = subprocess.Popen(
        [str(BIN), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace",
    )  # fmt: skip
    urls: list[str] = []
    found = threading.Event()

    def drain() -> None:
        for line in proc.stdout:
            match = re.search(pattern, line)
            if match and len(urls) < labels:
                urls.append(match.group(1))
                if len(urls) == labels:
                    found.set()

    threading.Thread(target=drain, daemon=True).start()
    if not found.wait(60):
        proc.kill()
        sys.exit(f"pixelsmith {' '.join(args)} printed no address")
    return proc, urls


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def verdict(run: Run) -> tuple[bool, str]:
    warm = next((s for s in run.samples if s.requests >= WARM_UP), None)
    final = run.samples[-1]
    if warm is None or warm is final:
        return False, f"too few requests for a verdict (warm-up is {WARM_UP})"
    rss_change = (final.rss_kib - warm.rss_kib) / warm.rss_kib
    fd_change = final.fds - warm.fds
    flat = rss_change <= RSS_TOLERANCE and fd_change <= FD_TOLERANCE and not run.errors
    text = (
        f"{'FLAT' if flat else 'NOT FLAT'}: after warm-up ({warm.requests} requests) RSS "
        f"{warm.rss_kib / 1024:.1f} → {final.rss_kib / 1024:.1f} MiB ({rss_change:+.1%}, limit +{RSS_TOLERANCE:.0%}), "
        f"fds {warm.fds} → {final.fds} ({fd_change:+d}, limit +{FD_TOLERANCE}), "
        f"{len(run.errors)} unexpected answers"
    )
    return flat, text


def report(run: Run) -> bool:
    print(f"\n### {run.name}\n")
    print("| requests | seconds | RSS (MiB) | open fds | threads | unexpected answers |")
    print("|---:|---:|---:|---:|---:|---:|")
    for i, s in enumerate(run.samples):
        label = "start" if i == 0 else "end, +1 s" if i == len(run.samples) - 1 else str(s.requests)
        print(f"| {label} | {s.seconds:.1f} | {s.rss_kib / 1024:.1f} | {s.fds} | {s.threads} | {s.errors} |")
    flat, text = verdict(run)
    print(f"\n{text}")
    for line in run.errors[:10]:
        print(f"  {line}")
    return flat


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    assert 0 < total <= 100_000 and which in ("mcp", "gateway", "both"), "usage: load.py [requests] [mcp|gateway]"
    build()
    ok = True
    with tempfile.TemporaryDirectory(prefix="pixelsmith-load-") as tmp:
        if which != "gateway":
            ok &= mcp_phase(Path(tmp), total)
        if which != "mcp":
            ok &= gateway_phase(Path(tmp), total)
    return 0 if ok else 1


def mcp_phase(tmp: Path, total: int) -> bool:
    proc, (url,) = start(["mcp", "--http", "127.0.0.1:0"], tmp, r"listening on (http://\S+/mcp)", 1)
    try:
        run = Run(f"`pixelsmith mcp --http` (Streamable HTTP), {total} requests", proc.pid)
        run.sample()
        load_mcp(url, run, total)
        time.sleep(1)  # let the last connections close before the final look
        run.sample()
    finally:
        stop(proc)
    return report(run)


def gateway_phase(tmp: Path, total: int) -> bool:
    proc, (url,) = start(["run-local", "--module", str(WASM)], tmp, r"^gateway\s+(http://\S+)", 1)
    try:
        run = Run(f"`pixelsmith run-local` (gateway + runner emulation), {total} requests", proc.pid)
        run.sample()
        load_gateway(url, run, total)
        time.sleep(1)
        run.sample()
    finally:
        stop(proc)
    return report(run)


if __name__ == "__main__":
    sys.exit(main())
