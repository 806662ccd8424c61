#!/usr/bin/env bash
# Measures `cflogd run` following a journal that grows at RATE entries/s for
# DURATION with a Loki sink (VictoriaLogs): CPU (average share of one core),
# memory (peak RSS, anonymous and file-backed apart), and the delay from an
# entry's journal timestamp until every durable sink accepted its event
# (cflogd_event_delivery_seconds). The benchmark corpus (/tmp/corpus, from
# scripts/gencorpus) is replayed by scripts/benchfeed with timestamps
# rewritten to now, through systemd-journal-remote into a journal directory.
#
#   scripts/bench-follow.sh                      # 20000/s for 60s
#   RATE=5000 DURATION=20s scripts/bench-follow.sh
#   SHAPE=journald scripts/bench-follow.sh       # the services' entries as tracing-journald
#                                                # writes them (F_* fields); SHAPE=json: tracing's
#                                                # JSON formatter (corpus in /tmp/corpus-SHAPE)
#
# Needs: go, /lib/systemd/systemd-journal-remote, victoria-logs
# (scripts/install-peers.sh), python3, the corpus (CORPUS=...).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"

RATE=${RATE:-20000}
DURATION=${DURATION:-60s}
SHAPE=${SHAPE:-text}
case "$SHAPE" in
text) CORPUS=${CORPUS:-/tmp/corpus/export-full.txt} ;;
json | journald)
	CORPUS=${CORPUS:-/tmp/corpus-$SHAPE/export-full.txt}
	[ -f "$CORPUS" ] || go run ./scripts/gencorpus -n 2000000 -shape "$SHAPE" -o "$(dirname "$CORPUS")"
	;;
*) echo "SHAPE $SHAPE: want text, json or journald" >&2; exit 2 ;;
esac
OUT=${OUT:-}
work=$(mktemp -d /tmp/bench-follow.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

[ -f "$CORPUS" ] || { echo "no corpus at $CORPUS (go run ./scripts/gencorpus -n 2000000 -o /tmp/corpus)" >&2; exit 1; }
go build -o "$work/cflogd" ./cmd/cflogd
go build -o "$work/benchfeed" ./scripts/benchfeed

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
vlport=$(free_port)
mport=$(free_port)
mkdir -p "$work/j" "$work/vl" "$work/state"
victoria-logs -httpListenAddr=127.0.0.1:$vlport -storageDataPath="$work/vl" -loggerLevel=WARN >"$work/vl.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$vlport/health" >/dev/null && break; sleep 0.1; done

cat >"$work/cflogd.toml" <<EOF
state_dir = "$work/state"
listen = "127.0.0.1:$mport"
[journal]
directory = "$work/j"
initial_position = "head"
${JOURNAL_EXTRA:-}
[[sink]]
type = "loki"
url = "http://127.0.0.1:$vlport/insert/loki/api/v1/push"
${EXTRA_SINK:-}
EOF
${DAEMON_ENV:-} "$work/cflogd" run --config "$work/cflogd.toml" 2>"$work/cflogd.log" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$mport/readyz" >/dev/null && break; sleep 0.1; done

# Sample the daemon's CPU ticks and memory once a second while feeding.
sample() {
	local stat status
	stat=$(cat /proc/$cpid/stat) || return 1
	status=$(cat /proc/$cpid/status) || return 1
	set -- $stat
	echo "$(date +%s.%N) $((${14} + ${15})) $(awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r, a, f}' <<<"$status") ${14} ${15}"
}
echo "feeding $RATE entries/s for $DURATION" >&2
sample >"$work/samples"
( while sleep 1; do sample >>"$work/samples" || break; done ) &
spid=$!
pids+=($spid)
"$work/benchfeed" -in "$CORPUS" -rate "$RATE" -duration "$DURATION" 2>"$work/feed.log" |
	/lib/systemd/systemd-journal-remote -o "$work/j/feed.journal" - 2>"$work/remote.log"
sample >>"$work/samples"
# Let the daemon deliver the tail (batch_wait 1s), then read its metrics.
sleep 3
sample >>"$work/samples"
kill "$spid" 2>/dev/null || true
curl -fs "http://127.0.0.1:$mport/metrics" >"$work/metrics"
cat "$work/feed.log" >&2
[ -n "${KEEP_METRICS:-}" ] && cp "$work/metrics" "$KEEP_METRICS"

python3 - "$work/samples" "$work/metrics" "$RATE" "$DURATION" <<'PY' | tee ${OUT:+"$OUT"}
import sys, re
samples, metrics, rate, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [l.split() for l in open(samples) if l.strip()]
# The feed window: first sample to the one taken right after the feeder ended.
t0, c0 = float(rows[0][0]), int(rows[0][1])
t1, c1 = float(rows[-2][0]), int(rows[-2][1])
tps = 100  # USER_HZ
cpu = (c1 - c0) / tps / (t1 - t0) * 100
user = (int(rows[-2][5]) - int(rows[0][5])) / tps / (t1 - t0) * 100
sys_ = (int(rows[-2][6]) - int(rows[0][6])) / tps / (t1 - t0) * 100
rss = [int(r[2]) for r in rows]; anon = [int(r[3]) for r in rows]; file_ = [int(r[4]) for r in rows]
m = open(metrics).read()
def val(name, labels=""):
    for line in m.splitlines():
        if line.startswith(name) and labels in line and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
buckets = []
for line in m.splitlines():
    mm = re.match(r'cflogd_event_delivery_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
    if mm:
        buckets.append((float("inf") if mm.group(1) == "+Inf" else float(mm.group(1)), float(mm.group(2))))
total = val("cflogd_event_delivery_seconds_count")
def q(p):
    if total == 0: return float("nan")
    want, prev_le, prev_c = p * total, 0.0, 0.0
    for le, c in buckets:
        if c >= want:
            if le == float("inf"): return prev_le
            return prev_le + (le - prev_le) * (want - prev_c) / max(c - prev_c, 1)
        prev_le, prev_c = le, c
    return float("nan")
sent = val("cflogd_sink_sent_total", 'sink="loki"')
dropped = val("cflogd_sink_dropped_total", 'sink="loki"')
lines = sum(float(x) for x in re.findall(r'cflogd_journal_lines_read_total\{unit="[^"]+"\} (\S+)', m))
print(f"feed: {rate} entries/s for {duration}; cflogd read {lines:.0f} entries of the watched units, "
      f"delivered {total:.0f} events to VictoriaLogs "
      f"(sent {sent:.0f}, dropped {dropped:.0f})")
print(f"cpu: {cpu:.2f}% of one core on average over {t1 - t0:.1f}s (user {user:.2f}%, system {sys_:.2f}%)")
print(f"rss: peak {max(rss)/1024:.1f} MiB (anonymous peak {max(anon)/1024:.1f} MiB, file-backed peak {max(file_)/1024:.1f} MiB); "
      f"average {sum(rss)/len(rss)/1024:.1f} MiB")
print(f"delivery (journal timestamp to peer acceptance): p50 {q(0.5):.2f}s, p99 {q(0.99):.2f}s "
      f"(from the cflogd_event_delivery_seconds histogram)")
PY
