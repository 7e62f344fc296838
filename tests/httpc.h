/*
 * httpc.h - a small blocking HTTP/1.1 client for the integration tests, on
 * plain sockets to 127.0.0.1: one-shot requests, and SSE streams read event
 * by event (chunked or not), so a test can hold many streams and see
 * exactly what a client sees. Every call takes a timeout and never hangs.
 */
#ifndef BINMCPD_HTTPC_H
#define BINMCPD_HTTPC_H

#include <stddef.h>

struct httpc_resp {
    int status;         /* HTTP status, 0 when none was read */
    char headers[8192]; /* the raw header block, NUL-terminated */
    char *body;         /* malloc'd, NUL-terminated (de-chunked) */
    size_t body_len;
};

/* Sends method path to 127.0.0.1:port with Host, Connection: close, extra
 * header lines (each "Name: value\r\n", may be NULL) and an optional body
 * (a Content-Length is added when body != NULL), then reads the whole
 * response (chunked, Content-Length or read-to-close). Returns 0, or -1 on
 * a connection error or timeout (out->status may still be set, and out->body
 * holds what came). A server that answers before reading the whole body
 * (413) is handled: the answer is read. Free out with httpc_resp_free in
 * every case. */
int httpc_request(int port, const char *method, const char *path,
                  const char *headers, const char *body, size_t body_len,
                  int timeout_ms, struct httpc_resp *out);

void httpc_resp_free(struct httpc_resp *r);

/* Copies the value of header name (case-insensitive) from a raw header
 * block into buf; returns buf, or NULL when absent. */
const char *httpc_header(const char *headers, const char *name, char *buf,
                         size_t len);

struct httpc_sse {
    int fd;
    int status;
    char headers[8192];
    int chunked;
    /* internal buffers */
    char *raw; /* bytes read, not yet de-chunked */
    size_t raw_len, raw_cap;
    char *text; /* de-chunked event text, not yet parsed */
    size_t text_len, text_cap;
    long chunk_left; /* bytes left in the current chunk, -1 at a size line */
    int eof;         /* the server ended the stream */
    int comments;    /* ": ..." lines seen */
    /* internal: framing of the body */
    long long body_left; /* Content-Length bytes still due; -1 unknown */
    int broken;          /* the body ended uncleanly (reset, truncated) */
    int bom_checked;     /* a leading UTF-8 BOM was looked for */
    /* internal: the event being parsed (fields seen since the last blank
     * line) */
    char cur_event[64];
    char cur_id[128];
    int cur_retry;
    int cur_has_data, cur_has_retry;
    char *cur_data;
    size_t cur_data_len, cur_data_cap;
};

struct httpc_event {
    char event[64]; /* "" when the event had no event: field */
    char id[128];   /* "" when none */
    int retry_ms;   /* -1 when none */
    char *data;     /* malloc'd, data lines joined by \n; "" when none */
};

/* Sends a request (GET, or POST with body) that answers with an SSE stream
 * and reads the status line and headers. Returns 0 when the headers were
 * read (check s->status: on a non-200 answer the body can be read with
 * httpc_sse_body), -1 on a connection error or timeout. No Connection:
 * close is sent, so a chunked stream ends at its terminating chunk. s is
 * always initialised (fd -1 after a failure): httpc_sse_close is safe on
 * it either way, and twice. */
int httpc_sse_open(struct httpc_sse *s, int port, const char *method,
                   const char *path, const char *headers, const char *body,
                   size_t body_len, int timeout_ms);

/* Reads the next event (comments and retry-only blocks are skipped unless
 * they carry a retry: field, which is reported as an event with empty
 * data). Returns 1 with *ev filled, 0 when the stream ended cleanly, -1 on
 * timeout or error.
 *
 * Parsing follows the WHATWG event-stream rules: lines end with CRLF, LF
 * or CR; a leading BOM is dropped; "field: value" loses one space after
 * the colon; a line without a colon is a field with an empty value; data
 * lines are joined with \n; a blank line ends the event; an event with
 * neither data nor retry (e.g. only an id) is not reported; an unfinished
 * event at the end of the stream is dropped. "Ended cleanly" means the
 * terminating chunk (chunked), the whole Content-Length, or the server's
 * close (neither); a reset or a truncated body is -1. A timeout leaves the
 * stream usable: call again to keep reading. ev->id is the id field of
 * this event only ("" when it had none). */
int httpc_sse_next(struct httpc_sse *s, struct httpc_event *ev, int timeout_ms);

/* Counts ": ..." comment lines seen so far (keep-alives). */
int httpc_sse_comments(const struct httpc_sse *s);

/* Reads the rest of a non-SSE answer's body into a malloc'd string
 * (caller frees); NULL on timeout, on a body cut short, or without memory.
 * Bodies are capped at 64 MiB. */
char *httpc_sse_body(struct httpc_sse *s, int timeout_ms);

void httpc_event_free(struct httpc_event *ev);

/* Closes the connection (the client goes away) and frees the buffers. */
void httpc_sse_close(struct httpc_sse *s);

#endif
