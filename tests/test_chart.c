/*
 * test_chart.c - charts (src/chart.c, src/tools_chart.c) as a user sees
 * them: the real daemon ($BINMCPD --mode stdio, credentials of the fake's
 * account A) draws from market data scripted into the real fake exchange
 * ($FAKEX, POST /__fake/klines and /__fake/depth), and each picture is
 * read back from its base64 PNG with cairo and looked at: its size, a
 * known rising candle green and a falling one red, the caller's open order
 * as a line at its price, the bid area left of the mid price and the ask
 * area right of it, the volume profile's point of control at the price
 * where the scripted volume sits. A golden image per kind (tests/golden/)
 * guards against regressions with a small per-pixel tolerance.
 *
 * Regenerate the golden images (after a deliberate change of the drawing)
 * with CHART_GOLDEN_UPDATE=1 tests/test_chart in the build directory; the
 * README's examples (docs/) with CHART_EXAMPLES_DIR=<dir>, which `make
 * chart-examples` does.
 *
 * Also: the resource binance://chart/{symbol}/{interval} gives the same
 * PNG as get_chart with the same arguments, its template and completion;
 * bad arguments are tool errors; chart.c's caps (size, deadline, cancel)
 * and its round-number ticks and volume profile, directly.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <cairo.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "chart.h"
#include "mcpc.h"
#include "testlib.h"

#define REPLY_MS  15000
#define REPLY_CAP ((size_t)8 << 20)
#define SYMBOL    "BTCUSDT"
#define T0        1704067200000LL /* 2024-01-01 00:00 UTC */
#define HOUR_MS   3600000LL
#define NCANDLES  40
#define RISING    10 /* candle index: opens 42000, closes 42600 */
#define FALLING   11 /* opens 42600, closes 41900 */
#define ORDER_PX  "41500"
#define POC_LO    42200 /* candles 20..29 trade only in 42200..42260 */
#define POC_HI    42260
/* golden comparison: a channel may differ by this much, and this share of
 * the pixels may differ by more (text antialiasing across font builds) */
#define GOLDEN_CHANNEL_TOL 24
#define GOLDEN_PIXEL_SHARE 0.002

static struct fakex fx;
static int fx_up;
static char tmpdir[256];

/* ------------------------------------------------------------------ */
/* The daemon over stdio: a request line out, lines in until its id     */

static struct mcpc_stdio dmn;

static int
daemon_start(struct mcpc_stdio *d)
{
    char base[128], testnet[128], journal[400], log[400];
    const char *argv[] = {tl_binmcpd_path(), "--mode", "stdio", NULL};
    const char *env[] = {base,
                         testnet,
                         journal,
                         "BINANCE_API_KEY=" TEST_KEY_A,
                         "BINANCE_API_SECRET=" TEST_SECRET_A,
                         "BINMCPD_ORDER_CONFIRMATION=off",
                         "BINMCPD_MAX_ORDER_NOTIONAL=1000",
                         NULL};
    json_object *r;

    snprintf(base, sizeof(base), "BINANCE_BASE_URL=%s", fx.url);
    snprintf(testnet, sizeof(testnet), "BINANCE_TESTNET_URL=%s", fx.url);
    snprintf(journal, sizeof(journal), "BINMCPD_JOURNAL=%s/journal.db", tmpdir);
    snprintf(log, sizeof(log), "%s/daemon.log", tmpdir);
    if (mcpc_stdio_spawn(d, argv, env, log) < 0)
        return -1;
    d->rpc_ms = REPLY_MS;
    d->max_line = REPLY_CAP;
    r = mcpc_stdio_initialize(d, "test_chart", "{}");
    int ok = tl_get_path(r, "result.capabilities.tools") != NULL;
    json_object_put(r);
    return ok ? 0 : -1;
}

/* Closes the daemon's input and waits for it. Returns 0 when it exited
 * cleanly (status 0), -1 otherwise. */
