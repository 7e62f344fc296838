/*
 * test_daemon.c - unit tests of daemon.c and of log_to_syslog: pid file
 * semantics (a live holder, stale files, symlinks), a real detach in a
 * forked child (the test becomes a subreaper so the daemon is reparented
 * to it and can be reaped), and dropping root to "nobody" in a child.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "daemon.h"
#include "log.h"
#include "testlib.h"

/* Each suite gets a fresh directory. */
static char tmpdir[64];

/* Builds tmpdir/name into buf (PATH_MAX bytes). */
static const char *
tmp_path(char *buf, const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
    return buf;
}

static int
write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(content, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Reads up to len-1 bytes of path into buf; returns the length or -1. */
static ssize_t
read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* Waits for pid; returns its exit status, 128+signal, or -1. */
static int
wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* The pid of a process that existed and is gone (reaped). */
static pid_t
dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        wait_status(pid);
    return pid;
}

/* Number of entries in tmpdir whose name starts with prefix. */
static int
count_entries(const char *prefix)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int
suite_init(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_daemon.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- pid file ---- */

static void
test_pidfile_create_remove(void)
{
    char path[PATH_MAX], buf[64], want[32], err[256] = "";
    struct stat st;

    tmp_path(path, "a.pid");
    CU_ASSERT_EQUAL_FATAL(pidfile_write(path, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    CU_ASSERT(read_file(path, buf, sizeof(buf)) > 0);
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
    /* no temporary file left behind */
    CU_ASSERT_EQUAL(count_entries("a.pid"), 1);
    pidfile_remove(path);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_entries("a.pid"), 0);
}

static void
test_pidfile_live_holder(void)
{
    char path[PATH_MAX], buf[64], other[32], err[256] = "";
    int gate[2];
    pid_t pid;

    tmp_path(path, "live.pid");
    CU_ASSERT_FATAL(pipe(gate) == 0);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char c;
        close(gate[1]);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(gate[0]);
    snprintf(other, sizeof(other), "%ld\n", (long)pid);
    CU_ASSERT_EQUAL_FATAL(write_file(path, other), 0);

    CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), -1);
    other[strlen(other) - 1] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(err, other));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "running"));
    /* the holder's file is untouched, and no temporary is left */
    CU_ASSERT(read_file(path, buf, sizeof(buf)) > 0);
    CU_ASSERT_EQUAL(atol(buf), (long)pid);
    CU_ASSERT_EQUAL(count_entries("live.pid"), 1);
    /* not ours: remove leaves it */
    pidfile_remove(path);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);

    /* the holder dies: now the file is stale and taken over */
    close(gate[1]);
    CU_ASSERT_EQUAL(wait_status(pid), 0);
    CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), 0);
    CU_ASSERT(read_file(path, buf, sizeof(buf)) > 0);
    CU_ASSERT_EQUAL(atol(buf), (long)getpid());
    pidfile_remove(path);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
}

static void
test_pidfile_stale(void)
{
    char path[PATH_MAX], buf[64], content[32], err[256] = "";
    const char *stale[5];
    pid_t gone = dead_pid();

    CU_ASSERT_FATAL(gone > 0);
    snprintf(content, sizeof(content), "%ld\n", (long)gone);
    stale[0] = content;     /* a process that is gone */
    stale[1] = "hello\n";   /* garbage */
    stale[2] = "";          /* empty (a crash while writing, elsewhere) */
    stale[3] = "-5\n";      /* not a pid */
    stale[4] = "123 456\n"; /* two numbers */
    tmp_path(path, "stale.pid");
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(write_file(path, stale[i]), 0);
        CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), 0);
        CU_ASSERT(read_file(path, buf, sizeof(buf)) > 0);
        CU_ASSERT_EQUAL(atol(buf), (long)getpid());
    }
    /* our own pid, left by an earlier run that had it: ours to replace */
    CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(count_entries("stale.pid"), 1);
    pidfile_remove(path);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
}

