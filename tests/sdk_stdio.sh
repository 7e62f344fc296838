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

workdir=""
fakex_pid=""
copied=()

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$fakex_pid" ]; then
        kill "$fakex_pid" 2>/dev/null || true
        wait "$fakex_pid" 2>/dev/null || true
    fi
    # Copies made for a VPATH build would otherwise survive distclean.
    if [ "${#copied[@]}" -gt 0 ]; then
        rm -f "${copied[@]}"
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

# In a VPATH build the manifest, the lock and the script are copied next to
# node_modules (npm ci reads the first two from its prefix; ESM resolves the
# SDK relative to the script's own directory).
src_real=$(cd "$TESTS_SRCDIR" && pwd -P)
build_real=$(cd "$TESTS_BUILDDIR" && pwd -P)
if [ "$src_real" != "$build_real" ]; then
    for f in package.json package-lock.json sdk_stdio.mjs; do
        cp "$TESTS_SRCDIR/$f" "$TESTS_BUILDDIR/$f"
        copied+=("$TESTS_BUILDDIR/$f")
    done
fi

# The SDK at exactly the pinned version, or a fresh `npm ci`, under a lock
# shared with sdk_http.sh (both may run at once under make -j; the lock is
# released when fd 9 closes; make clean removes the *.tmp lock file).
exec 9>"$TESTS_BUILDDIR/sdk-npm.lock.tmp"
if command -v flock >/dev/null 2>&1; then
    flock -w 900 9 || fail "could not take $TESTS_BUILDDIR/sdk-npm.lock.tmp"
fi
sdk_manifest=$TESTS_BUILDDIR/node_modules/@modelcontextprotocol/sdk/package.json
have_version=""
if [ -f "$sdk_manifest" ]; then
    have_version=$(node -p 'require(process.argv[1]).version' "$sdk_manifest" \
        2>/dev/null || true)
fi
if [ "$have_version" != "$SDK_VERSION" ]; then
    echo "sdk_stdio: installing @modelcontextprotocol/sdk $SDK_VERSION" \
        "with npm ci into $TESTS_BUILDDIR/node_modules"
    npm_cmd=(npm ci --no-audit --no-fund --prefix "$TESTS_BUILDDIR")
    if command -v timeout >/dev/null 2>&1; then
        npm_cmd=(timeout 600 "${npm_cmd[@]}")
    fi
    if ! "${npm_cmd[@]}" >&2; then
        fail "npm ci failed: the npm registry could not be reached or the" \
            "lock file is broken; the SDK interop test cannot run"
    fi
    [ -f "$sdk_manifest" ] || fail "npm ci did not install the SDK"
fi
exec 9>&-

# The fake exchange on a free port: it prints "PORT <n>" once it listens.
workdir=$(mktemp -d "${TMPDIR:-/tmp}/sdk_stdio.XXXXXX")
"$FAKEX" --port 0 >"$workdir/fakex.out" 2>"$workdir/fakex.err" &
fakex_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$workdir/fakex.out" |
        head -n 1)
    [ -n "$port" ] && break
    kill -0 "$fakex_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    cat "$workdir/fakex.err" >&2 || true
    fail "the fake exchange ($FAKEX) did not report a port within 10 s"
fi
fakex_url="http://127.0.0.1:$port"

# The string value of a #define in fakex.h (continuation lines joined), or
# "".
fake_define() {
    sed -e ':a' -e '/\\$/N' -e 's/\\\n//' -e 'ta' "$TESTS_SRCDIR/fakex.h" \
        2>/dev/null |
        sed -n "s/^#define[[:space:]]*$1[[:space:]]*\"\([^\"]*\)\".*/\1/p" |
        head -n 1 || true
}
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
    SDK_API_KEY="$api_key" SDK_API_SECRET="$api_secret" \
    node "$TESTS_BUILDDIR/sdk_stdio.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "sdk_stdio: the SDK client check failed (exit $rc); the fake" \
        "exchange's log follows" >&2
    cat "$workdir/fakex.err" >&2 || true
    finish 1
fi
finish 0
