/*
 * catalog.c - MCP resources, prompts and argument completion. See catalog.h.
 *
 * Everything shown as markdown is rendered by tools_util.c, so a resource,
 * a prompt and a tool showing the same market or balances agree.
 *
 * Errors: an unknown resource is -32002 with data {uri}; a bad or missing
 * prompt argument, an unknown prompt or completion reference is -32602;
 * Binance failing (including "no credentials" for the account resources)
 * is -32603 with bnc_describe_error's sentence. The portfolio_risk prompt
 * is the exception: without credentials it still renders, telling the
 * model there is no live data and asking for a general framework, because
 * a prompt is a starting point for a conversation and "configure
 * credentials first" is part of a useful answer, not a failure.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog.h"
#include "dbuf.h"
#include "symcache.h"
#include "tools_analytics.h"
#include "tools_call.h"
#include "tools_chart.h"
#include "tools_md.h"
#include "userlive.h"
#include "util.h"

#define MD_MAX          ((size_t)256 * 1024)
#define COMPLETE_MAX    100
#define MARKET_PREFIX   "binance://market/"
#define MARKET_TEMPLATE "binance://market/{symbol}"
#define MIME_MD         "text/markdown"

/* ---- errors ---- */

/* Fills err; when uri is not NULL, err->data becomes {"uri": uri}. */
static void cat_fail(struct mcp_error *err, int code, const char *uri,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
cat_fail(struct mcp_error *err, int code, const char *uri, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    json_object_put(err->data);
    err->data = NULL;
    if (uri != NULL) {
        err->data = json_object_new_object();
        if (err->data != NULL)
            json_object_object_add(err->data, "uri",
                                   json_object_new_string(uri));
    }
}

static void
cat_clear(struct mcp_error *err)
{
    err->code = 0;
    err->message[0] = '\0';
    err->data = NULL;
}

/* ---- resources ---- */

struct res_row {
    const char *uri, *name, *title, *description;
};

static const struct res_row res_rows[] = {
    {"binance://market/BTCUSDT", "market-btcusdt", "BTC/USDT market",
     "24-hour statistics and average price of BTCUSDT, as markdown."},
    {"binance://market/ETHUSDT", "market-ethusdt", "ETH/USDT market",
     "24-hour statistics and average price of ETHUSDT, as markdown."},
    {"binance://account/balances", "account-balances", "Account balances",
     "Non-zero balances (free, locked, total) of the account of the "
     "configured API key, as a markdown table. Needs credentials."},
    {"binance://orders/open", "open-orders", "Open orders",
     "Open orders on every trading pair, as a markdown table. Needs "
     "credentials."},
};

/* A new Resource or ResourceTemplate object; key is "uri" or
 * "uriTemplate". */
static json_object *
res_object(const char *key, const struct res_row *r)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    json_object_object_add(o, key, json_object_new_string(r->uri));
    json_object_object_add(o, "name", json_object_new_string(r->name));
    json_object_object_add(o, "title", json_object_new_string(r->title));
    json_object_object_add(o, "description",
                           json_object_new_string(r->description));
    json_object_object_add(o, "mimeType", json_object_new_string(MIME_MD));
    return o;
}

/* A new array of the four listed resources; NULL when memory runs out. */
json_object *
catalog_resources(void)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a != NULL && i < sizeof(res_rows) / sizeof(res_rows[0]);
         i++)
        json_object_array_add(a, res_object("uri", &res_rows[i]));
    return a;
}

/* A new array with the market and chart templates; NULL when memory runs
 * out. */
json_object *
catalog_resource_templates(void)
{
    static const struct res_row tpl = {
        MARKET_TEMPLATE, "market", "Market overview",
        "24-hour statistics and average price of any trading pair, e.g. "
        "binance://market/SOLUSDT, as markdown."};
    static const struct res_row chart = {
        TCHART_URI_TEMPLATE, "chart", "Candlestick chart",
        "The last 100 candles of a trading pair at an interval, with "
        "volume, as a 1024x576 PNG (get_chart's defaults), e.g. "
        "binance://chart/BTCUSDT/1h."};
    json_object *a = json_object_new_array(), *c;

    if (a != NULL) {
        json_object_array_add(a, res_object("uriTemplate", &tpl));
        c = res_object("uriTemplate", &chart);
        if (c != NULL)
            json_object_object_add(c, "mimeType",
                                   json_object_new_string("image/png"));
        json_object_array_add(a, c);
    }
    return a;
}

