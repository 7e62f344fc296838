/*
 * test_ws.c - the WebSocket client (src/ws.c) against the fake exchange's
 * stream server (tests/fakex_ws.c) over ws://, and over wss:// through a
 * small GnuTLS terminating proxy in front of it, with a certificate made
 * here by certtool.
 *
 * What a user of the client sees: the handshake, Binance's payloads on raw
 * and combined streams, a subscription sent by the client, pings answered,
 * fragmented and oversize messages, malformed frames, the server's close,
 * a dropped connection, the client's own close, refused handshakes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "fakex.h"
#include "sign.h"
#include "util.h"
#include "testlib.h"
#include "wstest.h"
#include "ws.h"

#define STEP_MS 5000 /* the bound on each wait below */

static struct fakex fx;
static char base[64]; /* ws://127.0.0.1:PORT */

static int
suite_init(void)
{
    return wstest_start(&fx, base, sizeof(base));
}

static int
suite_clean(void)
{
    fakex_stop(&fx);
    return 0;
}

/* Opens base + path and waits until it is open. */
static bool
open_stream(struct wsc *w, const char *path, size_t max_message)
{
    char url[512];

    memset(w, 0, sizeof(*w));
    snprintf(url, sizeof(url), "%s%s", base, path);
    if (wsc_open(w, url, NULL, max_message) < 0)
        return false;
    return wsc_pump(w, STEP_MS, wsc_is_open);
}

static unsigned long want_messages;

static bool
has_messages(struct wsc *w)
{
    return w->messages >= want_messages;
}

/* Pumps until w has n messages in all. */
static bool
wait_messages(struct wsc *w, unsigned long n)
{
    want_messages = n;
    return wsc_pump(w, STEP_MS, has_messages);
}

/* The open connections the fake counts, after it has had time to see a
 * change: polls until it equals want (bounded). */
static int64_t
fake_counter(const char *name, int64_t want)
{
    int64_t v = INT64_MIN, end = tl_now_ms() + STEP_MS;
    do {
        json_object *o = wstest_info(&fx, "");
        v = tl_int_at(o, name);
        json_object_put(o);
        if (v == want)
            break;
        tl_sleep_ms(20);
    } while (tl_now_ms() < end);
    return v;
}

/* ---- handshake and payloads ---- */

static void
test_raw_depth_stream(void)
{
    struct wsc w;
    char body[2048];
    json_object *ev, *snap;

    CU_ASSERT_FATAL(open_stream(&w, "/ws/btcusdt@depth@100ms", 0));
    CU_ASSERT_EQUAL(ws_state(w.conn), WS_OPEN);
    /* a scripted change to the book goes out as one depthUpdate */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=BTCUSDT"
                                     "&side=bid&price=49999.50&qty=1.5&ids=2"),
                    200);
    CU_ASSERT_FATAL(wait_messages(&w, 1));
    ev = json_tokener_parse(w.last);
    CU_ASSERT_STRING_EQUAL(tl_str_at(ev, "e"), "depthUpdate");
    CU_ASSERT_STRING_EQUAL(tl_str_at(ev, "s"), "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(ev, "b.0.0"), "49999.50000000");
    CU_ASSERT_STRING_EQUAL(tl_str_at(ev, "b.0.1"), "1.50000000");
    CU_ASSERT_EQUAL(tl_len_at(ev, "a"), 0);
    /* its ids are the two after the REST book's previous lastUpdateId */
    CU_ASSERT_EQUAL(fakex_http(&fx, "GET",
                               "/api/v3/depth?symbol=BTCUSDT&limit=5", body,
                               sizeof(body)),
                    200);
    snap = json_tokener_parse(body);
    CU_ASSERT_EQUAL(tl_int_at(ev, "u"), tl_int_at(snap, "lastUpdateId"));
    CU_ASSERT_EQUAL(tl_int_at(ev, "U"), tl_int_at(ev, "u") - 1);
    CU_ASSERT(tl_int_at(ev, "E") > 0);
    json_object_put(ev);
    json_object_put(snap);
    wsc_free(&w);
}

