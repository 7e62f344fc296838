/*
 * test_book.c - the local order book (src/book.c): Binance's algorithm on
 * scripted event sequences, then against the fake exchange: subscribe to
 * its depth stream, take its REST snapshot mid-stream, apply thousands of
 * random diffs, and compare the local book with the fake's
 * /api/v3/depth?limit=5000 level by level; a scripted gap costs exactly one
 * resync and the book still ends equal.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "book.h"
#include "fakex.h"
#include "testlib.h"
#include "wstest.h"

/* ---- scripted sequences ---- */

/* A depthUpdate for BTCUSDT with ids first..last; bids and asks are
 * JSON arrays' insides ("[\"1.0\",\"2\"]"). */
static enum book_result
diff(struct book *b, long first, long last, const char *bids, const char *asks)
{
    char ev[1024], err[256] = "";
    enum book_result r;

    snprintf(ev, sizeof(ev),
             "{\"e\":\"depthUpdate\",\"E\":1700000000123,\"s\":\"BTCUSDT\","
             "\"U\":%ld,\"u\":%ld,\"b\":[%s],\"a\":[%s]}",
             first, last, bids, asks);
    r = book_diff_json(b, ev, strlen(ev), 42, err, sizeof(err));
    if (r == BOOK_INVALID)
        fprintf(stderr, "test_book: refused: %s\n", err);
    return r;
}

static enum book_result
snapshot(struct book *b, long last_id, const char *bids, const char *asks)
{
    char s[1024];

    snprintf(s, sizeof(s), "{\"lastUpdateId\":%ld,\"bids\":[%s],\"asks\":[%s]}",
             last_id, bids, asks);
    return book_snapshot_json(b, s, strlen(s), 41, NULL, 0);
}

/* The side as "price:qty price:qty" (best first), for comparisons. */
static const char *
side_text(const struct book *b, enum book_side side)
{
    static char out[2][1024];
    struct book_level lv[32];
    size_t n = book_top(b, side, 32, lv);
    char *o = out[side];

    o[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char p[DEC_STR_MAX], q[DEC_STR_MAX];
        size_t len = strlen(o);
        snprintf(o + len, sizeof(out[0]) - len, "%s%s:%s", i ? " " : "",
                 dec_str(&lv[i].price, p), dec_str(&lv[i].qty, q));
    }
    return o;
}

static void
test_buffer_then_snapshot(void)
{
    struct book *b = book_new("BTCUSDT", 0);

    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_FALSE(book_synced(b));
    /* before the snapshot everything waits */
    CU_ASSERT_EQUAL(diff(b, 95, 99, "[\"99\",\"9\"]", ""), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(diff(b, 100, 101, "[\"100\",\"1\"]", ""), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(diff(b, 102, 102, "", "[\"103\",\"2\"]"), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(book_buffered(b), 3);
    CU_ASSERT_EQUAL(book_depth(b, BOOK_BID), 0);
    /* lastUpdateId 100: 95..99 is dropped, 100..101 spans 101, 102 follows */
    CU_ASSERT_EQUAL(
        snapshot(b, 100, "[\"98\",\"5\"],[\"100\",\"4\"]", "[\"104\",\"1\"]"),
        BOOK_APPLIED);
    CU_ASSERT(book_synced(b));
    CU_ASSERT_EQUAL(book_buffered(b), 0);
    CU_ASSERT_EQUAL(book_update_id(b), 102);
    CU_ASSERT_EQUAL(book_applied(b), 2);
    CU_ASSERT_EQUAL(book_dropped(b), 1);
    /* 99:9 came before the snapshot and is not in the book */
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "100:1 98:5");
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_ASK), "103:2 104:1");
    /* the buffered events were applied by the snapshot call (time 41) */
    CU_ASSERT_EQUAL(book_updated_ms(b), 41);
    CU_ASSERT_EQUAL(book_event_ms(b), 1700000000123);
    CU_ASSERT_EQUAL(book_resyncs(b), 0);
    /* an event already covered is stale */
    CU_ASSERT_EQUAL(diff(b, 101, 102, "[\"100\",\"0\"]", ""), BOOK_STALE);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "100:1 98:5");
    book_free(b);
}

