/*
 * catalog.h - MCP resources and prompts.
 *
 * Resources: binance://market/{symbol} (template; BTCUSDT and ETHUSDT
 * listed), binance://account/balances, binance://orders/open, as markdown;
 * binance://chart/{symbol}/{interval} (template), a PNG (tools_chart.h).
 * Prompts: trading_analysis (symbol, strategy, risk_tolerance),
 * portfolio_risk, and the analytics prompts advanced_market_analysis
 * (symbol, analysis_depth), orderflow_snapshot (symbol, window_secs) and
 * market_health_check (symbol), from the live feed (tools_analytics.h).
 * Failures are the engine's struct mcp_error (mcp.h): these functions are the
 * catalog half of mcp_binance_provider (tools.h).
 */
#ifndef BINMCPD_CATALOG_H
#define BINMCPD_CATALOG_H

#include <stddef.h>

#include <json-c/json.h>

#include "mcp.h"

/* Returns a new array of Resource objects for resources/list. */
json_object *catalog_resources(void);

/* Returns a new array of ResourceTemplate objects. */
json_object *catalog_resource_templates(void);

/* Reads uri. On success returns a new {"contents":[...]} object; on failure
 * returns NULL and fills err (err->data, if set, passes to the caller). */
json_object *catalog_read_resource(struct mcp_call *call, const char *uri,
                                   struct mcp_error *err);

/* Returns a new array of Prompt objects for prompts/list. */
json_object *catalog_prompts(void);

/* Renders prompt name with args (object of strings, may be NULL; borrowed).
 * Returns a new {"description":..,"messages":[...]} or NULL with err set. */
json_object *catalog_get_prompt(struct mcp_call *call, const char *name,
                                json_object *args, struct mcp_error *err);

/* Completion for completion/complete: ref_type is "ref/prompt" or
 * "ref/resource", ref_name the prompt name or URI template, arg_name and
 * prefix what the user typed. Returns a new {"values":[...],"total":N,
 * "hasMore":bool} or NULL with err set (-32602 for an unknown ref). */
json_object *catalog_complete(struct mcp_call *call, const char *ref_type,
                              const char *ref_name, const char *arg_name,
                              const char *prefix, struct mcp_error *err);

#endif
