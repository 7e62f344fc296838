/*
 * daemon.c - the listening socket, detaching, the pid file, dropping root.
 * See daemon.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "util.h"

#define DAEMON_BACKLOG        (SOMAXCONN > 1024 ? SOMAXCONN : 1024)
#define DAEMON_BACKOFF_MIN_MS 100
#define DAEMON_BACKOFF_MAX_MS 2000

/* ---- the listening socket ---- */

void
daemon_format_local(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
            port = ntohs(a6->sin6_port);
            snprintf(buf, len, "[%s]:%d", host, port);
            return;
        }
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
        port = ntohs(a4->sin_port);
    }
    snprintf(buf, len, "%s:%d", host, port);
}

int
daemon_listen(const char *bind_addr, int port_num)
{
    struct addrinfo hints, *ai = NULL;
    char port[16];
    int fd, one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", port_num);
    rc = getaddrinfo(bind_addr, port, &hints, &ai);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", bind_addr, port_num,
                  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, DAEMON_BACKLOG) < 0) {
        log_error("cannot listen on %s:%d: %s", bind_addr, port_num,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* ---- detaching ---- */

/* The daemon's end of the channel to the process waiting in
 * daemon_detach, until daemon_ready closes it. */
static int daemon_ready_fd = -1;

/* The byte daemon_ready sends. Anything else, or nothing, is a failure. */
#define DAEMON_READY_BYTE 'R'

/* The starter's side of daemon_detach: reap the intermediate process, then
 * wait for the daemon's word and exit with the start's outcome. */
__attribute__((noreturn)) static void
daemon_wait_ready(int fd, pid_t first_child)
{
    sigset_t none;
    char byte = 0;
    ssize_t n;
    int st;

    /* The caller may have blocked signals for a signalfd; the starter
     * should die of Ctrl-C or a TERM like any short-lived command. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    while (waitpid(first_child, &st, 0) < 0 && errno == EINTR)
        ;
    do {
        n = read(fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && byte == DAEMON_READY_BYTE)
        _exit(0);
    log_error("the daemon stopped during start-up; see the system log");
    _exit(1);
}

int
daemon_detach(char *err, size_t len)
{
    int pfd[2], nullfd;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(err, len, "cannot detach: pipe: %s", strerror(errno));
        return -1;
    }
    /* Nothing buffered may be written twice, by parent and child. */
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        snprintf(err, len, "cannot detach: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid > 0) {
        close(pfd[1]);
        daemon_wait_ready(pfd[0], pid);
    }

    /* The intermediate process: a new session without a terminal. Its
     * failures still reach the terminal through stderr. */
    close(pfd[0]);
    if (setsid() < 0) {
        log_warn("cannot detach: setsid");
        _exit(1);
    }
    pid = fork();
    if (pid < 0) {
        log_warn("cannot detach: fork");
        _exit(1);
    }
    if (pid > 0)
        _exit(0);

    /* The daemon: not a session leader, so no open() of a terminal can
     * make one its controlling terminal. */
    daemon_ready_fd = pfd[1];
    if (chdir("/") < 0) {
        snprintf(err, len, "cannot detach: chdir /: %s", strerror(errno));
        return -1;
    }
    nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nullfd < 0) {
        snprintf(err, len, "cannot detach: /dev/null: %s", strerror(errno));
        return -1;
    }
    /* dup2 clears FD_CLOEXEC on the copies: 0, 1 and 2 stay open. */
    for (int fd = 0; fd <= 2; fd++) {
        if (dup2(nullfd, fd) < 0) {
            snprintf(err, len, "cannot detach: dup2: %s", strerror(errno));
            close(nullfd);
            return -1;
        }
    }
    if (nullfd > 2)
        close(nullfd);
    return 0;
}

void
daemon_ready(void)
{
    char byte = DAEMON_READY_BYTE;
    ssize_t n;

    if (daemon_ready_fd < 0)
        return;
    do {
        n = write(daemon_ready_fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
        log_warn("cannot tell the starting process that the daemon is up");
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
}

/* ---- the pid file ---- */

/* Reads the pid stored in path into *pid. Returns 0, or -1 when the file
 * cannot be read or does not hold exactly one positive decimal number
 * (optionally followed by white space). Does not follow a symlink. */
static int
pidfile_read(const char *path, pid_t *pid)
{
    char buf[32], *end;
    ssize_t n;
    long v;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (buf[0] < '0' || buf[0] > '9')
        return -1;
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || v <= 0 || v > (long)0x7fffffff)
        return -1;
    while (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r')
        end++;
    if (*end != '\0')
        return -1;
    *pid = (pid_t)v;
    return 0;
}

/* 1 when pid names a live process (one we may not signal counts). */
static int
pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int
pidfile_write(const char *path, char *err, size_t len)
{
    char tmp[4096], content[32];
    int n, fd, clen;
    pid_t self = getpid(), other;

    n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)self);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, len, "pid file %s: path too long", path);
        return -1;
    }
    clen = snprintf(content, sizeof(content), "%ld\n", (long)self);
    /* A leftover of an earlier process that had our pid. */
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        snprintf(err, len, "cannot create the pid file %s (as %s): %s", path,
                 tmp, strerror(errno));
        return -1;
    }
    /* Readable by status checks whatever the umask is. */
    if (fchmod(fd, 0644) < 0 || write_all(fd, content, (size_t)clen) < 0) {
        snprintf(err, len, "cannot write the pid file %s: %s", path,
                 strerror(errno));
        close(fd);
        (void)unlink(tmp);
        return -1;
    }
    if (close(fd) < 0) {
        snprintf(err, len, "cannot write the pid file %s: %s", path,
                 strerror(errno));
        (void)unlink(tmp);
        return -1;
    }
    /* link() fails with EEXIST instead of replacing: the O_EXCL of a file
     * that is complete the moment it appears. */
    if (link(tmp, path) == 0) {
        (void)unlink(tmp);
        return 0;
    }
    if (errno != EEXIST) {
        snprintf(err, len, "cannot create the pid file %s: %s", path,
                 strerror(errno));
        (void)unlink(tmp);
        return -1;
    }
    if (pidfile_read(path, &other) == 0 && other != self && pid_alive(other)) {
        snprintf(err, len,
                 "the pid file %s names process %ld, which is running: "
                 "is binmcpd already running?",
                 path, (long)other);
        (void)unlink(tmp);
        return -1;
    }
    /* Stale: replace it in one step, so the path never goes missing. */
    if (rename(tmp, path) < 0) {
        snprintf(err, len, "cannot replace the stale pid file %s: %s", path,
                 strerror(errno));
        (void)unlink(tmp);
        return -1;
    }
    log_info("replaced the stale pid file %s", path);
    return 0;
}

