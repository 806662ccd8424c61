#!/usr/bin/env bash
# The classification engine alone on one core against GNU grep -E -i -f of
# the same signatures' regexes over the same 2M-line corpus.txt, grep writing
# its matches to a file; then the same corpus written by tracing's JSON
# formatter against jq selecting its WARN and ERROR lines. Interleaved, RUNS
# rounds (default 5). ABLATION=1 also runs the classifier with the literal
# prefilter, the fast matcher or both turned off (about 2 minutes).
#
#   scripts/bench-classify.sh [CORPUS_DIR]    (default /tmp/corpus; the JSON corpus in CORPUS_DIR-json)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-/tmp/corpus}"
runs="${RUNS:-5}"
[ -f "$corpus/corpus.txt" ] || go run ./scripts/gencorpus -n 2000000 -o "$corpus"
jcorpus="$corpus-json"
[ -f "$jcorpus/corpus.txt" ] || go run ./scripts/gencorpus -n 2000000 -shape json -o "$jcorpus"
command -v jq >/dev/null || { echo "jq is missing (apt-get install jq)" >&2; exit 1; }
# jq reads JSON only: the services' lines (the other units' are text).
[ -f "$jcorpus/services.jsonl" ] || grep '^{' "$jcorpus/corpus.txt" > "$jcorpus/services.jsonl"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/classify.test" ./classify/
CFLOGD_GREP_SIGS="$tmp/sigs.txt" go test ./classify/ -run WriteGrepSignatures -count=1 >/dev/null
echo "signature regexes for grep: $(wc -l < "$tmp/sigs.txt")"
for i in $(seq "$runs"); do
	(cd classify && CFLOGD_CORPUS="$corpus/corpus.txt" "$tmp/classify.test" -test.run '^$' \
		-test.bench 'ClassifyCorpus/shipped$' -test.benchtime 1x -test.cpu 1) | grep -E '^Benchmark' | sed 's/^/cflogd text /'
	/usr/bin/time -f "grep-utf8 %e s wall, %U+%S s cpu" env LC_ALL=C.UTF-8 grep -E -i -f "$tmp/sigs.txt" "$corpus/corpus.txt" > "$tmp/out.txt"
	/usr/bin/time -f "grep-C %e s wall, %U+%S s cpu" env LC_ALL=C grep -E -i -f "$tmp/sigs.txt" "$corpus/corpus.txt" > "$tmp/out.txt"
	(cd classify && CFLOGD_CORPUS="$jcorpus/services.jsonl" "$tmp/classify.test" -test.run '^$' \
		-test.bench 'ClassifyCorpus/shipped$' -test.benchtime 1x -test.cpu 1) | grep -E '^Benchmark' | sed 's/^/cflogd json /'
	/usr/bin/time -f "jq %e s wall, %U+%S s cpu" jq -c 'select(.level=="WARN" or .level=="ERROR")' "$jcorpus/services.jsonl" > "$tmp/jq.txt"
done 2>&1
echo "jq lines selected: $(wc -l < "$tmp/jq.txt") of $(wc -l < "$jcorpus/services.jsonl")"
if [ -n "${ABLATION:-}" ]; then
	(cd classify && CFLOGD_CORPUS="$corpus/corpus.txt" "$tmp/classify.test" -test.run '^$' \
		-test.bench 'ClassifyCorpus/' -test.benchtime 1x -test.cpu 1) | grep -E '^Benchmark'
fi
echo "grep matching lines: $(wc -l < "$tmp/out.txt") of $(wc -l < "$corpus/corpus.txt")"
