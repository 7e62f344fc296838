// sdk_http.mjs - interop check of `binmcpd --mode sse` with the official MCP
// TypeScript SDK client (@modelcontextprotocol/sdk, pinned in
// tests/package.json): the legacy HTTP+SSE transport (SSEClientTransport)
// and Streamable HTTP (StreamableHTTPClientTransport). Run by
// tests/sdk_http.sh, which installs the SDK and starts the fake exchange and
// the daemon.
//
// Environment:
//   BINMCPD_PORT  the daemon's port on 127.0.0.1 (required)
//   EXPECT_LAST   BTCUSDT lastPrice the fake serves (required)
//
// Prints one "ok N - ..." / "not ok N - ..." line per check and exits 0 only
// when every check passed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { fileURLToPath, pathToFileURL } from "node:url";
// The shared get_chart check needs no package, so it is imported from the
// source tree ($SDK_CHART_MJS) rather than copied next to node_modules.
const { checkChart } = await import(pathToFileURL(
  process.env.SDK_CHART_MJS ?? fileURLToPath(new URL("./sdk_chart.mjs", import.meta.url))).href);

const OVERALL_TIMEOUT_MS = 45000;
const REQUEST_TIMEOUT_MS = 15000;
const SESSIONS_GONE_MS = 8000; // the daemon runs with --keepalive 1
const MIN_TOOLS = 18;

let checks = 0;
let failures = 0;

function check(cond, what, detail) {
  checks += 1;
  if (cond) {
    console.log(`ok ${checks} - ${what}`);
  } else {
    failures += 1;
    console.log(`not ok ${checks} - ${what}${detail ? `: ${detail}` : ""}`);
  }
  return cond;
}

function errText(e) {
  return e?.stack ?? e?.message ?? String(e);
}

const port = process.env.BINMCPD_PORT;
const expectLast = process.env.EXPECT_LAST;
const base = `http://127.0.0.1:${port}`;
const opts = { timeout: REQUEST_TIMEOUT_MS };

async function health() {
  const r = await fetch(`${base}/health`);
  return r.json();
}

// The same session, whichever transport carries it: initialize (done by
// connect), tools/list, tools/call get_ticker, a call with progress, ping.
async function session(label, transport) {
  const client = new Client({ name: `binmcpd-sdk-${label}`, version: "1.0.0" });
  try {
    await client.connect(transport, opts);
    const info = client.getServerVersion();
    check(info?.name === "binmcpd", `${label}: initialize, serverInfo.name is binmcpd`,
          JSON.stringify(info));

    const { tools } = await client.listTools(undefined, opts);
    check(Array.isArray(tools) && tools.length >= MIN_TOOLS,
          `${label}: tools/list has at least ${MIN_TOOLS} tools`, `got ${tools?.length}`);
    check(tools.some((t) => t.name === "get_ticker"), `${label}: get_ticker listed`);

    let res;
    try {
      res = await client.callTool(
        { name: "get_ticker", arguments: { symbol: "BTCUSDT" } }, undefined, opts);
      check(true, `${label}: get_ticker accepted by the SDK (outputSchema valid)`);
    } catch (e) {
      check(false, `${label}: get_ticker accepted by the SDK`, errText(e));
    }
    if (res !== undefined) {
      check(res.isError !== true, `${label}: get_ticker isError is false`,
            JSON.stringify(res.content));
      check(String(res.structuredContent?.lastPrice) === expectLast,
            `${label}: get_ticker lastPrice is ${expectLast}`,
            JSON.stringify(res.structuredContent?.lastPrice));
    }

    // Progress: the SDK adds _meta.progressToken when onprogress is given.
    // Counted as the transport delivers the messages: SDK 1.32.2 runs
    // notification handlers in a microtask, so when the progress and the
    // response come in one read (as they do on SSEClientTransport's
    // EventSource), onprogress is never called although the notifications
    // arrived first.
    const seen = [];
    const deliver = transport.onmessage;
    transport.onmessage = (m, extra) => {
      seen.push(m);
      deliver?.(m, extra);
    };
    try {
      const r = await client.callTool(
        { name: "fetch", arguments: { id: "BTCUSDT" } }, undefined,
        { ...opts, onprogress: () => {} });
      const at = seen.findIndex((m) => m.id !== undefined && m.method === undefined);
      const token = seen[at]?.id;
      const before = seen.slice(0, at < 0 ? 0 : at).filter(
        (m) => m.method === "notifications/progress" &&
               m.params?.progressToken === token).length;
      check(r.isError !== true && before >= 1,
            `${label}: fetch with a progress token: progress before the response`,
            `progress=${before} ${JSON.stringify(r.content).slice(0, 200)}`);
    } catch (e) {
      check(false, `${label}: fetch with a progress token`, errText(e));
    } finally {
      transport.onmessage = deliver;
    }

    await checkChart(client, check, opts, `${label}: `);

    try {
      await client.ping(opts);
      check(true, `${label}: ping`);
    } catch (e) {
      check(false, `${label}: ping`, errText(e));
    }
    return client;
  } catch (e) {
    check(false, `${label}: session with binmcpd`, errText(e));
    await client.close().catch(() => {});
    return undefined;
  }
}

