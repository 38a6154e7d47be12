GO ?= go
BIN := bin/recotem
PKGS := ./...

.PHONY: build test test-short bench fuzz lint demo clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/recotem

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

test: lint
	$(GO) test -race -timeout 20m $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz:
	$(GO) test ./format -run '^$$' -fuzz FuzzParse -fuzztime 60s

demo: build
	./scripts/demo.sh

clean:
	rm -rf bin
