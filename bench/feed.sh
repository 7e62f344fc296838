#!/bin/bash
# bench/feed.sh - the live-data benchmark (issue 12): binmcpd --mode sse
# with its feed process tracking 50 symbols that the fake exchange streams
# at Binance's full rate, plus one quiet probe symbol. Measures the feed's
# CPU, the market segment's size, a worker's book read latency (market_read
# alone, and the get_orderbook_depth round trip with source "live"), and
# the push latency from the fake's event to the client's
# notifications/resources/updated. A benchmark, not a test: make check
# never runs it.
#
# Usage: bench/feed.sh   (or `make bench-feed` in the build tree; see
# bench/README.md). Knobs (environment): SYMBOLS=50, RATE=10 (depth events
# per symbol per second), TRADES=50 (aggTrades per 100 depth events),
# BAND=10 (ticks from the last price the diffs touch: the top of the book
# moves often, so bookTicker events follow), CPU_S=20 (the CPU window),
# RTT_CALLS=200, PROBES=40, PROBE_MS=1200, PUSH_WAIT_MS=6000 (give up on
# push latency when no notification came by then), NOTIFY_INTERVAL=1 (the
# daemon's --notify-interval: an update that follows another within it
# waits for its end), READ_S=3, WORKERS=2,
# OUT=dir for logs (default: a new directory under /tmp, kept), BUILD=the
# build tree (default: the source tree).
#
# Everything runs on 127.0.0.1, every wait has a deadline (under 6 minutes
# in all; most of it waits for the weight budget of the books' snapshots), and only the processes
# started here are stopped, by PID: the fake exchange, the daemon (the
# supervisor and its children) and the client.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top}
SYMBOLS=${SYMBOLS:-50}
RATE=${RATE:-10}
TRADES=${TRADES:-50}
BAND=${BAND:-10}
CPU_S=${CPU_S:-20}
RTT_CALLS=${RTT_CALLS:-200}
PROBES=${PROBES:-40}
PROBE_MS=${PROBE_MS:-1200}
PUSH_WAIT_MS=${PUSH_WAIT_MS:-6000}
NOTIFY_INTERVAL=${NOTIFY_INTERVAL:-1}
READ_S=${READ_S:-3}
WORKERS=${WORKERS:-2}
PROBE_SYM=BTCUSDT # quiet: only the probes change it
OUT=${OUT:-$(mktemp -d /tmp/binmcpd-feedbench.XXXXXX)}
mkdir -p "$OUT"

FX_PID=
D_PID=
C_PID=

