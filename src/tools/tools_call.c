/*
 * tools_call.c - the Binance call adapter of the tools, resources and
 * prompts. See tools_call.h for the contract of each function.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "tools_call.h"
#include "tools_callcreds.h"
#include "util.h"

const char tu_no_creds_text[] =
    "No Binance API credentials are available for this session. Call "
    "configure_credentials with an API key, its secret and environment "
    "\"testnet\" (recommended for trying things) or \"mainnet\", or start "
    "binmcpd with credentials in its configuration. Market-data tools work "
    "without credentials.";

/* ---- arguments ---- */

/* Borrowed from args; see tools_util.h. */
const char *
tu_arg_str(json_object *args, const char *key)
{
    json_object *v;

    if (args == NULL || !json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Returns 1 with *out set when args[key] is an integer, else 0. */
int
tu_arg_int(json_object *args, const char *key, int64_t *out)
{
    json_object *v;

    if (args == NULL || !json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_int))
        return 0;
    *out = json_object_get_int64(v);
    return 1;
}

/* Returns args[key] as 0/1, dflt when absent. */
int
tu_arg_bool(json_object *args, const char *key, int dflt)
{
    json_object *v;

    if (args == NULL || !json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_boolean))
        return dflt;
    return json_object_get_boolean(v) ? 1 : 0;
}

/* Upper-cases in into out; -1 with out = "" when in is not a symbol. */
int
tu_symbol_norm(const char *in, char *out, size_t outlen)
{
    size_t n = in != NULL ? strlen(in) : 0;

    if (outlen > 0)
        out[0] = '\0';
    if (n == 0 || n > 20 || n >= outlen)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x80 || !isalnum(c)) {
            out[0] = '\0';
            return -1;
        }
        out[i] = (char)toupper(c);
    }
    out[n] = '\0';
    return 0;
}

/* ---- arguments to parameters ---- */

/* Adds one argument's value v (or, when v is NULL, the row's default) to p
 * and, when the row says so, to echo. Returns 0 or -1 with err set. */
static int
add_one_param(const struct tu_arg *a, json_object *v, struct bnc_params *p,
              json_object *echo, char *err, size_t errlen)
{
    char sym[TU_SYMBOL_MAX];
    json_object *e = NULL;

    if (v == NULL) {
        bnc_params_add(p, a->param, a->dflt);
        return 0;
    }
    switch (a->kind) {
    case TU_ARG_SYMBOL:
        if (tu_symbol_norm(json_object_get_string(v), sym, sizeof(sym)) < 0) {
            snprintf(err, errlen,
                     "argument '%s' must be a trading pair of 1 to 20 "
                     "letters and digits, such as BTCUSDT",
                     a->arg);
            return -1;
        }
        bnc_params_add(p, a->param, sym);
        e = json_object_new_string(sym);
        break;
    case TU_ARG_INT:
        bnc_params_add_int(p, a->param, json_object_get_int64(v));
        e = json_object_get(v);
        break;
    case TU_ARG_BOOL:
        bnc_params_add(p, a->param,
                       json_object_get_boolean(v) ? "true" : "false");
        e = json_object_get(v);
        break;
    case TU_ARG_STR:
    default:
        bnc_params_add(p, a->param, json_object_get_string(v));
        e = json_object_get(v);
        break;
    }
    if (a->echo && echo != NULL)
        json_object_object_add(echo, a->arg, e);
    else
        json_object_put(e);
    return 0;
}

/* See tools_call.h. echo gains new references; args stays borrowed. */
int
tu_args_to_params(json_object *args, const struct tu_arg *map,
                  struct bnc_params *p, json_object *echo, char *err,
                  size_t errlen)
{
    for (const struct tu_arg *a = map; a != NULL && a->arg != NULL; a++) {
        json_object *v = NULL;

        if (args == NULL || !json_object_object_get_ex(args, a->arg, &v) ||
            json_object_is_type(v, json_type_null))
            v = NULL;
        if (v == NULL && a->dflt == NULL)
            continue;
        if (add_one_param(a, v, p, echo, err, errlen) < 0)
            return -1;
    }
    if (p->overflow) {
        snprintf(err, errlen,
                 "the arguments are too long to send to Binance (more than "
                 "%d bytes of query string)",
                 BNC_PARAMS_MAX);
        return -1;
    }
    return 0;
}

