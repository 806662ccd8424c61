#!/bin/sh
# Prints the Debian version of the package built from this tree: git
# describe, made valid and ordered for dpkg. With an argument, sanitizes that
# string instead of asking git (for tests).
#
#   v1.2.3                  -> 1.2.3
#   v1.2.3-rc1              -> 1.2.3~rc1            (before 1.2.3)
#   v1.2.3-5-g8c30f35       -> 1.2.3+5.g8c30f35     (after 1.2.3)
#   v1.2.3-5-g8c30f35-dirty -> 1.2.3+5.g8c30f35.dirty
#   8c30f35 (no tag)        -> 0.0.0~git83.8c30f35  (83 commits; before any release)
set -eu
if [ $# -gt 0 ]; then
	d=$1
	count=${2:-0}
else
	d=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
	count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
fi

dirty=""
case $d in *-dirty) dirty=".dirty"; d=${d%-dirty} ;; esac
d=${d#v}

if printf '%s\n' "$d" | grep -Eq '^[0-9a-f]{7,40}$'; then
	d="g$d" # an abbreviated commit: no tag reaches HEAD
fi
case $d in
[0-9]*)
	# TAG-N-gHASH: commits after a tag sort after it.
	if printf '%s\n' "$d" | grep -Eq -- '-[0-9]+-g[0-9a-f]+$'; then
		hash=${d##*-}
		rest=${d%-*}
		n=${rest##*-}
		tag=${rest%-*}
		v="$tag+$n.$hash"
	else
		v=$d
	fi
	# A pre-release suffix of the tag (1.2.3-rc1) sorts before the release.
	v=$(printf '%s\n' "$v" | sed 's/^\([0-9][0-9.]*\)-/\1~/')
	;;
*)
	v="0.0.0~git$count.${d#g}"
	;;
esac
# Only what a Debian upstream version may hold.
printf '%s%s\n' "$v" "$dirty" | sed 's/[^A-Za-z0-9.+~]/./g'
