#!/usr/bin/env bash
# sdk_subscribe.sh - interop test: the official MCP TypeScript SDK client
# (pinned in tests/package.json and tests/package-lock.json) subscribes to
# binmcpd's resources over legacy HTTP+SSE and Streamable HTTP and gets
# notifications/resources/updated when an order placed by a session of the
# other worker fills at the fake exchange (tests/sdk_subscribe.mjs). The
# daemon runs 2 workers and its feed process, whose market streams and
# user data stream are the fake's WebSocket server.
#
# Run by `make check` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment; installs the SDK
# with `npm ci` when it is not there yet (see tl_npm_install). Every
# process started here is stopped by its PID on exit.
# The last line is "N passed, N failed".
set -euo pipefail

SDK_VERSION=1.32.2
START_TIMEOUT_S=10
NODE_TIMEOUT_S=120 # sdk_subscribe.mjs gives up by itself after 100 s
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
TL_NAME=sdk_subscribe
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"
trap tl_sdk_cleanup EXIT

for tool in node npm curl; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -x "$BINMCPD" ] || fail "BINMCPD=$BINMCPD is not an executable"
[ -x "$FAKEX" ] || fail "FAKEX=$FAKEX is not an executable"
mkdir -p "$TESTS_BUILDDIR"
tl_copy_to_build sdk_subscribe.mjs
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
tl_npm_install "$TESTS_SRCDIR" "$TESTS_BUILDDIR" \
    "$TESTS_BUILDDIR/sdk-npm.lock.tmp" "the SDK subscription test" \
    tl_pkg_version_is "$sdk_manifest" "$SDK_VERSION"

api_key=$(sed -n '/#define TEST_KEY_A/{n;s/.*"\(.*\)".*/\1/p}' \
    "$TESTS_SRCDIR/testlib.h")
api_secret=$(sed -n '/#define TEST_SECRET_A/{n;s/.*"\(.*\)".*/\1/p}' \
    "$TESTS_SRCDIR/testlib.h")
key_b=$(sed -n '/#define TEST_KEY_B/{n;s/.*"\(.*\)".*/\1/p}' \
    "$TESTS_SRCDIR/testlib.h")
secret_b=$(sed -n '/#define TEST_SECRET_B/{n;s/.*"\(.*\)".*/\1/p}' \
    "$TESTS_SRCDIR/testlib.h")
if [ -z "$api_key" ] || [ -z "$api_secret" ] || [ -z "$key_b" ] ||
    [ -z "$secret_b" ]; then
    fail "cannot read the test accounts' keys from testlib.h"
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_subscribe.XXXXXX")
tl_start_fakex "$workdir" "$START_TIMEOUT_S"
ws_port=$(tl_fake_ws_port)
[ -n "$ws_port" ] || fail "the fake exchange did not name its WebSocket port"

# The daemon with its feed (tl_clean_env turns it off: on again here),
# every URL at the fake, account A, orders without confirmation (the
# guard's limits and journal still apply).
tl_clean_env
env "${tl_unset_args[@]}" \
    BINMCPD_FEED=on BINANCE_BASE_URL="$fakex_url" \
    BINANCE_TESTNET_URL="$fakex_url" \
    BINANCE_STREAM_URL="ws://127.0.0.1:$ws_port" \
    BINANCE_WS_API_URL="ws://127.0.0.1:$ws_port/ws-api/v3" \
    BINANCE_API_KEY="$api_key" BINANCE_API_SECRET="$api_secret" \
    BINMCPD_ORDER_CONFIRMATION=off BINMCPD_MAX_ORDER_NOTIONAL=1000 \
    BINMCPD_JOURNAL="$workdir/journal.db" BINMCPD_NOTIFY_INTERVAL=1 \
    "$BINMCPD" --mode sse --bind 127.0.0.1 --port 0 --workers 2 \
    --drain-timeout 3 </dev/null >"$workdir/binmcpd.err" 2>&1 &
daemon_pid=$!
port=$(tl_wait_port "$workdir/binmcpd.err" "$daemon_pid" "$START_TIMEOUT_S") ||
    port=""
if [ -z "$port" ]; then
    cat "$workdir/binmcpd.err" >&2 || true
    fail "binmcpd --mode sse did not log 'listening on 127.0.0.1:PORT'"
fi

node_cmd=(node "$TESTS_BUILDDIR/sdk_subscribe.mjs")
if command -v timeout >/dev/null 2>&1; then
    node_cmd=(timeout "$NODE_TIMEOUT_S" "${node_cmd[@]}")
fi
rc=0
env "${tl_unset_args[@]}" BINMCPD_PORT="$port" FAKEX_URL="$fakex_url" \
    DAEMON_PID="$daemon_pid" KEY_B="$key_b" SECRET_B="$secret_b" \
    "${node_cmd[@]}" >"$workdir/node.out" 2>"$workdir/node.err" || rc=$?
while IFS= read -r line; do
    case $line in
    "ok "*) ok "${line#ok * - }" ;;
    "not ok "*) not_ok "${line#not ok * - }" ;;
    *) echo "$line" ;;
    esac
done <"$workdir/node.out"
[ "$rc" -eq 0 ] || not_ok "the SDK client exited $rc (124: timed out)"

# What /metrics says of it: updates were pushed, accounts are followed.
metrics=$(curl -sf "http://127.0.0.1:$port/metrics" || true)
updates=$(printf '%s\n' "$metrics" |
    sed -n 's/^binmcpd_resource_updates_total \([0-9][0-9]*\)$/\1/p')
accounts=$(printf '%s\n' "$metrics" |
    sed -n 's/^binmcpd_userdata_live \([0-9][0-9]*\)$/\1/p')
if [ "${updates:-0}" -ge 10 ]; then
    ok "/metrics: binmcpd_resource_updates_total $updates"
else
    not_ok "/metrics: binmcpd_resource_updates_total '${updates:-}' (>= 10)"
fi
if [ "${accounts:-0}" -ge 1 ]; then
    ok "/metrics: binmcpd_userdata_live $accounts"
else
    not_ok "/metrics: binmcpd_userdata_live '${accounts:-}' (>= 1)"
fi

stop_rc=0
stop_pid "$daemon_pid" 6 || stop_rc=$?
daemon_pid=""
[ "$stop_rc" -eq 0 ] || not_ok "binmcpd exited $stop_rc on SIGTERM"
if [ "$failed" -ne 0 ]; then
    echo "$TL_NAME: the client's stderr, the daemon's and the fake's logs" \
        "follow" >&2
    cat "$workdir/node.err" "$workdir/binmcpd.err" "$workdir/fakex.err" \
        >&2 || true
fi
finish
