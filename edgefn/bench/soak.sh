#!/usr/bin/env bash
# soak.sh — edgefn serve under OFREP load while a new version of the peer
# flag set is published to its folder store every second, for $DURATION
# (default 5m): every answer is checked (package edgefn/bench/soak), and the
# server's goroutines, heap and RSS are sampled every $SAMPLE. Exits 1 on any
# error. edgefn runs on CPU $SERVER_CPU with --refresh-interval 1s; the load
# ($CONNS connections, a bulk request every 4th) and the publisher on
# $LOAD_CPU. Output in $OUT (a temp directory, printed).
#
#   edgefn/bench/soak.sh
#   DURATION=30s edgefn/bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5m}
SAMPLE=${SAMPLE:-15s}
CONNS=${CONNS:-8}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/edgefn-soak.XXXXXX")}
mkdir -p "$OUT"
source edgefn/bench/lib.sh

build_tools "$OUT/bin"
setup_edgefn "$OUT" edgefn/bench/flags/peer
PORT=$(free_port)
start_server edgefn "$OUT" taskset -c "$SERVER_CPU" "$OUT/bin/edgefn" serve "${EDGEFN_ARGS[@]}" \
	--addr "127.0.0.1:$PORT" --refresh-interval 1s --rate-limits ofrep=off,ofrep_bulk=off --log-level warn
wait_ofrep "http://127.0.0.1:$PORT" "X-API-Key: $API_KEY"
publish="$OUT/bin/edgeflag publish $PWD/edgefn/bench/flags/peer --env production --key $OUT/signing.key --store file://$OUT/store --reason soak --actor soak"
echo "soak.sh: $DURATION, load $(load1) at the start" >&2
taskset -c "$LOAD_CPU" "$OUT/bin/soak" -url "http://127.0.0.1:$PORT" -key "$API_KEY" -pid "$(cat "$OUT/edgefn.pid")" \
	-flags 103 -publish "$publish" -duration "$DURATION" -sample "$SAMPLE" -conns "$CONNS" | tee "$OUT/summary.md"
echo "load at the end: $(load1)" | tee -a "$OUT/summary.md"
echo "soak.sh: output in $OUT (edgefn log: $OUT/edgefn.log)" >&2
