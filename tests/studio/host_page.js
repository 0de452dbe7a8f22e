// Test-only: the host side of an MCP Apps view, played by the extension's own SDK. The official
// MCP client connects to the real `pixelsmith mcp` (through host.mjs), reads the UI resource the
// `pixelate` tool links, loads it into a sandboxed iframe under the extension's default CSP, and an
// AppBridge speaks to it. Everything the test checks is recorded in `window.hostLog`.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const UI = "io.modelcontextprotocol/ui";
const MIME = "text/html;profile=mcp-app";
// The CSP a host must apply when the resource declares none (SEP-1865, "Restrictive Default").
const CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; connect-src 'none'";
const log = (window.hostLog = { calls: [], results: [], sizes: [], errors: [], initialized: false });
const state = (text) => { document.getElementById("state").textContent = text; };
window.addEventListener("error", (e) => log.errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => log.errors.push(String(e.reason && e.reason.stack || e.reason)));

const info = { name: "pixelsmith-test-host", version: "1.0.0" };
const client = new Client(info, { capabilities: { extensions: { [UI]: { mimeTypes: [MIME] } } } });
await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", location.href)));

const { tools } = await client.listTools();
const tool = tools.find((t) => t.name === "pixelate");
const uri = tool._meta.ui.resourceUri;
const { resources } = await client.listResources();
const read = await client.readResource({ uri });
const view = read.contents[0];
log.resource = { uri, mimeType: view.mimeType, listed: resources.map((r) => [r.uri, r.mimeType]), bytes: view.text.length };

const iframe = document.getElementById("view");
const bridge = new AppBridge(client, info, { serverTools: {}, serverResources: {}, logging: {} }, {
  hostContext: { theme: "dark", displayMode: "inline", platform: "web", toolInfo: { tool } },
});
bridge.onsizechange = (size) => {
  log.sizes.push(size);
  if (size.height) iframe.style.height = `${size.height}px`;
};
// What an agent's call looks like to the view: the arguments, then the server's result.
const agentArgs = { path: "horse.png", block: 8, palette: "game-boy" };
bridge.oninitialized = async () => {
  log.initialized = true;
  state("initialized");
  await bridge.sendToolInput({ arguments: agentArgs });
  const result = await client.callTool({ name: "pixelate", arguments: agentArgs });
  log.agentResult = result;
  await bridge.sendToolResult(result);
  state("result sent");
};
window.setTheme = (theme) => bridge.setHostContext({ theme, displayMode: "inline", platform: "web", toolInfo: { tool } });

await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
// The view's tools/call go to the real server, recorded on the way (set after connect(), which
// installs the bridge's own forwarding handler).
bridge.oncalltool = async (params) => {
  log.calls.push(params);
  const result = await client.callTool(params);
  log.results.push(result.isError ? "error" : result.structuredContent.report.grid_width);
  return result;
};
iframe.srcdoc = view.text.replace(/<head>/i, `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
state("view loading");
