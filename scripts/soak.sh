#!/usr/bin/env bash
# The soak benchmark of issue 6: `cflogd run` follows a journal growing at
# RATE entries/s (default 5000) for DURATION (default 1h) and delivers to a
# Loki peer (VictoriaLogs) and a webhook receiver, while scripts/soak samples
# the daemon every few seconds (RSS, goroutines, CPU, delivery latency).
# At the end it checks, and prints as Markdown (also into $OUT if set):
#   - RSS flat: least-squares slope of VmRSS after the warm-up (a quarter of
#     the run, 30 s to 10 min) < 5 MiB/h; fit windows under 30 min cannot
#     resolve that, so there the fitted rise must stay < 8 MiB (gross leaks);
#   - goroutines flat: at most 10 more at the end than after the warm-up;
#   - delivery p99 < 2 s over the run (cflogd_event_delivery_seconds: journal
#     timestamp to VictoriaLogs' 2xx); runs of 10 minutes or more also list
#     it per 5 minutes with the daemon's CPU and the machine's load;
#   - delivered == expected: every event `cflogd scan` finds afterwards over
#     the same journal directory is in VictoriaLogs exactly once, matched by
#     signature and cursor (derived events on both sides), nothing else is;
#   - the webhook receiver got every event the webhook sink counted as sent;
#   - the daemon stayed up, caught up, and exits 0 on SIGTERM.
# Exits 1 on FAIL, 2 when the run could not be made.
#
#   make soak DURATION=1h            # the full run (BENCHMARKS.md)
#   DURATION=2m scripts/soak.sh      # the CI form
#
# The feed is scripts/benchfeed replaying CORPUS (a journal export; default
# /tmp/corpus/export-full.txt, else a corpus of CORPUS_ENTRIES (200000)
# generated with scripts/gencorpus into the work directory; GENCORPUS_FLAGS
# adds flags such as "-shape journald -seed 7"),
# looped, with timestamps rewritten to now, through systemd-journal-remote.
# Needs: go, python3, /lib/systemd/systemd-journal-remote, victoria-logs
# (scripts/install-peers.sh). KEEP=1 keeps the work directory (with the
# journal); ARTIFACTS=DIR keeps the samples, final metrics and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

DURATION=${DURATION:-1h}
RATE=${RATE:-5000}
OUT=${OUT:-}
remote=/lib/systemd/systemd-journal-remote

work=$(mktemp -d /tmp/soak.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 50); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "soak: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "soak: $*" >&2; exit 2; }
log() { echo "soak: $(date -u +%H:%M:%S) $*" >&2; }

command -v victoria-logs >/dev/null || die "no victoria-logs in PATH: run scripts/install-peers.sh"
[ -x "$remote" ] || die "no $remote: run scripts/install-deps.sh"
command -v python3 >/dev/null || die "no python3: run scripts/install-deps.sh"

log "building cflogd, benchfeed and soak"
go build -o "$work/cflogd" ./cmd/cflogd
go build -o "$work/benchfeed" ./scripts/benchfeed
go build -o "$work/soak" ./scripts/soak

# The corpus: the benchmark corpus when present, else a small generated one
# (a fresh CI machine has none), which benchfeed loops.
CORPUS=${CORPUS:-/tmp/corpus/export-full.txt}
if [ ! -f "$CORPUS" ]; then
	log "generating a corpus of ${CORPUS_ENTRIES:-200000} entries"
	# shellcheck disable=SC2086 # GENCORPUS_FLAGS is a list of flags
	go run ./scripts/gencorpus -n "${CORPUS_ENTRIES:-200000}" -o "$work/corpus" ${GENCORPUS_FLAGS:-} 2>"$work/gen.log" ||
		die "scripts/gencorpus failed: $(cat "$work/gen.log")"
	CORPUS=$work/corpus/export-full.txt
fi
corpus_entries=$(grep -c '^__REALTIME_TIMESTAMP=' "$CORPUS" || true)

# The journal grows by about 450 bytes per entry (export-full); refuse to
# start a run that would fill the disk.
secs=$("$work/soak" seconds "$DURATION") || die "bad DURATION $DURATION"
need_kib=$((RATE * secs * 600 / 1024 + 1048576))
avail_kib=$(df -Pk "$work" | awk 'NR==2{print $4}')
[ "$avail_kib" -gt "$need_kib" ] || die "$((need_kib / 1048576)) GiB needed in $work, $((avail_kib / 1048576)) GiB free"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL what
	for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
	die "$2 did not answer at $1"
}
vlport=$(free_port)
mport=$(free_port)
hport=$(free_port)
mkdir -p "$work/j" "$work/vl" "$work/state" "$work/finish"

