#!/usr/bin/env bash
# Installs what building and testing cflogd needs on a Debian machine:
# the systemd headers (cgo), systemd-journal-remote (tests write real journal
# files with it), journalctl, and the tools the packaging and chaos tests run
# (make, groff, mount, setpriv). Needs root (or sudo). Safe to run again.
set -euo pipefail

need=()
dpkg -s libsystemd-dev >/dev/null 2>&1 || need+=(libsystemd-dev)
[ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
command -v journalctl >/dev/null 2>&1 || need+=(systemd)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v nix-instantiate >/dev/null 2>&1 || need+=(nix-bin)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v curl >/dev/null 2>&1 || need+=(curl) # the soak and benchmark scripts poll their peers with it
command -v zsh >/dev/null 2>&1 || need+=(zsh)   # the zsh completion script is checked with zsh -n
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates) # go install of the peers from the module proxy
command -v make >/dev/null 2>&1 || need+=(make)       # the packaging test builds the .deb with make deb
command -v groff >/dev/null 2>&1 || need+=(groff-base) # the man page is rendered with groff to check it
command -v mount >/dev/null 2>&1 || need+=(mount)      # the chaos tests mount small tmpfs filesystems (a full disk)
command -v setpriv >/dev/null 2>&1 || need+=(setpriv)  # in util-linux up to Debian 12, its own package since 13

if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing: ${need[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		echo "go is at /usr/local/go/bin; add it to PATH" >&2
	else
		echo "cflogd needs Go 1.26 or newer (https://go.dev/dl/ or Debian's golang-go from backports)" >&2
		exit 1
	fi
fi
