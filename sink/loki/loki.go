// Package loki delivers events to Grafana Loki: protobuf PushRequests,
// snappy-compressed, POSTed to /loki/api/v1/push. Each event becomes one
// entry whose line is the event JSON, in a stream labelled job="cflogd",
// host, unit, severity and signature. A Batcher collects entries up to a size
// or a wait and acknowledges each Add once all its entries were accepted (or
// dropped for good), so the daemon can checkpoint behind it.
package loki

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// Defaults of the batch limits.
const (
	DefaultBatchSize = 1 << 20
	DefaultBatchWait = time.Second
)

// Config configures a Loki sink: a [[sink]] table of cflogd.toml with
// type = "loki".
type Config struct {
	// Name identifies the sink in logs; default "loki".
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// URL is the push endpoint, e.g. https://loki:3100/loki/api/v1/push.
	URL string `toml:"url" secret:"true" default:"(required)" doc:"Loki's push URL, e.g. 'https://loki:3100/loki/api/v1/push'. A URL with a token belongs in 'url_file'."`
	// MinSeverity is the least severe event sent; default info.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// Tenant is sent as X-Scope-OrgID when not empty.
	Tenant string `toml:"tenant" doc:"Sent as 'X-Scope-OrgID'; empty sends none."`
	// Labels are static labels added to every stream, e.g. cluster="prod".
	// They cannot replace the event labels.
	Labels map[string]string `toml:"labels" doc:"Static stream labels added to 'job=\"cflogd\"', 'host', 'unit', 'severity' and 'signature', e.g. '{ cluster = \"prod\" }'."`
	// HTTP holds authentication, TLS and the request timeout.
	HTTP httpclient.Config `toml:",inline"`
	// BatchSize flushes a batch once its lines reach this many bytes;
	// default 1 MiB.
	BatchSize int `toml:"batch_size" type:"size" doc:"Push when the batch's lines reach this size."`
	// BatchWait flushes a batch this long after its first entry; default 1s.
	BatchWait time.Duration `toml:"batch_wait" doc:"Push at the latest this long after the batch's first event."`
	// Retry is the backoff policy; zero fields take retry.DefaultPolicy.
	// MaxAttempts 0 retries until the context ends: back-pressure, not loss.
	Retry retry.Policy `toml:",inline" omit:"max_attempts"`
	// Log receives drops and retries; the zero Logger discards them.
	Log zerolog.Logger `toml:"-"`
}

// Default is the configuration of a [[sink]] table that sets only type and
// url.
var Default = Config{Name: "loki", MinSeverity: record.Info, HTTP: httpclient.Config{Timeout: httpclient.DefaultTimeout},
	BatchSize: DefaultBatchSize, BatchWait: DefaultBatchWait, Retry: retry.DefaultPolicy}

// labelName is what Loki accepts as a label name.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// eventLabels are the labels the sink sets from each event.
var eventLabels = []string{"job", "host", "unit", "severity", "signature"}

// Validate checks the configuration and reports every problem.
func (c Config) Validate() error {
	errs := []error{httpclient.CheckURL(c.URL)}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("negative batch_size %d", c.BatchSize))
	}
	if c.BatchWait < 0 {
		errs = append(errs, fmt.Errorf("negative batch_wait %v", c.BatchWait))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		if !labelName.MatchString(k) {
			errs = append(errs, fmt.Errorf("label name %q is not valid", k))
		}
		if slices.Contains(eventLabels, k) {
			errs = append(errs, fmt.Errorf("label %q is set from each event and cannot be static", k))
		}
	}
	return errors.Join(append(errs, c.HTTP.Validate())...)
}

// Sink pushes events to Loki. Send and a Batcher may be used together; all
// methods are safe for concurrent use.
type Sink struct {
	cfg Config
	url string
	*httpclient.Base
	static [][2]string // cfg.Labels as name, value pairs
	header http.Header // X-Scope-OrgID
}

// New checks cfg and builds a sink.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configure loki sink: %w", err)
	}
	cfg.Name = cmp.Or(cfg.Name, "loki")
	cfg.MinSeverity = cmp.Or(cfg.MinSeverity, record.Info)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.BatchWait = cmp.Or(cfg.BatchWait, DefaultBatchWait)
	cfg.Retry = cfg.Retry.WithDefaults()
	base, err := httpclient.NewBase("loki", cfg.Name, redact.String(cfg.URL), cfg.HTTP, cfg.Log)
	if err != nil {
		return nil, err
	}
	var static [][2]string
	for _, k := range slices.Sorted(maps.Keys(cfg.Labels)) {
		static = append(static, [2]string{k, cfg.Labels[k]})
	}
	header := http.Header{}
	if cfg.Tenant != "" {
		header.Set("X-Scope-OrgID", cfg.Tenant)
	}
	return &Sink{
		Base:   base,
		cfg:    cfg,
		url:    cfg.URL,
		static: static,
		header: header,
	}, nil
}

// ErrDropped is wrapped by errors for entries that were given up on: Loki
// rejected them with a 4xx other than 429, an entry alone was too large,
// or the attempts ran out.
// It is retry.ErrDropped, the same value in every sink package.
var ErrDropped = retry.ErrDropped

// Send pushes events in batches of at most BatchSize and returns once all
// were accepted (nil), or after some were dropped (an error wrapping
// ErrDropped), or when ctx ends.
func (s *Sink) Send(ctx context.Context, events []record.Event) error {
	entries, _, err := s.entries(events, nil)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for len(entries) > 0 {
		n, size := 0, 0
		for n < len(entries) && (n == 0 || size+entries[n].size <= s.cfg.BatchSize) {
			size += entries[n].size
			n++
		}
		if err := s.push(ctx, entries[:n]); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
		entries = entries[n:]
	}
	return errors.Join(errs...)
}

