#!/usr/bin/env bash
# sdk_http.sh - interop test: the official MCP TypeScript SDK client
# (pinned in tests/package.json and tests/package-lock.json) talks to
# `binmcpd --mode sse` over the legacy HTTP+SSE transport and over
# Streamable HTTP; the daemon talks to the fake exchange.
#
# Run by `make check` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment. Installs the SDK with
# `npm ci` into $TESTS_BUILDDIR/node_modules when it is not there yet, under
# a lock shared with sdk_stdio.sh (both may run at once under make -j); a
# registry that cannot be reached is a failure, never a silent skip.
# Every process started here is stopped by its PID on exit.
# The last line is "N passed, N failed".
set -euo pipefail

SDK_VERSION=1.32.2
START_TIMEOUT_S=10
STOP_TIMEOUT_S=6 # --drain-timeout 3 and a little
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}

workdir=""
stage=""
fakex_pid=""
daemon_pid=""
copied=()
passed=0
failed=0

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

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$daemon_pid" ]; then
        stop_pid "$daemon_pid" "$STOP_TIMEOUT_S" || true
    fi
    if [ -n "$fakex_pid" ]; then
        stop_pid "$fakex_pid" 5 || true
    fi
    if [ "${#copied[@]}" -gt 0 ]; then
        rm -f "${copied[@]}"
    fi
    if [ -n "$stage" ]; then
        rm -rf "$stage"
    fi
    if [ -n "$workdir" ]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
        exit 0
    fi
    exit 1
}

ok() {
    passed=$((passed + 1))
    echo "sdk_http: ok - $*"
}

not_ok() {
    failed=$((failed + 1))
    echo "sdk_http: not ok - $*" >&2
}

fail() {
    not_ok "$*"
    finish
}

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -x "$BINMCPD" ] || fail "BINMCPD=$BINMCPD is not an executable"
[ -x "$FAKEX" ] || fail "FAKEX=$FAKEX is not an executable"
mkdir -p "$TESTS_BUILDDIR"

# In a VPATH build the script is copied next to node_modules (ESM resolves
# the SDK relative to the script's own directory). The manifest and the lock
# are not: the install below reads them from the source directory.
src_real=$(cd "$TESTS_SRCDIR" && pwd -P)
build_real=$(cd "$TESTS_BUILDDIR" && pwd -P)
if [ "$src_real" != "$build_real" ]; then
    cp "$TESTS_SRCDIR/sdk_http.mjs" "$TESTS_BUILDDIR/sdk_http.mjs"
    copied+=("$TESTS_BUILDDIR/sdk_http.mjs")
fi

# The SDK at exactly the pinned version, or a fresh `npm ci`. The lock
# (released when fd 9 closes) keeps two test scripts from installing into
# the same node_modules at once; the name ends in .tmp so that make clean
# removes it.
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
sdk_version() {
    if [ -f "$sdk_manifest" ]; then
        node -p 'require(process.argv[1]).version' "$sdk_manifest" \
            2>/dev/null || true
    fi
}
exec 9>"$TESTS_BUILDDIR/sdk-npm.lock.tmp"
if command -v flock >/dev/null 2>&1; then
    flock -w 900 9 || fail "could not take $TESTS_BUILDDIR/sdk-npm.lock.tmp"
fi
if [ "$(sdk_version)" != "$SDK_VERSION" ]; then
    echo "sdk_http: installing @modelcontextprotocol/sdk $SDK_VERSION" \
        "with npm ci into $TESTS_BUILDDIR/node_modules"
    # Installed in a private directory and moved into place, so that the
    # shared package.json in the build directory is never touched.
    stage=$(mktemp -d "$TESTS_BUILDDIR/npm-stage.XXXXXX.tmp")
    cp "$TESTS_SRCDIR/package.json" "$TESTS_SRCDIR/package-lock.json" "$stage/"
    npm_cmd=(npm ci --no-audit --no-fund --prefix "$stage")
    if command -v timeout >/dev/null 2>&1; then
        npm_cmd=(timeout 600 "${npm_cmd[@]}")
    fi
    if ! "${npm_cmd[@]}" >&2; then
        fail "npm ci failed: the npm registry could not be reached or the" \
            "lock file is broken; the SDK interop test cannot run"
    fi
    rm -rf "$TESTS_BUILDDIR/node_modules"
    mv "$stage/node_modules" "$TESTS_BUILDDIR/node_modules"
    rm -rf "$stage"
    stage=""
    [ "$(sdk_version)" = "$SDK_VERSION" ] || fail "npm ci did not install the SDK"
