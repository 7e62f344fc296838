/*
 * tools_call.h - the Binance call adapter that the tool families
 * (tools_*.c) and the catalog (catalog.c) share, so that no tool copies
 * another: reading validated arguments, normalising symbols, turning
 * arguments into Binance parameters, running one Binance call with the
 * caller's credentials (tools_callcreds.h) and cancel flag, shaping Binance's
 * answer into a result object, a whole tool made of one call
 * (struct tu_simple), and the sentence for a trade whose outcome is
 * unknown. Failures are the tool contract's (mcp_tool.h: tool_fail) or a
 * sentence for a model to read in tc->err.
 */
#ifndef BINMCPD_TOOLS_CALL_H
#define BINMCPD_TOOLS_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bnc.h"
#include "mcp.h"
#include "mcp_tool.h"

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
 * credentials tools_call_creds() gives (a local copy, wiped before return).
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

/* A tool handler for rows whose data is a struct tu_simple: a tool made of
 * one call is then a row ({..., tu_simple_tool, &spec}) and no function. */
int tu_simple_tool(struct mcp_call *call, json_object *args,
                   struct tool_result *res);

/* An object named either by Binance's number or by the client's id, never
 * both and never neither: id_key and client_key are the two arguments and
 * what names the object ("order", "list"). Returns 0, or -1 after
 * tool_fail with a sentence that says how to name it. */
int tu_one_ref(json_object *args, struct tool_result *res, const char *id_key,
               const char *client_key, const char *what);

/* The fields of an order tools keep (NULL-terminated). */
extern const char *const tu_order_fields[];

/* The sentence shown when a signed call has no credentials. */
extern const char tu_no_creds_text[];

#endif
