/*
 * test_tls.c - unit tests of loading the HTTPS certificate and key, with
 * keys and certificates made by certtool (gnutls-bin) at test time, and a
 * real HTTPS exchange: libmicrohttpd with the loaded PEM text, libcurl
 * trusting the generated certificate.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "testlib.h"
#include "tls.h"

static char dir[64];

/* dir/name */
static const char *
in_dir(const char *name)
{
    static char bufs[8][128];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
    return p;
}

/* Runs certtool with args (NULL-terminated), output discarded. Returns its
 * exit status, or -1. */
static int
certtool(const char *const *args)
{
    const char *argv[24];
    int n = 0, status;

    argv[n++] = "certtool";
    for (int i = 0; args[i] != NULL && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        if (getenv("TEST_TLS_VERBOSE") == NULL)
            dup2(null, STDERR_FILENO);
        execvp("certtool", (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0;
    close(fd);
    return ok ? 0 : -1;
}

/* Concatenates files a and b into out. */
static int
concat(const char *a, const char *b, const char *out)
{
    const char *in[2] = {a, b};
    char buf[4096];
    int rc = 0;
    FILE *o = fopen(out, "w");

    if (o == NULL)
        return -1;
    for (int k = 0; k < 2; k++) {
        FILE *i = fopen(in[k], "r");
        if (i == NULL) {
            rc = -1;
            break;
        }
        for (size_t n; (n = fread(buf, 1, sizeof(buf), i)) > 0;)
            if (fwrite(buf, 1, n, o) != n)
                rc = -1;
        fclose(i);
    }
    if (fclose(o) != 0)
        rc = -1;
    return rc;
}

/* A new private key at path: ECDSA P-256, or RSA 2048 bits. */
static int
make_key(const char *path, int rsa)
{
    const char *ec[] = {"--generate-privkey", "--key-type=ecdsa", "--outfile",
                        path, NULL};
    const char *rs[] = {"--generate-privkey",
                        "--key-type=rsa",
                        "--bits=2048",
                        "--outfile",
                        path,
                        NULL};
    return certtool(rsa ? rs : ec);
}

/* A self-signed certificate for 127.0.0.1 / localhost with key key. */
static int
make_cert(const char *key, const char *cert)
{
    const char *args[] = {
        "--generate-self-signed", "--load-privkey", key,  "--template",
        in_dir("template"),       "--outfile",      cert, NULL};
    return certtool(args);
}

/* key, encrypted with a passphrase (PKCS #8), at out. */
static int
encrypt_key(const char *key, const char *out)
{
    const char *args[] = {"--to-p8", "--load-privkey", key, "--password",
                          "secret",  "--outfile",      out, NULL};
    return certtool(args);
}

static int
suite_clean(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return rmdir(dir);
}

static int
suite_init(void)
{
    static const char tmpl[] = "cn = \"localhost\"\n"
                               "dns_name = \"localhost\"\n"
                               "ip_address = \"127.0.0.1\"\n"
                               "expiration_days = 2\n"
                               "tls_www_server\n"
                               "signing_key\n"
                               "encryption_key\n";
    strcpy(dir, "/tmp/test_tls.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (write_file(in_dir("template"), tmpl, strlen(tmpl), 0600) < 0)
        goto fail;
    if (make_key(in_dir("key.pem"), 0) != 0) {
        fprintf(stderr, "certtool (Debian package gnutls-bin) is needed\n");
        goto fail;
    }
    if (make_key(in_dir("other-key.pem"), 0) != 0 ||
        make_key(in_dir("rsa-key.pem"), 1) != 0 ||
        encrypt_key(in_dir("key.pem"), in_dir("enc-key.pem")) != 0 ||
        make_cert(in_dir("key.pem"), in_dir("cert.pem")) != 0 ||
        make_cert(in_dir("other-key.pem"), in_dir("other-cert.pem")) != 0 ||
        make_cert(in_dir("rsa-key.pem"), in_dir("rsa-cert.pem")) != 0 ||
        concat(in_dir("cert.pem"), in_dir("other-cert.pem"),
               in_dir("chain.pem")) < 0 ||
        concat(in_dir("other-cert.pem"), in_dir("cert.pem"),
               in_dir("wrong-chain.pem")) < 0)
        goto fail;
    chmod(in_dir("key.pem"), 0600);
    chmod(in_dir("enc-key.pem"), 0600);
    return 0;

fail:
    suite_clean(); /* CUnit does not call it when init fails */
    return -1;
}

/* Loads and expects failure with want in the message. */
static void
expect_error(const char *cert, const char *key, const char *want)
{
    char err[512] = "", *c = (char *)1, *k = (char *)1;
    CU_ASSERT_EQUAL(tls_load(cert, key, &c, &k, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NULL(k);
    if (strstr(err, want) == NULL)
        fprintf(stderr, "\n  got \"%s\", wanted \"%s\"\n", err, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
}

static void
test_good_pairs(void)
{
    char err[512] = "", *cert = NULL, *key = NULL;

    CU_ASSERT_EQUAL(tls_load(in_dir("cert.pem"), in_dir("key.pem"), &cert, &key,
                             err, sizeof(err)),
                    0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_PTR_NOT_NULL(strstr(cert, "-----BEGIN CERTIFICATE-----"));
    CU_ASSERT_PTR_NOT_NULL(strstr(key, "PRIVATE KEY-----"));
    tls_free_pem(cert, key);

    /* RSA, and a chain whose first certificate is the server's */
    chmod(in_dir("rsa-key.pem"), 0400);
    CU_ASSERT_EQUAL(tls_load(in_dir("rsa-cert.pem"), in_dir("rsa-key.pem"),
                             &cert, &key, err, sizeof(err)),
                    0);
    tls_free_pem(cert, key);
    CU_ASSERT_EQUAL(tls_load(in_dir("chain.pem"), in_dir("key.pem"), &cert,
                             &key, err, sizeof(err)),
                    0);
    tls_free_pem(cert, key);
    tls_free_pem(NULL, NULL);
}

static void
test_bad_pairs(void)
{
    chmod(in_dir("other-key.pem"), 0600);
    expect_error(in_dir("cert.pem"), in_dir("other-key.pem"),
                 "does not belong to the certificate");
    expect_error(in_dir("wrong-chain.pem"), in_dir("key.pem"),
                 "does not belong to the certificate");
    expect_error(in_dir("cert.pem"), in_dir("enc-key.pem"), "is encrypted");
    /* the certificate where the key should be, and the other way round */
    CU_ASSERT_EQUAL(chmod(in_dir("other-cert.pem"), 0600), 0);
    expect_error(in_dir("cert.pem"), in_dir("other-cert.pem"),
                 "is not a PEM private key");
    expect_error(in_dir("key.pem"), in_dir("key.pem"),
                 "is not a PEM certificate");
}

static void
test_key_mode(void)
{
    char want[256];

    CU_ASSERT_EQUAL(chmod(in_dir("other-key.pem"), 0644), 0);
    snprintf(want, sizeof(want), "(mode 0644); run: chmod 600 %s",
             in_dir("other-key.pem"));
    expect_error(in_dir("other-cert.pem"), in_dir("other-key.pem"), want);
    CU_ASSERT_EQUAL(chmod(in_dir("other-key.pem"), 0640), 0);
    expect_error(in_dir("other-cert.pem"), in_dir("other-key.pem"),
                 "accessible by group or others");
    CU_ASSERT_EQUAL(chmod(in_dir("other-key.pem"), 0600), 0);
    /* a world-readable certificate is fine */
    CU_ASSERT_EQUAL(chmod(in_dir("other-cert.pem"), 0644), 0);
    char err[512], *c, *k;
    CU_ASSERT_EQUAL(tls_load(in_dir("other-cert.pem"), in_dir("other-key.pem"),
                             &c, &k, err, sizeof(err)),
                    0);
    tls_free_pem(c, k);
}

static void
test_garbage(void)
{
    static const char junk[] = "this is not PEM\n";
    static const char with_nul[] = "-----BEGIN PRIVATE KEY-----\n\0junk\n";

    CU_ASSERT_EQUAL(write_file(in_dir("junk.pem"), junk, strlen(junk), 0600),
                    0);
    CU_ASSERT_EQUAL(write_file(in_dir("empty.pem"), "", 0, 0600), 0);
    CU_ASSERT_EQUAL(
        write_file(in_dir("nul.pem"), with_nul, sizeof(with_nul) - 1, 0600), 0);
    expect_error(in_dir("junk.pem"), in_dir("key.pem"),
                 "is not a PEM certificate");
    expect_error(in_dir("empty.pem"), in_dir("key.pem"),
                 "is not a PEM certificate");
    expect_error(in_dir("cert.pem"), in_dir("junk.pem"),
                 "is not a PEM private key");
    expect_error(in_dir("cert.pem"), in_dir("empty.pem"),
                 "is not a PEM private key");
    expect_error(in_dir("cert.pem"), in_dir("nul.pem"), "holds a NUL byte");
    expect_error(in_dir("missing.pem"), in_dir("key.pem"),
                 "cannot open the TLS certificate");
    expect_error(in_dir("cert.pem"), in_dir("missing.pem"),
                 "cannot open the TLS key");
    expect_error(dir, in_dir("key.pem"), "not a regular file");
}

/* ---- a real HTTPS exchange ---- */

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size,
       void **con_cls)
{
    static const char body[] = "hello over TLS\n";
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

struct sink {
    char buf[256];
    size_t len;
};

static size_t
sink_write(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t take = sz * n;
    if (take > sizeof(s->buf) - 1 - s->len)
        take = sizeof(s->buf) - 1 - s->len;
    memcpy(s->buf + s->len, p, take);
    s->len += take;
    s->buf[s->len] = '\0';
    return sz * n;
}

/* GETs url; cainfo NULL: the system's trust store. Returns curl's code
 * and fills *status and the body. */
static CURLcode
fetch(const char *url, const char *cainfo, long *status, struct sink *s)
{
    CURL *h = curl_easy_init();
    CURLcode rc;

    *status = 0;
    memset(s, 0, sizeof(*s));
    if (h == NULL)
        return CURLE_FAILED_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (cainfo != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, cainfo);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    return rc;
}

static void
test_https(void)
{
    char err[512] = "", *cert = NULL, *key = NULL, url[128];
    struct sink s;
    long status;

    CU_ASSERT_EQUAL_FATAL(tls_load(in_dir("cert.pem"), in_dir("key.pem"), &cert,
                                   &key, err, sizeof(err)),
                          0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL, answer,
        NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    /* MHD keeps its own copy (GnuTLS credentials): ours can go now */
    tls_free_pem(cert, key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    int port = info->port;
    CU_ASSERT(port > 0);

    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
    CU_ASSERT_EQUAL(fetch(url, in_dir("cert.pem"), &status, &s), CURLE_OK);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_STRING_EQUAL(s.buf, "hello over TLS\n");
    snprintf(url, sizeof(url), "https://localhost:%d/", port);
    CU_ASSERT_EQUAL(fetch(url, in_dir("cert.pem"), &status, &s), CURLE_OK);
    CU_ASSERT_EQUAL(status, 200);
    /* without trusting the certificate the handshake is refused: it is
     * really TLS, with our certificate */
    CU_ASSERT_EQUAL(fetch(url, in_dir("other-cert.pem"), &status, &s),
                    CURLE_PEER_FAILED_VERIFICATION);
    /* plain HTTP to the TLS port gets no HTTP answer */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    CU_ASSERT_NOT_EQUAL(fetch(url, NULL, &status, &s), CURLE_OK);
    MHD_stop_daemon(d);
}

static CU_TestInfo tls_tests[] = {
    {"good pairs load", test_good_pairs},
    {"a key that does not match is refused", test_bad_pairs},
    {"a key readable by others is refused", test_key_mode},
    {"garbage, empty and missing files", test_garbage},
    {"HTTPS through libmicrohttpd, checked by libcurl", test_https},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"tls", suite_init, suite_clean, NULL, NULL, tls_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = testlib_run(suites);
    curl_global_cleanup();
    return rc;
}
