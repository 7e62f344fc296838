#!/usr/bin/env bash
# tests/fuzz/run.sh - runs libFuzzer harnesses for `make fuzz`.
#
# Usage: run.sh [-t SECONDS] [-j JOBS] -c CORPUS_ROOT -o OUT_DIR HARNESS...
#
# Each HARNESS (a program built with -fsanitize=fuzzer) runs for SECONDS
# on a scratch copy of CORPUS_ROOT/<name> (the seeds in the tree are never
# written), JOBS harnesses at a time. OUT_DIR gets <name>.log and, when a
# harness fails, its crash, leak, timeout or out-of-memory inputs under
# crashes/<name>/; each failure is printed with the sanitizer's report and
# the input in hex. Prints one line per harness, then
# "fuzz: N passed, N failed"; exits 1 when any harness failed.
set -u

seconds=60
jobs=1
corpus_root=
out=
usage() {
    echo "usage: $0 [-t SECONDS] [-j JOBS] -c CORPUS_ROOT -o OUT_DIR HARNESS..." >&2
    exit 2
}
while getopts t:j:c:o: opt; do
    case $opt in
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    c) corpus_root=$OPTARG ;;
    o) out=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$corpus_root" ] || [ -z "$out" ] || [ "$#" -eq 0 ]; then
    usage
fi
case $seconds$jobs in
*[!0-9]*) usage ;;
esac
[ "$jobs" -ge 1 ] || jobs=1

mkdir -p "$out"
out=$(cd "$out" && pwd) # the harnesses run in their scratch directories
scratch=$(mktemp -d "${TMPDIR:-/tmp}/binmcpd-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Leaks fail a run; UBSan findings abort (the build has
# -fno-sanitize-recover) with a stack trace.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# run_one HARNESS: one harness; writes OUT/<name>.result as
# "passed|failed RUNS EXECS_PER_SEC SEEDS CORPUS".
run_one() {
    local bin=$1 name rc=0 runs execs seeds corpus
    name=$(basename "$bin")
    local work=$scratch/$name art=$out/crashes/$name
    rm -rf "$art"
    mkdir -p "$work/corpus" "$art"
    if [ -d "$corpus_root/$name" ]; then
        cp -R "$corpus_root/$name/." "$work/corpus/"
    fi
    seeds=$(find "$work/corpus" -type f | wc -l)
    (cd "$work" && "$bin" -max_total_time="$seconds" -max_len=65536 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work/corpus") >"$out/$name.log" 2>&1 ||
        rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$name.log")
    corpus=$(find "$work/corpus" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ -n "$(find "$art" -type f)" ]; then
        echo "failed ${runs:-?} ${execs:-?} $seeds $corpus" >"$out/$name.result"
    else
        echo "passed ${runs:-?} ${execs:-?} $seeds $corpus" >"$out/$name.result"
        rmdir "$art" 2>/dev/null || true
    fi
    rm -rf "$work"
}

# report_failure NAME BIN: the sanitizer's report and every kept input.
report_failure() {
    local name=$1 bin=$2 f
    echo "---- $name: the report ($out/$name.log)"
    sed -n '/ERROR: \|runtime error: \|deadly signal\|==ABORTING\|Test unit written/,$p' \
        "$out/$name.log" | head -n 80
    for f in "$out/crashes/$name"/*; do
        [ -f "$f" ] || continue
        echo "---- $name: input kept as $f ($(wc -c <"$f") bytes):"
        od -A d -t x1z -v "$f" | head -n 64
        echo "     reproduce: $bin $f"
    done
}

pids=()
for bin in "$@"; do
    case $bin in
    /*) ;;
    *) bin=$(pwd)/$bin ;;
    esac
    if [ ! -x "$bin" ]; then
        echo "$(basename "$bin"): no such harness: $bin" >&2
        echo "failed ? ? 0 0" >"$out/$(basename "$bin").result"
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    echo "== $(basename "$bin"): ${seconds}s"
    run_one "$bin" &
    pids+=("$!")
done
for pid in "${pids[@]}"; do
    wait "$pid" || true
done

passed=0
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    read -r verdict runs execs seeds corpus <"$out/$name.result"
    echo "$name: $verdict ($runs runs, $execs exec/s, corpus $seeds -> $corpus)"
    if [ "$verdict" = passed ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        report_failure "$name" "$bin"
    fi
done
echo "fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