static void
test_old_snapshot_refused(void)
{
    struct book *b = book_new("BTCUSDT", 0);

    CU_ASSERT_EQUAL(diff(b, 200, 201, "[\"1\",\"1\"]", ""), BOOK_BUFFERED);
    /* 150 + 1 < 200: the updates 151..199 are in neither */
    CU_ASSERT_EQUAL(snapshot(b, 150, "[\"2\",\"2\"]", ""), BOOK_OLD_SNAPSHOT);
    CU_ASSERT_FALSE(book_synced(b));
    CU_ASSERT_EQUAL(book_buffered(b), 1);
    CU_ASSERT_EQUAL(book_depth(b, BOOK_BID), 0);
    /* 199 + 1 = 200: adjacent, the first event applies */
    CU_ASSERT_EQUAL(snapshot(b, 199, "[\"2\",\"2\"]", ""), BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "2:2 1:1");
    CU_ASSERT_EQUAL(book_update_id(b), 201);
    book_free(b);
}

static void
test_gap_one_resync(void)
{
    struct book *b = book_new("BTCUSDT", 0);

    CU_ASSERT_EQUAL(snapshot(b, 10, "[\"5\",\"1\"]", "[\"6\",\"1\"]"),
                    BOOK_APPLIED);
    /* no event yet: the first one must still reach 11 */
    CU_ASSERT_EQUAL(diff(b, 11, 12, "[\"5\",\"2\"]", ""), BOOK_APPLIED);
    /* overlapping (U <= id < u) applies, as Binance's rule says */
    CU_ASSERT_EQUAL(diff(b, 12, 13, "[\"4\",\"1\"]", ""), BOOK_APPLIED);
    /* 15 after 13: update 14 is missing */
    CU_ASSERT_EQUAL(diff(b, 15, 15, "[\"5\",\"9\"]", ""), BOOK_RESYNC);
    CU_ASSERT_FALSE(book_synced(b));
    CU_ASSERT_EQUAL(book_resyncs(b), 1);
    /* later events wait for the new snapshot: no second resync */
    CU_ASSERT_EQUAL(diff(b, 16, 16, "", "[\"6\",\"0\"]"), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(diff(b, 17, 18, "", "[\"7\",\"3\"]"), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(book_resyncs(b), 1);
    CU_ASSERT_EQUAL(book_buffered(b), 2 + 1);
    CU_ASSERT_EQUAL(
        snapshot(b, 15, "[\"5\",\"9\"],[\"4\",\"1\"]", "[\"6\",\"1\"]"),
        BOOK_APPLIED);
    CU_ASSERT(book_synced(b));
    CU_ASSERT_EQUAL(book_resyncs(b), 1);
    CU_ASSERT_EQUAL(book_update_id(b), 18);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "5:9 4:1");
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_ASK), "7:3");
    book_free(b);
}

