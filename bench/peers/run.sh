#!/usr/bin/env bash
# The peer engines' benchmarks (bench/peers/README.md): the semantics tests,
# then the benchmarks in one process run with -count=5 -cpu=1, then benchstat
# tables with the engines as columns when benchstat is installed.
#
#   BENCH  benchmarks to run (go test -bench); the default leaves out flagd's
#          Load10k (~20 s per op). BENCH=. runs everything.
#   COUNT  runs of each benchmark (5); BENCHTIME  go test -benchtime (1s)
#   OUT    results file (bench/peers/results.txt)
set -euo pipefail
cd "$(dirname "$0")"
BENCH=${BENCH:-'Eval|Load/Load1k|Load/Load10k/engine=(ld|goff)'}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
OUT=${OUT:-results.txt}
go=${GO:-go}

$go test -count=1 -run 'Semantics|LoadDocuments' .
{
	echo "# $(date -u +%FT%TZ) $($go version) nproc=$(nproc)"
	echo "# load before: $(uptime)"
	$go test -run '^$' -bench "$BENCH" -benchmem -benchtime "$BENCHTIME" -count "$COUNT" -cpu 1 -timeout 90m .
	echo "# load after: $(uptime)"
} | tee "$OUT"

benchstat=$(command -v benchstat || true)
[ -n "$benchstat" ] || [ ! -x "$($go env GOPATH)/bin/benchstat" ] || benchstat="$($go env GOPATH)/bin/benchstat"
if [ -z "$benchstat" ]; then
	echo "benchstat is not installed (go install golang.org/x/perf/cmd/benchstat@latest); raw results in $PWD/$OUT" >&2
	exit 0
fi
"$benchstat" -col /engine -filter '.name:Eval' "$OUT"
"$benchstat" -col /engine -filter '.name:Load' "$OUT"
