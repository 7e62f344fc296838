#!/usr/bin/env bash
# inspector.sh - interop test: the MCP Inspector in CLI mode
# (@modelcontextprotocol/inspector-cli, a TypeScript SDK client; pinned in
# tests/conformance/package.json and its lock) talks to binmcpd over
# Streamable HTTP (/mcp), the legacy HTTP+SSE transport (/mcp/sse) and
# stdio; the daemon talks to the fake exchange. Over each transport,
# tools/list names get_ticker and tools/call get_ticker symbol=BTCUSDT
# returns the fake's BTCUSDT last price; the three transports give
# identical results for the same calls.
#
# Run by `make conformance` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment. Installs the pinned
# packages with `npm ci` into $TESTS_BUILDDIR/conformance/node_modules when
# the installed lock differs from tests/conformance/package-lock.json,
# under a lock shared with conformance.sh; a registry that cannot be
# reached is a failure, never a silent skip. Every process started here is
# stopped by its PID on exit; each Inspector run is bounded by `timeout`,
# which also stops what it started. The last line is "N passed, N failed".
set -euo pipefail

START_TIMEOUT_S=10
STOP_TIMEOUT_S=6 # --drain-timeout 3 and a little
CLI_TIMEOUT_S=60
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
TL_NAME=inspector
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

workdir=""
fakex_pid=""
daemon_pid=""

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$daemon_pid" ]; then
        stop_pid "$daemon_pid" "$STOP_TIMEOUT_S" || true
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
for f in package.json package-lock.json; do
    [ -f "$manifest_dir/$f" ] || fail "$manifest_dir/$f is missing"
done
mkdir -p "$TESTS_BUILDDIR/conformance"

# The pinned packages, or a fresh `npm ci` when the lock they were installed
# from is not the lock in the source tree; the same install as
# conformance.sh's, under the same lock (see tl_npm_install).
node_modules=$TESTS_BUILDDIR/conformance/node_modules
tl_npm_install "$manifest_dir" "$TESTS_BUILDDIR/conformance" \
    "$TESTS_BUILDDIR/conformance-npm.lock.tmp" "the Inspector" \
    tl_lock_is_installed "$manifest_dir" "$TESTS_BUILDDIR/conformance"
inspector_dir=$node_modules/@modelcontextprotocol/inspector-cli
[ -f "$inspector_dir/build/cli.js" ] ||
    fail "npm ci did not install the Inspector CLI"
inspector_version=$(node -p 'require(process.argv[1]).version' \
    "$inspector_dir/package.json")

workdir=$(mktemp -d "${TMPDIR:-/tmp}/inspector.XXXXXX")

expect_last=$(fake_define FAKEX_BTCUSDT_LAST)
[ -n "$expect_last" ] ||
    fail "cannot read FAKEX_BTCUSDT_LAST from $TESTS_SRCDIR/fakex.h"

# The fake exchange on a free port.
tl_start_fakex "$workdir" "$START_TIMEOUT_S"

# None of the caller's Binance or binmcpd settings reach the daemon (nor
# the stdio one, which inherits the Inspector's environment): only the
# fake's URL.
tl_clean_env
daemon_env=("${tl_unset_args[@]}")
daemon_env+=(BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url"
    BINANCE_TIMEOUT_MS=5000)

env "${daemon_env[@]}" \
    "$BINMCPD" --mode sse --bind 127.0.0.1 --port 0 --workers 2 \
    --keepalive 1 --drain-timeout 3 \
    </dev/null >"$workdir/binmcpd.err" 2>&1 &
daemon_pid=$!
port=$(tl_wait_port "$workdir/binmcpd.err" "$daemon_pid" "$START_TIMEOUT_S") ||
    port=""
if [ -z "$port" ]; then
    cat "$workdir/binmcpd.err" >&2 || true
    fail "binmcpd --mode sse did not log 'listening on 127.0.0.1:PORT'" \
        "within $START_TIMEOUT_S s"
fi
echo "inspector: @modelcontextprotocol/inspector-cli $inspector_version" \
    "on Node $(node --version); binmcpd on port $port, fake exchange at" \
    "$fakex_url, expected BTCUSDT lastPrice $expect_last"

# inspect OUT TRANSPORT ARGS...: one Inspector CLI run over TRANSPORT
# (http, sse or stdio); its JSON result goes to OUT, its standard error to
# OUT.err. Returns the Inspector's exit status (124: timed out).
# The launcher checks for ../package.json relative to the current directory
# and otherwise imports a package.json that does not exist: it is run from
# its own build/ directory, whose parent holds its package.json.
inspect() {
    local out=$1 transport=$2 target
    shift 2
    case $transport in
    http) target=(http://127.0.0.1:"$port"/mcp --transport http) ;;
    sse) target=(http://127.0.0.1:"$port"/mcp/sse --transport sse) ;;
    stdio) target=("$BINMCPD" --mode stdio) ;;
    esac
    (cd "$inspector_dir/build" &&
        env "${daemon_env[@]}" timeout "$CLI_TIMEOUT_S" \
            node "$inspector_dir/build/cli.js" --cli "${target[@]}" "$@" \
            </dev/null >"$out" 2>"$out.err")
}