fi
exec 9>&-

workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_http.XXXXXX")

# The string value of a #define in fakex.h (continuation lines joined), or
# "".
fake_define() {
    sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' "$TESTS_SRCDIR/fakex.h" \
        2>/dev/null |
        sed -n "s/^#define[[:space:]]*$1[[:space:]]*\"\([^\"]*\)\".*/\1/p" |
        head -n 1 || true
}
api_key=$(fake_define FAKEX_KEY_A)
api_secret=$(fake_define FAKEX_SECRET_A)
expect_last=$(fake_define FAKEX_BTCUSDT_LAST)
if [ -z "$api_secret" ] || [ -z "$expect_last" ]; then
    fail "cannot read the fake's constants from $TESTS_SRCDIR/fakex.h"
fi

# The fake exchange on a free port: it prints "PORT <n>" once it listens.
"$FAKEX" --port 0 >"$workdir/fakex.out" 2>"$workdir/fakex.err" &
fakex_pid=$!
fake_port=""
for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
    fake_port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$workdir/fakex.out" |
        head -n 1)
    [ -n "$fake_port" ] && break
    kill -0 "$fakex_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$fake_port" ]; then
    cat "$workdir/fakex.err" >&2 || true
    fail "the fake exchange ($FAKEX) did not report a port" \
        "within $START_TIMEOUT_S s"
fi
fakex_url="http://127.0.0.1:$fake_port"

# The daemon, with none of the caller's Binance settings: only the fake's
# URL and its public test credentials.
unset_args=()
while IFS= read -r name; do
    case $name in
    BINANCE_* | BINMCPD_*) unset_args+=(-u "$name") ;;
    esac
done < <(compgen -e)
env "${unset_args[@]}" \
    BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
    BINANCE_TIMEOUT_MS=5000 \
    BINANCE_API_KEY="$api_key" BINANCE_API_SECRET="$api_secret" \
    "$BINMCPD" --mode sse --bind 127.0.0.1 --port 0 --workers 2 \
    --keepalive 1 --drain-timeout 3 \
    </dev/null >"$workdir/binmcpd.err" 2>&1 &
daemon_pid=$!
port=""
for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
        "$workdir/binmcpd.err" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    cat "$workdir/binmcpd.err" >&2 || true
    fail "binmcpd --mode sse did not log 'listening on 127.0.0.1:PORT'" \
        "within $START_TIMEOUT_S s"
fi
ok "binmcpd --mode sse listens on 127.0.0.1:$port (pid $daemon_pid)"

echo "sdk_http: fake exchange at $fakex_url, daemon $BINMCPD on port $port," \
    "expected BTCUSDT lastPrice $expect_last"
rc=0
BINMCPD_PORT="$port" EXPECT_LAST="$expect_last" \
    node "$TESTS_BUILDDIR/sdk_http.mjs" >"$workdir/node.out" 2>&1 || rc=$?
cat "$workdir/node.out"
n_ok=$(grep -c '^ok ' "$workdir/node.out" || true)
n_not=$(grep -c '^not ok' "$workdir/node.out" || true)
passed=$((passed + n_ok))
failed=$((failed + n_not))
if [ "$rc" -ne 0 ] && [ "$n_not" -eq 0 ]; then
    not_ok "the SDK client script exited $rc without a failed check"
fi

# SIGTERM: a graceful stop with status 0.
stop_rc=0
stop_pid "$daemon_pid" "$STOP_TIMEOUT_S" || stop_rc=$?
daemon_pid=""
if [ "$stop_rc" -eq 0 ]; then
    ok "SIGTERM: binmcpd exited 0"
else
    not_ok "SIGTERM: binmcpd exited $stop_rc (255: killed after" \
        "$STOP_TIMEOUT_S s)"
fi

if grep -qF -- "$api_secret" "$workdir/binmcpd.err"; then
    not_ok "the API secret appears in the daemon's log"
else
    ok "the API secret never appears in the daemon's log"
fi

if [ "$failed" -ne 0 ]; then
    echo "sdk_http: the daemon's log follows" >&2
    cat "$workdir/binmcpd.err" >&2 || true
fi
finish
