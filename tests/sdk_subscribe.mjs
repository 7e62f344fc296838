// sdk_subscribe.mjs - resource subscriptions of `binmcpd --mode sse` as the
// official MCP TypeScript SDK client sees them, over legacy HTTP+SSE
// (SSEClientTransport) and Streamable HTTP (StreamableHTTPClientTransport):
// a client subscribed to binance://orders/open receives
// notifications/resources/updated after an order placed by another session,
// owned by the other worker, fills at the fake exchange; updates are
// coalesced to one per notify_interval; binance://market/{symbol} follows
// the fake's streams; unsubscribe and bad URIs behave; a session's own
// account is followed too, and again after a kill -9 of the feed process.
//
// Run by tests/sdk_subscribe.sh, which installs the SDK and starts the fake
// exchange and the daemon (2 workers, the feed on, notify_interval 1 s).
//
// Environment:
//   BINMCPD_PORT  the daemon's port on 127.0.0.1 (required)
//   FAKEX_URL     the fake exchange's REST base URL (required)
//   DAEMON_PID    the daemon's supervisor (its feed child is killed once)
//   KEY_B, SECRET_B  account B of the fake, for a session's own account
//
// Prints one "ok N - ..." / "not ok N - ..." line per check and exits 0 only
// when every check passed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";

const OVERALL_TIMEOUT_MS = 100000;
const WAIT_MS = 8000;          // an update must come within this
const INTERVAL_MS = 1000;      // the daemon's notify_interval
const VERSION = "2025-06-18";

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

const port = process.env.BINMCPD_PORT;
const fx = process.env.FAKEX_URL;
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a second session, raw JSON-RPC over Streamable HTTP ----

// The JSON-RPC message of an answer (JSON, or the SSE events of a stream).
function answerOf(res) {
  if ((res.headers["content-type"] ?? "").includes("application/json"))
    return JSON.parse(res.text);
  for (const line of res.text.split("\n"))
    if (line.startsWith("data:") && line.length > 6) {
      const m = JSON.parse(line.slice(5));
      if (m.id !== undefined) return m;
    }
  return null;
}

