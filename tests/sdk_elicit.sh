#!/usr/bin/env bash
# sdk_elicit.sh - interop test: the official MCP TypeScript SDK client
# (pinned in tests/package.json and tests/package-lock.json), with an
# elicitation handler, confirms or refuses mainnet orders that binmcpd's
# trading guard asks about with elicitation/create, over stdio (`binmcpd
# --mode stdio`, spawned by the client) and over Streamable HTTP (`binmcpd
# --mode sse`, started here); the daemons talk to the fake exchange.
#
# Run by `make check` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment. Installs the SDK with
# `npm ci` into $TESTS_BUILDDIR/node_modules when it is not there yet, under
# a lock shared with the other SDK tests; a registry that cannot be reached
# is a failure, never a silent skip. Every process started here is stopped
# by its PID on exit.
# The last line is "1 passed, 0 failed" or "0 passed, 1 failed".
set -euo pipefail

SDK_VERSION=1.32.2
START_TIMEOUT_S=10
STOP_TIMEOUT_S=6   # --drain-timeout 3 and a little
NODE_TIMEOUT_S=90  # sdk_elicit.mjs gives up by itself after 60 s
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
TL_NAME=sdk_elicit
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

trap tl_sdk_cleanup EXIT

# One verdict for the whole script (testlib.sh's finish counts checks).
finish() {
    if [ "$1" -eq 0 ]; then
        echo "1 passed, 0 failed"
    else
        echo "0 passed, 1 failed"
    fi
    exit "$1"
}

fail() {
    echo "sdk_elicit: $*" >&2
    finish 1
}

tl_sdk_require node npm

# In a VPATH build the script is copied next to node_modules. The manifest
# and the lock are not: the install below reads them from the source
# directory.
tl_copy_to_build sdk_elicit.mjs

# The SDK at exactly the pinned version, or a fresh `npm ci`, under the
# lock the other SDK tests take too (see tl_npm_install).
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
tl_npm_install "$TESTS_SRCDIR" "$TESTS_BUILDDIR" \
    "$TESTS_BUILDDIR/sdk-npm.lock.tmp" "the SDK elicitation test" \
    tl_pkg_version_is "$sdk_manifest" "$SDK_VERSION"

# Account A of the fake exchange (public test credentials).
api_key=$(testlib_define TEST_KEY_A)
api_secret=$(testlib_define TEST_SECRET_A)
if [ -z "$api_key" ] || [ -z "$api_secret" ]; then
    fail "cannot read TEST_KEY_A and TEST_SECRET_A from" \
        "$TESTS_SRCDIR/testlib.h"
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_elicit.XXXXXX")
# A fresh journal for each daemon.
stdio_journal=$(mktemp -d "$workdir/journal-stdio.XXXXXX")/journal.db
http_journal=$(mktemp -d "$workdir/journal-http.XXXXXX")/journal.db

# The fake exchange on a free port.
tl_start_fakex "$workdir" "$START_TIMEOUT_S"

# The HTTP daemon on a free port, with none of the caller's Binance or
# binmcpd settings: only the fake's URL, account A and the guard's rules.
tl_start_sse "$workdir/binmcpd.err" "$START_TIMEOUT_S" \
    BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
    BINANCE_API_KEY="$api_key" BINANCE_API_SECRET="$api_secret" \
    BINMCPD_MAX_ORDER_NOTIONAL=1000 BINMCPD_ORDER_CONFIRMATION=auto \
    BINMCPD_JOURNAL="$http_journal" \
    -- --workers 2 --drain-timeout 3

echo "sdk_elicit: fake exchange at $fakex_url, daemon $BINMCPD" \
    "(stdio, and sse on port $port, pid $daemon_pid)"
node_cmd=(node "$TESTS_BUILDDIR/sdk_elicit.mjs")
if command -v timeout >/dev/null 2>&1; then
    node_cmd=(timeout "$NODE_TIMEOUT_S" "${node_cmd[@]}")
fi
rc=0
env "${tl_unset_args[@]}" \
    BINMCPD="$BINMCPD" FAKEX_URL="$fakex_url" \
    SDK_API_KEY="$api_key" SDK_API_SECRET="$api_secret" \
    STDIO_JOURNAL="$stdio_journal" BINMCPD_PORT="$port" \
    "${node_cmd[@]}" 2>"$workdir/node.err" || rc=$?

stop_rc=0
stop_pid "$daemon_pid" "$STOP_TIMEOUT_S" || stop_rc=$?
daemon_pid=""
if [ "$stop_rc" -ne 0 ]; then
    echo "sdk_elicit: binmcpd --mode sse exited $stop_rc on SIGTERM" \
        "(255: killed after $STOP_TIMEOUT_S s)" >&2
fi

if [ "$rc" -ne 0 ] || [ "$stop_rc" -ne 0 ]; then
    if [ "$rc" -ne 0 ]; then
        what="exit $rc"
        [ "$rc" -eq 124 ] && what="killed after $NODE_TIMEOUT_S s"
        echo "sdk_elicit: the SDK client check failed ($what)" >&2
    fi
    echo "sdk_elicit: the client's stderr (with the stdio daemon's log)" \
        "follows" >&2
    cat "$workdir/node.err" >&2 || true
    echo "sdk_elicit: the sse daemon's log follows" >&2
    cat "$workdir/binmcpd.err" >&2 || true
    echo "sdk_elicit: the fake exchange's log follows" >&2
    cat "$workdir/fakex.err" >&2 || true
    finish 1
fi
finish 0
