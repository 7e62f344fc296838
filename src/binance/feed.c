/*
 * feed.c - the feed: Binance's market streams into the market segment
 * (see feed.h).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bnc.h"
#include "book.h"
#include "feed.h"
#include "log.h"
#include "market.h"
#include "util.h"
#include "ws.h"
#include "wsretry.h"

#define FEED_STEP_MAX_MS     50 /* requests are polled this often */
#define FEED_STREAMS_PER_SYM 4
#define FEED_STREAMS_MAX     1024   /* per connection, Binance's rule */
#define FEED_URL_STREAMS_MAX 1500   /* bytes of stream names in the URL */
#define FEED_OPS_PER_MSG     200    /* streams in one SUBSCRIBE */
#define FEED_CLOSE_WAIT_MS   5000   /* close handshake */
#define FEED_RATE_WINDOW     10     /* seconds of updates_per_s */
#define FEED_SNAP_OLD_MS     200    /* retry after an older snapshot */
#define FEED_SNAP_API_ERR_MS 60000  /* retry after Binance refused it */
#define FEED_AGE_JITTER_MS   600000 /* the planned reconnect's spread */
#define FEED_PACE_MAX        16     /* control_per_s at most */
#define FEED_MESSAGE_MAX     (4u << 20)
#define FEED_DOUBT_MS        5000 /* a quiet book in doubt: verify */
#define FEED_QUIET_MS        1000 /* no diff yet: snapshot anyway */

static const char *const SUFFIX[FEED_STREAMS_PER_SYM] = {
    "depth@100ms", "aggTrade", "bookTicker", "kline_1m"};
enum { S_DEPTH, S_TRADE, S_TICKER, S_KLINE };

/* One tracked symbol, at the index of its slot. */
struct fsym {
    bool used;
    bool on_conn; /* its streams are named on the current connection */
    uint32_t claim;
    char symbol[MARKET_SYMBOL_MAX], lower[MARKET_SYMBOL_MAX];
    struct book *book;
    bool need_snapshot;
    int64_t snapshot_at_ms; /* mono: not before */
    int failures;           /* snapshots in a row that did not apply */
    uint32_t snapshots;
    uint64_t events_second; /* applied in the current second */
    uint64_t hist[FEED_RATE_WINDOW];
    unsigned hist_n, hist_pos;
    bool error_set; /* a value could not be written (said once) */
    /* synced before a reconnect: current only once an event chains on */
    bool in_doubt;
    int64_t on_conn_ms; /* mono: since its streams flow */
};

/* A SUBSCRIBE or UNSUBSCRIBE of one stream, waiting to be sent. */
struct ctl_op {
    bool sub;
    char stream[MARKET_SYMBOL_MAX + 16];
};

struct feed {
    struct feed_config cfg;
    struct market *m;
    unsigned nslots;
    int ep;
    struct ws_conn *ws;
    uint32_t armed;          /* events registered for ws's descriptor */
    bool lost;               /* the connection ended: connection_over */
    int64_t next_connect_ms; /* mono */
    struct wsretry retry;    /* backoff and the age limit */
    struct fsym sym[MARKET_SYMBOLS_MAX];
    uint32_t seen_claims;
    unsigned snap_next; /* where the next look for a due snapshot starts */
    int64_t next_scan_ms, next_sample_ms; /* mono; wall seconds */
    struct ctl_op *ops;
    size_t nops, capops;
    int64_t sent_ms[FEED_PACE_MAX]; /* the last sends, a ring */
    unsigned sent_pos;
    long next_id;
    json_tokener *tok;
    /* publish_book's scratch */
    struct book_level levels[MARKET_LEVELS];
    struct market_level bids[MARKET_LEVELS], asks[MARKET_LEVELS];
    struct feed_stats st;
    struct market_feed_info info;
};

/* Contract in feed.h. */
void
feed_config_defaults(struct feed_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->stream_url, sizeof(c->stream_url), "%s",
             FEED_STREAM_URL_MAINNET);
    snprintf(c->ws_api_url, sizeof(c->ws_api_url), "%s",
             FEED_WS_API_URL_MAINNET);
    c->idle_ms = 15 * 60 * 1000;
    c->snapshot_limit = 5000;
    c->backoff_min_ms = 1000;
    c->backoff_max_ms = 60000;
    c->max_conn_age_ms = (23 * 60 + 30) * 60 * 1000LL;
    c->connect_timeout_ms = 10000;
    c->control_per_s = 4;
}

/* ---- publishing ---- */

