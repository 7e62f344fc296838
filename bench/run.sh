#!/bin/bash
# bench/run.sh - how many SSE streams binmcpd --mode sse holds, at what
# memory and idle CPU, how fast a tool call is, and how fast a client of a
# killed worker is back. A benchmark, not a test: make check never runs it.
#
# Usage: bench/run.sh            (from anywhere; see bench/README.md)
# Knobs (environment): N=10000 streams, WORKERS=2, MAXCONN=$N,
# KEEPALIVE=30, IDLE_S=10 (the idle CPU window), RTT_CALLS=200,
# RECONNECT_ROUNDS=3, INFLIGHT=256 (connections opening at once),
# OUT=dir for logs (default: a new directory under /tmp, kept), BUILD=the
# build tree (default: the source tree, an in-tree build).
#
# Everything runs on 127.0.0.1, every wait has a deadline, and only the
# processes started here are stopped (by PID): the fake exchange, the
# daemon (and its workers, found as the supervisor's children), the client.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top} # where binmcpd and tests/fakex are built (make there)
N=${N:-10000}
WORKERS=${WORKERS:-2}
MAXCONN=${MAXCONN:-$N}
KEEPALIVE=${KEEPALIVE:-30}
IDLE_S=${IDLE_S:-10}
RTT_CALLS=${RTT_CALLS:-200}
RECONNECT_ROUNDS=${RECONNECT_ROUNDS:-3}
INFLIGHT=${INFLIGHT:-256}
OUT=${OUT:-$(mktemp -d /tmp/binmcpd-bench.XXXXXX)}
mkdir -p "$OUT"

FX_PID=
D_PID=
C_PID=

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The daemon's processes: the supervisor and its children.
daemon_pids() {
	echo "$D_PID"
	pgrep -P "$D_PID" || true
}