static void
test_pidfile_symlink(void)
{
    char path[PATH_MAX], victim[PATH_MAX], buf[64], err[256] = "";
    struct stat st;

    tmp_path(path, "link.pid");
    tmp_path(victim, "victim");
    CU_ASSERT_EQUAL_FATAL(write_file(victim, "keep\n"), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(victim, path), 0);
    /* the link is replaced, never written through */
    CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), 0);
    CU_ASSERT(read_file(victim, buf, sizeof(buf)) > 0);
    CU_ASSERT_STRING_EQUAL(buf, "keep\n");
    CU_ASSERT_EQUAL(lstat(path, &st), 0);
    CU_ASSERT(S_ISREG(st.st_mode));
    pidfile_remove(path);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    unlink(victim);
}

static void
test_pidfile_errors(void)
{
    char path[PATH_MAX], err[256] = "";

    tmp_path(path, "no/such/dir/x.pid");
    CU_ASSERT_EQUAL(pidfile_write(path, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no/such/dir"));
    /* removing what does not exist, or nothing, is harmless */
    pidfile_remove(path);
    pidfile_remove("");
    pidfile_remove(NULL);
}

/* ---- detach ---- */

/* Polls until path exists, up to ms milliseconds. Returns 0 or -1. */
static int
wait_for_file(const char *path, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (access(path, F_OK) == 0)
            return 0;
        poll(NULL, 0, 10);
    }
    return -1;
}

/* 1 when fd is open on /dev/null. */
static int
is_dev_null(int fd)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 &&
           S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev;
}

/* The daemon side of the detach tests: report, wait for "go", then either
 * say ready and wait for the release (EOF), or exit without a word. */
static void
detached_child(const char *report, int gate, int ready)
{
    char cwd[PATH_MAX], line[256], c;
    FILE *f;

    if (getcwd(cwd, sizeof(cwd)) == NULL)
        strcpy(cwd, "?");
    snprintf(line, sizeof(line), "%ld %ld %ld %s %d%d%d\n", (long)getpid(),
             (long)getsid(0), (long)getpgrp(), cwd, is_dev_null(0),
             is_dev_null(1), is_dev_null(2));
    /* Written to a temporary and renamed: the test polls for the name. */
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", report);
    f = fopen(tmp, "w");
    if (f == NULL)
        _exit(20);
    fputs(line, f);
    if (fclose(f) != 0 || rename(tmp, report) != 0)
        _exit(21);
    while (read(gate, &c, 1) < 0 && errno == EINTR)
        ;
    if (!ready)
        _exit(5);
    daemon_ready();
    while (read(gate, &c, 1) != 0)
        ;
    _exit(0);
}

/* Forks a starter that calls daemon_detach. Returns the starter's pid;
 * *gate_w is the write end of the daemon's gate; the starter's stderr goes
 * to *err_r. */
static pid_t
start_detached(const char *report, int ready, int *gate_w, int *err_r)
{
    int gate[2], errp[2];
    pid_t pid;

    if (pipe(gate) < 0 || pipe(errp) < 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char err[256];
        close(gate[1]);
        close(errp[0]);
        dup2(errp[1], STDERR_FILENO);
        close(errp[1]);
        if (daemon_detach(err, sizeof(err)) < 0) {
            fprintf(stderr, "daemon_detach: %s\n", err);
            _exit(3);
        }
        detached_child(report, gate[0], ready);
    }
    close(gate[0]);
    close(errp[1]);
    *gate_w = gate[1];
    *err_r = errp[0];
    return pid;
}

