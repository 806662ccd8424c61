// Package daemon is cflogd run: it follows the journal from the saved
// cursor, classifies each entry, routes the events to the configured sinks,
// groups notifications, and saves the cursor once every durable sink
// (Loki, Alertmanager) accepted everything up to it. It also serves the
// Prometheus metrics and health endpoints and talks to systemd.
package daemon
