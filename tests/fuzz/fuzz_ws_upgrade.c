/*
 * fuzz_ws_upgrade.c - libFuzzer harness of the WebSocket client's check
 * of the server's answer to its HTTP Upgrade request (ws_upgrade_check,
 * ws.h): the status line, the headers, the Sec-WebSocket-Accept against
 * the value the request's key calls for.
 *
 * The answer goes in as ws.c hands it over: the bytes up to and including
 * the first blank line ("\r\n\r\n"), copied to a buffer of exactly that
 * size (no NUL after it, so a read past it is caught); an input without a
 * blank line is checked whole, as a capped answer would be. The expected
 * accept is RFC 6455's example (key "dGhlIHNhbXBsZSBub25jZQ=="), which the
 * seeds carry. Checked: a refusal says why in a NUL-terminated sentence
 * that fits (also into a small buffer); an accepted answer holds the
 * accept value and starts with "HTTP/1.1".
 *
 * Input: an HTTP answer (seeds: what the fake exchange and Binance send,
 * and refusals).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "ws.h"

#define FUZZ_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *blank;
    char why[256], small[8];
    size_t hlen = size;
    char *answer;
    int rc;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (size >= 4 && (blank = memmem(data, size, "\r\n\r\n", 4)) != NULL)
        hlen = (size_t)(blank - data) + 4;
    answer = malloc(hlen ? hlen : 1);
    if (answer == NULL)
        abort();
    if (hlen > 0)
        memcpy(answer, data, hlen);
    memset(why, 'x', sizeof(why));
    rc = ws_upgrade_check(answer, hlen, FUZZ_ACCEPT, why, sizeof(why));
    if (rc == 0) {
        if (hlen < 8 || memcmp(answer, "HTTP/1.1", 8) != 0 ||
            memmem(answer, hlen, FUZZ_ACCEPT, strlen(FUZZ_ACCEPT)) == NULL)
            abort();
    } else if (rc != -1 || memchr(why, '\0', sizeof(why)) == NULL ||
               why[0] == '\0') {
        abort();
    }
    /* the same verdict when the sentence does not fit */
    memset(small, 'x', sizeof(small));
    if (ws_upgrade_check(answer, hlen, FUZZ_ACCEPT, small, sizeof(small)) !=
            rc ||
        (rc < 0 && memchr(small, '\0', sizeof(small)) == NULL))
        abort();
    free(answer);
    return 0;
}