static void
test_detach(void)
{
    char report[PATH_MAX], buf[512], cwd[PATH_MAX], nulls[8];
    long dpid = 0, dsid = 0, dpgrp = 0;
    int gate_w = -1, err_r = -1, st;
    pid_t starter;

    /* Orphans are reparented to us, so the daemon can be reaped here. */
    CU_ASSERT_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    tmp_path(report, "detach.out");
    starter = start_detached(report, 1, &gate_w, &err_r);
    CU_ASSERT_FATAL(starter > 0);
    CU_ASSERT_FATAL(wait_for_file(report, 5000) == 0);
    /* The daemon runs but has not said it is ready: the starter waits. */
    poll(NULL, 0, 100);
    CU_ASSERT_EQUAL(waitpid(starter, &st, WNOHANG), 0);
    CU_ASSERT_EQUAL(write(gate_w, "g", 1), 1);
    CU_ASSERT_EQUAL(wait_status(starter), 0);

    CU_ASSERT(read_file(report, buf, sizeof(buf)) > 0);
    CU_ASSERT_EQUAL(
        sscanf(buf, "%ld %ld %ld %4095s %7s", &dpid, &dsid, &dpgrp, cwd, nulls),
        5);
    CU_ASSERT(dpid > 0 && dpid != (long)starter && dpid != (long)getpid());
    /* a new session, of which the daemon is not the leader */
    CU_ASSERT(dsid != (long)getsid(0));
    CU_ASSERT(dsid != dpid);
    CU_ASSERT(dpgrp != (long)getpgrp());
    CU_ASSERT_STRING_EQUAL(cwd, "/");
    CU_ASSERT_STRING_EQUAL(nulls, "111");
    /* still running after the starter left; then released */
    CU_ASSERT(dpid > 0 && kill((pid_t)dpid, 0) == 0);
    close(gate_w);
    if (dpid > 0)
        CU_ASSERT_EQUAL(wait_status((pid_t)dpid), 0);
    ssize_t n = read(err_r, buf, sizeof(buf) - 1);
    CU_ASSERT_EQUAL(n, 0); /* the starter said nothing */
    close(err_r);
    unlink(report);
}

