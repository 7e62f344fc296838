#!/usr/bin/env bash
# Prints every CUnit "Run Summary" of a finished `make check` and one closing
# line "N passed, N failed" over all test programs.
# Usage: tests/summarize.sh BUILDDIR [LABEL]
# A program that failed without a summary of its own (a crash, a sanitizer
# report, a leak found after the summary) counts as one failed test.
set -uo pipefail
builddir=${1:-.}
label=${2:-}
passed=0
failed=0
shopt -s nullglob
for trs in "$builddir"/tests/*.trs; do
    log=${trs%.trs}.log
    name=$(basename "${trs%.trs}")
    result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
    p=0
    f=0
    if grep -q '^Run Summary' "$log" 2>/dev/null; then
        echo "== $label$name"
        sed -n '/^Run Summary/,/^Elapsed time/p' "$log"
        read -r p f < <(awk '$1 == "tests" { print $4, $5 }' "$log" | tail -n 1)
    elif line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" 2>/dev/null | tail -n 1); then
        echo "== $label$name: $line"
        p=${line%% passed*}
        f=${line#*, }
        f=${f%% failed*}
    fi
    if [ "$result" != "PASS" ] && [ "$result" != "SKIP" ] && [ "${f:-0}" -eq 0 ]; then
        echo "== $label$name: $result without a failed test of its own; counted as one failure"
        grep -E 'ERROR|Sanitizer|runtime error|FAILED' "$log" | head -n 20
        f=1
    fi
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
done
echo "${label}${passed} passed, ${failed} failed" > "$builddir/tests/summary.txt"
echo "${label}${passed} passed, ${failed} failed"
