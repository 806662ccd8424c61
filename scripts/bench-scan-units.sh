#!/usr/bin/env bash
# CPU and wall of `cflogd scan` against `journalctl -u` over the same units
# (journalctl's own match set, lifecycle terms included), for one or more
# cflogd binaries, interleaved: each round runs journalctl, then each binary.
# Prints per-run figures and, per program, the medians of wall and CPU
# (user+sys from /usr/bin/time) and the ratios cflogd/journalctl.
#
#   scripts/bench-scan-units.sh DIR NAME=BINARY...   (RUNS=5, UNITS="a.service b.service")
#   e.g. scripts/bench-scan-units.sh /tmp/corpus/j old=/tmp/cflogd-old new=/tmp/cflogd-new
set -euo pipefail
dir="$1"; shift
runs="${RUNS:-5}"
read -r -a units <<< "${UNITS:-chainfire.service flaredb.service placement-driver.service}"
ju=(); cu=()
for u in "${units[@]}"; do ju+=(-u "$u"); cu+=(--unit "$u"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for i in $(seq "$runs"); do
	/usr/bin/time -f "journalctl %e %U %S" -a -o "$log" journalctl -D "$dir" "${ju[@]}" -o cat > /dev/null
	for nb in "$@"; do
		name="${nb%%=*}" bin="${nb#*=}"
		/usr/bin/time -f "$name %e %U %S" -a -o "$log" "$bin" scan --directory "$dir" "${cu[@]}" \
			--since 2000-01-01T00:00:00Z --until 2100-01-01T00:00:00Z --output jsonl > /dev/null
	done
done
cat "$log"
python3 - "$log" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 4: continue
    rows.setdefault(f[0], []).append((float(f[1]), float(f[2]) + float(f[3])))
med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in rows.items()}
jw, jc = med["journalctl"]
for k, (w, c) in med.items():
    print("%-10s n=%d wall %.2fs cpu %.2fs  ratio to journalctl: wall %.2f cpu %.2f" % (k, len(rows[k]), w, c, w / jw, c / jc))
PY
