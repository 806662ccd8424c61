#!/usr/bin/env bash
# libsystemd's own cost per entry over the benchmark journal (no cflogd):
# next alone, with cflogd's six unit matches, plus enumerating every field,
# plus a cursor. The floor under `cflogd run`'s CPU figure. ROUNDS rounds,
# medians printed; N entries per run.
#
#   scripts/bench-libsystemd.sh            # DIR=/tmp/corpus/j ROUNDS=5 N=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-/tmp/corpus/j}
ROUNDS=${ROUNDS:-5}
N=${N:-1000000}
[ -d "$DIR" ] || { echo "no journal at $DIR (see scripts/bench-scan.sh)" >&2; exit 1; }
bin=$(mktemp /tmp/bench-libsystemd.XXXXXX)
trap 'rm -f "$bin"' EXIT
gcc -O2 -Wall -o "$bin" scripts/bench-libsystemd/main.c -lsystemd
for r in $(seq "$ROUNDS"); do
	for m in 0 2 1 3 7; do "$bin" "$DIR" "$m" "$N"; done
done | python3 -c '
import sys, statistics
names = {0: "next, no matches", 2: "next + enumerate every field", 1: "next with the 6 unit matches",
         3: "matches + enumerate", 7: "matches + enumerate + cursor (what cflogd reads)"}
runs = {}
for line in sys.stdin:
    m, n, ns, _ = line.split()
    runs.setdefault(int(m), []).append(int(ns))
print("| mode | ns per entry returned (median, min-max) |")
print("|---|---|")
for m in (0, 2, 1, 3, 7):
    v = runs[m]
    print(f"| {names[m]} | {statistics.median(v):.0f} ({min(v)}-{max(v)}) |")
'
