#!/usr/bin/env bash
# The test command: installs what the tests need, then runs vet, the unit and
# integration tests (real journal files written by systemd-journal-remote),
# the shipped library's check, a CGO_ENABLED=0 build, and each fuzz target
# briefly. FUZZTIME overrides the per-target fuzzing time (default 15s).
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
go test -count=1 ./...
echo "== fuzz (${FUZZTIME:-15s} each)"
scripts/fuzz.sh "${FUZZTIME:-15s}"