static void
test_gap_inside_the_buffer(void)
{
    struct book *b = book_new("BTCUSDT", 0);

    CU_ASSERT_EQUAL(diff(b, 5, 6, "[\"1\",\"1\"]", ""), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(diff(b, 9, 10, "[\"2\",\"1\"]", ""), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(diff(b, 11, 11, "[\"3\",\"1\"]", ""), BOOK_BUFFERED);
    /* 5..6 spans 6, then 9 leaves a hole: the snapshot cannot help */
    CU_ASSERT_EQUAL(snapshot(b, 5, "", ""), BOOK_RESYNC);
    CU_ASSERT_FALSE(book_synced(b));
    CU_ASSERT_EQUAL(book_resyncs(b), 1);
    CU_ASSERT_EQUAL(book_buffered(b), 2);
    CU_ASSERT_EQUAL(snapshot(b, 9, "[\"1\",\"1\"]", ""), BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "3:1 2:1 1:1");
    CU_ASSERT_EQUAL(book_update_id(b), 11);
    book_free(b);
}

static void
test_levels_exact_and_removed(void)
{
    struct book *b = book_new("BTCUSDT", 0);
    struct book_level best;

    CU_ASSERT_EQUAL(snapshot(b, 1,
                             "[\"100.10\",\"1.5\"],[\"100.09\",\"2\"],"
                             "[\"100.11\",\"0.00000000\"]",
                             "[\"100.20\",\"3\"]"),
                    BOOK_APPLIED);
    /* a zero quantity in the snapshot is no level */
    CU_ASSERT_EQUAL(book_depth(b, BOOK_BID), 2);
    /* the same price however it is written: one level, replaced */
    CU_ASSERT_EQUAL(diff(b, 2, 2, "[\"100.1000\",\"0.25000000\"]", ""),
                    BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "100.1:0.25 100.09:2");
    /* quantity 0 removes; removing an absent level changes nothing */
    CU_ASSERT_EQUAL(
        diff(b, 3, 3, "[\"100.09\",\"0.00000000\"]", "[\"100.5\",\"0\"]"),
        BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "100.1:0.25");
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_ASK), "100.2:3");
    /* prices that differ in the 8th decimal are different levels */
    CU_ASSERT_EQUAL(
        diff(b, 4, 4, "[\"100.10000001\",\"1\"]", "[\"100.19999999\",\"1\"]"),
        BOOK_APPLIED);
    CU_ASSERT_EQUAL(book_best(b, BOOK_BID, &best), 0);
    CU_ASSERT_STRING_EQUAL(dec_str(&best.price, (char[DEC_STR_MAX]){0}),
                           "100.10000001");
    CU_ASSERT_EQUAL(book_best(b, BOOK_ASK, &best), 0);
    CU_ASSERT_STRING_EQUAL(dec_str(&best.price, (char[DEC_STR_MAX]){0}),
                           "100.19999999");
    CU_ASSERT_EQUAL(book_depth(b, BOOK_ASK), 2);
    book_free(b);
}

static void
test_depth_cap(void)
{
    struct book *b = book_new("BTCUSDT", 3);

    CU_ASSERT_EQUAL(snapshot(b, 1,
                             "[\"10\",\"1\"],[\"9\",\"1\"],[\"8\",\"1\"],"
                             "[\"7\",\"1\"]",
                             ""),
                    BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "10:1 9:1 8:1");
    /* worse than the worst of a full side: not kept */
    CU_ASSERT_EQUAL(diff(b, 2, 2, "[\"6\",\"1\"]", ""), BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "10:1 9:1 8:1");
    /* better: the worst goes */
    CU_ASSERT_EQUAL(diff(b, 3, 3, "[\"9.5\",\"2\"]", ""), BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "10:1 9.5:2 9:1");
    CU_ASSERT_EQUAL(book_depth(b, BOOK_BID), 3);
    book_free(b);
}

