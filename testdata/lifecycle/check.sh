#!/bin/sh
# Feeds lifecycle.export to systemd-journal-remote and checks, for every unit expected.jsonl
# names in journalctl_u (and the other checked units), that `journalctl -u UNIT` shows exactly the
# entries marked there. Needs systemd-journal-remote (apt-get install -y systemd-journal-remote).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
remote=/lib/systemd/systemd-journal-remote
[ -x "$remote" ] || remote=/usr/lib/systemd/systemd-journal-remote
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/gen.py"
"$remote" -o "$tmp/l.journal" - < "$here/lifecycle.export" 2>/dev/null
units=$(python3 "$here/gen.py" --units)
total=$(journalctl --file "$tmp/l.journal" -o json --no-pager | wc -l)
want=$(wc -l < "$here/expected.jsonl")
[ "$total" -eq "$want" ] || { echo "journal has $total entries, expected.jsonl $want"; exit 1; }
fail=0
for u in $units; do
  journalctl --file "$tmp/l.journal" -u "$u" -o json --no-pager > "$tmp/$u.json" || true
  python3 - "$here/expected.jsonl" "$tmp/$u.json" "$u" <<'PY' || fail=1
import json, sys
exp = [json.loads(l) for l in open(sys.argv[1])]
unit = sys.argv[3]
key = {(e["host"], str(e["realtime_usec"])): e["n"] for e in exp}
want = {e["n"] for e in exp if unit in e["journalctl_u"]}
got = set()
for l in open(sys.argv[2]):
    j = json.loads(l)
    got.add(key[(j["_HOSTNAME"], j["__REALTIME_TIMESTAMP"])])
if got != want:
    print("%s: journalctl -u shows %s, expected.jsonl says %s" % (unit, sorted(got - want), sorted(want - got)))
    sys.exit(1)
print("%s: %d entries, as marked" % (unit, len(got)))
PY
done
[ "$fail" -eq 0 ] && echo "check: OK ($total entries)" || { echo "check: FAILED"; exit 1; }