static void
test_combined_streams(void)
{
    struct wsc w;
    json_object *o;

    CU_ASSERT_FATAL(open_stream(
        &w, "/stream?streams=ethusdt@aggTrade/ethusdt@kline_1m", 0));
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=ETHUSDT"
                                     "&price=3001.5&qty=0.25"),
                    200);
    CU_ASSERT_FATAL(wait_messages(&w, 2));
    /* the kline comes second, wrapped with its stream name */
    o = json_tokener_parse(w.last);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "stream"), "ethusdt@kline_1m");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.e"), "kline");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.k.i"), "1m");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.k.c"), "3001.50000000");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.k.v"), "0.25000000");
    CU_ASSERT_EQUAL(tl_int_at(o, "data.k.T") - tl_int_at(o, "data.k.t"), 59999);
    json_object_put(o);
    wsc_free(&w);
}

/* Records the stream of every message (combined connection). */
static char seen[8][64];
static int nseen;

static void
note_stream(struct wsc *w, const char *text, size_t len)
{
    json_object *o = json_tokener_parse(text);
    (void)w;
    (void)len;
    if (nseen < 8)
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", tl_str_at(o, "stream"));
    json_object_put(o);
}

static void
test_book_ticker_and_agg_trade(void)
{
    struct wsc w;
    json_object *o;

    nseen = 0;
    CU_ASSERT_FATAL(open_stream(
        &w, "/stream?streams=bnbusdt@bookTicker/bnbusdt@aggTrade", 0));
    w.on_message = note_stream;
    /* a new best ask moves the top of the book: one bookTicker */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=BNBUSDT"
                                     "&side=ask&price=600.005&qty=2"),
                    200);
    CU_ASSERT_FATAL(wait_messages(&w, 1));
    o = json_tokener_parse(w.last);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.s"), "BNBUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.a"), "600.00500000");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.A"), "2.00000000");
    /* the best bid stays the fixed book's: last - tick (fakex.h) */
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.b"), "599.99000000");
    json_object_put(o);
    /* a change deep in the book leaves the top alone: no bookTicker */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/depth?symbol=BNBUSDT"
                                     "&side=bid&price=590&qty=1"),
                    200);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=BNBUSDT"
                                     "&price=600&qty=1&buyer_maker=true"),
                    200);
    CU_ASSERT_FATAL(wait_messages(&w, 2));
    o = json_tokener_parse(w.last);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "stream"), "bnbusdt@aggTrade");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.e"), "aggTrade");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "data.p"), "600.00000000");
    CU_ASSERT(json_object_get_boolean(tl_get_path(o, "data.m")));
    json_object_put(o);
    CU_ASSERT_EQUAL(nseen, 2);
    CU_ASSERT_STRING_EQUAL(seen[0], "bnbusdt@bookTicker");
    CU_ASSERT_STRING_EQUAL(seen[1], "bnbusdt@aggTrade");
    wsc_free(&w);
}

static void
test_client_subscribes(void)
{
    struct wsc w;
    static const char sub[] =
        "{\"method\":\"SUBSCRIBE\",\"params\":[\"solusdt@aggTrade\"],\"id\":7}";
    json_object *o;

    CU_ASSERT_FATAL(open_stream(&w, "/ws", 0));
    /* the server unmasks it: wslay on both sides agrees on framing */
    CU_ASSERT_EQUAL(ws_send_text(w.conn, sub, strlen(sub)), 0);
    CU_ASSERT_FATAL(wait_messages(&w, 1));
    o = json_tokener_parse(w.last);
    CU_ASSERT_EQUAL(tl_int_at(o, "id"), 7);
    CU_ASSERT_PTR_NOT_NULL(o);
    CU_ASSERT(json_object_object_get_ex(o, "result", NULL));
    json_object_put(o);
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=SOLUSDT"
                                     "&price=150&qty=3"),
                    200);
    CU_ASSERT_FATAL(wait_messages(&w, 2));
    o = json_tokener_parse(w.last);
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "s"), "SOLUSDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "q"), "3.00000000");
    json_object_put(o);
    wsc_free(&w);
}

/* ---- control frames and framing ---- */

static bool
got_ping(struct wsc *w)
{
    return ws_pings_received(w->conn) >= 1;
}