static int
daemon_stop(struct mcpc_stdio *d)
{
    int status = 0;

    if (d->pid <= 0)
        return 0;
    return mcpc_stdio_stop(d, 15000, &status) == 0 && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

/* tools/call get_chart with args; the CallToolResult (caller owns), or
 * NULL when no result came. */
static json_object *
get_chart(const char *args)
{
    char params[2048];
    json_object *r, *res = NULL;

    snprintf(params, sizeof(params),
             "{\"name\":\"get_chart\",\"arguments\":%s}", args);
    r = mcpc_stdio_rpc(&dmn, "tools/call", params);
    if (tl_get_path(r, "result") != NULL)
        res = json_object_get(tl_get_path(r, "result"));
    json_object_put(r);
    return res;
}

/* ------------------------------------------------------------------ */
/* Pictures                                                             */

struct png_reader {
    const unsigned char *p;
    size_t left;
};

static cairo_status_t
png_read(void *closure, unsigned char *data, unsigned int n)
{
    struct png_reader *r = closure;

    if (n > r->left)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p, n);
    r->p += n;
    r->left -= n;
    return CAIRO_STATUS_SUCCESS;
}

/* Decodes base64 PNG text into *raw (gnutls_free) and reads it with
 * cairo. Returns the surface (caller destroys), or NULL. */
static cairo_surface_t *
png_from_base64(const char *b64, gnutls_datum_t *raw)
{
    gnutls_datum_t in = {(unsigned char *)(uintptr_t)b64,
                         (unsigned int)strlen(b64)};
    struct png_reader r;
    cairo_surface_t *s;

    raw->data = NULL;
    raw->size = 0;
    if (gnutls_base64_decode2(&in, raw) < 0)
        return NULL;
    if (raw->size < 24 || memcmp(raw->data, "\x89PNG\r\n\x1a\n", 8) != 0)
        return NULL;
    r = (struct png_reader){raw->data, raw->size};
    s = cairo_image_surface_create_from_png_stream(png_read, &r);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return NULL;
    }
    cairo_surface_flush(s);
    return s;
}

/* The image block's PNG of a get_chart result, read back; NULL when the
 * result has no image/png block or it is not a PNG. */
static cairo_surface_t *
result_picture(json_object *res, gnutls_datum_t *raw)
{
    json_object *img = tl_get_path(res, "content.0");

    raw->data = NULL;
    if (strcmp(tl_str_at(img, "type"), "image") != 0 ||
        strcmp(tl_str_at(img, "mimeType"), "image/png") != 0)
        return NULL;
    return png_from_base64(tl_str_at(img, "data"), raw);
}

struct px {
    int r, g, b;
};

static struct px
pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *row = cairo_image_surface_get_data(s) +
                               (size_t)y * cairo_image_surface_get_stride(s);
    uint32_t v;

    memcpy(&v, row + 4 * x, 4);
    return (struct px){(int)(v >> 16) & 255, (int)(v >> 8) & 255, (int)v & 255};
}

static int
greenish(struct px p)
{
    return p.g > p.r + 20 && p.g > p.b + 10;
}

/* Red, not orange: green and blue stay level. */
static int
reddish(struct px p)
{
    return p.r > p.g + 50 && p.r > p.b + 50 && abs(p.g - p.b) < 40;
}

/* Orange: the open-order lines and the point of control. */
static int
orangish(struct px p)
{
    return p.r > 200 && p.g > 90 && p.g < 190 && p.b < 80;
}

/* Green and red pixels in column x from y0 to y1. */
static void
column_colors(cairo_surface_t *s, int x, double y0, double y1, int *green,
              int *red)
{
    *green = *red = 0;
    for (int y = (int)y0; y < (int)y1; y++) {
        struct px p = pixel(s, x, y);
        *green += greenish(p);
        *red += reddish(p);
    }
}

/* Compares s with tests/golden/<name>.png, or writes it there when
 * CHART_GOLDEN_UPDATE is set; with CHART_EXAMPLES_DIR also writes
 * <dir>/chart-<name>.png. */
