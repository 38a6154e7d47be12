GO ?= go
BIN := bin/recotem
PKGS := ./...

.PHONY: build test test-short bench fuzz lint demo clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/recotem

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

# Unit and integration tests run under the race detector in -short mode;
# the quality-parity tests (TestParity*) train real models on MovieLens and
# run once more without -race, where they take seconds instead of minutes.
test: lint
	$(GO) test -race -short -timeout 25m $(PKGS)
	$(GO) test -run 'Parity' -timeout 25m ./trainer/... ./cmd/...

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

