/*
 * worker_int.h - inside one worker process: struct worker, the state of the
 * process, passed by pointer to every function of the worker, and the
 * records its rooms share. Private to src/transport/worker*.c; see worker.h
 * for what the rest of the daemon sees.
 *
 * The worker is split as nginx splits its process cycle from src/http/: the
 * process loop stays in worker.c, the rooms beside it.
 * Rooms, top to bottom; a room calls only the rooms below it, and what a
 * lower room needs from a higher one comes as a callback or a return value:
 *
 *   worker.c         the process: start-up, the main loop (signals, the
 *                    supervisor's pipe, IPC dispatch, the 1 s tick), drain
 *                    and exit. Owns mhd, ipc_buf and the credentials copy.
 *   worker_mcp.c     the HTTP side: admission (connections per address,
 *                    the request deadline, Host, rate limit, Origin,
 *                    bearer token, body cap, session and stream limits),
 *                    the router and the MCP endpoints (legacy HTTP+SSE,
 *                    Streamable HTTP). Owns struct conn, struct req and
 *                    w->http.
 *   worker_jobs.c    sessions: their MCP state (saved in the registry for
 *                    a takeover), job queues and the executor pool;
 *                    delivery of client messages to a session's owner,
 *                    adopting the session when that one died, and of
 *                    outputs to their stream. Owns struct job, struct
 *                    wsession and w->jobs.
 *   worker_stream.c  SSE streams: buffers, libmicrohttpd's reader, the
 *                    event log and Last-Event-ID resumption, forwarding,
 *                    the hang-up watch, keep-alives, the error for a
 *                    request whose worker died. Owns struct stream,
 *                    struct logged_event and w->streams.
 *   worker_reply.c   plain HTTP replies: text, JSON errors, /health, / and
 *                    /metrics. Owns nothing.
 *   worker_outbox.c  messages for other workers' streams: sent at once, or
 *                    queued while the peer's channel is full and sent by the
 *                    main loop when it is writable; whether a peer runs.
 *                    Owns struct outbox_msg and w->outbox (under its own
 *                    lock, w->outbox.lock).
 *
 * Threads and the lock. libmicrohttpd's epoll thread runs worker_mcp.c and
 * the stream reader; the main thread runs worker.c; EXECUTORS threads run
 * the MCP engine (worker_jobs.c). One mutex, w->lock, guards w->http,
 * w->streams, w->jobs and every connection, stream and session; the
 * registry's lock is only ever taken inside it, never the other way. A
 * function whose comment says it takes the lock takes it; the other
 * stream_* and jobs_* functions expect it held (always so for *_locked).
 * A stream is only touched by its reader and under the lock.
 */
#ifndef BINMCPD_WORKER_INT_H
#define BINMCPD_WORKER_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "creds.h"
#include "dbuf.h"
#include "ipc.h"
#include "mcp.h"
#include "registry.h"
#include "settings.h"
#include "worker.h"

#define EXECUTORS      8
#define STREAM_BUCKETS 4096
#define STREAM_IDS_MAX 8 /* request ids a POST stream tracks */
#define RETRY_HINT     "retry: 1000\n\n"

struct worker;
struct wsession;

/* ---- worker_stream.c ---- */

enum stream_kind {
    STREAM_LEGACY = 1, /* GET /mcp/sse: a session's main stream */
    STREAM_POST,       /* POST /mcp: the answer to one request */
    STREAM_STANDALONE, /* GET /mcp: keep-alives only */
};

struct logged_event; /* a POST stream's sent message, for resumption */

/* One SSE stream. Created with stream_new(); from stream_respond() on
 * libmicrohttpd owns it and frees it through its free callback. */
