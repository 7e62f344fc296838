/*
 * mcp_tool.h - the contract between the MCP engine and a tool handler.
 *
 * A tool is a row: name, title, description, input schema, output schema,
 * annotation flags and a handler. A provider (mcp.h: struct mcp_provider)
 * hands the engine its rows; the engine lists them, validates arguments
 * against input_schema before calling the handler, and turns what the
 * handler fills in into a CallToolResult:
 *   success -> structuredContent = result->data, plus the same JSON as a text
 *              block (or result->text when the handler set one);
 *   failure -> isError:true with result->error as the text.
 * Handlers never build JSON-RPC envelopes and never see another tool's state.
 *
 * Part of the engine: it includes only mcp.h and knows no application. An
 * application's tool table (binmcpd's is tools.h) includes this header,
 * never the reverse.
 */
#ifndef BINMCPD_MCP_TOOL_H
#define BINMCPD_MCP_TOOL_H

#include <json-c/json.h>

#include "mcp.h"

/* Annotation and behaviour flags of a tool. */
enum {
    TOOL_READ_ONLY = 1 << 0,   /* readOnlyHint */
    TOOL_DESTRUCTIVE = 1 << 1, /* destructiveHint */
    TOOL_IDEMPOTENT = 1 << 2,  /* idempotentHint */
    TOOL_OPEN_WORLD = 1 << 3,  /* openWorldHint: talks to the outside world */
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
    const void *data; /* optional: what the handler reads as
                         call->tool_data (one handler may serve many rows) */
};

/* Records a failure: sets is_error and formats the text (truncated to
 * TOOL_ERR_MAX - 1 bytes). Does not touch res->data: a handler fails before
 * it sets data, or frees it itself. Returns -1 so a handler can
 * `return tool_fail(res, ...)`. */
int tool_fail(struct tool_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