/* Runs tc; on failure fills err (-32603, with data {uri} when uri is not
 * NULL) and returns NULL. The body stays owned by tc. */
static json_object *
cat_call(struct mcp_call *call, struct tu_call *tc, const char *uri,
         struct mcp_error *err)
{
    json_object *body = tu_call_run(call, tc);

    if (body == NULL)
        cat_fail(err, -32603, uri, "%s", tc->err);
    return body;
}

/* Whether a failed call was Binance saying the symbol does not exist. */
static int
bad_symbol(const struct tu_call *tc)
{
    return tc->resp.status == BNC_ERR_API && tc->resp.api_code == -1121;
}

/* Appends the market overview of sym (ticker + average price). Returns 0,
 * or -1 with err set; an unknown symbol is not_found_code. */
static int
md_market_for(struct mcp_call *call, const char *sym, const char *uri,
              int not_found_code, struct dbuf *md, struct mcp_error *err)
{
    struct sym_info si;
    struct tu_call tk, av;
    json_object *ticker;
    int known = symcache_get(sym, &si, NULL), rc = -1;

    if (known == 1) {
        cat_fail(err, not_found_code, uri, "Binance lists no symbol %s", sym);
        return -1;
    }
    tu_call_init(&tk, "GET", "/api/v3/ticker/24hr", BNC_PUBLIC);
    tu_call_init(&av, "GET", "/api/v3/avgPrice", BNC_PUBLIC);
    bnc_params_add(&tk.params, "symbol", sym);
    bnc_params_add(&av.params, "symbol", sym);
    ticker = cat_call(call, &tk, uri, err);
    if (ticker != NULL) {
        json_object *avg = tu_call_run(call, &av); /* optional */
        if (tu_md_market(md, ticker, avg, known == 0 ? &si : NULL) == 0)
            rc = 0;
        else
            cat_fail(err, -32603, uri, "the market text is too long");
    } else if (bad_symbol(&tk)) {
        err->code = not_found_code;
    }
    tu_call_done(&tk);
    tu_call_done(&av);
    return rc;
}

