/*
 * chart.h - pictures of market data: candlesticks, an order book's depth
 * and a volume profile, drawn with cairo and encoded as PNG.
 *
 * Pure drawing: numbers in (already parsed and scaled once to double by the
 * caller), PNG bytes out. Nothing here knows Binance, JSON or MCP.
 *
 * Caps: the picture is at most CHART_MAX_W x CHART_MAX_H pixels (one ARGB32
 * surface, CHART_MAX_W * CHART_MAX_H * 4 = 16 MiB, allocated once per call
 * and freed on every path), at most CHART_CANDLES_MAX candles and
 * CHART_LEVELS_MAX levels per book side, and the PNG at most CHART_PNG_MAX
 * bytes. A render stops with an error once spec->deadline_ms (monotonic,
 * mono_ms()) has passed or *spec->cancel is raised; it checks between
 * candles and while the PNG is written.
 *
 * Thread safety: every call owns its surface; cairo and fontconfig are
 * thread-safe, so tools may render in several executor threads at once.
 */
#ifndef BINMCPD_CHART_H
#define BINMCPD_CHART_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CHART_MIN_W        320
#define CHART_MIN_H        200
#define CHART_MAX_W        2048
#define CHART_MAX_H        2048
#define CHART_DEFAULT_W    1024
#define CHART_DEFAULT_H    576
#define CHART_CANDLES_MAX  1000
#define CHART_LEVELS_MAX   5000
#define CHART_SMA_MAX      4   /* moving averages on one chart */
#define CHART_SMA_PERIOD   500 /* the longest period */
#define CHART_LINES_MAX    64  /* horizontal price lines (open orders) */
#define CHART_BINS_MIN     8   /* volume profile rows */
#define CHART_BINS_MAX     200
#define CHART_BINS_DEFAULT 48
#define CHART_PNG_MAX      ((size_t)3 << 19) /* 1.5 MiB: 2 MiB as base64 */
#define CHART_ERR_MAX      256
/* The share of the volume the value area holds (a volume profile's usual
 * 70 %). */
#define CHART_VALUE_AREA 0.70

enum chart_kind {
    CHART_CANDLES,
    CHART_DEPTH,
    CHART_VOLUME_PROFILE,
};

enum chart_theme {
    CHART_LIGHT,
    CHART_DARK,
};

struct chart_candle {
    int64_t open_time; /* ms since the epoch, UTC */
    double open, high, low, close, volume;
};

struct chart_level {
    double price, qty;
};

/* What to draw. Every pointer is borrowed for the call. */
struct chart_spec {
    enum chart_kind kind;
    enum chart_theme theme;
    int width, height;
    const char *title;    /* top left, e.g. "BTCUSDT 1h"; may be NULL */
    const char *subtitle; /* under it, e.g. the range; may be NULL */

    /* candles and volume profile: oldest first */
    const struct chart_candle *candles;
    size_t ncandles;
    int64_t interval_ms; /* a candle's length; chooses the time labels */
    int volume;          /* candles: volume bars under the prices */
    int sma[CHART_SMA_MAX];
    int nsma; /* candles: simple moving averages of the close */
    const double *lines;
    size_t nlines; /* candles: dashed horizontal lines at these prices */
    int bins;      /* volume profile: rows (CHART_BINS_MIN..MAX) */

    /* depth: bids best (highest) first, asks best (lowest) first */
    const struct chart_level *bids, *asks;
    size_t nbids, nasks;

    int64_t deadline_ms;      /* mono_ms() past which to give up; 0: none */
    const atomic_int *cancel; /* raised: give up; may be NULL */
};

/* A PNG in memory: data is malloc'd, freed by chart_png_free. */
struct chart_png {
    unsigned char *data;
    size_t len;
};

/* A rectangle in pixels. */
struct chart_rect {
    double x, y, w, h;
};

/* The volume profile of a series of candles: each candle's volume spread
 * evenly over its low..high range into nbins equal rows from lo to hi; the
 * point of control (poc) is the fullest row, the value area the rows
 * va_lo..va_hi around it that hold CHART_VALUE_AREA of the volume (grown
 * one row at a time towards the fuller neighbour). */
struct chart_profile {
    double lo, hi, step; /* row r covers lo + r*step .. lo + (r+1)*step */
    int nbins;
    double vol[CHART_BINS_MAX];
    double total;
    int poc, va_lo, va_hi;
};

/* Renders spec into a new PNG in *out. Returns 0, or -1 with a sentence in
 * err (err may be NULL) when the spec breaks a cap, the data cannot be
 * drawn (no candles, no book, a price that is not finite and positive),
 * memory runs out, the deadline passes or the call is cancelled; *out is
 * then empty and nothing is left allocated. */
int chart_render(const struct chart_spec *spec, struct chart_png *out,
                 char *err, size_t errlen);

/* Frees what chart_render gave and empties p. Safe on an empty one. */
void chart_png_free(struct chart_png *p);

/* Computes the profile of n candles (n >= 1) into *out with bins rows.
 * Returns 0, or -1 when bins is out of range, n is 0 or a price is not
 * finite. */
int chart_profile_compute(const struct chart_candle *c, size_t n, int bins,
                          struct chart_profile *out);

/* Where chart_render puts the plot of spec's kind and size: *plot the main
 * panel (prices, or the depth areas), *vol the volume panel of a candle
 * chart with volume (zero height otherwise; vol may be NULL). Tests use it
 * to know where to look. */
void chart_layout(const struct chart_spec *spec, struct chart_rect *plot,
                  struct chart_rect *vol);

/* The round steps of an axis from lo to hi with about want ticks: the step
 * (1, 2, 2.5 or 5 times a power of ten) and the first tick >= lo. Returns
 * the step; 0 when hi <= lo or either is not finite. */
double chart_nice_step(double lo, double hi, int want, double *first);

#endif
