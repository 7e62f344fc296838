// sdk_elicit.mjs - interop check of binmcpd's trading guard with the
// official MCP TypeScript SDK client (@modelcontextprotocol/sdk, pinned in
// tests/package.json): before a mainnet order goes out, binmcpd asks the
// client's user through elicitation/create, and only an accept with
// confirm: true lets it reach the exchange. Checked over stdio
// (StdioClientTransport spawning `binmcpd --mode stdio`) and over Streamable
// HTTP (StreamableHTTPClientTransport to a running `binmcpd --mode sse`).
// Run by tests/sdk_elicit.sh, which installs the SDK and starts the fake
// exchange and the HTTP daemon.
//
// Environment:
//   BINMCPD         the daemon to spawn for stdio (required)
//   FAKEX_URL       base URL of the fake exchange (required)
//   SDK_API_KEY, SDK_API_SECRET
//                   credentials the fake accepts (required)
//   STDIO_JOURNAL   the journal file of the stdio daemon (required)
//   BINMCPD_PORT    the HTTP daemon's port on 127.0.0.1 (required)
//
// The stdio daemon gets the SDK's default safe variables plus exactly the
// settings below: none of the caller's BINANCE_* or BINMCPD_* variables.
// Prints one "ok N - ..." / "not ok N - ..." line per check and exits 0
// only when every check passed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const OVERALL_TIMEOUT_MS = 60000;
const REQUEST_TIMEOUT_MS = 15000;
const FETCH_TIMEOUT_MS = 5000;
const CLOSE_TIMEOUT_MS = 5000;
const ORDER = { symbol: "BTCUSDT", side: "BUY", type: "LIMIT",
                quantity: "0.001", price: "10000" };

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

