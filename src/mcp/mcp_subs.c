/*
 * mcp_subs.c - one session's resource subscriptions. See mcp_subs.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mcp_subs.h"

struct mcp_sub {
    struct mcp_sub *next;
    void *watch;          /* the provider's */
    uint64_t version;     /* the watch's version last seen */
    int64_t last_sent_ms; /* the last notification went out (0: never) */
    int due;              /* a change is not announced yet */
    char uri[];
};

struct mcp_subs {
    pthread_mutex_t lock; /* guards everything below */
    struct mcp_subs_watcher w;
    struct mcp_sub *head;
    unsigned count;
};

struct mcp_subs *
mcp_subs_new(const struct mcp_subs_watcher *w)
{
    struct mcp_subs *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->w = *w;
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

static void
release(const struct mcp_subs *l, void *watch)
{
    if (watch != NULL && l->w.release != NULL)
        l->w.release(watch);
}

void
mcp_subs_free(struct mcp_subs *l)
{
    if (l == NULL)
        return;
    for (struct mcp_sub *sub = l->head, *next; sub != NULL; sub = next) {
        next = sub->next;
        release(l, sub->watch);
        free(sub);
    }
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int
mcp_subs_add(struct mcp_subs *l, const char *uri, void *watch)
{
    size_t n = strlen(uri);
    struct mcp_sub *sub;
    void *old = NULL;

    if (n >= MCP_SUB_URI_MAX) {
        release(l, watch);
        errno = ENAMETOOLONG;
        return -1;
    }
    pthread_mutex_lock(&l->lock);
    for (sub = l->head; sub != NULL; sub = sub->next)
        if (strcmp(sub->uri, uri) == 0)
            break;
    if (sub == NULL && l->count >= MCP_SUBS_MAX) {
        pthread_mutex_unlock(&l->lock);
        release(l, watch);
        errno = ENOSPC;
        return -1;
    }
    if (sub == NULL) {
        if ((sub = calloc(1, sizeof(*sub) + n + 1)) == NULL) {
            pthread_mutex_unlock(&l->lock);
            release(l, watch);
            errno = ENOMEM;
            return -1;
        }
        memcpy(sub->uri, uri, n + 1);
        sub->next = l->head;
        l->head = sub;
        l->count++;
    }
    old = sub->watch;
    sub->watch = watch;
    sub->version = l->w.version(l->w.ctx, watch, 0);
    pthread_mutex_unlock(&l->lock);
    release(l, old);
    return 0;
}

int
mcp_subs_remove(struct mcp_subs *l, const char *uri)
{
    struct mcp_sub **pp, *sub = NULL;

    pthread_mutex_lock(&l->lock);
    for (pp = &l->head; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->uri, uri) == 0) {
            sub = *pp;
            *pp = sub->next;
            l->count--;
            break;
        }
    pthread_mutex_unlock(&l->lock);
    if (sub == NULL)
        return 0;
    release(l, sub->watch);
    free(sub);
    return 1;
}

unsigned
mcp_subs_count(struct mcp_subs *l)
{
    unsigned n;

    pthread_mutex_lock(&l->lock);
    n = l->count;
    pthread_mutex_unlock(&l->lock);
    return n;
}

long
mcp_subs_save(struct mcp_subs *l, char *buf, size_t cap)
{
    size_t used = 0;
    long rc = 0;

    pthread_mutex_lock(&l->lock);
    for (struct mcp_sub *sub = l->head; sub != NULL; sub = sub->next) {
        size_t n = strlen(sub->uri) + 1;
        if (n > cap - used) {
            rc = -1;
            break;
        }
        memcpy(buf + used, sub->uri, n);
        used += n;
    }
    pthread_mutex_unlock(&l->lock);
    return rc < 0 ? -1 : (long)used;
}

/* notifications/resources/updated for uri, serialized (a new string), or
 * NULL when out of memory. */
static char *
updated_text(const char *uri)
{
    json_object *o = json_object_new_object();
    json_object *p = json_object_new_object();
    char *text = NULL;

    if (o != NULL && p != NULL) {
        json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
        json_object_object_add(
            o, "method",
            json_object_new_string("notifications/resources/updated"));
        json_object_object_add(p, "uri", json_object_new_string(uri));
        json_object_object_add(o, "params", p);
        p = NULL;
        text = strdup(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(p);
    json_object_put(o);
    return text;
}

/* A notification that could not be delivered is due again. */
static void
undelivered(struct mcp_subs *l, const char *uri)
{
    pthread_mutex_lock(&l->lock);
    for (struct mcp_sub *sub = l->head; sub != NULL; sub = sub->next)
        if (strcmp(sub->uri, uri) == 0) {
            sub->due = 1;
            sub->last_sent_ms = 0;
            break;
        }
    pthread_mutex_unlock(&l->lock);
}

/* Under the lock: whether sub has a change to announce now. */
static int
sub_due(const struct mcp_subs *l, struct mcp_sub *sub, int64_t now_ms,
        int64_t interval_ms)
{
    uint64_t v = l->w.version(l->w.ctx, sub->watch, now_ms);

    if (v != sub->version) {
        sub->version = v;
        sub->due = 1;
    }
    return sub->due && (sub->last_sent_ms == 0 ||
                        now_ms - sub->last_sent_ms >= interval_ms);
}

int
mcp_subs_poll(struct mcp_subs *l, int64_t now_ms, int64_t interval_ms,
              int (*send)(void *arg, const char *text, size_t len), void *arg)
{
    char *out[MCP_SUBS_MAX], *uris[MCP_SUBS_MAX];
    int n = 0, sent = 0;

    pthread_mutex_lock(&l->lock);
    for (struct mcp_sub *sub = l->head; sub != NULL && n < MCP_SUBS_MAX;
         sub = sub->next) {
        if (!sub_due(l, sub, now_ms, interval_ms))
            continue;
        out[n] = updated_text(sub->uri);
        uris[n] = strdup(sub->uri);
        if (out[n] == NULL || uris[n] == NULL) { /* due: the next poll */
            free(out[n]);
            free(uris[n]);
            continue;
        }
        sub->due = 0;
        sub->last_sent_ms = now_ms;
        n++;
    }
    pthread_mutex_unlock(&l->lock);
    /* sent without the lock: the transport's send takes its own locks */
    for (int i = 0; i < n; i++) {
        if (send(arg, out[i], strlen(out[i])) == 0)
            sent++;
        else
            undelivered(l, uris[i]);
        free(out[i]);
        free(uris[i]);
    }
    return sent;
}
