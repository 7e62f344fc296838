#!/usr/bin/env bash
# test_install.sh - `make install` into a scratch DESTDIR and what it put
# there (modes, the unit, the init script, man pages, the sample
# configuration that a second install must not overwrite), `make
# uninstall`, then the daemon's own operations end to end: --daemon with a
# pid file, SIGHUP, SIGTERM, --user when running as root, and the
# installed SysV script driving start-stop-daemon.
#
# Run by `make check` from the build directory with BINMCPD, TESTS_SRCDIR
# and TESTS_BUILDDIR in the environment. Every daemon started here is
# stopped by its pid on exit. The last line is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
builddir=$(cd "$TESTS_BUILDDIR/.." && pwd)
srcdir=$(cd "$TESTS_SRCDIR/.." && pwd)
BINMCPD=${BINMCPD:-$builddir/binmcpd}
START_TIMEOUT_S=20
STOP_TIMEOUT_S=10 # --drain-timeout 3 and a margin

# The outer make's jobserver and flags are not ours to use.
unset MAKEFLAGS MFLAGS MAKELEVEL
make=${MAKE:-make}
# No real exchange, no credentials from the caller's environment.
unset BINANCE_API_KEY BINANCE_API_SECRET
export BINANCE_TESTNET=1 BINANCE_BASE_URL=http://127.0.0.1:9
export BINANCE_TESTNET_URL=http://127.0.0.1:9

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_install.XXXXXX")
chmod 755 "$tmp" # --user nobody must reach its run directory
# The daemons' audit journal stays in the scratch directory (the default
# is below the install prefix, which distcheck requires to be left empty).
export BINMCPD_JOURNAL=$tmp/journal.db
daemon_pids=()
passed=0
failed=0

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local pid
    for pid in "${daemon_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${daemon_pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

pass() {
    echo "ok: $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAILED: $1"
    failed=$((failed + 1))
}
# check DESCRIPTION COMMAND...: runs COMMAND, passes when it succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# A make variable of the build tree, fully expanded.
cat >"$tmp/print.mk" <<'EOF'
print-%:
	@printf '%s\n' '$($*)'
EOF
makevar() {
    "$make" -s -C "$builddir" -f Makefile -f "$tmp/print.mk" "print-$1"
}

