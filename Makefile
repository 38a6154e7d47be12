GO ?= go
BIN := bin/recotem
PKGS := ./...

.PHONY: build test test-full test-short bench fuzz lint demo clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/recotem

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

# make test is CI's test command (.ci/run) and runs two tiers:
#   tier 1: lint, then every package under the race detector in -short mode;
#   tier 2 (test-full): every package again without -short and without
#     -race, so the slow tests run too: SIGKILL safety, flip-every-byte and
#     truncate-every-offset tamper, S3 train→serve→hot-swap, hot swap and
#     in-place writes under load, quality parity on MovieLens. -count=1, so
#     they run rather than replay a cached result. It prints each top-level
#     test's result, failed and skipped subtests, each skip's reason; the
#     whole -v output goes to $(TESTLOG) and is printed when tier 2 fails.
# Then test-deploy: the Helm chart, kustomize and systemd units (deploy/test).
# A test whose service, data set or tool is missing skips, saying how to
# provide it; RECOTEM_TEST_REQUIRE (set by .ci/run) names the needs whose
# absence fails instead (internal/testenv).
TESTLOG ?= bin/test-full.log

test: lint
	$(GO) test -race -short -timeout 25m $(PKGS)
	@$(MAKE) --no-print-directory test-full
	@$(MAKE) --no-print-directory test-deploy

test-full:
	@mkdir -p $(dir $(TESTLOG))
	@echo "$(GO) test -count=1 -v -timeout 25m $(PKGS) > $(TESTLOG)"
	@$(GO) test -count=1 -v -timeout 25m $(PKGS) >$(TESTLOG) 2>&1; rc=$$?; \
	awk -f scripts/test-summary.awk $(TESTLOG); \
	if [ $$rc -ne 0 ]; then echo "== tier 2 failed; its whole output ($(TESTLOG)):"; cat $(TESTLOG); fi; \
	exit $$rc
	@# The end-to-end quality harness (train → serve → /predict on split files) in a small
	@# configuration, so it keeps working; BENCHMARKS.md runs it with 20 trials per algorithm.
	$(GO) test -count=1 -run TestQualityOnSplitFiles -timeout 10m ./cmd/recotem \
		-args -quality.split=both -quality.trials=2 -quality.algorithms=TopPop,CosineKNN,IALS

test-short:
	$(GO) test -short $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz:
	$(GO) test ./format -run '^$$' -fuzz FuzzParse -fuzztime 60s

demo: demo-build
	BIN=$(DEMO_BIN) ./scripts/demo.sh

clean:
	rm -rf bin

# --- demo binary, container image, deployment tests ------------------------

# make demo builds its own binary without the cloud SDKs (object stores,
# BigQuery: build tag recotem_nocloud), which is most of a first build's
# downloads and compile time, and shows progress while it builds. `make
# build` and the image keep every backend.
DEMO_BIN ?= bin/recotem-demo
DEMO_TAGS ?= recotem_nocloud

.PHONY: demo-build image image-test test-deploy

demo-build:
	@OUT=$(DEMO_BIN) TAGS='$(DEMO_TAGS)' GO=$(GO) ./scripts/build-progress.sh


# Container image (Containerfile). GO_IMAGE is the build stage's base: the
# official golang image by default; deploy/image/local-go-base.sh makes a
# local one where no registry is reachable (then also
# IMAGE_BUILD_FLAGS=--isolation=chroot where containers cannot be started).
IMAGE_TOOL ?= podman
IMAGE_VERSION ?= $(or $(shell sed -n 's/^var Version = "\(.*\)"/\1/p' trainer/train.go 2>/dev/null),dev)
IMAGE_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE ?= recotem:$(IMAGE_VERSION)
GO_IMAGE ?= docker.io/library/golang:1.26-bookworm
IMAGE_BUILD_FLAGS ?=

image:
	created=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	$(IMAGE_TOOL) build -f Containerfile -t $(IMAGE) $(IMAGE_BUILD_FLAGS) \
	  --build-arg GO_IMAGE=$(GO_IMAGE) --build-arg VERSION=$(IMAGE_VERSION) \
	  --build-arg COMMIT=$(IMAGE_COMMIT) --build-arg CREATED=$$created \
	  $(if $(filter podman buildah,$(IMAGE_TOOL)),--annotation org.opencontainers.image.version=$(IMAGE_VERSION) \
	  --annotation org.opencontainers.image.revision=$(IMAGE_COMMIT) \
	  --annotation org.opencontainers.image.created=$$created \
	  --annotation org.opencontainers.image.source=https://github.com/recotem/recotem) .

# Runs the image's root file system under unshare/chroot (no container
# runtime needed): train the quickstart, serve it, /health, predict.
image-test:
	IMAGE_TOOL=$(IMAGE_TOOL) ./deploy/image-test.sh $(IMAGE)

# Deployment files without a cluster (deploy/test, a module of its own):
# helm lint + template per values file, kustomize base and overlays, every
# object strictly decoded into k8s.io/api types, systemd-analyze verify.
# Missing helm/systemd-analyze skip unless RECOTEM_TEST_REQUIRE names them
# (.ci/services/deploy-tools.sh installs them and does).
test-deploy:
	@mkdir -p bin
	cd deploy/test && $(GO) vet ./...
	@cd deploy/test && $(GO) test -count=1 -v ./... >../../bin/test-deploy.log 2>&1; rc=$$?; \
	  grep -v -e '^=== RUN' -e '^    --- PASS' ../../bin/test-deploy.log; exit $$rc