static void
test_ping_answered(void)
{
    struct wsc w;
    json_object *o = wstest_info(&fx, "");
    int64_t pongs = tl_int_at(o, "pongs");

    json_object_put(o);
    CU_ASSERT_FATAL(open_stream(&w, "/ws/btcusdt@aggTrade", 0));
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/ping?payload=hello"), 200);
    CU_ASSERT_FATAL(wsc_pump(&w, STEP_MS, got_ping));
    /* the pong goes out on the next step; the fake checks its payload */
    wsc_pump(&w, 200, NULL);
    CU_ASSERT_EQUAL(fake_counter("pongs", pongs + 1), pongs + 1);
    CU_ASSERT_EQUAL(ws_state(w.conn), WS_OPEN);
    wsc_free(&w);
}

static void
test_fragmented_message(void)
{
    struct wsc w;

    CU_ASSERT_FATAL(open_stream(&w, "/ws/btcusdt@aggTrade", 0));
    CU_ASSERT_EQUAL(
        wstest_post(&fx, "/__fake/stream/send?size=10000&fragments=7"), 200);
    CU_ASSERT_FATAL(wait_messages(&w, 1));
    CU_ASSERT_EQUAL(w.messages, 1);
    CU_ASSERT_EQUAL(w.last_len, 10000);
    CU_ASSERT_EQUAL(strspn(w.last, "x"), 10000);
    CU_ASSERT_EQUAL(w.last[10000], '\0');
    wsc_free(&w);
}

static void
test_oversize_message_refused(void)
{
    struct wsc w;

    CU_ASSERT_FATAL(open_stream(&w, "/ws/btcusdt@aggTrade", 1024));
    /* 1024 bytes pass, 1025 (in three fragments) do not */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/send?size=1024"), 200);
    CU_ASSERT_FATAL(wait_messages(&w, 1));
    CU_ASSERT_EQUAL(
        wstest_post(&fx, "/__fake/stream/send?size=1025&fragments=3"), 200);
    CU_ASSERT_FATAL(wsc_pump(&w, STEP_MS, wsc_is_closed));
    CU_ASSERT_EQUAL(w.messages, 1);
    CU_ASSERT_EQUAL(w.code, WS_CODE_TOO_BIG);
    CU_ASSERT_FALSE(w.clean);
    CU_ASSERT(tl_contains(w.reason, "1024-byte cap"));
    CU_ASSERT_EQUAL(ws_fd(w.conn), -1);
    /* the server got the client's close frame with that code */
    CU_ASSERT_EQUAL(fake_counter("lastCloseCode", WS_CODE_TOO_BIG),
                    WS_CODE_TOO_BIG);
    wsc_free(&w);
}

/* Opens a stream, has the fake do what control path says, and waits for
 * the connection to end. */
static void
end_by(struct wsc *w, const char *path)
{
    CU_ASSERT_FATAL(open_stream(w, "/ws/btcusdt@aggTrade", 0));
    CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
    CU_ASSERT_FATAL(wsc_pump(w, STEP_MS, wsc_is_closed));
}

static void
test_malformed_frame(void)
{
    struct wsc w;

    end_by(&w, "/__fake/stream/badframe");
    CU_ASSERT_EQUAL(w.code, WS_CODE_PROTOCOL);
    CU_ASSERT_FALSE(w.clean);
    CU_ASSERT(tl_contains(w.reason, "malformed frame"));
    wsc_free(&w);
}

/* ---- the end of a connection ---- */

static void
test_server_closes(void)
{
    struct wsc w;

    end_by(&w, "/__fake/stream/disconnect");
    CU_ASSERT(w.clean);
    CU_ASSERT_EQUAL(w.code, 1001);
    CU_ASSERT(tl_contains(w.reason, "going away"));
    CU_ASSERT_EQUAL(ws_on_readable(w.conn), -1);
    CU_ASSERT_EQUAL(ws_events(w.conn), 0);
    wsc_free(&w);
}

