/*
 * wstest.h - what test_ws and test_book share: a WebSocket client of
 * src/ws.c driven by its own epoll loop for a bounded time, recording what
 * arrives, and the fake exchange's stream server address.
 */
#ifndef BINMCPD_WSTEST_H
#define BINMCPD_WSTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "testlib.h"
#include "ws.h"

struct wsc;

/* Called for each message before it is recorded (may be NULL). */
typedef void (*wsc_message_fn)(struct wsc *w, const char *text, size_t len);

struct wsc {
    struct ws_conn *conn;
    int ep;
    unsigned long messages;
    char *last; /* the last message, malloc'd */
    size_t last_len;
    bool closed, clean;
    int code;
    char reason[512];
    wsc_message_fn on_message;
    void *user;
};

/* Opens url (ca_file and max_message as in ws_options; 0 / NULL for the
 * defaults). Returns 0, or -1 with the reason in w->reason (ws_open
 * refused). */
int wsc_open(struct wsc *w, const char *url, const char *ca_file,
             size_t max_message);

/* Runs the loop until done(w) holds, the connection ends, or timeout_ms
 * passes. done may be NULL (run until closed or timeout). Returns
 * whether done held (false when it is NULL). */
bool wsc_pump(struct wsc *w, long timeout_ms, bool (*done)(struct wsc *));

/* Predicates for wsc_pump. */
bool wsc_is_open(struct wsc *w);
bool wsc_is_closed(struct wsc *w);

/* Frees the connection and what was recorded. */
void wsc_free(struct wsc *w);

/* "ws://127.0.0.1:PORT" of fx's stream server into buf; 0 or -1. */
int wstest_base(const struct fakex *fx, char *buf, size_t len);

/* Starts the fake exchange (fakex_start) and fills base as wstest_base
 * does: a suite's set-up. Returns 0 or -1. */
int wstest_start(struct fakex *fx, char *base, size_t len);

/* GET /__fake/stream (with query q, may be "") parsed; the caller puts it.
 * NULL when no answer. */
json_object *wstest_info(const struct fakex *fx, const char *q);

/* POST path to the fake; returns the HTTP status. */
long wstest_post(const struct fakex *fx, const char *path);

#endif
