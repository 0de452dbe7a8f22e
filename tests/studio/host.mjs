// Test-only MCP Apps host for tests/python/test_studio.py.
//
//   node tests/studio/host.mjs <pixelsmith binary> <root folder>
//
// Starts the real `pixelsmith mcp --http 127.0.0.1:0` in <root folder>, bundles host_page.js (the
// host side: the official MCP client + ext-apps' AppBridge) with esbuild, and serves on loopback:
//   GET /        the host page, with an empty sandboxed iframe for the view
//   GET /host.js the bundle
//   /mcp         passed through to the real server (same origin for the page's MCP client)
// Prints `host http://127.0.0.1:PORT/` when ready; stops the server on SIGTERM or stdin EOF.

import http from "node:http";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as esbuild from "esbuild";

const [bin, root] = process.argv.slice(2);
if (!bin || !root) {
  console.error("usage: node host.mjs <pixelsmith binary> <root folder>");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));

const server = spawn(bin, ["mcp", "--http", "127.0.0.1:0"], {
  cwd: root,
  stdio: ["ignore", "ignore", "pipe"],
  env: { ...process.env, PIXELSMITH_LOG: "warn" },
});
const stop = () => { server.kill("SIGTERM"); process.exit(0); };
process.on("SIGTERM", stop);
process.stdin.on("end", stop).resume();
server.on("exit", (code) => { console.error(`pixelsmith mcp exited (${code})`); process.exit(1); });

// The server prints its address on stderr; the rest of stderr goes through for test logs.
const upstream = await new Promise((resolve, reject) => {
  let seen = "";
  server.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    seen += chunk;
    const m = /listening on (http:\/\/[\d.:]+)\/mcp/.exec(seen);
    if (m) resolve(new URL(m[1]));
  });
  setTimeout(() => reject(new Error("pixelsmith mcp did not start in 30 s")), 30_000);
});

const bundle = await esbuild.build({
  entryPoints: [path.join(here, "host_page.js")],
  bundle: true, write: false, format: "esm", platform: "browser", target: "chrome120", logLevel: "warning",
});
const hostJs = bundle.outputFiles[0].text;

const PAGE = `<!doctype html><meta charset="utf-8"><title>MCP Apps test host</title>
<style>body{margin:0;font:14px system-ui}iframe{box-sizing:border-box;width:100%;height:900px;border:1px solid #888}</style>
<p id="state">starting</p>
<iframe id="view" title="Pixelsmith Studio (MCP App)" sandbox="allow-scripts"></iframe>
<script type="module" src="/host.js"></script>`;

const app = http.createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  } else if (req.url === "/host.js") {
    res.writeHead(200, { "content-type": "text/javascript" }).end(hostJs);
  } else if (req.url.startsWith("/mcp")) {
    const headers = { ...req.headers, host: upstream.host };
    delete headers.origin; // the server sees a loopback client, as from any local MCP host
    const up = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  } else {
    res.writeHead(404).end();
  }
});
app.listen(0, "127.0.0.1", () => console.log(`host http://127.0.0.1:${app.address().port}/`));
