#!/usr/bin/env bash
# readme_tools.sh - the README's tool table cannot drift from the daemon:
# the tools `binmcpd --mode stdio` lists (tools/list, every toolset) must
# be exactly the rows of the README's "Tools" table, each in the toolset
# the row names (checked by serving that set alone), and the set sizes the
# README states must match.
#
# Run by `make check` with BINMCPD and TESTS_SRCDIR in the environment.
# The last line is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
TESTS_SRCDIR=${TESTS_SRCDIR:-$here}
TESTS_BUILDDIR=${TESTS_BUILDDIR:-$here}
BINMCPD=${BINMCPD:-$here/../binmcpd}
# shellcheck source=tests/testlib.sh
. "$here/testlib.sh"
readme="$TESTS_SRCDIR/../README.md"
passed=0
failed=0

check() {
    if [ "$1" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok - $2"
    else
        failed=$((failed + 1))
        echo "not ok - $2"
    fi
}

# The tool names tools/list gives with toolsets=$1, sorted, one per line.
listed() {
    tl_clean_env
    printf '%s\n' \
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"readme_tools","version":"1"}}}' \
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
        env "${tl_unset_args[@]}" BINMCPD_TOOLSETS="$1" \
            BINANCE_BASE_URL=http://127.0.0.1:9 \
            "$BINMCPD" --mode stdio 2>/dev/null |
        grep '"id":2' | grep -o '"name":"[a-z_]*"' |
        sed 's/"name":"\(.*\)"/\1/' | sort
}

# The README rows: "tool set" per line, sorted.
# shellcheck disable=SC2016 # the backquotes are the README's, not a shell's
rows=$(sed -n '/^## Tools$/,/^## /p' "$readme" |
    sed -n 's/^| `\([a-z_]*\)` | \([a-z]*\) |.*/\1 \2/p' | sort)

all_listed=$(listed all)
all_rows=$(printf '%s\n' "$rows" | cut -d' ' -f1 | sort)
if [ -n "$all_listed" ] && [ "$all_listed" = "$all_rows" ]; then
    check 0 "the README's tool table names exactly the tools listed"
else
    check 1 "the README's tool table names exactly the tools listed"
    diff <(printf '%s\n' "$all_rows") <(printf '%s\n' "$all_listed") >&2 ||
        true
fi

for set in market account trade orderlists analytics; do
    want=$(printf '%s\n' "$rows" | awk -v s="$set" '$2 == s { print $1 }' |
        sort)
    got=$(listed "$set")
    n=$(printf '%s\n' "$got" | grep -c . || true)
    if [ "$want" = "$got" ] &&
        grep -q "${set} ${n}[^0-9]" <(sed -n '/^\*\*Toolsets\.\*\*/,/^$/p' "$readme" |
            tr '\n' ' '); then
        check 0 "toolset $set: $n tools, as the README says"
    else
        check 1 "toolset $set: the README's rows and size match tools/list"
        diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