static void
test_forced_disconnect(void)
{
    struct wsc w;

    end_by(&w, "/__fake/stream/disconnect?frame=0");
    CU_ASSERT_FALSE(w.clean);
    CU_ASSERT_EQUAL(w.code, WS_CODE_ABNORMAL);
    CU_ASSERT(tl_contains(w.reason, "connection lost"));
    CU_ASSERT(tl_contains(w.reason, "without a close frame"));
    wsc_free(&w);
}

static void
test_client_closes(void)
{
    struct wsc w;

    CU_ASSERT_FATAL(open_stream(&w, "/ws/btcusdt@aggTrade", 0));
    CU_ASSERT_EQUAL(ws_close(w.conn, WS_CODE_NORMAL, "bye"), 0);
    CU_ASSERT_EQUAL(ws_state(w.conn), WS_CLOSING);
    CU_ASSERT_EQUAL(ws_close(w.conn, WS_CODE_NORMAL, "again"), -1);
    errno = 0;
    CU_ASSERT_EQUAL(ws_send_text(w.conn, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, ENOTCONN);
    CU_ASSERT_FATAL(wsc_pump(&w, STEP_MS, wsc_is_closed));
    CU_ASSERT(w.clean);
    CU_ASSERT_EQUAL(w.code, WS_CODE_NORMAL); /* the server echoes it */
    CU_ASSERT_EQUAL(fake_counter("lastCloseCode", WS_CODE_NORMAL),
                    WS_CODE_NORMAL);
    wsc_free(&w);
}

/* ---- handshakes that fail ---- */

static void
test_handshake_refused(void)
{
    struct wsc w;

    /* an unknown stream: the server answers 400, not 101 */
    CU_ASSERT_FALSE(open_stream(&w, "/ws/nosuchcoin@aggTrade", 0));
    CU_ASSERT(w.closed);
    CU_ASSERT_EQUAL(w.code, WS_CODE_ABNORMAL);
    CU_ASSERT(tl_contains(w.reason, "handshake refused"));
    CU_ASSERT(tl_contains(w.reason, "400"));
    wsc_free(&w);

    /* a 101 whose Sec-WebSocket-Accept does not answer the key */
    CU_ASSERT_FALSE(
        open_stream(&w, "/ws/btcusdt@aggTrade?__fake=bad_accept", 0));
    CU_ASSERT(w.closed);
    CU_ASSERT(tl_contains(w.reason, "Sec-WebSocket-Accept"));
    wsc_free(&w);
}

static void
test_bad_urls(void)
{
    static const char *const bad[] = {
        "http://127.0.0.1/ws",   "ws://",        "ws://127.0.0.1:0/ws",
        "ws://127.0.0.1:65536/", "ws://[::1/ws", "ws://host name/ws",
        "wss://127.0.0.1:1/a b"};
    struct ws_options o = {0};
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.url = bad[i];
        err[0] = '\0';
        CU_ASSERT_PTR_NULL(ws_open(&o, err, sizeof(err)));
        CU_ASSERT(err[0] != '\0');
    }
}

static void
test_connection_refused(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[64];
    struct wsc w = {0};

    /* a port that was free a moment ago and has no listener */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    close(fd);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws", ntohs(sa.sin_port));
    if (wsc_open(&w, url, NULL, 0) == 0)
        CU_ASSERT(wsc_pump(&w, STEP_MS, wsc_is_closed));
    CU_ASSERT(w.closed || w.conn == NULL);
    CU_ASSERT(tl_contains(w.reason, "connect"));
    wsc_free(&w);
}

/* ---- wss://: a TLS-terminating proxy in front of the fake ---- */

static char tls_dir[256];
static char ca_path[300], cert_path[300], key_path[300];

