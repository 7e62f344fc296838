/*
 * ws.h - a WebSocket client (RFC 6455) for Binance's market streams and
 * WebSocket API, over plain TCP (ws://) or a GnuTLS session (wss://).
 *
 * Framing is wslay's (client masking, fragmented messages reassembled,
 * pings answered with pongs, the close handshake); this module owns the
 * socket, the TLS session and the HTTP/1.1 Upgrade handshake, whose
 * Sec-WebSocket-Accept it checks.
 *
 * Nothing blocks and no thread runs inside, except name resolution in
 * ws_open (getaddrinfo; a numeric address never waits). The caller owns the
 * event loop: it watches ws_fd() for ws_events() (EPOLLIN / EPOLLOUT bits,
 * level-triggered; the set changes after every step, so re-arm it) and calls
 * ws_on_readable / ws_on_writable when the descriptor is ready. There is no
 * timer inside either: the caller bounds the connect, the handshake and the
 * close handshake by its own clock and calls ws_free when one takes too long.
 *
 * Everything fed by the network is capped: the handshake answer
 * (max_handshake bytes) and each message, reassembled (max_message bytes).
 * An oversize message, a malformed frame, a bad handshake answer or a TLS
 * failure closes the connection and says why; nothing received can crash it.
 *
 * A connection ends exactly once: on_close is called with the close code
 * and a sentence, the descriptor is closed, and every later step returns -1.
 */
#ifndef BINMCPD_WS_H
#define BINMCPD_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_MAX_MESSAGE_DEFAULT   (4u << 20) /* Binance's messages are small */
#define WS_MAX_HANDSHAKE_DEFAULT 16384
#define WS_MAX_QUEUED_DEFAULT    (1u << 20) /* outgoing bytes not yet sent */
#define WS_URL_MAX               2048

/* Close codes (RFC 6455 section 7.4) this module reports. */
#define WS_CODE_NORMAL    1000
#define WS_CODE_PROTOCOL  1002
#define WS_CODE_NO_STATUS 1005 /* the peer's close frame had no code */
#define WS_CODE_ABNORMAL  1006 /* no close handshake: connection lost */
#define WS_CODE_BAD_DATA  1007 /* invalid UTF-8 in a text message */
#define WS_CODE_TOO_BIG   1009
#define WS_CODE_TLS       1015

enum ws_state {
    WS_CONNECTING, /* TCP connect under way */
    WS_TLS,        /* TLS handshake */
    WS_UPGRADE,    /* HTTP Upgrade request sent, answer awaited */
    WS_OPEN,       /* messages flow */
    WS_CLOSING,    /* a close frame was sent or received */
    WS_CLOSED      /* on_close has been called */
};

/* One complete text message. text is NUL-terminated (len excludes the
 * NUL) and valid only during the call. The callback may call ws_send_text
 * and ws_close on the connection, never ws_free. */
typedef void (*ws_message_fn)(void *arg, const char *text, size_t len);

/* The end of the connection, called once. clean: the close handshake
 * completed (either side began it); otherwise code is WS_CODE_ABNORMAL for
 * a lost connection or a failed connect/handshake, or the code this side
 * sent when it failed the connection (WS_CODE_TOO_BIG, WS_CODE_PROTOCOL,
 * ...). reason is a sentence for logs and users, valid during the call.
 * The callback must not call ws_free. */
typedef void (*ws_close_fn)(void *arg, int code, bool clean,
                            const char *reason);

struct ws_options {
    const char *url;      /* ws://host[:port]/path?query or wss://... */
    const char *ca_file;  /* wss: PEM trust anchors; NULL: system trust */
    size_t max_message;   /* 0: WS_MAX_MESSAGE_DEFAULT */
    size_t max_handshake; /* 0: WS_MAX_HANDSHAKE_DEFAULT */
    size_t max_queued;    /* 0: WS_MAX_QUEUED_DEFAULT */
    ws_message_fn on_message;
    ws_close_fn on_close; /* may be NULL */
    void *arg;            /* passed to both callbacks, not owned */
};

struct ws_conn;

/* Parses the URL, resolves the host and starts a non-blocking connect.
 * Copies what it needs from opts (the strings need not outlive the call).
 * Returns the connection (owned by the caller: ws_free), or NULL with a
 * sentence in err: malformed or unsupported URL, unknown host, no socket,
 * an unreadable CA file, or out of memory. */
struct ws_conn *ws_open(const struct ws_options *opts, char *err,
                        size_t errlen);

/* The descriptor to watch; -1 once closed. */
int ws_fd(const struct ws_conn *c);

/* The epoll events (EPOLLIN, EPOLLOUT) the next step needs; 0 once closed. */
uint32_t ws_events(const struct ws_conn *c);

/* Advance the connection after the descriptor became readable or writable
 * (either may be called for either: a step does all it can). Messages are
 * delivered from inside. Return 0 while the connection lives, -1 once it has
 * ended (on_close was called, in this step or before). */
int ws_on_readable(struct ws_conn *c);
int ws_on_writable(struct ws_conn *c);

/* Queues a text message (copied). Returns 0, or -1 when the connection is
 * not open (errno ENOTCONN), the message or the queue would exceed
 * max_message / max_queued (E2BIG), or memory ran out (ENOMEM). Sending
 * happens in later steps: re-arm the descriptor with ws_events. */
int ws_send_text(struct ws_conn *c, const char *text, size_t len);

/* Begins the close handshake with code and reason (at most 120 bytes,
 * truncated). Messages still arriving are delivered until the peer's close
 * frame; then on_close reports a clean close. Before the connection is open
 * it ends it at once (on_close is called from here). Returns 0, or -1 when
 * it has already ended or a close was already sent. */
int ws_close(struct ws_conn *c, int code, const char *reason);

enum ws_state ws_state(const struct ws_conn *c);

/* Pings received (each answered with a pong by the library). */
unsigned long ws_pings_received(const struct ws_conn *c);

/* Checks a server's answer to the Upgrade request: its header block,
 * hlen bytes from answer up to and including the blank line (need not be
 * NUL-terminated), must be an HTTP/1.1 101 with "Upgrade: websocket",
 * "Connection: Upgrade", a Sec-WebSocket-Accept equal to accept (the
 * value the request's key calls for) and no extension or subprotocol.
 * Returns 0, or -1 with a sentence in why (whylen > 0). Pure: ws.c calls
 * it on what it read, the fuzz harness on anything. */
int ws_upgrade_check(const char *answer, size_t hlen, const char *accept,
                     char *why, size_t whylen);

/* Closes the descriptor without a close handshake (on_close is not called
 * from here) and frees everything. c may be NULL. */
void ws_free(struct ws_conn *c);

#endif
