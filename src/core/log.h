/*
 * log.h - the daemon's logging, in the OpenBSD idiom.
 *
 * In the foreground everything goes to stderr (stdout belongs to the stdio
 * transport), as lines "TIME binmcpd[pid]: level: message", or
 * "TIME binmcpd[pid]: level: TAG: message" once the process has a tag. A
 * detached daemon switches to syslog(3) with log_to_syslog(). Nothing here may
 * ever be handed a secret: callers mask keys with creds_mask() first.
 */
#ifndef BINMCPD_LOG_H
#define BINMCPD_LOG_H

#include <stdarg.h>

enum log_level {
    LOG_LVL_DEBUG = 0,
    LOG_LVL_INFO,
    LOG_LVL_NOTICE,
    LOG_LVL_WARNING,
    LOG_LVL_ERROR,
};

/* Sets the lowest level that is printed. */
void log_set_level(enum log_level level);

/* From now on sends every line to syslog(3) instead of stderr: facility
 * LOG_DAEMON, ident (copied; up to 31 bytes are kept) with the pid, and
 * the levels mapped to LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING and
 * LOG_ERR. The level set by log_set_level still filters. The syslog
 * socket is opened at once, so that it works after privileges are
 * dropped; processes forked later share it. Calling it again reopens. */
void log_to_syslog(const char *ident);

/* Tags every later line of this process with tag (copied; up to 29 bytes
 * are kept; NULL or "" removes the tag), e.g. "worker 3" or "supervisor",
 * in the foreground and in syslog alike. A process sets it once, before it
 * starts threads: it is not locked. */
void log_set_tag(const char *tag);

/* Parses "debug", "info", "notice", "warning"/"warn", "error". Returns 0 and
 * stores the level, or -1 when the name is unknown. */
int log_level_parse(const char *name, enum log_level *out);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Logs at error level and exits with status 1. */
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