/* The line that says a document comes from the user data stream. */
static int
md_live_source(struct dbuf *md, const struct userlive *info)
{
    char when[32] = "none yet";
    time_t secs = (time_t)(info->last_event_ms / 1000);
    struct tm tm;

    if (info->last_event_ms > 0 && gmtime_r(&secs, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return dbuf_printf(md,
                       "\nSource: the account's user data stream (live; "
                       "last event %s).\n",
                       when);
}

/* The balances from the user data stream, when it is live. Returns 1
 * when rendered, 0 when the caller goes to REST, -1 on a render error. */
static int
md_balances_live(struct mcp_call *call, struct dbuf *md)
{
    struct userlive info;
    char why[128];
    json_object *arr = userlive_balances(call, &info, why, sizeof(why));
    size_t shown = 0;
    int rc = 0;

    if (arr == NULL)
        return 0;
    rc |= dbuf_printf(md, "# Account balances (%s)\n\n",
                      creds_env_name(info.env));
    rc |= tu_md_balances(md, arr, &shown);
    rc |= dbuf_printf(md, "\n%zu asset%s with a balance.\n", shown,
                      shown == 1 ? "" : "s");
    rc |= md_live_source(md, &info);
    json_object_put(arr);
    return rc != 0 ? -1 : 1;
}

/* The balances document: from the account's user data stream when it is
 * live, else markdown of a signed /api/v3/account. */
static int
md_balances_doc(struct mcp_call *call, const char *uri, struct dbuf *md,
                struct mcp_error *err)
{
    struct tu_call tc;
    json_object *body, *bal = NULL;
    size_t shown = 0;
    int rc = md_balances_live(call, md);

    if (rc != 0) {
        if (rc < 0)
            cat_fail(err, -32603, uri, "the balances text is too long");
        return rc < 0 ? -1 : 0;
    }

    tu_call_init(&tc, "GET", "/api/v3/account", BNC_READ);
    bnc_params_add(&tc.params, "omitZeroBalances", "true");
    body = cat_call(call, &tc, uri, err);
    if (body == NULL) {
        tu_call_done(&tc);
        return -1;
    }
    json_object_object_get_ex(body, "balances", &bal);
    rc |=
        dbuf_printf(md, "# Account balances (%s)\n\n", creds_env_name(tc.env));
    rc |= tu_md_balances(md, bal, &shown);
    rc |= dbuf_printf(md,
                      "\n%zu asset%s with a balance. Account type %s; can "
                      "trade: %s.\n",
                      shown, shown == 1 ? "" : "s",
                      tu_jstr(body, "accountType"), tu_jstr(body, "canTrade"));
    tu_call_done(&tc);
    if (rc != 0) {
        cat_fail(err, -32603, uri, "the balances text is too long");
        return -1;
    }
    return 0;
}

/* The open orders from the user data stream, when it is live. Returns 1
 * when rendered, 0 when the caller goes to REST, -1 on a render error. */
static int
md_open_orders_live(struct mcp_call *call, struct dbuf *md)
{
    struct userlive info;
    char why[128];
    json_object *arr = userlive_open_orders(call, &info, why, sizeof(why));
    size_t n;
    int rc = 0;

    if (arr == NULL)
        return 0;
    n = json_object_array_length(arr);
    rc |= dbuf_printf(md, "# Open orders (%s)\n\n", creds_env_name(info.env));
    rc |= n == 0 ? dbuf_puts(md, "No open orders.\n") : tu_md_orders(md, arr);
    rc |= dbuf_printf(md, "\n%zu open order%s.\n", n, n == 1 ? "" : "s");
    rc |= md_live_source(md, &info);
    json_object_put(arr);
    return rc != 0 ? -1 : 1;
}

/* The open-orders document: from the account's user data stream when it
 * is live, else markdown of a signed /api/v3/openOrders. */
static int
md_open_orders_doc(struct mcp_call *call, const char *uri, struct dbuf *md,
                   struct mcp_error *err)
{
    struct tu_call tc;
    json_object *body;
    size_t n = 0;
    int rc = md_open_orders_live(call, md);

    if (rc != 0) {
        if (rc < 0)
            cat_fail(err, -32603, uri, "the orders text is too long");
        return rc < 0 ? -1 : 0;
    }
    tu_call_init(&tc, "GET", "/api/v3/openOrders", BNC_READ);
    body = cat_call(call, &tc, uri, err);
    if (body == NULL) {
        tu_call_done(&tc);
        return -1;
    }
    if (json_object_is_type(body, json_type_array))
        n = json_object_array_length(body);
    rc |= dbuf_printf(md, "# Open orders (%s)\n\n", creds_env_name(tc.env));
    rc |= n == 0 ? dbuf_puts(md, "No open orders.\n") : tu_md_orders(md, body);
    rc |= dbuf_printf(md, "\n%zu open order%s.\n", n, n == 1 ? "" : "s");
    tu_call_done(&tc);
    if (rc != 0) {
        cat_fail(err, -32603, uri, "the orders text is too long");
        return -1;
    }
    return 0;
}

/* Renders uri into md. Returns 0, or -1 with err set. */
static int
render_resource(struct mcp_call *call, const char *uri, struct dbuf *md,
                struct mcp_error *err)
{
    char sym[TU_SYMBOL_MAX];

    if (strncmp(uri, MARKET_PREFIX, strlen(MARKET_PREFIX)) == 0) {
        if (tu_symbol_norm(uri + strlen(MARKET_PREFIX), sym, sizeof(sym)) < 0)
            goto not_found;
        return md_market_for(call, sym, uri, -32002, md, err);
    }
    if (strcmp(uri, "binance://account/balances") == 0)
        return md_balances_doc(call, uri, md, err);
    if (strcmp(uri, "binance://orders/open") == 0)
        return md_open_orders_doc(call, uri, md, err);
not_found:
    cat_fail(err, -32002, uri,
             "Resource not found: %s. Known resources: "
             "binance://market/{symbol} (e.g. binance://market/BTCUSDT), "
             "binance://account/balances, binance://orders/open.",
             uri);
    return -1;
}

/* A new {"contents":[{uri, mimeType, text}]}; NULL when memory runs out. */
static json_object *
contents_object(const char *uri, const char *text)
{
    json_object *out = json_object_new_object();
    json_object *arr = json_object_new_array();
    json_object *c = json_object_new_object();

    if (out == NULL || arr == NULL || c == NULL) {
        json_object_put(out);
        json_object_put(arr);
        json_object_put(c);
        return NULL;
    }
    json_object_object_add(c, "uri", json_object_new_string(uri));
    json_object_object_add(c, "mimeType", json_object_new_string(MIME_MD));
    json_object_object_add(c, "text", json_object_new_string(text));
    json_object_array_add(arr, c);
    json_object_object_add(out, "contents", arr);
    return out;
}

/* See catalog.h. The content's uri echoes the one asked for. */
json_object *
catalog_read_resource(struct mcp_call *call, const char *uri,
                      struct mcp_error *err)
{
    struct dbuf md;
    json_object *out = NULL;

    cat_clear(err);
    if (uri == NULL) {
        cat_fail(err, -32602, NULL, "resources/read needs a uri");
        return NULL;
    }
    if (strncmp(uri, TCHART_URI_PREFIX, strlen(TCHART_URI_PREFIX)) == 0) {
        char msg[MCP_ERROR_MAX];
        int code;
        out = tchart_read_resource(call, uri, &code, msg, sizeof(msg));
        if (out == NULL)
            cat_fail(err, code, uri, "%s", msg);
        return out;
    }
    dbuf_init(&md, MD_MAX);
    if (render_resource(call, uri, &md, err) == 0) {
        out = contents_object(uri, dbuf_str(&md));
        if (out == NULL)
            cat_fail(err, -32603, uri, "out of memory");
    }
    dbuf_free(&md);
    return out;
}

/* ---- prompts ---- */

static const char *const strategies[] = {"aggressive", "balanced",
                                         "conservative", NULL};
static const char *const risk_levels[] = {"low", "medium", "high", NULL};

/* A prompt argument: its values when it is an enum (NULL otherwise). */
struct prompt_arg {
    const char *name;
    const char *alias; /* the original server's camelCase name, accepted */
    const char *description;
    int required;
    const char *const *values;
    const char *dflt;
};

static const struct prompt_arg analysis_args[] = {
    {"symbol", NULL, "Trading pair to analyse, e.g. BTCUSDT.", 1, NULL, NULL},
    {"strategy", NULL,
     "aggressive, balanced or conservative (default "
     "balanced).",
     0, strategies, "balanced"},
    {"risk_tolerance", "riskTolerance",
     "low, medium or high (default "
     "medium).",
     0, risk_levels, "medium"},
    {NULL, NULL, NULL, 0, NULL, NULL},
};

static const char *const depths[] = {"quick", "standard", "deep", NULL};
static const char *const flow_windows[] = {"10", "30", "60", "300", NULL};

static const struct prompt_arg advanced_args[] = {
    {"symbol", NULL, "Trading pair to analyse, e.g. BTCUSDT.", 1, NULL, NULL},
    {"analysis_depth", "analysisDepth",
     "quick (flow 60 s, health 300 s, profile 1 h), standard (60 s, 300 s, "
     "4 h; the default) or deep (300 s, 1800 s, 24 h).",
     0, depths, "standard"},
    {NULL, NULL, NULL, 0, NULL, NULL},
};

/* window_secs is a number: its values only feed completion. */
static const struct prompt_arg orderflow_args[] = {
    {"symbol", NULL, "Trading pair, e.g. BTCUSDT.", 1, NULL, NULL},
    {"window_secs", "windowSecs",
     "Seconds of trades, 10 to 300 (default 60; clamped).", 0, flow_windows,
     "60"},
    {NULL, NULL, NULL, 0, NULL, NULL},
};

static const struct prompt_arg health_args[] = {
    {"symbol", NULL, "Trading pair, e.g. BTCUSDT.", 1, NULL, NULL},
    {NULL, NULL, NULL, 0, NULL, NULL},
};

/* Renders a prompt's message text into md. Returns 0 or -1 (err set). */
typedef int (*prompt_fn)(struct mcp_call *call, json_object *args,
                         struct dbuf *md, struct mcp_error *err);

struct prompt_row {
    const char *name, *title, *description;
    const struct prompt_arg *args;
    prompt_fn render;
};

static int analysis_text(struct mcp_call *call, json_object *args,
                         struct dbuf *md, struct mcp_error *err);
static int portfolio_prompt(struct mcp_call *call, json_object *args,
                            struct dbuf *md, struct mcp_error *err);
static int advanced_text(struct mcp_call *call, json_object *args,
                         struct dbuf *md, struct mcp_error *err);
static int orderflow_text(struct mcp_call *call, json_object *args,
                          struct dbuf *md, struct mcp_error *err);
static int health_text(struct mcp_call *call, json_object *args,
                       struct dbuf *md, struct mcp_error *err);

static const struct prompt_row prompt_rows[] = {
    {"trading_analysis", "Trading analysis",
     "Analyse one trading pair with live 24-hour data and suggest a trade "
     "plan that fits a strategy and a risk tolerance.",
     analysis_args, analysis_text},
    {"portfolio_risk", "Portfolio risk",
     "Assess the risk of the account's current holdings (live balances; "
     "needs credentials, otherwise asks for a general framework).",
     NULL, portfolio_prompt},
    {"advanced_market_analysis", "Advanced market analysis",
     "Order flow, volume profile (POC, value area), microstructure health "
     "and anomalies of one trading pair from the live feed, with how much "
     "data each rests on, and a summary to interpret.",
     advanced_args, advanced_text},
    {"orderflow_snapshot", "Order flow snapshot",
     "Taker buy and sell flow of one trading pair over the last seconds "
     "(live feed): direction, net flow, cumulative delta and a reading.",
     orderflow_args, orderflow_text},
    {"market_health_check", "Market health check",
     "The microstructure health score of one trading pair over 300 s (live "
     "feed): spread stability, depth, flow balance, update rate, and the "
     "risk it suggests.",
     health_args, health_text},
};

#define NPROMPTS (sizeof(prompt_rows) / sizeof(prompt_rows[0]))

static const struct prompt_row *
prompt_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < NPROMPTS; i++)
        if (strcmp(prompt_rows[i].name, name) == 0)
            return &prompt_rows[i];
    return NULL;
}