/* The slot's error: a sentence for readers and the log. */
static void sym_error(struct feed *f, int slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sym_error(struct feed *f, int slot, const char *fmt, ...)
{
    struct market_state *st = market_write_begin(f->m, slot);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(st->last_error, sizeof(st->last_error), fmt, ap);
    va_end(ap);
    st->last_error_ms = now_ms();
    log_warnx("%s: %s", f->sym[slot].symbol, st->last_error);
    market_write_end(f->m, slot);
}

/* The best levels of a side in 10^-8 units into out; a level that does
 * not fit is left out (and said once). Returns how many were written. */
static uint32_t
levels_out(struct feed *f, struct fsym *s, enum book_side side,
           struct market_level *out)
{
    size_t n = book_top(s->book, side, MARKET_LEVELS, f->levels);
    uint32_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (market_from_dec(&f->levels[i].price, &out[k].price) == 0 &&
            market_from_dec(&f->levels[i].qty, &out[k].qty) == 0)
            k++;
        else
            s->error_set = true;
    }
    return k;
}

/* The book's state into the slot. The levels are converted first, so the
 * slot stays odd (readers retrying) only for the copy. */
static void
publish_book(struct feed *f, int slot)
{
    struct fsym *s = &f->sym[slot];
    uint32_t nb = levels_out(f, s, BOOK_BID, f->bids);
    uint32_t na = levels_out(f, s, BOOK_ASK, f->asks);
    bool connected = f->retry.was_open && !f->lost;
    bool live = book_synced(s->book) && !s->in_doubt;
    struct market_state *st = market_write_begin(f->m, slot);

    st->nbids = nb;
    st->nasks = na;
    memcpy(st->bids, f->bids, nb * sizeof(*st->bids));
    memcpy(st->asks, f->asks, na * sizeof(*st->asks));
    st->book_update_id = book_update_id(s->book);
    st->book_updated_ms = book_updated_ms(s->book);
    st->book_event_ms = book_event_ms(s->book);
    st->book_events = book_applied(s->book);
    st->resyncs = (uint32_t)book_resyncs(s->book);
    st->snapshots = s->snapshots;
    st->ws_connected = connected;
    if (live) {
        memset(&st->best_bid, 0, sizeof(st->best_bid));
        memset(&st->best_ask, 0, sizeof(st->best_ask));
        if (nb > 0)
            st->best_bid = st->bids[0];
        if (na > 0)
            st->best_ask = st->asks[0];
        st->best_from_ticker = 0;
    }
    st->status = !connected ? MARKET_STALE
                 : live     ? MARKET_LIVE
                            : MARKET_SYNCING;
    if (s->error_set && st->last_error[0] == '\0') {
        snprintf(st->last_error, sizeof(st->last_error),
                 "a level with more than 8 decimals or too large was left "
                 "out");
        st->last_error_ms = now_ms();
    }
    market_write_end(f->m, slot);
}

/* Every tracked slot's connected flag and status after the connection
 * came or went. */
static void
publish_connection(struct feed *f)
{
    for (unsigned i = 0; i < f->nslots; i++)
        if (f->sym[i].used)
            publish_book(f, (int)i);
    f->info.ws_connected = f->retry.was_open && !f->lost;
    market_set_feed_info(f->m, &f->info);
}

/* ---- JSON fields ---- */

static bool
field(json_object *o, const char *key, json_object **v)
{
    return json_object_object_get_ex(o, key, v);
}

/* A decimal string field in 10^-8 units. */
static int
field_units(json_object *o, const char *key, int64_t *out)
{
    json_object *v;

    if (!field(o, key, &v) || !json_object_is_type(v, json_type_string))
        return -1;
    return market_parse(json_object_get_string(v), out);
}

