// Package alertmanager posts events as alerts to Prometheus Alertmanager's
// v2 API, so Alertmanager does the grouping, silencing, inhibition and
// routing operators already run. An alert is one signature on one host and
// unit: it starts when the problem was first seen and ends a resolve timeout
// after it was last seen, and it is posted again, with a later end, while
// the problem continues.
package alertmanager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// Defaults for the Config fields left zero.
const (
	DefaultResolveTimeout = 5 * time.Minute
	DefaultMaxAlerts      = 100
)

// alertsPath is the v2 API endpoint New appends to a base URL.
const alertsPath = "/api/v2/alerts"

// Config configures an Alertmanager sink: a [[sink]] table of cflogd.toml
// with type = "alertmanager".
type Config struct {
	// Name identifies the sink in logs; default "alertmanager".
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// URL is Alertmanager's base URL, e.g. http://alertmanager:9093, or
	// the full .../api/v2/alerts endpoint.
	URL string `toml:"url" secret:"true" default:"(required)" doc:"Alertmanager's base URL; alerts go to '<url>/api/v2/alerts'."`
	// MinSeverity is the least severe event sent; default warning.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// ResolveTimeout is how long after its last event an alert ends;
	// default 5m.
	ResolveTimeout time.Duration `toml:"resolve_timeout" doc:"How long a problem lasts after its last event: an alert's 'endsAt' is its last event plus this."`
	// GeneratorURL, when set, is every alert's generatorURL.
	GeneratorURL string `toml:"generator_url" doc:"The alerts' 'generatorURL', e.g. a Grafana dashboard."`
	// MaxAlerts bounds the alerts per request; default 100. A 413 halves
	// the request further.
	MaxAlerts int `toml:"max_alerts" doc:"Alerts per request."`
	// HTTP holds authentication, TLS and the request timeout.
	HTTP httpclient.Config `toml:",inline"`
	// Retry is the backoff policy; zero fields take retry.DefaultPolicy.
	// MaxAttempts 0 retries until the context ends.
	Retry retry.Policy `toml:",inline" omit:"max_attempts"`
	// Log receives drops and retries; the zero Logger discards them.
	Log zerolog.Logger `toml:"-"`
}

// Default is the configuration of a [[sink]] table that sets only type and
// url.
var Default = Config{Name: "alertmanager", MinSeverity: record.Warning, ResolveTimeout: DefaultResolveTimeout,
	MaxAlerts: DefaultMaxAlerts, HTTP: httpclient.Config{Timeout: httpclient.DefaultTimeout}, Retry: retry.DefaultPolicy}

// Validate checks the configuration and reports every problem.
func (c Config) Validate() error {
	errs := []error{httpclient.CheckURL(c.URL)}
	if c.GeneratorURL != "" {
		if u, err := url.Parse(c.GeneratorURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("generator_url %q is not an absolute URL", c.GeneratorURL))
		}
	}
	if c.ResolveTimeout < 0 {
		errs = append(errs, fmt.Errorf("negative resolve_timeout %v", c.ResolveTimeout))
	}
	if c.MaxAlerts < 0 {
		errs = append(errs, fmt.Errorf("negative max_alerts %d", c.MaxAlerts))
	}
	return errors.Join(append(errs, c.HTTP.Validate())...)
}

// Sink posts alerts to one Alertmanager. It is safe for concurrent use.
type Sink struct {
	cfg Config
	url string
	*httpclient.Base

	mu     sync.Mutex
	active map[string]span // by alertKey: the alerts posted and not yet ended
}

// span is when a posted alert started and ends.
type span struct{ start, end time.Time }

// New checks cfg and builds a sink.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configure alertmanager sink: %w", err)
	}
	cfg.Name = cmp.Or(cfg.Name, "alertmanager")
	cfg.MinSeverity = cmp.Or(cfg.MinSeverity, record.Warning)
	cfg.ResolveTimeout = cmp.Or(cfg.ResolveTimeout, DefaultResolveTimeout)
	cfg.MaxAlerts = cmp.Or(cfg.MaxAlerts, DefaultMaxAlerts)
	cfg.Retry = cfg.Retry.WithDefaults()
	u, _ := url.Parse(cfg.URL)
	if !strings.HasSuffix(u.Path, alertsPath) {
		u.Path = strings.TrimSuffix(u.Path, "/") + alertsPath
		u.RawPath = ""
	}
	base, err := httpclient.NewBase("alertmanager", cfg.Name, redact.URL(u), cfg.HTTP, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &Sink{Base: base, cfg: cfg, url: u.String(), active: map[string]span{}}, nil
}