struct stream {
    struct worker *w; /* for libmicrohttpd's callbacks */
    uint64_t id;
    enum stream_kind kind;
    struct MHD_Connection *conn;
    struct dbuf out; /* bytes MHD has not taken yet */
    size_t out_off;
    int suspended;         /* the reader suspended the connection */
    int finished;          /* end the stream once out is drained */
    int counted;           /* holds one of the registry's open streams */
    int pinned;            /* holds a pin on its session (ref) */
    struct wsession *sess; /* STREAM_LEGACY: the session it carries */
    struct reg_ref ref;    /* the session this stream belongs to */
    int64_t deadline_ms;   /* STREAM_POST: give up waiting after this */
    unsigned events;       /* event ids sent */
    struct logged_event *log, *log_tail; /* STREAM_POST: for resumption */
    unsigned nlogged;
    int orphan; /* the client's connection broke */
    int64_t orphan_until;
    int gone;       /* the client hung up (seen by the RDHUP watch) */
    int fwd_worker; /* resumed on another worker: forward there */
    uint64_t fwd_stream;
    /* STREAM_POST: who its answers come from, so that its owner's death
     * ends it with an error rather than silence: the worker its request
     * went to, or (a resumption) the worker holding the stream it
     * resumes, with that worker's pid then; -1: this worker */
    int wait_worker;
    pid_t wait_pid;
    uint64_t resumes; /* a resumption: the stream it resumes, else 0 */
    /* STREAM_POST: the ids (JSON) of the requests it answers, bit k of
     * answered set once ids[k] was answered; recorded in the registry
     * (reg_inflight_add) when recorded is set */
    unsigned nids, answered;
    int recorded;
    char ids[STREAM_IDS_MAX][REG_RPC_ID_MAX];
    struct stream *hnext;       /* hash chain */
    struct stream *prev, *next; /* all streams */
};

/* What worker_stream.c keeps in struct worker (under w->lock, but hup_fd
 * and main_closed, set once at start-up). */
struct worker_streams {
    struct stream *buckets[STREAM_BUCKETS];
    struct stream *all;
    size_t n;
    uint64_t next_id; /* the counter of stream ids (stream_new) */
    pid_t pid;        /* this process: stream ids carry it */
    int closing;      /* drain: every stream ends */
    int hup_fd;       /* epoll set watching SSE clients for a hang-up */
    /* A legacy stream's connection is gone: its session (a higher room's)
     * must end. Called under w->lock. */
    void (*main_closed)(struct worker *w, struct wsession *ws);
};

/* ---- worker_jobs.c ---- */

struct job; /* one client message waiting for its session */

/* A session owned by this worker. */
struct wsession {
    struct worker *w; /* for the engine's sink */
    struct reg_ref ref;
    char id[REG_ID_LEN + 1];
    enum reg_kind kind;
    struct mcp_session mcp;
    struct stream *main;     /* legacy: the GET stream (NULL once gone) */
    struct job *head, *tail; /* waiting jobs */
    int queued;              /* on the ready list */
    int running;             /* an executor is on it */
    int dead;                /* released: free once idle */
    int notifying;           /* the notifier holds it (worker_notify.c) */
    int cur_worker;          /* the running job's reply target */
    uint64_t cur_stream;
    unsigned saved_gen; /* mcp.state_gen of the record in the registry */
    struct wsession *ready_next;
};

/* What worker_jobs.c keeps in struct worker (under w->lock). */
struct worker_jobs {
    pthread_cond_t work;    /* a session became ready, or stop */
    struct wsession **sess; /* by registry slot */
    uint32_t nslots;
    struct wsession *ready_head, *ready_tail;
    int stopping; /* executors: leave */
    pthread_t exec[EXECUTORS];
    int nexec;
};

/* ---- worker_mcp.c ---- */

struct conn; /* one TCP connection, from accept to close */

/* What worker_mcp.c keeps in struct worker (under w->lock). */
struct worker_http {
    /* connections waiting for (the rest of) a request, oldest deadline
     * first: request_timeout closes them */
    struct conn *recv_head, *recv_tail;
    size_t nconns; /* connections open */
};

/* ---- worker_outbox.c ---- */

#define OUTBOX_MAX_BYTES (64u << 20) /* payload queued for all peers */
#define OUTBOX_MAX_MSGS  65536       /* messages queued for all peers */

struct outbox_msg; /* one queued message */
struct pollfd;

/* What worker_outbox.c keeps in struct worker (under outbox.lock, a lock
 * of its own: executors queue without w->lock; but wake_fd and npeers, set
 * once at start-up). */
