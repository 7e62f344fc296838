/*
 * tools_market.c - the market-data tools: public Binance endpoints, no API
 * key. Most are one call described by a struct tu_simple; search and fetch
 * (the shape ChatGPT connectors expect) combine the symbol cache with
 * prices and report progress between their calls.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "filters.h"
#include "symcache.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_md.h"
#include "tools_schema.h"
#include "util.h"

#define MARKET_FLAGS (TOOL_READ_ONLY | TOOL_IDEMPOTENT | TOOL_OPEN_WORLD)
#define SEARCH_MAX   10
#define MD_MAX       ((size_t)64 * 1024)

/* ---- shared field lists and schema pieces ---- */

/* clang-format off */
static const char *const ticker_fields[] = {
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice",
    "prevClosePrice", "lastPrice", "lastQty", "bidPrice", "bidQty",
    "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume",
    "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count",
    NULL};

#define TICKER_PROPS                                                         \
    TU_F("symbol", TU_STR) "," TU_F("priceChange", TU_STR) ","               \
    TU_F("priceChangePercent", TU_STR) "," TU_F("weightedAvgPrice", TU_STR)  \
    "," TU_F("prevClosePrice", TU_STR) "," TU_F("lastPrice", TU_STR) ","     \
    TU_F("lastQty", TU_STR) "," TU_F("bidPrice", TU_STR) ","                 \
    TU_F("bidQty", TU_STR) "," TU_F("askPrice", TU_STR) ","                  \
    TU_F("askQty", TU_STR) "," TU_F("openPrice", TU_STR) ","                 \
    TU_F("highPrice", TU_STR) "," TU_F("lowPrice", TU_STR) ","               \
    TU_F("volume", TU_STR) "," TU_F("quoteVolume", TU_STR) ","               \
    TU_F("openTime", TU_INT) "," TU_F("closeTime", TU_INT) ","               \
    TU_F("firstId", TU_INT) "," TU_F("lastId", TU_INT) ","                   \
    TU_F("count", TU_INT)

/* clang-format on */

/* ---- get_server_time ---- */

static int
get_server_time(struct mcp_call *call, json_object *args,
                struct tool_result *res)
{
    struct bnc_response resp;
    int64_t server_ms, offset_ms;
    char iso[40], why[TOOL_ERR_MAX];
    json_object *o;

    (void)call;
    (void)args;
    memset(&resp, 0, sizeof(resp));
    if (bnc_sync_time(&server_ms, &offset_ms, &resp) < 0) {
        bnc_describe_error(&resp, why, sizeof(why));
        bnc_response_free(&resp);
        return tool_fail(res, "%s", why);
    }
    bnc_response_free(&resp);
    format_rfc3339_ms(server_ms, iso, sizeof(iso));
    o = json_object_new_object();
    if (o == NULL)
        return tool_fail(res, "out of memory");
    json_object_object_add(o, "serverTime", json_object_new_int64(server_ms));
    json_object_object_add(o, "serverTimeUtc", json_object_new_string(iso));
    json_object_object_add(o, "localTime", json_object_new_int64(now_ms()));
    json_object_object_add(o, "offsetMs", json_object_new_int64(offset_ms));
    res->data = o;
    return 0;
}

/* ---- one-call tools ---- */

/* clang-format off */
static const struct tu_arg symbol_arg[] = {
    {"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
    {NULL, NULL, TU_ARG_STR, 0, NULL},
};

static const struct tu_simple ticker_spec = {
    "GET", "/api/v3/ticker/24hr", BNC_PUBLIC,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {ticker_fields, NULL, NULL, 0, 0}, NULL, NULL};

static const struct tu_simple depth_spec = {
    "GET", "/api/v3/depth", BNC_PUBLIC,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, "100"},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"lastUpdateId", "bids", "asks", NULL}, NULL, NULL,
     0, 0},
    NULL, NULL};

static const struct tu_simple trades_spec = {
    "GET", "/api/v3/trades", BNC_PUBLIC,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {(const char *const[]){"id", "price", "qty", "quoteQty", "time",
                           "isBuyerMaker", "isBestMatch", NULL},
     NULL, "trades", 1, 0},
    NULL, NULL};

