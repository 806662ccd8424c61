#!/usr/bin/env bash
# The test command: installs what the tests need (Debian packages, and the
# VictoriaLogs and Alertmanager peers built from the Go module proxy), then
# runs vet, a CGO_ENABLED=0 build, the shipped library's check, the unit,
# integration and end-to-end tests (real journal files written by
# systemd-journal-remote, real peers on 127.0.0.1), the packaging test
# (installs and purges the .deb: run it as root on a machine you can change),
# the chaos suite in its short form (part of go test), a 2-minute soak and
# each fuzz target briefly. FUZZTIME overrides the per-target fuzzing
# time (default 15s).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

scripts/install-deps.sh
scripts/install-peers.sh

echo "== go vet"
go vet ./...
echo "== build without cgo"
CGO_ENABLED=0 go build -o /dev/null ./...
echo "== cflogd check (shipped library)"
go run ./cmd/cflogd check
echo "== go test"
go test -count=1 -timeout 30m ./...
echo "== packaging (.deb built, installed, used and purged; unit verified; nix parsed)"
scripts/test-packaging.sh
echo "== soak, short form (${SOAK_DURATION:-2m} at 5,000 entries/s; make soak runs 1h)"
DURATION="${SOAK_DURATION:-2m}" scripts/soak.sh
echo "== fuzz (${FUZZTIME:-15s} each)"
scripts/fuzz.sh "${FUZZTIME:-15s}"