log() { printf '[bench-feed] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
kv() { # file key
	sed -n "s/^$2=//p" "$1" | head -n 1
}
jnum() { # json name
	printf '%s' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
fx() { # method path
	curl -s --max-time 5 -X "$1" "http://127.0.0.1:$FX_PORT$2" || true
}
health() { curl -s --max-time 5 "http://127.0.0.1:$PORT/health" || true; }

# utime + stime of one process, in clock ticks ("binmcpd-feed" has no
# space, so the fields are plain).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The supervisor's child named binmcpd-feed in /proc/PID/comm.
feed_pid() {
	local p
	for p in $(pgrep -P "$D_PID" || true); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = binmcpd-feed ]; then
			echo "$p"
			return
		fi
	done
}

# Runs "$@" in the background as C_PID, waits for it at most $1 seconds
# (the rest is the command), and returns its status (124 on the deadline).
run_bounded() {
	local limit=$1
	shift
	"$@" &
	C_PID=$!
	wait_bounded "$limit"
}

# Waits at most $1 seconds for C_PID, stops it after that; returns its
# status (124 on the deadline).
wait_bounded() {
	local limit=$1 t0 st=0
	t0=$(now_ms)
	while kill -0 "$C_PID" 2>/dev/null; do
		if [ $(($(now_ms) - t0)) -ge $((limit * 1000)) ]; then
			kill "$C_PID" 2>/dev/null || true
			wait "$C_PID" 2>/dev/null || true
			C_PID=
			return 124
		fi
		sleep 0.1
	done
	wait "$C_PID" || st=$?
	C_PID=
	return "$st"
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

if [ "$SYMBOLS" -lt 1 ] || [ "$SYMBOLS" -gt 64 ]; then
	die "SYMBOLS must be 1..64"
fi

# ---- build ----
log "building (logs in $OUT)"
make -C "$BUILD" binmcpd tests/fakex bench/feed_bench >"$OUT/make.log" 2>&1 ||
	die "make failed, see $OUT/make.log"
client=$BUILD/bench/feed_bench

# ---- the fake exchange: SYMBOLS extra symbols X00USDT.. and BTCUSDT ----
"$BUILD/tests/fakex" --port 0 --extra-symbols "$SYMBOLS" \
	>"$OUT/fakex.out" 2>"$OUT/fakex.log" &
FX_PID=$!
FX_PORT=
for _ in $(seq 100); do
	FX_PORT=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$OUT/fakex.out")
	[ -n "$FX_PORT" ] && break
	sleep 0.05
done
[ -n "$FX_PORT" ] || die "the fake exchange did not start"
WS_PORT=$(jnum "$(fx GET /__fake/stream)" port)
[ -n "$WS_PORT" ] || die "the fake exchange has no stream port"
busy=
for i in $(seq 0 $((SYMBOLS - 1))); do
	busy="$busy${busy:+,}$(printf 'X%02dUSDT' "$i")"
done

# ---- the daemon, with its feed ----
BINANCE_BASE_URL="http://127.0.0.1:$FX_PORT" \
	BINANCE_TESTNET_URL="http://127.0.0.1:$FX_PORT" \
	BINANCE_STREAM_URL="ws://127.0.0.1:$WS_PORT" \
	BINANCE_WS_API_URL="ws://127.0.0.1:$WS_PORT/ws-api/v3" \
	BINMCPD_FEED=on \
	"$BUILD/binmcpd" --mode sse --bind 127.0.0.1 --port 0 --workers "$WORKERS" \
	--max-tracked-symbols $((SYMBOLS + 1)) \
	--notify-interval "$NOTIFY_INTERVAL" 2>"$OUT/binmcpd.log" &
D_PID=$!
PORT=
for _ in $(seq 200); do
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/binmcpd.log" | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || die "the daemon did not start, see $OUT/binmcpd.log"
for _ in $(seq 100); do
	[ "$(jnum "$(health)" workers_alive)" = "$WORKERS" ] && break
	sleep 0.05
done
FEED=
for _ in $(seq 100); do
	FEED=$(feed_pid)
	[ -n "$FEED" ] && break
	sleep 0.05
done
[ -n "$FEED" ] || die "no binmcpd-feed process under $D_PID"
log "fake on $FX_PORT (streams $WS_PORT), daemon $D_PID on $PORT, feed $FEED"

# ---- full rate on the busy symbols, from now to the end ----
total_rate=$((RATE * SYMBOLS))
g=$(fx POST "/__fake/stream/random?symbols=$busy&n=1000000&rate=$total_rate&changes=4&band=$BAND&trades=$TRADES")
case $g in *'"started":true'*) ;; *) die "the generator did not start: $g" ;; esac

# ---- track them all (tool calls until each is live), tool round trips ----
# Each symbol's first snapshot is GET /api/v3/depth?limit=5000, weight 250:
# the daemon's budget of 6000 a minute lets 24 through per minute, so 51
# symbols need up to three wall-clock minutes' budgets (about 1-2 minutes).
log "tracking $((SYMBOLS + 1)) symbols (1-2 minutes: snapshot weight), then $RTT_CALLS get_orderbook_depth calls"
st=0
run_bounded 250 "$client" track -p "$PORT" -s "$PROBE_SYM,$busy" -b X00USDT \
	-n "$RTT_CALLS" >"$OUT/track.out" 2>"$OUT/track.err" || st=$?
[ "$(kv "$OUT/track.out" track_live)" = "$((SYMBOLS + 1))" ] ||
	die "only $(kv "$OUT/track.out" track_live) symbols live (status $st), see $OUT/track.*"
log "all live in $(kv "$OUT/track.out" track_ms) ms"

# ---- push latency (needs resources/subscribe on the server), in the
# background: one probe event every PROBE_MS is nothing beside the load ----
log "push latency: $PROBES probes every $PROBE_MS ms on $PROBE_SYM"
"$client" push -p "$PORT" -f "$FX_PORT" -s "$PROBE_SYM" -n "$PROBES" \
	-i "$PROBE_MS" -w "$PUSH_WAIT_MS" >"$OUT/push.out" 2>"$OUT/push.err" &
