#!/usr/bin/env bash
# tinygo.sh — the TinyGo compiler for the WebAssembly builds, from the Go module
# proxy and Debian packages only (no release tarball, no LLVM build).
#
#   .ci/tinygo.sh install          install once into the tool cache, print the tinygo path
#   eval "$(.ci/tinygo.sh env)"    install if needed, print the env below as export lines
#   .ci/tinygo.sh CMD [ARGS...]    install if needed, run CMD with the env below
#
# Env given to CMD (and printed by env):
#   TINYGO         the tinygo binary
#   TINYGO_TARGET  the target file to pass as -target= (wasip1 on Debian's wasi-libc)
#   TINYGO_FLAGS   the flags every edgeflag TinyGo build uses
#
# Recipe (reasons in RATIONALE.md, "TinyGo toolchain"):
#   - TinyGo $VERSION source from `go mod download` (the proxy serves exact
#     versions only; `go install ...@version` needs a version list and is refused);
#   - built with -tags llvm$LLVM against Debian's llvm-$LLVM-dev/libclang-$LLVM-dev,
#     with clang-$LLVM, wasm-ld-$LLVM (lld-$LLVM) and wasm-opt (binaryen) as tools;
#   - the module zip has no git submodules: lib/wasi-libc and lib/compiler-rt
#     are replaced by Debian's wasi-libc and libclang-rt-$LLVM-dev-wasm32 through
#     our own target file; src/net (a submodule too) is left empty, as no
#     edgeflag wasm code imports net;
#   - builds use -scheduler=none (no asyncify pass: it costs ~2.7 ms a call)
#     and -panic=trap. A guest must not export a function named `free`;
#   - the target gives the module an 8 MiB stack (wasm-ld's default is 64 KiB,
#     which a 300-deep regexp or a 64-deep JSON document overflows: TinyGo
#     cannot grow a stack as Go does).
#
# Installing needs root for apt-get when a Debian package is missing. The compiler
# is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools/tinygo-$VERSION
# (override the parent: EDGEFLAG_TOOLS); later runs reuse it when its stamp
# matches this recipe and the Go toolchain it was built with. The target file
# is rewritten whenever it differs from the one below (no compiler rebuild).
set -euo pipefail

VERSION=v0.41.1
LLVM=19
TOOLS=${EDGEFLAG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeflag-tools}
ROOT=$TOOLS/tinygo-$VERSION
BIN=$ROOT/build/tinygo
TARGET=$ROOT/targets/wasip1-edgeflag.json
FLAGS="-target=$TARGET -scheduler=none -panic=trap -no-debug"
STACK=$((8 << 20))
PACKAGES=(llvm-$LLVM-dev libclang-$LLVM-dev clang-$LLVM lld-$LLVM libclang-rt-$LLVM-dev-wasm32 wasi-libc binaryen)
WASI_LIBC=/usr/lib/wasm32-wasi/libc.a
WASI_INCLUDE=/usr/include/wasm32-wasi
BUILTINS=/usr/lib/llvm-$LLVM/lib/clang/$LLVM/lib/wasi/libclang_rt.builtins-wasm32.a

# The target file: TinyGo's own wasip1 target, minus the wasi-libc and
# compiler-rt it would build from the absent submodules (we link Debian's), and
# minus the features LLVM 19 does not know (bulk-memory-opt,
# call-indirect-overlong: LLVM 20 names for parts of bulk-memory).
target_json() {
	cat <<EOF
{
	"llvm-target": "wasm32-unknown-wasi",
	"cpu": "generic",
	"features": "+bulk-memory,+mutable-globals,+nontrapping-fptoint,+sign-ext,-multivalue,-reference-types",
	"build-tags": ["tinygo.wasm"],
	"goos": "wasip1",
	"goarch": "wasm",
	"linker": "wasm-ld",
	"gc": "precise",
	"scheduler": "asyncify",
	"default-stack-size": 65536,
	"cflags": ["-mbulk-memory", "-mnontrapping-fptoint", "-mno-multivalue", "-mno-reference-types", "-msign-ext",
		"-nostdlibinc", "-isystem", "$WASI_INCLUDE"],
	"ldflags": ["--stack-first", "-zstack-size=$STACK", "--no-demangle", "$WASI_LIBC", "$BUILTINS"],
	"extra-files": ["src/runtime/asm_tinygowasm.S", "src/runtime/gc_boehm.c"]
}
EOF
}

# stamp: what the cached compiler was made from; any change rebuilds it.
stamp() {
	printf 'tinygo %s llvm %s %s\n' "$VERSION" "$LLVM" "$(go env GOVERSION)"
}

# write_target replaces the target file when it differs from target_json
# (through a rename: a build never reads half of one).
write_target() {
	if [ -f "$TARGET" ] && [ "$(cat "$TARGET")" = "$(target_json)" ]; then
		return 0
	fi
	target_json >"$TARGET.tmp.$$"
	mv "$TARGET.tmp.$$" "$TARGET"
}

apt_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "tinygo.sh: missing Debian packages (install them as root): ${missing[*]}" >&2
		return 1
	fi
	echo "tinygo.sh: apt-get install ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install() {
	apt_packages
	for f in "$WASI_LIBC" "$BUILTINS" "$WASI_INCLUDE/stdlib.h"; do
		[ -e "$f" ] || { echo "tinygo.sh: $f is missing although its package is installed" >&2; return 1; }
	done
	if [ -x "$BIN" ] && [ -f "$ROOT/.edgeflag-stamp" ] && [ "$(cat "$ROOT/.edgeflag-stamp")" = "$(stamp)" ]; then
		write_target
		return 0
	fi
	echo "tinygo.sh: building TinyGo $VERSION against LLVM $LLVM into $ROOT (about a minute, once)" >&2
	mkdir -p "$TOOLS"
	local work src
	work=$(mktemp -d "$TOOLS/.tinygo-build.XXXXXX")
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'" EXIT
	# Outside any module, so the project's go.mod is neither read nor changed.
	src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/tinygo-org/tinygo@$VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "tinygo.sh: go mod download gave no source directory for tinygo@$VERSION" >&2; return 1; }
	cp -r "$src" "$work/root"
	chmod -R u+w "$work/root"
	mkdir -p "$work/root/src/net"
	(cd "$work/root" && go build -trimpath -tags "llvm$LLVM" -o build/tinygo .) >&2
	"$work/root/build/tinygo" version >&2
	stamp >"$work/root/.edgeflag-stamp"
	# Replace the cached root in one rename, so a killed install leaves
	# either the old compiler or none, never half of one.
	rm -rf "$ROOT.old"
	[ -d "$ROOT" ] && mv "$ROOT" "$ROOT.old"
	mv "$work/root" "$ROOT"
	rm -rf "$ROOT.old"
	write_target
}

set_env() {
	export TINYGO=$BIN TINYGO_TARGET=$TARGET TINYGO_FLAGS=$FLAGS
}

case "${1:-}" in
install)
	install
	echo "$BIN"
	;;
env)
	install >&2
	set_env
	for v in TINYGO TINYGO_TARGET TINYGO_FLAGS; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	;;
"")
	echo "usage: $0 install | env | CMD [ARGS...]" >&2
	exit 1
	;;
*)
	install >&2
	set_env
	"$@"
	;;
esac