struct worker_outbox {
    pthread_mutex_t lock;
    struct outbox_msg **head, **tail; /* one queue per peer worker */
    int npeers;
    size_t bytes, count; /* over all queues */
    int64_t retry_ms;    /* mono_ms() before which POLLOUT is not asked */
    int wake_fd;         /* eventfd: the main loop's "something queued" */
};

/* ---- the process ---- */

/* What a message to a stream is (the "end" argument of jobs_route_output,
 * stream_output and outbox_send): an output, the end of the stream's
 * requests (an error for each one still unanswered), or a quiet end (the
 * ones unanswered were cancelled: nothing more is owed). */
enum { OUT_MSG = 0, OUT_END = 1, OUT_END_QUIET = 2 };

/* ---- worker_notify.c ---- */

/* What worker_notify.c keeps in struct worker. */
struct worker_notify {
    pthread_t thread;
    int started;
    int stopping;           /* under w->lock */
    pthread_cond_t wake;    /* stop */
    struct wsession **held; /* the sessions of one round */
    int64_t interval_ms;    /* notify_interval */
    unsigned long sent;     /* notifications pushed */
};

struct worker {
    const struct worker_env *env; /* the supervisor's, read-only */
    const struct settings *set;   /* env->settings */
    pthread_mutex_t lock;
    struct worker_http http;
    struct worker_streams streams;
    struct worker_jobs jobs;
    struct worker_outbox outbox;
    struct worker_notify notify;
    /* worker.c's own */
    struct MHD_Daemon *mhd;
    char *ipc_buf;      /* IPC_PAYLOAD_MAX + 1 bytes */
    struct creds creds; /* this worker's copy of the daemon's */
    pthread_rwlock_t creds_lock;
};

/* ---- the rooms' functions; each one's contract (ownership, locking,
 * failure) is in the comment above its definition ---- */

/* worker_mcp.c: libmicrohttpd's request callbacks (cls: the worker) */
enum MHD_Result worker_mcp_request(void *cls, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls);
void worker_mcp_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe);
enum MHD_Result worker_mcp_accept(void *cls, const struct sockaddr *addr,
                                  socklen_t addrlen);
void worker_mcp_connection(void *cls, struct MHD_Connection *c,
                           void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);
void worker_mcp_tick(struct worker *w, int64_t now);

/* worker_jobs.c */
int jobs_init(struct worker *w);
int jobs_start(struct worker *w);
void jobs_stop(struct worker *w);
void jobs_finish(struct worker *w);
struct wsession *jobs_session_new_locked(struct worker *w, struct reg_ref ref,
                                         const char *id, enum reg_kind kind);
struct wsession *jobs_session_get_locked(struct worker *w, struct reg_ref ref);
void jobs_session_release_locked(struct worker *w, struct wsession *ws,
                                 const char *why);
void jobs_main_closed(struct worker *w, struct wsession *ws);
void jobs_session_hold_locked(struct wsession *ws);
void jobs_session_unhold_locked(struct wsession *ws);
void jobs_route_output(struct worker *w, int worker, uint64_t stream_id,
                       struct wsession *ws, const char *msg, size_t len,
                       int end);
int jobs_deliver(struct worker *w, struct reg_ref ref, int owner,
                 const char *msg, size_t len, int reply_worker,
                 uint64_t reply_stream);
int jobs_deliver_here(struct worker *w, struct reg_ref ref, const char *msg,
                      size_t len, int reply_worker, uint64_t reply_stream);
void jobs_expire_idle(struct worker *w);
int jobs_owner(struct worker *w, struct reg_ref ref);
void jobs_sweep_locked(struct worker *w);

/* worker_notify.c */
int notify_start(struct worker *w);
void notify_stop(struct worker *w);

/* worker_stream.c */
int stream_init(struct worker *w,
                void (*main_closed)(struct worker *, struct wsession *));
void stream_fini(struct worker *w);
struct stream *stream_new(struct worker *w, enum stream_kind kind,
                          struct reg_ref ref);
struct stream *stream_open(struct worker *w, enum stream_kind kind,
                           struct reg_ref ref);