static const struct prompt_arg *
prompt_arg_find(const struct prompt_row *p, const char *name)
{
    for (const struct prompt_arg *a = p->args; a != NULL && a->name != NULL;
         a++)
        if (strcmp(a->name, name) == 0 ||
            (a->alias != NULL && strcmp(a->alias, name) == 0))
            return a;
    return NULL;
}

/* A new Prompt object for prompts/list. */
static json_object *
prompt_object(const struct prompt_row *p)
{
    json_object *o = json_object_new_object(), *args = json_object_new_array();

    if (o == NULL || args == NULL) {
        json_object_put(o);
        json_object_put(args);
        return NULL;
    }
    for (const struct prompt_arg *a = p->args; a != NULL && a->name != NULL;
         a++) {
        json_object *ao = json_object_new_object();
        if (ao == NULL)
            continue;
        json_object_object_add(ao, "name", json_object_new_string(a->name));
        json_object_object_add(ao, "description",
                               json_object_new_string(a->description));
        json_object_object_add(ao, "required",
                               json_object_new_boolean(a->required));
        json_object_array_add(args, ao);
    }
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "title", json_object_new_string(p->title));
    json_object_object_add(o, "description",
                           json_object_new_string(p->description));
    json_object_object_add(o, "arguments", args);
    return o;
}

