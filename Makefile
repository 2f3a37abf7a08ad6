# Hookflow. `make run` starts everything; `make test` runs every test.
GO       ?= go
BIN      := bin/hookflow
FUZZTIME ?= 10000x

.PHONY: all build run test unit chaos bench lint clean image image-test chart

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
	@echo "--- the Helm chart rendered with the Helm SDK and decoded strictly into the Kubernetes types (its own module: the binary never links Helm)"
	cd internal/charttest && $(GO) test -count=1 -timeout 30m ./...
	@FUZZTIME=$(FUZZTIME) ./.ci/fuzz-short

## chart: only the Helm chart's validation (deploy/helm/hookflow)
chart:
	cd internal/charttest && $(GO) test -count=1 ./...

## unit: the quick inner loop (no binary build, no end-to-end tests)
unit:
	$(GO) test -short ./...

## chaos: the durability tests at full size (10,000 deliveries; make test runs 2,000); the
## PostgreSQL runs need HOOKFLOW_TEST_POSTGRES (.ci/run sets it)
chaos: build
	HOOKFLOW_BIN=$(CURDIR)/$(BIN) HOOKFLOW_CHAOS_N=10000 $(GO) test -count=1 -timeout 60m -run 'TestChaos|TestTwoIngresses|TestHA' -v ./internal/e2e/

## bench: the benchmark program; prints a table and writes BENCHMARKS.md (BENCHFLAGS=--only ... to narrow)
bench: build
	$(GO) build -tags nodevserver -o bin/slim/hookflow ./cmd/hookflow
	$(GO) build -o bin/hookflow-bench ./cmd/hookflow-bench
	./bin/hookflow-bench --bin $(BIN) --ingress-bin bin/slim/hookflow --out BENCHMARKS.md --profile bin/profiles $(BENCHFLAGS)

## image: the production image, built offline: a static -tags nodevserver binary built
## here, then deploy/Dockerfile.prebuilt (FROM scratch) over it; with a registry, build
## deploy/Dockerfile instead. ENGINE is podman or docker (default: whichever is installed).
ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
IMAGE  ?= hookflow:dev
image:
	rm -rf bin/image && mkdir -p bin/image/rootfs/usr/local/bin bin/image/rootfs/etc/ssl/certs bin/image/rootfs/var/lib/hookflow bin/image/rootfs/tmp
	CGO_ENABLED=0 $(GO) build -trimpath -tags nodevserver -ldflags="-s -w" -o bin/image/rootfs/usr/local/bin/hookflow ./cmd/hookflow
	cp /etc/ssl/certs/ca-certificates.crt bin/image/rootfs/etc/ssl/certs/
	echo 'hookflow:x:65532:65532:hookflow:/var/lib/hookflow:/sbin/nologin' > bin/image/rootfs/etc/passwd
	echo 'hookflow:x:65532:' > bin/image/rootfs/etc/group
	touch bin/image/rootfs/var/lib/hookflow/.keep && chmod 0700 bin/image/rootfs/var/lib/hookflow && chmod 1777 bin/image/rootfs/tmp
	cp deploy/Dockerfile.prebuilt bin/image/Dockerfile
	$(ENGINE) build --no-cache -f bin/image/Dockerfile -t $(IMAGE) bin/image
	$(ENGINE) save --format oci-archive -o bin/hookflow-image.tar $(IMAGE) 2>/dev/null || $(ENGINE) save -o bin/hookflow-image.tar $(IMAGE)

## image-test: run the image built by make image and check /healthz, its user and a
## read-only root filesystem
image-test: image
	HOOKFLOW_IMAGE=$(IMAGE) HOOKFLOW_CONTAINER_ENGINE=$(ENGINE) $(GO) test -count=1 -run 'TestImage' -v ./internal/e2e/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nodevserver ./cmd/hookflow
	cd connectors/vault/vaulttest && $(GO) vet ./...
	cd internal/charttest && $(GO) vet ./...

clean:
	rm -rf bin
