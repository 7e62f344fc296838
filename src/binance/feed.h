/*
 * feed.h - the feed: the one process that talks to Binance's market
 * streams, keeps a local order book per tracked symbol and publishes
 * everything into the market segment (market.h) for the workers.
 *
 * One combined-stream WebSocket connection (<stream_url>/stream?streams=)
 * on the feed's own epoll loop (ws.h) carries up to 1024 streams: four per
 * symbol (<sym>@depth@100ms, @aggTrade, @bookTicker, @kline_1m), so up to
 * MARKET_SYMBOLS_MAX symbols. Symbols come and go through the segment's
 * request area: a worker's market_request starts tracking on the feed's
 * next turn, and a symbol nobody asked for within idle_ms is dropped. The
 * streams a new connection does not name in its URL, and later changes,
 * go out as SUBSCRIBE / UNSUBSCRIBE messages, queued and paced: at most
 * control_per_s a second (Binance allows 5 incoming messages a second per
 * connection, the pongs included).
 *
 * Books follow Binance's algorithm (book.h): the snapshot
 * (GET /api/v3/depth?limit=snapshot_limit through bnc_call, so the daemon's
 * weight-budget hooks count it) is taken once the first diff event of the
 * symbol is buffered, and again, exactly once, after each gap. A symbol
 * whose streams have flowed for a second without any diff (a quiet market)
 * gets its snapshot anyway: no diff can have been missed, and the first
 * one after it chains on or shows a gap. A snapshot the budget holds back
 * waits for the time it names. The REST call blocks the loop while it
 * runs; the stream's bytes wait in the socket meanwhile.
 *
 * A lost connection comes back after an exponential backoff with jitter
 * (backoff_min_ms doubling up to backoff_max_ms; a random point in the
 * upper half of that); a connection older than max_conn_age_ms (Binance
 * cuts at 24 h) is closed and reopened at once. Books survive a reconnect,
 * but in doubt (status syncing): the first diff event on the new
 * connection either chains on (the book was never wrong: live again) or
 * shows the gap and costs one resync; a book still in doubt after 5 s
 * without a diff is verified by a snapshot.
 *
 * Not here yet: user data streams (ws_api_url is carried for them).
 */
#ifndef BINMCPD_FEED_H
#define BINMCPD_FEED_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "market.h"

#define FEED_URL_MAX 256

#define FEED_STREAM_URL_MAINNET "wss://stream.binance.com:9443"
#define FEED_STREAM_URL_TESTNET "wss://stream.testnet.binance.vision"
#define FEED_STREAM_URL_DEMO    "wss://demo-stream.binance.com"
#define FEED_WS_API_URL_MAINNET "wss://ws-api.binance.com:443/ws-api/v3"
#define FEED_WS_API_URL_TESTNET "wss://ws-api.testnet.binance.vision/ws-api/v3"
#define FEED_WS_API_URL_DEMO    "wss://demo-ws-api.binance.com/ws-api/v3"

struct feed_config {
    char stream_url[FEED_URL_MAX]; /* wss://host[:port] or ws:// (tests) */
    char ws_api_url[FEED_URL_MAX]; /* the WebSocket API (user data, later) */
    char ca_file[FEED_URL_MAX];    /* wss trust anchors; "" system trust */
    struct market *market;         /* the segment; not owned */
    int64_t idle_ms;               /* feed_idle: 15 min */
    int snapshot_limit;            /* 5000 */
    int64_t backoff_min_ms;        /* 1000 */
    int64_t backoff_max_ms;        /* 60000 */
    int64_t max_conn_age_ms;       /* 23 h 30 min, less up to 10 min jitter */
    int64_t connect_timeout_ms;    /* connect, TLS and Upgrade: 10000 */
    int control_per_s;             /* SUBSCRIBE/UNSUBSCRIBE a second: 4 */
    const atomic_int *cancel;      /* non-zero aborts a REST snapshot in
                                      flight (the loop is stopping); may be
                                      NULL */
};

/* Fills c with the defaults above and the mainnet URLs; market NULL. */
void feed_config_defaults(struct feed_config *c);

struct feed;

/* A feed on its own epoll descriptor (copies cfg; cfg->market must be
 * set). Returns it (feed_free), or NULL with a sentence in err. */
struct feed *feed_new(const struct feed_config *cfg, char *err, size_t errlen);

/* One turn of the loop: waits up to timeout_ms (capped at 50) for the
 * connection, then picks up requests, drops idle symbols, takes the
 * snapshots due, sends queued subscriptions, samples each second and
 * (re)connects when it is time. Returns 0, or -1 when epoll failed. */
int feed_step(struct feed *f, int timeout_ms);

/* Closes the connection (no handshake) and frees f; the segment keeps the
 * last values, marked not connected. f may be NULL. */
void feed_free(struct feed *f);

/* The feed process's loop: market_writer_recover, then feed_step until
 * *stop is set (by a signal handler). Returns 0, or -1 with a log line. */
int feed_run(const struct feed_config *cfg, const volatile sig_atomic_t *stop);

struct feed_stats {
    unsigned long connects, reconnects, planned_reconnects;
    unsigned long snapshots, control_messages, control_errors;
    unsigned long messages, invalid;
    unsigned tracked, streams;
};

void feed_stats(const struct feed *f, struct feed_stats *out);

#endif