# What a tools/list result ($1) lacks, or "" when it names get_ticker.
# shellcheck disable=SC2016 # JavaScript: its ${...} are not shell's
tools_list_js='
const fs = require("fs");
try {
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const names = (r.tools ?? []).map((t) => t.name);
  if (!names.includes("get_ticker")) {
    console.log(`get_ticker is not among the ${names.length} tools:`,
                names.join(", "));
  }
} catch (e) {
  console.log(`not a tools/list result: ${e.message}`);
}
'

# What is wrong with a get_ticker BTCUSDT result ($1) given the expected
# last price ($2), or "" when both its structuredContent and its text
# block carry that lastPrice.
# shellcheck disable=SC2016 # JavaScript: its ${...} are not shell's
ticker_js='
const fs = require("fs");
const [file, want] = process.argv.slice(1);
try {
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  const text = (r.content ?? []).find((c) => c.type === "text")?.text;
  const fromText = text === undefined ? undefined : JSON.parse(text).lastPrice;
  const fromStruct = r.structuredContent?.lastPrice;
  if (r.isError) {
    console.log(`isError: ${text}`);
  } else if (fromStruct !== want || fromText !== want) {
    console.log(`lastPrice ${fromStruct} (structuredContent),`,
                `${fromText} (text), not ${want}`);
  }
} catch (e) {
  console.log(`not a tools/call result: ${e.message}`);
}
'

# Prints a result ($1) as canonical JSON without the fields that change
# from call to call (the fake's ticker window ends now: openTime,
# closeTime), at any depth and inside JSON text blocks too.
canonical_js='
const fs = require("fs");
const volatile = new Set(["openTime", "closeTime"]);
function strip(v) {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) {
      if (volatile.has(k)) continue;
      if (k === "text" && typeof v[k] === "string") {
        try { o[k] = strip(JSON.parse(v[k])); continue; } catch {}
      }
      o[k] = strip(v[k]);
    }
    return o;
  }
  return v;
}
const result = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
console.log(JSON.stringify(strip(result), null, 1));
'

# Prints what went wrong with one Inspector run.
show_run() {
    local out=$1 rc=$2
    echo "inspector: the Inspector exited $rc; its output follows"
    head -c 2000 "$out" 2>/dev/null || true
    grep -v -e 'deprecated' -e 'Upgrade:' -e 'security fixes' \
        -e '^[[:space:]]*$' "$out.err" 2>/dev/null | head -n 20 || true
}

transports=(http sse stdio)
for t in "${transports[@]}"; do
    rc=0
    inspect "$workdir/$t.list.json" "$t" --method tools/list || rc=$?
    why=""
    if [ "$rc" -eq 0 ]; then
        why=$(node -e "$tools_list_js" "$workdir/$t.list.json")
    fi
    if [ "$rc" -eq 0 ] && [ -z "$why" ]; then
        ok "$t: tools/list names get_ticker"
    else
        not_ok "$t: tools/list: ${why:-the Inspector exited $rc}"
        show_run "$workdir/$t.list.json" "$rc"
    fi

    rc=0
    inspect "$workdir/$t.call.json" "$t" --method tools/call \
        --tool-name get_ticker --tool-arg symbol=BTCUSDT || rc=$?
    why=""
    if [ "$rc" -eq 0 ]; then
        why=$(node -e "$ticker_js" "$workdir/$t.call.json" "$expect_last")
    fi
    if [ "$rc" -eq 0 ] && [ -z "$why" ]; then
        ok "$t: tools/call get_ticker BTCUSDT: lastPrice $expect_last"
    else
        not_ok "$t: tools/call get_ticker BTCUSDT: ${why:-the Inspector" \
            "exited $rc}"
        show_run "$workdir/$t.call.json" "$rc"
    fi
done

# The same calls give the same results over every transport.
for call in list call; do
    for t in "${transports[@]}"; do
        node -e "$canonical_js" "$workdir/$t.$call.json" \
            >"$workdir/$t.$call.canon" 2>/dev/null || true
    done
    same=1
    for t in "${transports[@]:1}"; do
        if ! [ -s "$workdir/http.$call.canon" ] ||
            ! cmp -s "$workdir/http.$call.canon" "$workdir/$t.$call.canon"; then
            same=0
            diff -u "$workdir/http.$call.canon" "$workdir/$t.$call.canon" |
                head -n 40 || true
        fi
    done
    what="tools/list"
    if [ "$call" = call ]; then
        what="tools/call get_ticker (but for openTime and closeTime)"
    fi
    if [ "$same" -eq 1 ]; then
        ok "$what: identical over ${transports[*]}"
    else
        not_ok "$what: the results differ between transports (diff above)"
    fi
done

stop_rc=0
stop_pid "$daemon_pid" "$STOP_TIMEOUT_S" || stop_rc=$?
daemon_pid=""
if [ "$stop_rc" -ne 0 ]; then
    not_ok "SIGTERM: binmcpd exited $stop_rc (255: killed after" \
        "$STOP_TIMEOUT_S s)"
fi
if [ "$failed" -ne 0 ]; then
    echo "inspector: the daemon's log follows"
    tail -n 60 "$workdir/binmcpd.err" || true
fi
finish
