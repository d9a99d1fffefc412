# Pharmacy chronic-disease service kiosk + HQ.
# `make run` starts the demo, `make test` runs every check. Both install the Debian/Ubuntu
# packages they need when missing (see APT_PKGS) and say so.

SHELL      := /bin/bash
GO         ?= go
FUZZTIME   ?= 60s
BENCHTIME  ?= 1x
DATA       ?= $(CURDIR)/.demo-data

# Fyne (cgo, X11/GL headers), the PTY tools for serial tests, Xvfb + ImageMagick for
# screenshots, Chromium for the HQ dashboard browser test, mingw for the Windows package.
APT_BUILD  := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
              libxinerama-dev libxi-dev libxxf86vm-dev
APT_TEST   := socat xvfb xauth imagemagick chromium chromium-driver procps
APT_PKGS   := $(APT_BUILD) $(APT_TEST)

export CGO_ENABLED := 1

.PHONY: all deps deps-build run build test vet unit crash-test fuzz bench screenshots measure \
        package-linux package-windows package-hq clean

all: build

## deps: install missing system packages (apt) — prints what it installs
deps:
	@./.ci/apt-ensure $(APT_PKGS)

deps-build:
	@./.ci/apt-ensure $(APT_BUILD)

## run: the demo — kiosk window + local HQ + virtual (PTY) scanner, embedded defaults
run: deps
	$(GO) run ./cmd/kiosk --demo --data "$(DATA)"

build: deps-build
	$(GO) build -o bin/kiosk ./cmd/kiosk
	$(GO) build -o bin/hq ./cmd/hq

vet:
	$(GO) vet ./...

## test: vet + every test with the race detector (UI tests headless) + short crash suite
test: deps vet unit

unit:
	$(GO) test -race -timeout 20m ./...

## crash-test: the full fault suite (kill -9 kiosk 100x, HQ 20x, an hour of HQ outage)
crash-test: deps-build
	CRASH_FULL=1 $(GO) test -race -timeout 60m -run 'Crash|Outage' -v ./e2e/...

## fuzz: run every Go fuzz target for FUZZTIME each (default 60s)
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . ); do \
	  pkg=./$$(dirname $$f); \
	  for t in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
	    echo "== fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: every benchmark named in the issues; writes docs/benchmarks.md
bench: deps-build
	$(GO) run ./e2e/cmd/benchreport -out docs/benchmarks.md

clean:
	rm -rf bin dist .demo-data