// entry is one event ready for a stream.
type entry struct {
	labels string
	ts     time.Time
	line   string
	size   int
	owner  *pending // the Batcher Add it came from, or nil
}

// entries turns the events at or above MinSeverity into entries; it
// returns how many were below it. An event that cannot be encoded is
// dropped and reported.
func (s *Sink) entries(events []record.Event, owner *pending) ([]entry, int, error) {
	out := make([]entry, 0, len(events))
	skipped := 0
	var errs []error
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range events {
		ev := &events[i]
		if ev.Severity < s.cfg.MinSeverity {
			skipped++
			continue
		}
		buf.Reset()
		if err := enc.Encode(ev); err != nil {
			s.Counts.AddDropped(1)
			if owner != nil {
				owner.dropped++
			}
			s.Log.Error().Str("signature", ev.Signature).Err(err).Msg("drop event that does not encode as JSON")
			errs = append(errs, fmt.Errorf("%w: encode event %s: %w", ErrDropped, ev.Signature, err))
			continue
		}
		line := strings.TrimSuffix(buf.String(), "\n")
		out = append(out, entry{
			labels: s.labels(ev),
			ts:     ev.Time.Time,
			line:   line,
			size:   len(line) + 16,
			owner:  owner,
		})
	}
	return out, skipped, errors.Join(errs...)
}

// labels renders an event's stream labels, sorted by name, in the form
// Loki parses: {host="node01", job="cflogd", ...}. Values come only from
// the event's Host, Unit, Severity and Signature and the static labels;
// empty ones are left out.
func (s *Sink) labels(ev *record.Event) string {
	pairs := append(s.static[:len(s.static):len(s.static)],
		[2]string{"host", ev.Host},
		[2]string{"job", "cflogd"},
		[2]string{"severity", ev.Severity.String()},
		[2]string{"signature", ev.Signature},
		[2]string{"unit", ev.Unit},
	)
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var b strings.Builder
	b.WriteByte('{')
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteString(", ")
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(quote(p[1]))
	}
	b.WriteByte('}')
	return b.String()
}

// quote quotes a label value as a Go string literal, which Loki and
// VictoriaLogs unquote, after replacing invalid UTF-8.
func quote(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return strconv.Quote(v)
}

// encode builds the snappy-compressed PushRequest of entries: one stream per
// label set, streams in label order, entries in time order (stable, so
// entries with one timestamp keep their order).
func encode(entries []entry) ([]byte, error) {
	byLabels := map[string]int{}
	var streams []push.Stream
	for _, e := range entries {
		i, ok := byLabels[e.labels]
		if !ok {
			i = len(streams)
			byLabels[e.labels] = i
			streams = append(streams, push.Stream{Labels: e.labels})
		}
		streams[i].Entries = append(streams[i].Entries, push.Entry{Timestamp: e.ts, Line: e.line})
	}
	slices.SortFunc(streams, func(a, b push.Stream) int { return strings.Compare(a.Labels, b.Labels) })
	for i := range streams {
		slices.SortStableFunc(streams[i].Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
	}
	req := push.PushRequest{Streams: streams}
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal push request: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

// push delivers entries, retrying per the policy. A 413 splits them in
// halves; one entry still too large is dropped. Other permanent failures
// drop all of them. Accepted and dropped entries are counted in the stats
// and in their owners. When ctx ends, push returns its error and counts
// nothing as dropped.
func (s *Sink) push(ctx context.Context, entries []entry) error {
	body, err := encode(entries)
	if err != nil {
		s.drop(entries, err, "drop entries that do not encode")
		return fmt.Errorf("%w: %w", ErrDropped, err)
	}
	err = s.Client.PostRetry(ctx, s.cfg.Retry, &s.Counts, &s.Log, httpclient.Request{
		URL:         s.url,
		ContentType: "application/x-protobuf",
		Header:      s.header,
		Body:        body,
	})
	if err == nil {
		s.Counts.AddSent(len(entries))
		for _, e := range entries {
			if e.owner != nil {
				e.owner.sent++
			}
		}
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	var se *retry.StatusError
	if errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge {
		if len(entries) == 1 {
			s.drop(entries, err, "drop entry too large for Loki")
			return fmt.Errorf("%w: push 1 entry of %d bytes to %s: %w", ErrDropped, len(entries[0].line), s.Safe, err)
		}
		s.Log.Info().Int("entries", len(entries)).Msg("batch too large, splitting it")
		half := len(entries) / 2
		err1 := s.push(ctx, entries[:half])
		if err1 != nil && ctx.Err() != nil {
			return err1
		}
		return errors.Join(err1, s.push(ctx, entries[half:]))
	}
	msg := "drop entries Loki rejected"
	if se != nil && se.Code == http.StatusBadRequest {
		msg = "drop entries Loki rejected (it may have accepted part of the batch)"
	}
	s.drop(entries, err, msg)
	return fmt.Errorf("%w: push %d entries to %s: %w", ErrDropped, len(entries), s.Safe, err)
}

// drop counts and logs entries given up on.
func (s *Sink) drop(entries []entry, err error, msg string) {
	s.Counts.AddDropped(len(entries))
	for _, e := range entries {
		if e.owner != nil {
			e.owner.dropped++
		}
	}
	s.Log.Error().Err(err).Int("entries", len(entries)).Msg(msg)
}
