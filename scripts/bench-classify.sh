#!/usr/bin/env bash
# The classification engine alone on one core against GNU grep -E -i -f of
# the same signatures' regexes over the same 2M-line corpus.txt, grep writing
# its matches to a file. Interleaved, RUNS rounds (default 5).
#
#   scripts/bench-classify.sh [CORPUS_DIR]    (default /tmp/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-/tmp/corpus}"
runs="${RUNS:-5}"
[ -f "$corpus/corpus.txt" ] || go run ./scripts/gencorpus -n 2000000 -o "$corpus"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/classify.test" ./classify/
CFLOGD_GREP_SIGS="$tmp/sigs.txt" go test ./classify/ -run WriteGrepSignatures -count=1 >/dev/null
echo "signature regexes for grep: $(wc -l < "$tmp/sigs.txt")"
for i in $(seq "$runs"); do
	(cd classify && CFLOGD_CORPUS="$corpus/corpus.txt" "$tmp/classify.test" -test.run '^$' \
		-test.bench 'ClassifyCorpus$' -test.benchtime 1x -test.cpu 1) | grep -E '^Benchmark' | sed 's/^/cflogd /'
	/usr/bin/time -f "grep-utf8 %e s wall, %U+%S s cpu" env LC_ALL=C.UTF-8 grep -E -i -f "$tmp/sigs.txt" "$corpus/corpus.txt" > "$tmp/out.txt"
	/usr/bin/time -f "grep-C %e s wall, %U+%S s cpu" env LC_ALL=C grep -E -i -f "$tmp/sigs.txt" "$corpus/corpus.txt" > "$tmp/out.txt"
done 2>&1
echo "grep matching lines: $(wc -l < "$tmp/out.txt") of $(wc -l < "$corpus/corpus.txt")"
