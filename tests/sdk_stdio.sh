#!/usr/bin/env bash
# sdk_stdio.sh - interop test: the official MCP TypeScript SDK client
# (pinned in tests/package.json and tests/package-lock.json) talks to
# `binmcpd --mode stdio`, which talks to the fake exchange.
#
# Run by `make check` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment. Installs the SDK with
# `npm ci` into $TESTS_BUILDDIR/node_modules when it is not there yet; a
# registry that cannot be reached is a failure, never a silent skip.
# The last line is "1 passed, 0 failed" or "0 passed, 1 failed".
set -euo pipefail

SDK_VERSION=1.32.2
here=$(cd "$(dirname "$0")" && pwd)
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
TL_NAME=sdk_stdio
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"

workdir=""
fakex_pid=""

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$fakex_pid" ]; then
        kill "$fakex_pid" 2>/dev/null || true
        wait "$fakex_pid" 2>/dev/null || true
    fi
    # Copies made for a VPATH build would otherwise survive distclean.
    if [ "${#tl_copied[@]}" -gt 0 ]; then
        rm -f "${tl_copied[@]}"
    fi
    if [ -n "$tl_npm_stage" ]; then
        rm -rf "$tl_npm_stage"
    fi
    if [ -n "$workdir" ]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

finish() {
    if [ "$1" -eq 0 ]; then
        echo "1 passed, 0 failed"
    else
        echo "0 passed, 1 failed"
    fi
    exit "$1"
}

fail() {
    echo "sdk_stdio: $*" >&2
    finish 1
}

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
[ -x "$BINMCPD" ] || fail "BINMCPD=$BINMCPD is not an executable"
[ -x "$FAKEX" ] || fail "FAKEX=$FAKEX is not an executable"
mkdir -p "$TESTS_BUILDDIR"

# In a VPATH build the script is copied next to node_modules. The manifest
# and the lock are not: the install below reads them from the source
# directory.
tl_copy_to_build sdk_stdio.mjs

# The SDK at exactly the pinned version, or a fresh `npm ci`, under a lock
# shared with sdk_http.sh (see tl_npm_install).
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
tl_npm_install "$TESTS_SRCDIR" "$TESTS_BUILDDIR" \
    "$TESTS_BUILDDIR/sdk-npm.lock.tmp" "the SDK interop test" \
    tl_pkg_version_is "$sdk_manifest" "$SDK_VERSION"

# The fake exchange on a free port.
workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_stdio.XXXXXX")
tl_start_fakex "$workdir" 10

# The fake's default account A (public test credentials), so that the
# account tools are checked too.
api_key=$(fake_define FAKEX_KEY_A)
api_secret=$(fake_define FAKEX_SECRET_A)
# The BTCUSDT last price the fake serves (when the header does not give it,
# the client asks the fake itself).
expect_last=$(fake_define FAKEX_BTCUSDT_LAST)

echo "sdk_stdio: fake exchange at $fakex_url, daemon $BINMCPD," \
    "expected BTCUSDT lastPrice ${expect_last:-(asked from the fake)}"
rc=0
BINMCPD="$BINMCPD" FAKEX_URL="$fakex_url" EXPECT_LAST="$expect_last" \
    STDIO_JOURNAL="$tl_journal" \
    SDK_API_KEY="$api_key" SDK_API_SECRET="$api_secret" \
    SDK_CHART_MJS="$TESTS_SRCDIR/sdk_chart.mjs" \
    node "$TESTS_BUILDDIR/sdk_stdio.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "sdk_stdio: the SDK client check failed (exit $rc); the fake" \
        "exchange's log follows" >&2
    cat "$workdir/fakex.err" >&2 || true
    finish 1
fi
finish 0
