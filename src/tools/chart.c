/*
 * chart.c - candlestick, depth and volume-profile pictures with cairo. See
 * chart.h for the contract and the caps.
 *
 * One ARGB32 image surface per call, drawn in layers (background, grid,
 * data, axes, title) and written as PNG into a capped memory buffer. Text
 * goes through cairo's toy font API, which asks fontconfig for "DejaVu
 * Sans" (Debian's fonts-dejavu-core); fontconfig picks any sans font when
 * it is missing, so a picture is always drawn.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pthread.h>

#include "chart.h"
#include "util.h"

#define FONT     "DejaVu Sans"
#define DAY_MS   86400000LL
#define MONTH_MS (30 * DAY_MS)
#define YEAR_MS  (365 * DAY_MS)

struct rgb {
    double r, g, b;
};

struct palette {
    struct rgb bg, grid, text, title, up, down, neutral, accent, value, poc;
};

static const struct palette light = {
    {1.00, 1.00, 1.00}, {0.90, 0.91, 0.93}, {0.30, 0.32, 0.36},
    {0.08, 0.09, 0.11}, {0.10, 0.62, 0.33}, {0.90, 0.20, 0.20},
    {0.60, 0.63, 0.68}, {0.95, 0.55, 0.05}, {0.22, 0.47, 0.92},
    {0.96, 0.50, 0.05},
};

static const struct palette dark = {
    {0.07, 0.09, 0.13}, {0.17, 0.19, 0.24}, {0.68, 0.71, 0.76},
    {0.93, 0.94, 0.96}, {0.15, 0.72, 0.42}, {0.95, 0.30, 0.30},
    {0.42, 0.45, 0.52}, {0.98, 0.65, 0.15}, {0.33, 0.58, 1.00},
    {0.98, 0.60, 0.10},
};

/* Moving averages: one colour each, in the order asked. */
static const struct rgb sma_colors[CHART_SMA_MAX] = {
    {0.16, 0.47, 0.95},
    {0.62, 0.32, 0.85},
    {0.00, 0.62, 0.70},
    {0.85, 0.25, 0.60},
};

/* One drawing: the context, its palette and the sizes derived from the
 * picture's size. */
struct draw {
    cairo_t *cr;
    const struct chart_spec *s;
    const struct palette *pal;
    double fs; /* font size of labels */
    struct chart_rect plot, vol;
};

/* A linear map from a value range to a pixel range. */
struct axis {
    double lo, hi; /* values */
    double p0, p1; /* pixels of lo and hi */
};