static void
test_detach_failed_start(void)
{
    char report[PATH_MAX], buf[512];
    long dpid = 0;
    int gate_w = -1, err_r = -1;
    ssize_t n, got = 0;
    pid_t starter;

    CU_ASSERT_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    tmp_path(report, "failed.out");
    starter = start_detached(report, 0, &gate_w, &err_r);
    CU_ASSERT_FATAL(starter > 0);
    CU_ASSERT_FATAL(wait_for_file(report, 5000) == 0);
    CU_ASSERT(read_file(report, buf, sizeof(buf)) > 0);
    CU_ASSERT_EQUAL(sscanf(buf, "%ld", &dpid), 1);
    /* the daemon exits without daemon_ready: the start failed */
    CU_ASSERT_EQUAL(write(gate_w, "g", 1), 1);
    CU_ASSERT_EQUAL(wait_status(starter), 1);
    if (dpid > 0)
        CU_ASSERT_EQUAL(wait_status((pid_t)dpid), 5);
    close(gate_w);
    while ((n = read(err_r, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "stopped during start-up"));
    close(err_r);
    unlink(report);
}

/* ---- syslog ---- */

static void
test_log_to_syslog(void)
{
    char buf[2048];
    ssize_t n, got = 0;
    int errp[2];
    pid_t pid;

    CU_ASSERT_FATAL(pipe(errp) == 0);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(errp[0]);
        dup2(errp[1], STDERR_FILENO);
        close(errp[1]);
        log_set_level(LOG_LVL_INFO);
        log_info("first line, on stderr");
        log_set_tag("worker 7");
        log_info("tagged line");
        errno = ENOENT;
        log_warn("tagged warning");
        log_set_tag(NULL);
        log_info("untagged again");
        log_to_syslog("binmcpd-test");
        log_info("second line, to syslog");
        errno = ENOENT;
        log_warn("third line, to syslog");
        log_debug("below the level");
        log_to_syslog("binmcpd-test"); /* again: reopens */
        log_error("fourth line, to syslog");
        _exit(0);
    }
    close(errp[1]);
    while ((n = read(errp[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got] = '\0';
    close(errp[0]);
    CU_ASSERT_EQUAL(wait_status(pid), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: info: first line, on stderr"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: info: worker 7: tagged line\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(buf, "]: warning: worker 7: tagged warning: No such file"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "]: info: untagged again\n"));
    CU_ASSERT_PTR_NULL(strstr(buf, "to syslog"));
}

/* ---- privileges ---- */

static void
test_drop_refusals(void)
{
    char err[256] = "";

    CU_ASSERT_EQUAL(drop_privileges("no-such-user-binmcpd", err, sizeof(err)),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no-such-user-binmcpd"));
    err[0] = '\0';
    CU_ASSERT_EQUAL(drop_privileges("root", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "id 0"));
    if (geteuid() != 0) {
        struct passwd *me = getpwuid(getuid());
        /* becoming who we are already is a no-op */
        if (me != NULL) {
            char name[256];
            snprintf(name, sizeof(name), "%s", me->pw_name);
            CU_ASSERT_EQUAL(drop_privileges(name, err, sizeof(err)), 0);
        }
        if (getpwnam("nobody") != NULL &&
            getuid() != getpwnam("nobody")->pw_uid)
            CU_ASSERT_EQUAL(drop_privileges("nobody", err, sizeof(err)), -1);
    }
}

/* What the child of test_drop_to_nobody found; 0 is success. */
static const char *const drop_failures[] = {
    [1] = "drop_privileges failed",
    [2] = "real, effective or saved uid is not nobody's",
    [3] = "real, effective or saved gid is not nobody's",
    [4] = "group 0 among the supplementary groups",
    [5] = "setuid(0) succeeded",
    [6] = "seteuid(0) succeeded",
    [7] = "a root-only file could be opened",
    [8] = "setgroups succeeded",
};

static void
test_drop_to_nobody(void)
{
    char secret[PATH_MAX];
    struct passwd *pw;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        printf("\n  skipped: dropping to nobody needs root; this runs as uid "
               "%ld\n",
               (long)geteuid());
        return;
    }
    pw = getpwnam("nobody");
    if (pw == NULL) {
        printf("\n  skipped: this system has no user \"nobody\"\n");
        return;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    tmp_path(secret, "root-only");
    CU_ASSERT_EQUAL_FATAL(write_file(secret, "secret\n"), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(secret, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(tmpdir, 0755), 0);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char err[256];
        uid_t r, e, s;
        gid_t rg, eg, sg, groups[256];
        int n;

        if (drop_privileges("nobody", err, sizeof(err)) < 0) {
            fprintf(stderr, "drop_privileges: %s\n", err);
            _exit(1);
        }
        if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
            _exit(2);
        if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
            _exit(3);
        n = getgroups(256, groups);
        for (int i = 0; i < n; i++) {
            if (groups[i] == 0)
                _exit(4);
        }
        if (setuid(0) == 0)
            _exit(5);
        if (seteuid(0) == 0)
            _exit(6);
        if (open(secret, O_RDONLY) >= 0)
            _exit(7);
        if (setgroups(0, NULL) == 0)
            _exit(8);
        _exit(0);
    }
    status = wait_status(pid);
    chmod(tmpdir, 0700);
    unlink(secret);
    if (status > 0 && status < 9)
        printf("\n  the child reports: %s\n", drop_failures[status]);
    CU_ASSERT_EQUAL(status, 0);
}

static CU_TestInfo pidfile_tests[] = {
    {"write, mode 0644, remove", test_pidfile_create_remove},
    {"a live holder refuses, its death frees", test_pidfile_live_holder},
    {"stale files are replaced", test_pidfile_stale},
    {"a symlink is replaced, not followed", test_pidfile_symlink},
    {"a missing directory fails with a reason", test_pidfile_errors},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo detach_tests[] = {
    {"detach: new session, /, /dev/null, ready", test_detach},
    {"detach: no ready word means a failed start", test_detach_failed_start},
    {"log_to_syslog leaves stderr", test_log_to_syslog},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo privilege_tests[] = {
    {"unknown user, root refused", test_drop_refusals},
    {"root drops to nobody for good", test_drop_to_nobody},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"pidfile", suite_init, suite_clean, NULL, NULL, pidfile_tests},
    {"detach", suite_init, suite_clean, NULL, NULL, detach_tests},
    {"privileges", suite_init, suite_clean, NULL, NULL, privilege_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return testlib_run(suites);
}
