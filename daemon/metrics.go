package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/centra-cloud/cflogd/sink/retry"
)

// metrics are the daemon's Prometheus metrics, in their own registry.
type metrics struct {
	reg *prometheus.Registry

	linesRead     *prometheus.CounterVec
	events        *prometheus.CounterVec
	delivery      prometheus.Histogram
	gaps          prometheus.Counter
	lost          prometheus.Counter
	reloadOK      prometheus.Gauge
	reloadTime    prometheus.Gauge
	signatures    prometheus.Gauge
	checkpoints   prometheus.Counter
	checkpointErr prometheus.Counter
	checkpointAt  prometheus.Gauge
	notifications *prometheus.CounterVec
	sinkDead      *prometheus.GaugeVec
}

func newMetrics(version string) *metrics {
	reg := prometheus.NewRegistry()
	f := promauto.With(reg)
	counter := func(name, help string) prometheus.Counter {
		return f.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m := &metrics{
		reg: reg,
		linesRead: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cflogd_journal_lines_read_total",
			Help: "Journal entries read, by unit (cflogd's own entries included, though never classified).",
		}, []string{"unit"}),
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cflogd_events_total",
			Help: "Classified events, by signature and severity.",
		}, []string{"signature", "severity"}),
		delivery: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "cflogd_event_delivery_seconds",
			Help:    "Time from an event's journal timestamp until every durable sink accepted it.",
			Buckets: []float64{0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 5, 10, 30, 60, 300, 3600},
		}),
		gaps:          counter("cflogd_journal_gaps_total", "Times the saved cursor's entry was rotated away before it could be read past."),
		lost:          counter("cflogd_journal_entries_lost_total", "Journal entries (of every unit) rotated away unread, where the journal can tell."),
		reloadOK:      gauge("cflogd_patterns_last_reload_successful", "Whether the last load of the pattern files succeeded (1) or kept the previous set (0)."),
		reloadTime:    gauge("cflogd_patterns_last_reload_success_timestamp_seconds", "When the pattern files were last loaded successfully."),
		signatures:    gauge("cflogd_patterns_signatures", "Signatures in the library in use."),
		checkpoints:   counter("cflogd_checkpoints_total", "Cursor checkpoints written."),
		checkpointErr: counter("cflogd_checkpoint_errors_total", "Checkpoints that could not be written."),
		checkpointAt:  gauge("cflogd_checkpoint_timestamp_seconds", "When the cursor was last saved."),
		notifications: f.NewCounterVec(prometheus.CounterOpts{
			Name: "cflogd_notifications_total",
			Help: "Grouped notifications posted, by sink and result (sent, failed).",
		}, []string{"sink", "result"}),
		sinkDead: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cflogd_sink_dead",
			Help: "1 while a notification webhook is reported dead (404, 410, 403, no_service): a person must configure a new URL.",
		}, []string{"sink"}),
	}
	f.NewGauge(prometheus.GaugeOpts{
		Name:        "cflogd_build_info",
		Help:        "cflogd's version.",
		ConstLabels: prometheus.Labels{"version": version},
	}).Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// gauge registers a gauge computed at scrape time.
func (m *metrics) gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// sinkStats exports a sink's delivery counters.
type sinkStats struct {
	name, typ string
	stats     func() retry.Counts
}

var (
	sentDesc    = prometheus.NewDesc("cflogd_sink_sent_total", "Items (Loki entries, alerts, messages, events) a sink's receiver accepted.", []string{"sink", "type"}, nil)
	failedDesc  = prometheus.NewDesc("cflogd_sink_failed_total", "Requests of a sink that failed, retried or not.", []string{"sink", "type"}, nil)
	retriedDesc = prometheus.NewDesc("cflogd_sink_retried_total", "Requests of a sink that were tried again.", []string{"sink", "type"}, nil)
	droppedDesc = prometheus.NewDesc("cflogd_sink_dropped_total", "Items a sink gave up on: rejected for good, too large, or out of attempts.", []string{"sink", "type"}, nil)
)

// sinkCollector reads every sink's Stats at scrape time.
type sinkCollector []sinkStats

func (c sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sentDesc
	ch <- failedDesc
	ch <- retriedDesc
	ch <- droppedDesc
}

func (c sinkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c {
		n := s.stats()
		ch <- prometheus.MustNewConstMetric(sentDesc, prometheus.CounterValue, float64(n.Sent), s.name, s.typ)
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(n.Failed), s.name, s.typ)
		ch <- prometheus.MustNewConstMetric(retriedDesc, prometheus.CounterValue, float64(n.Retried), s.name, s.typ)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(n.Dropped), s.name, s.typ)
	}
}
