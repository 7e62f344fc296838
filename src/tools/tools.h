/*
 * tools.h - binmcpd's tool table (the Binance tools) and its provider.
 *
 * Layer src/tools/, the application: the tools, resources and prompts
 * binmcpd offers (mcp_binance_provider), the trading guard, its journal
 * and confirmation tokens, the charts. It may include the common ground,
 * the engine and the Binance client; nothing above it (no process,
 * transport or daemon header).
 *
 * The contract of a row and of its handler (struct tool_def, struct
 * tool_result, tool_fail, the TOOL_* flags) belongs to the engine:
 * mcp_tool.h, which this header includes (never the reverse). Here is only
 * which rows binmcpd serves, and mcp_binance_provider, the provider the
 * daemon hands the engine (these rows, catalog.h's resources and prompts,
 * and the session credentials of tools_callcreds.h).
 */
#ifndef BINMCPD_TOOLS_H
#define BINMCPD_TOOLS_H

#include <stddef.h>

#include <json-c/json.h>

#include "mcp.h"
#include "mcp_tool.h"

/* binmcpd's provider: its provider_ctx (mcp_options) is a struct
 * binance_ctx (tools_callcreds.h). Defined in tools.c. */
extern const struct mcp_provider mcp_binance_provider;

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

/* The row for name, or NULL. */
const struct tool_def *tool_find(const char *name);

/* ---- per-family tables, concatenated by tool_at ---- */
/* (Each file defines its rows; tools.c assembles them.) */
extern const struct tool_def tools_market[];    /* tools_market.c */
extern const struct tool_def tools_chart[];     /* tools_chart.c */
extern const struct tool_def tools_watch[];     /* tools_watch.c */
extern const struct tool_def tools_orderbook[]; /* tools_orderbook.c */
extern const struct tool_def tools_analytics[]; /* tools_analytics.c */
extern const struct tool_def tools_account[];   /* tools_account.c */
extern const struct tool_def tools_orders[];    /* tools_orders.c */
extern const struct tool_def tools_creds[];     /* tools_creds.c */

#endif