C_PID=$!

# ---- the feed's CPU and the stream's message rate over CPU_S ----
log "CPU window: $CPU_S s"
clk=$(getconf CLK_TCK)
sent1=$(jnum "$(fx GET /__fake/stream)" sent)
f1=$(ticks "$FEED")
d1=0
for p in $D_PID $(pgrep -P "$D_PID" || true); do d1=$((d1 + $(ticks "$p"))); done
x1=$(ticks "$FX_PID")
ms1=$(now_ms)
sleep "$CPU_S"
sent2=$(jnum "$(fx GET /__fake/stream)" sent)
f2=$(ticks "$FEED")
d2=0
for p in $D_PID $(pgrep -P "$D_PID" || true); do d2=$((d2 + $(ticks "$p"))); done
x2=$(ticks "$FX_PID")
ms2=$(now_ms)
pct() { awk -v t="$1" -v c="$clk" -v ms="$((ms2 - ms1))" \
	'BEGIN { printf "%.1f", t / c / (ms / 1000) * 100 }'; }
feed_pct=$(pct $((f2 - f1)))
daemon_pct=$(pct $((d2 - d1)))
fakex_pct=$(pct $((x2 - x1)))
msg_rate=$(awk -v n="$((sent2 - sent1))" -v ms="$((ms2 - ms1))" \
	'BEGIN { printf "%.0f", n / (ms / 1000) }')
feed_rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$FEED/status")
feed_pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$FEED/smaps_rollup")

# ---- the market segment: market_size for these slots, and its mapping ----
"$client" read -n $((SYMBOLS + 1)) -t 1 >"$OUT/size.out" 2>&1 ||
	die "feed_bench read failed, see $OUT/size.out"