// Rejects when p has not settled within ms.
function within(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const env = process.env;
const fakexUrl = env.FAKEX_URL;
const opts = { timeout: REQUEST_TIMEOUT_MS };

// How many POST /api/v3/order the fake exchange has served so far.
async function postCount() {
  const r = await fetch(`${fakexUrl}/__fake/stats?method=POST&path=/api/v3/order`,
                        { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!r.ok) throw new Error(`fake exchange stats: HTTP ${r.status}`);
  const body = await within(r.json(), FETCH_TIMEOUT_MS, "fake exchange stats body");
  if (typeof body.count !== "number") {
    throw new Error(`fake exchange stats without a count: ${JSON.stringify(body)}`);
  }
  return body.count;
}

function textOf(res) {
  return (res?.content ?? []).filter((c) => c.type === "text")
    .map((c) => c.text).join("\n");
}

// One tool call; returns the result, or undefined after a failed check when
// the SDK threw (timeout, protocol error, invalid structuredContent).
async function call(client, label, name, args, what) {
  try {
    return await within(client.callTool({ name, arguments: args }, undefined, opts),
                        REQUEST_TIMEOUT_MS + 2000, `${label}: ${name}`);
  } catch (e) {
    check(false, `${label}: ${what}: the call completed`, errText(e));
    return undefined;
  }
}

// A refused order: isError, a text starting "Refused", the handler asked
// once, and nothing new reached the exchange.
async function expectRefused(client, label, asked, answer, word) {
  let before;
  try {
    before = await postCount();
  } catch (e) {
    check(false, `${label}: ${answer.action}: read the fake's POST count`, errText(e));
    return;
  }
  asked.length = 0;
  asked.answer = answer;
  const res = await call(client, label, "place_order", ORDER, `place_order (${answer.action})`);
  if (res === undefined) return;
  const text = textOf(res);
  check(res.isError === true,
        `${label}: ${answer.action}: place_order is refused (isError)`,
        JSON.stringify(res).slice(0, 300));
  check(text.startsWith("Refused") && text.includes(word),
        `${label}: ${answer.action}: the text starts "Refused" and says "${word}"`,
        JSON.stringify(text));
  check(asked.length === 1,
        `${label}: ${answer.action}: the elicitation handler was called once`,
        `called ${asked.length} times`);
  let after;
  try {
    after = await postCount();
  } catch (e) {
    after = `error: ${e?.message ?? e}`;
  }
  check(after === before,
        `${label}: ${answer.action}: no POST /api/v3/order reached the exchange`,
        `before ${before}, after ${after}`);
}

async function scenario(label, transport) {
  // Each elicitation/create seen, and the answer the handler gives.
  const asked = [];
  asked.answer = { action: "cancel" };
  const client = new Client({ name: `binmcpd-sdk-elicit-${label}`, version: "1.0.0" },
                            { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(req.params);
    return asked.answer;
  });
  try {
    await within(client.connect(transport, opts), REQUEST_TIMEOUT_MS + 2000,
                 `${label}: connect`);
    const info = client.getServerVersion();
    check(info?.name === "binmcpd", `${label}: initialize, serverInfo.name is binmcpd`,
          JSON.stringify(info));

    // ---- 1. accept: the order goes out ----
    let before;
    let orderId;
    try {
      before = await postCount();
    } catch (e) {
      check(false, `${label}: accept: read the fake's POST count`, errText(e));
      return;
    }
    asked.length = 0;
    asked.answer = { action: "accept", content: { confirm: true } };
    const res = await call(client, label, "place_order", ORDER, "place_order (accept)");
    if (res !== undefined) {
      const sc = res.structuredContent ?? {};
      check(res.isError !== true, `${label}: accept: place_order succeeds`,
            textOf(res).slice(0, 300));
      check(sc.status === "NEW" || sc.status === "FILLED",
            `${label}: accept: status is NEW or FILLED`, JSON.stringify(sc.status));
      check(sc.environment === "mainnet", `${label}: accept: environment is mainnet`,
            JSON.stringify(sc.environment));
      check(sc.symbol === "BTCUSDT" && sc.orderId !== undefined,
            `${label}: accept: structuredContent has the BTCUSDT order and its orderId`,
            JSON.stringify(sc).slice(0, 300));
      orderId = sc.orderId;
    }
    check(asked.length === 1, `${label}: accept: the elicitation handler was called once`,
          `called ${asked.length} times`);
    const p = asked[0] ?? {};
    const msg = String(p.message ?? "");
    check(["BTCUSDT", "BUY", "MAINNET"].every((w) => msg.includes(w)),
          `${label}: accept: the message names BTCUSDT, BUY and MAINNET`,
          JSON.stringify(msg));
    const schema = p.requestedSchema ?? {};
    check(schema.type === "object" &&
          schema.properties?.confirm?.type === "boolean" &&
          Array.isArray(schema.required) && schema.required.includes("confirm"),
          `${label}: accept: requestedSchema asks for a required boolean confirm`,
          JSON.stringify(schema));
    let after;
    try {
      after = await postCount();
    } catch (e) {
      after = `error: ${e?.message ?? e}`;
    }
    check(after === before + 1,
          `${label}: accept: exactly one POST /api/v3/order reached the exchange`,
          `before ${before}, after ${after}`);

    // ---- 2. decline: nothing goes out ----
    await expectRefused(client, label, asked, { action: "decline" }, "declined");

    // ---- 3. cancel_order accepted, then a place_order cancelled ----
    if (orderId !== undefined) {
      asked.length = 0;
      asked.answer = { action: "accept", content: { confirm: true } };
      const c = await call(client, label, "cancel_order",
                           { symbol: "BTCUSDT", order_id: orderId },
                           "cancel_order (accept)");
      if (c !== undefined) {
        check(c.isError !== true && c.structuredContent?.status === "CANCELED",
              `${label}: cancel_order of order ${orderId} succeeds, status CANCELED`,
              JSON.stringify(c.structuredContent ?? textOf(c)).slice(0, 300));
      }
      check(asked.length === 1,
            `${label}: cancel_order: the elicitation handler was called once`,
            `called ${asked.length} times`);
    } else {
      check(false, `${label}: cancel_order: an order id from step 1 to cancel`);
    }
    await expectRefused(client, label, asked, { action: "cancel" }, "cancelled");

    // ---- 4. every other order-changing tool, confirmed by the user, and
    // the read tools: the SDK validates each structuredContent against the
    // tool's outputSchema ----
    asked.answer = { action: "accept", content: { confirm: true } };
    const accepted = async (name, args, pick) => {
      asked.length = 0;
      const r = await call(client, label, name, args, `${name} (accept)`);
      if (r === undefined)
        return undefined;
      check(r.isError !== true && asked.length === 1,
            `${label}: ${name}: confirmed once, succeeds`,
            `asked ${asked.length}; ` + JSON.stringify(r.structuredContent ?? textOf(r)).slice(0, 300));
      return pick ? pick(r.structuredContent ?? {}) : r;
    };
    const listId = await accepted("place_order_list", {
      symbol: "BTCUSDT", list_type: "OCO", side: "SELL", quantity: "0.01",
      above_type: "LIMIT_MAKER", above_price: "55000",
      below_type: "STOP_LOSS_LIMIT", below_stop_price: "45000",
      below_price: "44900" }, (sc) => sc.orderListId);
    if (listId !== undefined)
      await accepted("cancel_order_list", { symbol: "BTCUSDT", order_list_id: listId });
    const oid = await accepted("place_order", {
      symbol: "BTCUSDT", side: "BUY", type: "LIMIT", quantity: "0.002",
      price: "10000" }, (sc) => sc.orderId);
    if (oid !== undefined) {
      await accepted("amend_order", { symbol: "BTCUSDT", order_id: oid, new_qty: "0.001" });
      await accepted("cancel_replace_order", {
        symbol: "BTCUSDT", cancel_replace_mode: "STOP_ON_FAILURE",
        cancel_order_id: oid, side: "BUY", type: "LIMIT", quantity: "0.001",
        price: "10100" });
    }
    await accepted("cancel_all_orders", { symbol: "BTCUSDT" });
    const reads = [
      ["get_symbol_info", { symbol: "BTCUSDT" }],
      ["get_commission_rates", { symbol: "BTCUSDT" }],
      ["get_order_rate_limit", {}],
      ["get_prevented_matches", { symbol: "BTCUSDT", order_id: 1 }],
      ["get_open_order_lists", {}],
      ["get_all_order_lists", {}],
      ["get_audit_log", { limit: 5 }],
      ["get_safety_status", {}],
      ["preview_order", { symbol: "BTCUSDT", side: "BUY", type: "MARKET", quantity: "0.001" }],
      ["preview_order_list", {
        symbol: "BTCUSDT", list_type: "OCO", side: "SELL", quantity: "0.01",
        above_type: "LIMIT_MAKER", above_price: "55000",
        below_type: "STOP_LOSS_LIMIT", below_stop_price: "45000",
        below_price: "44900" }],
    ];
    for (const [name, args] of reads) {
      const r = await call(client, label, name, args, name);
      if (r !== undefined)
        check(r.isError !== true && r.structuredContent !== undefined,
              `${label}: ${name}: valid structuredContent`,
              JSON.stringify(r.content).slice(0, 300));
    }
  } catch (e) {
    check(false, `${label}: session with binmcpd`, errText(e));
  } finally {
    if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
      await within(transport.terminateSession(), CLOSE_TIMEOUT_MS,
                   `${label}: terminateSession`).catch(() => {});
    }
    await within(client.close(), CLOSE_TIMEOUT_MS, `${label}: close`).catch(
      (e) => check(false, `${label}: close`, errText(e)));
  }
}

async function main() {
  const missing = ["BINMCPD", "FAKEX_URL", "SDK_API_KEY", "SDK_API_SECRET",
                   "STDIO_JOURNAL", "BINMCPD_PORT"].filter((v) => !env[v]);
  if (!check(missing.length === 0, "the environment is complete",
             `missing ${missing.join(", ")}`)) {
    return;
  }

  // ---- stdio ----
  const stdio = new StdioClientTransport({
    command: env.BINMCPD,
    args: ["--mode", "stdio"],
    env: {
      BINANCE_BASE_URL: fakexUrl,
      BINANCE_TESTNET_URL: fakexUrl,
      BINANCE_API_KEY: env.SDK_API_KEY,
      BINANCE_API_SECRET: env.SDK_API_SECRET,
      BINMCPD_MAX_ORDER_NOTIONAL: "1000",
      BINMCPD_FEED: "off", // its feed thread would reach Binance's streams
      BINMCPD_ORDER_CONFIRMATION: "auto",
      BINMCPD_JOURNAL: env.STDIO_JOURNAL,
    },
    stderr: "inherit", // the daemon's log lands in the test log
  });
  await scenario("stdio", stdio);

  // ---- Streamable HTTP ----
  const http = new StreamableHTTPClientTransport(
    new URL(`http://127.0.0.1:${env.BINMCPD_PORT}/mcp`));
  await scenario("http", http);
}

const watchdog = setTimeout(() => {
  check(false, `everything within ${OVERALL_TIMEOUT_MS} ms`);
  console.log(`sdk_elicit: FAIL (${checks - failures}/${checks} checks)`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
try {
  await main();
} catch (e) {
  check(false, "unexpected error", errText(e));
}
clearTimeout(watchdog);
console.log(`sdk_elicit: ${failures === 0 ? "PASS" : "FAIL"} ` +
            `(${checks - failures}/${checks} checks)`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
