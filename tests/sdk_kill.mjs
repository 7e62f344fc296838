// sdk_kill.mjs - real MCP clients across a kill -9 of the worker holding
// their Streamable HTTP session (issue 13). Run by tests/sdk_kill.sh, which
// installs the clients (pinned in tests/package.json) and starts the fake
// exchange and a two-worker `binmcpd --mode sse`. About 20 s.
//
// Three clients, one after the other, each over Streamable HTTP:
//   sdk-v1      @modelcontextprotocol/sdk's Client + StreamableHTTPClientTransport
//   client-v2   @modelcontextprotocol/client's Client + StreamableHTTPClientTransport
//   mcp-remote  the mcp-remote stdio bridge, driven by sdk-v1 over stdio
// Each one: connect (initialize), call get_ticker, then
//   1. kill -9 the worker that created its session (the pid in the daemon's
//      "Streamable HTTP session <slot>... created" log line) and call at
//      once, before the supervisor has replaced it;
//   2. call again once the replacement serves;
//   3. kill -9 each of the two workers then running, one at a time, and
//      call after each (wherever the session went, one of them held it).
// Asserted, as the caller sees it: every call resolves, isError false, with
// the fake's BTCUSDT lastPrice; and the session was never made again: no
// "session created" line in the daemon's log after the first call, and for
// the two SDK clients one initialize request and no 404 seen by their
// fetch.
//
// Environment (all required):
//   BINMCPD_PORT  the daemon's port on 127.0.0.1
//   BINMCPD_PID   the supervisor's pid (workers are its children)
//   BINMCPD_LOG   the daemon's log (standard error) file
//   EXPECT_LAST   BTCUSDT lastPrice the fake serves
//   MCP_REMOTE    mcp-remote's proxy.js
//
// Signals only the supervisor's own children, each checked in /proc to be
// one just before. Prints one "ok N - ..." / "not ok N - ..." line per
// check and exits 0 only when every check passed.

import { readFileSync, readdirSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as StreamableV2,
} from "@modelcontextprotocol/client";

const OVERALL_TIMEOUT_MS = 150000;
const CALL_TIMEOUT_MS = 10000; // one tool call, as the caller waits for it
const RESPAWN_MS = 8000; // a killed worker replaced and serving, at most
const GONE_MS = 3000; // a killed worker gone from /proc, at most
const KILL_SETTLE_MS = 200; // the event loop's turns after a kill

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
  const text = e?.message ?? String(e);
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${text} (${cause})` : text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const port = process.env.BINMCPD_PORT;
const supPid = Number(process.env.BINMCPD_PID);
const logPath = process.env.BINMCPD_LOG;
const expectLast = process.env.EXPECT_LAST;
const mcpRemote = process.env.MCP_REMOTE;
const base = `http://127.0.0.1:${port}`;

// ---- the daemon's processes ----

// The parent pid of pid from /proc/PID/stat, or 0 when it is gone or a
// zombie.
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] === "Z" ? 0 : Number(f[1]);
  } catch {
    return 0;
  }
}

// The supervisor's live children: its workers.
function workers() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (/^\d+$/.test(name) && parentOf(Number(name)) === supPid) {
      out.push(Number(name));
    }
  }
  return out.sort((a, b) => a - b);
}

async function health() {
  try {
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(3000) });
    return await r.json();
  } catch (e) {
    return { error: errText(e) };
  }
}

// Waits until two workers run and /health says so; returns the pids.
async function twoWorkers() {
  const end = Date.now() + RESPAWN_MS;
  for (;;) {
    const w = workers();
    const h = await health();
    if (w.length === 2 && h.workers_alive === 2) return w;
    if (Date.now() >= end) {
      check(false, `two workers serve within ${RESPAWN_MS} ms`,
            `${JSON.stringify(w)} ${JSON.stringify(h)}`);
      return w;
    }
    await sleep(50);
  }
}

// SIGKILL to pid, a worker of this daemon (checked first); waits until it
// is gone, then lets this process's event loop run a moment (200 ms,
// enough on a loaded machine), as it does between any two calls of a real
// client: the dead worker held the clients' pooled keep-alive
// connections, and fetch learns of their close only when its event loop
// reads it. A call made in the same instant is written into a socket the
// kernel already closed (UND_ERR_SOCKET), which no server can answer.
// Returns whether it was killed.
async function killWorker(pid) {
  if (parentOf(pid) !== supPid) {
    check(false, `pid ${pid} is a worker of supervisor ${supPid}`);
    return false;
  }
  process.kill(pid, "SIGKILL");
  const end = Date.now() + GONE_MS;
  while (parentOf(pid) === supPid && Date.now() < end) await sleep(10);
  await sleep(KILL_SETTLE_MS);
  return true;
}

function logText() {
  try {
    return readFileSync(logPath, "utf8");
  } catch {
    return "";
  }
}

// "session created" lines of the daemon's log after byte offset from, as
// { pid, worker, slot }.
function createdSince(from) {
  const re = /binmcpd\[(\d+)\]: \w+: worker (\d+): Streamable HTTP session ([0-9a-f]{8})\.\.\. created/g;
  const text = logText().slice(from);
  return [...text.matchAll(re)].map((m) => ({
    pid: Number(m[1]), worker: Number(m[2]), slot: m[3],
  }));
}

// ---- the clients ----

