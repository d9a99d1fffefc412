# Pharmacy chronic-disease service kiosk + HQ.
# `make run` starts the demo, `make test` runs every check. Both install the Debian/Ubuntu
# packages they need when missing (see APT_PKGS) and say so.

SHELL      := /bin/bash
GO         ?= go
FUZZTIME   ?= 60s
BENCHTIME  ?= 1x
DATA       ?= $(CURDIR)/.demo-data

# Fyne (cgo, X11/GL headers), the PTY tools for serial tests, Xvfb + ImageMagick for
# screenshots, Chromium for the HQ dashboard browser test, PostgreSQL 15 for the HQ
# PostgreSQL backend's tests (they initdb throwaway clusters on private unix sockets, so a
# cluster the Debian package may have started on port 5432 is never used), mingw for the
# Windows package.
APT_BUILD  := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
              libxinerama-dev libxi-dev libxxf86vm-dev
APT_TEST   := socat xvfb xauth xdotool imagemagick chromium chromium-driver procps postgresql
APT_PKGS   := $(APT_BUILD) $(APT_TEST)

export CGO_ENABLED := 1

.PHONY: all deps deps-build run build test vet cross core unit crash-test fuzz bench screenshots measure \
        package-linux package-windows package-hq clean

all: build

## deps: install missing system packages (apt) — prints what it installs
deps:
	@./.ci/apt-ensure $(APT_PKGS)

deps-build:
	@./.ci/apt-ensure $(APT_BUILD)

## run: the demo — kiosk window + local HQ with its dashboard + virtual (PTY) scanner
run: deps-build
	$(GO) run ./cmd/kiosk-demo --data "$(DATA)"

build: deps-build
	$(GO) build -o bin/kiosk ./cmd/kiosk
	$(GO) build -o bin/hq ./cmd/hq

vet:
	$(GO) vet ./...

## test: vet + every test with the race detector (UI tests headless) + short crash suite
test: deps vet cross core unit

## core: the counter core's tests without cgo or a display (it must not need Fyne)
core:
	CGO_ENABLED=0 $(GO) test ./kiosk/counter/...

unit:
	$(GO) test -race -timeout 20m ./...

## crash-test: the full fault suite (kill -9 kiosk 100x, HQ 20x, an hour of HQ outage)
crash-test: deps-build
	CRASH_FULL=1 $(GO) test -race -timeout 60m -run 'Crash|Outage' -v ./e2e/...

## fuzz: run every Go fuzz target for FUZZTIME each (default 60s)
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . ); do \
	  pkg=$$(dirname $$f); \
	  for t in $$(grep -oE '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
	    echo "== fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: every benchmark named in the issues; writes docs/benchmarks.md
bench: deps-build
	@./.ci/apt-ensure postgresql
	$(GO) run ./e2e/cmd/benchreport -out docs/benchmarks.md

## cross: the non-UI packages and the HQ build for Windows (part of `make test`)
cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build ./devices/... ./flows/... ./sync/... ./kiosk/store/... ./kiosk/counter/... ./cmd/hq
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./devices/... ./flows/... ./kiosk/store/... ./kiosk/counter/...

FYNE        := $(CURDIR)/bin/fyne

# The fyne packaging tool, built for this machine (a GOOS=windows in the package
# command's environment must not apply to the tool itself).
$(FYNE):
	GOBIN=$(CURDIR)/bin GOOS= GOARCH= CGO_ENABLED=0 $(GO) install fyne.io/tools/cmd/fyne@v1.7.4
APP_NAME    := $(shell sed -n 's/^ *Name *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
APP_ID      := $(shell sed -n 's/^ *ID *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
APP_VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
APP_BUILD   := $(shell sed -n 's/^ *Build *= *\([0-9]*\)/\1/p' FyneApp.toml | head -1)

## package-linux: dist/kiosk-linux-amd64.tar.xz (binary, .desktop file, icon; `make install` inside)
package-linux: deps-build $(FYNE)
	mkdir -p dist/linux
	$(GO) build -trimpath -ldflags '-s -w' -o dist/linux/kiosk ./cmd/kiosk
	cp FyneApp.toml dist/FyneApp.toml.orig   # fyne package rewrites it (build number)
	$(FYNE) package -os linux --exe dist/linux/kiosk --name kiosk --app-id $(APP_ID) \
	  --app-version $(APP_VERSION) --app-build $(APP_BUILD) --icon assets/data/icon.png --release; \
	  rc=$$?; cp dist/FyneApp.toml.orig FyneApp.toml; exit $$rc
	mv -f kiosk.tar.xz dist/kiosk-linux-amd64.tar.xz
	@echo "wrote dist/kiosk-linux-amd64.tar.xz"

## package-windows: dist/kiosk.exe, cross-compiled with mingw-w64 (GUI subsystem, icon)
package-windows: $(FYNE)
	@./.ci/apt-ensure gcc-mingw-w64-x86-64
	mkdir -p dist
	cp FyneApp.toml dist/FyneApp.toml.orig
	cd cmd/kiosk && GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
	  $(FYNE) package -os windows --name kiosk --app-id $(APP_ID) --app-version $(APP_VERSION) \
	  --app-build $(APP_BUILD) --icon ../../assets/data/icon.png --release; \
	  rc=$$?; cp ../../dist/FyneApp.toml.orig ../../FyneApp.toml; exit $$rc
	mv -f cmd/kiosk/kiosk.exe dist/kiosk.exe
	@echo "wrote dist/kiosk.exe"

## package-hq: dist/hq-linux-amd64.tar.gz — static binary, systemd unit, example config
package-hq:
	mkdir -p dist/hq
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o dist/hq/hq ./cmd/hq
	cp docs/deploy/hq.service docs/deploy/hq-posimport.service docs/deploy/hq.env.example docs/deploy/nginx-hq.conf dist/hq/
	tar -C dist -czf dist/hq-linux-amd64.tar.gz hq
	@echo "wrote dist/hq-linux-amd64.tar.gz"

clean:
	rm -rf bin dist .demo-data

## screenshots: the real app (GLFW) under Xvfb, driven through every screen with the demo
## data set (and the production kiosk's setup and start-up error screens); each step
## captured with ImageMagick `import` into docs/screenshots (docs/ui.md)
screenshots: deps
	$(GO) build -o bin/kiosk ./cmd/kiosk
	xvfb-run -a -s '-screen 0 1280x800x24' $(GO) run ./kiosk/internal/screenshots -out docs/screenshots -import import -kiosk bin/kiosk

## measure: kiosk vs hello-world Fyne app (same bundled font): first frame and RSS under
## Xvfb in one run; writes the "## Kiosk UI" section of docs/benchmarks.md
measure: deps
	$(GO) build -o bin/kiosk ./cmd/kiosk
	$(GO) build -o bin/kiosk-demo ./cmd/kiosk-demo
	$(GO) build -o bin/hello ./kiosk/internal/hello
	xvfb-run -a -s '-screen 0 1280x800x24' $(GO) run ./kiosk/internal/measurerun -kiosk bin/kiosk -demo bin/kiosk-demo -hello bin/hello -runs 7 -update docs/benchmarks.md