mode_of() { stat -c %a "$1"; }
no_placeholders() { ! grep -q '@[a-z]*@' "$1"; }
not_world_writable() { [ $((8#$(mode_of "$1") & 8#002)) -eq 0 ]; }
# Runs make in the build tree with its output in $tmp/NAME.log.
run_make() {
    local name=$1
    shift
    if "$make" -C "$builddir" "$@" >"$tmp/$name.log" 2>&1; then
        return 0
    fi
    tail -n 30 "$tmp/$name.log"
    return 1
}

sbindir=$(makevar sbindir)
man5dir=$(makevar man5dir)
man8dir=$(makevar man8dir)
sysconfdir=$(makevar sysconfdir)
unitfile=$(makevar systemdsystemunit_DATA)
unitdir=$(makevar systemdsystemunitdir)
initscript=$(makevar initd_SCRIPTS)
initddir=$(makevar initddir)
version=$(makevar PACKAGE_VERSION)

# ---- make install ----
dest=$tmp/dest
check "make install DESTDIR=..." run_make install1 install DESTDIR="$dest"

bin=$dest$sbindir/binmcpd
check "sbin/binmcpd is installed, mode 755" \
    test -x "$bin" -a "$(mode_of "$bin" 2>/dev/null)" = 755
prints_version() { "$1" --version 2>&1 | grep -qF "$2"; }
check "the installed binary runs --version" prints_version "$bin" "$version"

man8=$dest$man8dir/binmcpd.8
man5=$dest$man5dir/binmcpd.conf.5
check "man8/binmcpd.8 is installed, mode 644" \
    test -f "$man8" -a "$(mode_of "$man8" 2>/dev/null)" = 644
check "man5/binmcpd.conf.5 is installed, mode 644" \
    test -f "$man5" -a "$(mode_of "$man5" 2>/dev/null)" = 644
if command -v mandoc >/dev/null 2>&1; then
    for page in "$man8" "$man5"; do
        if [ -f "$page" ]; then
            check "mandoc -Tlint $(basename "$page")" \
                mandoc -Tlint -W warning "$page"
        fi
    done
else
    echo "note: mandoc not found; the installed pages were not linted"
fi

conf=$dest$sysconfdir/binmcpd/binmcpd.conf
check "the sample etc/binmcpd/binmcpd.conf is installed" test -f "$conf"
if [ -f "$conf" ]; then
    check "the sample configuration is not world-writable" \
        not_world_writable "$conf"
    check "the sample configuration is the one in the tree" \
        cmp -s "$conf" "$srcdir/etc/binmcpd.conf"
fi

if [ -n "$unitfile" ]; then
    unit=$dest$unitdir/binmcpd.service
    check "the systemd unit is installed, mode 644" \
        test -f "$unit" -a "$(mode_of "$unit" 2>/dev/null)" = 644
    if [ -f "$unit" ]; then
        # shellcheck disable=SC2016 # the unit's literal text
        for line in 'Type=simple' 'ExecReload=/bin/kill -HUP $MAINPID' \
            'Restart=on-failure' 'NoNewPrivileges=yes' \
            'ProtectSystem=strict' 'User=binmcpd' 'KillMode=mixed'; do
            check "unit: $line" grep -qxF "$line" "$unit"
        done
        check "unit: ExecStart runs $sbindir/binmcpd in the foreground" \
            grep -qx "ExecStart=$sbindir/binmcpd --mode sse --config $sysconfdir/binmcpd/binmcpd.conf --foreground" "$unit"
        check "unit: every @placeholder@ was filled in" no_placeholders "$unit"
    fi
else
    echo "note: configured without a systemd unit directory; no unit to check"
fi

init=""
if [ -n "$initscript" ]; then
    init=$dest$initddir/binmcpd
    check "the init script is installed, mode 755" \
        test -x "$init" -a "$(mode_of "$init" 2>/dev/null)" = 755
    if [ -f "$init" ]; then
        check "init script: sh -n" sh -n "$init"
        check "init script: LSB header" grep -qx '### BEGIN INIT INFO' "$init"
        check "init script: DAEMON=$sbindir/binmcpd" \
            grep -qx "DAEMON=$sbindir/binmcpd" "$init"
        check "init script: every @placeholder@ was filled in" \
            no_placeholders "$init"
        if command -v shellcheck >/dev/null 2>&1; then
            check "init script: shellcheck" shellcheck -s sh "$init"
        fi
    fi
else
    echo "note: configured --without-initddir; no init script to check"
fi

# ---- a second install keeps an edited configuration ----
if [ -f "$conf" ]; then
    echo "# edited by test_install.sh" >>"$conf"
    cp "$conf" "$tmp/edited.conf"
    check "a second make install succeeds" \
        run_make install2 install DESTDIR="$dest"
    check "a second make install keeps the edited configuration" \
        cmp -s "$conf" "$tmp/edited.conf"
fi

# ---- make uninstall ----
check "make uninstall DESTDIR=..." run_make uninstall uninstall DESTDIR="$dest"
check "uninstall removes sbin/binmcpd" test ! -e "$bin"
check "uninstall removes the man pages" test ! -e "$man8" -a ! -e "$man5"
if [ -n "$unitfile" ]; then
    check "uninstall removes the unit" test ! -e "$dest$unitdir/binmcpd.service"
fi
if [ -n "$init" ]; then
    check "uninstall removes the init script" test ! -e "$init"
fi
if [ -f "$tmp/edited.conf" ]; then
    check "uninstall keeps the edited configuration" \
        cmp -s "$conf" "$tmp/edited.conf"
fi
# An untouched install uninstalls to nothing (as distcheck requires).
dest2=$tmp/dest2
if run_make install3 install DESTDIR="$dest2" &&
    run_make uninstall3 uninstall DESTDIR="$dest2"; then
    left=$(find "$dest2" -type f)
    check "install then uninstall leaves no file${left:+ (left: $left)}" \
        test -z "$left"
else
    fail "install then uninstall leaves no file (make failed)"
fi

# ---- --daemon end to end ----

# alive PID: PID is set and names a live process.
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# gone PID: PID is set and names no live process.
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
# wait_gone PID SECONDS: waits until PID is gone.
wait_gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}
# The session id of a process (field 6 of /proc/PID/stat, after "(comm)").
session_of() {
    local stat
    stat=$(cat "/proc/$1/stat") || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- $stat
    echo "$4"
}
# The real, effective, saved and fs uids of a process.
uids_of() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"; }
# The worker pids of a supervisor.
workers_of() { pgrep -P "$1" || true; }

# start_daemon LABEL PIDFILE [ARGS...]: starts the built binary with
# --daemon and checks the start. Sets started to the daemon's pid, or to
# nothing when it did not start.
started=""
daemon_works=0
start_daemon() {
    local label=$1 pidfile=$2 rc=0 pid=""
    shift 2
    started=""
    timeout "$START_TIMEOUT_S" "$BINMCPD" --mode sse --bind 127.0.0.1 \
        --port 0 --workers 2 --drain-timeout 3 --daemon \
        --pidfile "$pidfile" "$@" >"$tmp/$label.out" 2>&1 || rc=$?
    if [ "$rc" -eq 124 ]; then
        fail "$label: --daemon returns to its caller (not yet wired: it stayed in the foreground until the timeout)"
        return 0
    fi
    if [ "$rc" -ne 0 ]; then
        fail "$label: --daemon starts, exit status 0 (got $rc; --daemon not yet wired?)"
        sed 's/^/    /' "$tmp/$label.out"
        return 0
    fi
    pass "$label: --daemon returns 0 once the daemon is up"
    if [ -s "$pidfile" ]; then
        read -r pid <"$pidfile" || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        pass "$label: the pid file names a live process"
        daemon_pids+=("$pid")
        started=$pid
        daemon_works=1
    else
        fail "$label: the pid file names a live process (pid file: '${pid}')"
    fi
}

# stop_daemon LABEL PID PIDFILE: SIGTERM, then checks it is gone and took
# its pid file along.
stop_daemon() {
    local label=$1 pid=$2 pidfile=$3
    kill -TERM "$pid"
    check "$label: SIGTERM stops it within ${STOP_TIMEOUT_S}s" \
        wait_gone "$pid" "$STOP_TIMEOUT_S"
    check "$label: it removed its pid file" test ! -e "$pidfile"
}

# start_refused PIDFILE: another --daemon start on PIDFILE fails.
start_refused() {
    ! timeout "$START_TIMEOUT_S" "$BINMCPD" --mode sse --bind 127.0.0.1 \
        --port 0 --workers 1 --daemon --pidfile "$1" >"$tmp/refused.out" 2>&1
}

pidfile=$tmp/b.pid
start_daemon daemon "$pidfile"
pid=$started
if [ -n "$pid" ]; then
    check "daemon: not a child of the caller" \
        test "$(awk '{ print $4 }' "/proc/$pid/stat")" != "$$"
    check "daemon: in a session of its own" \
        test "$(session_of "$pid")" != "$(session_of $$)"
    check "daemon: stdin is /dev/null" \
        test "$(readlink "/proc/$pid/fd/0")" = /dev/null
    check "daemon: its working directory is /" \
        test "$(readlink "/proc/$pid/cwd")" = /
    check "daemon: workers run" test -n "$(workers_of "$pid")"
    check "daemon: a second --daemon on the same pid file is refused" \
        start_refused "$pidfile"
    check "daemon: the refused start left the pid file alone" \
        test "$(cat "$pidfile" 2>/dev/null)" = "$pid"
    kill -HUP "$pid"
    sleep 1
    check "daemon: still running after SIGHUP" alive "$pid"
    stop_daemon daemon "$pid" "$pidfile"
fi

# Without --daemon it stays in the foreground, as the caller's child.
"$BINMCPD" --mode sse --bind 127.0.0.1 --port 0 --workers 1 \
    --drain-timeout 3 >"$tmp/fg.out" 2>&1 &
fg=$!
daemon_pids+=("$fg")
sleep 1
check "foreground by default: the process stays the caller's child" \
    alive "$fg"
check "foreground by default: it logs to stderr" \
    grep -q 'binmcpd\[[0-9]*\]: info: ' "$tmp/fg.out"
kill -TERM "$fg" 2>/dev/null || true
wait "$fg" 2>/dev/null || true

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    run=$tmp/run-nobody
    install -d -m 755 -o nobody "$run"
    pidfile=$run/b.pid
    BINMCPD_JOURNAL=$run/journal.db start_daemon user "$pidfile" --user nobody
    pid=$started
    if [ -n "$pid" ]; then
        nobody=$(id -u nobody)
        check "--user nobody: the supervisor runs as nobody" \
            test "$(uids_of "$pid")" = "$nobody $nobody $nobody $nobody"
        w=$(workers_of "$pid" | head -n 1)
        check "--user nobody: its workers run as nobody" \
            test -n "$w" -a "$(uids_of "${w:-0}" 2>/dev/null)" = "$nobody $nobody $nobody $nobody"
        check "--user nobody: the pid file was written before dropping root" \
            test "$(stat -c %U "$pidfile" 2>/dev/null)" = root
        stop_daemon user "$pid" "$pidfile"
    fi
else
    echo "note: not root; --user was not tried (CI runs as root)"
fi

# ---- the SysV script, driving start-stop-daemon ----
if [ "$daemon_works" -eq 0 ]; then
    echo "note: --daemon does not work yet (see above); the SysV run was skipped"
elif [ -n "$init" ] && command -v start-stop-daemon >/dev/null 2>&1; then
    # The generated script, pointed at the built binary and this directory.
    user=""
    if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
        user=nobody
    fi
    config=$srcdir/etc/binmcpd.conf
    if [ ! -f "$config" ]; then
        config=$tmp/empty.conf
        : >"$config"
    fi
    sed -e "s|^DAEMON=.*|DAEMON=$BINMCPD|" \
        -e "s|^CONFIG=.*|CONFIG=$config|" \
        -e "s|^ENVFILE=.*|ENVFILE=$tmp/no-such.env|" \
        -e "s|^RUNDIR=.*|RUNDIR=$tmp/initrun|" \
        -e "s|^STATEDIR=.*|STATEDIR=$tmp/initstate|" \
        -e "s|^DAEMON_USER=.*|DAEMON_USER=$user|" \
        -e "s|^DAEMON_ARGS=.*|DAEMON_ARGS=\"--bind 127.0.0.1 --port 0 --workers 2 --drain-timeout 3 --journal $tmp/initstate/journal.db\"|" \
        -e "s|/etc/default/\$NAME|$tmp/no-such-default|g" \
        "$builddir/etc/binmcpd" >"$tmp/init.sh"
    chmod 755 "$tmp/init.sh"
    initpid=$tmp/initrun/binmcpd.pid
    check "init script: start" "$tmp/init.sh" start
    pid=""
    [ -s "$initpid" ] && read -r pid <"$initpid"
    if [ -n "$pid" ]; then
        daemon_pids+=("$pid")
    fi
    check "init script: status says running" "$tmp/init.sh" status
    check "init script: start again is a no-op" "$tmp/init.sh" start
    check "init script: the same daemon still runs" \
        test -n "$pid" -a "$(cat "$initpid" 2>/dev/null)" = "$pid"
    check "init script: reload" "$tmp/init.sh" reload
    sleep 1
    check "init script: the daemon survived the reload" alive "$pid"
    check "init script: restart" "$tmp/init.sh" restart
    pid2=""
    [ -s "$initpid" ] && read -r pid2 <"$initpid"
    if [ -n "$pid2" ]; then
        daemon_pids+=("$pid2")
    fi
    check "init script: restart started a new daemon" \
        test -n "$pid2" -a "$pid2" != "$pid"
    check "init script: stop" "$tmp/init.sh" stop
    check "init script: the daemon is gone" gone "$pid2"
    rc=0
    "$tmp/init.sh" status >/dev/null || rc=$?
    check "init script: status after stop is 3 (not running)" test "$rc" -eq 3
    rc=0
    "$tmp/init.sh" bogus >/dev/null 2>&1 || rc=$?
    check "init script: an unknown action is a usage error (3)" \
        test "$rc" -eq 3
else
    echo "note: no init script or no start-stop-daemon; the SysV run was skipped"
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