// A fetch that counts what the SDK clients send and get: initialize
// requests and 404 answers.
function countingFetch(seen) {
  return async (url, init) => {
    const body = typeof init?.body === "string" ? init.body : "";
    if (init?.method === "POST" && /"method"\s*:\s*"initialize"/.test(body)) {
      seen.initialize += 1;
    }
    const r = await fetch(url, init);
    if (r.status === 404) seen.status404 += 1;
    return r;
  };
}

// One tool call as the caller sees it: resolves with the fake's lastPrice,
// isError false, within CALL_TIMEOUT_MS.
async function tickerOk(label, client, when) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CALL_TIMEOUT_MS} ms`)),
                       CALL_TIMEOUT_MS + 1000);
  });
  try {
    const res = await Promise.race([
      client.callTool({ name: "get_ticker", arguments: { symbol: "BTCUSDT" } },
                      undefined, { timeout: CALL_TIMEOUT_MS }),
      timeout,
    ]);
    const last = String(res?.structuredContent?.lastPrice);
    return check(res?.isError !== true && last === expectLast,
                 `${label}: get_ticker ${when}`,
                 `isError ${res?.isError} lastPrice ${last} ` +
                 JSON.stringify(res?.content ?? res).slice(0, 200));
  } catch (e) {
    return check(false, `${label}: get_ticker ${when}`, errText(e));
  } finally {
    clearTimeout(timer);
  }
}

// The scenario of the header for one client. connect() returns
// { client, sessionId?, seen? } once initialized.
async function scenario(label, connect) {
  const from = logText().length;
  let c;
  try {
    c = await connect();
  } catch (e) {
    check(false, `${label}: connects over Streamable HTTP`, errText(e));
    return;
  }
  check(true, `${label}: connects over Streamable HTTP`);
  try {
    await tickerOk(label, c.client, "before any kill");
    // The session in use is the last one made so far: mcp-remote makes a
    // test session of its own first, then the one it forwards to.
    const made = createdSince(from).filter(
      (l) => c.sessionId === undefined || c.sessionId.startsWith(l.slot));
    const mark = logText().length;
    if (!check(made.length >= 1 && (c.sessionId === undefined || made.length === 1),
               `${label}: the log names the worker that created its session`,
               JSON.stringify(made))) {
      return;
    }
    const owner = made[made.length - 1].pid;
    if (await killWorker(owner)) {
      await tickerOk(label, c.client,
                     `at once after kill -9 of its session's worker (pid ${owner})`);
    }
    await twoWorkers();
    await tickerOk(label, c.client, "once the replacement serves");
    for (const pid of await twoWorkers()) {
      if (!(await killWorker(pid))) break;
      await twoWorkers();
      await tickerOk(label, c.client, `after kill -9 of worker pid ${pid} too`);
    }
    const again = createdSince(mark);
    check(again.length === 0,
          `${label}: no session made after the first call (no re-initialize)`,
          `${again.length} made: ${JSON.stringify(again)}`);
    if (c.seen !== undefined) {
      check(c.seen.initialize === 1, `${label}: one initialize request, no re-initialize`,
            `${c.seen.initialize} sent`);
      check(c.seen.status404 === 0, `${label}: no 404 reached its transport`,
            `${c.seen.status404} seen`);
    }
  } finally {
    await c.client.close().catch(() => {});
  }
}

function sdkV1() {
  const seen = { initialize: 0, status404: 0 };
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`),
                                                      { fetch: countingFetch(seen) });
  const client = new Client({ name: "binmcpd-sdk-kill-v1", version: "1.0.0" });
  return client.connect(transport, { timeout: CALL_TIMEOUT_MS })
    .then(() => ({ client, sessionId: transport.sessionId, seen }));
}

function clientV2() {
  const seen = { initialize: 0, status404: 0 };
  const transport = new StreamableV2(new URL(`${base}/mcp`), { fetch: countingFetch(seen) });
  const client = new ClientV2({ name: "binmcpd-sdk-kill-v2", version: "1.0.0" });
  return client.connect(transport, { timeout: CALL_TIMEOUT_MS })
    .then(() => ({ client, sessionId: transport.sessionId, seen }));
}

function mcpRemoteBridge() {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [mcpRemote, `${base}/mcp`, "--transport", "http-only"],
    env: { ...process.env },
    stderr: "ignore",
  });
  const client = new Client({ name: "binmcpd-sdk-kill-mcp-remote", version: "1.0.0" });
  return client.connect(transport, { timeout: 30000 }).then(() => ({ client }));
}

async function main() {
  if (!port || !supPid || !logPath || !expectLast || !mcpRemote) {
    check(false, "BINMCPD_PORT, BINMCPD_PID, BINMCPD_LOG, EXPECT_LAST and MCP_REMOTE are set");
    return;
  }
  await twoWorkers();
  await scenario("sdk-v1", sdkV1);
  await twoWorkers();
  await scenario("client-v2", clientV2);
  await twoWorkers();
  await scenario("mcp-remote", mcpRemoteBridge);
  const h = await health();
  check(h.status === "ok" && h.workers_alive === 2,
        "the daemon still serves with two workers", JSON.stringify(h));
}

const watchdog = setTimeout(() => {
  check(false, `everything within ${OVERALL_TIMEOUT_MS} ms`);
  console.log(`sdk_kill: FAIL (${checks - failures}/${checks} checks)`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
try {
  await main();
} catch (e) {
  check(false, "unexpected error", e?.stack ?? String(e));
}
clearTimeout(watchdog);
console.log(`sdk_kill: ${failures === 0 ? "PASS" : "FAIL"} ` +
            `(${checks - failures}/${checks} checks)`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
