/*
 * daemon.h - what a daemon process needs around its work: the listening
 * socket, and what a SysV-style start needs: leaving the terminal, the pid
 * file, and dropping root after the privileged work (binding) is done.
 *
 * The order the supervisor follows with --daemon --pidfile --user:
 *   bind and set up (as root) -> daemon_detach -> log_to_syslog ->
 *   pidfile_write (as root, so it may live in /run) -> drop_privileges ->
 *   daemon_ready -> fork the workers ... -> pidfile_remove at exit.
 * Under systemd none of this is used: the unit runs the daemon in the
 * foreground as its own user.
 */
#ifndef BINMCPD_DAEMON_H
#define BINMCPD_DAEMON_H

#include <stddef.h>
#include <stdint.h>

/* Room for daemon_format_local's text: "[" INET6_ADDRSTRLEN "]:65535". */
#define DAEMON_ADDR_MAX 64

/*
 * Creates, binds (SO_REUSEADDR) and listens on bind_addr:port (a numeric
 * IPv4 or IPv6 address; port 0 picks a free one), with a backlog of at
 * least 1024. Returns the descriptor (non-blocking, close-on-exec; the
 * caller owns it), or -1 after logging why.
 */
int daemon_listen(const char *bind_addr, int port);

/* Formats fd's local address as "ADDR:PORT" ("[ADDR]:PORT" for IPv6) into
 * buf (DAEMON_ADDR_MAX bytes are enough); "?:0" when it cannot be read. */
void daemon_format_local(int fd, char *buf, size_t len);

/*
 * Detaches from the terminal: fork, setsid, fork again (so the daemon is
 * not a session leader and can never reacquire a controlling terminal),
 * chdir("/"), and stdin, stdout and stderr onto /dev/null. Logging must be
 * switched to syslog (log_to_syslog) right after, since stderr is gone.
 *
 * Returns 0 in the daemon, or -1 with a sentence in err: in the caller when
 * the pipe or the first fork fails (nothing changed then), or in the
 * daemon when chdir or /dev/null fail (stderr may still be the terminal;
 * the caller logs err and exits, and the starter then exits 1).
 *
 * The process that called it otherwise never returns: it waits until the
 * daemon calls daemon_ready() and then _exits 0, or _exits 1 when the
 * daemon exits (or closes the channel) without doing so, so a start script
 * sees a failed start. The intermediate process _exits at once. _exit, not
 * exit: those processes hold copies of the daemon's resources (sockets,
 * shared memory, stdio buffers), and no atexit handler may clean them up
 * on the daemon's behalf.
 *
 * Call it before any thread exists and before forking anything that must
 * belong to the daemon.
 */
int daemon_detach(char *err, size_t len);

/*
 * Tells the process waiting in daemon_detach that the daemon started, and
 * closes the channel to it. Call it once the pid file is written and the
 * privileges are dropped, and before forking workers (they would otherwise
 * inherit the channel). Does nothing when daemon_detach was not called or
 * daemon_ready already ran.
 */
void daemon_ready(void);

/*
 * Writes the calling process's pid ("%ld\n", mode 0644) to path. The file
 * appears complete and atomically (a temporary file beside it is linked
 * into place), so a reader never sees it half written. When path exists:
 *   - it names a live process other than the caller (kill(pid, 0) succeeds
 *     or fails with EPERM): returns -1, err names the pid, the file stays;
 *   - otherwise (a dead pid, the caller's own pid, garbage) the file is
 *     stale and replaced.
 * Returns 0, or -1 with a sentence in err (the directory must exist and be
 * writable). Two instances racing over a stale file are not excluded;
 * binding the same port is what excludes them.
 */
int pidfile_write(const char *path, char *err, size_t len);

/*
 * Removes path if, and only if, it holds the calling process's pid: an
 * instance that lost the race, or an old one stopping after a new one
 * started, leaves the other's file alone. Failures are logged and
 * otherwise ignored. Removing needs write access to the directory, which
 * after drop_privileges means a directory owned by that user (the init
 * script creates one under /run).
 */
void pidfile_remove(const char *path);

/*
 * Becomes user (a name from the password database) for good: its
 * supplementary groups (initgroups), then real, effective and saved group
 * and user ids. Then verifies that root cannot be regained (setuid(0) and
 * seteuid(0) must fail) and that no id is left at 0. Must run as root,
 * unless user is already the caller's identity (then it changes nothing
 * and returns 0). A user whose uid is 0 is refused: that would drop
 * nothing.
 * Returns 0, or -1 with a sentence in err; after a failure in the middle
 * the process may be partly changed and must exit.
 */
int drop_privileges(const char *user, char *err, size_t len);

/*
 * The start-up sequence above, after the socket and the shared pieces
 * exist and before any worker is forked: when detach, daemon_detach,
 * log_to_syslog and pidfile_write (pidfile "" for none); then, when user
 * is not "", drop_privileges; then daemon_ready. The caller's pid changes
 * when it detaches (read getpid() afterwards). Returns 0, or -1 after
 * logging why (a pid file already written is removed).
 */
int daemon_start(int detach, const char *pidfile, const char *user);

/* Respawning a child that died (a worker, the feed): one that lived less
 * than DAEMON_SHORT_LIFE_MS backs off. */
#define DAEMON_SHORT_LIFE_MS 10000

/* The delay before a child that keeps dying is forked again, growing with
 * *quick_crashes (its short-lived deaths in a row, incremented here): at
 * once the first time, then 100 ms, 200 ms, ... up to 2 s. */
int64_t daemon_respawn_backoff_ms(int *quick_crashes);

/* Describes a wait() status into buf: "exit status N", "killed by signal
 * N (NAME)[, core dumped]" or "wait status 0x..". */
void daemon_describe_status(int status, char *buf, size_t len);

/*
 * Names the calling process by its role: every later log line carries tag
 * (log_set_tag, e.g. "worker 3"); comm (at most 15 bytes, e.g.
 * "binmcpd-w3"; NULL keeps it) becomes the kernel's name of the process
 * (prctl PR_SET_NAME: top, pgrep, /proc/PID/stat; threads created later
 * inherit it); and, when argv is not NULL, the command line becomes
 * "binmcpd: TAG" (ps, /proc/PID/cmdline), cut to the length of the
 * original arguments. That overwrites the strings of argv: only for a
 * process that never reads them again (a worker; the supervisor re-reads
 * its command line on SIGHUP). Call once, before threads start.
 */
void daemon_name_process(const char *tag, const char *comm, int argc,
                         char **argv);

#endif