static void
test_malformed_refused(void)
{
    static const char *const bad[] = {
        "not json",
        "[]",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[]} trailing",
        /* wrong event, wrong symbol */
        "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"ETHUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[]}",
        /* ids: U > u, strings, missing, negative */
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":6,\"u\":5,"
        "\"b\":[],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":\"5\","
        "\"u\":5,\"b\":[],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"u\":5,"
        "\"b\":[],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":-1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[]}",
        /* levels: not arrays, numbers, three elements, bad decimals */
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":{},\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[[1.5,\"2\"]],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[[\"1\",\"2\",\"3\"]],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[[\"1e5\",\"2\"]]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[],\"a\":[[\"-1\",\"2\"]]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[[\"0\",\"2\"]],\"a\":[]}",
        /* valid levels before a bad one: refused whole */
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":5,"
        "\"b\":[[\"1\",\"0\"],[\"2\",\"x\"]],\"a\":[]}",
    };
    struct book *b = book_new("BTCUSDT", 0);
    char err[256];

    CU_ASSERT_EQUAL(snapshot(b, 4, "[\"1\",\"1\"]", ""), BOOK_APPLIED);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(
            book_diff_json(b, bad[i], strlen(bad[i]), 9, err, sizeof(err)),
            BOOK_INVALID);
        CU_ASSERT(err[0] != '\0');
    }
    /* nothing of it reached the book */
    CU_ASSERT_EQUAL(book_update_id(b), 4);
    CU_ASSERT_EQUAL(book_applied(b), 0);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "1:1");
    CU_ASSERT(book_synced(b));
    /* a snapshot must have an integer lastUpdateId and level arrays */
    CU_ASSERT_EQUAL(book_snapshot_json(b, "{\"bids\":[],\"asks\":[]}", 22, 0,
                                       err, sizeof(err)),
                    BOOK_INVALID);
    CU_ASSERT_EQUAL(book_snapshot_json(b, "{\"lastUpdateId\":9,\"bids\":[]}",
                                       29, 0, err, sizeof(err)),
                    BOOK_INVALID);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "1:1");
    CU_ASSERT_PTR_NULL(book_new("A_SYMBOL_NAME_LONGER_THAN_THIRTY_ONE", 0));
    book_free(b);
}

/* ---- against the fake exchange ---- */

static struct fakex fx;
static char base[64];

static int
suite_init(void)
{
    return wstest_start(&fx, base, sizeof(base));
}

static int
suite_clean(void)
{
    fakex_stop(&fx);
    return 0;
}

/* What the feed of one test saw. */
struct feed {
    struct book *book;
    unsigned long invalid, resync_events;
    int64_t target_id; /* the fake's lastUpdateId once its generator ended */
};

/* Unwraps a combined-stream message and feeds its data to the book. */
static void
feed_message(struct wsc *w, const char *text, size_t len)
{
    struct feed *f = w->user;
    json_object *o = json_tokener_parse(text), *data = NULL;
    (void)len;

    if (!json_object_object_get_ex(o, "data", &data)) {
        f->invalid++;
    } else {
        switch (book_diff_obj(f->book, data, tl_now_ms(), NULL, 0)) {
        case BOOK_INVALID:
        case BOOK_NOMEM:
            f->invalid++;
            break;
        case BOOK_RESYNC:
            f->resync_events++;
            break;
        default:
            break;
        }
    }
    json_object_put(o);
}

static bool
has_buffered(struct wsc *w)
{
    return book_buffered(((struct feed *)w->user)->book) > 0;
}

/* Done, or a snapshot is needed. */
static bool
caught_up_or_unsynced(struct wsc *w)
{
    struct feed *f = w->user;
    return !book_synced(f->book) ||
           (f->target_id > 0 &&
            book_update_id(f->book) == (uint64_t)f->target_id);
}

/* Takes the fake's REST snapshot into the book, as the feed will: again
 * while it is older than the buffered events (bounded). */
static enum book_result
take_snapshot(struct feed *f)
{
    static char body[1 << 20];
    enum book_result r = BOOK_INVALID;
    char err[256];

    for (int i = 0; i < 5; i++) {
        if (fakex_http(&fx, "GET", "/api/v3/depth?symbol=BTCUSDT&limit=5000",
                       body, sizeof(body)) != 200)
            return BOOK_INVALID;
        r = book_snapshot_json(f->book, body, strlen(body), tl_now_ms(), err,
                               sizeof(err));
        if (r != BOOK_OLD_SNAPSHOT)
            break;
        tl_sleep_ms(20);
    }
    return r;
}