// ErrDropped is wrapped by errors for alerts that were given up on.
// It is retry.ErrDropped, the same value in every sink package.
var ErrDropped = retry.ErrDropped

// Alert is a postable alert of Alertmanager's v2 API.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Send posts one alert per signature, severity, host and unit among the
// events at or above MinSeverity and returns nil once Alertmanager accepted
// them all.
func (s *Sink) Send(ctx context.Context, events []record.Event) error {
	alerts := s.Alerts(events)
	var errs []error
	for len(alerts) > 0 {
		n := min(len(alerts), s.cfg.MaxAlerts)
		if err := s.post(ctx, alerts[:n]); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
		alerts = alerts[n:]
	}
	return errors.Join(errs...)
}

// Alerts turns events into alerts, in the order their label sets first
// appear: labels alertname (the signature), severity, host and unit;
// annotations summary, description (the line) and runbook_url of the latest
// event; startsAt the first time the problem was seen (kept across calls
// while the alert is active), endsAt the last time plus ResolveTimeout.
func (s *Sink) Alerts(events []record.Event) []Alert {
	type group struct {
		labels      map[string]string
		first, last record.Event
	}
	var groups []*group
	index := map[string]*group{}
	for _, ev := range events {
		if ev.Severity < s.cfg.MinSeverity {
			continue
		}
		labels := map[string]string{
			"alertname": valid(ev.Signature),
			"severity":  ev.Severity.String(),
			"host":      valid(ev.Host),
			"unit":      valid(ev.Unit),
		}
		for k, v := range labels {
			if v == "" {
				delete(labels, k)
			}
		}
		k := key(labels)
		g, ok := index[k]
		if !ok {
			g = &group{labels: labels, first: ev, last: ev}
			index[k] = g
			groups = append(groups, g)
			continue
		}
		if ev.Time.Before(g.first.Time.Time) {
			g.first = ev
		}
		if !ev.Time.Before(g.last.Time.Time) {
			g.last = ev
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, sp := range s.active {
		if sp.end.Before(now) {
			delete(s.active, k)
		}
	}
	out := make([]Alert, 0, len(groups))
	for _, g := range groups {
		k := key(g.labels)
		sp := span{start: g.first.Time.Time, end: g.last.Time.Add(s.cfg.ResolveTimeout)}
		if prev, ok := s.active[k]; ok && !prev.end.Before(sp.start) {
			// The same problem, still going on: keep its start.
			if prev.start.Before(sp.start) {
				sp.start = prev.start
			}
			if prev.end.After(sp.end) {
				sp.end = prev.end
			}
		}
		s.active[k] = sp
		ann := map[string]string{
			"summary":     defang(valid(g.last.Summary)),
			"description": defang(valid(g.last.Message)),
			"runbook_url": g.last.Runbook,
		}
		for k, v := range ann {
			if v == "" {
				delete(ann, k)
			}
		}
		out = append(out, Alert{Labels: g.labels, Annotations: ann, StartsAt: sp.start.UTC(), EndsAt: sp.end.UTC(), GeneratorURL: s.cfg.GeneratorURL})
	}
	return out
}

// post sends alerts with retries; a 413 halves them.
func (s *Sink) post(ctx context.Context, alerts []Alert) error {
	return httpclient.PostSplitting(ctx, s.Base, s.cfg.Retry, s.url, "alerts", "drop alerts Alertmanager rejected", alerts, func(as []Alert) any { return as }, nil)
}

// key identifies a label set.
func key(labels map[string]string) string {
	return labels["alertname"] + "\x00" + labels["severity"] + "\x00" + labels["host"] + "\x00" + labels["unit"]
}

// valid replaces invalid UTF-8, which Alertmanager rejects.
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// wordJoiner is U+2060: invisible where an annotation is shown, but it
// stops chat receivers from reading what follows as markup.
const wordJoiner = "\u2060"

// defang keeps text that came from a log line from becoming a mention or a
// link in whatever receiver Alertmanager routes to: Slack's <!channel>,
// <@U123> and <https://x|y>, @here and @channel, and markdown's [text](url)
// all have a word joiner put into them, so a person still reads the line
// as it was logged.
func defang(s string) string {
	if !strings.ContainsAny(s, "<@]") {
		return s
	}
	return annotationReplacer.Replace(s)
}

var annotationReplacer = strings.NewReplacer("<", "<"+wordJoiner, "@", "@"+wordJoiner, "](", "]"+wordJoiner+"(")