void
pidfile_remove(const char *path)
{
    pid_t pid;

    if (path == NULL || path[0] == '\0')
        return;
    if (pidfile_read(path, &pid) < 0 || pid != getpid())
        return;
    if (unlink(path) < 0)
        log_warn("cannot remove the pid file %s", path);
}

/* ---- privileges ---- */

int
drop_privileges(const char *user, char *err, size_t len)
{
    struct passwd *pw;
    uid_t uid, ruid, euid, suid;
    gid_t gid, rgid, egid, sgid;

    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        if (errno != 0)
            snprintf(err, len, "cannot look up user %s: %s", user,
                     strerror(errno));
        else
            snprintf(err, len, "no such user: %s", user);
        return -1;
    }
    /* pw points into static storage that initgroups may overwrite. */
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (uid == 0 || gid == 0) {
        snprintf(err, len,
                 "user %s has user or group id 0: name an unprivileged user",
                 user);
        return -1;
    }
    if (geteuid() != 0) {
        if (getuid() == uid && geteuid() == uid)
            return 0;
        snprintf(err, len, "cannot become user %s: not running as root", user);
        return -1;
    }
    if (initgroups(user, gid) < 0) {
        snprintf(err, len, "cannot set the groups of %s: %s", user,
                 strerror(errno));
        return -1;
    }
    /* The group first: once the uid is gone, so is the right to change
     * it. setres* sets the saved ids too. */
    if (setresgid(gid, gid, gid) < 0) {
        snprintf(err, len, "cannot set group id %ld: %s", (long)gid,
                 strerror(errno));
        return -1;
    }
    if (setresuid(uid, uid, uid) < 0) {
        snprintf(err, len, "cannot set user id %ld: %s", (long)uid,
                 strerror(errno));
        return -1;
    }
    if (getresuid(&ruid, &euid, &suid) < 0 ||
        getresgid(&rgid, &egid, &sgid) < 0 || ruid != uid || euid != uid ||
        suid != uid || rgid != gid || egid != gid || sgid != gid) {
        snprintf(err, len, "the ids did not all change to user %s", user);
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || setegid(0) == 0) {
        snprintf(err, len, "root could be regained after becoming %s", user);
        return -1;
    }
    return 0;
}

/* ---- start-up and child processes ---- */

int
daemon_start(int detach, const char *pidfile, const char *user)
{
    char err[256];

    if (detach) {
        if (daemon_detach(err, sizeof(err)) < 0) {
            log_error("%s", err);
            return -1;
        }
        log_to_syslog("binmcpd");
        if (pidfile[0] != '\0' &&
            pidfile_write(pidfile, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return -1;
        }
    }
    if (user[0] != '\0' && drop_privileges(user, err, sizeof(err)) < 0) {
        log_error("%s", err);
        if (detach)
            pidfile_remove(pidfile);
        return -1;
    }
    daemon_ready();
    return 0;
}

void
daemon_describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, len, "wait status 0x%x", (unsigned)status);
    }
}

/* ---- the process's name ---- */

/* Overwrites the command line (what ps shows and /proc/PID/cmdline reads)
 * with title, within the bytes of the original arguments, which must be
 * contiguous (the kernel lays them out so); the rest is zeroed. */
static void
set_cmdline(int argc, char **argv, const char *title)
{
    char *end;

    if (argc < 1 || argv == NULL || argv[0] == NULL)
        return;
    end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++)
        end += strlen(argv[i]) + 1;
    size_t room = (size_t)(end - argv[0]);
    memset(argv[0], 0, room);
    memcpy(argv[0], title, strnlen(title, room - 1));
}

void
daemon_name_process(const char *tag, const char *comm, int argc, char **argv)
{
    char title[64];

    log_set_tag(tag);
    if (comm != NULL && prctl(PR_SET_NAME, comm, 0, 0, 0) < 0)
        log_warn("prctl PR_SET_NAME");
    if (argv != NULL) {
        snprintf(title, sizeof(title), "binmcpd: %s", tag);
        set_cmdline(argc, argv, title);
    }
}

int64_t
daemon_respawn_backoff_ms(int *quick_crashes)
{
    int64_t d = *quick_crashes == 0 ? 0 : DAEMON_BACKOFF_MIN_MS;

    for (int i = 1; i < *quick_crashes && d < DAEMON_BACKOFF_MAX_MS; i++)
        d *= 2;
    if (*quick_crashes < 30)
        (*quick_crashes)++;
    return d < DAEMON_BACKOFF_MAX_MS ? d : DAEMON_BACKOFF_MAX_MS;
}
