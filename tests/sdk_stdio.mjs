// sdk_stdio.mjs - interop check of `binmcpd --mode stdio` with the official
// MCP TypeScript SDK client (@modelcontextprotocol/sdk, pinned in
// tests/package.json). Run by tests/sdk_stdio.sh, which starts the fake
// exchange and installs the SDK.
//
// Environment:
//   BINMCPD      the daemon to spawn (required)
//   FAKEX_URL    base URL of the fake exchange, e.g. http://127.0.0.1:40000
//                (required)
//   EXPECT_LAST  BTCUSDT lastPrice the fake serves; argv[2] may give it
//                instead. When neither does, it is read from the fake itself.
//   SDK_API_KEY, SDK_API_SECRET
//                optional credentials the fake accepts: when given, the
//                account tools are called too, so that the SDK validates
//                their structuredContent against their outputSchema as well.
//
// The client spawns the daemon with a minimal environment (the SDK's default
// safe variables plus the Binance URLs): no credentials from the caller's
// environment ever reach it. Prints one "ok"/"not ok" line per check and
// exits 0 only when every check passed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { fileURLToPath, pathToFileURL } from "node:url";
// The shared get_chart check needs no package, so it is imported from the
// source tree ($SDK_CHART_MJS) rather than copied next to node_modules.
const { checkChart } = await import(pathToFileURL(
  process.env.SDK_CHART_MJS ?? fileURLToPath(new URL("./sdk_chart.mjs", import.meta.url))).href);

const OVERALL_TIMEOUT_MS = 30000;
const REQUEST_TIMEOUT_MS = 15000;
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

function fatal(msg) {
  console.log(`not ok - ${msg}`);
  console.log("sdk_stdio: FAIL");
  process.exit(1);
}

async function expectedLastPrice(fakexUrl) {
  if (process.env.EXPECT_LAST) return process.env.EXPECT_LAST;
  if (process.argv[2]) return process.argv[2];
  // Fall back to what the fake exchange itself serves.
  const r = await fetch(`${fakexUrl}/api/v3/ticker/24hr?symbol=BTCUSDT`);
  if (!r.ok) throw new Error(`fake exchange answered HTTP ${r.status}`);
  const body = await r.json();
  return String(body.lastPrice);
}

