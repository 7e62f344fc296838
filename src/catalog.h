/*
 * catalog.h - MCP resources and prompts.
 *
 * Resources: binance://market/{symbol} (template; BTCUSDT and ETHUSDT
 * listed), binance://account/balances, binance://orders/open, as markdown;
 * binance://chart/{symbol}/{interval} (template), a PNG (tools_chart.h).
 * Prompts: trading_analysis (symbol, strategy, risk_tolerance) and
 * portfolio_risk.
 */
#ifndef BINMCPD_CATALOG_H
#define BINMCPD_CATALOG_H

#include <stddef.h>

#include <json-c/json.h>

#include "mcp.h"

#define CATALOG_ERR_MAX 512

/* JSON-RPC error a resource read or prompt get ends with. */
struct catalog_error {
    int code; /* -32002 unknown resource, -32602 bad
                 argument or prompt, -32603 upstream */
    char message[CATALOG_ERR_MAX];
    json_object *data; /* optional error data, owned here */
};

/* Returns a new array of Resource objects for resources/list. */
json_object *catalog_resources(void);

/* Returns a new array of ResourceTemplate objects. */
json_object *catalog_resource_templates(void);

/* Reads uri. On success returns a new {"contents":[...]} object; on failure
 * returns NULL and fills err (err->data, if set, passes to the caller). */
json_object *catalog_read_resource(struct mcp_call *call, const char *uri,
                                   struct catalog_error *err);

/* Returns a new array of Prompt objects for prompts/list. */
json_object *catalog_prompts(void);

/* Renders prompt name with args (object of strings, may be NULL; borrowed).
 * Returns a new {"description":..,"messages":[...]} or NULL with err set. */
json_object *catalog_get_prompt(struct mcp_call *call, const char *name,
                                json_object *args, struct catalog_error *err);

/* Completion for completion/complete: ref_type is "ref/prompt" or
 * "ref/resource", ref_name the prompt name or URI template, arg_name and
 * prefix what the user typed. Returns a new {"values":[...],"total":N,
 * "hasMore":bool} or NULL with err set (-32602 for an unknown ref). */
json_object *catalog_complete(struct mcp_call *call, const char *ref_type,
                              const char *ref_name, const char *arg_name,
                              const char *prefix, struct catalog_error *err);

#endif