static const struct tu_simple klines_spec = {
    "GET", "/api/v3/klines", BNC_PUBLIC,
    (const struct tu_arg[]){{"symbol", "symbol", TU_ARG_SYMBOL, 1, NULL},
                            {"interval", "interval", TU_ARG_STR, 1, NULL},
                            {"start_time", "startTime", TU_ARG_INT, 0, NULL},
                            {"end_time", "endTime", TU_ARG_INT, 0, NULL},
                            {"limit", "limit", TU_ARG_INT, 0, NULL},
                            {NULL, NULL, TU_ARG_STR, 0, NULL}},
    {NULL,
     (const char *const[]){"openTime", "open", "high", "low", "close",
                           "volume", "closeTime", "quoteVolume", "trades",
                           "takerBuyBaseVolume", "takerBuyQuoteVolume", NULL},
     "klines", 0, 0},
    NULL, NULL};

static int
get_klines(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    if (tu_check_time_range(args, 0, res) < 0)
        return -1;
    return tu_simple_run(call, args, res, &klines_spec);
}

static const struct tu_simple avg_spec = {
    "GET", "/api/v3/avgPrice", BNC_PUBLIC, symbol_arg,
    {(const char *const[]){"mins", "price", "closeTime", NULL}, NULL, NULL, 0,
     0},
    NULL, NULL};

/* clang-format on */

/* ---- search and fetch ---- */

/* "BTC/USDT" and the trade page for a symbol. */
static void
pair_names(const struct sym_info *si, char *title, size_t tlen, char *url,
           size_t ulen)
{
    snprintf(title, tlen, "%s/%s", si->base, si->quote);
    snprintf(url, ulen, "https://www.binance.com/en/trade/%s_%s", si->base,
             si->quote);
}

/* Keeps the letters and digits of a query, upper-cased ("btc/usdt" ->
 * "BTCUSDT"). Returns -1 when the result would not fit out. */
static int
clean_query(const char *q, char *out, size_t len)
{
    size_t n = 0;

    for (; q != NULL && *q != '\0'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c >= 0x80 || !isalnum(c))
            continue;
        if (n + 1 >= len)
            return -1;
        out[n++] = (char)toupper(c);
    }
    out[n] = '\0';
    return 0;
}

/* Asks /api/v3/ticker/price for the trading symbols among found, in one
 * request. Returns a new {symbol: price} object, or NULL when none is
 * trading or the call failed (logged to the client; search still answers). */
static json_object *
search_prices(struct mcp_call *call, const struct sym_info *found, int n)
{
    struct tu_call tc;
    struct dbuf list;
    json_object *body, *map = NULL;
    int any = 0;

    dbuf_init(&list, 512);
    dbuf_puts(&list, "[");
    for (int i = 0; i < n; i++) {
        if (strcmp(found[i].status, "TRADING") != 0)
            continue;
        dbuf_printf(&list, "%s\"%s\"", any ? "," : "", found[i].symbol);
        any = 1;
    }
    dbuf_puts(&list, "]");
    tu_call_init(&tc, "GET", "/api/v3/ticker/price", BNC_PUBLIC);
    bnc_params_add(&tc.params, "symbols", dbuf_str(&list));
    dbuf_free(&list);
    if (!any)
        return NULL;
    body = tu_call_run(call, &tc);
    if (body == NULL && call != NULL && call->sess != NULL)
        mcp_call_log(call, MCP_LOG_WARNING, "search", "no prices: %s", tc.err);
    if (json_object_is_type(body, json_type_array)) {
        map = json_object_new_object();
        for (size_t i = 0; map != NULL && i < json_object_array_length(body);
             i++) {
            json_object *e = json_object_array_get_idx(body, i), *p;
            if (json_object_object_get_ex(e, "price", &p))
                json_object_object_add(map, tu_jstr(e, "symbol"),
                                       json_object_get(p));
        }
    }
    tu_call_done(&tc);
    return map;
}