static int
field_int(json_object *o, const char *key, int64_t *out)
{
    json_object *v;

    if (!field(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    *out = json_object_get_int64(v);
    return 0;
}

/* ---- the streams' events ---- */

/* An event with a field missing or malformed: counted and said. */
static void
refused(struct feed *f, int slot, const char *what)
{
    f->st.invalid++;
    sym_error(f, slot, "%s event refused: a field is missing or malformed",
              what);
}

static void
on_depth(struct feed *f, int slot, json_object *data)
{
    struct fsym *s = &f->sym[slot];
    char err[256] = "";

    switch (book_diff_obj(s->book, data, now_ms(), err, sizeof(err))) {
    case BOOK_APPLIED:
        s->in_doubt = false;
        s->events_second++;
        publish_book(f, slot);
        break;
    case BOOK_BUFFERED:
        /* buffering has started: the snapshot may be taken now */
        if (!s->need_snapshot) {
            s->need_snapshot = true;
            s->snapshot_at_ms = mono_ms();
            publish_book(f, slot);
        }
        break;
    case BOOK_RESYNC:
        log_info("%s: gap in the depth stream; resynchronising", s->symbol);
        s->need_snapshot = true;
        s->in_doubt = false;
        s->snapshot_at_ms = mono_ms();
        publish_book(f, slot);
        break;
    case BOOK_STALE:
        break;
    case BOOK_OLD_SNAPSHOT:
    case BOOK_INVALID:
    case BOOK_NOMEM:
        f->st.invalid++;
        sym_error(f, slot, "depth event refused: %s", err);
        break;
    }
}

static void
on_trade(struct feed *f, int slot, json_object *data)
{
    struct market_trade t;
    struct market_state *st;
    json_object *m;

    if (field_units(data, "p", &t.price) < 0 ||
        field_units(data, "q", &t.qty) < 0 ||
        field_int(data, "T", &t.time_ms) < 0 ||
        field_int(data, "a", &t.agg_id) < 0 || !field(data, "m", &m) ||
        !json_object_is_type(m, json_type_boolean)) {
        refused(f, slot, "aggTrade");
        return;
    }
    t.buyer_maker = json_object_get_boolean(m);
    market_push_trade(f->m, slot, &t);
    st = market_write_begin(f->m, slot);
    st->last_trade = t;
    st->trades_seen++;
    market_write_end(f->m, slot);
}

static void
on_ticker(struct feed *f, int slot, json_object *data)
{
    struct market_level bid, ask;
    struct market_state *st;
    int64_t u;

    if (field_units(data, "b", &bid.price) < 0 ||
        field_units(data, "B", &bid.qty) < 0 ||
        field_units(data, "a", &ask.price) < 0 ||
        field_units(data, "A", &ask.qty) < 0 || field_int(data, "u", &u) < 0) {
        refused(f, slot, "bookTicker");
        return;
    }
    st = market_write_begin(f->m, slot);
    st->ticker_bid = bid;
    st->ticker_ask = ask;
    st->ticker_update_id = u;
    st->ticker_ms = now_ms();
    if (!book_synced(f->sym[slot].book)) {
        st->best_bid = bid;
        st->best_ask = ask;
        st->best_from_ticker = 1;
    }
    market_write_end(f->m, slot);
}

static void
on_kline(struct feed *f, int slot, json_object *data)
{
    struct market_kline k;
    struct market_state *st;
    json_object *o, *x;

    if (!field(data, "k", &o) || field_int(o, "t", &k.open_ms) < 0 ||
        field_int(o, "T", &k.close_ms) < 0 ||
        field_units(o, "o", &k.open) < 0 || field_units(o, "h", &k.high) < 0 ||
        field_units(o, "l", &k.low) < 0 || field_units(o, "c", &k.close) < 0 ||
        field_units(o, "v", &k.volume) < 0 ||
        field_units(o, "q", &k.quote_volume) < 0 ||
        field_int(o, "n", &k.trades) < 0 || !field(o, "x", &x)) {
        refused(f, slot, "kline");
        return;
    }
    k.closed = json_object_get_boolean(x);
    st = market_write_begin(f->m, slot);
    st->kline = k;
    market_write_end(f->m, slot);
}

/* The slot whose lowercase symbol is the stream name's prefix, or -1. */
static int
slot_of_stream(const struct feed *f, const char *stream, const char **suffix)
{
    const char *at = strchr(stream, '@');
    size_t n = at ? (size_t)(at - stream) : 0;

    if (at == NULL)
        return -1;
    *suffix = at + 1;
    for (unsigned i = 0; i < f->nslots; i++)
        if (f->sym[i].used && strlen(f->sym[i].lower) == n &&
            memcmp(f->sym[i].lower, stream, n) == 0)
            return (int)i;
    return -1;
}

/* An answer to SUBSCRIBE / UNSUBSCRIBE: {"result":null,"id":n} or
 * {"code":c,"msg":"...","id":n}. */
static void
on_control_answer(struct feed *f, json_object *o)
{
    json_object *code, *msg;

    if (field(o, "code", &code)) {
        f->st.control_errors++;
        log_warnx(
            "the stream server refused a subscription change "
            "(id %lld): %d %.200s",
            (long long)json_object_get_int64(json_object_object_get(o, "id")),
            json_object_get_int(code),
            field(o, "msg", &msg) ? json_object_get_string(msg) : "");
    }
}

/* ws_message_fn: one combined-stream message. */
static void
on_message(void *arg, const char *text, size_t len)
{
    struct feed *f = arg;
    json_object *o, *stream, *data;
    const char *suffix = "";
    int slot;

    f->st.messages++;
    json_tokener_reset(f->tok);
    o = json_tokener_parse_ex(f->tok, text, (int)len);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        f->st.invalid++;
        json_object_put(o);
        return;
    }
    if (!field(o, "stream", &stream) || !field(o, "data", &data) ||
        !json_object_is_type(data, json_type_object)) {
        if (json_object_object_get_ex(o, "id", NULL))
            on_control_answer(f, o);
        else
            f->st.invalid++;
        json_object_put(o);
        return;
    }
    /* a message after a reconnect proves the connection works */
    wsretry_success(&f->retry);
    slot = slot_of_stream(f, json_object_get_string(stream), &suffix);
    if (slot < 0) {
        /* a symbol dropped while its UNSUBSCRIBE was on its way */
    } else if (strcmp(suffix, SUFFIX[S_DEPTH]) == 0) {
        on_depth(f, slot, data);
    } else if (strcmp(suffix, SUFFIX[S_TRADE]) == 0) {
        on_trade(f, slot, data);
    } else if (strcmp(suffix, SUFFIX[S_TICKER]) == 0) {
        on_ticker(f, slot, data);
    } else if (strcmp(suffix, SUFFIX[S_KLINE]) == 0) {
        on_kline(f, slot, data);
    }
    json_object_put(o);
}

/* ws_close_fn: the connection ended; feed_step reconnects. */
static void
on_close(void *arg, int code, bool clean, const char *reason)
{
    struct feed *f = arg;

    f->lost = true;
    wsretry_log_close("stream", f->retry.planned, code, clean, reason);
}

/* ---- subscriptions ---- */

static int
ops_add(struct feed *f, bool sub, const struct fsym *s, int k)
{
    if (f->nops == f->capops) {
        size_t cap = f->capops ? f->capops * 2 : 64;
        struct ctl_op *p = realloc(f->ops, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        f->ops = p;
        f->capops = cap;
    }
    f->ops[f->nops].sub = sub;
    snprintf(f->ops[f->nops].stream, sizeof(f->ops[0].stream), "%s@%s",
             s->lower, SUFFIX[k]);
    f->nops++;
    return 0;
}

/* Queues s's four streams; a SUBSCRIBE of s still waiting is taken back
 * instead of sending UNSUBSCRIBE after it. */
static void
ops_queue(struct feed *f, bool sub, const struct fsym *s)
{
    size_t n = strlen(s->lower), kept = 0, removed = 0;

    for (size_t i = 0; i < f->nops; i++) {
        bool mine = strncmp(f->ops[i].stream, s->lower, n) == 0 &&
                    f->ops[i].stream[n] == '@';
        if (!sub && mine && f->ops[i].sub)
            removed++;
        else
            f->ops[kept++] = f->ops[i];
    }
    f->nops = kept;
    if (removed == FEED_STREAMS_PER_SYM)
        return;
    for (int k = 0; k < FEED_STREAMS_PER_SYM; k++)
        if (ops_add(f, sub, s, k) < 0)
            log_warnx("out of memory queueing %s", s->symbol);
}

/* Whether another control message may go out now (control_per_s a
 * second). */
static bool
pace_allows(struct feed *f, int64_t now)
{
    unsigned n = (unsigned)f->cfg.control_per_s;
    return now -
               f->sent_ms[(f->sent_pos + FEED_PACE_MAX - n) % FEED_PACE_MAX] >=
           1000;
}

/* Sends the queued changes as few messages as the pace allows: each takes
 * the longest run of one kind from the queue's head. */
static void
ops_flush(struct feed *f)
{
    int64_t now = mono_ms();

    while (f->nops > 0 && f->ws != NULL && ws_state(f->ws) == WS_OPEN &&
           pace_allows(f, now)) {
        json_object *msg = json_object_new_object(), *params;
        bool sub = f->ops[0].sub;
        size_t n = 0;
        const char *text;

        params = json_object_new_array();
        while (n < f->nops && n < FEED_OPS_PER_MSG && f->ops[n].sub == sub) {
            json_object_array_add(params,
                                  json_object_new_string(f->ops[n].stream));
            n++;
        }
        json_object_object_add(
            msg, "method",
            json_object_new_string(sub ? "SUBSCRIBE" : "UNSUBSCRIBE"));
        json_object_object_add(msg, "params", params);
        json_object_object_add(msg, "id", json_object_new_int64(++f->next_id));
        text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
        if (ws_send_text(f->ws, text, strlen(text)) < 0) {
            log_warnx("cannot queue a %s message: %s",
                      sub ? "SUBSCRIBE" : "UNSUBSCRIBE", strerror(errno));
            json_object_put(msg);
            return;
        }
        json_object_put(msg);
        f->st.control_messages++;
        f->sent_ms[f->sent_pos] = now;
        f->sent_pos = (f->sent_pos + 1) % FEED_PACE_MAX;
        memmove(f->ops, f->ops + n, (f->nops - n) * sizeof(*f->ops));
        f->nops -= n;
    }
}

/* ---- tracking ---- */

static void
track(struct feed *f, int slot, const char *symbol, uint32_t claim)
{
    struct fsym *s = &f->sym[slot];

    memset(s, 0, sizeof(*s));
    s->claim = claim;
    snprintf(s->symbol, sizeof(s->symbol), "%s", symbol);
    for (size_t i = 0; symbol[i] != '\0'; i++)
        s->lower[i] =
            (char)(symbol[i] >= 'A' && symbol[i] <= 'Z' ? symbol[i] - 'A' + 'a'
                                                        : symbol[i]);
    market_writer_reset(f->m, slot, symbol, MARKET_TRACKING, now_ms());
    if ((s->book = book_new(symbol, (size_t)f->cfg.snapshot_limit)) == NULL) {
        sym_error(f, slot, "out of memory for the book");
        return;
    }
    s->used = true;
    f->st.tracked++;
    log_info("tracking %s (slot %d)", symbol, slot);
    if (f->ws != NULL && !f->lost && ws_state(f->ws) == WS_OPEN) {
        ops_queue(f, true, s);
        s->on_conn = true;
        s->on_conn_ms = mono_ms();
    }
    /* not connected: the next connection names it (now, unless a backoff
     * runs) */
}

static void
untrack(struct feed *f, int slot)
{
    struct fsym *s = &f->sym[slot];

    if (!s->used)
        return;
    if (s->on_conn && f->ws != NULL && !f->lost)
        ops_queue(f, false, s);
    book_free(s->book);
    log_info("no longer tracking %s", s->symbol);
    memset(s, 0, sizeof(*s));
    f->st.tracked--;
}

/* Follows the request area: new claims, slots given to another symbol,
 * and (every second) symbols nobody asked for within idle_ms. */
static void
scan_requests(struct feed *f, bool idle_check)
{
    uint32_t claims = market_claims(f->m);
    int64_t now = now_ms();

    if (claims == f->seen_claims && !idle_check)
        return;
    f->seen_claims = claims;
    for (unsigned i = 0; i < f->nslots; i++) {
        struct fsym *s = &f->sym[i];
        char sym[MARKET_SYMBOL_MAX];
        int64_t last;
        uint32_t claim;

        if (market_wanted(f->m, (int)i, sym, sizeof(sym), &last, &claim) < 0)
            continue;
        if (sym[0] == '\0') {
            if (s->used) {
                untrack(f, (int)i);
                market_writer_reset(f->m, (int)i, "", MARKET_EMPTY, now);
            }
            continue;
        }
        if (!s->used || s->claim != claim) {
            untrack(f, (int)i);
            track(f, (int)i, sym, claim);
            continue;
        }
        if (idle_check &&
            market_drop_idle(f->m, (int)i, claim, f->cfg.idle_ms, now) == 1) {
            untrack(f, (int)i);
            market_writer_reset(f->m, (int)i, "", MARKET_EMPTY, now);
        }
    }
}

/* ---- snapshots ---- */

/* Takes one REST snapshot for slot and applies it. */
static void
take_snapshot(struct feed *f, int slot)
{
    struct fsym *s = &f->sym[slot];
    struct bnc_params p;
    struct bnc_request req = {
        .method = "GET", .path = "/api/v3/depth", .kind = BNC_PUBLIC};
    struct bnc_response resp;
    char err[256] = "";
    int64_t now = mono_ms();

    bnc_params_init(&p);
    bnc_params_add(&p, "symbol", s->symbol);
    bnc_params_add_int(&p, "limit", f->cfg.snapshot_limit);
    req.params = &p;
    req.cancel = f->cfg.cancel;
    bnc_call(&req, &resp);
    if (resp.status == BNC_ERR_CANCELLED) {
        bnc_response_free(&resp); /* stopping: the snapshot stays due */
        return;
    }
    if (resp.sent) {
        s->snapshots++;
        f->st.snapshots++;
    }
    if (resp.status != BNC_OK) {
        int64_t wait;
        if (resp.status == BNC_ERR_RATE_LIMITED ||
            resp.status == BNC_ERR_BANNED)
            wait = (resp.retry_after > 0 ? resp.retry_after : 1) * 1000;
        else if (resp.status == BNC_ERR_API)
            wait = FEED_SNAP_API_ERR_MS;
        else
            wait = f->cfg.backoff_min_ms << (s->failures < 6 ? s->failures : 6);
        s->failures++;
        s->snapshot_at_ms = now + wait;
        sym_error(f, slot, "depth snapshot: %s",
                  bnc_describe_error(&resp, err, sizeof(err)));
        bnc_response_free(&resp);
        publish_book(f, slot);
        return;
    }
    switch (book_snapshot_obj(s->book, resp.body, now_ms(), err, sizeof(err))) {
    case BOOK_APPLIED:
        s->need_snapshot = false;
        s->in_doubt = false;
        s->failures = 0;
        break;
    case BOOK_OLD_SNAPSHOT:
        s->snapshot_at_ms = now + FEED_SNAP_OLD_MS;
        break;
    case BOOK_RESYNC: /* the buffered events have a gap: one more */
        s->snapshot_at_ms = now;
        break;
    default:
        s->failures++;
        s->snapshot_at_ms = now + f->cfg.backoff_min_ms;
        sym_error(f, slot, "depth snapshot refused: %s", err);
        break;
    }
    bnc_response_free(&resp);
    publish_book(f, slot);
}

/* One snapshot a turn at most: each blocks the loop while it runs. The
 * slots take turns. */
static void
snapshots_due(struct feed *f)
{
    int64_t now = mono_ms();

    for (unsigned k = 0; k < f->nslots; k++) {
        unsigned i = (f->snap_next + k) % f->nslots;
        struct fsym *s = &f->sym[i];
        if (!s->used || !s->on_conn || now < s->snapshot_at_ms)
            continue;
        bool due = s->need_snapshot && book_buffered(s->book) > 0;
        /* a quiet symbol: no diff came since its streams flow, so none was
         * missed either; the first one after the snapshot chains on it or
         * shows a gap */
        bool quiet = !s->need_snapshot && !book_synced(s->book) &&
                     book_buffered(s->book) == 0 &&
                     now - s->on_conn_ms >= FEED_QUIET_MS;
        /* a quiet book in doubt after a reconnect is verified */
        bool verify = s->in_doubt && now - s->on_conn_ms >= FEED_DOUBT_MS;
        if ((due || quiet || verify) && f->retry.was_open && !f->lost) {
            f->snap_next = i + 1;
            take_snapshot(f, (int)i);
            return;
        }
    }
}

/* ---- samples ---- */

static int64_t
depth_sum(const struct market_level *lv, uint32_t n)
{
    int64_t sum = 0;

    for (uint32_t i = 0; i < n && i < MARKET_SAMPLE_DEPTH; i++)
        sum += lv[i].qty;
    return sum;
}

/* The level changes and the removed quantity of the second that closed
 * into x; counting starts again. A removed quantity that cannot be written
 * in 10^-8 units is -1 (not counted). */
static void
sample_activity(struct fsym *s, struct market_sample *x)
{
    unsigned long changes;
    struct dec removed;

    book_take_activity(s->book, &changes, &removed);
    x->level_changes = (int64_t)changes;
    if (market_from_dec(&removed, &x->removed_qty) < 0)
        x->removed_qty = -1;
}

/* The second that closed at t: a sample of every synced book (its best
 * levels and the second's activity), and the update rates. */
static void
sample_second(struct feed *f, int64_t t)
{
    for (unsigned i = 0; i < f->nslots; i++) {
        struct fsym *s = &f->sym[i];
        struct market_state *st;
        struct market_sample x;
        uint64_t sum = 0;

        if (!s->used)
            continue;
        s->hist[s->hist_pos] = s->events_second;
        s->hist_pos = (s->hist_pos + 1) % FEED_RATE_WINDOW;
        if (s->hist_n < FEED_RATE_WINDOW)
            s->hist_n++;
        for (unsigned k = 0; k < s->hist_n; k++)
            sum += s->hist[k];
        st = market_write_begin(f->m, (int)i);
        st->updates_per_s = (double)sum / s->hist_n;
        memset(&x, 0, sizeof(x));
        x.time_ms = t;
        x.bid = st->best_bid.price;
        x.bid_qty = st->best_bid.qty;
        x.ask = st->best_ask.price;
        x.ask_qty = st->best_ask.qty;
        x.bid_depth = depth_sum(st->bids, st->nbids);
        x.ask_depth = depth_sum(st->asks, st->nasks);
        x.updates = (int64_t)s->events_second;
        x.nbids =
            st->nbids < MARKET_SAMPLE_LEVELS ? st->nbids : MARKET_SAMPLE_LEVELS;
        x.nasks =
            st->nasks < MARKET_SAMPLE_LEVELS ? st->nasks : MARKET_SAMPLE_LEVELS;
        memcpy(x.bids, st->bids, x.nbids * sizeof(x.bids[0]));
        memcpy(x.asks, st->asks, x.nasks * sizeof(x.asks[0]));
        market_write_end(f->m, (int)i);
        sample_activity(s, &x);
        s->events_second = 0;
        if (book_synced(s->book))
            market_push_sample(f->m, (int)i, &x);
    }
}

/* ---- the connection ---- */

static void
arm(struct feed *f)
{
    wsretry_arm(f->ep, f->ws, &f->armed, f, "market streams");
}

static unsigned
streams_named(const struct feed *f)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->nslots; i++)
        n += f->sym[i].used && f->sym[i].on_conn ? FEED_STREAMS_PER_SYM : 0;
    return n;
}

