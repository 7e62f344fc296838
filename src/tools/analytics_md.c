/*
 * analytics_md.c - the markdown of the analytics prompts. See
 * analytics_md.h for the contract.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analytics_md.h"

/* See analytics_md.h. */
int
an_depth_windows_of(const char *depth, struct an_depth_windows *out)
{
    static const struct an_depth_windows table[] = {
        {"quick", 60, 300, 60, 1},
        {"standard", 60, 300, 60, 4},
        {"deep", 300, 1800, 300, 24},
    };

    if (depth == NULL || depth[0] == '\0')
        depth = "standard";
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(depth, table[i].name) == 0) {
            *out = table[i];
            return 0;
        }
    return -1;
}

/* "Rests on N trades over 40 s of the 60 s window (67 %)." and a warning
 * when the window is not covered. */
static int
md_coverage(struct dbuf *b, const struct an_coverage *c, const char *what)
{
    double covered = (double)(c->to_ms - c->data_from_ms) / 1000.0;
    double window = (double)c->window_ms / 1000.0;

    if (dbuf_printf(b,
                    "\n_Rests on %zu %s over %.*f s of the %.0f s window "
                    "(%.0f %%)._\n",
                    c->count, what, covered == floor(covered) ? 0 : 1, covered,
                    window, 100 * c->fraction) != 0)
        return -1;
    if (c->fraction < 1.0)
        return dbuf_puts(b, "_The stream has not covered the whole window "
                            "yet: read these figures as provisional._\n");
    return 0;
}

static const char *
signed_text(const struct dec *a, const struct dec *b, char *buf, size_t len)
{
    struct dec d;
    char tmp[DEC_STR_MAX];
    bool neg = dec_cmp(a, b) < 0;

    if ((neg ? dec_sub(b, a, &d) : dec_sub(a, b, &d)) != 0)
        return "n/a";
    snprintf(buf, len, "%s%s", neg ? "-" : "+", dec_str(&d, tmp));
    return buf;
}

/* A reading of the direction band and what it suggests. */
static void
flow_reading(enum an_direction d, const char **take, const char **action)
{
    switch (d) {
    case AN_DIR_STRONG_BUY:
        *take = "Aggressive buyers dominate: takers bought more than twice "
                "what they sold.";
        *action = "Momentum favours the upside; chasing it carries the risk "
                  "of buying a local top.";
        return;
    case AN_DIR_MODERATE_BUY:
        *take = "Buyers lead, without dominating.";
        *action = "A mild bullish bias; look for confirmation in the book and "
                  "a longer window.";
        return;
    case AN_DIR_NEUTRAL:
        *take = "Buying and selling are in balance.";
        *action = "No edge from order flow; wait for a side to take over.";
        return;
    case AN_DIR_MODERATE_SELL:
        *take = "Sellers lead, without dominating.";
        *action = "A mild bearish bias; look for confirmation in the book and "
                  "a longer window.";
        return;
    case AN_DIR_STRONG_SELL:
        *take = "Aggressive sellers dominate: takers sold at least twice what "
                "they bought.";
        *action = "Momentum favours the downside; catching it carries the "
                  "risk of buying into a fall.";
        return;
    case AN_DIR_UNKNOWN:
        break;
    }
    *take = "No trade in the window: the direction is unknown.";
    *action = "Wait until the stream has seen trades, or widen the window.";
}

static int
md_flow_body(struct dbuf *b, const struct an_flow *f)
{
    char net[DEC_STR_MAX + 2], cum[DEC_STR_MAX + 2], bv[DEC_STR_MAX],
        sv[DEC_STR_MAX], ratio[32];

    if (f->has_ratio)
        snprintf(ratio, sizeof(ratio), "%.2f", f->ratio);
    else
        snprintf(ratio, sizeof(ratio), "%s",
                 f->direction == AN_DIR_UNKNOWN ? "not measured"
                                                : "no sell volume");
    if (dbuf_printf(b,
                    "- **Direction:** %s\n"
                    "- **Taker buy volume:** %s (%zu trade%s)\n"
                    "- **Taker sell volume:** %s (%zu trade%s)\n"
                    "- **Net flow:** %s\n"
                    "- **Buy/sell ratio:** %s\n"
                    "- **Cumulative delta (all data held):** %s\n",
                    an_direction_name(f->direction), dec_str(&f->buy_qty, bv),
                    f->buy_trades, f->buy_trades == 1 ? "" : "s",
                    dec_str(&f->sell_qty, sv), f->sell_trades,
                    f->sell_trades == 1 ? "" : "s",
                    signed_text(&f->buy_qty, &f->sell_qty, net, sizeof(net)),
                    ratio,
                    signed_text(&f->cum_buy_qty, &f->cum_sell_qty, cum,
                                sizeof(cum))) != 0)
        return -1;
    return md_coverage(b, &f->cov, "trades");
}