static double
axis_px(const struct axis *a, double v)
{
    return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static void
set_rgb(cairo_t *cr, struct rgb c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

/* Whether the deadline passed or the call was cancelled. */
static int
stopped(const struct chart_spec *s)
{
    if (s->cancel != NULL && atomic_load(s->cancel))
        return 1;
    return s->deadline_ms > 0 && mono_ms() > s->deadline_ms;
}

/* ---- numbers on axes ---- */

double
chart_nice_step(double lo, double hi, int want, double *first)
{
    static const double mults[] = {1, 2, 2.5, 5, 10};
    double raw, mag, step = 0;

    if (!isfinite(lo) || !isfinite(hi) || hi <= lo || want < 1)
        return 0;
    raw = (hi - lo) / want;
    mag = pow(10, floor(log10(raw)));
    for (size_t i = 0; i < sizeof(mults) / sizeof(mults[0]); i++) {
        step = mults[i] * mag;
        if (step >= raw)
            break;
    }
    if (first != NULL)
        *first = ceil(lo / step - 1e-9) * step;
    return step;
}

/* How many decimals show every multiple of step exactly (at most 10). */
static int
step_decimals(double step)
{
    for (int d = 0; d < 10; d++) {
        double v = step * pow(10, d);
        if (fabs(v - round(v)) < 1e-6 * v)
            return d;
    }
    return 10;
}

/* ---- text ---- */

static void
font(struct draw *d, double size, int bold)
{
    cairo_select_font_face(d->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD
                                : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(d->cr, size);
}

/* Draws text with its anchor at (x, y): ax 0 left, 0.5 centre, 1 right;
 * ay the same from top to bottom. */
static void
text_at(struct draw *d, const char *text, double x, double y, double ax,
        double ay)
{
    cairo_text_extents_t te;
    cairo_font_extents_t fe;

    cairo_text_extents(d->cr, text, &te);
    cairo_font_extents(d->cr, &fe);
    cairo_move_to(d->cr, x - ax * te.x_advance,
                  y - ay * (fe.ascent + fe.descent) + fe.ascent);
    cairo_show_text(d->cr, text);
}

/* A label on a coloured box at the right axis (order lines, POC). */
static void
axis_tag(struct draw *d, const char *text, double y, struct rgb c)
{
    cairo_text_extents_t te;
    double x = d->plot.x + d->plot.w + 2, pad = d->fs * 0.3;

    font(d, d->fs, 0);
    cairo_text_extents(d->cr, text, &te);
    set_rgb(d->cr, c, 1);
    cairo_rectangle(d->cr, x, y - d->fs * 0.7, te.x_advance + 2 * pad,
                    d->fs * 1.4);
    cairo_fill(d->cr);
    set_rgb(d->cr, d->pal->bg, 1);
    text_at(d, text, x + pad, y, 0, 0.5);
}

/* ---- layout ---- */

static double
font_size(const struct chart_spec *s)
{
    double fs = s->height / 48.0;
    if (s->width / 80.0 < fs)
        fs = s->width / 80.0;
    return fs < 10 ? 10 : fs > 20 ? 20 : fs;
}

void
chart_layout(const struct chart_spec *s, struct chart_rect *plot,
             struct chart_rect *vol)
{
    double fs = font_size(s);
    double top = fs * 3.6, bottom = fs * 2.2, left = fs * 0.8, right = fs * 7.5;
    struct chart_rect v = {0, 0, 0, 0};

    plot->x = left;
    plot->y = top;
    plot->w = s->width - left - right;
    plot->h = s->height - top - bottom;
    if (s->kind == CHART_CANDLES && s->volume) {
        double gap = fs * 0.6, vh = plot->h * 0.2;
        v = (struct chart_rect){plot->x, plot->y + plot->h - vh, plot->w, vh};
        plot->h -= vh + gap;
    }
    if (vol != NULL)
        *vol = v;
}

/* Grid lines and round-number labels of axis a over rectangle r: an axis
 * of prices or quantities up the side (vertical, labels on the right) or
 * of values along the bottom (labels below, kept inside the picture). */
static void
axis_grid(struct draw *d, const struct axis *a, const struct chart_rect *r,
          int vertical)
{
    double first,
        step = chart_nice_step(a->lo, a->hi, vertical ? 6 : 7, &first);
    cairo_text_extents_t te;
    char buf[64];

    if (step <= 0)
        return;
    int dec = step_decimals(step);
    font(d, d->fs, 0);
    cairo_set_line_width(d->cr, 1);
    for (double v = first; v <= a->hi + step * 1e-9; v += step) {
        double p = round(axis_px(a, v)) + 0.5;
        set_rgb(d->cr, d->pal->grid, 1);
        cairo_move_to(d->cr, vertical ? r->x : p, vertical ? p : r->y);
        cairo_line_to(d->cr, vertical ? r->x + r->w : p,
                      vertical ? p : r->y + r->h);
        cairo_stroke(d->cr);
        set_rgb(d->cr, d->pal->text, 1);
        snprintf(buf, sizeof(buf), "%.*f", dec, fabs(v) < step / 2 ? 0 : v);
        if (vertical) {
            text_at(d, buf, r->x + r->w + d->fs * 0.4, p, 0, 0.5);
            continue;
        }
        cairo_text_extents(d->cr, buf, &te);
        p = fmin(fmax(p, te.x_advance / 2 + 1),
                 d->s->width - te.x_advance / 2 - 1);
        text_at(d, buf, p, r->y + r->h + d->fs * 0.4, 0.5, 0);
    }
}

/* ---- time axis ---- */

/* The x of time t on a candle chart: interpolated between the open times
 * of the candles around it (so gaps and calendar months need no special
 * case), each candle centred in its slot. */
static double
time_x(const struct draw *d, int64_t t)
{
    const struct chart_candle *c = d->s->candles;
    size_t n = d->s->ncandles, lo = 0, hi = n - 1;
    double slot = d->plot.w / (double)n, idx;

    if (n == 1 || t <= c[0].open_time)
        idx = n == 1 ? 0
                     : (double)(t - c[0].open_time) /
                           (double)(c[1].open_time - c[0].open_time);
    else if (t >= c[n - 1].open_time)
        idx = (double)(n - 1) +
              (double)(t - c[n - 1].open_time) /
                  (double)(c[n - 1].open_time - c[n - 2].open_time);
    else {
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (c[mid].open_time <= t)
                lo = mid;
            else
                hi = mid;
        }
        idx = (double)lo + (double)(t - c[lo].open_time) /
                               (double)(c[hi].open_time - c[lo].open_time);
    }
    return d->plot.x + (idx + 0.5) * slot;
}

/* The first tick at or after t for a step of step_ms, in UTC. Weeks start
 * on Monday; months and years on the first day. */
static int64_t
time_tick_first(int64_t t, int64_t step_ms)
{
    if (step_ms >= MONTH_MS) {
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        int months = step_ms >= YEAR_MS ? 12 : (int)(step_ms / MONTH_MS);
        gmtime_r(&secs, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mon = (tm.tm_mon / months) * months;
        int64_t m = (int64_t)timegm(&tm) * 1000;
        if (m < t) {
            tm.tm_mon += months;
            m = (int64_t)timegm(&tm) * 1000;
        }
        return m;
    }
    int64_t off = step_ms >= 7 * DAY_MS ? 4 * DAY_MS : 0; /* 1970-01-05 */
    int64_t q = (t - off + step_ms - 1) / step_ms;
    return q * step_ms + off;
}

static int64_t
time_tick_next(int64_t t, int64_t step_ms)
{
    if (step_ms >= MONTH_MS) {
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        tm.tm_mon += step_ms >= YEAR_MS ? 12 : (int)(step_ms / MONTH_MS);
        return (int64_t)timegm(&tm) * 1000;
    }
    return t + step_ms;
}

/* A label for tick t that fits the step: seconds, clock time (the date at
 * midnight), day and month, month and year, or the year. */
static void
time_label(int64_t t, int64_t step_ms, char *buf, size_t len)
{
    time_t secs = (time_t)(t / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    if (step_ms < 60000)
        strftime(buf, len, "%H:%M:%S", &tm);
    else if (step_ms < DAY_MS && (tm.tm_hour != 0 || tm.tm_min != 0))
        strftime(buf, len, "%H:%M", &tm);
    else if (step_ms < MONTH_MS)
        strftime(buf, len, "%b %d", &tm);
    else if (step_ms < YEAR_MS && tm.tm_mon != 0)
        strftime(buf, len, "%b", &tm);
    else
        strftime(buf, len, "%Y", &tm);
}

static void
time_grid(struct draw *d)
{
    static const int64_t steps[] = {
        1000,       2000,        5000,        10000,        15000,
        30000,      60000,       120000,      300000,       600000,
        900000,     1800000,     3600000,     7200000,      10800000,
        14400000,   21600000,    43200000,    DAY_MS,       2 * DAY_MS,
        7 * DAY_MS, 14 * DAY_MS, MONTH_MS,    3 * MONTH_MS, 6 * MONTH_MS,
        YEAR_MS,    2 * YEAR_MS, 5 * YEAR_MS, 10 * YEAR_MS,
    };
    const struct chart_spec *s = d->s;
    int64_t t0 = s->candles[0].open_time;
    int64_t t1 = s->candles[s->ncandles - 1].open_time +
                 (s->interval_ms > 0 ? s->interval_ms : 0);
    int want = (int)(d->plot.w / (d->fs * 9)), i = 0;
    int64_t step = steps[0];
    double bottom = d->plot.y + d->plot.h;
    char buf[32];

    if (s->kind == CHART_CANDLES && s->volume)
        bottom = d->vol.y + d->vol.h;
    if (want < 2)
        want = 2;
    while (i < (int)(sizeof(steps) / sizeof(steps[0])) &&
           (t1 - t0) / steps[i] > want)
        i++;
    step = steps[i < (int)(sizeof(steps) / sizeof(steps[0]))
                     ? i
                     : (int)(sizeof(steps) / sizeof(steps[0])) - 1];
    font(d, d->fs, 0);
    cairo_set_line_width(d->cr, 1);
    for (int64_t t = time_tick_first(t0, step); t <= t1;
         t = time_tick_next(t, step)) {
        double x = round(time_x(d, t)) + 0.5;
        if (x < d->plot.x || x > d->plot.x + d->plot.w)
            continue;
        set_rgb(d->cr, d->pal->grid, 1);
        cairo_move_to(d->cr, x, d->plot.y);
        cairo_line_to(d->cr, x, bottom);
        cairo_stroke(d->cr);
        set_rgb(d->cr, d->pal->text, 1);
        time_label(t, step, buf, sizeof(buf));
        text_at(d, buf, x, bottom + d->fs * 0.4, 0.5, 0);
    }
}

/* ---- candles ---- */

/* The price range of the candles, widened by 5 % on each side, and by the
 * order lines that lie within one more range of it. */
static struct axis
candle_axis(const struct draw *d)
{
    const struct chart_spec *s = d->s;
    double lo = s->candles[0].low, hi = s->candles[0].high;

    for (size_t i = 1; i < s->ncandles; i++) {
        lo = fmin(lo, s->candles[i].low);
        hi = fmax(hi, s->candles[i].high);
    }
    double span = hi - lo;
    for (size_t i = 0; i < s->nlines; i++)
        if (s->lines[i] >= lo - span && s->lines[i] <= hi + span) {
            lo = fmin(lo, s->lines[i]);
            hi = fmax(hi, s->lines[i]);
        }
    double pad = hi > lo ? (hi - lo) * 0.05 : fmax(hi * 0.001, 1e-8);
    return (struct axis){lo - pad, hi + pad, d->plot.y + d->plot.h, d->plot.y};
}

static int
draw_candles(struct draw *d)
{
    const struct chart_spec *s = d->s;
    struct axis pa = candle_axis(d);
    double slot = d->plot.w / (double)s->ncandles;
    double body = fmax(1, floor(slot * 0.7)), wick = slot >= 6 ? 1.5 : 1;
    double vmax = 0;
    char buf[64];

    axis_grid(d, &pa, &d->plot, 1);
    time_grid(d);
    for (size_t i = 0; i < s->ncandles; i++)
        vmax = fmax(vmax, s->candles[i].volume);
    cairo_save(d->cr);
    cairo_rectangle(d->cr, d->plot.x, d->plot.y, d->plot.w, d->plot.h);
    cairo_clip(d->cr);
    for (size_t i = 0; i < s->ncandles; i++) {
        const struct chart_candle *c = &s->candles[i];
        double xc = d->plot.x + (i + 0.5) * slot;
        double yo = axis_px(&pa, c->open), yc = axis_px(&pa, c->close);
        double top = fmin(yo, yc), h = fmax(1, fabs(yo - yc));
        if ((i & 63) == 0 && stopped(s))
            return -1;
        set_rgb(d->cr, c->close >= c->open ? d->pal->up : d->pal->down, 1);
        cairo_rectangle(d->cr, xc - wick / 2, axis_px(&pa, c->high), wick,
                        axis_px(&pa, c->low) - axis_px(&pa, c->high));
        cairo_fill(d->cr);
        cairo_rectangle(d->cr, xc - body / 2, top, body, h);
        cairo_fill(d->cr);
    }
    /* moving averages of the close, drawn from their first full window */
    cairo_set_line_width(d->cr, fmax(1.5, d->fs / 8));
    for (int k = 0; k < s->nsma; k++) {
        size_t p = (size_t)s->sma[k];
        double sum = 0;
        if (p < 1 || p > s->ncandles)
            continue;
        set_rgb(d->cr, sma_colors[k], 1);
        for (size_t i = 0; i < s->ncandles; i++) {
            sum += s->candles[i].close;
            if (i >= p)
                sum -= s->candles[i - p].close;
            if (i + 1 < p)
                continue;
            double x = d->plot.x + (i + 0.5) * slot, y = axis_px(&pa, sum / p);
            if (i + 1 == p)
                cairo_move_to(d->cr, x, y);
            else
                cairo_line_to(d->cr, x, y);
        }
        cairo_stroke(d->cr);
    }
    cairo_restore(d->cr);
    /* the caller's open orders */
    for (size_t i = 0; i < s->nlines; i++) {
        double y = round(axis_px(&pa, s->lines[i]));
        if (y < d->plot.y || y > d->plot.y + d->plot.h)
            continue;
        set_rgb(d->cr, d->pal->accent, 1);
        cairo_set_line_width(d->cr, 2);
        cairo_set_dash(d->cr, (double[]){6, 4}, 2, 0);
        cairo_move_to(d->cr, d->plot.x, y);
        cairo_line_to(d->cr, d->plot.x + d->plot.w, y);
        cairo_stroke(d->cr);
        cairo_set_dash(d->cr, NULL, 0, 0);
        int dec = step_decimals(s->lines[i]);
        snprintf(buf, sizeof(buf), "%.*f",
                 dec < 2   ? 2
                 : dec > 8 ? 8
                           : dec,
                 s->lines[i]);
        axis_tag(d, buf, y, d->pal->accent);
    }
    if (s->volume && vmax > 0) {
        struct axis va = {0, vmax, d->vol.y + d->vol.h, d->vol.y};
        set_rgb(d->cr, d->pal->grid, 1);
        cairo_rectangle(d->cr, d->vol.x + 0.5, d->vol.y + 0.5, d->vol.w - 1,
                        d->vol.h - 1);
        cairo_set_line_width(d->cr, 1);
        cairo_stroke(d->cr);
        for (size_t i = 0; i < s->ncandles; i++) {
            const struct chart_candle *c = &s->candles[i];
            double xc = d->plot.x + (i + 0.5) * slot;
            double y = axis_px(&va, c->volume);
            set_rgb(d->cr, c->close >= c->open ? d->pal->up : d->pal->down,
                    0.5);
            cairo_rectangle(d->cr, xc - body / 2, y, body,
                            d->vol.y + d->vol.h - y);
            cairo_fill(d->cr);
        }
        font(d, d->fs, 0);
        set_rgb(d->cr, d->pal->text, 1);
        snprintf(buf, sizeof(buf), "%.*g", 6, vmax);
        text_at(d, buf, d->vol.x + d->vol.w + d->fs * 0.4, d->vol.y, 0, 0);
        text_at(d, "vol", d->vol.x + d->vol.w + d->fs * 0.4,
                d->vol.y + d->vol.h, 0, 1);
    }
    /* moving-average legend under the title */
    font(d, d->fs, 0);
    double lx = d->plot.x + d->plot.w;
    for (int k = s->nsma - 1; k >= 0; k--) {
        cairo_text_extents_t te;
        snprintf(buf, sizeof(buf), "SMA %d", s->sma[k]);
        cairo_text_extents(d->cr, buf, &te);
        lx -= te.x_advance;
        set_rgb(d->cr, sma_colors[k], 1);
        text_at(d, buf, lx, d->plot.y - d->fs * 0.3, 0, 1);
        lx -= d->fs;
    }
    return stopped(s) ? -1 : 0;
}

/* ---- depth ---- */

/* Fills and outlines one side's cumulative area: from the best level
 * outwards to the plot's edge at x_edge. */
static void
depth_side(struct draw *d, const struct chart_level *lv, size_t n,
           const struct axis *xa, const struct axis *ya, double x_edge,
           struct rgb c)
{
    double cum = lv[0].qty, base = axis_px(ya, 0);

    cairo_move_to(d->cr, axis_px(xa, lv[0].price), base);
    cairo_line_to(d->cr, axis_px(xa, lv[0].price), axis_px(ya, cum));
    for (size_t i = 1; i < n; i++) {
        double x = axis_px(xa, lv[i].price);
        cairo_line_to(d->cr, x, axis_px(ya, cum));
        cum += lv[i].qty;
        cairo_line_to(d->cr, x, axis_px(ya, cum));
    }
    cairo_line_to(d->cr, x_edge, axis_px(ya, cum));
    cairo_line_to(d->cr, x_edge, base);
    cairo_close_path(d->cr);
    set_rgb(d->cr, c, 0.45);
    cairo_fill_preserve(d->cr);
    set_rgb(d->cr, c, 1);
    cairo_set_line_width(d->cr, fmax(1.5, d->fs / 8));
    cairo_stroke(d->cr);
}

static int
draw_depth(struct draw *d)
{
    const struct chart_spec *s = d->s;
    double bid_total = 0, ask_total = 0;
    double mid = (s->bids[0].price + s->asks[0].price) / 2;
    double half = fmax(mid - s->bids[s->nbids - 1].price,
                       s->asks[s->nasks - 1].price - mid);
    char buf[96];

    for (size_t i = 0; i < s->nbids; i++)
        bid_total += s->bids[i].qty;
    for (size_t i = 0; i < s->nasks; i++)
        ask_total += s->asks[i].qty;
    if (half <= 0)
        half = fmax(mid * 0.001, 1e-8);
    half *= 1.02;
    struct axis xa = {mid - half, mid + half, d->plot.x, d->plot.x + d->plot.w};
    struct axis ya = {0, fmax(bid_total, ask_total) * 1.08,
                      d->plot.y + d->plot.h, d->plot.y};
    axis_grid(d, &xa, &d->plot, 0);
    axis_grid(d, &ya, &d->plot, 1);
    if (stopped(s))
        return -1;
    cairo_save(d->cr);
    cairo_rectangle(d->cr, d->plot.x, d->plot.y, d->plot.w, d->plot.h);
    cairo_clip(d->cr);
    depth_side(d, s->bids, s->nbids, &xa, &ya, d->plot.x, d->pal->up);
    depth_side(d, s->asks, s->nasks, &xa, &ya, d->plot.x + d->plot.w,
               d->pal->down);
    cairo_restore(d->cr);
    /* the mid price */
    double x = round(axis_px(&xa, mid)) + 0.5;
    set_rgb(d->cr, d->pal->text, 1);
    cairo_set_line_width(d->cr, 1);
    cairo_set_dash(d->cr, (double[]){4, 4}, 2, 0);
    cairo_move_to(d->cr, x, d->plot.y);
    cairo_line_to(d->cr, x, d->plot.y + d->plot.h);
    cairo_stroke(d->cr);
    cairo_set_dash(d->cr, NULL, 0, 0);
    font(d, d->fs, 1);
    snprintf(buf, sizeof(buf), "mid %.*f",
             step_decimals(chart_nice_step(xa.lo, xa.hi, 7, NULL)) + 1, mid);
    text_at(d, buf, x, d->plot.y + d->fs * 0.3, 0.5, 0);
    set_rgb(d->cr, d->pal->up, 1);
    text_at(d, "bids", d->plot.x + d->fs * 0.5, d->plot.y + d->fs * 0.3, 0, 0);
    set_rgb(d->cr, d->pal->down, 1);
    text_at(d, "asks", d->plot.x + d->plot.w - d->fs * 0.5,
            d->plot.y + d->fs * 0.3, 1, 0);
    return 0;
}

/* ---- volume profile ---- */

int
chart_profile_compute(const struct chart_candle *c, size_t n, int bins,
                      struct chart_profile *p)
{
    if (n == 0 || bins < CHART_BINS_MIN || bins > CHART_BINS_MAX)
        return -1;
    memset(p, 0, sizeof(*p));
    p->lo = c[0].low;
    p->hi = c[0].high;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(c[i].low) || !isfinite(c[i].high) ||
            !isfinite(c[i].volume))
            return -1;
        p->lo = fmin(p->lo, c[i].low);
        p->hi = fmax(p->hi, c[i].high);
    }
    if (p->hi <= p->lo)
        p->hi = p->lo + fmax(p->lo * 0.001, 1e-8);
    p->nbins = bins;
    p->step = (p->hi - p->lo) / bins;
    for (size_t i = 0; i < n; i++) {
        double lo = c[i].low, hi = c[i].high, v = c[i].volume;
        int r0 = (int)((lo - p->lo) / p->step),
            r1 = (int)((hi - p->lo) / p->step);
        r0 = r0 < 0 ? 0 : r0 >= bins ? bins - 1 : r0;
        r1 = r1 < 0 ? 0 : r1 >= bins ? bins - 1 : r1;
        p->total += v;
        if (hi <= lo || r0 == r1) {
            p->vol[r0] += v;
            continue;
        }
        for (int r = r0; r <= r1; r++) {
            double a = fmax(lo, p->lo + r * p->step);
            double b = fmin(hi, p->lo + (r + 1) * p->step);
            if (b > a)
                p->vol[r] += v * (b - a) / (hi - lo);
        }
    }
    p->poc = 0;
    for (int r = 1; r < bins; r++)
        if (p->vol[r] > p->vol[p->poc])
            p->poc = r;
    double in = p->vol[p->poc];
    p->va_lo = p->va_hi = p->poc;
    while (in < p->total * CHART_VALUE_AREA &&
           (p->va_lo > 0 || p->va_hi < bins - 1)) {
        double below = p->va_lo > 0 ? p->vol[p->va_lo - 1] : -1;
        double above = p->va_hi < bins - 1 ? p->vol[p->va_hi + 1] : -1;
        if (above >= below)
            in += p->vol[++p->va_hi];
        else
            in += p->vol[--p->va_lo];
    }
    return 0;
}

static int
draw_profile(struct draw *d)
{
    const struct chart_spec *s = d->s;
    struct chart_profile p;
    double vmax;
    char buf[96];

    if (chart_profile_compute(s->candles, s->ncandles, s->bins, &p) < 0)
        return -1;
    double pad = (p.hi - p.lo) * 0.03;
    struct axis pa = {p.lo - pad, p.hi + pad, d->plot.y + d->plot.h, d->plot.y};
    vmax = p.vol[p.poc] > 0 ? p.vol[p.poc] : 1;
    struct axis va = {0, vmax / 0.85, d->plot.x, d->plot.x + d->plot.w};
    axis_grid(d, &pa, &d->plot, 1);
    axis_grid(d, &va, &d->plot, 0);
    /* the close over time, faint, behind the bars */
    cairo_save(d->cr);
    cairo_rectangle(d->cr, d->plot.x, d->plot.y, d->plot.w, d->plot.h);
    cairo_clip(d->cr);
    set_rgb(d->cr, d->pal->neutral, 0.6);
    cairo_set_line_width(d->cr, 1);
    for (size_t i = 0; i < s->ncandles; i++) {
        double x = d->plot.x + (i + 0.5) * d->plot.w / (double)s->ncandles;
        double y = axis_px(&pa, s->candles[i].close);
        if (i == 0)
            cairo_move_to(d->cr, x, y);
        else
            cairo_line_to(d->cr, x, y);
    }
    cairo_stroke(d->cr);
    for (int r = 0; r < p.nbins; r++) {
        double y0 = axis_px(&pa, p.lo + (r + 1) * p.step);
        double y1 = axis_px(&pa, p.lo + r * p.step);
        double gap = y1 - y0 > 4 ? 1 : 0;
        struct rgb c = r == p.poc                     ? d->pal->poc
                       : r >= p.va_lo && r <= p.va_hi ? d->pal->value
                                                      : d->pal->neutral;
        set_rgb(d->cr, c, r == p.poc ? 1 : 0.8);
        cairo_rectangle(d->cr, d->plot.x, y0 + gap / 2,
                        axis_px(&va, p.vol[r]) - d->plot.x, y1 - y0 - gap);
        cairo_fill(d->cr);
    }
    cairo_restore(d->cr);
    /* point of control and value area edges across the plot */
    double ypoc = axis_px(&pa, p.lo + (p.poc + 0.5) * p.step);
    double yvah = axis_px(&pa, p.lo + (p.va_hi + 1) * p.step);
    double yval = axis_px(&pa, p.lo + p.va_lo * p.step);
    int dec = step_decimals(chart_nice_step(pa.lo, pa.hi, 6, NULL)) + 1;
    cairo_set_line_width(d->cr, 1.5);
    set_rgb(d->cr, d->pal->poc, 1);
    cairo_move_to(d->cr, d->plot.x, ypoc);
    cairo_line_to(d->cr, d->plot.x + d->plot.w, ypoc);
    cairo_stroke(d->cr);
    set_rgb(d->cr, d->pal->value, 1);
    cairo_set_dash(d->cr, (double[]){6, 4}, 2, 0);
    cairo_move_to(d->cr, d->plot.x, yvah);
    cairo_line_to(d->cr, d->plot.x + d->plot.w, yvah);
    cairo_move_to(d->cr, d->plot.x, yval);
    cairo_line_to(d->cr, d->plot.x + d->plot.w, yval);
    cairo_stroke(d->cr);
    cairo_set_dash(d->cr, NULL, 0, 0);
    snprintf(buf, sizeof(buf), "POC %.*f", dec, p.lo + (p.poc + 0.5) * p.step);
    font(d, d->fs, 1);
    text_at(d, buf, d->plot.x + d->plot.w - d->fs * 0.3, ypoc - 3, 1, 1);
    font(d, d->fs, 0);
    set_rgb(d->cr, d->pal->value, 1);
    snprintf(buf, sizeof(buf), "VAH %.*f", dec, p.lo + (p.va_hi + 1) * p.step);
    text_at(d, buf, d->plot.x + d->plot.w - d->fs * 0.3, yvah - 2, 1, 1);
    snprintf(buf, sizeof(buf), "VAL %.*f", dec, p.lo + p.va_lo * p.step);
    text_at(d, buf, d->plot.x + d->plot.w - d->fs * 0.3, yval + 2, 1, 0);
    snprintf(buf, sizeof(buf), "value area %d %%",
             (int)lround(CHART_VALUE_AREA * 100));
    text_at(d, buf, d->plot.x + d->plot.w, d->plot.y - d->fs * 0.3, 1, 1);
    return stopped(s) ? -1 : 0;
}

/* ---- the frame ---- */

static void
draw_titles(struct draw *d)
{
    if (d->s->title != NULL) {
        font(d, d->fs * 1.35, 1);
        set_rgb(d->cr, d->pal->title, 1);
        text_at(d, d->s->title, d->plot.x, d->fs * 0.5, 0, 0);
    }
    if (d->s->subtitle != NULL) {
        font(d, d->fs, 0);
        set_rgb(d->cr, d->pal->text, 1);
        text_at(d, d->s->subtitle, d->plot.x, d->fs * 2.3, 0, 0);
    }
}

/* Checks the spec against the caps and the data for what can be drawn.
 * Returns NULL, or the sentence that says what is wrong. */
static const char *
spec_problem(const struct chart_spec *s)
{
    if (s->width < CHART_MIN_W || s->width > CHART_MAX_W ||
        s->height < CHART_MIN_H || s->height > CHART_MAX_H)
        return "the picture must be 320x200 to 2048x2048 pixels";
    if (s->kind == CHART_DEPTH) {
        if (s->nbids == 0 || s->nasks == 0)
            return "the order book has no bids or no asks to draw";
        if (s->nbids > CHART_LEVELS_MAX || s->nasks > CHART_LEVELS_MAX)
            return "the order book has more levels than a chart draws";
        for (size_t i = 0; i < s->nbids + s->nasks; i++) {
            const struct chart_level *l =
                i < s->nbids ? &s->bids[i] : &s->asks[i - s->nbids];
            if (!isfinite(l->price) || l->price <= 0 || !isfinite(l->qty) ||
                l->qty < 0)
                return "the order book holds a level that is not a price";
        }
        if (s->bids[0].price > s->asks[0].price)
            return "the order book is crossed (best bid above best ask)";
        return NULL;
    }
    if (s->ncandles == 0)
        return "there are no candles in the range asked for";
    if (s->ncandles > CHART_CANDLES_MAX)
        return "more candles than a chart draws (1000)";
    if (s->nsma < 0 || s->nsma > CHART_SMA_MAX || s->nlines > CHART_LINES_MAX)
        return "too many overlays";
    for (size_t i = 0; i < s->ncandles; i++) {
        const struct chart_candle *c = &s->candles[i];
        if (!isfinite(c->open) || !isfinite(c->high) || !isfinite(c->low) ||
            !isfinite(c->close) || !isfinite(c->volume) || c->low > c->high ||
            c->volume < 0 || (i > 0 && c->open_time <= c[-1].open_time))
            return "a candle is not drawable (not finite, low above high, "
                   "or out of time order)";
    }
    if (s->kind == CHART_VOLUME_PROFILE &&
        (s->bins < CHART_BINS_MIN || s->bins > CHART_BINS_MAX))
        return "a volume profile has 8 to 200 rows";
    return NULL;
}

/* The PNG sink: a buffer that grows up to CHART_PNG_MAX and gives up when
 * the render's deadline passes. */
struct png_sink {
    const struct chart_spec *s;
    unsigned char *buf;
    size_t len, cap;
    int too_big, late;
};

static cairo_status_t
png_write(void *closure, const unsigned char *data, unsigned int n)
{
    struct png_sink *k = closure;

    if (stopped(k->s)) {
        k->late = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (n > CHART_PNG_MAX - k->len) {
        k->too_big = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (k->len + n > k->cap) {
        size_t cap = k->cap > 0 ? k->cap : 65536;
        while (cap < k->len + n)
            cap *= 2;
        if (cap > CHART_PNG_MAX)
            cap = CHART_PNG_MAX;
        unsigned char *nb = realloc(k->buf, cap);
        if (nb == NULL)
            return CAIRO_STATUS_NO_MEMORY;
        k->buf = nb;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, data, n);
    k->len += n;
    return CAIRO_STATUS_SUCCESS;
}

static int render_png(const struct chart_spec *s, struct chart_png *out,
                      char *err, size_t errlen);

/* Renders running now; the exit-time cleanup runs only when none is. */
static atomic_int renders_active;
static pthread_once_t cleanup_once = PTHREAD_ONCE_INIT;

/* At exit: gives back cairo's and fontconfig's process-wide caches (font
 * faces, the font configuration), which otherwise stay allocated until
 * the process ends and show as leaks under LeakSanitizer and valgrind.
 * Skipped while a render still runs in another thread (a process leaving
 * mid-render), as the caches are then in use. */
static void
release_font_caches(void)
{
    if (atomic_load(&renders_active) != 0)
        return;
    cairo_debug_reset_static_data();
    FcFini();
}

static void
register_cleanup(void)
{
    atexit(release_font_caches);
}

int
chart_render(const struct chart_spec *s, struct chart_png *out, char *err,
             size_t errlen)
{
    int rc;

    pthread_once(&cleanup_once, register_cleanup);
    atomic_fetch_add(&renders_active, 1);
    rc = render_png(s, out, err, errlen);
    atomic_fetch_sub(&renders_active, 1);
    return rc;
}

/* chart_render's work. */
static int
render_png(const struct chart_spec *s, struct chart_png *out, char *err,
           size_t errlen)
{
    const char *why = spec_problem(s);
    struct png_sink sink = {s, NULL, 0, 0, 0, 0};
    cairo_surface_t *sf;
    struct draw d;
    int rc;

    out->data = NULL;
    out->len = 0;
    if (why != NULL) {
        set_err(err, errlen, why);
        return -1;
    }
    sf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, s->width, s->height);
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sf);
        set_err(err, errlen, "out of memory for the picture");
        return -1;
    }
    memset(&d, 0, sizeof(d));
    d.cr = cairo_create(sf);
    d.s = s;
    d.pal = s->theme == CHART_DARK ? &dark : &light;
    d.fs = font_size(s);
    chart_layout(s, &d.plot, &d.vol);
    set_rgb(d.cr, d.pal->bg, 1);
    cairo_paint(d.cr);
    draw_titles(&d);
    rc = s->kind == CHART_DEPTH            ? draw_depth(&d)
         : s->kind == CHART_VOLUME_PROFILE ? draw_profile(&d)
                                           : draw_candles(&d);
    if (rc == 0 && cairo_status(d.cr) != CAIRO_STATUS_SUCCESS) {
        set_err(err, errlen, cairo_status_to_string(cairo_status(d.cr)));
        rc = -2;
    }
    cairo_destroy(d.cr);
    if (rc == 0 && cairo_surface_write_to_png_stream(sf, png_write, &sink) !=
                       CAIRO_STATUS_SUCCESS)
        rc = -1;
    cairo_surface_destroy(sf);
    if (rc == 0) {
        out->data = sink.buf;
        out->len = sink.len;
        return 0;
    }
    free(sink.buf);
    if (rc == -1)
        set_err(err, errlen,
                s->cancel != NULL && atomic_load(s->cancel)
                    ? "the chart was cancelled"
                : sink.too_big ? "the PNG would be larger than 1.5 MiB; ask "
                                 "for a smaller picture"
                : stopped(s) || sink.late
                    ? "drawing the chart took longer than its time limit; "
                      "ask for fewer candles or a smaller picture"
                    : "out of memory while writing the PNG");
    return -1;
}

void
chart_png_free(struct chart_png *p)
{
    free(p->data);
    p->data = NULL;
    p->len = 0;
}