static void
check_golden(cairo_surface_t *s, const gnutls_datum_t *raw, const char *name)
{
    const char *src = getenv("TESTS_SRCDIR"),
               *ex = getenv("CHART_EXAMPLES_DIR");
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/golden/%s.png",
             src != NULL ? src : "tests", name);
    if (ex != NULL && ex[0] != '\0') {
        char out[600];
        snprintf(out, sizeof(out), "%s/chart-%s.png", ex, name);
        f = fopen(out, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(raw->data, 1, raw->size, f), raw->size);
        fclose(f);
    }
    if (getenv("CHART_GOLDEN_UPDATE") != NULL) {
        f = fopen(path, "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(raw->data, 1, raw->size, f), raw->size);
        fclose(f);
        return;
    }
    cairo_surface_t *g = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(g) != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "\ngolden image %s: %s\n", path,
                cairo_status_to_string(cairo_surface_status(g)));
        CU_FAIL("golden image missing");
        cairo_surface_destroy(g);
        return;
    }
    int w = cairo_image_surface_get_width(s),
        h = cairo_image_surface_get_height(s);
    CU_ASSERT_EQUAL_FATAL(cairo_image_surface_get_width(g), w);
    CU_ASSERT_EQUAL_FATAL(cairo_image_surface_get_height(g), h);
    long off = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            struct px a = pixel(s, x, y), b = pixel(g, x, y);
            off += abs(a.r - b.r) > GOLDEN_CHANNEL_TOL ||
                   abs(a.g - b.g) > GOLDEN_CHANNEL_TOL ||
                   abs(a.b - b.b) > GOLDEN_CHANNEL_TOL;
        }
    if (off > (long)(GOLDEN_PIXEL_SHARE * w * h))
        fprintf(stderr, "\n%s: %ld of %d pixels differ from %s\n", name, off,
                w * h, path);
    CU_ASSERT(off <= (long)(GOLDEN_PIXEL_SHARE * w * h));
    cairo_surface_destroy(g);
}

/* ------------------------------------------------------------------ */
/* Scripted market data                                                 */

/* Candle i of the script: open, high, low, close, volume (whole USDT). */
static void
candle(int i, long v[5])
{
    long o = 42000 + 40 * ((i * 7) % 11), c = o + 60 * ((i % 3) - 1);
    long vol = 5;

    if (i == RISING)
        o = 42000, c = 42600;
    if (i == FALLING)
        o = 42600, c = 41900;
    if (i >= 20 && i < 30) { /* heavy, tight trading: the volume profile's
                                point of control */
        o = POC_LO + 10 * (i % 3);
        c = POC_HI - 10 * (i % 2);
        vol = 60;
    }
    v[0] = o;
    v[1] = (o > c ? o : c) + 20;
    v[2] = (o < c ? o : c) - 20;
    v[3] = c;
    v[4] = vol;
}

/* Scripts the candles and the book into the fake. Returns 0 or -1. */
static int
script_market(void)
{
    char q[8192], out[512], *p;
    long v[5];

    p = q + snprintf(q, sizeof(q),
                     "/__fake/klines?symbol=" SYMBOL
                     "&interval=1h&start=%lld&ohlcv=",
                     T0);
    for (int i = 0; i < NCANDLES; i++) {
        candle(i, v);
        p += snprintf(p, sizeof(q) - (size_t)(p - q), "%s%ld:%ld:%ld:%ld:%ld",
                      i ? "," : "", v[0], v[1], v[2], v[3], v[4]);
    }
    if (fakex_http(&fx, "POST", q, out, sizeof(out)) != 200) {
        fprintf(stderr, "scripting klines: %s\n", out);
        return -1;
    }
    /* a book around 42000: 20 levels a side, quantities growing outwards */
    p = q + snprintf(q, sizeof(q), "/__fake/depth?symbol=" SYMBOL "&bids=");
    for (int i = 0; i < 20; i++)
        p += snprintf(p, sizeof(q) - (size_t)(p - q), "%s%d.5:%d.25",
                      i ? "," : "", 41999 - 5 * i, i + 1);
    p += snprintf(p, sizeof(q) - (size_t)(p - q), "&asks=");
    for (int i = 0; i < 20; i++)
        p += snprintf(p, sizeof(q) - (size_t)(p - q), "%s%d.5:%d.5",
                      i ? "," : "", 42000 + 5 * i, 2 * i + 1);
    if (fakex_http(&fx, "POST", q, out, sizeof(out)) != 200) {
        fprintf(stderr, "scripting the book: %s\n", out);
        return -1;
    }
    return 0;
}

/* The layout chart.c uses for a picture of this kind and size. */
static void
layout(enum chart_kind kind, int w, int h, int volume, struct chart_rect *plot,
       struct chart_rect *vol)
{
    struct chart_spec s = {
        .kind = kind, .width = w, .height = h, .volume = volume};
    chart_layout(&s, plot, vol);
}

/* ------------------------------------------------------------------ */
/* Tests through the daemon                                             */