/* One result of search in the connector shape. */
static json_object *
search_result(const struct sym_info *si, json_object *prices)
{
    json_object *o = json_object_new_object(), *p = NULL;
    char title[40], url[128], text[160], shown[64];

    if (o == NULL)
        return NULL;
    pair_names(si, title, sizeof(title), url, sizeof(url));
    if (strcmp(si->status, "TRADING") != 0)
        snprintf(text, sizeof(text), "Not trading now (status %s).",
                 si->status);
    else if (json_object_object_get_ex(prices, si->symbol, &p))
        snprintf(
            text, sizeof(text), "Current price: %s %s",
            dec_text_display(json_object_get_string(p), shown, sizeof(shown)),
            si->quote);
    else
        snprintf(text, sizeof(text),
                 "Current price unavailable; call get_ticker for it.");
    json_object_object_add(o, "id", json_object_new_string(si->symbol));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "text", json_object_new_string(text));
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "status", json_object_new_string(si->status));
    return o;
}

static int
search(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct sym_info found[SEARCH_MAX];
    struct bnc_response resp;
    char q[TU_SYMBOL_MAX], why[TOOL_ERR_MAX];
    json_object *out, *arr, *prices;
    size_t total = 0;
    int n = 0;

    if (clean_query(tu_arg_str(args, "query"), q, sizeof(q)) == 0 &&
        q[0] != '\0') {
        n = symcache_find(q, 1, found, SEARCH_MAX, &total, &resp);
        if (n < 0) {
            bnc_describe_error(&resp, why, sizeof(why));
            bnc_response_free(&resp);
            return tool_fail(res, "%s", why);
        }
    }
    mcp_call_progress(call, 1, 2, "symbols matched");
    prices = search_prices(call, found, n);
    mcp_call_progress(call, 2, 2, "prices fetched");
    out = json_object_new_object();
    arr = json_object_new_array();
    for (int i = 0; arr != NULL && i < n; i++)
        json_object_array_add(arr, search_result(&found[i], prices));
    json_object_put(prices);
    if (out == NULL || arr == NULL) {
        json_object_put(out);
        json_object_put(arr);
        return tool_fail(res, "out of memory");
    }
    json_object_object_add(out, "results", arr);
    res->data = out;
    return 0;
}

/* Appends the top levels of one side of the book as "qty @ price" lines. */
static int
md_book_side(struct dbuf *b, const char *title, json_object *levels)
{
    size_t n = json_object_is_type(levels, json_type_array)
                   ? json_object_array_length(levels)
                   : 0;
    char p[64], q[64];
    int rc = dbuf_printf(b, "\n**%s**\n", title);

    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *lv = json_object_array_get_idx(levels, i);
        rc = dbuf_printf(b, "- %s @ %s\n",
                         dec_text_display(json_object_get_string(
                                              json_object_array_get_idx(lv, 1)),
                                          q, sizeof(q)),
                         dec_text_display(json_object_get_string(
                                              json_object_array_get_idx(lv, 0)),
                                          p, sizeof(p)));
    }
    if (n == 0 && rc == 0)
        rc = dbuf_puts(b, "- (empty)\n");
    return rc;
}

/* The markdown text of fetch: overview plus the top of the book. Returns a
 * new string object or NULL. */
static json_object *
fetch_text(json_object *ticker, json_object *depth, const struct sym_info *si)
{
    struct dbuf b;
    json_object *asks = NULL, *bids = NULL, *s = NULL;

    dbuf_init(&b, MD_MAX);
    json_object_object_get_ex(depth, "asks", &asks);
    json_object_object_get_ex(depth, "bids", &bids);
    if (tu_md_market(&b, ticker, NULL, si) == 0 &&
        dbuf_puts(&b, "\n### Order book, top 5 (quantity @ price)\n") == 0 &&
        md_book_side(&b, "Asks (lowest first)", asks) == 0 &&
        md_book_side(&b, "Bids (highest first)", bids) == 0)
        s = json_object_new_string(dbuf_str(&b));
    dbuf_free(&b);
    return s;
}

