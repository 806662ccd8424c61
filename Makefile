# The index of what a person can do with this tree.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GO      ?= go
FUZZTIME ?= 10m
BENCHTIME ?= 3x

.PHONY: all build deps test test-unit test-integration lint check-patterns bench fuzz sample corpus clean chaos soak vuln

all: build

## deps: install the Debian packages building and testing need (root or sudo)
deps:
	scripts/install-deps.sh

## build: ./cflogd with version and commit stamped
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o cflogd ./cmd/cflogd

## test: the whole suite, as CI runs it (installs packages first)
test:
	scripts/test.sh

## test-unit: tests that need no journal tools (CGO_ENABLED=0 skips the cgo reader)
test-unit:
	CGO_ENABLED=0 $(GO) test -count=1 ./...

## test-integration: tests over real journal files (needs systemd-journal-remote)
test-integration:
	$(GO) test -count=1 -run 'Journal|Scan|EndToEnd' ./...

## lint: vet and gofmt
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi

## check-patterns: validate the shipped library and run its examples
check-patterns:
	$(GO) run ./cmd/cflogd check

## bench: Go benchmarks (set CFLOGD_CORPUS / CFLOGD_BENCH_JOURNAL_DIR for the 2M-entry corpus)
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./...

## fuzz: every fuzz target for FUZZTIME each (default 10m; the test command runs 15s each)
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## corpus: the 2M-entry benchmark corpus and its journal in /tmp/corpus (BENCHMARKS.md)
corpus:
	$(GO) run ./scripts/gencorpus -n 2000000 -o /tmp/corpus
	rm -rf /tmp/corpus/j && mkdir -p /tmp/corpus/j
	/lib/systemd/systemd-journal-remote -o /tmp/corpus/j/bench.journal - < /tmp/corpus/export-full.txt

## sample: the bundled sample journal in /tmp/cflogd-sample
sample:
	rm -rf /tmp/cflogd-sample && mkdir -p /tmp/cflogd-sample
	/lib/systemd/systemd-journal-remote -o /tmp/cflogd-sample/sample.journal - < examples/sample.export

.PHONY: deb verify-unit

## deb: the Debian package in dist/ (nfpm v2.45.2 via go run; cgo, libsystemd-dev)
deb:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' GO='$(GO)' packaging/deb/build.sh

## verify-unit: systemd-analyze verify and security of packaging/systemd/cflogd.service
verify-unit:
	$(GO) test -count=1 -run 'TestUnit' ./packaging

## chaos: the fault-injection suite at full length (the test command runs it shortened)
chaos:
	CFLOGD_CHAOS=full $(GO) test -count=1 -timeout 120m -v -run 'Chaos' ./...

## soak: follow a journal growing at 5,000 entries/s for DURATION (default 1h)
DURATION ?= 1h
soak:
	DURATION='$(DURATION)' scripts/soak.sh

## vuln: govulncheck (needs access to the Go vulnerability database; not a CI step)
vuln:
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 ./...

clean:
	rm -f cflogd