/* A new array of the prompts; NULL when memory runs out. */
json_object *
catalog_prompts(void)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a != NULL && i < NPROMPTS; i++)
        json_object_array_add(a, prompt_object(&prompt_rows[i]));
    return a;
}

/* The value of argument a in args (its alias too), or NULL when absent.
 * Returns -1 with err set when it is present but not a string. */
static int
prompt_value(json_object *args, const struct prompt_arg *a, const char **out,
             struct mcp_error *err)
{
    json_object *v = NULL;

    *out = NULL;
    if (args == NULL ||
        (!json_object_object_get_ex(args, a->name, &v) &&
         (a->alias == NULL || !json_object_object_get_ex(args, a->alias, &v))))
        return 0;
    if (!json_object_is_type(v, json_type_string)) {
        cat_fail(err, -32602, NULL, "argument '%s' must be a string", a->name);
        return -1;
    }
    *out = json_object_get_string(v);
    return 0;
}

/* Resolves an enum argument (case-insensitive) to its canonical value, or
 * its default when absent. Returns 0, or -1 with err set. */
static int
prompt_enum(json_object *args, const struct prompt_arg *a, const char **out,
            struct mcp_error *err)
{
    const char *v;

    if (prompt_value(args, a, &v, err) < 0)
        return -1;
    if (v == NULL || v[0] == '\0') {
        *out = a->dflt;
        return 0;
    }
    for (size_t i = 0; a->values[i] != NULL; i++)
        if (strcasecmp(a->values[i], v) == 0) {
            *out = a->values[i];
            return 0;
        }
    cat_fail(err, -32602, NULL,
             "argument '%s' must be %s, %s or %s (got "
             "\"%.40s\")",
             a->name, a->values[0], a->values[1], a->values[2], v);
    return -1;
}

/* What each strategy and risk level means, for the model. */
static const char *
profile_hint(const char *v)
{
    if (strcmp(v, "aggressive") == 0)
        return "momentum entries, larger positions, wider targets";
    if (strcmp(v, "conservative") == 0)
        return "capital preservation first, small positions, confirmed "
               "entries only";
    if (strcmp(v, "low") == 0)
        return "risk at most 1% of capital per trade";
    if (strcmp(v, "high") == 0)
        return "accepts up to 5% of capital at risk per trade";
    if (strcmp(v, "medium") == 0)
        return "about 2% of capital at risk per trade";
    return "a mix of trend following and mean reversion, moderate size";
}

