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
TL_NAME=sdk_http
TL_NOT_OK_STDERR=1
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

trap tl_sdk_cleanup EXIT

tl_sdk_require node npm

# In a VPATH build the script is copied next to node_modules. The manifest
# and the lock are not: the install below reads them from the source
# directory.
tl_copy_to_build sdk_http.mjs

# The SDK at exactly the pinned version, or a fresh `npm ci`, under a lock
# shared with sdk_stdio.sh (see tl_npm_install).
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
tl_npm_install "$TESTS_SRCDIR" "$TESTS_BUILDDIR" \
    "$TESTS_BUILDDIR/sdk-npm.lock.tmp" "the SDK interop test" \
    tl_pkg_version_is "$sdk_manifest" "$SDK_VERSION"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_http.XXXXXX")

api_key=$(fake_define FAKEX_KEY_A)
api_secret=$(fake_define FAKEX_SECRET_A)
expect_last=$(fake_define FAKEX_BTCUSDT_LAST)
if [ -z "$api_secret" ] || [ -z "$expect_last" ]; then
    fail "cannot read the fake's constants from $TESTS_SRCDIR/fakex.h"
fi

# The fake exchange on a free port.
tl_start_fakex "$workdir" "$START_TIMEOUT_S"

# The daemon, with none of the caller's Binance settings: only the fake's
# URL and its public test credentials.
tl_start_sse "$workdir/binmcpd.err" "$START_TIMEOUT_S" \
    BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
    BINANCE_TIMEOUT_MS=5000 \
    BINANCE_API_KEY="$api_key" BINANCE_API_SECRET="$api_secret" \
    -- --workers 2 --keepalive 1 --drain-timeout 3
ok "binmcpd --mode sse listens on 127.0.0.1:$port (pid $daemon_pid)"

echo "sdk_http: fake exchange at $fakex_url, daemon $BINMCPD on port $port," \
    "expected BTCUSDT lastPrice $expect_last"
rc=0
BINMCPD_PORT="$port" EXPECT_LAST="$expect_last" \
    SDK_CHART_MJS="$TESTS_SRCDIR/sdk_chart.mjs" \
    node "$TESTS_BUILDDIR/sdk_http.mjs" >"$workdir/node.out" 2>&1 || rc=$?
tl_count_node "$workdir/node.out" "$rc" "the SDK client script"

# SIGTERM: a graceful stop with status 0.
tl_check_sigterm "$STOP_TIMEOUT_S"

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