async function main() {
  const binmcpd = process.env.BINMCPD;
  const fakexUrl = process.env.FAKEX_URL;
  if (!binmcpd) fatal("BINMCPD is not set");
  if (!fakexUrl) fatal("FAKEX_URL is not set");
  const expectLast = await expectedLastPrice(fakexUrl);
  const withCreds = Boolean(process.env.SDK_API_KEY && process.env.SDK_API_SECRET);

  const transport = new StdioClientTransport({
    command: binmcpd,
    args: ["--mode", "stdio"],
    env: {
      BINANCE_BASE_URL: fakexUrl,
      BINANCE_TESTNET_URL: fakexUrl,
      BINANCE_TIMEOUT_MS: "5000",
      BINMCPD_FEED: "off", // its feed thread would reach Binance's streams
      ...(process.env.STDIO_JOURNAL ? { BINMCPD_JOURNAL: process.env.STDIO_JOURNAL } : {}),
      ...(withCreds ? { BINANCE_API_KEY: process.env.SDK_API_KEY,
                        BINANCE_API_SECRET: process.env.SDK_API_SECRET }
                    : {}),
    },
    stderr: "inherit", // the daemon's log lands in the test log
  });
  const client = new Client({ name: "binmcpd-sdk-check", version: "1.0.0" });
  const opts = { timeout: REQUEST_TIMEOUT_MS };

  try {
    await client.connect(transport, opts);
    const info = client.getServerVersion();
    check(info?.name === "binmcpd", "initialize: serverInfo.name is binmcpd",
          JSON.stringify(info));
    const caps = client.getServerCapabilities() ?? {};
    check(caps.tools !== undefined, "initialize: tools capability",
          JSON.stringify(caps));

    const { tools } = await client.listTools(undefined, opts);
    check(Array.isArray(tools) && tools.length >= MIN_TOOLS,
          `tools/list: at least ${MIN_TOOLS} tools`, `got ${tools?.length}`);
    const ticker = tools.find((t) => t.name === "get_ticker");
    check(ticker !== undefined, "tools/list: get_ticker present");
    check(ticker?.outputSchema?.type === "object",
          "tools/list: get_ticker has an object outputSchema");
    // listTools() compiled the output schemas; callTool() below validates
    // structuredContent against it and throws on a mismatch.
    check(client.getToolOutputValidator("get_ticker") !== undefined,
          "SDK compiled a validator for get_ticker's outputSchema");

    let res;
    try {
      res = await client.callTool(
        { name: "get_ticker", arguments: { symbol: "BTCUSDT" } },
        undefined, opts);
      check(true, "tools/call get_ticker: SDK accepted the result " +
                  "(structuredContent valid against outputSchema)");
    } catch (e) {
      check(false, "tools/call get_ticker: SDK accepted the result",
            e?.message ?? String(e));
    }
    if (res !== undefined) {
      check(res.isError !== true, "get_ticker: isError is false",
            JSON.stringify(res.content));
      const sc = res.structuredContent ?? {};
      check(sc.symbol === "BTCUSDT", "get_ticker: structuredContent.symbol",
            JSON.stringify(sc.symbol));
      check(String(sc.lastPrice) === expectLast,
            `get_ticker: lastPrice is ${expectLast}`,
            JSON.stringify(sc.lastPrice));
      const text = res.content?.find((c) => c.type === "text")?.text;
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      check(parsed?.lastPrice === sc.lastPrice,
            "get_ticker: the text block carries the same JSON");
    }

    // Every other tool the fake can serve: each result goes through the
    // SDK's outputSchema validation.
    const more = [
      ["get_server_time", {}],
      ["get_order_book", { symbol: "BTCUSDT", limit: 5 }],
      ["get_recent_trades", { symbol: "BTCUSDT", limit: 3 }],
      ["get_klines", { symbol: "BTCUSDT", interval: "1h", limit: 3 }],
      ["get_average_price", { symbol: "BTCUSDT" }],
      ["search", { query: "eth" }],
      ["fetch", { id: "ETHUSDT" }],
      ["get_credentials_status", {}],
    ];
    if (withCreds) {
      more.push(
        ["get_account_info", {}],
        ["get_account_trades", { symbol: "BTCUSDT" }],
        ["get_open_orders", {}],
        ["get_all_orders", { symbol: "BTCUSDT" }],
        ["place_order", { symbol: "BTCUSDT", side: "BUY", type: "LIMIT",
                          quantity: "0.001", price: "10000", test: true }],
      );
    } else {
      console.log("# no SDK_API_KEY/SDK_API_SECRET: account tools not called");
    }
    for (const [name, args] of more) {
      try {
        const r = await client.callTool({ name, arguments: args }, undefined,
                                        opts);
        check(r.isError !== true && r.structuredContent !== undefined,
              `tools/call ${name}: valid structuredContent`,
              JSON.stringify(r.content));
      } catch (e) {
        check(false, `tools/call ${name}: SDK accepted the result`,
              e?.message ?? String(e));
      }
    }

    await checkChart(client, check, opts, "");

    try {
      await client.ping(opts);
      check(true, "ping");
    } catch (e) {
      check(false, "ping", e?.message ?? String(e));
    }
  } catch (e) {
    check(false, "session with binmcpd", e?.stack ?? String(e));
  } finally {
    await client.close().catch(() => {});
  }
}

const watchdog = setTimeout(
  () => fatal(`no result within ${OVERALL_TIMEOUT_MS} ms`), OVERALL_TIMEOUT_MS);
try {
  await main();
} catch (e) {
  check(false, "unexpected error", e?.stack ?? String(e));
}
clearTimeout(watchdog);
console.log(`sdk_stdio: ${failures === 0 ? "PASS" : "FAIL"} ` +
            `(${checks - failures}/${checks} checks)`);
process.exit(failures === 0 && checks > 0 ? 0 : 1);
