#!/usr/bin/env bash
# Whole-process comparison for BENCHMARKS.md: `cflogd scan` over the 2M-entry
# benchmark journal (every event written to a file) against journalctl
# reading the same entries with the same unit matches into /dev/null.
# Alternates the two, RUNS times each (default 5), and prints the medians,
# the ratio and peak memory (anonymous and file-backed separately).
#
#   scripts/bench-scan.sh [CORPUS_DIR]    (default /tmp/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-/tmp/corpus}"
runs="${RUNS:-5}"

if [ ! -f "$corpus/export-full.txt" ]; then
	go run ./scripts/gencorpus -n 2000000 -o "$corpus"
fi
if ! ls "$corpus"/j/*.journal >/dev/null 2>&1; then
	mkdir -p "$corpus/j"
	/lib/systemd/systemd-journal-remote -o "$corpus/j/bench.journal" - < "$corpus/export-full.txt"
fi
make build >/dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$runs"); do
	scripts/peakmem.py -- journalctl -D "$corpus/j" _SYSTEMD_UNIT=chainfire.service + _SYSTEMD_UNIT=flaredb.service -o cat \
		| sed 's/^/journalctl /' >> "$out/log"
	scripts/peakmem.py --stdout "$out/events.jsonl" -- ./cflogd scan --directory "$corpus/j" \
		--unit chainfire --unit flaredb --since 2025-06-01T00:00:00Z --until 2025-06-02T00:00:00Z \
		--output jsonl --min-severity info \
		| sed 's/^/cflogd /' >> "$out/log"
done
cat "$out/log"
echo "events written: $(wc -l < "$out/events.jsonl")"
python3 - "$out/log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, rest = line.split(" ", 1)
    d = dict(kv.split("=") for kv in rest.split())
    rows.setdefault(who, []).append(d)
med = lambda who, k: statistics.median(float(r[k]) for r in rows[who])
jw, cw = med("journalctl", "wall_s"), med("cflogd", "wall_s")
print("median wall: journalctl %.3fs, cflogd scan %.3fs; speed ratio (journalctl/cflogd) %.2f" % (jw, cw, jw / cw))
for who in ("journalctl", "cflogd"):
    print("%s peak: anon %.1f MiB, file-backed %.1f MiB, total %.1f MiB" % (who,
        max(float(r["anon_peak_kib"]) for r in rows[who]) / 1024,
        max(float(r["file_peak_kib"]) for r in rows[who]) / 1024,
        max(float(r["hwm_kib"]) for r in rows[who]) / 1024))
PY
