/*
 * tools_chart.h - the get_chart tool and the binance://chart resource: the
 * klines or order book fetched through the Binance call adapter
 * (tools_util.h), parsed exactly (decimal.h), drawn by chart.c, and handed
 * back as a base64 PNG with a short text of what it shows.
 *
 * Rendering runs in the calling thread (the worker's executor, as every
 * tool); chart.h's caps bound its memory and time.
 */
#ifndef BINMCPD_TOOLS_CHART_H
#define BINMCPD_TOOLS_CHART_H

#include <json-c/json.h>

#include "mcp.h"
#include "tools.h"

#define TCHART_URI_PREFIX   "binance://chart/"
#define TCHART_URI_TEMPLATE "binance://chart/{symbol}/{interval}"

/* The kline intervals a chart takes, NULL-terminated (for completion). */
extern const char *const tchart_intervals[];

/* Reads binance://chart/{symbol}/{interval}: the candle chart get_chart
 * draws for those two arguments and its defaults. Returns a new
 * {"contents":[{uri, mimeType "image/png", blob}]} object, or NULL with a
 * sentence in msg and *code set: -32002 when the URI names no chart (a
 * malformed symbol, an unknown interval, a symbol Binance does not list),
 * -32603 when Binance or the drawing failed. uri is borrowed. */
json_object *tchart_read_resource(struct mcp_call *call, const char *uri,
                                  int *code, char *msg, size_t msglen);

#endif
