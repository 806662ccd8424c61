#!/usr/bin/env bash
# Runs every Fuzz* target in the module for the given time each (default 15s).
# FUZZPARALLEL=N limits the fuzzing workers (default: one per CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-15s}"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "-- $pkg $f"
		go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" ${FUZZPARALLEL:+-parallel="$FUZZPARALLEL"} "$pkg"
	done
done