/* See analytics_md.h. */
int
an_md_orderflow(struct dbuf *b, const char *symbol, const struct an_flow *f)
{
    const char *take, *action;

    flow_reading(f->direction, &take, &action);
    if (dbuf_printf(b, "# Order flow snapshot: %s, last %lld s\n\n", symbol,
                    (long long)(f->cov.window_ms / 1000)) != 0 ||
        md_flow_body(b, f) != 0)
        return -1;
    return dbuf_printf(b,
                       "\n**Reading:** %s\n\n**Suggests:** %s\n\n"
                       "Please interpret this order flow for %s: who is "
                       "in control, how strong it is, and what would "
                       "change the picture.\n",
                       take, action, symbol);
}

static const char *
band_risk(enum an_band band)
{
    switch (band) {
    case AN_BAND_EXCELLENT:
        return "Low risk: tight, stable, deep and balanced.";
    case AN_BAND_GOOD:
        return "Moderate risk: normal conditions with minor weaknesses.";
    case AN_BAND_FAIR:
        return "Elevated risk: use limit orders and smaller sizes.";
    case AN_BAND_POOR:
        return "High risk: thin or unstable; expect slippage.";
    case AN_BAND_CRITICAL:
        return "Severe risk: avoid market orders until conditions recover.";
    case AN_BAND_UNKNOWN:
        break;
    }
    return "Unknown: no component could be measured yet.";
}

static int
md_component(struct dbuf *b, const char *name, const struct an_component *c,
             const char *measures)
{
    if (!c->measured)
        return dbuf_printf(b, "- %s **%s** (weight %.0f %%): not measured\n",
                           "?", name, 100 * c->weight);
    return dbuf_printf(b, "- %s **%s** (weight %.0f %%): %.1f / 100 (%s)\n",
                       c->score >= 70 ? "✅" : "⚠️", name, 100 * c->weight,
                       c->score, measures);
}

static int
md_health_body(struct dbuf *b, const struct an_health *h)
{
    char m[4][160];

    if (h->has_score) {
        if (dbuf_printf(b, "- **Score:** %.1f / 100, **%s**", h->score,
                        an_band_name(h->band)) != 0 ||
            (h->weight_measured < 0.999 &&
             dbuf_printf(b, " (from %.0f %% of the weights)",
                         100 * h->weight_measured) != 0) ||
            dbuf_puts(b, "\n") != 0)
            return -1;
    } else if (dbuf_puts(b, "- **Score:** not measured (UNKNOWN)\n") != 0) {
        return -1;
    }
    snprintf(m[0], sizeof(m[0]), "spread %.2f bps on average, cv %.3f",
             h->spread_mean_bps, h->spread_cv);
    snprintf(m[1], sizeof(m[1]), "depth %.2f now, median %.2f", h->depth_now,
             h->depth_median);
    snprintf(m[2], sizeof(m[2]), "taker buy %.8g, sell %.8g", h->buy_qty,
             h->sell_qty);
    snprintf(m[3], sizeof(m[3]), "%zu of %zu intervals live and unstuffed",
             h->rate_healthy, h->rate_intervals);
    if (md_component(b, "Spread stability", &h->spread, m[0]) != 0 ||
        md_component(b, "Depth", &h->depth, m[1]) != 0 ||
        md_component(b, "Flow balance", &h->flow, m[2]) != 0 ||
        md_component(b, "Update rate", &h->rate, m[3]) != 0 ||
        dbuf_printf(b, "- **Risk:** %s\n", band_risk(h->band)) != 0)
        return -1;
    return md_coverage(b, &h->books_cov, "book samples");
}

/* See analytics_md.h. */
int
an_md_health(struct dbuf *b, const char *symbol, const struct an_health *h)
{
    if (dbuf_printf(b, "# Market health check: %s, last %lld s\n\n", symbol,
                    (long long)(h->books_cov.window_ms / 1000)) != 0 ||
        md_health_body(b, h) != 0)
        return -1;
    return dbuf_printf(b,
                       "\nPlease assess whether %s's market is fit to "
                       "trade now, and which component matters most.\n",
                       symbol);
}

