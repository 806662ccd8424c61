package daemon

import (
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The HTTP side of the daemon: /metrics, /healthz, /readyz and what they
// report.

// Handler serves /metrics, /healthz and /readyz.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if d.healthy() {
			io.WriteString(w, "ok\n")
			return
		}
		http.Error(w, "reader loop stalled", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case d.stopping.Load():
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case d.accessProblem() != "":
			// Blind (not started), or blind to some files.
			http.Error(w, "journal unreadable: "+d.accessProblem(), http.StatusServiceUnavailable)
		case !d.ready.Load():
			http.Error(w, "starting: journal not open yet", http.StatusServiceUnavailable)
		default:
			io.WriteString(w, "ready\n")
		}
	})
	return mux
}

// stallAfter is how long the reader loop may be silent before /healthz
// fails and the watchdog stops being fed.
const stallAfter = 30 * time.Second

// healthy reports whether the reader loop is alive: it beat recently, or
// it waits for the durable sinks on purpose.
func (d *Daemon) healthy() bool {
	if !d.ready.Load() {
		return true // starting
	}
	last := time.Unix(0, d.lastBeat.Load())
	return time.Since(last) < stallAfter || d.tracker.blocked()
}

func (d *Daemon) lag() float64 {
	if d.atEnd.Load() {
		return 0
	}
	n := d.newest.Load()
	if n == 0 {
		return 0
	}
	return max(time.Since(time.UnixMicro(n)).Seconds(), 0)
}

func (d *Daemon) cursorAge() float64 {
	if t := d.tracker.oldestRead(); !t.IsZero() {
		return time.Since(t).Seconds()
	}
	return 0
}
