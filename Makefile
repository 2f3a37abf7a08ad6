# Hookflow. `make run` starts everything; `make test` runs every test.
GO       ?= go
BIN      := bin/hookflow
FUZZTIME ?= 10000x

.PHONY: all build run test unit chaos bench lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hookflow

## run: hookflow dev with embedded defaults (Temporal + UI, ingress, forwarder, worker)
run: build
	./$(BIN) dev

## test: the whole suite, end-to-end tests included, then a short run (10,000 executions) of every fuzz target
test: build
	HOOKFLOW_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 45m ./...
	@echo "--- the Vault token store against a real in-process Vault (its own module: the binary never links Vault)"
	cd connectors/vault/vaulttest && $(GO) test -count=1 -timeout 30m ./...
	@FUZZTIME=$(FUZZTIME) ./.ci/fuzz-short

## unit: the quick inner loop (no binary build, no end-to-end tests)
unit:
	$(GO) test -short ./...

## chaos: the durability tests at full size (10,000 deliveries; make test runs 2,000); the
## PostgreSQL runs need HOOKFLOW_TEST_POSTGRES (.ci/run sets it)
chaos: build
	HOOKFLOW_BIN=$(CURDIR)/$(BIN) HOOKFLOW_CHAOS_N=10000 $(GO) test -count=1 -timeout 60m -run 'TestChaos|TestTwoIngresses' -v ./internal/e2e/

## bench: the benchmark program; prints a table and writes BENCHMARKS.md (BENCHFLAGS=--only ... to narrow)
bench: build
	$(GO) build -tags nodevserver -o bin/slim/hookflow ./cmd/hookflow
	$(GO) build -o bin/hookflow-bench ./cmd/hookflow-bench
	./bin/hookflow-bench --bin $(BIN) --ingress-bin bin/slim/hookflow --out BENCHMARKS.md --profile bin/profiles $(BENCHFLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nodevserver ./cmd/hookflow
	cd connectors/vault/vaulttest && $(GO) vet ./...

clean:
	rm -rf bin
