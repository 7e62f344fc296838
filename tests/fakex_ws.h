/*
 * fakex_ws.h - the fake exchange's WebSocket stream server (Binance's
 * market streams: /ws/<stream> and /stream?streams=<a>/<b>/...).
 *
 * One thread with its own epoll loop on its own port of the bind address,
 * framing by wslay (server side). A connection subscribes to the streams its
 * path names (and to those it SUBSCRIBEs later, as on Binance); what the
 * exchange publishes to a stream goes to every connection subscribed,
 * wrapped {"stream":..,"data":..} on a combined connection. The server pings
 * every FXWS_PING_MS, and drops a connection whose unsent output passes
 * FXWS_MAX_QUEUED (a reader too slow, as Binance does).
 *
 * All functions are thread-safe (one mutex inside). The exchange calls
 * fxws_publish while holding its own lock, so that events leave in the order
 * its book changed; the server thread never calls back into the exchange
 * except through the stream_ok function, which must take no lock.
 *
 * The WebSocket API path /ws-api/v3 is served too: each text message
 * there goes to the exchange's api function (outside the server's lock, on
 * the server thread), which answers through fxws_send_to.
 *
 * Test hooks (not Binance): a query parameter __fake=bad_accept makes the
 * handshake answer carry a wrong Sec-WebSocket-Accept; fxws_send_text,
 * fxws_send_bad_frame and fxws_disconnect act on every connection.
 */
#ifndef BINMCPD_FAKEX_WS_H
#define BINMCPD_FAKEX_WS_H

#include <stdbool.h>
#include <stddef.h>

#define FXWS_PING_MS     20000
#define FXWS_MAX_REQUEST 8192        /* bytes of a handshake request */
#define FXWS_MAX_MESSAGE 65536       /* bytes of a client message */
#define FXWS_MAX_QUEUED  (64u << 20) /* unsent bytes per connection */
#define FXWS_MAX_STREAMS 1024        /* per connection, as Binance */
#define FXWS_MAX_CONNS   64

struct fxws;

/* Whether name is a stream this exchange serves ("btcusdt@aggTrade"). */
typedef bool (*fxws_stream_ok_fn)(const char *name);

/* A request (text, len bytes, NUL-terminated, valid during the call) on the
 * WebSocket API connection conn. */
typedef void (*fxws_api_fn)(unsigned long long conn, const char *text,
                            size_t len);

/* Listens on addr (IPv4), port 0 (any free one), and starts the thread.
 * Returns the server, or NULL with a sentence in err. */
struct fxws *fxws_start(const char *addr, fxws_stream_ok_fn ok, fxws_api_fn api,
                        char *err, size_t errlen);

/* Queues text (copied) on connection conn. Returns 0, or -1 when that
 * connection is gone. */
int fxws_send_to(struct fxws *s, unsigned long long conn, const char *text);

/* Whether connection conn is still open. */
bool fxws_is_open(struct fxws *s, unsigned long long conn);

/* The port it listens on. */
int fxws_port(const struct fxws *s);

/* Whether any connection is subscribed to stream (saves building a
 * payload nobody reads). */
bool fxws_wanted(struct fxws *s, const char *stream);

/* Queues data (a JSON text, copied) on every connection subscribed to
 * stream. Returns how many connections it went to. */
int fxws_publish(struct fxws *s, const char *stream, const char *data);

/* Pings every open connection with payload (may be ""). Returns the count. */
int fxws_ping(struct fxws *s, const char *payload);

/* Ends every connection: with a close frame (code 1001, "going away";
 * the socket closes when the client answers) or, with frame false, by
 * closing the socket at once. Returns the count. */
int fxws_disconnect(struct fxws *s, bool frame);

/* Sends text (len bytes) to every open connection, split into fragments
 * frames (1 = one frame). Returns the count. */
int fxws_send_text(struct fxws *s, const char *text, size_t len, int fragments);

/* Writes a frame with the reserved bits set (invalid without an
 * extension) to every open connection. Returns the count. */
int fxws_send_bad_frame(struct fxws *s);

struct fxws_stats {
    unsigned open;                   /* connections upgraded and open */
    unsigned long accepted, refused; /* handshakes */
    unsigned long pings, pongs;      /* pings sent, pongs with their payload */
    unsigned long received, sent;    /* text messages */
    int last_close_code;             /* of the last close frame received */
};

void fxws_stats(struct fxws *s, struct fxws_stats *out);

/* Stops the thread, closes every connection, frees s (may be NULL). */
void fxws_stop(struct fxws *s);

#endif