seg_bytes=$(kv "$OUT/size.out" market_size_bytes)
seg_pages=$(((seg_bytes + 4095) / 4096))
seg_kb=$((seg_pages * 4))
# the feed's shared mapping of that size (Size, Rss, Pss in kB)
seg_map=$(awk -v want="$seg_kb" '
	/^[0-9a-f]+-[0-9a-f]+ / { shared = ($2 ~ /s$/); name = $6 " " $7 }
	$1 == "Size:" { size = $2 }
	$1 == "Rss:" { rss = $2 }
	$1 == "Pss:" { pss = $2
		if (shared && size == want) { printf "%s %s %s %s", size, rss, pss, name; exit } }
	' "/proc/$FEED/smaps")
seg_size=${seg_map%% *}
seg_rest=${seg_map#* }
seg_rss=${seg_rest%% *}
seg_rest=${seg_rest#* }
seg_pss=${seg_rest%% *}
seg_name=${seg_rest#* }
[ -n "$seg_map" ] || { seg_size=-; seg_rss=-; seg_pss=-; seg_name="not found"; }

st=0
wait_bounded $((PROBES * PROBE_MS / 1000 + 10)) || st=$?
if [ "$(kv "$OUT/push.out" push_matched)" -gt 0 ] 2>/dev/null; then
	push="$(kv "$OUT/push.out" push_p50_ms) / $(kv "$OUT/push.out" push_p99_ms) / $(kv "$OUT/push.out" push_max_ms) ms ($(kv "$OUT/push.out" push_matched) of $(kv "$OUT/push.out" push_probes) probes notified, $(kv "$OUT/push.out" push_unmatched) other notifications)"
elif [ "$st" = 124 ]; then
	push="not measured (the client passed its deadline, see $OUT/push.*)"
else
	push="not measured (server sent no notifications/resources/updated; subscribe: $(kv "$OUT/push.out" push_subscribe))"
fi

feed_state=$(jnum "$(fx GET /__fake/stream)" open)

# ---- stop the daemon and the fake, then market_read alone ----
kill -TERM "$D_PID"
stop_status=0
wait "$D_PID" || stop_status=$?
D_PID=
kill "$FX_PID" 2>/dev/null || true
wait "$FX_PID" 2>/dev/null || true
FX_PID=

# the writer publishes what the feed published in the window: a book per
# depth event, a ticker per bookTicker, a trade per aggTrade (the fake's
# messages per second; kline updates count too, so this errs high)
log "market_read: $READ_S s twice"
"$client" read -n $((SYMBOLS + 1)) -w "$msg_rate" -t "$READ_S" \
	>"$OUT/read.out" 2>&1 || die "feed_bench read failed, see $OUT/read.out"
"$client" read -n $((SYMBOLS + 1)) -w "$msg_rate" -t "$READ_S" -o \
	>"$OUT/read1.out" 2>&1 || die "feed_bench read -o failed, see $OUT/read1.out"

# ---- results ----
{
	echo "binmcpd live-data benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)," \
		"kernel $(uname -r); daemon, fake exchange and client on one machine"
	echo "load: $SYMBOLS symbols x $RATE depth diffs/s (1-4 level changes within $BAND ticks," \
		"bookTicker when the top moves, an aggTrade + kline after $TRADES% of diffs)," \
		"probe symbol $PROBE_SYM quiet; --workers $WORKERS --max-tracked-symbols $((SYMBOLS + 1)) --notify-interval $NOTIFY_INTERVAL"
	echo
	printf '%-52s %s of %s in %s ms\n' "symbols live (get_orderbook_depth source live)" \
		"$(kv "$OUT/track.out" track_live)" "$(kv "$OUT/track.out" track_symbols)" \
		"$(kv "$OUT/track.out" track_ms)"
	printf '%-52s %s msg/s\n' "stream messages sent by the fake (window)" "$msg_rate"
	printf '%-52s %s %% of one CPU (%s ticks in %s ms)\n' "feed process (binmcpd-feed) CPU" \
		"$feed_pct" "$((f2 - f1))" "$((ms2 - ms1))"
	printf '%-52s %s %% of one CPU\n' "whole daemon CPU (supervisor, workers, feed)" "$daemon_pct"
	printf '%-52s %s %% of one CPU\n' "fake exchange CPU (for scale)" "$fakex_pct"
	printf '%-52s %s kB RSS, %s kB PSS\n' "feed process memory" "$feed_rss" "$feed_pss"
	printf '%-52s %s bytes (%s slots; state %s B a slot)\n' "market segment (market_size)" \
		"$seg_bytes" "$(kv "$OUT/size.out" market_slots)" "$(kv "$OUT/size.out" market_state_bytes)"
	printf '%-52s Size %s kB, Rss %s kB, Pss %s kB (shared, %s)\n' "  the feed's mapping of it (/proc/PID/smaps)" \
		"$seg_size" "$seg_rss" "$seg_pss" "$seg_name"
	printf '%-52s %s / %s / %s us (%s reads, %s EAGAIN)\n' \
		"market_read of one slot p50 / p99 / max" \
		"$(kv "$OUT/read.out" read_p50_us)" "$(kv "$OUT/read.out" read_p99_us)" \
		"$(kv "$OUT/read.out" read_max_us)" "$(kv "$OUT/read.out" read_reads)" \
		"$(kv "$OUT/read.out" read_eagain)"
	printf '%-52s %s / %s / %s us (%s reads, %s EAGAIN)\n' \
		"  the same, every write on the slot read" \
		"$(kv "$OUT/read1.out" read_p50_us)" "$(kv "$OUT/read1.out" read_p99_us)" \
		"$(kv "$OUT/read1.out" read_max_us)" "$(kv "$OUT/read1.out" read_reads)" \
		"$(kv "$OUT/read1.out" read_eagain)"
	printf '%-52s %s / %s / %s ms (%s of %s live)\n' \
		"get_orderbook_depth round trip p50 / p99 / max" \
		"$(kv "$OUT/track.out" depth_rtt_p50_ms)" "$(kv "$OUT/track.out" depth_rtt_p99_ms)" \
		"$(kv "$OUT/track.out" depth_rtt_max_ms)" "$(kv "$OUT/track.out" depth_live)" \
		"$(kv "$OUT/track.out" depth_calls)"
	printf '%-52s %s\n' "push latency event -> notification p50 / p99 / max" "$push"
	printf '%-52s %s\n' "stream connections open at the end" "${feed_state:-?}"
	printf '%-52s %s\n' "daemon exit status (SIGTERM)" "$stop_status"
} | tee "$OUT/results.txt"
log "details in $OUT"
