# sluice — see README.md. Every target works on a fresh machine with Go.
SHELL       := /bin/bash
GO          ?= go
# Every module of the workspace (go.work), root first.
MODULES     := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT   := golang.org/x/perf/cmd/benchstat@latest
FUZZTIME    ?= 10s
TESTFLAGS   ?= -race -count=1 -timeout 20m
JAEGER_BIN  ?= $(CURDIR)/bin/jaeger

.PHONY: all demo proxy-demo deps test lint vet bench fuzz cover jaeger jaeger-demo otlp-demo tidy

all: lint test

## demo: the quickstart on the embedded fake API (no key, no network).
demo:
	cd examples && $(GO) run ./quickstart

## proxy-demo: llmtest, `sluice proxy` in front of it, and one burst from the
## TypeScript SDK (when node and npm are there) straight and through it.
proxy-demo:
	cd cmd/sluice && $(GO) run ./internal/demo

## deps: what the tests need beyond Go: redis-server (Debian package) and
## the Jaeger binary (built from source, minutes the first time).
deps: jaeger
	@command -v redis-server >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "== installing redis-server"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: install it (Debian: apt-get install redis-server)"; exit 1; fi; }

## test: the whole suite, race detector on, every module of the workspace.
test: deps
	@fail=0; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && SLUICE_JAEGER_BIN=$(JAEGER_BIN) $(GO) test $(TESTFLAGS) ./...) || fail=1; done; exit $$fail

## lint: go vet and staticcheck (pinned) on every module.
lint:
	@set -e; for m in $(MODULES); do echo "== lint $$m"; (cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

## bench: every benchmark, side by side in one run; writes docs/benchmarks.md
## and keeps the raw `go test -bench` output in docs/bench/ for benchstat.
bench:
	bash bench/run.sh

## fuzz: each fuzz target for FUZZTIME (default 10s).
fuzz:
	@bash .ci/fuzz.sh $(FUZZTIME)

## cover: coverage of the root module.
cover:
	$(GO) test -count=1 -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -1

## jaeger: build the Jaeger v2 binary (first build takes minutes) into bin/.
jaeger: $(JAEGER_BIN)
$(JAEGER_BIN):
	@mkdir -p $(dir $(JAEGER_BIN))
	cd examples/jaeger/tool && GOWORK=off $(GO) build -o $(JAEGER_BIN) github.com/jaegertracing/jaeger/cmd/jaeger

## jaeger-demo: quickstart exporting to a local Jaeger; prints one trace.
jaeger-demo: jaeger
	cd examples && JAEGER_BIN=$(JAEGER_BIN) $(GO) run ./jaeger

## otlp-demo: metrics over OTLP to a real receiver (the Jaeger binary).
otlp-demo: jaeger
	cd examples && JAEGER_BIN=$(JAEGER_BIN) $(GO) run ./otlp

tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done
