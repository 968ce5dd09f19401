# trackd: `make run` to try it, `make test` to check it. See README.md.
GO        ?= go
FUZZTIME  ?= 10s
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# apt-get needs root; use sudo when not root and sudo is there.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: run test deps generate lint fuzz bench build

## run: trackd on an embedded Redis with demo orders moving live
run:
	TRACKD_DEMO=1 $(GO) run ./cmd/trackd

## build: the binaries into bin/
build:
	$(GO) build -o bin/ ./cmd/...

## deps: what the tests need from Debian (redis-server, chromium)
deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@redis-server --version
	@chromium --version 2>/dev/null

## test: every test, against real redis-server processes the tests start
test: deps
	$(GO) test -race -count=1 -timeout 20m ./...

## generate: templ components (generated files are committed)
generate:
	$(GO) tool templ generate

## lint: formatting, vet, staticcheck, and generated code up to date
lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$fmt" ] || { echo "gofmt would change: $$fmt"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) tool templ generate
	@git diff --exit-code --stat -- '*_templ.go' || { echo "templ generate changed generated code: run make generate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- '*_templ.go'); [ -z "$$untracked" ] || { echo "uncommitted generated files: $$untracked"; exit 1; }

## fuzz: a short pass over every fuzz target (FUZZTIME each)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## bench: Go benchmarks and the load generator against a real redis-server; writes docs/BENCHMARKS.md
bench: deps
	./cmd/loadgen/bench.sh