/* The symbol argument a, normalised into sym. Returns 0 or -1 (err set). */
static int
prompt_symbol(json_object *args, const struct prompt_arg *a,
              char sym[TU_SYMBOL_MAX], struct mcp_error *err)
{
    const char *raw;

    if (prompt_value(args, a, &raw, err) < 0)
        return -1;
    if (raw == NULL || tu_symbol_norm(raw, sym, TU_SYMBOL_MAX) < 0) {
        cat_fail(err, -32602, NULL,
                 "argument 'symbol' is required: a "
                 "trading pair such as BTCUSDT");
        return -1;
    }
    return 0;
}

/* The end of an analytics prompt: its data failed (-32603) or the text
 * asks for a reading. */
static int
analytics_end(int rc, const char *why, struct dbuf *md, struct mcp_error *err)
{
    if (rc < 0) {
        cat_fail(err, -32603, NULL, "%s", why);
        return -1;
    }
    if (dbuf_puts(md, "\nInterpret these figures for the user: what they "
                      "say, how much data they rest on (a figure marked not "
                      "measured has no data behind it: do not guess it), "
                      "and what to watch next. They describe the market, "
                      "they are no advice to trade.\n") < 0) {
        cat_fail(err, -32603, NULL, "the prompt text is too long");
        return -1;
    }
    return 0;
}

static int
advanced_text(struct mcp_call *call, json_object *args, struct dbuf *md,
              struct mcp_error *err)
{
    char sym[TU_SYMBOL_MAX], why[MCP_ERROR_MAX];
    struct an_depth_windows w;
    const char *depth;

    if (prompt_symbol(args, &advanced_args[0], sym, err) < 0 ||
        prompt_enum(args, &advanced_args[1], &depth, err) < 0)
        return -1;
    an_depth_windows_of(depth, &w);
    return analytics_end(
        ta_prompt_advanced(call, sym, &w, md, why, sizeof(why)), why, md, err);
}

static int
orderflow_text(struct mcp_call *call, json_object *args, struct dbuf *md,
               struct mcp_error *err)
{
    char sym[TU_SYMBOL_MAX], why[MCP_ERROR_MAX], *end;
    const char *v;
    long w = 60;

    if (prompt_symbol(args, &orderflow_args[0], sym, err) < 0 ||
        prompt_value(args, &orderflow_args[1], &v, err) < 0)
        return -1;
    if (v != NULL && v[0] != '\0') {
        w = strtol(v, &end, 10);
        if (*end != '\0' || end == v) {
            cat_fail(err, -32602, NULL,
                     "argument 'window_secs' must be a whole number of "
                     "seconds, 10 to 300 (got \"%.20s\")",
                     v);
            return -1;
        }
        w = w < 10 ? 10 : w > 300 ? 300 : w;
    }
    return analytics_end(
        ta_prompt_orderflow(call, sym, (int)w, md, why, sizeof(why)), why, md,
        err);
}

static int
health_text(struct mcp_call *call, json_object *args, struct dbuf *md,
            struct mcp_error *err)
{
    char sym[TU_SYMBOL_MAX], why[MCP_ERROR_MAX];

    if (prompt_symbol(args, &health_args[0], sym, err) < 0)
        return -1;
    return analytics_end(ta_prompt_health(call, sym, md, why, sizeof(why)), why,
                         md, err);
}

/* The trading_analysis message text into md. Returns 0 or -1 (err set). */
static int
analysis_text(struct mcp_call *call, json_object *args, struct dbuf *md,
              struct mcp_error *err)
{
    const char *strategy, *risk;
    char sym[TU_SYMBOL_MAX], now[40];

