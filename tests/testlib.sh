# shellcheck shell=bash
# testlib.sh - what the interop scripts (sdk_*.sh, conformance.sh,
# inspector.sh) share; sourced, never run.
#
# The sourcing script sets TL_NAME (the prefix of its messages) and may set
# TL_NOT_OK_STDERR=1 to send "not ok" lines to standard error. It owns its
# EXIT trap (tl_sdk_cleanup, or its own); the helpers here only set the
# variables they name (fakex_pid, daemon_pid, port, ...), so that the trap
# can stop what they started. `fail` may be redefined by a script with
# its own way to end (sdk_stdio.sh); the helpers call whichever is defined.

TL_NAME=${TL_NAME:-test}
TL_NOT_OK_STDERR=${TL_NOT_OK_STDERR:-0}
passed=0
failed=0

# Prints "N passed, N failed" and exits 0 when something passed and
# nothing failed, else 1.
finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
        exit 0
    fi
    exit 1
}

ok() {
    passed=$((passed + 1))
    echo "$TL_NAME: ok - $*"
}

not_ok() {
    failed=$((failed + 1))
    if [ "$TL_NOT_OK_STDERR" = 1 ]; then
        echo "$TL_NAME: not ok - $*" >&2
    else
        echo "$TL_NAME: not ok - $*"
    fi
}

# Counts one failure and ends the script.
fail() {
    not_ok "$*"
    finish
}

# Stops one child by PID: SIGTERM, up to $2 seconds, then SIGKILL.
# Prints nothing; returns the child's exit status (or 255 when killed).
stop_pid() {
    local pid=$1 wait_s=$2 i rc=0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 255
    fi
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

# tl_npm_install SRC DEST LOCK WHAT FRESH...: the packages of
# SRC/package.json and SRC/package-lock.json in DEST/node_modules, with a
# fresh `npm ci` (bounded by `timeout` when there is one) unless the command
# FRESH... says the installed ones are current. Installed in a private
# directory (tl_npm_stage, for the caller's trap to remove) and moved into
# place, so that an interrupted install never leaves a half-filled
# node_modules behind; the lock it was installed from is kept as
# DEST/node_modules/.binmcpd-package-lock.json. LOCK is the file of the
# flock (released on return) that keeps two scripts from installing into
# DEST at once; its name ends in .tmp so that make clean removes it. On a
# failure (the lock, npm ci, or FRESH... still false afterwards) calls fail
# with a message naming WHAT.
tl_npm_stage=""
tl_npm_install() {
    local src=$1 dest=$2 lock=$3 what=$4
    shift 4
    local npm_cmd
    exec 9>"$lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 900 9 || fail "could not take $lock"
    fi
    if ! "$@"; then
        echo "$TL_NAME: installing the packages of $src/package-lock.json" \
            "with npm ci into $dest/node_modules"
        tl_npm_stage=$(mktemp -d "$dest/npm-stage.XXXXXX.tmp")
        cp "$src/package.json" "$src/package-lock.json" "$tl_npm_stage/"
        npm_cmd=(npm ci --no-audit --no-fund --prefix "$tl_npm_stage")
        if command -v timeout >/dev/null 2>&1; then
            npm_cmd=(timeout 600 "${npm_cmd[@]}")
        fi
        if ! "${npm_cmd[@]}" >&2; then
            fail "npm ci failed: the npm registry could not be reached or" \
                "the lock file is broken; $what cannot run"
        fi
        cp "$src/package-lock.json" \
            "$tl_npm_stage/node_modules/.binmcpd-package-lock.json"
        rm -rf "$dest/node_modules"
        mv "$tl_npm_stage/node_modules" "$dest/node_modules"
        rm -rf "$tl_npm_stage"
        tl_npm_stage=""
        "$@" || fail "npm ci did not install $what"
    fi
    exec 9>&-
}

# tl_pkg_version_is MANIFEST VERSION: whether the package.json MANIFEST
# exists and gives VERSION (a FRESH command for tl_npm_install).
tl_pkg_version_is() {
    [ -f "$1" ] &&
        [ "$(node -p 'require(process.argv[1]).version' "$1" 2>/dev/null ||
            true)" = "$2" ]
}

# tl_copy_to_build NAME: in a VPATH build, copies $TESTS_SRCDIR/NAME to
# $TESTS_BUILDDIR/NAME (a script next to node_modules: ESM resolves
# packages relative to the script's own directory) and records the copy in
# tl_copied, for the caller's trap to remove. Does nothing in the source
# tree.
tl_copied=()
tl_copy_to_build() {
    local src_real build_real
    src_real=$(cd "$TESTS_SRCDIR" && pwd -P)
    build_real=$(cd "$TESTS_BUILDDIR" && pwd -P)
    if [ "$src_real" != "$build_real" ]; then
        cp "$TESTS_SRCDIR/$1" "$TESTS_BUILDDIR/$1"
        tl_copied+=("$TESTS_BUILDDIR/$1")
    fi
}

# tl_lock_is_installed SRC DEST: whether DEST/node_modules was installed
# from SRC/package-lock.json (a FRESH command for tl_npm_install).
tl_lock_is_installed() {
    cmp -s "$1/package-lock.json" "$2/node_modules/.binmcpd-package-lock.json"
}

# tl_start_fakex DIR TIMEOUT_S: starts $FAKEX on a free port (it prints
# "PORT <n>" once it listens) with its output in DIR/fakex.out and
# DIR/fakex.err. Sets fakex_pid (for the caller's trap to stop) and
# fakex_url; calls fail, its stderr printed, when no port came within
# TIMEOUT_S.
tl_start_fakex() {
    local dir=$1 timeout_s=$2 fake_port=""
    "$FAKEX" --port 0 >"$dir/fakex.out" 2>"$dir/fakex.err" &
    fakex_pid=$!
    for _ in $(seq 1 $((timeout_s * 10))); do
        fake_port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$dir/fakex.out" |
            head -n 1)
        [ -n "$fake_port" ] && break
        kill -0 "$fakex_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$fake_port" ]; then
        cat "$dir/fakex.err" >&2 || true
        fail "the fake exchange ($FAKEX) did not report a port" \
            "within $timeout_s s"
    fi
    # shellcheck disable=SC2034 # read by the sourcing script
    fakex_url="http://127.0.0.1:$fake_port"
}

