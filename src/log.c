/*
 * log.c - stderr logging with levels. See log.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_min = LOG_LVL_INFO;

void
log_set_level(enum log_level level)
{
    log_min = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        {"debug", LOG_LVL_DEBUG},   {"info", LOG_LVL_INFO},
        {"notice", LOG_LVL_NOTICE}, {"warning", LOG_LVL_WARNING},
        {"warn", LOG_LVL_WARNING},  {"error", LOG_LVL_ERROR},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

static void
log_vemit(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
    static const char *const label[] = {"debug", "info", "notice", "warning",
                                        "error"};
    char msg[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;

    if (level < log_min)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One fprintf per line so lines from several processes do not mix. */
    if (errstr != NULL)
        fprintf(stderr, "%s.%03ldZ binmcpd[%ld]: %s: %s: %s\n", stamp,
                ts.tv_nsec / 1000000, (long)getpid(), label[level], msg,
                errstr);
    else
        fprintf(stderr, "%s.%03ldZ binmcpd[%ld]: %s: %s\n", stamp,
                ts.tv_nsec / 1000000, (long)getpid(), label[level], msg);
}

#define LOG_BODY(level, errstr)                                                \
    do {                                                                       \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_vemit((level), (errstr), fmt, ap);                                 \
        va_end(ap);                                                            \
    } while (0)

void
log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
    const char *e = strerror(errno);
    LOG_BODY(LOG_LVL_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_WARNING, NULL);
}

void
log_error(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_ERROR, NULL);
}

void
fatalx(const char *fmt, ...)
{
    LOG_BODY(LOG_LVL_ERROR, NULL);
    exit(1);
}
