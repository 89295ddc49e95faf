#!/usr/bin/env bash
# versitygw.sh — a real S3 server (versitygw, posix backend) on 127.0.0.1 for
# integration tests (real components, started on 127.0.0.1 and stopped after).
#
#   .ci/versitygw.sh install          build versitygw once into the tool cache, print its path
#   .ci/versitygw.sh CMD [ARGS...]    start a fresh server, run CMD with the env below, always stop it
#   eval "$(.ci/versitygw.sh start)"  start one and print the env as export lines
#   .ci/versitygw.sh stop             stop the one named by $EDGEFLAG_VERSITYGW_DIR
#
# Env given to CMD (and printed by start):
#   EDGEFLAG_S3_URL          s3://edgeflag-test/it?endpoint=http://127.0.0.1:PORT&pathStyle=true&region=us-east-1
#   EDGEFLAG_S3_ENDPOINT     http://127.0.0.1:PORT
#   EDGEFLAG_S3_BUCKET       edgeflag-test
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_EC2_METADATA_DISABLED
#   EDGEFLAG_VERSITYGW_DIR   the server's data, pid and log directory
#
# The binary is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools (override:
# EDGEFLAG_TOOLS); the first build takes a few minutes, later runs reuse it when
# `go version -m` shows the pinned module version.
set -euo pipefail

VERSION=v1.8.0
TOOLS=${EDGEFLAG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools}
BIN=$TOOLS/versitygw
BUCKET=edgeflag-test
ACCESS=edgeflag-it
SECRET=edgeflag-it-secret-not-for-production

install() {
	if [ -x "$BIN" ] && go version -m "$BIN" 2>/dev/null | grep -q "mod[[:space:]]*github.com/versity/versitygw[[:space:]]*$VERSION"; then
		return 0
	fi
	mkdir -p "$TOOLS"
	echo "versitygw.sh: building versitygw $VERSION into $TOOLS (a few minutes, once)" >&2
	GOBIN=$TOOLS go install "github.com/versity/versitygw/cmd/versitygw@$VERSION" >&2
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
	echo "versitygw.sh: no free port found" >&2
	return 1
}

# start: launches the server, waits until it answers a signed request,
# creates the bucket and sets the env (in this shell).
start() {
	install
	local dir port endpoint
	dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeflag-versitygw.XXXXXX")
	mkdir -p "$dir/data" "$dir/ver"
	port=$(free_port)
	endpoint="http://127.0.0.1:$port"
	"$BIN" --port "127.0.0.1:$port" --access "$ACCESS" --secret "$SECRET" --quiet \
		posix --versioning-dir "$dir/ver" "$dir/data" >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	export EDGEFLAG_VERSITYGW_DIR=$dir
	# Ready when a SigV4-signed CreateBucket succeeds (curl signs it itself).
	local ok=
	for _ in $(seq 1 100); do
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			echo "versitygw.sh: server exited:" >&2
			cat "$dir/log" >&2
			return 1
		fi
		if curl -fsS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
			-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" -X PUT "$endpoint/$BUCKET" 2>/dev/null; then
			ok=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		echo "versitygw.sh: server on $endpoint did not answer or create the bucket:" >&2
		cat "$dir/log" >&2
		stop
		return 1
	fi
	export EDGEFLAG_S3_ENDPOINT=$endpoint
	export EDGEFLAG_S3_BUCKET=$BUCKET
	export EDGEFLAG_S3_URL="s3://$BUCKET/it?endpoint=$endpoint&pathStyle=true&region=us-east-1"
	export AWS_ACCESS_KEY_ID=$ACCESS
	export AWS_SECRET_ACCESS_KEY=$SECRET
	export AWS_REGION=us-east-1
	export AWS_ENDPOINT_URL_S3=$endpoint
	export AWS_EC2_METADATA_DISABLED=true
}

stop() {
	local dir=${EDGEFLAG_VERSITYGW_DIR:-}
	[ -n "$dir" ] && [ -f "$dir/pid" ] || return 0
	local pid
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$dir"
}

case "${1:-}" in
install)
	install
	echo "$BIN"
	;;
start)
	start >&2
	for v in EDGEFLAG_VERSITYGW_DIR EDGEFLAG_S3_ENDPOINT EDGEFLAG_S3_BUCKET EDGEFLAG_S3_URL AWS_ACCESS_KEY_ID \
		AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL_S3 AWS_EC2_METADATA_DISABLED; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	;;
stop)
	stop
	;;
"")
	echo "usage: $0 install | start | stop | CMD [ARGS...]" >&2
	exit 1
	;;
*)
	start
	trap stop EXIT INT TERM
	"$@"
	;;
esac
