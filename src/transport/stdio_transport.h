/*
 * stdio_transport.h - MCP over newline-delimited JSON-RPC on stdin/stdout.
 *
 * One session, the process. A reader thread takes lines from the input; a
 * notifications/cancelled is acted on at once (so a long tool call can be
 * aborted), everything else is queued for the executor, which hands each
 * message to the engine in order. Only protocol goes to the output; logs go
 * to stderr.
 *
 * When the server offers subscriptions (the feed runs in this process: a
 * thread, stdiofeed.h), a notifier thread polls the session every 25 ms
 * and sends notifications/resources/updated. The executor and the notifier
 * write whole lines under one lock, so lines never interleave. The
 * notifier stops before the session finishes.
 */
#ifndef BINMCPD_STDIO_TRANSPORT_H
#define BINMCPD_STDIO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mcp.h"

#define STDIO_LINE_MAX (4u * 1024 * 1024) /* longest message accepted */

struct stdio_options {
    /* resource subscriptions: at most one update per resource this often
     * (settings' notify_interval; 0: every change) */
    int64_t notify_interval_ms;
};

/* Serves srv on the descriptors in_fd and out_fd until the input ends.
 * opts may be NULL (the defaults: notify_interval_ms 1000). Returns 0 at
 * end of input, or -1 when the output fails (the peer went away) or the
 * executor thread cannot be started. A notifier that cannot start is
 * logged; the session is served without pushed updates. */
int stdio_serve(struct mcp_server *srv, int in_fd, int out_fd,
                const struct stdio_options *opts);

#endif
