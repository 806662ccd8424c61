// Package slack posts notifications to a Slack incoming webhook: one
// message per host and signature with a fallback text and blocks (summary,
// host, unit, severity, count, a sample line, fields and a runbook button).
// Everything that came from a log line is escaped, so a line can neither
// ping <!channel> nor plant a link.
package slack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// Config configures a Slack sink: a [[sink]] table of cflogd.toml with
// type = "slack".
type Config struct {
	// Name identifies the sink in logs; default "slack".
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// URL is the incoming webhook URL. Its path is the secret; it is
	// redacted wherever it is shown.
	URL redact.Secret `toml:"url" default:"(required)" doc:"The incoming webhook's URL; its path is a secret, so it belongs in 'url_file'."`
	// MinSeverity is the least severe event sent; default warning.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// Grouping is applied by the daemon's notifier.
	Grouping sink.Grouping `toml:",inline"`
	// HTTP holds the request timeout, TLS and extra headers.
	HTTP httpclient.Config `toml:",inline"`
	// Retry is the backoff policy; zero fields take retry.DefaultPolicy,
	// and MaxAttempts 0 means 10 here: a notification late by hours helps
	// nobody.
	Retry retry.Policy `toml:",inline"`
	// Log receives drops and retries; the zero Logger discards them.
	Log zerolog.Logger `toml:"-"`
}

// Default is the configuration of a [[sink]] table that sets only type and
// url.
var Default = Config{Name: "slack", MinSeverity: record.Warning, Grouping: sink.DefaultGrouping,
	HTTP: httpclient.Config{Timeout: httpclient.DefaultTimeout}, Retry: retry.Policy{Min: retry.DefaultPolicy.Min, Max: retry.DefaultPolicy.Max, MaxAttempts: DefaultMaxAttempts}}

// DefaultMaxAttempts is the Slack sink's MaxAttempts when Retry leaves it 0.
const DefaultMaxAttempts = 10

// Validate checks the configuration and reports every problem.
func (c Config) Validate() error {
	return errors.Join(httpclient.CheckURL(string(c.URL)), c.Grouping.Validate(), c.HTTP.Validate())
}

// ErrDeadWebhook says Slack no longer knows the webhook (404, 410, 403, or
// an error body such as no_service, invalid_token or channel_not_found):
// retrying cannot help, a person must configure a new URL.
var ErrDeadWebhook = errors.New("slack webhook is dead")

// ErrDropped is wrapped by errors for messages that were given up on.
// It is retry.ErrDropped, the same value in every sink package.
var ErrDropped = retry.ErrDropped

// deadBodies are Slack's error bodies that mean the webhook is gone.
var deadBodies = []string{"no_service", "invalid_token", "channel_not_found", "channel_is_archived", "team_disabled", "no_team", "action_prohibited"}

// Sink posts to one Slack webhook. It is safe for concurrent use.
type Sink struct {
	cfg Config
	*httpclient.Base
	dead atomic.Bool // the webhook was reported dead and has not worked since
}

// New checks cfg and builds a sink.
func New(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configure slack sink: %w", err)
	}
	cfg.Name = cmp.Or(cfg.Name, "slack")
	cfg.MinSeverity = cmp.Or(cfg.MinSeverity, record.Warning)
	cfg.Retry.MaxAttempts = cmp.Or(cfg.Retry.MaxAttempts, DefaultMaxAttempts)
	cfg.Retry = cfg.Retry.WithDefaults()
	base, err := httpclient.NewBase("slack", cfg.Name, redact.String(string(cfg.URL)), cfg.HTTP, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &Sink{Base: base, cfg: cfg}, nil
}

