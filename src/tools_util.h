/*
 * tools_util.h - what the tool families (tools_market.c, tools_account.c,
 * tools_creds.c) and the catalog (catalog.c) share, so that no tool copies
 * another: reading validated arguments, normalising symbols, turning
 * arguments into Binance parameters, running one Binance call with the
 * caller's credentials and cancel flag, shaping Binance's answer into a
 * result object, the sentence for a trade whose outcome is unknown, and the
 * markdown blocks that tools, resources and prompts all show.
 *
 * Also the JSON text fragments the tool rows build their schemas from.
 */
#ifndef BINMCPD_TOOLS_UTIL_H
#define BINMCPD_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bnc.h"
#include "dbuf.h"
#include "mcp.h"
#include "symcache.h"
#include "tools.h"

/* ---- schema fragments (string literals, joined at compile time) ---- */

/* clang-format off */
#define TU_STR "{\"type\":\"string\"}"
#define TU_INT "{\"type\":\"integer\"}"
#define TU_NUM "{\"type\":\"number\"}"
#define TU_BOOL "{\"type\":\"boolean\"}"
#define TU_STRS "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
/* An order-book side: [["price","qty"], ...]. */
#define TU_LEVELS "{\"type\":\"array\",\"items\":" TU_STRS "}"
#define TU_ARR(items) "{\"type\":\"array\",\"items\":" items "}"
#define TU_OBJ(props) "{\"type\":\"object\",\"properties\":{" props "}}"
/* One property: TU_F("price", TU_STR). */
#define TU_F(name, schema) "\"" name "\":" schema

/* Input schemas: no unknown arguments, required names quoted by the row. */
#define TU_IN(props, required)                                               \
    "{\"type\":\"object\",\"properties\":{" props "},\"required\":["         \
    required "],\"additionalProperties\":false}"
#define TU_IN_OPTIONAL(props)                                                \
    "{\"type\":\"object\",\"properties\":{" props                            \
    "},\"additionalProperties\":false}"
#define TU_IN_NONE                                                           \
    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"

#define TU_SYMBOL_PATTERN "^[A-Za-z0-9]{1,20}$"
#define TU_IN_SYMBOL_AS(name, desc)                                          \
    TU_F(name, "{\"type\":\"string\",\"pattern\":\"" TU_SYMBOL_PATTERN       \
               "\",\"description\":\"" desc "\"}")
#define TU_IN_SYMBOL                                                         \
    TU_IN_SYMBOL_AS("symbol", "Trading pair such as BTCUSDT (any case; "     \
                              "upper-cased before use).")