static void connection_over(struct feed *f);

/* Opens the connection: the URL names what fits, SUBSCRIBE the rest. */
static void
connect_now(struct feed *f)
{
    char url[WS_URL_MAX], err[256];
    size_t len, names = 0;
    struct ws_options o = {0};
    bool first = true;

    len = (size_t)snprintf(url, sizeof(url),
                           "%s/stream?streams=", f->cfg.stream_url);
    f->nops = 0;
    for (unsigned i = 0; i < f->nslots; i++) {
        struct fsym *s = &f->sym[i];
        s->on_conn = false;
        if (!s->used)
            continue;
        s->on_conn = true;
        if (names + FEED_STREAMS_PER_SYM * (strlen(s->lower) + 16) >
            FEED_URL_STREAMS_MAX) {
            ops_queue(f, true, s);
            continue;
        }
        for (int k = 0; k < FEED_STREAMS_PER_SYM; k++) {
            int n = snprintf(url + len, sizeof(url) - len, "%s%s@%s",
                             first ? "" : "/", s->lower, SUFFIX[k]);
            len += (size_t)n;
            names += (size_t)n;
            first = false;
        }
    }
    o.url = url;
    o.ca_file = f->cfg.ca_file[0] ? f->cfg.ca_file : NULL;
    o.max_message = FEED_MESSAGE_MAX;
    o.on_message = on_message;
    o.on_close = on_close;
    o.arg = f;
    f->lost = false;
    f->armed = 0;
    wsretry_connecting(&f->retry, mono_ms());
    if ((f->ws = ws_open(&o, err, sizeof(err))) == NULL) {
        log_warnx("cannot connect to %s: %s", f->cfg.stream_url, err);
        connection_over(f);
        return;
    }
    arm(f);
}

