# lib.sh — shared by edgefn/bench/*.sh (sourced, from the repository root).

BODY='{"context":{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}}'
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

need_wrk() {
	command -v wrk >/dev/null && return 0
	if [ "$(id -u)" = 0 ]; then
		echo "bench: installing wrk (Debian)" >&2
		apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >&2
	else
		echo "bench: wrk is missing: apt-get install wrk" >&2
		return 1
	fi
}

# build_tools DIR: edgefn, edgeflag and the bench commands.
build_tools() {
	mkdir -p "$1"
	go build -o "$1/" ./edgefn/cmd/edgefn ./publisher/cmd/edgeflag ./edgefn/bench/cmd/...
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "bench: no free port found" >&2
	return 1
}

# setup_edgefn DIR FLAGS: keys, an API key and FLAGS published to
# file://DIR/store; sets API_KEY and EDGEFN_ARGS (serve flags but --addr).
setup_edgefn() {
	local dir=$1 flags=$2 bin=$1/bin
	"$bin/edgeflag" keygen --out "$dir/signing.key" >/dev/null
	"$bin/edgeflag" keygen --out "$dir/token.key" >/dev/null
	API_KEY=efk_bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	printf 'keys:\n  - name: bench\n    sha256: %s\n    scopes: [flags:read]\n' \
		"$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)" >"$dir/api-keys.yaml"
	"$bin/edgeflag" publish "$flags" --env production --key "$dir/signing.key" --store "file://$dir/store" \
		--reason bench --actor bench >/dev/null
	EDGEFN_ARGS=(--store "file://$dir/store" --project bench --env production --jwks "$dir/signing.key.jwks.json"
		--api-keys "$dir/api-keys.yaml" --token-key "$dir/token.key")
}

# goff_config FILE FLAGFILE PORT: a relay proxy configuration.
goff_config() {
	cat >"$1" <<EOT
retriever:
  kind: file
  path: $2
server:
  mode: http
  host: 127.0.0.1
  port: $3
logLevel: error
EOT
}

# start_server NAME DIR CMD...: runs CMD in the background (output in
# DIR/NAME.log, pid in DIR/NAME.pid).
start_server() {
	local name=$1 dir=$2
	shift 2
	"$@" >"$dir/$name.log" 2>&1 &
	PIDS+=($!)
	echo $! >"$dir/$name.pid"
}

post() { # post URL HEADER
	curl -sS -X POST -H 'Content-Type: application/json' -H "$2" -d "$BODY" "$1"
}

# wait_ofrep BASE HEADER: until POST BASE/ofrep/v1/evaluate/flags/f2 answers.
wait_ofrep() {
	for _ in $(seq 1 300); do
		curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -H "$2" -d "$BODY" "$1/ofrep/v1/evaluate/flags/f2" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: $1 does not answer" >&2
	return 1
}

# check_answers BASE HEADER: f2 is "senior"; the bulk answer has 103 flags,
# 101 of them "senior".
check_answers() {
	local one all
	one=$(post "$1/ofrep/v1/evaluate/flags/f2" "$2")
	all=$(post "$1/ofrep/v1/evaluate/flags" "$2")
	if ! grep -q '"value":"senior"' <<<"$one" || [ "$(grep -o '"key":' <<<"$all" | wc -l)" != 103 ] ||
		[ "$(grep -o '"value":"senior"' <<<"$all" | wc -l)" != 101 ]; then
		echo "bench: $1 answers differently from the peer semantics:" >&2
		echo "$one" >&2
		head -c 600 <<<"$all" >&2
		return 1
	fi
}

# wrk_script FILE HEADER VALUE: a wrk script POSTing the load context.
wrk_script() {
	cat >"$1" <<EOT
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["$2"] = "$3"
EOT
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# cpu_ticks PID: the process's user + system CPU time in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# cpu_per_request TICKS0 TICKS1 WRKFILE: server CPU microseconds per request
# (the figure other processes on the machine disturb least).
cpu_per_request() {
	awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" '/ requests in / {printf "%.1f\n", (b - a) / hz * 1e6 / $1}' "$3"
}

wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }

# wrk_pct FILE 99%: that latency percentile in ms.
wrk_pct() {
	awk -v p="$2" '$1 == p {
		v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.3f\n", v }' "$1"
}

# wrk_errors FILE: non-2xx/3xx answers plus socket errors.
wrk_errors() {
	awk '/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
		END {print n + 0}' "$1"
}

# rss_of PID: "VmRSS / VmHWM" in kB.
rss_of() {
	awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r " / " h}' "/proc/$1/status"
}

# median of the numbers on stdin.
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# summarize TSV: medians per target and the ratios.
summarize() {
	local tsv=$1 t
	declare -A RPS P99 CPU
	echo "| target | req/s (median) | p50 ms | p99 ms (median) | server CPU µs/request (median) | errors | req/s of the rounds | 1-min load |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	for t in edgefn-single goff-single trivial edgefn-bulk goff-bulk; do
		RPS[$t]=$(awk -F'\t' -v t="$t" '$2 == t {print $3}' "$tsv" | median)
		P99[$t]=$(awk -F'\t' -v t="$t" '$2 == t {print $5}' "$tsv" | median)
		CPU[$t]=$(awk -F'\t' -v t="$t" '$2 == t {print $8}' "$tsv" | median)
		printf '| %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$t" "${RPS[$t]}" \
			"$(awk -F'\t' -v t="$t" '$2 == t {print $4}' "$tsv" | median)" "${P99[$t]}" \
			"${CPU[$t]}" \
			"$(awk -F'\t' -v t="$t" '$2 == t {n += $6} END {print n + 0}' "$tsv")" \
			"$(awk -F'\t' -v t="$t" '$2 == t {printf "%s%.0f", s, $3; s = " "}' "$tsv")" \
			"$(awk -F'\t' -v t="$t" '$2 == t {printf "%s%s", s, $7; s = " "}' "$tsv")"
	done
	echo
	awk -v es="${RPS[edgefn-single]}" -v gs="${RPS[goff-single]}" -v tr="${RPS[trivial]}" \
		-v eb="${RPS[edgefn-bulk]}" -v gb="${RPS[goff-bulk]}" 'BEGIN {
		printf "req/s ratios: edgefn/relay-proxy single %.1fx, bulk %.1fx; edgefn single / trivial handler %.2f\n", es / gs, eb / gb, es / tr }'
	awk -v es="${CPU[edgefn-single]}" -v gs="${CPU[goff-single]}" -v tr="${CPU[trivial]}" \
		-v eb="${CPU[edgefn-bulk]}" -v gb="${CPU[goff-bulk]}" 'BEGIN {
		printf "server CPU per request: relay-proxy/edgefn single %.1fx, bulk %.1fx; edgefn single / trivial handler %.2f\n", gs / es, gb / eb, es / tr }'
}
