#!/usr/bin/env bash
# startup.sh — cold start and memory of edgefn serve and, side by side, GO
# Feature Flag's relay proxy (v1.55.2): process start to the first OFREP
# answer (POST .../flags/f2_000 answering "senior"), with 1 000 and 10 000
# F2-like flags that all differ (edgefn/bench/internal/peerflags, -varied),
# from a folder store (edgefn) and a flag file (relay proxy); VmRSS and
# VmHWM after the first answer and after 2 000 more single-flag requests
# (and, with 10 000 flags, after 20 bulk answers).
#
#   edgefn/bench/startup.sh            # RUNS=30 starts per measure (10 with 10 000 flags)
#
# The server runs on CPU $SERVER_CPU, the measuring client (edgefn/bench/cmd/startup)
# on CPU $LOAD_CPU. Output and the summary go to $OUT (a temp directory, printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${RUNS:-30}
RUNS_10K=${RUNS_10K:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/edgefn-startup.XXXXXX")}
mkdir -p "$OUT"
source edgefn/bench/lib.sh

RELAY=$(edgefn/bench/relayproxy.sh)
build_tools "$OUT/bin"
B=$OUT/bin
"$B/edgeflag" keygen --out "$OUT/signing.key" >/dev/null 2>&1
"$B/edgeflag" keygen --out "$OUT/token.key" >/dev/null 2>&1
API_KEY=efk_bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf 'keys:\n  - name: bench\n    sha256: %s\n    scopes: [flags:read]\n' "$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)" >"$OUT/api-keys.yaml"

summary=$OUT/summary.md
echo "# Cold start and memory, $(date -u +%FT%TZ), edgefn $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')" >"$summary"
for n in 1000 10000; do
	runs=$RUNS
	[ "$n" = 10000 ] && runs=$RUNS_10K
	key=f2_000
	[ "$n" = 10000 ] && key=f2_00000
	"$B/benchflags" -n "$n" -basics=false -varied -edgeflag "$OUT/flags-$n" -goff "$OUT/goff-$n.yaml"
	echo "startup.sh: publishing $n flags" >&2
	"$B/edgeflag" publish "$OUT/flags-$n" --env production --key "$OUT/signing.key" --store "file://$OUT/store-$n" \
		--reason bench --actor bench >/dev/null
	port=$(free_port)
	after=(-after 2000)
	echo "## edgefn serve, $n flags (load $(load1))" >>"$summary"
	taskset -c "$LOAD_CPU" "$B/startup" -runs "$runs" -url "http://127.0.0.1:$port/ofrep/v1/evaluate/flags/$key" \
		-header "X-API-Key: $API_KEY" -want '"value":"senior"' "${after[@]}" -- \
		taskset -c "$SERVER_CPU" "$B/edgefn" serve --store "file://$OUT/store-$n" --project bench --env production \
		--jwks "$OUT/signing.key.jwks.json" --api-keys "$OUT/api-keys.yaml" --token-key "$OUT/token.key" \
		--addr "127.0.0.1:$port" --rate-limits ofrep=off,ofrep_bulk=off --log-level warn \
		2> >(tail -3 >&2) | tee -a "$summary"
	if [ "$n" = 10000 ]; then
		echo "## edgefn serve, $n flags, 20 bulk answers (load $(load1))" >>"$summary"
		taskset -c "$LOAD_CPU" "$B/startup" -runs 3 -url "http://127.0.0.1:$port/ofrep/v1/evaluate/flags/$key" \
			-header "X-API-Key: $API_KEY" -want '"value":"senior"' -after 20 -after-url "http://127.0.0.1:$port/ofrep/v1/evaluate/flags" -- \
			taskset -c "$SERVER_CPU" "$B/edgefn" serve --store "file://$OUT/store-$n" --project bench --env production \
			--jwks "$OUT/signing.key.jwks.json" --api-keys "$OUT/api-keys.yaml" --token-key "$OUT/token.key" \
			--addr "127.0.0.1:$port" --rate-limits ofrep=off,ofrep_bulk=off --log-level warn 2>/dev/null | tee -a "$summary"
	fi
	gport=$(free_port)
	goff_config "$OUT/goff-$n.cfg.yaml" "$OUT/goff-$n.yaml" "$gport"
	echo "## relay proxy, $n flags (load $(load1))" >>"$summary"
	taskset -c "$LOAD_CPU" "$B/startup" -runs "$runs" -url "http://127.0.0.1:$gport/ofrep/v1/evaluate/flags/$key" \
		-want '"value":"senior"' "${after[@]}" -- taskset -c "$SERVER_CPU" "$RELAY" --config "$OUT/goff-$n.cfg.yaml" \
		2> >(tail -3 >&2) | tee -a "$summary"
done
echo "startup.sh: output in $OUT" >&2
cat "$summary"
