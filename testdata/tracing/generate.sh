#!/bin/bash
# Regenerates tracing.export / expected.jsonl / bad.export / bad-expected.jsonl
# from the real tracing crates and a real systemd-journald. Needs root, cargo,
# Debian's librust-tracing-dev librust-tracing-subscriber-dev
# systemd-journal-remote, and a git clone of https://github.com/tokio-rs/tracing
# (TRACING_GIT, for tracing-journald 0.3.2, not packaged in Debian).
# CI does not run this; the outputs are committed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TRACING_GIT=${TRACING_GIT:-/work/.mirror/tokio-rs+tracing/repo}
TJ_TAG=${TJ_TAG:-tracing-journald-0.3.2}
command -v cargo >/dev/null || { echo "no cargo: nothing to do" >&2; exit 0; }
WORK=$(mktemp -d /tmp/tracing-fixtures.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# 1. build (offline, Debian registry, see gen/.cargo/config.toml)
cd "$HERE/gen"
rm -rf vendor && mkdir vendor
git --git-dir="$TRACING_GIT" archive "$TJ_TAG" tracing-journald | tar -x -C vendor
python3 - <<'PY'
import re
p='vendor/tracing-journald/Cargo.toml'
t=open(p).read().split('[dev-dependencies]')[0]      # drops dev-deps and [lints] workspace = true
open(p,'w').write(re.sub(r'path = "[^"]*", ','',t))  # workspace path deps -> registry versions
PY
cargo build --release -j1
BIN=$HERE/gen/target/release/tracing-fixture-gen

# 2. a journald: use one that answers, else start our own
OWN_JD=
if ! python3 -c 'import socket;s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM);s.connect("/run/systemd/journal/socket")' 2>/dev/null; then
  mkdir -p /run/systemd/journal
  /lib/systemd/systemd-journald >"$WORK/journald.log" 2>&1 &
  OWN_JD=$!
  for _ in $(seq 50); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.1; done
  sleep 0.5
fi
stop_jd() { [ -n "$OWN_JD" ] && kill "$OWN_JD" 2>/dev/null && wait "$OWN_JD" 2>/dev/null; rm -rf "$WORK"; }
trap stop_jd EXIT

# 3. run every shape for every service; RUNS lists pid, shape, service, manifest
: >"$WORK/runs"
n=0
run() { # transport shape svc
  local tr=$1 shape=$2 svc=$3 m="$WORK/manifest.$n"; n=$((n+1))
  if [ "$tr" = stdout ]; then
    # systemd-cat connects stdout+stderr to journald's stdout stream, as
    # systemd does for a service (PRIORITY=6, _TRANSPORT=stdout)
    FIXTURE_MANIFEST=$m systemd-cat -t "$svc" env -u RUST_BACKTRACE "$BIN" "$shape" "$svc" &
  else
    FIXTURE_MANIFEST=$m env -u RUST_BACKTRACE "$BIN" "$shape" "$svc" &
  fi
  local pid=$!; wait $pid || true
  printf '%s\t%s\t%s\t%s\n' "$pid" "$shape" "$svc" "$m" >>"$WORK/runs"
  sleep 0.3
}
START=$(date +%s)
for shape in full ansi span structured json-text json json-flat; do
  for svc in chainfire flaredb placement-driver; do run stdout $shape $svc; done
done
for shape in journald journald-nospan; do
  for svc in chainfire flaredb placement-driver; do run journal $shape $svc; done
done
run stdout panic-main chainfire
run stdout panic-thread flaredb
run stdout panic-unnamed placement-driver
# bad input: native datagrams and stdout lines (see bad.py)
python3 "$HERE/bad.py" send "$WORK" >>"$WORK/runs"
sleep 1; journalctl --sync
journalctl -o export --since="@$START" SYSLOG_IDENTIFIER=chainfire + SYSLOG_IDENTIFIER=flaredb \
  + SYSLOG_IDENTIFIER=placement-driver >"$WORK/raw.export"

# 4. stable identities/timestamps, expected results
python3 "$HERE/mkexport.py" "$WORK" "$HERE"

# 5. check that the exports load into a journal file and read back
for f in tracing bad; do
  rm -rf "$WORK/j" && mkdir -p "$WORK/j"
  /lib/systemd/systemd-journal-remote -o "$WORK/j/$f.journal" - <"$HERE/$f.export"
  a=$(journalctl --file "$WORK/j/$f.journal" -o export | grep -ac '^__CURSOR=')
  b=$(wc -l <"$HERE/$( [ $f = tracing ] && echo expected || echo bad-expected).jsonl")
  echo "$f.export: $a entries read back by journalctl --file, $b expected lines"
  [ "$a" = "$b" ] || { echo "MISMATCH" >&2; exit 1; }
done