/* The metadata object of fetch. */
static json_object *
fetch_metadata(json_object *ticker, json_object *depth,
               const struct sym_info *si)
{
    static const char *const stats[] = {
        "lastPrice",   "priceChange", "priceChangePercent", "weightedAvgPrice",
        "openPrice",   "highPrice",   "lowPrice",           "volume",
        "quoteVolume", NULL};
    static const char *const book[] = {"lastUpdateId", "bids", "asks", NULL};
    json_object *m = json_object_new_object(), *st, *cnt;

    if (m == NULL)
        return NULL;
    st = tu_pick(ticker, stats);
    if (st != NULL && json_object_object_get_ex(ticker, "count", &cnt))
        json_object_object_add(st, "trades", json_object_get(cnt));
    json_object_object_add(m, "symbol", json_object_new_string(si->symbol));
    json_object_object_add(m, "baseAsset", json_object_new_string(si->base));
    json_object_object_add(m, "quoteAsset", json_object_new_string(si->quote));
    json_object_object_add(m, "status", json_object_new_string(si->status));
    json_object_object_add(m, "24hStats", st);
    json_object_object_add(m, "orderBook", tu_pick(depth, book));
    return m;
}

/* Builds the result of fetch into a new object. */
static json_object *
fetch_result(json_object *ticker, json_object *depth, const struct sym_info *si)
{
    json_object *o = json_object_new_object();
    char title[64], pair[40], url[128];

    if (o == NULL)
        return NULL;
    pair_names(si, pair, sizeof(pair), url, sizeof(url));
    snprintf(title, sizeof(title), "%s Market Data", pair);
    json_object_object_add(o, "id", json_object_new_string(si->symbol));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "text", fetch_text(ticker, depth, si));
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "metadata", fetch_metadata(ticker, depth, si));
    return o;
}

/* Looks the symbol up in the cache: 0, or -1 after tool_fail. */
static int
fetch_symbol(const char *id, struct sym_info *si, struct tool_result *res)
{
    struct bnc_response resp;
    char sym[TU_SYMBOL_MAX], why[TOOL_ERR_MAX];
    int rc;

    if (tu_symbol_norm(id, sym, sizeof(sym)) < 0)
        return tool_fail(res, "id must be a trading pair such as BTCUSDT "
                              "(1 to 20 letters and digits).");
    rc = symcache_get(sym, si, &resp);
    if (rc < 0) {
        bnc_describe_error(&resp, why, sizeof(why));
        bnc_response_free(&resp);
        return tool_fail(res, "%s", why);
    }
    if (rc > 0)
        return tool_fail(res,
                         "Binance lists no symbol %s. Call search with part "
                         "of the name (e.g. \"BTC\") to find valid ids.",
                         sym);
    return 0;
}

static int
fetch(struct mcp_call *call, json_object *args, struct tool_result *res)
{
    struct sym_info si;
    struct tu_call tk, dp;
    json_object *ticker, *depth;
    int rc = -1;

    if (fetch_symbol(tu_arg_str(args, "id"), &si, res) < 0)
        return -1;
    mcp_call_progress(call, 1, 3, "symbol found");
    tu_call_init(&tk, "GET", "/api/v3/ticker/24hr", BNC_PUBLIC);
    tu_call_init(&dp, "GET", "/api/v3/depth", BNC_PUBLIC);
    bnc_params_add(&tk.params, "symbol", si.symbol);
    bnc_params_add(&dp.params, "symbol", si.symbol);
    bnc_params_add(&dp.params, "limit", "5");
    ticker = tu_call_run(call, &tk);
    if (ticker == NULL) {
        tool_fail(res, "%s", tk.err);
        goto done;
    }
    mcp_call_progress(call, 2, 3, "24h statistics read");
    depth = tu_call_run(call, &dp);
    if (depth == NULL) {
        tool_fail(res, "%s", dp.err);
        goto done;
    }
    mcp_call_progress(call, 3, 3, "order book read");
    res->data = fetch_result(ticker, depth, &si);
    rc = res->data != NULL ? 0 : tool_fail(res, "out of memory");
done:
    tu_call_done(&tk);
    tu_call_done(&dp);
    return rc;
}

/* ---- the rows ---- */

/* clang-format off */
/* A symbol's trading rules, every filter explained in plain words. */
static int
get_symbol_info(struct mcp_call *call, json_object *args,
                struct tool_result *res)
{
    char symbol[TU_SYMBOL_MAX], why[TOOL_ERR_MAX];
    json_object *sym = NULL;
    struct bnc_response resp;
    int rc;