async function waitNoSessions() {
  const end = Date.now() + SESSIONS_GONE_MS;
  let h;
  for (;;) {
    try {
      h = await health();
    } catch (e) {
      h = { error: String(e) };
    }
    if (h.sessions === 0 || Date.now() >= end) return h;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  if (!port || !expectLast) {
    check(false, "BINMCPD_PORT and EXPECT_LAST are set");
    return;
  }

  // ---- legacy HTTP+SSE ----
  const sse = new SSEClientTransport(new URL(`${base}/mcp/sse`));
  const c1 = await session("sse", sse);
  if (c1 !== undefined) {
    const h = await health();
    check(h.sessions === 1, "sse: /health counts the open stream",
          JSON.stringify(h));
    await c1.close().catch((e) => check(false, "sse: close", errText(e)));
    const after = await waitNoSessions();
    check(after.sessions === 0, "sse: the session is gone after close()",
          JSON.stringify(after));
  }

  // ---- Streamable HTTP ----
  const http = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  const c2 = await session("http", http);
  if (c2 !== undefined) {
    const sid = http.sessionId;
    check(typeof sid === "string" && sid.length > 0,
          "http: the transport holds an Mcp-Session-Id", String(sid));
    const h = await health();
    check(h.sessions === 1, "http: /health counts the session",
          JSON.stringify(h));
    try {
      await http.terminateSession();
      check(http.sessionId === undefined, "http: terminateSession() (DELETE)");
    } catch (e) {
      check(false, "http: terminateSession() (DELETE)", errText(e));
    }
    // terminateSession() also takes a 405 as success: check the id is dead.
    const r = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": String(sid),
        "mcp-protocol-version": http.protocolVersion ?? "2025-11-25",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "ping" }),
    });
    const body = await r.text();
    check(r.status === 404, "http: the terminated session id is 404",
          `${r.status} ${body}`);
    await c2.close().catch((e) => check(false, "http: close", errText(e)));
    const after = await waitNoSessions();
    check(after.sessions === 0, "http: no session left", JSON.stringify(after));
  }
}

const watchdog = setTimeout(() => {
  check(false, `everything within ${OVERALL_TIMEOUT_MS} ms`);
  console.log(`sdk_http: FAIL (${checks - failures}/${checks} checks)`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
try {
  await main();
} catch (e) {
  check(false, "unexpected error", errText(e));
}
clearTimeout(watchdog);
console.log(`sdk_http: ${failures === 0 ? "PASS" : "FAIL"} ` +
            `(${checks - failures}/${checks} checks)`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