/* Runs certtool with args; returns its exit status (or -1). */
static int
run_certtool(const char *const *args)
{
    const char *argv[16] = {"certtool"};
    int n = 1, status;
    pid_t pid;

    for (; args[n - 1] != NULL && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    if ((pid = fork()) == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        dup2(null, 2);
        execvp("certtool", (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A CA and a server certificate for "localhost" and 127.0.0.1 signed by it. */
static int
make_certs(void)
{
    char ca_key[300], tmpl_ca[300], tmpl_srv[300];
    FILE *f;

    snprintf(tls_dir, sizeof(tls_dir), "%s/test_ws.%d.tmp",
             getenv("TESTS_BUILDDIR") ? getenv("TESTS_BUILDDIR") : "/tmp",
             (int)getpid());
    if (mkdir(tls_dir, 0700) < 0 && errno != EEXIST)
        return -1;
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", tls_dir);
    snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", tls_dir);
    snprintf(key_path, sizeof(key_path), "%s/srv.key", tls_dir);
    snprintf(cert_path, sizeof(cert_path), "%s/srv.pem", tls_dir);
    snprintf(tmpl_ca, sizeof(tmpl_ca), "%s/ca.tmpl", tls_dir);
    snprintf(tmpl_srv, sizeof(tmpl_srv), "%s/srv.tmpl", tls_dir);
    if ((f = fopen(tmpl_ca, "w")) == NULL)
        return -1;
    fputs("cn = test_ws CA\nca\ncert_signing_key\nexpiration_days = 2\n", f);
    fclose(f);
    if ((f = fopen(tmpl_srv, "w")) == NULL)
        return -1;
    fputs("cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\n"
          "tls_www_server\nencryption_key\nsigning_key\n"
          "expiration_days = 2\n",
          f);
    fclose(f);
    {
        const char *a1[] = {"--generate-privkey", "--key-type=ecdsa",
                            "--outfile", ca_key, NULL};
        const char *a2[] = {"--generate-self-signed",
                            "--load-privkey",
                            ca_key,
                            "--template",
                            tmpl_ca,
                            "--outfile",
                            ca_path,
                            NULL};
        const char *a3[] = {"--generate-privkey", "--key-type=ecdsa",
                            "--outfile", key_path, NULL};
        const char *a4[] = {"--generate-certificate",
                            "--load-privkey",
                            key_path,
                            "--load-ca-certificate",
                            ca_path,
                            "--load-ca-privkey",
                            ca_key,
                            "--template",
                            tmpl_srv,
                            "--outfile",
                            cert_path,
                            NULL};
        if (run_certtool(a1) != 0 || run_certtool(a2) != 0 ||
            run_certtool(a3) != 0 || run_certtool(a4) != 0)
            return -1;
    }
    return 0;
}

struct proxy {
    int listen_fd, port;
    gnutls_certificate_credentials_t cred;
    pthread_t thread;
};

/* Copies bytes both ways between one TLS client and the fake's stream
 * port until either side ends (bounded by 20 s). */
static void
proxy_serve(struct proxy *p, int cfd)
{
    gnutls_session_t s;
    struct sockaddr_in up = {.sin_family = AF_INET};
    int ufd = socket(AF_INET, SOCK_STREAM, 0);
    char buf[16384];
    int64_t end = tl_now_ms() + 20000;

    up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    up.sin_port = htons((uint16_t)atoi(strrchr(base, ':') + 1));
    if (ufd < 0 || connect(ufd, (struct sockaddr *)&up, sizeof(up)) < 0 ||
        gnutls_init(&s, GNUTLS_SERVER) < 0) {
        if (ufd >= 0)
            close(ufd);
        return;
    }
    gnutls_set_default_priority(s);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, p->cred);
    gnutls_transport_set_int(s, cfd);
    gnutls_handshake_set_timeout(s, 5000);
    if (gnutls_handshake(s) == 0) {
        while (tl_now_ms() < end) {
            struct pollfd pf[2] = {{cfd, POLLIN, 0}, {ufd, POLLIN, 0}};
            ssize_t n;
            if (gnutls_record_check_pending(s) == 0 && poll(pf, 2, 100) <= 0)
                continue;
            if (gnutls_record_check_pending(s) > 0 || pf[0].revents) {
                n = gnutls_record_recv(s, buf, sizeof(buf));
                if (n <= 0 || send(ufd, buf, (size_t)n, MSG_NOSIGNAL) != n)
                    break;
            }
            if (pf[1].revents) {
                n = recv(ufd, buf, sizeof(buf), 0);
                if (n <= 0 || gnutls_record_send(s, buf, (size_t)n) != n)
                    break;
            }
        }
        gnutls_bye(s, GNUTLS_SHUT_WR);
    }
    gnutls_deinit(s);
    close(ufd);
}

static void *
proxy_thread(void *arg)
{
    struct proxy *p = arg;
    /* two clients: the trusted one, then the one that must refuse */
    for (int i = 0; i < 2; i++) {
        struct pollfd pf = {p->listen_fd, POLLIN, 0};
        if (poll(&pf, 1, 10000) <= 0)
            break;
        int cfd = accept(p->listen_fd, NULL, NULL);
        if (cfd < 0)
            break;
        proxy_serve(p, cfd);
        close(cfd);
    }
    return NULL;
}

static void
test_wss_through_tls(void)
{
    struct proxy p = {.listen_fd = -1};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    char url[256];
    struct wsc w;
    json_object *o;

    if (make_certs() < 0) {
        CU_FAIL("certtool (gnutls-bin) could not make the test certificates");
        return;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(gnutls_certificate_allocate_credentials(&p.cred) == 0);
    CU_ASSERT_FATAL(gnutls_certificate_set_x509_key_file(
                        p.cred, cert_path, key_path, GNUTLS_X509_FMT_PEM) == 0);
    p.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(bind(p.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CU_ASSERT_FATAL(listen(p.listen_fd, 4) == 0);
    getsockname(p.listen_fd, (struct sockaddr *)&sa, &sl);
    p.port = ntohs(sa.sin_port);
    CU_ASSERT_FATAL(pthread_create(&p.thread, NULL, proxy_thread, &p) == 0);

    /* trusted through the test CA, by name (SNI, host check) */
    snprintf(url, sizeof(url), "wss://localhost:%d/ws/xrpusdt@aggTrade",
             p.port);
    memset(&w, 0, sizeof(w));
    CU_ASSERT_FATAL(wsc_open(&w, url, ca_path, 0) == 0);
    CU_ASSERT_FATAL(wsc_pump(&w, STEP_MS, wsc_is_open));
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/trade?symbol=XRPUSDT"
                                     "&price=0.5001&qty=100"),
                    200);
    CU_ASSERT(wait_messages(&w, 1));
    o = json_tokener_parse(w.last ? w.last : "");
    CU_ASSERT_STRING_EQUAL(tl_str_at(o, "p"), "0.50010000");
    json_object_put(o);
    CU_ASSERT_EQUAL(ws_close(w.conn, WS_CODE_NORMAL, NULL), 0);
    CU_ASSERT(wsc_pump(&w, STEP_MS, wsc_is_closed));
    CU_ASSERT(w.clean);
    wsc_free(&w);

    /* the system store does not know the test CA: TLS fails, says why */
    memset(&w, 0, sizeof(w));
    CU_ASSERT_FATAL(wsc_open(&w, url, NULL, 0) == 0);
    CU_ASSERT(wsc_pump(&w, STEP_MS, wsc_is_closed));
    CU_ASSERT_EQUAL(w.code, WS_CODE_TLS);
    CU_ASSERT(tl_contains(w.reason, "TLS handshake"));
    CU_ASSERT(tl_contains(w.reason, "not trusted") ||
              tl_contains(w.reason, "issuer"));
    wsc_free(&w);

    pthread_join(p.thread, NULL);
    close(p.listen_fd);
    gnutls_certificate_free_credentials(p.cred);
    {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_ws: could not remove %s\n", tls_dir);
    }
}

/* ---- the WebSocket API: user data stream ---- */

/* The JSON messages a user-data connection received, in order. */
static json_object *udm[32];
static int nudm;

static void
note_user_data(struct wsc *w, const char *text, size_t len)
{
    (void)w;
    (void)len;
    if (nudm < 32)
        udm[nudm++] = json_tokener_parse(text);
}

static void
user_data_clear(void)
{
    for (int i = 0; i < nudm; i++)
        json_object_put(udm[i]);
    nudm = 0;
}

static size_t
sink(char *p, size_t sz, size_t n, void *arg)
{
    size_t *len = arg, take = sz * n;
    (void)p;
    *len += take;
    return take;
}

/* A REST request signed for account A (as the daemon signs): params get
 * timestamp and signature appended. Returns the HTTP status. */
static long
signed_rest(const char *method, const char *path, const char *params)
{
    char q[1024], sig[SIGN_HEX_LEN + 1], url[1400];
    struct curl_slist *h = curl_slist_append(NULL, "X-MBX-APIKEY: " TEST_KEY_A);
    CURL *c = curl_easy_init();
    long status = -1;
    size_t got = 0;

    snprintf(q, sizeof(q), "%s&timestamp=%lld", params, (long long)now_ms());
    if (c == NULL || sign_hmac_sha256_hex(TEST_SECRET_A, q, strlen(q), sig) < 0)
        goto out;
    snprintf(url, sizeof(url), "%s%s?%s&signature=%s", fx.url, path, q, sig);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
out:
    curl_slist_free_all(h);
    if (c != NULL)
        curl_easy_cleanup(c);
    return status;
}

/* The user-data subscription request, signed with secret. */
static void
send_subscribe(struct wsc *w, int id, const char *secret)
{
    char payload[256], sig[SIGN_HEX_LEN + 1], req[512];
    long long ts = (long long)now_ms();

    /* the WebSocket API signs the params sorted by name, values raw */
    snprintf(payload, sizeof(payload), "apiKey=%s&timestamp=%lld", TEST_KEY_A,
             ts);
    CU_ASSERT_FATAL(
        sign_hmac_sha256_hex(secret, payload, strlen(payload), sig) == 0);
    snprintf(req, sizeof(req),
             "{\"id\":%d,\"method\":\"userDataStream.subscribe.signature\","
             "\"params\":{\"timestamp\":%lld,\"apiKey\":\"%s\","
             "\"signature\":\"%s\"}}",
             id, ts, TEST_KEY_A, sig);
    CU_ASSERT_EQUAL(ws_send_text(w->conn, req, strlen(req)), 0);
}

static bool
has_user_data(struct wsc *w)
{
    (void)w;
    return nudm >= (int)want_messages;
}

/* Waits until n messages in all have come. */
static bool
wait_user_data(struct wsc *w, int n)
{
    want_messages = (unsigned long)n;
    return wsc_pump(w, STEP_MS, has_user_data);
}

/* The index of the first message from `from` on whose path equals value;
 * -1 when none. */
static int
find_event(int from, const char *path, const char *value)
{
    for (int i = from; i < nudm; i++)
        if (strcmp(tl_str_at(udm[i], path), value) == 0)
            return i;
    return -1;
}

static void
test_user_data_stream(void)
{
    struct wsc w;
    static const char unsub[] =
        "{\"id\":3,\"method\":\"userDataStream.unsubscribe\"}";
    int k, from;
    int64_t sub, order_id;
    char path[128];

    nudm = 0;
    CU_ASSERT_FATAL(open_stream(&w, "/ws-api/v3", 0));
    w.on_message = note_user_data;
    /* a wrong signature is refused as Binance refuses it */
    send_subscribe(&w, 1, TEST_SECRET_B);
    CU_ASSERT_FATAL(wait_user_data(&w, 1));
    CU_ASSERT_EQUAL(tl_int_at(udm[0], "id"), 1);
    CU_ASSERT_EQUAL(tl_int_at(udm[0], "status"), 400);
    CU_ASSERT_EQUAL(tl_int_at(udm[0], "error.code"), -1022);
    send_subscribe(&w, 2, TEST_SECRET_A);
    CU_ASSERT_FATAL(wait_user_data(&w, 2));
    CU_ASSERT_EQUAL(tl_int_at(udm[1], "id"), 2);
    CU_ASSERT_EQUAL(tl_int_at(udm[1], "status"), 200);
    sub = tl_int_at(udm[1], "result.subscriptionId");
    CU_ASSERT(sub >= 0);

    /* a resting order: NEW, and the quote it locks */
    CU_ASSERT_EQUAL(signed_rest("POST", "/api/v3/order",
                                "symbol=BTCUSDT&side=BUY&type=LIMIT&"
                                "timeInForce=GTC&quantity=0.01&price=40000"),
                    200);
    CU_ASSERT_FATAL(wait_user_data(&w, 4));
    k = find_event(2, "event.e", "executionReport");
    CU_ASSERT_FATAL(k >= 0);
    CU_ASSERT_EQUAL(tl_int_at(udm[k], "subscriptionId"), sub);
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.x"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.X"), "NEW");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.q"), "0.01000000");
    order_id = tl_int_at(udm[k], "event.i");
    k = find_event(2, "event.e", "outboundAccountPosition");
    CU_ASSERT_FATAL(k >= 0);
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.B.0.a"), "USDT");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.B.0.l"), "400.00000000");

    /* filled at the fake: TRADE, and both balances */
    from = nudm;
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld",
             (long long)order_id);
    CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
    CU_ASSERT_FATAL(wait_user_data(&w, from + 2));
    k = find_event(from, "event.x", "TRADE");
    CU_ASSERT_FATAL(k >= 0);
    CU_ASSERT_EQUAL(tl_int_at(udm[k], "event.i"), order_id);
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.X"), "FILLED");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.l"), "0.01000000");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.L"), "40000.00000000");
    CU_ASSERT(json_object_get_boolean(tl_get_path(udm[k], "event.m")));
    k = find_event(from, "event.e", "outboundAccountPosition");
    CU_ASSERT_FATAL(k >= 0);
    CU_ASSERT(tl_len_at(udm[k], "event.B") >= 2);

    /* canceled: CANCELED */
    from = nudm;
    CU_ASSERT_EQUAL(signed_rest("POST", "/api/v3/order",
                                "symbol=BTCUSDT&side=SELL&type=LIMIT&"
                                "timeInForce=GTC&quantity=0.02&price=60000&"
                                "newClientOrderId=ws-test-1"),
                    200);
    CU_ASSERT_EQUAL(signed_rest("DELETE", "/api/v3/order",
                                "symbol=BTCUSDT&origClientOrderId=ws-test-1"),
                    200);
    CU_ASSERT_FATAL(wait_user_data(&w, from + 4));
    k = find_event(from, "event.x", "CANCELED");
    CU_ASSERT_FATAL(k >= 0);
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.C"), "ws-test-1");
    CU_ASSERT_STRING_EQUAL(tl_str_at(udm[k], "event.S"), "SELL");

    /* unsubscribed: nothing more comes */
    CU_ASSERT_EQUAL(ws_send_text(w.conn, unsub, strlen(unsub)), 0);
    from = nudm;
    CU_ASSERT_FATAL(wait_user_data(&w, from + 1));
    CU_ASSERT_EQUAL(tl_int_at(udm[from], "status"), 200);
    CU_ASSERT_EQUAL(signed_rest("POST", "/api/v3/order",
                                "symbol=BTCUSDT&side=BUY&type=LIMIT&"
                                "timeInForce=GTC&quantity=0.01&price=41000"),
                    200);
    want_messages = (unsigned long)from + 2;
    CU_ASSERT_FALSE(wsc_pump(&w, 500, has_user_data));
    CU_ASSERT_EQUAL(nudm, from + 1);
    user_data_clear();
    wsc_free(&w);
}

static CU_TestInfo ws_tests[] = {
    {"raw depth stream: handshake, a chained depthUpdate",
     test_raw_depth_stream},
    {"combined streams: wrapped aggTrade and kline_1m", test_combined_streams},
    {"bookTicker only when the top changes; aggTrade",
     test_book_ticker_and_agg_trade},
    {"the client subscribes with a masked text message",
     test_client_subscribes},
    {"a ping is answered with a pong carrying its payload", test_ping_answered},
    {"a fragmented message arrives whole", test_fragmented_message},
    {"an oversize message closes with 1009", test_oversize_message_refused},
    {"a malformed frame closes with 1002", test_malformed_frame},
    {"the server's close handshake", test_server_closes},
    {"a forced disconnect is reported as lost", test_forced_disconnect},
    {"the client's close handshake", test_client_closes},
    {"refused and forged handshakes", test_handshake_refused},
    {"malformed URLs are refused", test_bad_urls},
    {"connection refused is reported", test_connection_refused},
    {"wss:// through GnuTLS: trusted CA works, unknown CA refused",
     test_wss_through_tls},
    {"user data stream: signed subscription, order events",
     test_user_data_stream},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ws", suite_init, suite_clean, NULL, NULL, ws_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
