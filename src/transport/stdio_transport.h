/*
 * stdio_transport.h - MCP over newline-delimited JSON-RPC on stdin/stdout.
 *
 * One session, the process. A reader thread takes lines from the input; a
 * notifications/cancelled is acted on at once (so a long tool call can be
 * aborted), everything else is queued for the executor, which hands each
 * message to the engine in order. Only protocol goes to the output; logs go
 * to stderr.
 */
#ifndef BINMCPD_STDIO_TRANSPORT_H
#define BINMCPD_STDIO_TRANSPORT_H

#include <stddef.h>

#include "mcp.h"

#define STDIO_LINE_MAX (4u * 1024 * 1024) /* longest message accepted */

/* Serves srv on the descriptors in_fd and out_fd until the input ends.
 * Returns 0 at end of input, or -1 when the output fails (the peer went
 * away) or a thread cannot be started. */
int stdio_serve(struct mcp_server *srv, int in_fd, int out_fd);

#endif
