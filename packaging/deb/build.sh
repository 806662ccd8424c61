#!/usr/bin/env bash
# Builds the cflogd Debian package into dist/ (what `make deb` runs):
# the binary (cgo, version stamped), the gzipped man page, then nfpm, run
# from the Go module proxy at a pinned version; nothing else is downloaded.
# Prints the path of the .deb on stdout.
#
# Environment: VERSION and COMMIT (default from git), GO (default go),
# GOARCH (default go env GOARCH), DIST (default dist).
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
DIST=${DIST:-dist}
export GOARCH=${GOARCH:-$($GO env GOARCH)}
export CFLOGD_DEB_VERSION=${CFLOGD_DEB_VERSION:-$(packaging/deb/version.sh)}
export CFLOGD_BUILD="$DIST/build"

rm -rf "$CFLOGD_BUILD"
mkdir -p "$CFLOGD_BUILD"
echo "building cflogd $VERSION (deb $CFLOGD_DEB_VERSION, $GOARCH)" >&2
CGO_ENABLED=1 $GO build -trimpath \
	-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" \
	-o "$CFLOGD_BUILD/cflogd" ./cmd/cflogd
gzip -9 -n -c packaging/man/cflogd.1 >"$CFLOGD_BUILD/cflogd.1.gz"

deb="$DIST/cflogd_${CFLOGD_DEB_VERSION}_${GOARCH}.deb"
rm -f "$deb"
$GO run "$NFPM" pkg --packager deb --config packaging/deb/nfpm.yaml --target "$deb" >&2
echo "$deb"
