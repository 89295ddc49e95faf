#!/usr/bin/env bash
# relayproxy.sh — builds GO Feature Flag's relay proxy (the load test's peer)
# from its Go module, once, and prints the binary's path.
#
#   edgefn/bench/relayproxy.sh        build if missing, print the path
#
# The build happens in a throwaway module outside the repository (a temp
# directory) that requires github.com/thomaspoignant/go-feature-flag at
# $VERSION; `go mod tidy` resolves its dependency graph through the Go module
# proxy and `go build` makes .../cmd/relayproxy (~5 minutes cold, ~180 MB).
# The binary is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools
# (override: EDGEFLAG_TOOLS) and reused while `go version -m` shows $VERSION.
set -euo pipefail

VERSION=v1.55.2
TOOLS=${EDGEFLAG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools}
BIN=$TOOLS/relayproxy-$VERSION

if [ -x "$BIN" ] && go version -m "$BIN" 2>/dev/null | grep -q "github.com/thomaspoignant/go-feature-flag[[:space:]]*$VERSION"; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$TOOLS"
work=$(mktemp -d "${TMPDIR:-/tmp}/edgeflag-relayproxy.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "relayproxy.sh: building GO Feature Flag relay proxy $VERSION in $work (~5 minutes, once)" >&2
cd "$work"
go mod init relayproxy-build >&2
cat > tools.go <<'GO'
//go:build tools

// Package tools pins the relay proxy's module for the build.
package tools

import _ "github.com/thomaspoignant/go-feature-flag/cmd/relayproxy"
GO
go mod edit -require "github.com/thomaspoignant/go-feature-flag@$VERSION"
GOFLAGS=-tags=tools go mod tidy >&2
CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" github.com/thomaspoignant/go-feature-flag/cmd/relayproxy >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