void stream_discard_locked(struct worker *w, struct stream *st);
struct stream *stream_find(struct worker *w, uint64_t id);
void stream_push(struct stream *st, const char *text, size_t len);
/* Parses an SSE event id "<worker>.<stream>.<seq>" (as a client sends it in
 * Last-Event-ID): three decimal numbers, no sign, space or other byte, none
 * beyond its type. Returns 0 with the parts, or -1. */
int stream_event_id_parse(const char *s, int *worker, uint64_t *stream,
                          unsigned *seq);
/* Whether a stream id (of any worker) names a standalone GET stream. */
int stream_id_is_standalone(uint64_t id);
void stream_finish(struct worker *w, struct stream *st);
void stream_output_locked(struct worker *w, struct stream *st, const char *msg,
                          size_t len, int end);
void stream_output(struct worker *w, uint64_t id, const char *msg, size_t len,
                   int end);
enum MHD_Result stream_respond(struct worker *w, struct MHD_Connection *c,
                               struct stream *st, const char *hname,
                               const char *hvalue);
struct stream *stream_open_resumed(struct worker *w, struct reg_ref ref,
                                   int holder, uint64_t id, unsigned seq);
void stream_resume_for(struct worker *w, const struct ipc_resume *m);
void stream_handle_hangups(struct worker *w);
void stream_tick_locked(struct worker *w, int64_t now, int keepalive);
void stream_expect_locked(struct worker *w, struct stream *st, json_object *msg,
                          int owner);
size_t stream_close_all(struct worker *w);
size_t stream_count(struct worker *w);

/* worker_outbox.c */
int outbox_init(struct worker *w);
void outbox_fini(struct worker *w);
/* Sends an output (end 0: m->msg, m->len) or an end marker (end 1) to a
 * stream held by worker peer, never blocking: at once when peer's channel
 * has room and nothing waits for it, else copied to peer's queue, which
 * the main loop sends (outbox_flush) in order once the channel is writable.
 * Any thread, without w->lock. Returns 0 when sent or queued; -1 with
 * errno: ENOBUFS when the queues hold OUTBOX_MAX_BYTES or OUTBOX_MAX_MSGS
 * already (the message is refused, with a log line naming the peer and the
 * queue), ENOMEM, EINVAL for a bad peer, or ipc_send's errno other than
 * EAGAIN (EMSGSIZE ...). */
int outbox_send(struct worker *w, int peer, const struct ipc_output *m,
                int end);
/* The main loop: sends what the channels take now (a message the channel
 * refuses for good is dropped with a log line) and clears the wake-up. */
void outbox_flush(struct worker *w);
/* The main loop: fills up to max pollfds with POLLOUT on the channels of
 * peers with queued messages; lowers *timeout_ms when a retry is due
 * sooner. Returns the number filled. */
int outbox_poll_fds(struct worker *w, struct pollfd *pf, int max,
                    int *timeout_ms);
/* Whether worker peer runs: the registry has a pid for it (set in *pid
 * when pid is not NULL; 0: none) and that process has not exited (a
 * zombie in /proc counts, so a death is seen before the supervisor reaps
 * it). Any thread. */
int outbox_peer_alive(struct worker *w, int peer, pid_t *pid);

/* worker_reply.c */
void reply_worker_header(const struct worker *w, struct MHD_Response *r);
enum MHD_Result reply_text(const struct worker *w, struct MHD_Connection *c,
                           unsigned status, const char *ctype, const char *text,
                           const char *hname, const char *hvalue);
enum MHD_Result reply_error(const struct worker *w, struct MHD_Connection *c,
                            unsigned status, const char *code,
                            const char *message);
enum MHD_Result reply_rpc_error(const struct worker *w,
                                struct MHD_Connection *c, unsigned status,
                                int code, const char *message,
                                const char *hname, const char *hvalue);
enum MHD_Result reply_health(const struct worker *w, struct MHD_Connection *c);
enum MHD_Result reply_metrics(const struct worker *w, struct MHD_Connection *c);
enum MHD_Result reply_root(const struct worker *w, struct MHD_Connection *c);

#endif