victoria-logs -httpListenAddr=127.0.0.1:$vlport -storageDataPath="$work/vl" -loggerLevel=WARN >"$work/vl.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$vlport/health" victoria-logs

# Notifications are grouped like Alertmanager's; shorter intervals than the
# defaults make the webhook sink post all through a short run.
cat >"$work/cflogd.toml" <<EOF
state_dir = "$work/state"
listen = "127.0.0.1:$mport"
[journal]
directory = "$work/j"
initial_position = "head"
[[sink]]
type = "loki"
url = "http://127.0.0.1:$vlport/insert/loki/api/v1/push?disable_message_parsing=1"
[[sink]]
type = "webhook"
url = "http://127.0.0.1:$hport/hook"
min_severity = "warning"
group_wait = "2s"
group_interval = "30s"
repeat_interval = "5m"
EOF
"$work/cflogd" run --config "$work/cflogd.toml" 2>"$work/cflogd.log" &
cpid=$!
pids+=($cpid)
wait_http "http://127.0.0.1:$mport/readyz" "cflogd run"

# Sample every second in short runs, every 5 s from 10 minutes on.
every=5s
[ "$secs" -lt 600 ] && every=1s
"$work/soak" watch -pid $cpid -metrics "http://127.0.0.1:$mport/metrics" -listen "127.0.0.1:$hport" \
	-samples "$work/samples.jsonl" -every $every 2>"$work/watch.log" &
wpid=$!
pids+=($wpid)
wait_http "http://127.0.0.1:$hport/counts" "the webhook receiver"

log "feeding $RATE entries/s for $DURATION from $CORPUS ($corpus_entries entries, looped); load: $(cut -d' ' -f1-3 /proc/loadavg)"
mkfifo "$work/feed.fifo"
feed_start=$(date +%s.%N)
"$work/benchfeed" -in "$CORPUS" -rate "$RATE" -duration "$DURATION" >"$work/feed.fifo" 2>"$work/feed.log" &
fpid=$!
pids+=($fpid)
"$remote" -o "$work/j/feed.journal" - <"$work/feed.fifo" 2>"$work/remote.log" &
rpid=$!
pids+=($rpid)
wait $fpid || die "benchfeed failed: $(cat "$work/feed.log")"
wait $rpid || die "systemd-journal-remote failed: $(tail -3 "$work/remote.log")"
feed_end=$(date +%s.%N)
log "$(cat "$work/feed.log"); journal $(du -sh "$work/j" | cut -f1); load: $(cut -d' ' -f1-3 /proc/loadavg)"

kill -0 $cpid 2>/dev/null || { tail -20 "$work/cflogd.log" >&2; die "cflogd run died during the feed"; }
"$work/soak" finish -metrics "http://127.0.0.1:$mport/metrics" -hook "http://127.0.0.1:$hport/counts" \
	-vl "http://127.0.0.1:$vlport" -dir "$work/finish"
kill -TERM $cpid
daemon_exit=0
wait $cpid || daemon_exit=$?
kill -TERM $wpid
wait $wpid || true

log "cflogd scan over the journal ($(du -sh "$work/j" | cut -f1))"
"$work/cflogd" scan --directory "$work/j" --output jsonl --min-severity info >"$work/scan.jsonl" ||
	die "cflogd scan failed"

status=0
"$work/soak" report -samples "$work/samples.jsonl" -dir "$work/finish" -scan "$work/scan.jsonl" \
	-feed-log "$work/feed.log" -feed-start "$feed_start" -feed-end "$feed_end" \
	-rate "$RATE" -duration "$DURATION" -daemon-exit $daemon_exit \
	-corpus "$(basename "$CORPUS") ($corpus_entries entries, looped)" \
	-command "DURATION=$DURATION scripts/soak.sh" -commit "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	${OUT:+-out "$OUT"} || status=$?
if [ $status -ne 0 ]; then
	echo "--- cflogd log (last 20 lines)" >&2
	tail -20 "$work/cflogd.log" >&2
fi
# The samples, final metrics and logs (not the journal) outlive the run in
# $ARTIFACTS when set, and in a /tmp/soak-fail.* directory on FAIL.
art=${ARTIFACTS:-}
[ -z "$art" ] && [ $status -ne 0 ] && art=$(mktemp -d /tmp/soak-fail.XXXXXX)
if [ -n "$art" ]; then
	mkdir -p "$art"
	cp "$work/samples.jsonl" "$work"/*.log "$work/cflogd.toml" "$work"/finish/*.txt "$work"/finish/*.json "$art"/
	echo "soak: samples, final metrics and logs in $art" >&2
fi
exit $status
