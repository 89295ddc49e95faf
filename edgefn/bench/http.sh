#!/usr/bin/env bash
# http.sh — OFREP over HTTP under wrk: edgefn serve, GO Feature Flag's relay
# proxy (v1.55.2, over OFREP) and a trivial net/http handler (the ceiling),
# side by side in one session, on the peer flag set (edgefn/bench/flags: f1,
# f2, f3 + 100 F2-like flags, the same flags in both products' formats).
#
#   edgefn/bench/http.sh                     # 5 rounds of 10 s per target
#   ROUNDS=3 DURATION=5 edgefn/bench/http.sh
#
# Every server runs on CPU $SERVER_CPU (taskset; Go then sets GOMAXPROCS=1),
# wrk on CPU $LOAD_CPU with one thread and $CONNS keep-alive connections. A
# round measures, back to back: edgefn single (POST /ofrep/v1/evaluate/flags/f2),
# relay proxy single, trivial, edgefn bulk (POST /ofrep/v1/evaluate/flags, 103
# flags), relay proxy bulk; each line records `uptime`'s 1-minute load. The
# summary gives medians over the rounds and the ratios. edgefn runs with its
# rate limits off (the default ofrep limit is 5 000/s per key) and
# --log-level warn (no line per request). Raw wrk output, the TSV of every
# run and the summary go to $OUT (default a temp directory, printed).
#
# Needs: go, taskset, curl, wrk (installed with apt-get when missing and
# running as root). Builds the relay proxy once (edgefn/bench/relayproxy.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/edgefn-http.XXXXXX")}
mkdir -p "$OUT"
source edgefn/bench/lib.sh

need_wrk
RELAY=$(edgefn/bench/relayproxy.sh)
build_tools "$OUT/bin"
setup_edgefn "$OUT" edgefn/bench/flags/peer

EDGEFN_PORT=$(free_port)
start_server edgefn "$OUT" taskset -c "$SERVER_CPU" "$OUT/bin/edgefn" serve "${EDGEFN_ARGS[@]}" \
	--addr "127.0.0.1:$EDGEFN_PORT" --rate-limits ofrep=off,ofrep_bulk=off --log-level warn
GOFF_PORT=$(free_port)
goff_config "$OUT/goff.yaml" "$ROOT/edgefn/bench/flags/goff-peer.yaml" "$GOFF_PORT"
start_server goff "$OUT" taskset -c "$SERVER_CPU" "$RELAY" --config "$OUT/goff.yaml"
TRIVIAL_PORT=$(free_port)
start_server trivial "$OUT" taskset -c "$SERVER_CPU" "$OUT/bin/trivial" -addr "127.0.0.1:$TRIVIAL_PORT"

E=http://127.0.0.1:$EDGEFN_PORT
G=http://127.0.0.1:$GOFF_PORT
T=http://127.0.0.1:$TRIVIAL_PORT
wait_ofrep "$E" "X-API-Key: $API_KEY"
wait_ofrep "$G" "X-Bench: 1"
wait_ofrep "$T" "X-Bench: 1"

# Both products must give the same answers before they are timed.
check_answers "$E" "X-API-Key: $API_KEY"
check_answers "$G" "X-Bench: 1"

wrk_script "$OUT/edgefn.lua" "X-API-Key" "$API_KEY"
wrk_script "$OUT/plain.lua" "X-Bench" "1"
declare -A URL=([edgefn-single]="$E/ofrep/v1/evaluate/flags/f2" [goff-single]="$G/ofrep/v1/evaluate/flags/f2"
	[trivial]="$T/ofrep/v1/evaluate/flags/f2" [edgefn-bulk]="$E/ofrep/v1/evaluate/flags" [goff-bulk]="$G/ofrep/v1/evaluate/flags")
declare -A LUA=([edgefn-single]=edgefn [goff-single]=plain [trivial]=plain [edgefn-bulk]=edgefn [goff-bulk]=plain)
declare -A SERVER=([edgefn-single]=edgefn [goff-single]=goff [trivial]=trivial [edgefn-bulk]=edgefn [goff-bulk]=goff)
ORDER=(edgefn-single goff-single trivial edgefn-bulk goff-bulk)

echo "http.sh: warming up" >&2
for t in "${ORDER[@]}"; do
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d2s -s "$OUT/${LUA[$t]}.lua" "${URL[$t]}" >/dev/null
done

TSV=$OUT/runs.tsv
printf 'round\ttarget\treq_per_s\tp50_ms\tp99_ms\terrors\tload1\tcpu_us_per_req\n' >"$TSV"
for r in $(seq 1 "$ROUNDS"); do
	for t in "${ORDER[@]}"; do
		load=$(load1)
		raw=$OUT/wrk-$r-$t.txt
		pid=$(cat "$OUT/${SERVER[$t]}.pid")
		cpu0=$(cpu_ticks "$pid")
		taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$OUT/${LUA[$t]}.lua" "${URL[$t]}" >"$raw"
		cpu1=$(cpu_ticks "$pid")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$(wrk_rps "$raw")" "$(wrk_pct "$raw" 50%)" "$(wrk_pct "$raw" 99%)" \
			"$(wrk_errors "$raw")" "$load" "$(cpu_per_request "$cpu0" "$cpu1" "$raw")" | tee -a "$TSV" >&2
	done
done
for s in edgefn goff trivial; do
	printf '%s\t%s\n' "$s" "$(rss_of "$(cat "$OUT/$s.pid")")" >>"$OUT/rss.tsv"
done

{
	echo "# OFREP over HTTP, $(date -u +%FT%TZ), $ROUNDS rounds x ${DURATION}s, $CONNS connections"
	echo "edgefn $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+dirty'), $(go version | cut -d' ' -f3), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	echo
	summarize "$TSV"
	echo
	echo "RSS after the runs (VmRSS / VmHWM, kB):"
	sed 's/^/  /' "$OUT/rss.tsv"
} | tee "$OUT/summary.md"
echo "http.sh: raw output in $OUT" >&2
