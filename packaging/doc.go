// Package packaging holds no code: it is the home of the files that install
// and operate cflogd (the systemd unit, the Debian package, the NixOS module,
// the Loki, Prometheus and Grafana files), and its tests check them against
// the code they describe.
package packaging