/* The fake's generator state: running, and its book's lastUpdateId. */
static bool
generator_running(int64_t *last_id)
{
    json_object *o = wstest_info(&fx, "symbol=BTCUSDT");
    bool running = o == NULL ||
                   json_object_get_boolean(tl_get_path(o, "generator.running"));
    *last_id = tl_int_at(o, "lastUpdateId");
    json_object_put(o);
    return running;
}

/* Compares the local book with the fake's full depth, level by level.
 * Returns the number of levels compared, or -1 at the first difference
 * (printed). */
static long
compare_with_fake(const struct book *b)
{
    static char body[1 << 20];
    static struct book_level local[FAKEX_DEPTH_MAX_LIMIT];
    static const char *const keys[] = {"bids", "asks"};
    json_object *o;
    long compared = 0;

    if (fakex_http(&fx, "GET", "/api/v3/depth?symbol=BTCUSDT&limit=5000", body,
                   sizeof(body)) != 200 ||
        (o = json_tokener_parse(body)) == NULL)
        return -1;
    if (tl_int_at(o, "lastUpdateId") != (int64_t)book_update_id(b)) {
        fprintf(stderr, "test_book: fake at %lld, local book at %llu\n",
                (long long)tl_int_at(o, "lastUpdateId"),
                (unsigned long long)book_update_id(b));
        json_object_put(o);
        return -1;
    }
    for (int side = 0; side < 2 && compared >= 0; side++) {
        json_object *arr = tl_get_path(o, keys[side]);
        size_t n = json_object_array_length(arr);
        size_t got =
            book_top(b, (enum book_side)side, FAKEX_DEPTH_MAX_LIMIT, local);
        if (n != got) {
            fprintf(stderr, "test_book: %s: fake %zu levels, local %zu\n",
                    keys[side], n, got);
            compared = -1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            json_object *lv = json_object_array_get_idx(arr, i);
            struct dec p, q;
            if (dec_parse(
                    json_object_get_string(json_object_array_get_idx(lv, 0)),
                    &p) < 0 ||
                dec_parse(
                    json_object_get_string(json_object_array_get_idx(lv, 1)),
                    &q) < 0 ||
                dec_cmp(&p, &local[i].price) != 0 ||
                dec_cmp(&q, &local[i].qty) != 0) {
                fprintf(stderr, "test_book: %s level %zu differs: fake %s\n",
                        keys[side], i, json_object_to_json_string(lv));
                compared = -1;
                break;
            }
            compared++;
        }
    }
    json_object_put(o);
    return compared;
}

/* Runs the feed against the fake until its generator has ended and the
 * local book has caught up, taking snapshots as the book asks (bounded by
 * 30 s). Returns whether the book caught up. */
static bool
run_feed(struct wsc *w, struct feed *f)
{
    int64_t end = tl_now_ms() + 30000, last_id = 0;

    f->target_id = 0;
    while (tl_now_ms() < end && !w->closed) {
        if (!book_synced(f->book) && book_buffered(f->book) > 0 &&
            take_snapshot(f) == BOOK_INVALID)
            return false;
        if (f->target_id == 0 && !generator_running(&last_id))
            f->target_id = last_id;
        if (wsc_pump(w, 200, caught_up_or_unsynced) && f->target_id > 0 &&
            book_synced(f->book))
            return true;
    }
    return false;
}

/* Subscribes, starts the generator, waits for buffered events, and
 * leaves the rest to run_feed. */
static void
start_feed(struct wsc *w, struct feed *f, const char *random_query)
{
    char url[256], path[256];

    memset(w, 0, sizeof(*w));
    memset(f, 0, sizeof(*f));
    f->book = book_new("BTCUSDT", 0);
    CU_ASSERT_FATAL(f->book != NULL);
    snprintf(url, sizeof(url), "%s/stream?streams=btcusdt@depth@100ms", base);
    CU_ASSERT_FATAL(wsc_open(w, url, NULL, 0) == 0);
    w->user = f;
    w->on_message = feed_message;
    CU_ASSERT_FATAL(wsc_pump(w, 5000, wsc_is_open));
    snprintf(path, sizeof(path), "/__fake/stream/random?symbol=BTCUSDT&%s",
             random_query);
    CU_ASSERT_FATAL(wstest_post(&fx, path) == 200);
    /* some events arrive before the snapshot, as in real life */
    CU_ASSERT_FATAL(wsc_pump(w, 5000, has_buffered));
    wsc_pump(w, 150, NULL);
}