// A POST on a connection of its own (fetch would reuse one, and so reach
// the same worker every time): {status, headers, text}.
function rawPost(sid, body) {
  const headers = { "content-type": "application/json",
                    accept: "application/json, text/event-stream" };
  if (sid) { headers["mcp-session-id"] = sid; headers["mcp-protocol-version"] = VERSION; }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/mcp", method: "POST",
                              headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

// A session owned by a worker other than `notWorker`: {sid, worker}.
async function sessionOnOtherWorker(notWorker) {
  for (let i = 0; i < 40; i++) {
    const res = await rawPost(null, { jsonrpc: "2.0", id: 1, method: "initialize",
      params: { protocolVersion: VERSION, capabilities: {},
                clientInfo: { name: "order-session", version: "1" } } });
    const sid = res.headers["mcp-session-id"];
    const worker = res.headers["x-binmcpd-worker"];
    await rawPost(sid, { jsonrpc: "2.0", method: "notifications/initialized" });
    if (worker !== notWorker) return { sid, worker };
    await fetch(`${base}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sid } });
    await sleep(20);
  }
  return null;
}

let rawId = 10;
async function rawTool(sid, name, args) {
  const m = answerOf(await rawPost(sid, { jsonrpc: "2.0", id: ++rawId,
    method: "tools/call", params: { name, arguments: args } }));
  return m?.result;
}

async function fakePost(path) {
  const res = await fetch(`${fx}${path}`, { method: "POST" });
  return { status: res.status, body: await res.text() };
}

// ---- the subscribed client ----

// Wraps fetch to learn which worker answered the first request: the one
// holding the legacy stream (GET /sse) or the Streamable session (POST
// initialize) owns the session.
function workerRecorder() {
  const rec = { worker: null };
  rec.fetch = async (url, init) => {
    const res = await fetch(url, init);
    const w = res.headers.get("x-binmcpd-worker");
    if (rec.worker === null && w !== null) rec.worker = w;
    return res;
  };
  return rec;
}

// Resolves with the number of updates for uri seen after `from`, once at
// least `n` arrived or ms passed.
function waitUpdates(log, uri, from, n, ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      const c = log.filter((e) => e.uri === uri && e.at > from).length;
      if (c >= n || Date.now() - t0 >= ms) return resolve(c);
      setTimeout(tick, 50);
    };
    tick();
  });
}

async function oneTransport(label, makeTransport) {
  const rec = workerRecorder();
  const client = new Client({ name: `binmcpd-sdk-subscribe-${label}`, version: "1.0.0" });
  const log = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    log.push({ uri: n.params.uri, at: Date.now() });
  });
  await client.connect(makeTransport(rec.fetch));
  check(client.getServerCapabilities()?.resources?.subscribe === true,
        `${label}: the server declares resources.subscribe`);
  check(rec.worker !== null, `${label}: the session's worker is known (X-Binmcpd-Worker)`);

  // A Streamable client opens its GET stream right after initialize; give
  // it a moment to be there before the first update.
  await client.subscribeResource({ uri: "binance://orders/open" });
  await client.subscribeResource({ uri: "binance://account/balances" });
  check(true, `${label}: subscribed to binance://orders/open and binance://account/balances`);
  await sleep(1500); // the account is followed, its snapshot taken
  let quiet = Date.now();

  // The order comes from another session, owned by the other worker.
  const other = await sessionOnOtherWorker(rec.worker);
  check(other !== null, `${label}: a second session on another worker than ${rec.worker}`,
        other ? `worker ${other?.worker}` : "none found");
  if (other === null) { await client.close(); return; }
  const placed = await rawTool(other.sid, "place_order", { symbol: "BTCUSDT", side: "BUY",
    type: "LIMIT", quantity: "0.001", price: "20000", time_in_force: "GTC" });
  const orderId = placed?.structuredContent?.orderId ??
    JSON.parse(placed?.content?.[0]?.text ?? "{}").orderId;
  check(placed && placed.isError !== true && orderId !== undefined,
        `${label}: the other session placed a LIMIT order`, JSON.stringify(placed)?.slice(0, 300));
  let n = await waitUpdates(log, "binance://orders/open", quiet, 1, WAIT_MS);
  check(n >= 1, `${label}: orders/open updated after the order was placed`, `${n} updates`);

  // The fill at the fake: the order leaves the open orders, balances move.
  await sleep(INTERVAL_MS + 200);
  const t1 = Date.now();
  const fill = await fakePost(`/__fake/fill?orderId=${orderId}`);
  check(fill.status === 200, `${label}: the fake filled order ${orderId}`, fill.body);
  n = await waitUpdates(log, "binance://orders/open", t1, 1, WAIT_MS);
  const latency = (log.find((e) => e.uri === "binance://orders/open" && e.at > t1)?.at ?? 0) - t1;
  check(n >= 1, `${label}: orders/open updated after the fill (${latency} ms)`, `${n} updates`);
  n = await waitUpdates(log, "binance://account/balances", t1, 1, WAIT_MS);
  check(n >= 1, `${label}: account/balances updated after the fill`, `${n} updates`);
  const orders = await client.readResource({ uri: "binance://orders/open" });
  const ordersText = orders.contents?.[0]?.text ?? "";
  check(!ordersText.includes(String(orderId)),
        `${label}: reading orders/open after the update no longer shows order ${orderId}`);
  check(ordersText.includes("Source: the account's user data stream (live"),
        `${label}: orders/open was read from the user data stream`, ordersText.slice(0, 300));
  const balances = await client.readResource({ uri: "binance://account/balances" });
  const balText = balances.contents?.[0]?.text ?? "";
  check(/USDT/.test(balText) && balText.includes("user data stream (live"),
        `${label}: balances read from the user data stream`, balText.slice(0, 300));

  // Coalescing: five orders and five cancels within about a second give
  // at most one update per notify_interval (and at least one).
  await sleep(INTERVAL_MS + 200);
  const t2 = Date.now();
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const r = await rawTool(other.sid, "place_order", { symbol: "BTCUSDT", side: "BUY",
      type: "LIMIT", quantity: "0.001", price: String(19000 + i), time_in_force: "GTC" });
    ids.push(r?.structuredContent?.orderId ?? JSON.parse(r?.content?.[0]?.text ?? "{}").orderId);
  }
  for (const id of ids)
    await rawTool(other.sid, "cancel_order", { symbol: "BTCUSDT", order_id: id });
  const burstMs = Date.now() - t2;
  await sleep(INTERVAL_MS * 2 + 500);
  const span = Date.now() - t2;
  n = log.filter((e) => e.uri === "binance://orders/open" && e.at > t2).length;
  const most = Math.floor(span / INTERVAL_MS) + 1;
  check(n >= 1 && n <= most,
        `${label}: 10 changes in ${burstMs} ms gave ${n} orders/open updates (1..${most} in ${span} ms)`);

  // Unsubscribed: no more updates for it.
  await client.unsubscribeResource({ uri: "binance://orders/open" });
  await sleep(300);
  const t3 = Date.now();
  await rawTool(other.sid, "place_order", { symbol: "BTCUSDT", side: "BUY",
    type: "LIMIT", quantity: "0.001", price: "18000", time_in_force: "GTC" });
  n = await waitUpdates(log, "binance://account/balances", t3, 1, WAIT_MS);
  const after = log.filter((e) => e.uri === "binance://orders/open" && e.at > t3).length;
  check(n >= 1 && after === 0,
        `${label}: after unsubscribe, balances still update (${n}) and orders/open does not (${after})`);

  // A market: the fake's streams move the book of BTCUSDT.
  await client.subscribeResource({ uri: "binance://market/BTCUSDT" });
  await sleep(1500);
  const t4 = Date.now();
  await fakePost("/__fake/stream/random?symbol=BTCUSDT&n=20&rate=50");
  n = await waitUpdates(log, "binance://market/BTCUSDT", t4, 1, WAIT_MS);
  check(n >= 1, `${label}: binance://market/BTCUSDT updated when its streams moved`, `${n} updates`);
  // A quiet market sends nothing (the feed's per-second statistics are
  // not a change of the resource).
  await sleep(INTERVAL_MS * 2 + 500);
  const t5 = Date.now();
  await sleep(INTERVAL_MS * 3);
  n = log.filter((e) => e.uri === "binance://market/BTCUSDT" && e.at > t5).length;
  check(n === 0, `${label}: a quiet market gave no update in 3 s`, `${n} updates`);

  // Bad input: an unknown resource and an unknown symbol.
  for (const uri of ["binance://nothing", "binance://market/NOSUCHCOIN"]) {
    let code = null;
    try { await client.subscribeResource({ uri }); } catch (e) { code = e.code; }
    check(code === -32002, `${label}: subscribing to ${uri} is -32002`, `got ${code}`);
  }
  await (await fetch(`${base}/mcp`, { method: "DELETE",
    headers: { "mcp-session-id": other.sid } })).text();
  await client.close();
}

// The feed process of the daemon (the child named binmcpd-feed), or 0.
function feedPid(daemonPid) {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
      const comm = readFileSync(`/proc/${d}/comm`, "utf8").trim();
      if (ppid === String(daemonPid) && comm === "binmcpd-feed") return Number(d);
    } catch { /* gone meanwhile */ }
  }
  return 0;
}

