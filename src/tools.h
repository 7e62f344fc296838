/*
 * tools.h - the tool table and the contract of a tool handler.
 *
 * A tool is a row: name, title, description, input schema, output schema,
 * annotation flags and a handler. The engine (mcp.c) lists the rows,
 * validates arguments against input_schema before calling the handler, and
 * turns what the handler fills in into a CallToolResult:
 *   success -> structuredContent = result->data, plus the same JSON as a text
 *              block (or result->text when the handler set one);
 *   failure -> isError:true with result->error as the text.
 * Handlers never build JSON-RPC envelopes and never see another tool's state.
 */
#ifndef BINMCPD_TOOLS_H
#define BINMCPD_TOOLS_H

#include <stddef.h>

#include <json-c/json.h>

#include "mcp.h"

/* Annotation and behaviour flags of a tool. */
enum {
    TOOL_READ_ONLY = 1 << 0,   /* readOnlyHint */
    TOOL_DESTRUCTIVE = 1 << 1, /* destructiveHint */
    TOOL_IDEMPOTENT = 1 << 2,  /* idempotentHint */
    TOOL_OPEN_WORLD = 1 << 3,  /* openWorldHint: talks to Binance */
    TOOL_TRADING = 1 << 4,     /* moves money: hidden and refused read-only */
    TOOL_SECRET_ARGS = 1 << 5, /* arguments hold secrets: the engine wipes
                                  them once the call is over */
};

#define TOOL_ERR_MAX 2048

struct tool_result {
    json_object *data;        /* success: an object, ownership passes to the
                                 engine; must match output_schema */
    char *text;               /* optional malloc'd text block to use instead of
                                 the serialized data (engine frees) */
    int is_error;             /* set by tool_fail */
    char error[TOOL_ERR_MAX]; /* the isError text */
    json_object *content;     /* optional: the content blocks (an array:
                                 text, image, audio, resource, ...) to send
                                 instead of the text block; ownership passes
                                 to the engine. With it, data may be NULL
                                 (no structuredContent). */
};

/* Fills in a result. args is a JSON object already validated against the
 * tool's input_schema (never NULL: {} when the caller sent none; borrowed).
 * Returns 0 on success (res->data set) or -1 after tool_fail(). */
typedef int (*tool_fn)(struct mcp_call *call, json_object *args,
                       struct tool_result *res);

struct tool_def {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema;  /* JSON text of an object schema */
    const char *output_schema; /* JSON text of an object schema */
    unsigned flags;
    tool_fn handler;
};

/* The whole table in listing order: market, order book, account, orders,
 * credentials. C cannot concatenate arrays defined in other files at build
 * time, so the table is reached by index: tool_count() rows, tool_at(i) for
 * 0 <= i < count (NULL past the end). Rows are static; the pointers stay
 * valid forever. */
size_t tool_count(void);
const struct tool_def *tool_at(size_t i);

/* Toolsets: market, account, trade, orderlists, analytics. Serves only the
 * tools of the comma-separated sets in toolsets (NULL, "" or "all": every
 * tool); the others are neither listed nor callable, because tool_count,
 * tool_at and tool_find see only served rows. Call before the server is
 * built and before threads start. Returns 0, or -1 with a sentence for an
 * unknown set (the selection is then unchanged). */
int tools_select(const char *toolsets, char *err, size_t errlen);

/* The toolset of a tool name, or NULL when it has none. */
const char *tool_toolset(const char *name);

/* Records a failure: sets is_error and formats the text. Returns -1 so a
 * handler can `return tool_fail(res, ...)`. */
int tool_fail(struct tool_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The row for name, or NULL. */
const struct tool_def *tool_find(const char *name);

/* ---- per-family tables, concatenated by tool_at ---- */
/* (Each file defines its rows; tools.c assembles them.) */
extern const struct tool_def tools_market[];    /* tools_market.c */
extern const struct tool_def tools_chart[];     /* tools_chart.c */
extern const struct tool_def tools_orderbook[]; /* tools_orderbook.c */
extern const struct tool_def tools_account[];   /* tools_account.c */
extern const struct tool_def tools_orders[];    /* tools_orders.c */
extern const struct tool_def tools_creds[];     /* tools_creds.c */

#endif