static void
test_candles(void)
{
    gnutls_datum_t raw;
    struct chart_rect plot, vol;
    int g, r;
    json_object *res = get_chart("{\"symbol\":\"btcusdt\",\"interval\":\"1h\","
                                 "\"start_time\":1704067200000,"
                                 "\"limit\":40,\"sma\":[5]}");

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_FALSE(json_object_get_boolean(tl_get_path(res, "isError")));
    cairo_surface_t *s = result_picture(res, &raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), CHART_DEFAULT_W);
    CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), CHART_DEFAULT_H);
    /* the text block and structuredContent: exact numbers of the script */
    const char *text = tl_str_at(res, "content.1.text");
    long first[5], last[5];
    candle(0, first);
    candle(NCANDLES - 1, last);
    char want[160];
    snprintf(want, sizeof(want), "Last price %ld.00, %+ld.00", last[3],
             last[3] - first[0]);
    if (!tl_contains(text, want))
        fprintf(stderr, "\nwant '%s' in: %s\n", want, text);
    CU_ASSERT(tl_contains(text, want));
    CU_ASSERT(tl_contains(text, "40 candles opening 2024-01-01 00:00 to "
                                "2024-01-02 15:00 UTC"));
    CU_ASSERT(tl_contains(text, "high 42620.00, low 41880.00"));
    CU_ASSERT(tl_contains(text, "Your open orders (dashed lines): BUY " ORDER_PX
                                ".00."));
    CU_ASSERT_EQUAL(tl_int_at(res, "structuredContent.count"), NCANDLES);
    CU_ASSERT_STRING_EQUAL(tl_str_at(res, "structuredContent.high"),
                           "42620.00");
    /* the rising candle is green, the falling one red, in both panels */
    layout(CHART_CANDLES, CHART_DEFAULT_W, CHART_DEFAULT_H, 1, &plot, &vol);
    double slot = plot.w / NCANDLES;
    int xr = (int)(plot.x + (RISING + 0.5) * slot);
    int xf = (int)(plot.x + (FALLING + 0.5) * slot);
    column_colors(s, xr, plot.y, plot.y + plot.h, &g, &r);
    CU_ASSERT(g > 20 && r == 0);
    column_colors(s, xf, plot.y, plot.y + plot.h, &g, &r);
    CU_ASSERT(r > 20 && g == 0);
    column_colors(s, xr, vol.y, vol.y + vol.h, &g, &r);
    CU_ASSERT(g > 5 && r == 0);
    column_colors(s, xf, vol.y, vol.y + vol.h, &g, &r);
    CU_ASSERT(r > 5 && g == 0);
    /* the open order: an orange line across the plot at its price, which
     * lies below every candle (the axis widens 5 % past it) */
    double lo = 41500, hi = 42620, pad = (hi - lo) * 0.05;
    int yo = (int)(plot.y + plot.h * (hi + pad - 41500) / (hi - lo + 2 * pad));
    int across = 0;
    for (int x = (int)plot.x; x < (int)(plot.x + plot.w); x++)
        for (int dy = -2; dy <= 2; dy++)
            if (orangish(pixel(s, x, yo + dy))) {
                across++;
                break;
            }
    CU_ASSERT(across > plot.w * 0.4); /* dashes of 6 pixels, gaps of 4 */
    check_golden(s, &raw, "candles");
    cairo_surface_destroy(s);
    gnutls_free(raw.data);
    json_object_put(res);
}

static void
test_depth(void)
{
    gnutls_datum_t raw;
    struct chart_rect plot;
    json_object *res = get_chart("{\"symbol\":\"BTCUSDT\",\"kind\":\"depth\","
                                 "\"limit\":20,\"theme\":\"dark\"}");

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    cairo_surface_t *s = result_picture(res, &raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), CHART_DEFAULT_W);
    const char *text = tl_str_at(res, "content.1.text");
    CU_ASSERT(tl_contains(text, "Best bid 41999.50, best ask 42000.50, "
                                "spread 1.00"));
    CU_ASSERT(tl_contains(text, "Bids total 215.00 down to 41904.50"));
    CU_ASSERT(tl_contains(text, "asks total 410.00 up to 42095.50"));
    layout(CHART_DEPTH, CHART_DEFAULT_W, CHART_DEFAULT_H, 0, &plot, NULL);
    /* the mid price is the centre: bids fill the bottom left, asks the
     * bottom right, nothing fills the top at the centre */
    int ybase = (int)(plot.y + plot.h) - 4;
    for (double f = 0.05; f < 0.45; f += 0.1) {
        CU_ASSERT(greenish(pixel(s, (int)(plot.x + plot.w * f), ybase)));
        CU_ASSERT(reddish(pixel(s, (int)(plot.x + plot.w * (1 - f)), ybase)));
    }
    struct px top =
        pixel(s, (int)(plot.x + plot.w / 2) + 3, (int)(plot.y + plot.h / 2));
    CU_ASSERT(!greenish(top) && !reddish(top));
    check_golden(s, &raw, "depth");
    cairo_surface_destroy(s);
    gnutls_free(raw.data);
    json_object_put(res);
}