    (void)call;
    if (tu_symbol_norm(tu_arg_str(args, "symbol"), symbol, sizeof(symbol)) < 0)
        return tool_fail(res, "symbol must be a trading pair such as "
                              "BTCUSDT.");
    rc = symcache_get_json(symbol, &sym, &resp);
    if (rc < 0) {
        bnc_describe_error(&resp, why, sizeof(why));
        bnc_response_free(&resp);
        return tool_fail(res, "%s", why);
    }
    bnc_response_free(&resp);
    if (rc > 0)
        return tool_fail(res,
                         "Binance lists no symbol %s; use search to find "
                         "one.",
                         symbol);
    res->data = filters_explain(sym);
    json_object_put(sym);
    return res->data != NULL ? 0 : tool_fail(res, "out of memory");
}

const struct tool_def tools_market[] = {
    {"get_symbol_info", "Symbol rules",
     "A trading pair's rules from exchangeInfo: status, base and quote "
     "assets and their precisions, allowed order types, whether iceberg, "
     "OCO and OTO orders are allowed, and every filter (price tick, "
     "quantity step, minimum and maximum notional, ...) with a plain-words "
     "explanation. Orders that break a filter are refused before they are "
     "sent, with the nearest valid values. No API key needed.",
     TU_IN(TU_IN_SYMBOL, "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("status", TU_STR) ","
            TU_F("baseAsset", TU_STR) "," TU_F("quoteAsset", TU_STR) ","
            TU_F("orderTypes", TU_STRS) ","
            TU_F("filters", TU_ARR("{\"type\":\"object\"}"))),
     MARKET_FLAGS, get_symbol_info, NULL},
    {"get_server_time", "Binance server time",
     "Returns Binance's server clock, the local clock and the offset "
     "between them in milliseconds; also resynchronises the clock used to "
     "sign requests. A cheap connectivity check. No API key needed.",
     TU_IN_NONE,
     TU_OBJ(TU_F("serverTime", TU_INT) "," TU_F("serverTimeUtc", TU_STR) ","
            TU_F("localTime", TU_INT) "," TU_F("offsetMs", TU_INT)),
     MARKET_FLAGS, get_server_time, NULL},
    {"get_ticker", "24-hour ticker",
     "24-hour rolling statistics for one trading pair: last, open, high and "
     "low price, change and change percent, weighted average price, best "
     "bid/ask with quantities, base and quote volume, trade count and the "
     "window's open/close times (ms). Prices and quantities are decimal "
     "strings. No API key needed.",
     TU_IN(TU_IN_SYMBOL, "\"symbol\""), TU_OBJ(TICKER_PROPS), MARKET_FLAGS,
     tu_simple_tool, &ticker_spec},
    {"get_order_book", "Order book",
     "Order book snapshot for one trading pair: bids (highest first) and "
     "asks (lowest first) as [price, quantity] decimal strings, plus "
     "lastUpdateId. No API key needed.",
     TU_IN(TU_IN_SYMBOL ","
           TU_F("limit", "{\"type\":\"integer\",\"enum\":[5,10,20,50,100,"
                         "500,1000,5000],\"default\":100,\"description\":"
                         "\"Levels per side (default 100). Larger books "
                         "cost more request weight.\"}"),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("lastUpdateId", TU_INT) ","
            TU_F("bids", TU_LEVELS) "," TU_F("asks", TU_LEVELS)),
     MARKET_FLAGS, tu_simple_tool, &depth_spec},
    {"get_recent_trades", "Recent trades",
     "The most recent public trades of one trading pair, oldest first: id, "
     "price, qty, quoteQty, time (ms), isBuyerMaker. No API key needed.",
     TU_IN(TU_IN_SYMBOL "," TU_IN_INT("limit", 1, 1000,
                                      "How many trades (default 500)."),
           "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("count", TU_INT) ","
            TU_F("trades", TU_ARR(TU_OBJ(
                TU_F("id", TU_INT) "," TU_F("price", TU_STR) ","
                TU_F("qty", TU_STR) "," TU_F("quoteQty", TU_STR) ","
                TU_F("time", TU_INT) "," TU_F("isBuyerMaker", TU_BOOL) ","
                TU_F("isBestMatch", TU_BOOL))))),
     MARKET_FLAGS, tu_simple_tool, &trades_spec},
    {"get_klines", "Candlesticks",
     "Candlesticks (klines) of one trading pair, oldest first, each with "
     "named fields: openTime, open, high, low, close, volume, closeTime, "
     "quoteVolume, trades, takerBuyBaseVolume, takerBuyQuoteVolume. Narrow "
     "the range with start_time/end_time (ms). No API key needed.",
     TU_IN(TU_IN_SYMBOL "," TU_IN_INTERVAL ","
           TU_IN_TIME_RANGE("First candle open time", "Last candle open time") ","
           TU_IN_INT("limit", 1, 1000, "How many candles (default 500)."),
           "\"symbol\",\"interval\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("interval", TU_STR) ","
            TU_F("klines", TU_ARR(TU_OBJ(
                TU_F("openTime", TU_INT) "," TU_F("open", TU_STR) ","
                TU_F("high", TU_STR) "," TU_F("low", TU_STR) ","
                TU_F("close", TU_STR) "," TU_F("volume", TU_STR) ","
                TU_F("closeTime", TU_INT) "," TU_F("quoteVolume", TU_STR) ","
                TU_F("trades", TU_INT) ","
                TU_F("takerBuyBaseVolume", TU_STR) ","
                TU_F("takerBuyQuoteVolume", TU_STR))))),
     MARKET_FLAGS, get_klines, NULL},
    {"get_average_price", "Average price",
     "Binance's current average price of one trading pair over the last "
     "few minutes (mins says how many), from /api/v3/avgPrice. For the "
     "latest traded price use get_ticker. No API key needed.",
     TU_IN(TU_IN_SYMBOL, "\"symbol\""),
     TU_OBJ(TU_F("symbol", TU_STR) "," TU_F("mins", TU_INT) ","
            TU_F("price", TU_STR) "," TU_F("closeTime", TU_INT)),
     MARKET_FLAGS, tu_simple_tool, &avg_spec},
    {"search", "Search trading pairs",
     "Finds up to 10 Binance Spot trading pairs whose symbol contains the "
     "query (case-insensitive; spaces and slashes ignored, so \"btc/usdt\" "
     "works), pairs that are trading first, with their current price. "
     "Each result's id can be passed to fetch. Returns an empty list when "
     "nothing matches. No API key needed.",
     TU_IN(TU_F("query", "{\"type\":\"string\",\"minLength\":1,"
                         "\"maxLength\":64,\"description\":\"Part of a "
                         "symbol or asset, e.g. BTC, ETHUSDT, sol\"}"),
           "\"query\""),
     TU_OBJ(TU_F("results", TU_ARR(TU_OBJ(
         TU_F("id", TU_STR) "," TU_F("title", TU_STR) ","
         TU_F("text", TU_STR) "," TU_F("url", TU_STR) ","
         TU_F("status", TU_STR))))),
     MARKET_FLAGS, search, NULL},
    {"fetch", "Market data of a trading pair",
     "Full market data of one trading pair by id (a symbol from search, "
     "e.g. BTCUSDT): a markdown overview (price, 24h change, high/low, "
     "volumes, top 5 bids and asks) in text, and the numbers in metadata. "
     "No API key needed.",
     TU_IN(TU_IN_SYMBOL_AS("id", "Symbol, e.g. BTCUSDT (any case)."),
           "\"id\""),
     TU_OBJ(TU_F("id", TU_STR) "," TU_F("title", TU_STR) ","
            TU_F("text", TU_STR) "," TU_F("url", TU_STR) ","
            TU_F("metadata", TU_OBJ(
                TU_F("symbol", TU_STR) "," TU_F("baseAsset", TU_STR) ","
                TU_F("quoteAsset", TU_STR) "," TU_F("status", TU_STR) ","
                TU_F("24hStats", "{\"type\":\"object\"}") ","
                TU_F("orderBook", TU_OBJ(
                    TU_F("lastUpdateId", TU_INT) ","
                    TU_F("bids", TU_LEVELS) "," TU_F("asks", TU_LEVELS)))))),
     MARKET_FLAGS, fetch, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