/* The connection is gone (or given up): frees it and schedules the next
 * one, at once after a planned close, else after the backoff. */
static void
connection_over(struct feed *f)
{
    wsretry_drop(f->ep, &f->ws, &f->armed);
    f->nops = 0;
    for (unsigned i = 0; i < f->nslots; i++) {
        struct fsym *s = &f->sym[i];
        s->on_conn = false;
        if (s->used && book_synced(s->book))
            s->in_doubt = true;
    }
    f->next_connect_ms = wsretry_over(&f->retry, mono_ms());
    f->lost = true;
    publish_connection(f);
}

/* After a step of the live connection: notices it opened or took too
 * long. */
static void
connection_check(struct feed *f)
{
    int64_t now = mono_ms();

    switch (wsretry_due(&f->retry, now, ws_state(f->ws) == WS_OPEN,
                        f->cfg.connect_timeout_ms, f->cfg.max_conn_age_ms,
                        FEED_AGE_JITTER_MS, FEED_CLOSE_WAIT_MS)) {
    case WSRETRY_OPENED:
        f->info.connects = f->st.connects = f->retry.connects;
        f->info.reconnects = f->st.reconnects = f->retry.reconnects;
        f->info.connected_since_ms = now_ms();
        for (unsigned i = 0; i < f->nslots; i++)
            f->sym[i].on_conn_ms = now;
        log_info("connected to %s (%u streams)", f->cfg.stream_url,
                 streams_named(f));
        publish_connection(f);
        break;
    case WSRETRY_TOO_SLOW:
        log_warnx("connecting to %s took over %lld ms; giving up",
                  f->cfg.stream_url, (long long)f->cfg.connect_timeout_ms);
        connection_over(f);
        break;
    case WSRETRY_AGED:
        log_info("the connection is %lld s old: reconnecting before "
                 "Binance's 24 h cut",
                 (long long)((now - f->retry.opened_ms) / 1000));
        f->info.planned_reconnects = ++f->st.planned_reconnects;
        if (ws_close(f->ws, WS_CODE_NORMAL, "planned reconnect") < 0)
            connection_over(f);
        break;
    case WSRETRY_CLOSE_LATE:
        connection_over(f);
        break;
    case WSRETRY_NOTHING:
        break;
    }
}

