// Test-only: the official TypeScript MCP SDK v2 (`@modelcontextprotocol/client`) as a client of
// the real `pixelsmith mcp`, for tests/python/test_ts_client.py.
//
//   node client.mjs <legacy|auto> '<calls JSON>' stdio <pixelsmith binary> <working dir>
//   node client.mjs <legacy|auto> '<calls JSON>' http <http://127.0.0.1:PORT/mcp>
//
// `legacy` negotiates 2025-11-25 with `initialize`; `auto` probes `server/discover` and takes
// 2026-07-28 when the server offers it. Connects, lists the tools, makes each call of the JSON
// list `[{"name": ..., "arguments": {...}}, ...]` in order (the test passes a `pixelate` with
// numeric and boolean arguments and one that must fail), and prints one JSON document with what it
// saw; the Python test checks it. A protocol error on a call is recorded, not thrown, so the test
// can tell "a result with isError" from "a JSON-RPC error". The SDK itself validates structured
// content against each tool's output schema and throws if it does not match.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const [mode, callsJson, kind, target, cwd] = process.argv.slice(2);
if (!["legacy", "auto"].includes(mode) || !callsJson || !["stdio", "http"].includes(kind) || !target) {
  console.error("usage: node client.mjs <legacy|auto> CALLS_JSON (stdio BIN CWD | http URL)");
  process.exit(2);
}
const calls = JSON.parse(callsJson);

const transport =
  kind === "stdio"
    ? new StdioClientTransport({
        command: target,
        args: ["mcp"],
        cwd,
        env: { ...process.env, PIXELSMITH_LOG: "warn" },
        stderr: "inherit",
      })
    : new StreamableHTTPClientTransport(new URL(target));

const client = new Client(
  { name: "pixelsmith-ts-client-test", version: "0.0.0" },
  { versionNegotiation: { mode } },
);

// A call's outcome: the result as the SDK returns it, or the protocol error it threw.
async function call(name, args) {
  try {
    return { result: await client.callTool({ name, arguments: args }) };
  } catch (error) {
    return { threw: { name: error?.name, code: error?.code, message: String(error?.message ?? error) } };
  }
}

await client.connect(transport);
const seen = {
  protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
  era: client.getProtocolEra() ?? null,
  server: client.getServerVersion() ?? null,
};
const { tools } = await client.listTools();
seen.tools = tools.map((t) => ({ name: t.name, inputSchema: t.inputSchema, hasOutputSchema: !!t.outputSchema }));
seen.calls = [];
for (const { name, arguments: args } of calls) {
  seen.calls.push(await call(name, args));
}
await client.close();
process.stdout.write(JSON.stringify(seen) + "\n");
