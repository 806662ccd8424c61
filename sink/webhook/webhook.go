// Package webhook delivers events to a generic HTTP endpoint: a POST of
// {"version":"1","host":…,"events":[…]} with the events as product.md
// defines them, optionally signed with an HMAC-SHA256 of the body in the
// X-Cflogd-Signature header.
package webhook

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body,
// keyed with Config.Secret.
const SignatureHeader = "X-Cflogd-Signature"

// DefaultMaxEvents is the most events in one request when Config.MaxEvents is 0.
const DefaultMaxEvents = 100

// DefaultMaxAttempts is Default's Retry.MaxAttempts.
const DefaultMaxAttempts = 10

// Config configures a webhook sink: a [[sink]] table of cflogd.toml with
// type = "webhook".
type Config struct {
	// Name identifies the sink in logs; default "webhook".
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// URL is the endpoint. It may hold a token; it is redacted wherever it
	// is shown.
	URL redact.Secret `toml:"url" default:"(required)" doc:"The endpoint. A URL with a token belongs in 'url_file'."`
	// MinSeverity is the least severe event sent; default warning.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// Host is the body's "host"; empty means the host of the events.
	Host string `toml:"host" default:"the events' host" doc:"The 'host' of the webhook body."`
	// Secret, when set, keys the HMAC-SHA256 signature header.
	Secret redact.Secret `toml:"secret" doc:"Key of the 'X-Cflogd-Signature: sha256=<hex HMAC-SHA256 of the body>' header; none sends no signature."`
	// MaxEvents bounds the events per request; default 100. A 413 halves
	// the request further.
	MaxEvents int `toml:"max_events" doc:"Events per request."`
	// Grouping is applied by the daemon's notifier.
	Grouping sink.Grouping `toml:",inline"`
	// HTTP holds authentication, extra headers, TLS and the request timeout.
	HTTP httpclient.Config `toml:",inline"`
	// Retry is the backoff policy; zero fields take retry.DefaultPolicy.
	Retry retry.Policy `toml:",inline"`
	// Log receives drops and retries; the zero Logger discards them.
	Log zerolog.Logger `toml:"-"`
}

// Default is the configuration of a [[sink]] table that sets only type and
// url.
var Default = Config{Name: "webhook", MinSeverity: record.Warning, MaxEvents: DefaultMaxEvents, Grouping: sink.DefaultGrouping,
	HTTP: httpclient.Config{Timeout: httpclient.DefaultTimeout}, Retry: retry.Policy{Min: retry.DefaultPolicy.Min, Max: retry.DefaultPolicy.Max, MaxAttempts: DefaultMaxAttempts}}

// Validate checks the configuration and reports every problem.
func (c Config) Validate() error {
	errs := []error{httpclient.CheckURL(string(c.URL))}
	if c.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("negative max_events %d", c.MaxEvents))
	}
	return errors.Join(append(errs, c.Grouping.Validate(), c.HTTP.Validate())...)
}

// Sink posts events to a webhook. It is safe for concurrent use.
type Sink struct {
	cfg Config
	*httpclient.Base
}

// New checks cfg and builds a sink.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configure webhook sink: %w", err)
	}
	cfg.Name = cmp.Or(cfg.Name, "webhook")
	cfg.MinSeverity = cmp.Or(cfg.MinSeverity, record.Warning)
	cfg.MaxEvents = cmp.Or(cfg.MaxEvents, DefaultMaxEvents)
	cfg.Retry = cfg.Retry.WithDefaults()
	base, err := httpclient.NewBase("webhook", cfg.Name, redact.String(string(cfg.URL)), cfg.HTTP, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &Sink{Base: base, cfg: cfg}, nil
}

// ErrDropped is wrapped by errors for events that were given up on: the
// endpoint rejected them with a 4xx other than 429, one event alone was too
// large, or the attempts ran out.
// It is retry.ErrDropped, the same value in every sink package.
var ErrDropped = retry.ErrDropped

// Body is the JSON the webhook receives.
type Body struct {
	Version string         `json:"version"`
	Host    string         `json:"host"`
	Events  []record.Event `json:"events"`
}

// Send posts the events at or above MinSeverity, one request per host and
// at most MaxEvents each, and returns nil once all were accepted.
func (s *Sink) Send(ctx context.Context, events []record.Event) error {
	var errs []error
	for _, g := range s.groups(events) {
		for len(g.Events) > 0 {
			n := min(len(g.Events), s.cfg.MaxEvents)
			if err := s.post(ctx, Body{Version: "1", Host: g.Host, Events: g.Events[:n]}); err != nil {
				if ctx.Err() != nil {
					return err
				}
				errs = append(errs, err)
			}
			g.Events = g.Events[n:]
		}
	}
	return errors.Join(errs...)
}

// groups filters events by severity and groups them by host (Config.Host
// when set), in the order hosts first appear.
func (s *Sink) groups(events []record.Event) []Body {
	var out []Body
	index := map[string]int{}
	for _, ev := range events {
		if ev.Severity < s.cfg.MinSeverity {
			continue
		}
		host := cmp.Or(s.cfg.Host, ev.Host)
		i, ok := index[host]
		if !ok {
			i = len(out)
			index[host] = i
			out = append(out, Body{Version: "1", Host: host})
		}
		out[i].Events = append(out[i].Events, ev)
	}
	return out
}

// post sends one body with retries; a 413 halves it.
func (s *Sink) post(ctx context.Context, b Body) error {
	wrap := func(events []record.Event) any { return Body{Version: b.Version, Host: b.Host, Events: events} }
	header := func(body []byte) http.Header {
		h := http.Header{}
		if s.cfg.Secret != "" {
			h.Set(SignatureHeader, Sign([]byte(s.cfg.Secret), body))
		}
		return h
	}
	return httpclient.PostSplitting(ctx, s.Base, s.cfg.Retry, string(s.cfg.URL), "events", "drop events the webhook rejected", b.Events, wrap, header)
}

// Sign returns the signature header value of body: "sha256=" and the hex
// HMAC-SHA256 keyed with key. Receivers compare it with hmac.Equal.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
