/*
 * chart_render.c - how long src/chart.c takes to draw and encode a chart,
 * and how much memory it needs: 1000 candles (volume bars, SMA 20 and 50,
 * five order lines), a 1000-candle volume profile and a 1000-level-a-side
 * depth chart, each at 1024x576 and 2048x2048. A benchmark, not a test:
 * `make bench-chart` runs it (see bench/README.md).
 *
 * Prints one row per kind and size: the median and worst of RUNS renders
 * (ms, monotonic clock), the PNG's size, the cairo surface's bytes (width
 * * height * 4, the one large allocation of a render) and the process's
 * peak RSS after those renders (getrusage; it only grows, so the 2048x2048
 * rows show what that size adds).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "chart.h"
#include "util.h"

#define N       1000
#define RUNS    15
#define HOUR_MS 3600000LL

static struct chart_candle candles[N];
static struct chart_level bids[N], asks[N];

/* A deterministic random walk around 42000 (a 64-bit LCG). */
static void
make_data(void)
{
    uint64_t s = 42;
    double price = 42000;

    for (int i = 0; i < N; i++) {
        double r[4];
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            r[k] = (double)(s >> 11) / 9007199254740992.0;
        }
        double open = price, close = price + (r[0] - 0.5) * 120;
        candles[i] = (struct chart_candle){
            1704067200000LL + i * HOUR_MS,
            open,
            (open > close ? open : close) + r[1] * 40,
            (open < close ? open : close) - r[2] * 40,
            close,
            1 + r[3] * 50,
        };
        price = close;
        bids[i] = (struct chart_level){41999.5 - i * 0.5, 0.01 + r[1]};
        asks[i] = (struct chart_level){42000.5 + i * 0.5, 0.01 + r[2]};
    }
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int
bench(const char *name, enum chart_kind kind, int w, int h)
{
    static const double lines[] = {41000, 41500, 42500, 43000, 43500};
    struct chart_spec s = {
        .kind = kind,
        .theme = CHART_LIGHT,
        .width = w,
        .height = h,
        .title = "BENCHUSDT  1h",
        .subtitle = "1000 candles",
        .candles = candles,
        .ncandles = N,
        .interval_ms = HOUR_MS,
        .volume = 1,
        .sma = {20, 50},
        .nsma = 2,
        .lines = lines,
        .nlines = 5,
        .bins = CHART_BINS_DEFAULT,
        .bids = bids,
        .asks = asks,
        .nbids = N,
        .nasks = N,
    };
    long long ms[RUNS];
    size_t png_len = 0;
    char err[CHART_ERR_MAX];
    struct rusage ru;

    for (int i = 0; i < RUNS; i++) {
        struct chart_png png;
        int64_t t0 = mono_ms();
        if (chart_render(&s, &png, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s %dx%d: %s\n", name, w, h, err);
            return -1;
        }
        ms[i] = (long long)(mono_ms() - t0);
        png_len = png.len;
        chart_png_free(&png);
    }
    qsort(ms, RUNS, sizeof(ms[0]), cmp_ll);
    getrusage(RUSAGE_SELF, &ru);
    printf("| %s | %dx%d | %lld | %lld | %zu | %.1f | %.1f |\n", name, w, h,
           ms[RUNS / 2], ms[RUNS - 1], png_len / 1024,
           (double)w * h * 4 / (1024 * 1024), ru.ru_maxrss / 1024.0);
    return 0;
}

int
main(void)
{
    static const int sizes[][2] = {{1024, 576}, {2048, 2048}};
    int rc = 0;

    make_data();
    printf("| chart | size | median ms | worst ms | PNG KiB | surface MiB "
           "| peak RSS MiB |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++) {
        rc |= bench("candles, 1000", CHART_CANDLES, sizes[i][0], sizes[i][1]);
        rc |= bench("volume profile, 1000 candles", CHART_VOLUME_PROFILE,
                    sizes[i][0], sizes[i][1]);
        rc |= bench("depth, 1000 levels a side", CHART_DEPTH, sizes[i][0],
                    sizes[i][1]);
    }
    return rc == 0 ? 0 : 1;
}
