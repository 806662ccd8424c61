#!/usr/bin/env bash
# The packaging test (scripts/test.sh calls it; CI runs it as root on Debian):
# parses the NixOS module and package, builds the .deb (make deb), installs it
# with dpkg -i on this machine, runs the installed cflogd (check, and scan of
# the shipped sample journal export), checks what the maintainer scripts did
# (user, groups, directories, service left disabled), runs the installed
# daemon as the cflogd user over the sample journal until it saved its cursor,
# verifies the installed unit with systemd-analyze, reinstalls the package
# over an edited configuration (the upgrade path), then purges it and checks
# that it is gone.
#
# Needs root, dpkg, systemd-analyze (systemd), nix-instantiate (nix-bin), Go,
# gcc, libsystemd-dev, systemd-journal-remote and python3
# (scripts/install-deps.sh). Safe to run again: a package left by an
# interrupted run is purged first (KEEP=1 leaves it installed after a
# failure, to look at). It refuses to touch a cflogd package it did not
# install (purge that one by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

marker=/var/tmp/cflogd-test-packaging.installed
fail() {
	echo "test-packaging: FAIL: $*" >&2
	exit 1
}
step() { echo "== $*"; }
installed() { dpkg-query -W -f='${Status}' cflogd 2>/dev/null | grep -Eq 'installed|config-files|half'; }
purge() {
	if installed; then
		dpkg --purge cflogd >/dev/null
	fi
	rm -f "$marker"
}
daemon_pid=""
work=""
cleanup() {
	local rc=$?
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null || true
		{ wait "$daemon_pid"; } 2>/dev/null || true
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
	if [ -e "$marker" ] && [ -z "${KEEP:-}" ]; then
		purge || true
	fi
	if [ $rc -ne 0 ]; then
		echo "test-packaging: FAILED (exit $rc)" >&2
	fi
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
for tool in dpkg dpkg-deb systemd-analyze nix-instantiate go gzip runuser setpriv python3 /lib/systemd/systemd-journal-remote; do
	command -v "$tool" >/dev/null || fail "$tool not found (scripts/install-deps.sh; nix-instantiate is in nix-bin)"
done

step "nix-instantiate --parse packaging/nix/*.nix"
for f in packaging/nix/*.nix; do
	nix-instantiate --parse "$f" >/dev/null 2>"${TMPDIR:-/tmp}/nix-parse.err" ||
		fail "$f does not parse: $(cat "${TMPDIR:-/tmp}/nix-parse.err")"
	echo "$f: ok"
done

if installed; then
	[ -e "$marker" ] || fail "a cflogd package is installed that this script did not install; remove it first: dpkg --purge cflogd"
	step "purge the package a previous run left"
	purge
fi

step "make deb"
deb=$(make -s deb | tail -n 1)
[ -f "$deb" ] || fail "make deb printed no package path (got '$deb')"
echo "$deb"
info=$(dpkg-deb --field "$deb" Package Version Depends)
echo "$info"
grep -q '^Depends: .*libsystemd0' <<<"$info" || fail "Depends lacks libsystemd0"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/centra-cloud/cflogd.toml ] ||
	fail "conffiles is not /etc/centra-cloud/cflogd.toml"

step "dpkg -i"
touch "$marker"
dpkg -i "$deb"
installed || fail "dpkg says cflogd is not installed"

step "what the package installed"
for f in /usr/bin/cflogd /lib/systemd/system/cflogd.service /etc/centra-cloud/cflogd.toml \
	/usr/share/man/man1/cflogd.1.gz /usr/share/cflogd/patterns.d/30-chainfire.yaml \
	/usr/share/cflogd/loki/rules.yaml /usr/share/cflogd/prometheus/cflogd.rules.yaml \
	/usr/share/cflogd/grafana/cflogd.json /usr/share/doc/cflogd/examples/sample.export \
	/usr/share/bash-completion/completions/cflogd /usr/share/zsh/vendor-completions/_cflogd; do
	[ -f "$f" ] || fail "$f is missing"
done
/usr/bin/cflogd version
# The completion scripts load and are what this binary generates.
bash --norc -c 'source /usr/share/bash-completion/completions/cflogd && complete -p cflogd' | grep -qx 'complete -F _cflogd cflogd' ||
	fail "the bash completion does not define cflogd's completion"
cmp -s <(/usr/bin/cflogd completion bash) /usr/share/bash-completion/completions/cflogd || fail "the installed bash completion is stale"
cmp -s <(/usr/bin/cflogd completion zsh) /usr/share/zsh/vendor-completions/_cflogd || fail "the installed zsh completion is stale"
if command -v zsh >/dev/null; then
	zsh -n /usr/share/zsh/vendor-completions/_cflogd || fail "the zsh completion does not parse"
fi
getent passwd cflogd >/dev/null || fail "no user cflogd"
id -nG cflogd | tr ' ' '\n' | grep -qx systemd-journal || fail "cflogd is not in systemd-journal: $(id cflogd)"
[ "$(stat -c '%U %a' /var/lib/cflogd)" = "cflogd 700" ] || fail "/var/lib/cflogd is $(stat -c '%U %a' /var/lib/cflogd), want cflogd 700"
[ "$(stat -c '%a' /etc/centra-cloud/cflogd/credentials)" = 700 ] || fail "/etc/centra-cloud/cflogd/credentials is not 0700"
[ -d /etc/centra-cloud/cflogd/patterns.d ] || fail "no /etc/centra-cloud/cflogd/patterns.d"
if ls /etc/systemd/system/*.wants/cflogd.service >/dev/null 2>&1; then
	fail "the service was enabled; it must stay disabled until configured"
fi
echo "user cflogd ($(id -nG cflogd)), state dir, service disabled: ok"

step "/usr/bin/cflogd check (as the cflogd user)"
runuser -u cflogd -- /usr/bin/cflogd check

step "/usr/bin/cflogd scan --input /usr/share/doc/cflogd/examples/sample.export"
events=$(runuser -u cflogd -- /usr/bin/cflogd scan --input /usr/share/doc/cflogd/examples/sample.export \
	--host node01 --output jsonl --min-severity info)
n=$(grep -c '"signature"' <<<"$events" || true)
[ "$n" -gt 0 ] || fail "scan of the sample found no events"
for sig in chainfire.rocksdb_stall chainfire.election_timeout; do
	grep -q "\"signature\":\"$sig\"" <<<"$events" || fail "scan of the sample did not find $sig"
done
echo "$n events; by signature:"
grep -o '"signature":"[^"]*"' <<<"$events" | sort | uniq -c | sort -rn | head -n 8
runuser -u cflogd -- /usr/bin/cflogd scan --input /usr/share/doc/cflogd/examples/sample.export --no-color | tail -n 5

step "cflogd run as the cflogd user over the sample journal (stdout sink)"
work=$(mktemp -d /tmp/cflogd-test-packaging.XXXXXX)
chmod 0755 "$work"
mkdir "$work/j"
/lib/systemd/systemd-journal-remote -o "$work/j/sample.journal" - </usr/share/doc/cflogd/examples/sample.export 2>/dev/null
chmod -R a+rX "$work/j"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/cflogd.toml" <<EOF
listen = "127.0.0.1:$port"
checkpoint_interval = "250ms"
[journal]
directory = "$work/j"
initial_position = "head"
[[sink]]
type = "stdout"
min_severity = "info"
EOF
get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$1" 2>/dev/null; }
# setpriv execs cflogd as the user with its groups (systemd-journal), as the unit does.
setpriv --reuid=cflogd --regid=cflogd --init-groups -- /usr/bin/cflogd run --config "$work/cflogd.toml" \
	>"$work/events.jsonl" 2>"$work/cflogd.log" &
daemon_pid=$!
ready=""
for _ in $(seq 100); do
	if get "http://127.0.0.1:$port/readyz" >/dev/null; then
		ready=1
		break
	fi
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || fail "cflogd run did not get ready: $(cat "$work/cflogd.log")"
# It reads the whole sample and saves its cursor: the checkpoint counter moves.
saved=""
for _ in $(seq 100); do
	if get "http://127.0.0.1:$port/metrics" | grep -Eq '^cflogd_checkpoints_total [1-9]'; then
		saved=1
		break
	fi
	sleep 0.1
done
[ -n "$saved" ] || fail "cflogd run saved no cursor: $(cat "$work/cflogd.log")"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ "$rc" -eq 0 ] || fail "cflogd run exited $rc on SIGTERM: $(cat "$work/cflogd.log")"
n=$(grep -c '"signature"' "$work/events.jsonl" || true)
[ "$n" -gt 0 ] || fail "cflogd run delivered no events to stdout: $(cat "$work/cflogd.log")"
[ -n "$(find /var/lib/cflogd -type f -user cflogd)" ] || fail "no state files owned by cflogd in /var/lib/cflogd"
echo "ready, $n events on stdout, state saved in /var/lib/cflogd ($(ls /var/lib/cflogd | tr '\n' ' ')), stopped cleanly on SIGTERM"

step "systemd-analyze verify /lib/systemd/system/cflogd.service"
man_opt=()
command -v man >/dev/null || man_opt=(--man=no) # Documentation=man:cflogd(1) is looked up with man
out=$(systemd-analyze verify "${man_opt[@]}" /lib/systemd/system/cflogd.service 2>&1) ||
	fail "systemd-analyze verify: $out"
if grep -i cflogd <<<"$out"; then
	fail "systemd-analyze verify complained about the unit"
fi
echo "verify: ok"
systemd-analyze security --offline=true --no-pager /lib/systemd/system/cflogd.service | tail -n 1

step "reinstall over an edited configuration (the upgrade path)"
echo '# edited by test-packaging' >>/etc/centra-cloud/cflogd.toml
dpkg -i --force-confold "$deb" >/dev/null
grep -q '^# edited by test-packaging$' /etc/centra-cloud/cflogd.toml || fail "the upgrade replaced the edited configuration"
getent passwd cflogd >/dev/null || fail "the upgrade lost the user"
echo "edited conffile kept, user kept: ok"

step "dpkg --purge cflogd"
dpkg --purge cflogd
rm -f "$marker"
installed && fail "dpkg still lists cflogd"
for f in /usr/bin/cflogd /lib/systemd/system/cflogd.service /etc/centra-cloud/cflogd.toml /var/lib/cflogd /usr/share/cflogd; do
	[ ! -e "$f" ] || fail "$f is still there after purge"
done
getent passwd cflogd >/dev/null && fail "user cflogd is still there after purge"
getent group cflogd >/dev/null && fail "group cflogd is still there after purge"
echo "gone: ok"
echo "test-packaging: ok"