/* ---- the loop ---- */

/* Contract in feed.h. */
struct feed *
feed_new(const struct feed_config *cfg, char *err, size_t errlen)
{
    struct feed *f;

    if (cfg->market == NULL || cfg->stream_url[0] == '\0') {
        errf(err, errlen, "feed: no market segment or no stream_url");
        return NULL;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL) {
        errf(err, errlen, "feed: out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    f->m = cfg->market;
    f->nslots = market_slots(f->m);
    if (f->cfg.control_per_s < 1 || f->cfg.control_per_s > FEED_PACE_MAX)
        f->cfg.control_per_s = 4;
    if (f->cfg.snapshot_limit < 1)
        f->cfg.snapshot_limit = 5000;
    /* a trailing '/' would double in the URL */
    size_t n = strlen(f->cfg.stream_url);
    while (n > 0 && f->cfg.stream_url[n - 1] == '/')
        f->cfg.stream_url[--n] = '\0';
    wsretry_init(&f->retry, &f->cfg.backoff_min_ms, &f->cfg.backoff_max_ms,
                 &f->cfg.connect_timeout_ms, &f->cfg.max_conn_age_ms,
                 0x9E3779B9u);
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->tok = json_tokener_new();
    if (f->ep < 0 || f->tok == NULL) {
        errf(err, errlen, "feed: %s",
             f->ep < 0 ? strerror(errno) : "out of memory");
        feed_free(f);
        return NULL;
    }
    f->lost = true;
    f->info.pid = (int32_t)getpid();
    return f;
}

/* Contract in feed.h. */
int
feed_step(struct feed *f, int timeout_ms)
{
    int64_t now, wall;

    if (timeout_ms > FEED_STEP_MAX_MS || timeout_ms < 0)
        timeout_ms = FEED_STEP_MAX_MS;
    if (wsretry_wait(f->ep, f->ws, &f->lost, timeout_ms, "market streams") < 0)
        return -1;
    if (f->ws != NULL && f->lost)
        connection_over(f);
    else if (f->ws != NULL)
        connection_check(f);
    now = mono_ms();
    wall = now_ms();
    scan_requests(f, now >= f->next_scan_ms);
    if (now >= f->next_scan_ms)
        f->next_scan_ms = now + 1000;
    if (f->ws == NULL && f->st.tracked > 0 && now >= f->next_connect_ms)
        connect_now(f);
    snapshots_due(f);
    ops_flush(f);
    if (f->next_sample_ms == 0)
        f->next_sample_ms = wall - wall % 1000 + 1000;
    if (wall >= f->next_sample_ms) {
        sample_second(f, f->next_sample_ms);
        f->next_sample_ms = wall - wall % 1000 + 1000;
    }
    arm(f);
    f->info.heartbeat_ms = wall;
    f->info.streams = streams_named(f);
    f->info.ws_connected = f->retry.was_open && !f->lost;
    market_set_feed_info(f->m, &f->info);
    return 0;
}

/* Contract in feed.h. */
void
feed_free(struct feed *f)
{
    if (f == NULL)
        return;
    for (unsigned i = 0; i < f->nslots; i++)
        if (f->sym[i].used)
            book_free(f->sym[i].book);
    ws_free(f->ws);
    if (f->ep >= 0)
        close(f->ep);
    if (f->tok != NULL)
        json_tokener_free(f->tok);
    free(f->ops);
    if (f->m != NULL) {
        f->info.ws_connected = 0;
        f->info.pid = 0;
        market_set_feed_info(f->m, &f->info);
    }
    free(f);
}

/* Contract in feed.h. */
int
feed_run(const struct feed_config *cfg, const volatile sig_atomic_t *stop)
{
    char err[256];
    struct feed *f;

    market_writer_recover(cfg->market, now_ms());
    if ((f = feed_new(cfg, err, sizeof(err))) == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    log_info("started (streams %s, up to %u symbols)", cfg->stream_url,
             market_slots(cfg->market));
    while (!*stop)
        if (feed_step(f, FEED_STEP_MAX_MS) < 0) {
            feed_free(f);
            return -1;
        }
    feed_free(f);
    market_writer_recover(cfg->market, now_ms());
    return 0;
}

/* Contract in feed.h. */
void
feed_stats(const struct feed *f, struct feed_stats *out)
{
    *out = f->st;
    out->streams = streams_named(f);
}