/* See tools_call.h. */
int
tu_check_time_range(json_object *args, int64_t max_span_ms,
                    struct tool_result *res)
{
    int64_t start, end;

    if (!tu_arg_int(args, "start_time", &start) ||
        !tu_arg_int(args, "end_time", &end))
        return 0;
    if (start > end)
        return tool_fail(res,
                         "start_time (%lld) is after end_time (%lld); give "
                         "the earlier time as start_time.",
                         (long long)start, (long long)end);
    if (max_span_ms > 0 && end - start > max_span_ms)
        return tool_fail(res,
                         "start_time and end_time are %lld ms apart; Binance "
                         "allows at most %lld ms (%lld hours) here. Narrow "
                         "the range or page through it.",
                         (long long)(end - start), (long long)max_span_ms,
                         (long long)(max_span_ms / 3600000));
    return 0;
}

/* ---- calls ---- */

/* Zeroes tc and records what to call; params start empty. */
void
tu_call_init(struct tu_call *tc, const char *method, const char *path,
             enum bnc_kind kind)
{
    memset(tc, 0, sizeof(*tc));
    tc->method = method;
    tc->path = path;
    tc->kind = kind;
    tc->env = BNC_ENV_MAINNET;
    tc->resp.retry_after = -1;
    tc->resp.used_weight = -1;
    bnc_params_init(&tc->params);
}

/* See tools_call.h. The credentials copy lives on this stack frame only and
 * is wiped before return, whatever happens. */
json_object *
tu_call_run(struct mcp_call *call, struct tu_call *tc)
{
    struct creds buf;
    const struct creds *cr = NULL;
    struct bnc_request req;
    int rc;

    memset(&buf, 0, sizeof(buf));
    memset(&req, 0, sizeof(req));
    req.method = tc->method;
    req.path = tc->path;
    req.params = &tc->params;
    req.kind = tc->kind;
    req.cancel = call != NULL ? call->cancel : NULL;
    req.origin = call; /* the trading guard asks its questions through it */
    if (tc->kind != BNC_PUBLIC) {
        cr = call != NULL ? tools_call_creds(call, &buf) : NULL;
        if (cr == NULL) {
            creds_wipe(&buf);
            tc->resp.status = BNC_ERR_NO_CREDENTIALS;
            snprintf(tc->err, sizeof(tc->err), "%s", tu_no_creds_text);
            return NULL;
        }
        tc->env = cr->env;
        req.creds = cr;
    }
    rc = bnc_call(&req, &tc->resp);
    creds_wipe(&buf);
    if (call != NULL && call->sess != NULL)
        mcp_call_log(call, rc == 0 ? MCP_LOG_DEBUG : MCP_LOG_WARNING, "binance",
                     "%s %s: %s in %ld ms (weight used %ld)", tc->method,
                     tc->path, bnc_status_name(tc->resp.status),
                     tc->resp.elapsed_ms, tc->resp.used_weight);
    if (rc < 0 || tc->resp.body == NULL) {
        if (rc == 0)
            tc->resp.status = BNC_ERR_BAD_RESPONSE;
        bnc_describe_error(&tc->resp, tc->err, sizeof(tc->err));
        return NULL;
    }
    return tc->resp.body;
}

/* Frees the response body; tc may be reused after tu_call_init. */
void
tu_call_done(struct tu_call *tc)
{
    bnc_response_free(&tc->resp); /* also what the trading gate kept */
}

/* See tools_call.h. */
int
tu_outcome_unknown(enum bnc_status st)
{
    switch (st) {
    case BNC_ERR_SERVER:
    case BNC_ERR_TIMEOUT:
    case BNC_ERR_NETWORK:
    case BNC_ERR_CANCELLED:
    case BNC_ERR_BAD_RESPONSE:
        return 1;
    default:
        return 0;
    }
}