static void
test_thousands_of_random_diffs(void)
{
    struct wsc w;
    struct feed f;
    long levels;

    /* the snapshot is taken while the first 2000 events stream (how many
     * come before it depends on the machine's speed), the next 2000 all
     * follow it */
    start_feed(&w, &f, "n=2000&rate=2000&seed=7&changes=8");
    CU_ASSERT_FATAL(run_feed(&w, &f));
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/random?symbol=BTCUSDT"
                                     "&n=2000&rate=4000&seed=8&changes=8"),
                    200);
    CU_ASSERT_FATAL(run_feed(&w, &f));
    CU_ASSERT_EQUAL(f.invalid, 0);
    CU_ASSERT_EQUAL(book_resyncs(f.book), 0);
    CU_ASSERT_EQUAL(f.resync_events, 0);
    /* every event was either older than the snapshot or applied */
    CU_ASSERT(book_dropped(f.book) >= 1);
    CU_ASSERT(book_applied(f.book) >= 2000);
    CU_ASSERT_EQUAL(book_applied(f.book) + book_dropped(f.book), 4000);
    levels = compare_with_fake(f.book);
    CU_ASSERT(levels > 200); /* the random levels, not just the fixed 200 */
    fprintf(stderr,
            "test_book: %lu events applied, %lu dropped, %ld levels equal\n",
            book_applied(f.book), book_dropped(f.book), levels);
    wsc_free(&w);
    book_free(f.book);
}

static void
test_scripted_gap_one_resync(void)
{
    struct wsc w;
    struct feed f;
    struct book_level lv[FAKEX_DEPTH_MAX_LIMIT];
    struct dec far;
    size_t n;
    bool found = false;

    start_feed(&w, &f, "n=1500&rate=3000&seed=11&changes=6");
    CU_ASSERT_FATAL(run_feed(&w, &f));
    CU_ASSERT_EQUAL(book_resyncs(f.book), 0);
    /* the gap swallows a level far below the generator's band, which no
     * later event touches: only a new snapshot can bring it */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/gap?symbol=BTCUSDT"), 200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=BTCUSDT"
                                     "&side=bid&price=49900&qty=7&ids=3"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/random?symbol=BTCUSDT"
                                     "&n=1500&rate=3000&seed=12&changes=6"),
                    200);
    CU_ASSERT_FATAL(run_feed(&w, &f));
    CU_ASSERT_EQUAL(f.invalid, 0);
    /* the skipped ids were seen once, and one new snapshot healed it */
    CU_ASSERT_EQUAL(f.resync_events, 1);
    CU_ASSERT_EQUAL(book_resyncs(f.book), 1);
    CU_ASSERT(compare_with_fake(f.book) > 200);
    dec_parse("49900", &far);
    n = book_top(f.book, BOOK_BID, FAKEX_DEPTH_MAX_LIMIT, lv);
    for (size_t i = 0; i < n; i++)
        found = found || dec_cmp(&lv[i].price, &far) == 0;
    CU_ASSERT(found);
    wsc_free(&w);
    book_free(f.book);
}

/* The activity the feed samples: level entries of the applied events,
 * and the quantity they took off (a decrease its difference, a removal
 * the whole level, an increase or an unknown level nothing). */
