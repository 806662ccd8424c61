#!/usr/bin/env bash
# Builds the real protocol peers the sink tests talk to, from the Go module
# proxy, into $(go env GOPATH)/bin: VictoriaLogs (speaks Loki's push API) and
# Prometheus Alertmanager. Skips a peer already built at that version.
set -euo pipefail
bin="$(go env GOPATH)/bin"
have() { go version -m "$bin/$1" 2>/dev/null | grep -q "mod[[:space:]]$2[[:space:]]$3"; }
if ! have victoria-logs github.com/VictoriaMetrics/VictoriaLogs v1.52.1; then
	echo "building victoria-logs v1.52.1 (about a minute)" >&2
	go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1
fi
if ! have alertmanager github.com/prometheus/alertmanager v0.28.1; then
	echo "building alertmanager v0.28.1" >&2
	go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1
fi
