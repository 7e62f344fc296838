/*
 * log.c - logging with levels, to stderr or syslog. See log.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_min = LOG_LVL_INFO;
static int log_syslog;     /* 1 after log_to_syslog() */
static char log_ident[32]; /* openlog() keeps the pointer */
static char log_tag[32];   /* "" or the process's role, with ": " */

void
log_set_tag(const char *tag)
{
    if (tag == NULL || tag[0] == '\0')
        log_tag[0] = '\0';
    else
        snprintf(log_tag, sizeof(log_tag), "%.29s: ", tag);
}

void
log_set_level(enum log_level level)
{
    log_min = level;
}

void
log_to_syslog(const char *ident)
{
    if (log_syslog)
        closelog();
    snprintf(log_ident, sizeof(log_ident), "%s", ident);
    openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_syslog = 1;
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

static void log_vemit(enum log_level level, const char *errstr,
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_vemit(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
    static const char *const label[] = {"debug", "info", "notice", "warning",
                                        "error"};
    static const int priority[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING,
                                   LOG_ERR};
    char msg[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;

    if (level < log_min)
        return;
    if (log_syslog) {
        /* syslog stamps the time, the ident and the pid itself. */
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (errstr != NULL)
            syslog(priority[level], "%s%s: %s", log_tag, msg, errstr);
        else
            syslog(priority[level], "%s%s", log_tag, msg);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One fprintf per line so lines from several processes do not mix. */
    if (errstr != NULL)
        fprintf(stderr, "%s.%03ldZ binmcpd[%ld]: %s: %s%s: %s\n", stamp,
                ts.tv_nsec / 1000000, (long)getpid(), label[level], log_tag,
                msg, errstr);
    else
        fprintf(stderr, "%s.%03ldZ binmcpd[%ld]: %s: %s%s\n", stamp,
                ts.tv_nsec / 1000000, (long)getpid(), label[level], log_tag,
                msg);
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