# Sums a "Name:   N kB" field over the daemon's processes.
sum_kb() { # file field
	local total=0 p v
	for p in $(daemon_pids); do
		v=$(awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$p/$1" 2>/dev/null || true)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# utime + stime of the daemon's processes, in clock ticks.
cpu_ticks() {
	local total=0 p v
	for p in $(daemon_pids); do
		# the command name is "binmcpd": no spaces, so fields are plain
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

health() { curl -s --max-time 5 "http://127.0.0.1:$PORT/health" || true; }
field() { # json name
	printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
kv() { # file key
	sed -n "s/^$2=//p" "$1" | head -n 1
}

cleanup() {
	local p ws
	if [ -n "$C_PID" ] && kill -0 "$C_PID" 2>/dev/null; then
		kill "$C_PID" 2>/dev/null || true
		wait "$C_PID" 2>/dev/null || true
	fi
	if [ -n "$D_PID" ] && kill -0 "$D_PID" 2>/dev/null; then
		ws=$(pgrep -P "$D_PID" || true)
		kill -KILL "$D_PID" 2>/dev/null || true
		wait "$D_PID" 2>/dev/null || true
		for p in $ws; do kill -KILL "$p" 2>/dev/null || true; done
	fi
	if [ -n "$FX_PID" ] && kill -0 "$FX_PID" 2>/dev/null; then
		kill "$FX_PID" 2>/dev/null || true
		wait "$FX_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ----
log "building (logs in $OUT)"
make -C "$BUILD" binmcpd tests/fakex >"$OUT/make.log" 2>&1 ||
	die "make failed, see $OUT/make.log"
gcc -O2 -std=c11 -pthread -Wall -Wextra -I"$BUILD" -I"$top" -I"$top/tests" \
	"$top/bench/sse_streams.c" "$top/tests/httpc.c" -o "$OUT/sse_streams" ||
	die "cannot build the client"

# ---- descriptors: the client holds N, each worker about N/WORKERS ----
ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((N + 100)) ] ||
	die "ulimit -n is $(ulimit -n): too low for N=$N (run as root or lower N)"

# ---- the fake exchange ----
"$BUILD/tests/fakex" --port 0 >"$OUT/fakex.out" 2>"$OUT/fakex.log" &
FX_PID=$!
FX_PORT=
for _ in $(seq 100); do
	FX_PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$OUT/fakex.out")
	[ -n "$FX_PORT" ] && break
	sleep 0.05
done
[ -n "$FX_PORT" ] || die "the fake exchange did not start"

# ---- the daemon ----
BINANCE_BASE_URL="http://127.0.0.1:$FX_PORT" \
	BINANCE_TESTNET_URL="http://127.0.0.1:$FX_PORT" \
	"$BUILD/binmcpd" --mode sse --bind 127.0.0.1 --port 0 --workers "$WORKERS" \
	--max-connections "$MAXCONN" --keepalive "$KEEPALIVE" \
	--max-connections-per-ip "$MAXCONN" --max-sessions-per-client "$MAXCONN" \
	2>"$OUT/binmcpd.log" &
D_PID=$!
PORT=
for _ in $(seq 200); do
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/binmcpd.log" | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || die "the daemon did not start, see $OUT/binmcpd.log"
for _ in $(seq 100); do
	[ "$(field "$(health)" workers_alive)" = "$WORKERS" ] && break
	sleep 0.05
done
log "daemon pid $D_PID on port $PORT, workers: $(pgrep -P "$D_PID" | tr '\n' ' ')"

sleep 1
base_rss=$(sum_kb status VmRSS)
base_pss=$(sum_kb smaps_rollup Pss)
# memory in use on the whole machine: daemon, client and kernel
used_kb() { awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }' /proc/meminfo; }
base_used=$(used_kb)

# ---- N streams ----
log "opening $N streams"
hold_s=$((IDLE_S + 180))
"$OUT/sse_streams" open -p "$PORT" -n "$N" -c "$INFLIGHT" -t "$hold_s" \
	-r "$OUT/ready" >"$OUT/open.out" 2>"$OUT/open.err" &
C_PID=$!
for _ in $(seq 2000); do
	[ -s "$OUT/ready" ] && break
	kill -0 "$C_PID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$OUT/ready" ] || die "the client did not finish opening, see $OUT/open.*"
opened=$(kv "$OUT/open.out" open_ok)
log "$opened streams open in $(kv "$OUT/open.out" open_ms) ms"

sleep 2
h=$(health)
sessions_open=$(field "$h" sessions)
load_rss=$(sum_kb status VmRSS)
load_pss=$(sum_kb smaps_rollup Pss)
load_used=$(used_kb)
per_worker=
for w in $(pgrep -P "$D_PID"); do
	per_worker="$per_worker $(find "/proc/$w/fd" -mindepth 1 -maxdepth 1 | wc -l)"
done

# ---- idle CPU with every stream open ----
log "idle window: $IDLE_S s"
clk=$(getconf CLK_TCK)
t1=$(cpu_ticks)
ms1=$(now_ms)
sleep "$IDLE_S"
t2=$(cpu_ticks)
ms2=$(now_ms)
idle_ticks=$((t2 - t1))
idle_pct=$(awk -v t="$idle_ticks" -v c="$clk" -v ms="$((ms2 - ms1))" \
	'BEGIN { printf "%.2f", t / c / (ms / 1000) * 100 }')

# ---- a worker killed under load ----
victim=
most=0
for w in $(pgrep -P "$D_PID"); do
	n=$(find "/proc/$w/fd" -mindepth 1 -maxdepth 1 | wc -l)
	if [ "$n" -gt "$most" ]; then
		most=$n
		victim=$w
	fi
done
restarts0=$(field "$(health)" worker_restarts)
log "killing worker $victim (about $most descriptors) under load"
k0=$(now_ms)
kill -KILL "$victim"
respawn_ms=timeout
for _ in $(seq 400); do
	h=$(health)
	if [ "$(field "$h" workers_alive)" = "$WORKERS" ] &&
		[ "$(field "$h" worker_restarts)" = "$((restarts0 + 1))" ]; then
		respawn_ms=$(($(now_ms) - k0))
		break
	fi
	sleep 0.025
done
sessions_after_kill=$(field "$(health)" sessions)

# ---- close every stream ----
kill -TERM "$C_PID" 2>/dev/null || true
wait "$C_PID" || true
C_PID=
dropped=$(kv "$OUT/open.out" held_dropped)
# Closing a stream should free its session at once; wait up to two
# keep-alive periods and a margin for the daemon to notice.
c0=$(now_ms)
freed_ms="not within $((2 * KEEPALIVE + 15)) s"
while [ $(($(now_ms) - c0)) -lt $(((2 * KEEPALIVE + 15) * 1000)) ]; do
	left=$(field "$(health)" sessions)
	if [ "$left" = "0" ]; then
		freed_ms="$(($(now_ms) - c0)) ms"
		break
	fi
	sleep 0.1
done
sessions_left=${left:-?}

# ---- tool call round trips, then kill-to-reconnect ----
log "round trips: $RTT_CALLS get_ticker calls"
"$OUT/sse_streams" rtt -p "$PORT" -n "$RTT_CALLS" >"$OUT/rtt.out" 2>"$OUT/rtt.err" ||
	log "rtt: some calls failed, see $OUT/rtt.*"
log "kill -> reconnect: $RECONNECT_ROUNDS rounds"
"$OUT/sse_streams" reconnect -p "$PORT" -s "$D_PID" -n "$RECONNECT_ROUNDS" \
	>"$OUT/reconnect.out" 2>"$OUT/reconnect.err" ||
	log "reconnect: some rounds failed, see $OUT/reconnect.*"

# ---- graceful stop ----
s0=$(now_ms)
kill -TERM "$D_PID"
stop_status=0
wait "$D_PID" || stop_status=$?
stop_ms=$(($(now_ms) - s0))
D_PID=
kill "$FX_PID" 2>/dev/null || true
wait "$FX_PID" 2>/dev/null || true
FX_PID=

# ---- results ----
per_stream() { # base loaded
	awk -v b="$1" -v l="$2" -v n="$opened" \
		'BEGIN { if (n > 0) printf "%.1f", (l - b) * 1024 / n; else print "-" }'
}
{
	echo "binmcpd --mode sse benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)," \
		"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"kernel $(uname -r)"
	echo "daemon: --workers $WORKERS --max-connections $MAXCONN --keepalive $KEEPALIVE (per address and per client: $MAXCONN; the client is one address)"
	echo
	printf '%-50s %s\n' "streams requested / open" "$N / $opened"
	printf '%-50s %s\n' "refused (503) / failed" \
		"$(kv "$OUT/open.out" open_503) / $(kv "$OUT/open.out" open_failed)"
	printf '%-50s %s ms (%s streams/s)\n' "time to open all" \
		"$(kv "$OUT/open.out" open_ms)" "$(kv "$OUT/open.out" open_rate_per_s)"
	printf '%-50s %s / %s / %s ms\n' "connect -> endpoint p50 / p99 / max" \
		"$(kv "$OUT/open.out" open_latency_p50_ms)" \
		"$(kv "$OUT/open.out" open_latency_p99_ms)" \
		"$(kv "$OUT/open.out" open_latency_max_ms)"
	printf '%-50s %s\n' "/health sessions with all open" "$sessions_open"
	printf '%-50s%s\n' "descriptors per worker" "$per_worker"
	printf '%-50s %s -> %s kB\n' "daemon RSS total (sum of VmRSS)" "$base_rss" "$load_rss"
	printf '%-50s %s -> %s kB\n' "daemon PSS total (smaps_rollup)" "$base_pss" "$load_pss"
	printf '%-50s %s B RSS, %s B PSS\n' "memory per stream (daemon, user space)" \
		"$(per_stream "$base_rss" "$load_rss")" "$(per_stream "$base_pss" "$load_pss")"
	printf '%-50s %s B\n' "machine memory per stream (daemon+client+kernel)" \
		"$(per_stream "$base_used" "$load_used")"
	printf '%-50s %s ticks in %s ms = %s %% of one CPU\n' "idle CPU (all streams open, $IDLE_S s)" \
		"$idle_ticks" "$((ms2 - ms1))" "$idle_pct"
	printf '%-50s %s\n' "streams dropped while held (incl. the kill)" "$dropped"
	printf '%-50s %s ms; sessions %s -> %s\n' "kill -9 of a loaded worker -> respawned" \
		"$respawn_ms" "$sessions_open" "$sessions_after_kill"
	printf '%-50s %s (sessions left at the end: %s)\n' "all streams closed -> /health sessions 0" \
		"$freed_ms" "$sessions_left"
	printf '%-50s %s / %s / %s / %s ms (%s of %s ok)\n' \
		"get_ticker round trip p50 / p90 / p99 / max" \
		"$(kv "$OUT/rtt.out" rtt_p50_ms)" "$(kv "$OUT/rtt.out" rtt_p90_ms)" \
		"$(kv "$OUT/rtt.out" rtt_p99_ms)" "$(kv "$OUT/rtt.out" rtt_max_ms)" \
		"$(kv "$OUT/rtt.out" rtt_ok)" "$(kv "$OUT/rtt.out" rtt_calls)"
	printf '%-50s %s / %s ms (%s of %s rounds)\n' \
		"kill -> first tool result p50 / max" \
		"$(kv "$OUT/reconnect.out" reconnect_p50_ms)" \
		"$(kv "$OUT/reconnect.out" reconnect_max_ms)" \
		"$(kv "$OUT/reconnect.out" reconnect_ok)" \
		"$(kv "$OUT/reconnect.out" reconnect_rounds)"
	printf '%-50s %s ms, exit status %s\n' "SIGTERM -> daemon exit (idle)" "$stop_ms" "$stop_status"
} | tee "$OUT/results.txt"
log "details in $OUT"