// A session with its own credentials (account B of the fake) follows its
// own account: the worker passes the key to the feed process. After a
// kill -9 of the feed, the restarted feed follows it again and updates go
// on.
async function sessionAccountAndFeedKill() {
  const label = "session account";
  const client = new Client({ name: "binmcpd-sdk-subscribe-own", version: "1.0.0" });
  const log = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    log.push({ uri: n.params.uri, at: Date.now() });
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  const conf = await client.callTool({ name: "configure_credentials",
    arguments: { api_key: process.env.KEY_B, api_secret: process.env.SECRET_B,
                 environment: "mainnet" } });
  check(conf.isError !== true, `${label}: configure_credentials with account B`,
        JSON.stringify(conf).slice(0, 400));
  await client.subscribeResource({ uri: "binance://orders/open" });
  await sleep(1500);
  let t = Date.now();
  const placed = await client.callTool({ name: "place_order", arguments: { symbol: "BTCUSDT",
    side: "BUY", type: "LIMIT", quantity: "0.001", price: "21000", time_in_force: "GTC" } });
  const orderId = placed?.structuredContent?.orderId ??
    JSON.parse(placed?.content?.[0]?.text ?? "{}").orderId;
  check(placed.isError !== true && orderId !== undefined,
        `${label}: placed an order on account B`, JSON.stringify(placed).slice(0, 300));
  let n = await waitUpdates(log, "binance://orders/open", t, 1, WAIT_MS);
  check(n >= 1, `${label}: orders/open of account B updated`, `${n} updates`);

  // watch_market order_filled with the account's stream live: the order's
  // status is asked once at the start, then only when the open orders
  // change (a quiet 5 s wait asks no more), and the fill ends the wait.
  const orderCalls = async () => JSON.parse(await (await fetch(
    `${fx}/__fake/stats?method=GET&path=/api/v3/order`)).text()).count;
  const c0 = await orderCalls();
  const quiet = await client.callTool({ name: "watch_market", arguments: {
    symbol: "BTCUSDT", condition: "order_filled", order_id: orderId, timeout_s: 5 } },
    undefined, { timeout: 20000 });
  const c1 = await orderCalls();
  check(quiet.isError !== true && c1 - c0 <= 2,
        `${label}: a quiet 5 s order_filled wait asked GET /api/v3/order ${c1 - c0} time(s) (<= 2)`,
        JSON.stringify(quiet).slice(0, 300));
  const waiting = client.callTool({ name: "watch_market", arguments: {
    symbol: "BTCUSDT", condition: "order_filled", order_id: orderId, timeout_s: 30 } },
    undefined, { timeout: 40000 });
  await sleep(1000);
  const tf = Date.now();
  const pfill = await fakePost(`/__fake/fill?orderId=${orderId}&qty=0.0005`);
  check(pfill.status === 200, `${label}: the fake filled half of order ${orderId}`, pfill.body);
  await sleep(300);
  await fakePost(`/__fake/fill?orderId=${orderId}`);
  const done = await waiting;
  const took = Date.now() - tf;
  const met = done?.structuredContent?.condition?.met;
  check(met === true, `${label}: watch_market order_filled ended on the fill in ${took} ms`,
        JSON.stringify(done).slice(0, 400));

  const daemonPid = Number(process.env.DAEMON_PID);
  const old = feedPid(daemonPid);
  check(old > 0, `${label}: the feed process is running (pid ${old})`);
  if (old > 0) {
    process.kill(old, "SIGKILL");
    let now = 0;
    for (let i = 0; i < 100 && (now === 0 || now === old); i++) {
      await sleep(100);
      now = feedPid(daemonPid);
    }
    check(now > 0 && now !== old, `${label}: the supervisor restarted the feed (pid ${now})`);
  }
  await sleep(INTERVAL_MS + 200);
  const again = await client.callTool({ name: "place_order", arguments: { symbol: "BTCUSDT",
    side: "BUY", type: "LIMIT", quantity: "0.001", price: "21000", time_in_force: "GTC" } });
  const orderId2 = again?.structuredContent?.orderId ??
    JSON.parse(again?.content?.[0]?.text ?? "{}").orderId;
  check(again.isError !== true && orderId2 !== undefined,
        `${label}: placed another order while the feed restarts`);
  await sleep(INTERVAL_MS + 200);
  t = Date.now();
  const fill = await fakePost(`/__fake/fill?orderId=${orderId2}`);
  check(fill.status === 200, `${label}: the fake filled order ${orderId2}`, fill.body);
  n = await waitUpdates(log, "binance://orders/open", t, 1, WAIT_MS + 6000);
  check(n >= 1, `${label}: after the feed's restart, orders/open of account B updated again`,
        `${n} updates`);
  const orders = await client.readResource({ uri: "binance://orders/open" });
  check(!(orders.contents?.[0]?.text ?? "").includes(String(orderId2)),
        `${label}: orders/open no longer shows order ${orderId2}`);
  await client.close();
}

const overall = setTimeout(() => {
  console.log(`not ok ${checks + 1} - gave up after ${OVERALL_TIMEOUT_MS} ms`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

try {
  await oneTransport("streamable", (f) =>
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch: f }));
  await oneTransport("sse", (f) => new SSEClientTransport(new URL(`${base}/mcp/sse`), { fetch: f }));
  await sessionAccountAndFeedKill();
} catch (e) {
  check(false, "no exception", e?.stack ?? String(e));
}
clearTimeout(overall);
console.log(`sdk_subscribe: ${failures === 0 ? "PASS" : "FAIL"} (${checks - failures}/${checks} checks)`);
process.exit(failures === 0 ? 0 : 1);
