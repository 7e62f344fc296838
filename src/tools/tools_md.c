/*
 * tools_md.c - the markdown blocks that tools, resources and prompts show.
 * See tools_md.h for the contract of each function.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "tools_md.h"
#include "util.h"

/* See tools_md.h. */
const char *
tu_jstr(json_object *o, const char *key)
{
    json_object *v;

    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || v == NULL)
        return "n/a";
    return json_object_get_string(v);
}

/* ---- markdown ---- */

/* "+1.23" for a change that Binance writes without a sign. */
static const char *
signed_display(const char *s, char *buf, size_t len)
{
    char tmp[48]; /* shorter than buf: room for the sign */

    dec_text_display(s, tmp, sizeof(tmp));
    snprintf(buf, len, "%s%s",
             (tmp[0] == '-' || strcmp(tmp, "n/a") == 0) ? "" : "+", tmp);
    return buf;
}

/* Appends "- **label:** value unit" with value trimmed for reading. */
static int
md_line(struct dbuf *b, const char *label, const char *value, const char *unit)
{
    char v[64];

    return dbuf_printf(b, "- **%s:** %s%s%s\n", label,
                       dec_text_display(value, v, sizeof(v)),
                       unit[0] != '\0' ? " " : "", unit);
}

/* The bullets of the 24h window: changes, range, volumes, book top. */
static int
md_market_window(struct dbuf *b, json_object *t, const char *base,
                 const char *quote)
{
    char c1[64], c2[64], h[64], l[64], bid[64], ask[64];
    int rc = 0;

    rc |= md_line(b, "Last price", tu_jstr(t, "lastPrice"), quote);
    rc |= dbuf_printf(
        b, "- **24h change:** %s%s%s (%s%%)\n",
        signed_display(tu_jstr(t, "priceChange"), c1, sizeof(c1)),
        quote[0] != '\0' ? " " : "", quote,
        signed_display(tu_jstr(t, "priceChangePercent"), c2, sizeof(c2)));
    rc |= dbuf_printf(b, "- **24h high / low:** %s / %s%s%s\n",
                      dec_text_display(tu_jstr(t, "highPrice"), h, sizeof(h)),
                      dec_text_display(tu_jstr(t, "lowPrice"), l, sizeof(l)),
                      quote[0] != '\0' ? " " : "", quote);
    rc |= md_line(b, "24h open", tu_jstr(t, "openPrice"), quote);
    rc |= md_line(b, "24h weighted average", tu_jstr(t, "weightedAvgPrice"),
                  quote);
    rc |= md_line(b, "24h volume", tu_jstr(t, "volume"), base);
    rc |= md_line(b, "24h quote volume", tu_jstr(t, "quoteVolume"), quote);
    rc |= dbuf_printf(b, "- **24h trades:** %s\n", tu_jstr(t, "count"));
    rc |=
        dbuf_printf(b, "- **Best bid / ask:** %s / %s%s%s\n",
                    dec_text_display(tu_jstr(t, "bidPrice"), bid, sizeof(bid)),
                    dec_text_display(tu_jstr(t, "askPrice"), ask, sizeof(ask)),
                    quote[0] != '\0' ? " " : "", quote);
    return rc != 0 ? -1 : 0;
}

/* See tools_md.h. */
int
tu_md_market(struct dbuf *b, json_object *ticker, json_object *avg,
             const struct sym_info *si)
{
    const char *base = si != NULL ? si->base : "";
    const char *quote = si != NULL ? si->quote : "";
    json_object *ct;
    int rc = 0;

    if (si != NULL)
        rc |= dbuf_printf(b, "## %s (%s/%s)\n\n", tu_jstr(ticker, "symbol"),
                          base, quote);
    else
        rc |= dbuf_printf(b, "## %s\n\n", tu_jstr(ticker, "symbol"));
    rc |= md_market_window(b, ticker, base, quote);
    if (avg != NULL) {
        char label[64];
        snprintf(label, sizeof(label), "%s-minute average price",
                 tu_jstr(avg, "mins"));
        rc |= md_line(b, label, tu_jstr(avg, "price"), quote);
    }
    if (si != NULL && strcmp(si->status, "TRADING") != 0)
        rc |= dbuf_printf(b, "- **Trading status:** %s (not trading now)\n",
                          si->status);
    if (json_object_object_get_ex(ticker, "closeTime", &ct) &&
        json_object_is_type(ct, json_type_int)) {
        char when[40];
        format_rfc3339_ms(json_object_get_int64(ct), when, sizeof(when));
        rc |= dbuf_printf(b,
                          "\n_Binance Spot 24h rolling window ending %s "
                          "(UTC)._\n",
                          when);
    }
    return rc != 0 ? -1 : 0;
}

/* One balances row, when the asset holds anything. Returns 1 when written,
 * 0 when skipped, -1 when b is full. */
static int
md_balance_row(struct dbuf *b, json_object *bal)
{
    const char *fr = tu_jstr(bal, "free"), *lk = tu_jstr(bal, "locked");
    char total[96], f[64], l[64], t[96];

    if (dec_text_is_zero(fr) && dec_text_is_zero(lk))
        return 0;
    if (dec_text_add(fr, lk, total, sizeof(total)) < 0)
        snprintf(total, sizeof(total), "n/a");
    if (dbuf_printf(b, "| %s | %s | %s | %s |\n", tu_jstr(bal, "asset"),
                    dec_text_display(fr, f, sizeof(f)),
                    dec_text_display(lk, l, sizeof(l)),
                    dec_text_display(total, t, sizeof(t))) < 0)
        return -1;
    return 1;
}

/* See tools_md.h. */
int
tu_md_balances(struct dbuf *b, json_object *balances, size_t *shown)
{
    size_t n = json_object_is_type(balances, json_type_array)
                   ? json_object_array_length(balances)
                   : 0;

    *shown = 0;
    if (dbuf_puts(b, "| Asset | Free | Locked | Total |\n"
                     "|---|---:|---:|---:|\n") < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int r = md_balance_row(b, json_object_array_get_idx(balances, i));
        if (r < 0)
            return -1;
        *shown += (size_t)r;
    }
    return 0;
}

/* See tools_md.h. */
int
tu_md_orders(struct dbuf *b, json_object *orders)
{
    size_t n = json_object_is_type(orders, json_type_array)
                   ? json_object_array_length(orders)
                   : 0;
    char p[64], q[64], e[64];

    if (dbuf_puts(b, "| Order ID | Symbol | Side | Type | Price | Quantity "
                     "| Filled | Status | Client order ID |\n"
                     "|---:|---|---|---|---:|---:|---:|---|---|\n") < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(orders, i);
        if (dbuf_printf(
                b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                tu_jstr(o, "orderId"), tu_jstr(o, "symbol"), tu_jstr(o, "side"),
                tu_jstr(o, "type"),
                dec_text_display(tu_jstr(o, "price"), p, sizeof(p)),
                dec_text_display(tu_jstr(o, "origQty"), q, sizeof(q)),
                dec_text_display(tu_jstr(o, "executedQty"), e, sizeof(e)),
                tu_jstr(o, "status"), tu_jstr(o, "clientOrderId")) < 0)
            return -1;
    }
    return 0;
}
