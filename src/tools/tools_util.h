/*
 * tools_util.h - the umbrella of what the Binance tools share, kept so
 * that files written before the split still compile: it only includes
 *   tools_schema.h  the schema fragments of the tool rows (TU_* macros);
 *   tools_call.h    argument readers and the Binance call adapter
 *                   (tu_arg_*, tu_call_*, tu_simple, tu_shape, ...);
 *   tools_md.h      the markdown blocks (tu_md_*) and tu_jstr;
 *   decimal.h       exact decimals, with the text helpers that were
 *                   tu_num_display, tu_dec_add and tu_dec_is_zero.
 * New code includes the header it needs instead.
 */
#ifndef BINMCPD_TOOLS_UTIL_H
#define BINMCPD_TOOLS_UTIL_H

#include "decimal.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_md.h"
#include "tools_schema.h"

/* The decimal text helpers' names before they joined decimal.h. */
#define tu_num_display(s, buf, len) dec_text_display(s, buf, len)
#define tu_dec_add(a, b, out, len)  dec_text_add(a, b, out, len)
#define tu_dec_is_zero(s)           dec_text_is_zero(s)

#endif