    if (prompt_symbol(args, &analysis_args[0], sym, err) < 0 ||
        prompt_enum(args, &analysis_args[1], &strategy, err) < 0 ||
        prompt_enum(args, &analysis_args[2], &risk, err) < 0)
        return -1;
    format_rfc3339_ms(now_ms(), now, sizeof(now));
    if (dbuf_printf(md,
                    "Analyse the Binance Spot market %s for a trading "
                    "decision.\n\nTrader profile: strategy **%s** (%s); risk "
                    "tolerance **%s** (%s).\n\nLive market data, fetched %s:"
                    "\n\n",
                    sym, strategy, profile_hint(strategy), risk,
                    profile_hint(risk), now) < 0) {
        cat_fail(err, -32603, NULL, "the prompt text is too long");
        return -1;
    }
    if (md_market_for(call, sym, NULL, -32602, md, err) < 0)
        return -1;
    if (dbuf_puts(
            md, "\nPlease give:\n"
                "1. The trend and momentum the 24h data suggests, and what it "
                "cannot tell.\n"
                "2. Key levels: support and resistance from the range and the "
                "averages.\n"
                "3. A plan that fits the profile: entry, stop-loss, "
                "take-profit and "
                "position size as a share of capital.\n"
                "4. The main risks and what would invalidate the plan.\n\n"
                "For more data call get_klines, get_order_book or "
                "get_recent_trades. Place no order without the user's explicit "
                "confirmation; validate with place_order test: true, or use "
                "testnet, first.\n") < 0) {
        cat_fail(err, -32603, NULL, "the prompt text is too long");
        return -1;
    }
    return 0;
}

/* The portfolio_risk message text into md. Without credentials it says
 * so and still asks for a framework (see the file comment). */
static int
portfolio_text(struct mcp_call *call, struct dbuf *md, struct mcp_error *err)
{
    struct tu_call tc;
    json_object *body, *bal = NULL;
    size_t shown = 0;
    int rc = 0;

    tu_call_init(&tc, "GET", "/api/v3/account", BNC_READ);
    bnc_params_add(&tc.params, "omitZeroBalances", "true");
    body = tu_call_run(call, &tc);
    if (body == NULL && tc.resp.status == BNC_ERR_NO_CREDENTIALS) {
        rc = dbuf_printf(md,
                         "No live balances are available: %s\n\nPlease give "
                         "a general framework for assessing the risk of a "
                         "crypto spot portfolio: concentration, stablecoin "
                         "share, volatility and correlation, liquidity, "
                         "exchange risk, and a sample allocation for a "
                         "cautious, a balanced and an aggressive investor. "
                         "List the data you would need to assess a real "
                         "portfolio.\n",
                         tu_no_creds_text);
    } else if (body == NULL) {
        cat_fail(err, -32603, NULL, "%s", tc.err);
        rc = -1;
    } else {
        json_object_object_get_ex(body, "balances", &bal);
        rc |= dbuf_printf(md,
                          "Assess the risk of this Binance Spot "
                          "portfolio (%s account).\n\n",
                          creds_env_name(tc.env));
        rc |= tu_md_balances(md, bal, &shown);
        rc |=
            dbuf_printf(md,
                        "\n%sPlease give: the value of each holding "
                        "(use get_ticker for prices), concentration and "
                        "stablecoin share, volatility and correlation "
                        "risks, liquidity, and concrete rebalancing steps "
                        "with target weights. Place no order without the "
                        "user's explicit confirmation.\n",
                        shown == 0 ? "The account holds no assets; suggest how "
                                     "to build a diversified portfolio.\n\n"
                                   : "");
    }
    if (rc != 0 && err->code == 0)
        cat_fail(err, -32603, NULL, "the prompt text is too long");
    tu_call_done(&tc);
    return rc != 0 ? -1 : 0;
}

static int
portfolio_prompt(struct mcp_call *call, json_object *args, struct dbuf *md,
                 struct mcp_error *err)
{
    (void)args;
    return portfolio_text(call, md, err);
}

/* A new GetPromptResult with one user message of text. */
static json_object *
prompt_result(const char *description, const char *text)
{
    json_object *o = json_object_new_object(), *msgs = json_object_new_array();
    json_object *m = json_object_new_object(), *c = json_object_new_object();

    if (o == NULL || msgs == NULL || m == NULL || c == NULL) {
        json_object_put(o);
        json_object_put(msgs);
        json_object_put(m);
        json_object_put(c);
        return NULL;
    }
    json_object_object_add(c, "type", json_object_new_string("text"));
    json_object_object_add(c, "text", json_object_new_string(text));
    json_object_object_add(m, "role", json_object_new_string("user"));
    json_object_object_add(m, "content", c);
    json_object_array_add(msgs, m);
    json_object_object_add(o, "description",
                           json_object_new_string(description));
    json_object_object_add(o, "messages", msgs);
    return o;
}

/* See catalog.h. */
json_object *
catalog_get_prompt(struct mcp_call *call, const char *name, json_object *args,
                   struct mcp_error *err)
{
    const struct prompt_row *p = prompt_find(name);
    struct dbuf md;
    json_object *out = NULL;
    int rc;