# tl_wait_port LOG PID TIMEOUT_S: prints the port of the daemon's
# "listening on 127.0.0.1:PORT" line in LOG once it is there. Returns 1,
# printing nothing, when PID exits first or TIMEOUT_S passes.
tl_wait_port() {
    local log=$1 pid=$2 timeout_s=$3 port
    for _ in $(seq 1 $((timeout_s * 10))); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
            "$log" | head -n 1)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# tl_unset_args: sets the array tl_unset_args to `env` options that remove
# every BINANCE_* and BINMCPD_* variable, so that none of the caller's
# settings reach a daemon under test.
tl_unset_args=()
tl_clean_env() {
    local name
    tl_unset_args=()
    while IFS= read -r name; do
        case $name in
        BINANCE_* | BINMCPD_*) tl_unset_args+=(-u "$name") ;;
        esac
    done < <(compgen -e)
    # A daemon under test keeps its audit journal beside the test, never in
    # the user's or the system's state directory (a later
    # BINMCPD_JOURNAL=... on the same env line wins).
    tl_unset_args+=("BINMCPD_JOURNAL=$tl_journal")
    # Nor does it start a feed process, which would reach Binance's real
    # streams (test_live.c tests the feed against the fake exchange).
    tl_unset_args+=("BINMCPD_FEED=off")
}
tl_journal="${TESTS_BUILDDIR:-/tmp}/journal.$$.tmp/journal.db"

# The string value of a #define in $TESTS_SRCDIR/fakex.h (continuation lines
# joined), or "".
fake_define() {
    sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' "$TESTS_SRCDIR/fakex.h" \
        2>/dev/null |
        sed -n "s/^#define[[:space:]]*$1[[:space:]]*\"\([^\"]*\)\".*/\1/p" |
        head -n 1 || true
}

