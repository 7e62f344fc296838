#!/usr/bin/env bash
# sdk_kill.sh - real MCP clients across a kill -9 (issue 13): the official
# TypeScript SDK client v1 (@modelcontextprotocol/sdk), the v2 client
# (@modelcontextprotocol/client) and the mcp-remote bridge, all pinned in
# tests/package.json and tests/package-lock.json, each keep their
# Streamable HTTP session of a two-worker `binmcpd --mode sse` while the
# worker holding it is killed with SIGKILL: every later call succeeds, with
# no error visible to the caller and no new initialize (tests/sdk_kill.mjs
# says exactly what is checked). About 20 s once the packages are
# installed; bounded by the script's own watchdog (150 s).
#
# Run by `make chaos` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment, or by hand from the
# build directory. Installs the packages with `npm ci` into
# $TESTS_BUILDDIR/node_modules unless that was installed from this very
# lock, under the lock sdk_http.sh and sdk_stdio.sh share; a registry that
# cannot be reached is a failure, never a silent skip. Every process
# started here is stopped by its PID on exit; the workers killed are the
# daemon's own, found by the node script as the supervisor's children.
# The last line is "N passed, N failed".
set -euo pipefail

START_TIMEOUT_S=10
STOP_TIMEOUT_S=6 # --drain-timeout 3 and a little
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
TL_NAME=sdk_kill
TL_NOT_OK_STDERR=1
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

trap tl_sdk_cleanup EXIT

tl_sdk_require node npm

tl_copy_to_build sdk_kill.mjs

# Every package of the lock (the SDK v1, the v2 client, mcp-remote),
# installed from exactly this lock.
tl_npm_install "$TESTS_SRCDIR" "$TESTS_BUILDDIR" \
    "$TESTS_BUILDDIR/sdk-npm.lock.tmp" "the kill -9 interop test" \
    tl_lock_is_installed "$TESTS_SRCDIR" "$TESTS_BUILDDIR"
mcp_remote=$TESTS_BUILDDIR/node_modules/mcp-remote/dist/proxy.js
[ -f "$mcp_remote" ] || fail "npm ci did not install mcp-remote ($mcp_remote)"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_kill.XXXXXX")

api_key=$(fake_define FAKEX_KEY_A)
api_secret=$(fake_define FAKEX_SECRET_A)
expect_last=$(fake_define FAKEX_BTCUSDT_LAST)
if [ -z "$api_secret" ] || [ -z "$expect_last" ]; then
    fail "cannot read the fake's constants from $TESTS_SRCDIR/fakex.h"
fi

tl_start_fakex "$workdir" "$START_TIMEOUT_S"

# Two workers: a killed one always leaves a live one to adopt its
# sessions.
tl_start_sse "$workdir/binmcpd.err" "$START_TIMEOUT_S" \
    BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
    BINANCE_TIMEOUT_MS=5000 \
    BINANCE_API_KEY="$api_key" BINANCE_API_SECRET="$api_secret" \
    -- --workers 2 --keepalive 1 --drain-timeout 3
ok "binmcpd --mode sse listens on 127.0.0.1:$port (pid $daemon_pid)"

# mcp-remote keeps its state (OAuth, lock files) here, not in $HOME.
mkdir -p "$workdir/mcp-remote"
rc=0
BINMCPD_PORT="$port" BINMCPD_PID="$daemon_pid" \
    BINMCPD_LOG="$workdir/binmcpd.err" EXPECT_LAST="$expect_last" \
    MCP_REMOTE="$mcp_remote" MCP_REMOTE_CONFIG_DIR="$workdir/mcp-remote" \
    node "$TESTS_BUILDDIR/sdk_kill.mjs" >"$workdir/node.out" 2>&1 || rc=$?
tl_count_node "$workdir/node.out" "$rc" "the client script"

if kill -0 "$daemon_pid" 2>/dev/null; then
    ok "the supervisor outlived every kill"
else
    not_ok "the supervisor is gone"
fi

tl_check_sigterm "$STOP_TIMEOUT_S"

if [ "$failed" -ne 0 ]; then
    echo "sdk_kill: the daemon's log follows" >&2
    cat "$workdir/binmcpd.err" >&2 || true
fi
finish
