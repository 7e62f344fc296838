/*
 * tools.c - the tool table as one sequence, and tool_fail.
 *
 * The rows live in their family files (tools_market.c, tools_orderbook.c,
 * tools_account.c, tools_orders.c, tools_creds.c), each a NULL-name
 * terminated array. This file walks them in listing order; nothing here
 * knows a tool by name.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools.h"

static const struct tool_def *const families[] = {
    tools_market,
    tools_orderbook,
    tools_account,
    tools_orders,
    tools_creds,
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* Rows in one NULL-name terminated family. */
static size_t
family_len(const struct tool_def *f)
{
    size_t n = 0;
    while (f[n].name != NULL)
        n++;
    return n;
}

/* Counts every family's rows on each call: the table is a few dozen rows,
 * and counting keeps this free of initialisation order and locks. */
size_t
tool_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < NFAMILIES; i++)
        n += family_len(families[i]);
    return n;
}

/* Returns row i of the concatenated table, or NULL when i is past the end.
 * The row is static. */
const struct tool_def *
tool_at(size_t i)
{
    for (size_t f = 0; f < NFAMILIES; f++) {
        size_t n = family_len(families[f]);
        if (i < n)
            return &families[f][i];
        i -= n;
    }
    return NULL;
}

/* Linear search by exact name; NULL when name is NULL or unknown. */
const struct tool_def *
tool_find(const char *name)
{
    const struct tool_def *t;

    if (name == NULL)
        return NULL;
    for (size_t i = 0; (t = tool_at(i)) != NULL; i++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* Marks res as failed and formats the text into res->error (truncated to
 * TOOL_ERR_MAX - 1 bytes). Does not touch res->data: a handler fails before
 * it sets data, or frees it itself. Always returns -1. */
int
tool_fail(struct tool_result *res, const char *fmt, ...)
{
    va_list ap;

    res->is_error = 1;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    return -1;
}