/* See tools_call.h. lookup is serialized, not kept. */
int
tu_fail_unknown(struct tool_result *res, const char *what, json_object *lookup,
                const char *hint, const struct bnc_response *resp)
{
    char why[512];

    bnc_describe_error(resp, why, sizeof(why));
    return tool_fail(
        res,
        "OUTCOME UNKNOWN: the %s may or may not have been executed by "
        "Binance. %s It was NOT retried, because repeating a trading request "
        "could execute it twice. Before doing anything else, call get_order "
        "with %s to learn the real status.%s%s%s%s",
        what, why,
        json_object_to_json_string_ext(
            lookup, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        hint != NULL ? " " : "", hint != NULL ? hint : "",
        resp->verdict[0] != '\0' ? " " : "", resp->verdict);
}

/* ---- shaping ---- */

/* See tools_call.h. */
json_object *
tu_pick(json_object *src, const char *const *fields)
{
    json_object *out, *v;

    if (!json_object_is_type(src, json_type_object))
        return NULL;
    if (fields == NULL)
        return json_object_get(src);
    out = json_object_new_object();
    if (out == NULL)
        return NULL;
    for (size_t i = 0; fields[i] != NULL; i++)
        if (json_object_object_get_ex(src, fields[i], &v))
            json_object_object_add(out, fields[i], json_object_get(v));
    return out;
}

/* A new object naming the columns of row (an array); NULL when row is not
 * an array. */
static json_object *
name_columns(json_object *row, const char *const *columns)
{
    json_object *out;
    size_t n;

    if (!json_object_is_type(row, json_type_array))
        return NULL;
    out = json_object_new_object();
    if (out == NULL)
        return NULL;
    n = json_object_array_length(row);
    for (size_t i = 0; i < n && columns[i] != NULL; i++)
        json_object_object_add(
            out, columns[i],
            json_object_get(json_object_array_get_idx(row, i)));
    return out;
}

/* Shapes each element of the array body into a new array under sh->wrap. */
static int
shape_array(json_object *body, const struct tu_shape *sh, json_object *into)
{
    json_object *arr;
    size_t n;

    if (!json_object_is_type(body, json_type_array))
        return -1;
    n = json_object_array_length(body);
    arr = json_object_new_array_ext((int)n);
    if (arr == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *el = json_object_array_get_idx(body, i), *o;

        o = sh->columns != NULL ? name_columns(el, sh->columns)
                                : tu_pick(el, sh->fields);
        if (o == NULL) {
            json_object_put(arr);
            return -1;
        }
        json_object_array_add(arr, o);
    }
    json_object_object_add(into, sh->wrap, arr);
    if (sh->count)
        json_object_object_add(into, "count",
                               json_object_new_int64((int64_t)n));
    return 0;
}

/* See tools_call.h. */
int
tu_shape_body(json_object *body, const struct tu_shape *sh, json_object *into)
{
    if (sh->wrap != NULL)
        return shape_array(body, sh, into);
    if (!json_object_is_type(body, json_type_object))
        return -1;
    json_object_object_foreach(body, key, val)
    {
        int keep = sh->fields == NULL;
        for (size_t i = 0; !keep && sh->fields[i] != NULL; i++)
            keep = strcmp(sh->fields[i], key) == 0;
        if (keep)
            json_object_object_add(into, key, json_object_get(val));
    }
    return 0;
}

/* ---- simple tools ---- */

/* Builds the get_order arguments that find the order a trading request of
 * spec was about: symbol (as echoed) plus spec->lookup's arguments. */
static json_object *
lookup_args(const struct tu_simple *spec, json_object *args, json_object *out)
{
    json_object *l = json_object_new_object(), *v;

    if (l == NULL)
        return NULL;
    if (json_object_object_get_ex(out, "symbol", &v))
        json_object_object_add(l, "symbol", json_object_get(v));
    for (size_t i = 0; spec->lookup != NULL && spec->lookup[i] != NULL; i++)
        if (json_object_object_get_ex(args, spec->lookup[i], &v))
            json_object_object_add(l, spec->lookup[i], json_object_get(v));
    return l;
}

/* Turns a failed trading call into the unknown-outcome sentence when it may
 * have been executed, else into Binance's reason. Returns -1. */
static int
fail_call(const struct tu_simple *spec, json_object *args, json_object *out,
          struct tu_call *tc, struct tool_result *res)
{
    json_object *l;
    int rc;

    if (spec->kind != BNC_TRADE || !tu_outcome_unknown(tc->resp.status))
        return tool_fail(res, "%s", tc->err);
    l = lookup_args(spec, args, out);
    if (l == NULL)
        return tool_fail(res, "%s", tc->err);
    rc = tu_fail_unknown(res, spec->what != NULL ? spec->what : "request", l,
                         NULL, &tc->resp);
    json_object_put(l);
    return rc;
}

/* See tools_call.h. */
int
tu_simple_run(struct mcp_call *call, json_object *args, struct tool_result *res,
              const struct tu_simple *spec)
{
    struct tu_call tc;
    json_object *out, *body;
    int rc = -1;

    tu_call_init(&tc, spec->method, spec->path, spec->kind);
    out = json_object_new_object();
    if (out == NULL)
        return tool_fail(res, "out of memory");
    if (tu_args_to_params(args, spec->args, &tc.params, out, tc.err,
                          sizeof(tc.err)) < 0) {
        rc = tool_fail(res, "%s", tc.err);
    } else if ((body = tu_call_run(call, &tc)) == NULL) {
        rc = fail_call(spec, args, out, &tc, res);
    } else if (tu_shape_body(body, &spec->shape, out) < 0) {
        rc = tool_fail(res,
                       "Binance answered %s %s with a document of an "
                       "unexpected shape; try again, and report it if it "
                       "persists.",
                       spec->method, spec->path);
    } else {
        if (spec->shape.env)
            json_object_object_add(
                out, "environment",
                json_object_new_string(creds_env_name(tc.env)));
        res->data = out;
        out = NULL;
        rc = 0;
    }
    json_object_put(out);
    tu_call_done(&tc);
    return rc;
}

/* See tools_call.h. */
const char *const tu_order_fields[] = {"symbol",
                                       "orderId",
                                       "orderListId",
                                       "clientOrderId",
                                       "origClientOrderId",
                                       "transactTime",
                                       "time",
                                       "updateTime",
                                       "price",
                                       "origQty",
                                       "executedQty",
                                       "cummulativeQuoteQty",
                                       "origQuoteOrderQty",
                                       "status",
                                       "timeInForce",
                                       "type",
                                       "side",
                                       "stopPrice",
                                       "trailingDelta",
                                       "trailingTime",
                                       "icebergQty",
                                       "strategyId",
                                       "strategyType",
                                       "isWorking",
                                       "workingTime",
                                       "selfTradePreventionMode",
                                       "preventedMatchId",
                                       "preventedQuantity",
                                       "expiryReason",
                                       "fills",
                                       NULL};

/* Contract in tools_call.h. */
int
tu_simple_tool(struct mcp_call *call, json_object *args,
               struct tool_result *res)
{
    const struct tu_simple *spec = call->tool_data;

    if (spec == NULL)
        return tool_fail(res,
                         "Internal error: the tool %s has no call "
                         "description.",
                         call->tool != NULL ? call->tool : "?");
    return tu_simple_run(call, args, res, spec);
}

/* Contract in tools_call.h. */
int
tu_one_ref(json_object *args, struct tool_result *res, const char *id_key,
           const char *client_key, const char *what)
{
    int64_t id;
    int has_id = tu_arg_int(args, id_key, &id);
    int has_client = tu_arg_str(args, client_key) != NULL;

    if (has_id && has_client)
        return tool_fail(res, "Give either %s or %s, not both.", id_key,
                         client_key);
    if (!has_id && !has_client)
        return tool_fail(res,
                         "Give %s (Binance's number) or %s (the id the %s "
                         "was placed with) to say which %s.",
                         id_key, client_key, what, what);
    return 0;
}