static void
test_activity_counted(void)
{
    struct book *b = book_new("BTCUSDT", 0);
    unsigned long changes;
    struct dec removed;
    char q[DEC_STR_MAX];

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* buffered, then applied with the snapshot: counted once applied */
    CU_ASSERT_EQUAL(diff(b, 11, 11, "[\"100.0\",\"1.5\"]", ""), BOOK_BUFFERED);
    CU_ASSERT_EQUAL(snapshot(b, 10, "[\"100.0\",\"2\"],[\"99.0\",\"3\"]",
                             "[\"101.0\",\"4\"]"),
                    BOOK_APPLIED);
    book_take_activity(b, &changes, &removed);
    CU_ASSERT_EQUAL(changes, 1);
    CU_ASSERT_STRING_EQUAL(dec_str(&removed, q), "0.5"); /* 2 -> 1.5 */
    /* 99 removed (3), 101 up (nothing), 98 unknown removed (nothing),
     * 102 new (nothing) */
    CU_ASSERT_EQUAL(diff(b, 12, 12, "[\"99.0\",\"0\"],[\"98.0\",\"0\"]",
                         "[\"101.0\",\"5\"],[\"102.0\",\"1\"]"),
                    BOOK_APPLIED);
    CU_ASSERT_EQUAL(diff(b, 13, 13, "", "[\"101.0\",\"4.25\"]"), BOOK_APPLIED);
    book_take_activity(b, &changes, &removed);
    CU_ASSERT_EQUAL(changes, 5);
    CU_ASSERT_STRING_EQUAL(dec_str(&removed, q), "3.75");
    /* taken: counting starts again */
    book_take_activity(b, &changes, &removed);
    CU_ASSERT_EQUAL(changes, 0);
    CU_ASSERT(dec_is_zero(&removed));
    book_free(b);
}

/* Found by fuzz_book: a snapshot with no level at all computed NULL + 0
 * (undefined; clang's UBSan stops there). It empties a synced book. */
static void
test_empty_snapshot(void)
{
    struct book *b = book_new("BTCUSDT", 0);

    CU_ASSERT_EQUAL(snapshot(b, 10, "[\"1\",\"1\"]", "[\"2\",\"1\"]"),
                    BOOK_APPLIED);
    CU_ASSERT_EQUAL(snapshot(b, 12, "", ""), BOOK_APPLIED);
    CU_ASSERT_TRUE(book_synced(b));
    CU_ASSERT_EQUAL(book_update_id(b), 12);
    CU_ASSERT_EQUAL(book_depth(b, BOOK_BID), 0);
    CU_ASSERT_EQUAL(book_depth(b, BOOK_ASK), 0);
    CU_ASSERT_EQUAL(snapshot(b, 13, "[\"1\",\"1\"]", ""), BOOK_APPLIED);
    CU_ASSERT_STRING_EQUAL(side_text(b, BOOK_BID), "1:1");
    CU_ASSERT_EQUAL(book_depth(b, BOOK_ASK), 0);
    book_free(b);
}

static CU_TestInfo algorithm_tests[] = {
    {"events wait for the snapshot; older ones are dropped",
     test_buffer_then_snapshot},
    {"a snapshot older than the buffered events is refused",
     test_old_snapshot_refused},
    {"a gap costs exactly one resync", test_gap_one_resync},
    {"a gap among the buffered events", test_gap_inside_the_buffer},
    {"exact decimal levels; quantity 0 removes", test_levels_exact_and_removed},
    {"the depth cap keeps the best levels", test_depth_cap},
    {"malformed events and snapshots are refused whole",
     test_malformed_refused},
    {"level changes and removed quantity are counted", test_activity_counted},
    {"a snapshot with no level empties the book", test_empty_snapshot},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo fake_tests[] = {
    {"thousands of random diffs: the book equals the fake's",
     test_thousands_of_random_diffs},
    {"a scripted gap: one resync, the book still equals the fake's",
     test_scripted_gap_one_resync},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"book", NULL, NULL, NULL, NULL, algorithm_tests},
    {"book against the fake exchange", suite_init, suite_clean, NULL, NULL,
     fake_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