#define TU_IN_INT(name, min, max, desc)                                      \
    TU_F(name, "{\"type\":\"integer\",\"minimum\":" #min                     \
               ",\"maximum\":" #max ",\"description\":\"" desc "\"}")
#define TU_IN_TIME(name, desc)                                               \
    TU_F(name, "{\"type\":\"integer\",\"minimum\":0,\"description\":\""      \
               desc " (milliseconds since the Unix epoch).\"}")

/* A kline interval, as get_klines and get_chart take it. */
#define TU_IN_INTERVAL                                                          \
    TU_F("interval",                                                         \
         "{\"type\":\"string\",\"enum\":[\"1s\",\"1m\",\"3m\",\"5m\","       \
         "\"15m\",\"30m\",\"1h\",\"2h\",\"4h\",\"6h\",\"8h\",\"12h\",\"1d\","  \
         "\"3d\",\"1w\",\"1M\"],\"description\":\"Candle length: s = "     \
         "second, m = minute, h = hour, d = day, w = week, M = month.\"}")

/* An order as Binance answers it (get_order, place_order, the legs of a
 * list, ...): the fields tools keep (tu_order_fields) and their schema. */
#define TU_ORDER_PROPS                                                          \
    TU_F("symbol", TU_STR) "," TU_F("orderId", TU_INT) ","                   \
    TU_F("orderListId", TU_INT) "," TU_F("clientOrderId", TU_STR) ","        \
    TU_F("origClientOrderId", TU_STR) "," TU_F("transactTime", TU_INT) ","   \
    TU_F("time", TU_INT) "," TU_F("updateTime", TU_INT) ","                  \
    TU_F("price", TU_STR) "," TU_F("origQty", TU_STR) ","                    \
    TU_F("executedQty", TU_STR) "," TU_F("cummulativeQuoteQty", TU_STR) "," \
    TU_F("origQuoteOrderQty", TU_STR) "," TU_F("status", TU_STR) ","         \
    TU_F("timeInForce", TU_STR) "," TU_F("type", TU_STR) ","                 \
    TU_F("side", TU_STR) "," TU_F("stopPrice", TU_STR) ","                   \
    TU_F("trailingDelta", TU_INT) "," TU_F("trailingTime", TU_INT) ","       \
    TU_F("icebergQty", TU_STR) "," TU_F("strategyId", TU_INT) ","            \
    TU_F("strategyType", TU_INT) "," TU_F("isWorking", TU_BOOL) ","          \
    TU_F("workingTime", TU_INT) ","                                          \
    TU_F("selfTradePreventionMode", TU_STR) ","                              \
    TU_F("preventedMatchId", TU_INT) ","                                     \
    TU_F("preventedQuantity", TU_STR) "," TU_F("expiryReason", TU_STR) ","   \
    TU_F("fills", TU_ARR(TU_OBJ(                                             \
        TU_F("price", TU_STR) "," TU_F("qty", TU_STR) ","                    \
        TU_F("commission", TU_STR) "," TU_F("commissionAsset", TU_STR) ","   \
        TU_F("tradeId", TU_INT))))

#define TU_ENV_PROP TU_F("environment", TU_STR)

/* Every order-changing tool takes confirmation_token (the trading guard
 * reads it) and says what its call may do. */
#define TU_IN_CONFIRMATION_TOKEN                                                \
    TU_F("confirmation_token",                                               \
         "{\"type\":\"string\",\"maxLength\":128,\"description\":"        \
         "\"Only when an earlier identical call answered CONFIRMATION "       \
         "REQUIRED with a token, and the user approved that order: the "     \
         "token. Never use a token the user did not approve.\"}")

#define TU_MONEY_WARNING                                                        \
    "With mainnet credentials this moves real money. Try it first with "    \
    "testnet credentials (configure_credentials environment \"testnet\")" \
    " or with test: true on place_order. The operator's trading guard "     \
    "checks it (limits, symbols) and may ask the user to confirm it; it "   \
    "is recorded in the audit journal (get_audit_log)."

/* clang-format on */

/* ---- reading arguments (already validated against the input schema) ---- */

/* The string value of args[key], borrowed from args; NULL when absent or
 * not a string. */
const char *tu_arg_str(json_object *args, const char *key);

/* Stores args[key] in *out and returns 1 when it is present as an integer;
 * returns 0 (and leaves *out alone) otherwise. */
int tu_arg_int(json_object *args, const char *key, int64_t *out);

/* args[key] as 0/1, or dflt when absent or not a boolean. */
int tu_arg_bool(json_object *args, const char *key, int dflt);

#define TU_SYMBOL_MAX 24

/* Copies a symbol upper-cased into out. Returns 0, or -1 (out = "") when in
 * is not 1..20 ASCII letters and digits or does not fit. */
int tu_symbol_norm(const char *in, char *out, size_t outlen);

/* ---- arguments to Binance parameters ---- */

enum tu_arg_kind {
    TU_ARG_STR,    /* string, sent as is */
    TU_ARG_SYMBOL, /* string, sent upper-cased */
    TU_ARG_INT,    /* integer */
    TU_ARG_BOOL,   /* boolean, sent as "true"/"false" */
};

/* How one MCP argument becomes one Binance parameter. Maps are terminated
 * by a row whose arg is NULL. */
struct tu_arg {
    const char *arg;   /* MCP argument name (snake_case) */
    const char *param; /* Binance parameter name (camelCase) */
    enum tu_arg_kind kind;
    int echo;         /* copy the value sent into the result, under arg */
    const char *dflt; /* sent when the argument is absent; NULL: nothing */
};

/* Adds every present argument of map to p, in map order. Echoed values are
 * added to echo (may be NULL; a new reference per value). Returns 0, or -1
 * with a sentence in err when a symbol is malformed or p overflows. */
int tu_args_to_params(json_object *args, const struct tu_arg *map,
                      struct bnc_params *p, json_object *echo, char *err,
                      size_t errlen);

/* Cross-checks the optional start_time/end_time arguments: start must not
 * be after end, and when max_span_ms > 0 the two may be at most that far
 * apart. Returns 0, or -1 after tool_fail with a sentence that says which
 * rule was broken. */
int tu_check_time_range(json_object *args, int64_t max_span_ms,
                        struct tool_result *res);

/* ---- one Binance call on behalf of an MCP call ---- */

/* Prepare with tu_call_init, add parameters to params, run with
 * tu_call_run, always finish with tu_call_done. */
struct tu_call {
    const char *method;
    const char *path;
    enum bnc_kind kind;
    struct bnc_params params;
    enum bnc_env env;         /* signed calls: the credentials' exchange */
    struct bnc_response resp; /* what Binance answered */
    char err[TOOL_ERR_MAX];   /* why it failed, for a model to read */
};

void tu_call_init(struct tu_call *tc, const char *method, const char *path,
                  enum bnc_kind kind);

/* Runs the call with call's cancel flag and, for signed kinds, the
 * credentials mcp_call_creds() gives (a local copy, wiped before return).
 * Returns Binance's JSON body, borrowed from tc->resp, or NULL with tc->err
 * set (bnc_describe_error's sentence, or the no-credentials sentence with
 * tc->resp.status = BNC_ERR_NO_CREDENTIALS). */
json_object *tu_call_run(struct mcp_call *call, struct tu_call *tc);

/* Releases what tu_call_run kept. Safe after a failed or skipped run. */
void tu_call_done(struct tu_call *tc);

/* Whether a failed trading request may nevertheless have been executed:
 * timeouts, 5xx, dropped connections, cancellation mid-flight and 2xx
 * answers we could not read. */
int tu_outcome_unknown(enum bnc_status st);

/* Fails res with the sentence for a trading request whose outcome is
 * unknown: what (e.g. "cancel request"), why (resp), that it was NOT
 * retried, and the exact get_order call (lookup: its arguments, borrowed)
 * that tells the truth; hint (may be NULL) is appended. Returns -1. */
int tu_fail_unknown(struct tool_result *res, const char *what,
                    json_object *lookup, const char *hint,
                    const struct bnc_response *resp);

/* ---- shaping Binance's answer ---- */

/* NULL-terminated lists of field names. */
struct tu_shape {
    const char *const *fields;  /* keep only these keys of the object, or of
                                   each element when wrap is set; NULL: all */
    const char *const *columns; /* elements are arrays: name their columns
                                   (a row becomes an object) */
    const char *wrap;           /* the body is an array: put it under this
                                   key (structuredContent is an object) */
    int count;                  /* with wrap: add "count" */
    int env;                    /* add "environment" (signed calls) */
};

/* A new object with the listed fields of src that exist (new references to
 * src's values); NULL when src is not an object or memory runs out. */
json_object *tu_pick(json_object *src, const char *const *fields);

/* Adds body, shaped by sh, to into (an object the caller owns). Returns 0,
 * or -1 when body is not of the JSON type sh expects (into may then hold
 * some of the fields). */
int tu_shape_body(json_object *body, const struct tu_shape *sh,
                  json_object *into);

/* ---- tools made of one call: arguments mapped, answer shaped ---- */

struct tu_simple {
    const char *method;
    const char *path;
    enum bnc_kind kind;
    const struct tu_arg *args;
    struct tu_shape shape;
    /* BNC_TRADE only: the arguments that, with symbol, identify the order
     * for get_order when the outcome is unknown; and what the request is. */
    const char *const *lookup;
    const char *what;
};

/* Runs spec for a tool: echo + shaped body into res->data (new object), or
 * tool_fail with Binance's reason. Returns 0 or -1. */
int tu_simple_run(struct mcp_call *call, json_object *args,
                  struct tool_result *res, const struct tu_simple *spec);

/* ---- JSON and decimal helpers for texts ---- */

/* o[key] as text (numbers and booleans in their JSON spelling), borrowed
 * from o; "n/a" when o is not an object or key is absent. */
const char *tu_jstr(json_object *o, const char *key);

/* A Binance decimal for reading: trailing zeros trimmed down to two
 * decimals ("50000.00000000" -> "50000.00", "0.00100000" -> "0.001").
 * Anything else is copied. Returns buf. */
const char *tu_num_display(const char *s, char *buf, size_t len);

/* out = a + b for non-negative decimal strings, exactly. Returns 0, or -1
 * when either is not a plain decimal or the sum does not fit. */
int tu_dec_add(const char *a, const char *b, char *out, size_t len);

/* 1 when s is a decimal equal to zero ("0.00000000"), else 0. */
int tu_dec_is_zero(const char *s);

/* ---- markdown blocks shared by tools, resources and prompts ---- */
/* Each appends to b and returns 0, or -1 when b's cap is reached. */

/* A market overview of one symbol from its 24h ticker (borrowed). avg, the
 * /api/v3/avgPrice answer, and si, the symbol's assets, may be NULL. */
int tu_md_market(struct dbuf *b, json_object *ticker, json_object *avg,
                 const struct sym_info *si);

/* A table (Asset | Free | Locked | Total) of the non-zero entries of an
 * account's balances array; *shown gets how many rows were written. */
int tu_md_balances(struct dbuf *b, json_object *balances, size_t *shown);

/* A table of orders (the /api/v3/openOrders array). */
int tu_md_orders(struct dbuf *b, json_object *orders);

/* The fields of an order tools keep (NULL-terminated). */
extern const char *const tu_order_fields[];

/* The sentence shown when a signed call has no credentials. */
extern const char tu_no_creds_text[];

#endif