    cat_clear(err);
    if (p == NULL) {
        cat_fail(err, -32602, NULL,
                 "Unknown prompt: %s. Prompts: "
                 "trading_analysis, portfolio_risk, "
                 "advanced_market_analysis, orderflow_snapshot, "
                 "market_health_check.",
                 name != NULL ? name : "(none)");
        return NULL;
    }
    dbuf_init(&md, MD_MAX);
    rc = p->render(call, args, &md, err);
    if (rc == 0) {
        out = prompt_result(p->description, dbuf_str(&md));
        if (out == NULL)
            cat_fail(err, -32603, NULL, "out of memory");
    }
    dbuf_free(&md);
    return out;
}

/* ---- completion ---- */

/* A new completion object from values (an array it takes). */
static json_object *
completion(json_object *values, size_t total)
{
    json_object *o = json_object_new_object();
    size_t n = json_object_array_length(values);

    if (o == NULL) {
        json_object_put(values);
        return NULL;
    }
    json_object_object_add(o, "values", values);
    json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
    json_object_object_add(o, "hasMore", json_object_new_boolean(total > n));
    return o;
}

/* Symbols starting with prefix, best first (see symcache_find). */
static json_object *
complete_symbols(const char *prefix, struct mcp_error *err)
{
    struct sym_info found[COMPLETE_MAX];
    struct bnc_response resp;
    size_t total = 0;
    json_object *values;
    int n;

    n = symcache_find(prefix, 0, found, COMPLETE_MAX, &total, &resp);
    if (n < 0) {
        char why[MCP_ERROR_MAX];
        bnc_describe_error(&resp, why, sizeof(why));
        bnc_response_free(&resp);
        cat_fail(err, -32603, NULL, "%s", why);
        return NULL;
    }
    values = json_object_new_array();
    for (int i = 0; values != NULL && i < n; i++)
        json_object_array_add(values, json_object_new_string(found[i].symbol));
    if (values == NULL) {
        cat_fail(err, -32603, NULL, "out of memory");
        return NULL;
    }
    return completion(values, total);
}

/* Enum values starting with prefix (case-insensitive). */
static json_object *
complete_enum(const char *const *values, const char *prefix)
{
    json_object *a = json_object_new_array();
    size_t n = 0, plen = strlen(prefix);

    for (size_t i = 0; a != NULL && values[i] != NULL; i++)
        if (strncasecmp(values[i], prefix, plen) == 0) {
            json_object_array_add(a, json_object_new_string(values[i]));
            n++;
        }
    return a != NULL ? completion(a, n) : NULL;
}

/* See catalog.h. */
json_object *
catalog_complete(struct mcp_call *call, const char *ref_type,
                 const char *ref_name, const char *arg_name, const char *prefix,
                 struct mcp_error *err)
{
    const struct prompt_row *p;
    const struct prompt_arg *a;

    (void)call;
    cat_clear(err);
    if (prefix == NULL)
        prefix = "";
    if (ref_type == NULL || ref_name == NULL || arg_name == NULL) {
        cat_fail(err, -32602, NULL, "completion needs ref and argument");
        return NULL;
    }
    if (strcmp(ref_type, "ref/resource") == 0) {
        int chart = strcmp(ref_name, TCHART_URI_TEMPLATE) == 0;
        if (chart && strcmp(arg_name, "interval") == 0)
            return complete_enum(tchart_intervals, prefix);
        if ((!chart && strcmp(ref_name, MARKET_TEMPLATE) != 0) ||
            strcmp(arg_name, "symbol") != 0) {
            cat_fail(err, -32602, NULL,
                     "No completion for %s argument %s; "
                     "only " MARKET_TEMPLATE " symbol and " TCHART_URI_TEMPLATE
                     " symbol and interval.",
                     ref_name, arg_name);
            return NULL;
        }
        return complete_symbols(prefix, err);
    }
    if (strcmp(ref_type, "ref/prompt") != 0 ||
        (p = prompt_find(ref_name)) == NULL) {
        cat_fail(err, -32602, NULL, "Unknown completion reference %s %s",
                 ref_type, ref_name);
        return NULL;
    }
    if ((a = prompt_arg_find(p, arg_name)) == NULL) {
        cat_fail(err, -32602, NULL, "Prompt %s has no argument %s", p->name,
                 arg_name);
        return NULL;
    }
    return a->values != NULL ? complete_enum(a->values, prefix)
                             : complete_symbols(prefix, err);
}
