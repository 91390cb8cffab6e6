# xbuild — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO        ?= go
BIN       ?= bin/xbuild
PKG       := github.com/xbuild-dev/xbuild
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# The same -X path is used by .goreleaser.yaml.
LDFLAGS   := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
export XBUILD_FARM_DIR ?= /var/tmp/xbuild-farm
TOOLS     := $(CURDIR)/bin/tools
# goreleaser v2.18+ needs Go 1.27; v2.17.0 depends on a module the Go proxy
# refuses (go.digitalxero.dev/go-msix: 403). v2.16.0 builds with Go 1.26.
GORELEASER_VERSION ?= v2.16.0

.PHONY: help demo build test e2e e2e-run farm-up farm-down lint bench docs release-snapshot release-check clean fuzz fuzz-smoke

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/xbuild
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xbuild

demo: build ## build xbuild, bring up the local farm, and push a verified two-platform image with it (root)
	bash hack/demo.sh

test: ## unit + CLI-script tests (no daemon needed), with the race detector
	GORACE=atexit_sleep_ms=0 $(GO) test -race -count=1 ./...

farm-up: build ## start the local build farm (BuildKit nodes over mTLS, TLS registry, QEMU)
	bash hack/farm/up.sh

farm-down: ## stop exactly what farm-up started
	bash hack/farm/down.sh

e2e: build ## farm-up, end-to-end tests against the farm, farm-down (even on failure)
	@rc=0; bash hack/farm/up.sh || rc=$$?; \
	if [ $$rc = 0 ]; then $(MAKE) --no-print-directory e2e-run || rc=$$?; fi; \
	bash hack/farm/down.sh; exit $$rc

# RUN= selects tests (go test -run); the farm stays up. One run at a time
# uses the farm: the tests cut nodes and arm registry faults.
RUN ?=
e2e-run: build ## end-to-end tests against a running farm (RUN=TestName to pick), one run at a time
	@mkdir -p $(XBUILD_FARM_DIR)/run
	flock -o -w 3600 $(XBUILD_FARM_DIR)/run/e2e.lock env XBUILD_BIN=$(CURDIR)/$(BIN) XBUILD_HADOLINT=$(XBUILD_FARM_DIR)/bin/hadolint \
	  $(GO) test -count=1 -tags e2e -timeout 60m -v $(if $(RUN),-run '$(RUN)') ./test/e2e/ $(if $(RUN),,./internal/lint/)

# Fuzz targets as PACKAGE:FUNCTION, run one after the other by `make fuzz`.
# `make fuzz` fails when a Fuzz function in a *_test.go file is missing here.
FUZZ_TARGETS := \
	./internal/config:FuzzCheckBytes \
	./internal/config:FuzzParseSize \
	./internal/config:FuzzBuildArg \
	./internal/platform:FuzzNormalize \
	./internal/platform:FuzzList \
	./nodes:FuzzParseEndpoint \
	./nodes:FuzzReadNode \
	./internal/lint:FuzzCheck \
	./internal/redact:FuzzWriter \
	./internal/redact:FuzzAddURL \
	./internal/redact:FuzzBuildArgs
FUZZTIME  ?= 60s
# extra go test flags, e.g. FUZZFLAGS=-parallel=1
FUZZFLAGS ?=

fuzz: ## run each fuzz target for FUZZTIME (default 60s); failing inputs are kept in the package's testdata/fuzz
	@missing=$$(git grep -h -o '^func Fuzz[A-Za-z0-9_]*' -- '*_test.go' | sed 's/^func //' | sort -u | while read -r f; do \
	  case " $(FUZZ_TARGETS) " in *":$$f "*) ;; *) echo "$$f";; esac; done); \
	if [ -n "$$missing" ]; then echo "fuzz: add to FUZZ_TARGETS in the Makefile:" $$missing; exit 1; fi
	@rc=0; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz: $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg \
	    || { echo "fuzz: $$fn failed; the failing input is in $$pkg/testdata/fuzz/$$fn (commit it as a regression case)"; rc=1; }; \
	done; exit $$rc

