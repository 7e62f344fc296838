#!/usr/bin/env bash
# man_examples.sh - the examples of the man pages, run as written: the
# "session by hand" of binmcpd(8) (its shell text taken from the page
# source, `binmcpd` found on PATH) against the fake exchange, and the
# configuration of binmcpd.conf(5)'s TRADING SAFELY section checked with
# --check-config. A page whose example breaks fails here.
#
# Run by `make check` from the build directory with BINMCPD, FAKEX,
# TESTS_SRCDIR and TESTS_BUILDDIR in the environment. The last line is
# "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
BINMCPD=${BINMCPD:-$here/../binmcpd}
FAKEX=${FAKEX:-$here/fakex}
TL_NAME=man_examples
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"
man8="$TESTS_SRCDIR/../man/binmcpd.8"
man5="$TESTS_SRCDIR/../man/binmcpd.conf.5"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/man_examples.XXXXXX")
fakex_pid=""
passed=0
failed=0

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$fakex_pid" ]; then
        kill "$fakex_pid" 2>/dev/null || true
        wait "$fakex_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

fail() {
    echo "man_examples: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

check() {
    if [ "$1" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok - $2"
    else
        failed=$((failed + 1))
        echo "not ok - $2"
    fi
}

# The literal block that follows the line $2 in page $1, with the roff
# escapes of the examples (\e) turned back into backslashes and the
# prompts ("$ ") removed.
example_after() {
    sed -n "/^$2\$/,/^\\.Ed\$/p" "$1" | sed -e '1,2d' -e '$d' \
        -e 's/\\e/\\/g' -e 's/^\$ //'
}

# binmcpd(8): a session by hand, against the fake exchange.
session=$(example_after "$man8" 'A session by hand:')
[ -n "$session" ] || fail "no session example in $man8"
tl_start_fakex "$workdir" 10
mkdir -p "$workdir/bin"
ln -s "$BINMCPD" "$workdir/bin/binmcpd"
tl_clean_env
out=$(env "${tl_unset_args[@]}" PATH="$workdir/bin:$PATH" \
    BINANCE_BASE_URL="$fakex_url" BINANCE_TESTNET_URL="$fakex_url" \
    bash -c "$session" 2>"$workdir/session.err") || true
want=$(fake_define FAKEX_BTCUSDT_LAST)
if printf '%s\n' "$out" | grep -q "\"lastPrice\":\"$want\"" &&
    printf '%s\n' "$out" | grep -q '"id":1'; then
    check 0 "binmcpd(8): the session by hand answers get_ticker"
else
    check 1 "binmcpd(8): the session by hand answers get_ticker"
    printf 'example:\n%s\noutput:\n%s\n' "$session" "$out" >&2
    cat "$workdir/session.err" >&2
fi

# binmcpd.conf(5): the configuration for a funded mainnet key.
conf=$(sed -n '/^\.Sh TRADING SAFELY$/,/^\.Ed$/p' "$man5" |
    sed -n '/^\.Bd/,/^\.Ed/p' | sed -e '1d' -e '$d')
printf '%s\n' "$conf" |
    sed "s|^journal = .*|journal = $workdir/state/journal.db|" \
        >"$workdir/trading.conf"
mkdir -p "$workdir/state"
if env "${tl_unset_args[@]}" "$BINMCPD" --config "$workdir/trading.conf" \
    --check-config >"$workdir/check.out" 2>&1 &&
    grep -q 'max order notional: 250 USDT' "$workdir/check.out" &&
    grep -q 'allowed symbols: BTCUSDT,ETHUSDT' "$workdir/check.out"; then
    check 0 "binmcpd.conf(5): the TRADING SAFELY configuration checks OK"
else
    check 1 "binmcpd.conf(5): the TRADING SAFELY configuration checks OK"
    cat "$workdir/trading.conf" "$workdir/check.out" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
