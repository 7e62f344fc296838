/*
 * mcpc.h - the MCP client side of the integration tests that start the
 * real daemon ($BINMCPD) as a child: `binmcpd --mode stdio` driven over
 * two pipes (mcpc_stdio_*), and `binmcpd --mode sse` driven over
 * Streamable HTTP, POST /mcp with SSE answers read through httpc.h
 * (mcpc_http_*), plus the daemon log helpers (mcpc_log_*) those tests
 * poll.
 *
 * What it owns: the child it spawned (until the matching *_stop reaps it),
 * the pipes to it and the buffers of what it wrote. What it leaves to the
 * caller: the daemon's environment and arguments, its journal and config
 * files, the temporary directory, and every CUnit assertion (no function
 * here asserts). Every wait has a deadline; a function that fails returns
 * -1 or NULL and leaves the daemon running for the caller's *_stop, except
 * mcpc_http_start, which kills and reaps a daemon that did not come up.
 */
#ifndef BINMCPD_MCPC_H
#define BINMCPD_MCPC_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "httpc.h"

/* ---- a daemon over stdio ---- */

struct mcpc_stdio;

/* Called by mcpc_stdio_rpc for each message the daemon sends that has a
 * method (a request or notification from the server), with the message
 * borrowed for the call's duration. */
typedef void (*mcpc_on_message)(struct mcpc_stdio *d, json_object *msg,
                                void *arg);

struct mcpc_stdio {
    pid_t pid; /* -1 (or 0) when no daemon runs */
    int in_fd, out_fd;
    char *buf; /* what came and is not yet a whole line */
    size_t len;
    int next_id;
    /* settings: the caller may change them after mcpc_stdio_spawn */
    int rpc_ms;             /* deadline of one request (10000) */
    size_t max_line;        /* a longer line is an error (1 MiB) */
    int keep_seen;          /* keep every line in seen (0) */
    mcpc_on_message on_msg; /* server messages with a method (NULL) */
    void *on_msg_arg;
    char *seen; /* with keep_seen: every line read, each ending in \n */
    size_t seen_len;
};

/* Starts argv (NULL-terminated; argv[0] is the program, usually
 * tl_binmcpd_path()) with tl_spawn: env as envset, its stdin and stdout
 * pipes to d, its stderr to err_path (created 0600, truncated), and
 * SIGKILL should this program die. Resets d to the defaults above first.
 * Returns 0, or -1 (d->pid then -1 and nothing left open). */
int mcpc_stdio_spawn(struct mcpc_stdio *d, const char *const *argv,
                     const char *const *env, const char *err_path);

/* Writes line and a newline to the daemon. Returns 0 or -1. */
int mcpc_stdio_send(struct mcpc_stdio *d, const char *line);

/* The next line the daemon wrote (caller frees), waiting at most
 * timeout_ms; NULL on timeout, end of output, a line over d->max_line or
 * no memory. */
char *mcpc_stdio_line(struct mcpc_stdio *d, int timeout_ms);

/* Sends request method with params (a JSON text; the request line is
 * wiped from memory once written, since it may carry secrets) and returns
 * its response (caller owns), reading for at most d->rpc_ms; messages
 * with a method go to d->on_msg, other lines are dropped. NULL on timeout
 * or a write error. */
json_object *mcpc_stdio_rpc(struct mcpc_stdio *d, const char *method,
                            const char *params);

/* Sends initialize with client name and capabilities (a JSON object text)
 * and, when it has a result, notifications/initialized. Returns the
 * initialize response (caller owns), or NULL when none came or the
 * notification could not be written. */
json_object *mcpc_stdio_initialize(struct mcpc_stdio *d, const char *name,
                                   const char *capabilities);

/* tools/call name with args (a JSON object text, wiped like the request);
 * returns a copy of the CallToolResult (caller owns) or NULL when the
 * answer had no result. */
json_object *mcpc_stdio_tool(struct mcpc_stdio *d, const char *name,
                             const char *args);

/* Closes the daemon's stdin (its signal to exit), waits up to timeout_ms
 * for it and stores its wait status in *status (may be NULL), then closes
 * the pipe and frees the buffers. Returns tl_wait_exit's result: 0, or -1
 * when it had to be killed; 0 when no daemon ran. */
int mcpc_stdio_stop(struct mcpc_stdio *d, long timeout_ms, int *status);

/* ---- the HTTP daemon over Streamable HTTP ---- */

struct mcpc_http {
    pid_t pid; /* -1 when none runs */
    int port;
    char log[512]; /* its stdout and stderr */
};

/* Starts `binmcpd --mode sse --port 0` followed by args (NULL-terminated,
 * may be NULL) with env as envset, /dev/null as stdin, log_path (created
 * 0600, truncated) as stdout and stderr, and SIGKILL should this program
 * die; waits up to start_ms for its "listening on" line. Returns 0 with
 * d->port set; -1 after printing the log to stderr under who's name and
 * killing and reaping a daemon still running. */
int mcpc_http_start(struct mcpc_http *d, const char *const *args,
                    const char *const *env, const char *log_path, long start_ms,
                    const char *who);

/* SIGTERM, then waits up to timeout_ms (a SIGKILL after that) and stores
 * the wait status in *status (may be NULL). Returns tl_wait_exit's result;
 * 0 when no daemon ran. */
int mcpc_http_stop(struct mcpc_http *d, long timeout_ms, int *status);

/* Opens POST /mcp on 127.0.0.1:port with body, in session sid (NULL: none,
 * as for initialize), accepting JSON and SSE. httpc_sse_open's result;
 * close s in every case. */
int mcpc_http_open(int port, const char *sid, const char *body, int timeout_ms,
                   struct httpc_sse *s);

/* Reads s for up to timeout_ms until a response (result or error, no
 * method) and returns it (caller owns); NULL at the stream's end, on
 * timeout or error. */
json_object *mcpc_http_read(struct httpc_sse *s, int timeout_ms);

/* Initializes a new session as client name: its id in sid. Returns the
 * worker that holds it (the X-Binmcpd-Worker header, -1 when absent), or
 * -1 when no session id came. *answered (may be NULL) tells whether the
 * initialize response came. */
int mcpc_http_session(int port, const char *name, char *sid, size_t len,
                      int timeout_ms, int *answered);

/* tools/call name with args (a JSON object text) as request id 7 in
 * session sid; a copy of the CallToolResult (caller owns) or NULL. */
json_object *mcpc_http_tool(int port, const char *sid, const char *name,
                            const char *args, int timeout_ms);

/* ---- the daemon log ---- */

/* How many times needle occurs in the file at path (0 when unreadable). */
int mcpc_log_count(const char *path, const char *needle);

/* Polls every 50 ms, up to ms, until the file at path holds needle.
 * Returns 1 when it does, 0 when the deadline passed. */
int mcpc_log_has(const char *path, const char *needle, int ms);

/* Polls every 50 ms, up to ms, until needle occurs n times in the file at
 * path. Returns 0, or -1 when the deadline passed. */
int mcpc_log_wait(const char *path, const char *needle, int n, int ms);

/* The pid of worker k: from the last "]: info: worker K: serving" line of
 * the log at path; 0 when there is none. */
pid_t mcpc_log_worker_pid(const char *path, int k);

/* The first child of process parent (/proc/PID/task/PID/children), or 0:
 * the only worker of a one-worker daemon. */
pid_t mcpc_only_child(pid_t parent);

#endif