fuzz-smoke: ## every fuzz target for 5s (what CI runs)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s

lint: ## gofmt + go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/... ./internal/lint/

bench: ## farm-up, then xbuild vs plain buildx on the farm (P1-P7), concurrent builds on 1 vs 2 nodes per platform (P9) + Go micro-benchmarks, writes docs/BENCHMARKS.md
	GO=$(GO) BIN=$(BIN) MAKE=$(MAKE) bash hack/bench/bench.sh

docs: ## regenerate the command reference in docs/reference from the cobra tree
	rm -rf docs/reference && $(GO) run ./hack/gendocs docs/reference

$(TOOLS)/goreleaser:
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

release-check: $(TOOLS)/goreleaser ## goreleaser check
	$(TOOLS)/goreleaser check

release-snapshot: $(TOOLS)/goreleaser ## build release archives locally (goreleaser --snapshot --clean)
	$(TOOLS)/goreleaser check
	$(TOOLS)/goreleaser release --snapshot --clean --parallelism 2

clean: ## remove build outputs
	rm -rf bin dist

# ---- xbuild's own multi-arch image, built with xbuild ------------------------
# The binaries are cross-compiled here on the host, so the build nodes need no
# Go toolchain and no network; hack/image/Dockerfile only assembles them.
#   make image                                        build, keep in the nodes' cache
#   make image PUSH=1 IMAGE=registry.internal:5000/xbuild XBUILD_BUILDER=release
IMAGE           ?= registry.example.com/xbuild
IMAGE_TAGS      ?= $(VERSION)
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
# Empty: the builder from XBUILD_BUILDER in the environment, else "xbuild".
XBUILD_BUILDER  ?=
PUSH            ?=
IMAGE_DIR       := bin/image
# Empty: the Mozilla bundle Debian ships (/usr/share/ca-certificates/mozilla),
# not /etc/ssl/certs/ca-certificates.crt, which also holds this machine's
# local CAs (/usr/local/share/ca-certificates) that must not ship in a release.
CA_BUNDLE       ?=
image_comma     := ,
IMAGE_ARCHES     = $(patsubst linux/%,%,$(subst $(image_comma), ,$(IMAGE_PLATFORMS)))

.PHONY: image
image: build ## build xbuild's own multi-arch image with xbuild (IMAGE=, PUSH=1, XBUILD_BUILDER=)
	rm -rf $(IMAGE_DIR)
	mkdir -p $(IMAGE_DIR)/rootfs/etc/ssl/certs $(IMAGE_DIR)/rootfs/tmp $(IMAGE_DIR)/home/nonroot
	set -e; for arch in $(IMAGE_ARCHES); do \
	  echo "go build linux/$$arch"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(IMAGE_DIR)/xbuild-linux-$$arch ./cmd/xbuild; \
	done
	@if [ -n "$(CA_BUNDLE)" ]; then cp "$(CA_BUNDLE)" $(IMAGE_DIR)/rootfs/etc/ssl/certs/ca-certificates.crt; \
	elif ls /usr/share/ca-certificates/mozilla/*.crt >/dev/null 2>&1; then cat /usr/share/ca-certificates/mozilla/*.crt > $(IMAGE_DIR)/rootfs/etc/ssl/certs/ca-certificates.crt; \
	else echo "no CA bundle: install ca-certificates or pass CA_BUNDLE=FILE" >&2; exit 1; fi
	cp hack/image/passwd hack/image/group $(IMAGE_DIR)/rootfs/etc/
	chmod 1777 $(IMAGE_DIR)/rootfs/tmp
	chmod 0755 $(IMAGE_DIR)/home/nonroot
	$(BIN) build --config hack/image/xbuild.yaml --platform $(IMAGE_PLATFORMS) \
	  $(foreach t,$(IMAGE_TAGS),-t $(IMAGE):$(t)) --build-arg VERSION=$(VERSION) \
	  $(if $(XBUILD_BUILDER),--builder $(XBUILD_BUILDER)) \
	  $(if $(filter 1 true yes,$(PUSH)),--push)