static int
md_profile(struct dbuf *b, const struct an_profile *p)
{
    char lo[DEC_STR_MAX], hi[DEC_STR_MAX], v[DEC_STR_MAX], t[DEC_STR_MAX],
        bs[DEC_STR_MAX];
    struct dec poc_hi;

    if (!p->has_poc) {
        if (dbuf_puts(b, "- No trade in the window: no profile.\n") != 0)
            return -1;
        return md_coverage(b, &p->cov, "trades");
    }
    if (dec_add(&p->bins[p->poc].low, &p->bin_size, &poc_hi) != 0)
        poc_hi = p->bins[p->poc].low;
    if (dbuf_printf(b, "- **POC:** %s to %s (%s traded)\n",
                    dec_str(&p->bins[p->poc].low, lo), dec_str(&poc_hi, hi),
                    dec_str(&p->bins[p->poc].volume, v)) != 0 ||
        dbuf_printf(b, "- **Value area (70 %%):** VAL %s, VAH %s (%s of %s)\n",
                    dec_str(&p->val, lo), dec_str(&p->vah, hi),
                    dec_str(&p->va_volume, v), dec_str(&p->total, t)) != 0 ||
        dbuf_printf(b, "- **Range:** %s to %s in %zu bins of %s\n",
                    dec_str(&p->low, lo), dec_str(&p->high, hi), p->nbins,
                    dec_str(&p->bin_size, bs)) != 0)
        return -1;
    return md_coverage(b, &p->cov, "trades");
}

static int
md_anomalies(struct dbuf *b, const struct an_anomalies *a)
{
    char pbuf[DEC_STR_MAX];
    int found = 0;

    if (a->stuffing.f.detected) {
        found++;
        if (dbuf_printf(b,
                        "- **Quote stuffing** (%s, confidence %.2f): %.0f "
                        "updates/s, %.1f %% filled\n",
                        an_severity_name(a->stuffing.f.severity),
                        a->stuffing.f.confidence, a->stuffing.rate.value,
                        100 * a->stuffing.fills.value) != 0)
            return -1;
    }
    for (size_t i = 0; i < a->icebergs.n; i++) {
        const struct an_iceberg *c = &a->icebergs.top[i];

        found++;
        if (dbuf_printf(b,
                        "- **Iceberg** (%s, confidence %.2f): %s %s refilled "
                        "%u times (median %.1f)\n",
                        an_severity_name(c->f.severity), c->f.confidence,
                        c->bid ? "bid" : "ask", dec_str(&c->price, pbuf),
                        c->refills, a->icebergs.median_refills) != 0)
            return -1;
    }
    if (a->flash.f.detected) {
        found++;
        if (dbuf_printf(b,
                        "- **Flash-crash risk** (%s, confidence %.2f): %d of "
                        "3 signals\n",
                        an_severity_name(a->flash.f.severity),
                        a->flash.f.confidence, a->flash.signals_fired) != 0)
            return -1;
    }
    if (found == 0 &&
        dbuf_puts(b, a->books_cov.count > 0
                         ? "- None detected.\n"
                         : "- Not evaluated: no book sample in the "
                           "window.\n") != 0)
        return -1;
    return md_coverage(b, &a->books_cov, "book samples");
}

/* The summary's one paragraph. */
static int
md_summary(struct dbuf *b, const struct an_flow *f, const struct an_health *h,
           const struct an_anomalies *a)
{
    const char *take, *action;
    int n = (int)a->icebergs.n + a->stuffing.f.detected + a->flash.f.detected;

    flow_reading(f->direction, &take, &action);
    if (dbuf_printf(b, "- **Flow:** %s\n", take) != 0)
        return -1;
    if (h->has_score
            ? dbuf_printf(b, "- **Health:** %s (%.1f). %s\n",
                          an_band_name(h->band), h->score, band_risk(h->band))
            : dbuf_puts(b, "- **Health:** not measured yet.\n"))
        return -1;
    return dbuf_printf(b, "- **Anomalies:** %d detected.\n", n);
}

/* See analytics_md.h. */
int
an_md_advanced(struct dbuf *b, const char *symbol,
               const struct an_depth_windows *w, const struct an_flow *f,
               const struct an_profile *p, const struct an_health *h,
               const struct an_anomalies *a)
{
    if (dbuf_printf(b, "# Advanced market analysis: %s (%s)\n\n", symbol,
                    w->name) != 0 ||
        dbuf_printf(b, "## 1. Order flow (last %d s)\n\n", w->flow_s) != 0 ||
        md_flow_body(b, f) != 0 ||
        dbuf_printf(b, "\n## 2. Volume profile (last %d h)\n\n",
                    w->profile_h) != 0 ||
        md_profile(b, p) != 0 ||
        dbuf_printf(b, "\n## 3. Microstructure health (last %d s)\n\n",
                    w->health_s) != 0 ||
        md_health_body(b, h) != 0 ||
        dbuf_printf(b, "\n## 4. Anomalies (last %d s)\n\n", w->anomalies_s) !=
            0 ||
        md_anomalies(b, a) != 0 || dbuf_puts(b, "\n## 5. Summary\n\n") != 0 ||
        md_summary(b, f, h, a) != 0)
        return -1;
    return dbuf_printf(b,
                       "\nPlease combine these into an assessment of %s: "
                       "the balance of power, where value sits, how fit "
                       "the market is to trade, and the risks.\n",
                       symbol);
}