// Send posts one message per host and signature for the events at or above
// MinSeverity, in the order the groups first appear; the daemon's
// notification grouping decides what one call holds. It returns nil once
// every message was accepted, an error wrapping ErrDeadWebhook (and
// ErrDropped) as soon as Slack says the webhook is gone, or an error
// wrapping ErrDropped for other rejected messages.
func (s *Sink) Send(ctx context.Context, events []record.Event) error {
	var errs []error
	for _, g := range group(events, s.cfg.MinSeverity) {
		err := s.post(ctx, Render(g))
		if err == nil {
			continue
		}
		if ctx.Err() != nil || errors.Is(err, ErrDeadWebhook) {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// group splits events at or above min by host and signature.
func group(events []record.Event, min record.Severity) [][]record.Event {
	var out [][]record.Event
	index := map[[2]string]int{}
	for _, ev := range events {
		if ev.Severity < min {
			continue
		}
		k := [2]string{ev.Host, ev.Signature}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], ev)
	}
	return out
}

func (s *Sink) post(ctx context.Context, m Message) error {
	body, err := httpclient.JSON(m)
	if err != nil {
		s.Counts.AddDropped(1)
		return fmt.Errorf("%w: encode message: %w", ErrDropped, err)
	}
	err = s.Client.PostRetry(ctx, s.cfg.Retry, &s.Counts, &s.Log, httpclient.Request{
		URL:         string(s.cfg.URL),
		ContentType: "application/json",
		Body:        body,
	})
	if err == nil {
		s.Counts.AddSent(1)
		if s.dead.Swap(false) {
			s.Log.Info().Msg("slack webhook works again")
		}
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	s.Counts.AddDropped(1)
	if isDead(err) {
		if !s.dead.Swap(true) {
			s.Log.Error().Err(err).Str("url", s.Safe).Msg("slack webhook is dead: configure a new one; notifications to it are lost until then")
		}
		return fmt.Errorf("%w: %w: post to %s: %w", ErrDeadWebhook, ErrDropped, s.Safe, err)
	}
	s.Log.Error().Err(err).Msg("drop slack message")
	return fmt.Errorf("%w: post to %s: %w", ErrDropped, s.Safe, err)
}

// isDead reports whether err says the webhook is gone for good.
func isDead(err error) bool {
	var se *retry.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		return true
	}
	if se.Code/100 == 4 && se.Code != http.StatusTooManyRequests {
		return slices.Contains(deadBodies, strings.TrimSpace(se.Body))
	}
	return false
}

// Message is an incoming-webhook payload.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a Block Kit layout block.
type Block struct {
	Type     string    `json:"type"`
	Text     *Text     `json:"text,omitempty"`
	Fields   []Text    `json:"fields,omitempty"`
	Elements []Element `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// Element is a Block Kit element: a button or, in a context block, text.
type Element struct {
	Type     string `json:"type"`
	Text     any    `json:"text"`
	URL      string `json:"url,omitempty"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// Slack's limits, with room for the markup around the text.
const (
	maxSection = 2900 // a section's text is at most 3000 characters
	maxField   = 1900 // a field at most 2000
	maxText    = 3000 // the fallback text; Slack truncates beyond 40000
	maxURL     = 3000 // a button URL
)

// Render builds the message of one group of events with the same host and
// signature: the latest event's summary, line and fields, and the group's
// count. Event text is escaped and marked verbatim, so Slack neither
// resolves mentions nor links in it.
func Render(group []record.Event) Message { return RenderCount(group, len(group)) }

// Notify posts one message for a notification group: group holds some of
// its events (the latest is shown) and count how many there were since the
// last message. Errors are as Send's.
func (s *Sink) Notify(ctx context.Context, group []record.Event, count int) error {
	if len(group) == 0 {
		return nil
	}
	return s.post(ctx, RenderCount(group, count))
}

// RenderCount is Render for a group of which only some events are at hand:
// count is the number of events it stands for.
func RenderCount(group []record.Event, count int) Message {
	last := group[0]
	for _, ev := range group[1:] {
		if !ev.Time.Before(last.Time.Time) {
			last = ev
		}
	}
	worst := last.Severity
	for _, ev := range group {
		worst = max(worst, ev.Severity)
	}
	count = max(count, 1)
	sev := strings.ToUpper(worst.String())
	since := "event"
	if count != 1 {
		since = "events"
	}

	text := escape(fmt.Sprintf("[%s] %s on %s (%s): %s — %d %s since the last message",
		sev, last.Signature, last.Host, last.Unit, last.Summary, count, since), maxText)

	head := fmt.Sprintf("%s *%s* `%s`\n%s", icon(worst), sev, escape(last.Signature, 200), escape(last.Summary, maxSection-300))
	m := Message{Text: text, Blocks: []Block{
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: head, Verbatim: true}},
		{Type: "section", Fields: []Text{
			{Type: "mrkdwn", Text: "*Host*\n" + escape(last.Host, maxField), Verbatim: true},
			{Type: "mrkdwn", Text: "*Unit*\n" + escape(last.Unit, maxField), Verbatim: true},
			{Type: "mrkdwn", Text: "*Severity*\n" + worst.String(), Verbatim: true},
			{Type: "mrkdwn", Text: fmt.Sprintf("*Count*\n%d %s since the last message", count, since), Verbatim: true},
		}},
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: "```" + escape(codeSafe(last.Message), maxSection) + "```", Verbatim: true}},
	}}
	if f := fields(last.Fields); f != "" {
		m.Blocks = append(m.Blocks, Block{Type: "context", Elements: []Element{{Type: "mrkdwn", Text: escape(f, maxField), Verbatim: true}}})
	}
	if u, err := url.Parse(last.Runbook); err == nil && (u.Scheme == "https" || u.Scheme == "http") && len(last.Runbook) <= maxURL {
		m.Blocks = append(m.Blocks, Block{Type: "actions", Elements: []Element{{
			Type: "button",
			Text: Text{Type: "plain_text", Text: "Runbook"},
			URL:  last.Runbook,
		}}})
	}
	return m
}

func icon(s record.Severity) string {
	switch {
	case s >= record.Critical:
		return ":rotating_light:"
	case s >= record.Error:
		return ":red_circle:"
	case s >= record.Warning:
		return ":warning:"
	}
	return ":information_source:"
}

// fields renders an event's fields as "k=v" pairs in name order.
func fields(f map[string]any) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(f)) {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s=%v", k, f[k])
	}
	return b.String()
}

// codeSafe keeps a line inside its code block: a backtick in the line
// would end the block, so it becomes a look-alike (U+02CB).
func codeSafe(s string) string { return strings.ReplaceAll(s, "`", "ˋ") }

// escape replaces &, < and > with Slack's entities, as Slack requires of
// text that must not become mentions or links, and cuts the result to at
// most limit bytes without splitting an entity or a character, marking a
// cut with "…".
func escape(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	full := entities.Replace(s)
	if len(full) <= limit {
		return full
	}
	var b strings.Builder
	for i, r := range s {
		piece := entities.Replace(s[i : i+utf8.RuneLen(r)])
		if b.Len()+len(piece) > limit-len("…") {
			break
		}
		b.WriteString(piece)
	}
	b.WriteString("…")
	return b.String()
}

var entities = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