# What an SDK script started, for tl_sdk_cleanup (its EXIT trap) to stop:
# the fake exchange and the daemon by PID, the copies made for a VPATH
# build, npm's staging directory and the script's work directory.
tl_sdk_cleanup() {
    if [ -n "${daemon_pid:-}" ]; then
        stop_pid "$daemon_pid" 6 || true
    fi
    if [ -n "${fakex_pid:-}" ]; then
        stop_pid "$fakex_pid" 5 || true
    fi
    if [ "${#tl_copied[@]}" -gt 0 ]; then
        rm -f "${tl_copied[@]}"
    fi
    if [ -n "${tl_npm_stage:-}" ]; then
        rm -rf "$tl_npm_stage"
    fi
    if [ -n "${workdir:-}" ]; then
        rm -rf "$workdir"
    fi
}

# tl_fake_ws_port: the port of the fake exchange's WebSocket server (its
# streams and /ws-api/v3), from GET $fakex_url/__fake/stream.
tl_fake_ws_port() {
    curl -sf "$fakex_url/__fake/stream" |
        sed -n 's/.*"port":[[:space:]]*\([0-9][0-9]*\).*/\1/p'
}

# tl_sdk_require TOOL...: calls fail unless every TOOL is on PATH and
# $BINMCPD and $FAKEX are executables; then makes $TESTS_BUILDDIR.
tl_sdk_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
    done
    [ -x "$BINMCPD" ] || fail "BINMCPD=$BINMCPD is not an executable"
    [ -x "$FAKEX" ] || fail "FAKEX=$FAKEX is not an executable"
    mkdir -p "$TESTS_BUILDDIR"
}

# The string value of a #define in $TESTS_SRCDIR/testlib.h (continuation
# lines joined), or "": the test accounts' keys (TEST_KEY_A, ...).
testlib_define() {
    sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' "$TESTS_SRCDIR/testlib.h" \
        2>/dev/null |
        sed -n "s/^#define[[:space:]]*$1[[:space:]]*\"\([^\"]*\)\".*/\1/p" |
        head -n 1 || true
}

# tl_start_sse LOG TIMEOUT_S [NAME=value...] -- [ARG...]: starts `$BINMCPD
# --mode sse --bind 127.0.0.1 --port 0 ARG...` in the background with
# tl_clean_env's clean environment plus the NAME=value settings, stdin
# /dev/null and its output in LOG. Sets daemon_pid (for the caller's trap
# to stop) and port; calls fail, the log printed to stderr, when no
# "listening on" line came within TIMEOUT_S.
tl_start_sse() {
    local log=$1 timeout_s=$2 settings=()
    shift 2
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
        settings+=("$1")
        shift
    done
    [ "$#" -gt 0 ] && shift
    tl_clean_env
    env "${tl_unset_args[@]}" "${settings[@]}" \
        "$BINMCPD" --mode sse --bind 127.0.0.1 --port 0 "$@" \
        </dev/null >"$log" 2>&1 &
    daemon_pid=$!
    port=$(tl_wait_port "$log" "$daemon_pid" "$timeout_s") || port=""
    if [ -z "$port" ]; then
        cat "$log" >&2 || true
        fail "binmcpd --mode sse did not log 'listening on 127.0.0.1:PORT'" \
            "within $timeout_s s"
    fi
}

# tl_count_node OUT RC WHAT: prints the node script's output OUT and adds
# its "ok " and "not ok" lines to passed and failed; a script that exited
# RC (not 0) without a failed check counts one failure, naming WHAT.
tl_count_node() {
    local out=$1 rc=$2 what=$3 n_ok n_not
    cat "$out"
    n_ok=$(grep -c '^ok ' "$out" || true)
    n_not=$(grep -c '^not ok' "$out" || true)
    passed=$((passed + n_ok))
    failed=$((failed + n_not))
    if [ "$rc" -ne 0 ] && [ "$n_not" -eq 0 ]; then
        not_ok "$what exited $rc without a failed check"
    fi
}

# tl_check_sigterm TIMEOUT_S: stops $daemon_pid (SIGTERM, SIGKILL after
# TIMEOUT_S), clears daemon_pid and counts whether it exited 0.
tl_check_sigterm() {
    local timeout_s=$1 stop_rc=0
    stop_pid "$daemon_pid" "$timeout_s" || stop_rc=$?
    daemon_pid=""
    if [ "$stop_rc" -eq 0 ]; then
        ok "SIGTERM: binmcpd exited 0"
    else
        not_ok "SIGTERM: binmcpd exited $stop_rc (255: killed after" \
            "$timeout_s s)"
    fi
}