static void
test_volume_profile(void)
{
    gnutls_datum_t raw;
    struct chart_rect plot;
    json_object *res = get_chart(
        "{\"symbol\":\"BTCUSDT\",\"kind\":\"volume_profile\",\"interval\":"
        "\"1h\",\"start_time\":1704067200000,\"limit\":40,\"bins\":40}");

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    cairo_surface_t *s = result_picture(res, &raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    double poc = atof(tl_str_at(res, "structuredContent.poc"));
    CU_ASSERT(poc >= POC_LO && poc <= POC_HI);
    CU_ASSERT(atof(tl_str_at(res, "structuredContent.valueAreaLow")) <= poc);
    CU_ASSERT(atof(tl_str_at(res, "structuredContent.valueAreaHigh")) >= poc);
    CU_ASSERT(tl_contains(tl_str_at(res, "content.1.text"),
                          "point of control about"));
    /* the orange point-of-control bar sits at its price: rows of orange
     * in the left tenth of the plot, centred where the POC price maps */
    layout(CHART_VOLUME_PROFILE, CHART_DEFAULT_W, CHART_DEFAULT_H, 0, &plot,
           NULL);
    double lo = 41880, hi = 42620, pad = (hi - lo) * 0.03;
    double want_y = plot.y + plot.h * (hi + pad - poc) / (hi - lo + 2 * pad);
    double sum = 0;
    int rows = 0;
    for (int y = (int)plot.y; y < (int)(plot.y + plot.h); y++)
        if (orangish(pixel(s, (int)(plot.x + plot.w * 0.1), y))) {
            sum += y;
            rows++;
        }
    CU_ASSERT(rows > 0);
    if (rows > 0)
        CU_ASSERT(fabs(sum / rows - want_y) < plot.h / 40.0 + 2);
    check_golden(s, &raw, "volume_profile");
    cairo_surface_destroy(s);
    gnutls_free(raw.data);
    json_object_put(res);
}

/* The resource's PNG is get_chart's for the same symbol and interval. */
static void
test_resource(void)
{
    json_object *r = mcpc_stdio_rpc(&dmn, "resources/read",
                                    "{\"uri\":\"binance://chart/BTCUSDT/1h\"}");
    json_object *res =
        get_chart("{\"symbol\":\"BTCUSDT\",\"interval\":\"1h\"}");
    gnutls_datum_t a, b;

    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "result.contents.0.mimeType"),
                           "image/png");
    CU_ASSERT_STRING_EQUAL(tl_str_at(r, "result.contents.0.uri"),
                           "binance://chart/BTCUSDT/1h");
    cairo_surface_t *s =
        png_from_base64(tl_str_at(r, "result.contents.0.blob"), &a);
    cairo_surface_t *t = result_picture(res, &b);
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(t);
    if (s != NULL && t != NULL) {
        CU_ASSERT_EQUAL(cairo_image_surface_get_width(s), CHART_DEFAULT_W);
        CU_ASSERT_EQUAL(cairo_image_surface_get_height(s), CHART_DEFAULT_H);
        CU_ASSERT(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
    }
    cairo_surface_destroy(s);
    cairo_surface_destroy(t);
    gnutls_free(a.data);
    gnutls_free(b.data);
    json_object_put(r);
    json_object_put(res);
    /* an unknown interval or symbol is not a resource */
    r = mcpc_stdio_rpc(&dmn, "resources/read",
                       "{\"uri\":\"binance://chart/BTCUSDT/7m\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "error.code"), -32002);
    json_object_put(r);
    r = mcpc_stdio_rpc(&dmn, "resources/read",
                       "{\"uri\":\"binance://chart/NOSUCHPAIR/1h\"}");
    CU_ASSERT_EQUAL(tl_int_at(r, "error.code"), -32002);
    json_object_put(r);
}

static void
test_template_and_completion(void)
{
    json_object *r = mcpc_stdio_rpc(&dmn, "resources/templates/list", "{}");
    json_object *t = tl_get_path(r, "result.resourceTemplates");
    int found = 0;

    for (size_t i = 0; i < json_object_array_length(t); i++) {
        json_object *e = json_object_array_get_idx(t, i);
        if (strcmp(tl_str_at(e, "uriTemplate"),
                   "binance://chart/{symbol}/{interval}") == 0)
            found = strcmp(tl_str_at(e, "mimeType"), "image/png") == 0;
    }
    CU_ASSERT(found);
    json_object_put(r);
    r = mcpc_stdio_rpc(
        &dmn, "completion/complete",
        "{\"ref\":{\"type\":\"ref/resource\",\"uri\":"
        "\"binance://chart/{symbol}/{interval}\"},\"argument\":{\"name\":"
        "\"interval\",\"value\":\"1\"}}");
    const char *v =
        json_object_to_json_string(tl_get_path(r, "result.completion.values"));
    CU_ASSERT(tl_contains(v, "\"1h\"") && tl_contains(v, "\"1d\"") &&
              !tl_contains(v, "\"4h\""));
    json_object_put(r);
}

static void
test_bad_arguments(void)
{
    static const char *const bad[] = {
        "{\"symbol\":\"BTCUSDT\",\"width\":4096}",
        "{\"symbol\":\"BTCUSDT\",\"height\":100}",
        "{\"symbol\":\"BTCUSDT\",\"kind\":\"pie\"}",
        "{\"symbol\":\"BTCUSDT\",\"limit\":1001}",
        "{\"symbol\":\"BTCUSDT\",\"kind\":\"depth\",\"sma\":[20]}",
        "{\"symbol\":\"BTCUSDT\",\"sma\":[5,10,20,50,100]}",
        "{\"symbol\":\"BTCUSDT\",\"start_time\":5,\"end_time\":4}",
        "{\"symbol\":\"BTCUSDT\",\"kind\":\"depth\",\"start_time\":5}",
        "{\"symbol\":\"NOSUCHPAIR\"}",
        "{\"symbol\":\"BTCUSDT\",\"interval\":\"1h\",\"start_time\":"
        "1904067200000}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *res = get_chart(bad[i]);
        int err = json_object_get_boolean(tl_get_path(res, "isError"));
        if (!err)
            fprintf(stderr, "\nnot refused: %s\n", bad[i]);
        CU_ASSERT(err);
        CU_ASSERT(strlen(tl_str_at(res, "content.0.text")) > 10);
        json_object_put(res);
    }
}

/* ------------------------------------------------------------------ */
/* chart.c directly                                                     */

static void
test_nice_steps(void)
{
    double first;

    CU_ASSERT_DOUBLE_EQUAL(chart_nice_step(0, 10, 5, &first), 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(first, 0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(chart_nice_step(41863, 42637, 6, &first), 200, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(first, 42000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(chart_nice_step(0.0001, 0.0009, 4, &first), 0.0002,
                           1e-12);
    CU_ASSERT_DOUBLE_EQUAL(chart_nice_step(1, 1, 4, NULL), 0, 0);
}

static void
test_profile_math(void)
{
    /* 4 candles: 100..110 volume 10, one at 100..101 volume 30 */
    struct chart_candle c[4] = {
        {0, 100, 110, 100, 110, 10},
        {1, 100.5, 101, 100, 100.8, 30},
        {2, 101, 110, 101, 109, 0},
        {3, 109, 110, 109, 110, 10},
    };
    struct chart_profile p;

    CU_ASSERT_EQUAL(chart_profile_compute(c, 4, 7, &p), -1);
    CU_ASSERT_EQUAL_FATAL(chart_profile_compute(c, 4, 10, &p), 0);
    CU_ASSERT_DOUBLE_EQUAL(p.total, 50, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.step, 1, 1e-12);
    CU_ASSERT_EQUAL(p.poc, 0); /* 100..101: 1 of the first + the 30 */
    CU_ASSERT_DOUBLE_EQUAL(p.vol[0], 31, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.vol[9], 11, 1e-9);
    double in = 0;
    for (int r = p.va_lo; r <= p.va_hi; r++)
        in += p.vol[r];
    CU_ASSERT(in >= 0.7 * p.total);
    CU_ASSERT(p.va_lo <= p.poc && p.poc <= p.va_hi);
}

static void
test_render_caps(void)
{
    struct chart_candle c[3] = {
        {0, 1, 2, 1, 2, 1}, {60000, 2, 3, 1, 1, 1}, {120000, 1, 2, 1, 2, 1}};
    struct chart_spec s = {.kind = CHART_CANDLES,
                           .width = 640,
                           .height = 360,
                           .candles = c,
                           .ncandles = 3,
                           .interval_ms = 60000,
                           .volume = 1};
    struct chart_png png;
    atomic_int cancel = 1;
    char err[CHART_ERR_MAX];

    CU_ASSERT_EQUAL_FATAL(chart_render(&s, &png, err, sizeof(err)), 0);
    CU_ASSERT(png.len > 100 && memcmp(png.data, "\x89PNG", 4) == 0);
    chart_png_free(&png);
    CU_ASSERT_PTR_NULL(png.data);
    s.width = CHART_MAX_W + 1;
    CU_ASSERT_EQUAL(chart_render(&s, &png, err, sizeof(err)), -1);
    CU_ASSERT(tl_contains(err, "2048x2048"));
    CU_ASSERT_PTR_NULL(png.data);
    s.width = 640;
    s.deadline_ms = 1; /* long past */
    CU_ASSERT_EQUAL(chart_render(&s, &png, err, sizeof(err)), -1);
    CU_ASSERT(tl_contains(err, "time limit"));
    s.deadline_ms = 0;
    s.cancel = &cancel;
    CU_ASSERT_EQUAL(chart_render(&s, &png, err, sizeof(err)), -1);
    CU_ASSERT(tl_contains(err, "cancelled"));
    s.cancel = NULL;
    c[1].low = 4; /* low above high */
    CU_ASSERT_EQUAL(chart_render(&s, &png, err, sizeof(err)), -1);
    s.kind = CHART_DEPTH; /* no book */
    CU_ASSERT_EQUAL(chart_render(&s, &png, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------ */

static int
suite_init(void)
{
    const char *base = getenv("TESTS_BUILDDIR");
    char order[256];
    json_object *r;

    snprintf(tmpdir, sizeof(tmpdir), "%s/chart.%d.tmp",
             base != NULL ? base : "/tmp", (int)getpid());
    if (mkdir(tmpdir, 0700) < 0 && errno != EEXIST)
        return -1;
    if (fakex_start(&fx, NULL) < 0)
        return -1;
    fx_up = 1;
    if (script_market() < 0 || daemon_start(&dmn) < 0)
        return -1;
    /* one open order of account A: drawn on the candle charts */
    snprintf(order, sizeof(order),
             "{\"name\":\"place_order\",\"arguments\":{\"symbol\":\"BTCUSDT\","
             "\"side\":\"BUY\",\"type\":\"LIMIT\",\"quantity\":\"0.001\","
             "\"price\":\"%s\"}}",
             ORDER_PX);
    r = mcpc_stdio_rpc(&dmn, "tools/call", order);
    int ok =
        r != NULL && !json_object_get_boolean(tl_get_path(r, "result.isError"));
    if (!ok)
        fprintf(stderr, "place_order: %s\n", json_object_to_json_string(r));
    json_object_put(r);
    return ok ? 0 : -1;
}

static int
suite_clean(void)
{
    int rc = daemon_stop(&dmn);
    char cmd[300];

    if (rc < 0)
        fprintf(stderr, "test_chart: the daemon did not exit cleanly\n");
    if (fx_up)
        fakex_stop(&fx);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? rc : -1;
}

int
main(void)
{
    CU_TestInfo daemon_tests[] = {
        {"candles: green up, red down, order line, golden", test_candles},
        {"depth: bids left, asks right of mid, golden", test_depth},
        {"volume profile: POC at the volume, golden", test_volume_profile},
        {"resource: the same PNG as get_chart", test_resource},
        {"resource template and interval completion",
         test_template_and_completion},
        {"bad arguments are tool errors", test_bad_arguments},
        CU_TEST_INFO_NULL,
    };
    CU_TestInfo unit_tests[] = {
        {"round-number ticks", test_nice_steps},
        {"volume profile: POC and value area", test_profile_math},
        {"caps: size, deadline, cancel, bad data", test_render_caps},
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {
        {"chart.c", NULL, NULL, NULL, NULL, unit_tests},
        {"get_chart through the daemon", suite_init, suite_clean, NULL, NULL,
         daemon_tests},
        CU_SUITE_INFO_NULL,
    };
    return testlib_run(suites);
}
