# edgeflag — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.8.2
DEV := .dev
EDGEFLAG := bin/edgeflag
EXAMPLE_ENV ?= production
ADDR ?= 127.0.0.1:8080

.PHONY: all build lambda run test unit integration e2e wasm wasm-tiny wasm-test wasm-check infra-check results-check js-test js-bench edge edge-test package package-function bootstrap-arm64 deploy lint bench bench-edgefn fuzz clean peers-check bench-peers

all: build

build:
	$(GO) build -o bin/ ./publisher/cmd/edgeflag
	$(GO) build -tags lambda.norpc -o bin/ ./edgefn/cmd/edgefn

# The Lambda function: one binary named bootstrap per architecture for the
# provided.al2023 runtime (zip it as is).
LAMBDA_ARCHS ?= arm64 amd64
lambda:
	for a in $(LAMBDA_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -tags lambda.norpc -trimpath -ldflags=-s -o dist/lambda-$$a/bootstrap ./edgefn/cmd/edgefn || exit 1; \
	done

# `make run`: build, make dev keys if missing, publish examples/shop to the
# folder store .dev/store and serve it on 127.0.0.1:8080, printing curl
# lines that work against it. Ctrl-C stops it.
run: build
	@$(EDGEFLAG) validate examples/shop
	@DEV=$(DEV) ENV=$(EXAMPLE_ENV) ADDR=$(ADDR) edgefn/dev/run.sh

test: lint wasm wasm-tiny unit peers-check wasm-check wasm-test js-test edge-test integration e2e infra-check results-check

unit:
	$(GO) test -count=1 ./...

# The peer engines' benchmark harness (bench/peers, its own Go module, so
# `unit` does not see it): vetted, and its semantics tests — every peer serves
# the peer flag set as edgeflag's TestPeerFlagSemantics expects. About 35 s on
# a cold module and build cache (it downloads the peers' modules).
PEERS := bench/peers
peers-check:
	cd $(PEERS) && $(GO) vet .
	@command -v staticcheck >/dev/null || test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	cd $(PEERS) && PATH="$(GOBIN):$$PATH" staticcheck .
	cd $(PEERS) && $(GO) test -count=1 -run 'Semantics|LoadDocuments|CPUClock' .

# The WebAssembly modules (docs/wasm-abi.md): wasip1 reactors built with
# standard Go, reproducibly. edgeflag.wasm verifies EdDSA only and, like
# the TinyGo module, uses edgeflag's small zstd decoder, SHA-2 and Ed25519
# (edgeflag_small: the size budget); edgeflag-es256.wasm also verifies ES256
# with the standard library and klauspost's decoder (RATIONALE.md).
# wasm/internal/wasmbuild builds the same way for the tests.
WASM_BUILD := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w'
wasm:
	@mkdir -p wasm/dist
	$(WASM_BUILD) -tags=edgeflag_noes256,edgeflag_small -o wasm/dist/edgeflag.wasm ./wasm/guest
	$(WASM_BUILD) -o wasm/dist/edgeflag-es256.wasm ./wasm/guest
	@for f in wasm/dist/*.wasm; do echo "$$f: $$(wc -c <$$f) bytes, $$(gzip -9c $$f | wc -c) gzip -9"; done

# The same guest built with TinyGo (docs/wasm-abi.md, same ABI): EdDSA only,
# reproducibly, a fraction of the size. .ci/tinygo.sh installs TinyGo when
# it is missing (Debian packages need root) and gives the build its target
# file and flags (-scheduler=none -panic=trap -no-debug).
TINYGO_BUILD := .ci/tinygo.sh sh -c '"$$TINYGO" build $$TINYGO_FLAGS -buildmode=c-shared "$$@"' tinygo
wasm-tiny:
	@mkdir -p wasm/dist
	$(TINYGO_BUILD) -tags=edgeflag_noes256,edgeflag_small -o wasm/dist/edgeflag.tiny.wasm ./wasm/guest
	@f=wasm/dist/edgeflag.tiny.wasm; echo "$$f: $$(wc -c <$$f) bytes, $$(gzip -9c $$f | wc -c) gzip -9"

# The guest's exports vetted for their target; the modules make wasm wrote
# are the ones the tests build (reproducible); the host pool is safe under
# concurrent use (-race, 8 goroutines).
wasm-test: wasm wasm-tiny
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/guest
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags edgeflag_noes256,edgeflag_small,eftest ./wasm/guest
	@command -v staticcheck >/dev/null || test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	GOOS=wasip1 GOARCH=wasm PATH="$(GOBIN):$$PATH" staticcheck ./wasm/guest
	EDGEFLAG_WASM_DIST=$(CURDIR)/wasm/dist $(GO) test -count=1 -run 'TestDistIsTheTestBuild' -v ./wasm/internal/wasmbuild
	$(GO) test -count=1 -race -run 'TestConcurrentUse' ./wasm/host

# The JavaScript client (wasm/js, docs/browser.md) in Node (node --test) and in
# headless Chromium (Debian chromium + playwright-core): the corpus, the envelope
# vectors and a short native-versus-wasm differential (~5 000 results, written
# to wasm/js/test/.build/diff by wasm/internal/diffgen) on every module, the
# client against a fake and the real edgefn serve
# (bin/), the OpenFeature providers under the official SDKs, the no-flicker page,
# the doc examples. Test-only npm packages from wasm/js/test/package-lock.json,
# installed on first use; the trap test's module (-tags eftest) goes to
# wasm/js/test/.build. EDGEFLAG_WASM=path runs the suites on another module.
JS_TEST := wasm/js/test
js-test: build wasm wasm-tiny
	@test -d $(JS_TEST)/node_modules/@openfeature/web-sdk -a -d $(JS_TEST)/node_modules/playwright-core -a -d $(JS_TEST)/node_modules/typescript || npm ci --prefix $(JS_TEST) --no-audit --no-fund
	@mkdir -p $(JS_TEST)/.build
	$(WASM_BUILD) -tags=edgeflag_noes256,edgeflag_small,eftest -o $(JS_TEST)/.build/edgeflag-eftest.wasm ./wasm/guest
	$(GO) run ./wasm/internal/wasmbuild/cmd/wasmmodule -toolchain tinygo -tags edgeflag_noes256,edgeflag_small,eftest -o $(JS_TEST)/.build/edgeflag-eftest.tiny.wasm
	$(GO) run ./wasm/internal/diffgen/cmd/difffixture -seed 21 -results 5000 -o $(JS_TEST)/.build/diff
	cd $(JS_TEST) && node --test --test-concurrency=1 *.test.mjs

# The JS benchmarks of docs/performance.md (Node and Chromium; not part of test).
js-bench: build wasm wasm-tiny
	@test -d $(JS_TEST)/node_modules/playwright-core || npm ci --prefix $(JS_TEST) --no-audit --no-fund
	node $(JS_TEST)/bench.mjs

# The engine and the verifier must stay buildable for WebAssembly (wasip1),
# the verifier also without ES256 (the tag the size-bound guest may use).
# The TinyGo module's own zstd decoder, SHA-2 and Ed25519 (tag
# edgeflag_small, which TinyGo's tag tinygo implies) run the bundle tests
# natively, once more with a 32-bit int as TinyGo's wasm has.
wasm-check:
	GOOS=wasip1 GOARCH=wasm $(GO) build ./bundle/eval ./bundle/ir ./bundle/envelope
	GOOS=wasip1 GOARCH=wasm $(GO) build -tags edgeflag_noes256 ./bundle/envelope
	$(GO) test -count=1 -tags edgeflag_small ./bundle/...
	GOARCH=386 $(GO) test -count=1 -tags edgeflag_small ./bundle/internal/... ./bundle/envelope

# Integration tests against real components started on 127.0.0.1.
integration:
	.ci/versitygw.sh $(GO) test -count=1 -tags integration ./publisher/store/... ./publisher/cli/... ./edgefn/...

# The official OpenFeature clients, unmodified, against a real edgefn serve behind a
# proxy that validates every OFREP response against the spec: npm
# @openfeature/ofrep-provider in Node and @openfeature/ofrep-web-provider in headless
# Chromium (Debian's /usr/bin/chromium; .ci/run installs it). npm packages from
# edgefn/e2e/package-lock.json, installed on first use.
E2E := edgefn/e2e
e2e:
	@test -d $(E2E)/node_modules/@openfeature/ofrep-web-provider -a -d $(E2E)/node_modules/playwright-core || npm ci --prefix $(E2E) --no-audit --no-fund
	$(GO) test -count=1 -tags e2e ./edgefn/e2e

# AWS templates, offline: AWS's validator (@aws/cloudformation-validate, inside npm
# aws-cdk-lib, installed from infra/package-lock.json on first use), its own tests
# (node --test), and the invariant and deploy tests (Go; also part of `unit`).
infra-check:
	@test -d infra/node_modules/aws-cdk-lib || npm ci --prefix infra --no-audit --no-fund
	node --test infra/validate.test.mjs
	node infra/validate.mjs
	$(GO) test -count=1 ./infra/...

# `edgeflag results` against real tools: its --html page in headless Chromium
# (Debian chromium + playwright-core), and the Athena SQL of docs/experiments.md
# run by DuckDB (@duckdb/node-api) over the same stored events. npm packages from
# publisher/experiment/e2e/package-lock.json, installed on first use.
# Screenshots: .dev/e2e/ (the test prints their paths).
REPORT_E2E := publisher/experiment/e2e
results-check:
	@test -d $(REPORT_E2E)/node_modules/@duckdb/node-api -a -d $(REPORT_E2E)/node_modules/playwright-core || npm ci --prefix $(REPORT_E2E) --no-audit --no-fund
	node --test $(REPORT_E2E)/report.test.mjs $(REPORT_E2E)/athena.test.mjs

# The Lambda@Edge package (docs/edge.md): edgefn/viewer/dist/edge.zip from the
# edge configuration EDGE_CONFIG (routes -> flags, defaults, cookie; the client
# bundle and the JWKS it names are baked in), its size reported against the 1 MB
# limit of viewer functions and the 50 MB of origin functions. A viewer package
# over 1 MB is refused and not written: with the standard-Go module it would be
# (1.10 MB); the TinyGo module, built first, fits (0.23 MB). The default, examples/edge/shop.yaml, bakes
# a bundle of examples/shop signed by a dev key, both made here in .dev/edge.
# EDGE_FLAGS: more flags of edgeflag-edge (--bundle, --store, --jwks).
EDGE_CONFIG ?= examples/edge/shop.yaml
EDGE_FLAGS ?=
edge: build wasm wasm-tiny
	$(GO) build -o bin/ ./edgefn/viewer/cmd/edgeflag-edge
	@if [ "$(EDGE_CONFIG)" = examples/edge/shop.yaml ]; then \
		mkdir -p .dev/edge && \
		{ test -f .dev/edge/signing.key || $(EDGEFLAG) keygen --out .dev/edge/signing.key >/dev/null; } && \
		$(EDGEFLAG) build examples/shop --env production --key .dev/edge/signing.key --out .dev/edge/bundles --version 1 --ttl 720h >/dev/null; \
	fi
	bin/edgeflag-edge --config $(EDGE_CONFIG) $(EDGE_FLAGS)

# The edge handlers' tests (edgefn/viewer/test, node --test): CloudFront event
# fixtures through the Lambda@Edge handlers, a 100 000-request flood on each
# module (--expose-gc), the origin-request refresh against a local server, the
# package edgeflag-edge writes run as Lambda would, and the fetch-style worker in
# workerd (npm, started on 127.0.0.1 and stopped by the test); the fixtures and
# the worker run again on the TinyGo module, which the viewer package ships.
# Test-only npm packages (workerd, esbuild) from edgefn/viewer/package-lock.json,
# installed on first use.
EDGE_JS := edgefn/viewer
edge-test: build wasm wasm-tiny
	@test -d $(EDGE_JS)/node_modules/workerd -a -d $(EDGE_JS)/node_modules/esbuild || npm ci --prefix $(EDGE_JS) --no-audit --no-fund
	$(GO) build -o bin/ ./edgefn/viewer/cmd/edgeflag-edge
	cd $(EDGE_JS) && node --expose-gc --test --test-concurrency=1 test/*.test.mjs
	cd $(EDGE_JS) && EDGEFLAG_WASM=$(CURDIR)/wasm/dist/edgeflag.tiny.wasm node --expose-gc --test --test-concurrency=1 test/lambda.test.mjs test/workerd.test.mjs

# Lambda packages: edgefn's bootstrap (linux/arm64, -tags lambda.norpc) zipped as
# dist/edgefn.zip, and the viewer package (make edge, a prerequisite); both sizes
# are reported against Lambda's limits. Not part of `test`.
EDGE_ZIP := edgefn/viewer/dist/edge.zip
package: edge bootstrap-arm64
	$(GO) run ./infra/cmd/edgeflag-package --bootstrap dist/edgefn/bootstrap --out dist/edgefn.zip --edge-zip $(EDGE_ZIP)

# The function zip alone (no edge package).
package-function: bootstrap-arm64
	$(GO) run ./infra/cmd/edgeflag-package --bootstrap dist/edgefn/bootstrap --out dist/edgefn.zip

bootstrap-arm64:
	@mkdir -p dist/edgefn
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags=-s -o dist/edgefn/bootstrap ./edgefn/cmd/edgefn

# Deploy one environment to AWS (docs/deploy.md): make deploy PROJECT=shop ENVIRONMENT=production
# REGION=eu-west-1 EDGE_CONFIG=edge.yaml [DEPLOY_FLAGS='--app-origin www.example.com --alarm-email ops@example.com'].
# EDGE_CONFIG (your routes and defaults; its bundle/store/jwks are ignored): the viewer
# package is baked after the regional stack, from its bucket and keys. Without it, the
# package make package built is deployed and must be for PROJECT/ENVIRONMENT.
# DRY_RUN=1 prints the aws/sam commands instead (after packaging; it needs the zips' hashes).
REGION ?= $(AWS_REGION)
DEPLOY_EDGE := $(if $(filter command line environment,$(origin EDGE_CONFIG)),$(EDGE_CONFIG))
deploy: $(if $(DEPLOY_EDGE),package-function,package)
	$(GO) run ./infra/cmd/edgeflag-deploy --project "$(PROJECT)" --env "$(ENVIRONMENT)" --region "$(REGION)" $(if $(DEPLOY_EDGE),--edge-config "$(DEPLOY_EDGE)") $(DEPLOY_FLAGS) $(if $(DRY_RUN),--dry-run)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$(GOBIN):$$PATH" staticcheck ./...

# Benchmarks: every number docs/performance.md quotes, 5 runs on one core,
# one package at a time (-p 1) so packages do not compete for the 2 cores.
# Compare with the peers and take medians as docs/performance.md shows.
BENCH_PKGS := ./bundle/... ./publisher/compile ./publisher/store ./publisher/experiment ./edgefn/events ./edgefn/client ./edgefn/api
BENCH_OUT ?= bench-results.txt
bench:
	set -o pipefail; $(GO) test -p 1 -run '^$$' -bench . -benchmem -count=5 -cpu=1 -timeout 60m $(BENCH_PKGS) | tee $(BENCH_OUT)

# The peer engines on the peer flag set (bench/peers/README.md): LaunchDarkly,
# flagd and GO Feature Flag, 5 runs on one core, benchstat tables. About 10
# minutes; BENCH=. adds flagd's Load10k (~20 s per op). Not part of test.
bench-peers:
	GO=$(GO) $(PEERS)/run.sh

# edgefn over HTTP against GO Feature Flag's relay proxy and a trivial handler (wrk),
# cold start and memory, and the 5-minute republishing soak: docs/performance.md.
# Not part of test (about 15 minutes; the relay proxy's first build ~5 more).
bench-edgefn:
	edgefn/bench/http.sh
	edgefn/bench/startup.sh
	edgefn/bench/soak.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./bundle/ir
	$(GO) test -run '^$$' -fuzz FuzzLoadEvaluate -fuzztime 30s ./bundle/eval
	$(GO) test -run '^$$' -fuzz FuzzOpen -fuzztime 30s ./bundle/envelope
	$(GO) test -run '^$$' -fuzz FuzzContextMatchesParseJSON -fuzztime 30s ./wasm/guest
	$(GO) test -run '^$$' -fuzz FuzzJSONWriterMatchesEncodingJSON -fuzztime 30s ./bundle/ir
	$(GO) test -run '^$$' -fuzz FuzzNativeVsWasm -fuzztime 30s ./wasm/host
	$(GO) test -run '^$$' -fuzz FuzzExportsNeverTrap -fuzztime 30s ./wasm/host
	$(GO) test -run '^$$' -fuzz FuzzJSONScanner -fuzztime 30s ./bundle/envelope
	$(GO) test -run '^$$' -fuzz FuzzDifferential -fuzztime 30s ./bundle/internal/zstd
	$(GO) test -run '^$$' -fuzz FuzzReadHeader -fuzztime 30s ./bundle/internal/zstd
	$(GO) test -run '^$$' -fuzz FuzzAgainstStd -fuzztime 30s ./bundle/internal/sha2
	$(GO) test -run '^$$' -fuzz FuzzAgainstStd -fuzztime 30s ./bundle/internal/ed25519
	$(GO) test -run '^$$' -fuzz FuzzCheckPatternBounds -fuzztime 30s ./bundle/ir
	$(GO) test -run '^$$' -fuzz FuzzParseJWKS -fuzztime 30s ./bundle/envelope
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./edgefn/reqjson
	$(GO) test -run '^$$' -fuzz '^FuzzOFREPSingle$$' -fuzztime 30s ./edgefn/api
	$(GO) test -run '^$$' -fuzz '^FuzzOFREPBulk$$' -fuzztime 30s ./edgefn/api
	$(GO) test -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime 30s ./edgefn/api
	$(GO) test -run '^$$' -fuzz '^FuzzTokens$$' -fuzztime 30s ./edgefn/api
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime 30s ./edgefn/auth
	$(GO) test -run '^$$' -fuzz '^FuzzParsePointer$$' -fuzztime 30s ./edgefn/client
	$(GO) test -run '^$$' -fuzz '^FuzzReadCopy$$' -fuzztime 30s ./edgefn/internal/lkg
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeLine$$' -fuzztime 30s ./publisher/eventlog
	$(GO) test -run '^$$' -fuzz '^FuzzParseTrack$$' -fuzztime 30s ./edgefn/events

clean:
	rm -rf bin dist $(DEV) bench-results.txt
