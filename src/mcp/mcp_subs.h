/*
 * mcp_subs.h - one session's resource subscriptions (resources/subscribe,
 * resources/unsubscribe) and the notifications/resources/updated they
 * bring.
 *
 * A list holds the URIs a client subscribed to, each with the provider's
 * watch: an opaque object the provider made for the URI, whose version
 * (the watcher's version function) grows whenever the resource changes.
 * The transport polls the list (mcp_subs_poll) from a thread of its own a
 * few times a second; a watch whose version moved is announced once, and
 * again at most once per interval: changes in between are coalesced into
 * the next notification, never lost. A notification the transport cannot
 * deliver (no stream to carry it yet) stays due for a later poll.
 *
 * Ownership: the list owns its watches and releases them (the watcher's
 * release) on remove, on replace and in mcp_subs_free. Threads: every
 * function takes the list's own lock, so the poll may run beside the
 * thread serving the session's requests; the version function runs under
 * it and must not block. The send callback runs without it.
 */
#ifndef BINMCPD_MCP_SUBS_H
#define BINMCPD_MCP_SUBS_H

#include <stddef.h>
#include <stdint.h>

#define MCP_SUBS_MAX    32  /* subscriptions per session */
#define MCP_SUB_URI_MAX 256 /* bytes of a subscribed URI */

/* How the list reads and releases the provider's watches. now_ms is the
 * wall clock, or 0 for the first reading right after a subscribe. */
struct mcp_subs_watcher {
    uint64_t (*version)(void *ctx, void *watch, int64_t now_ms);
    void (*release)(void *watch); /* may be NULL */
    void *ctx;
};

struct mcp_subs;

/* An empty list using *w (copied). NULL when out of memory. */
struct mcp_subs *mcp_subs_new(const struct mcp_subs_watcher *w);

/* Releases every watch and frees the list. l may be NULL. */
void mcp_subs_free(struct mcp_subs *l);

/* Adds uri with watch (taken: released here on failure, and when a later
 * add of the same URI replaces it; the URI keeps its place). Returns 0, or
 * -1 with errno ENOSPC (MCP_SUBS_MAX reached), ENAMETOOLONG or ENOMEM. */
int mcp_subs_add(struct mcp_subs *l, const char *uri, void *watch);

/* Removes uri. Returns 1 when it was subscribed, 0 when not. */
int mcp_subs_remove(struct mcp_subs *l, const char *uri);

/* How many URIs are subscribed. */
unsigned mcp_subs_count(struct mcp_subs *l);

/* Writes the subscribed URIs into buf (cap bytes), each followed by its
 * NUL, for a session's takeover (mcp_session_save). Returns the bytes
 * written, or -1 when they do not fit. */
long mcp_subs_save(struct mcp_subs *l, char *buf, size_t cap);

/* Sends each due notification (a JSON-RPC notification, serialized,
 * without a newline) through send(arg, text, len); a send that returns -1
 * leaves it due. Returns the number sent. */
int mcp_subs_poll(struct mcp_subs *l, int64_t now_ms, int64_t interval_ms,
                  int (*send)(void *arg, const char *text, size_t len),
                  void *arg);

#endif
