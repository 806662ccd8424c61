package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/retry"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

// durable is a sink the cursor waits for. add hands it one batch's events
// (it may block: back-pressure); it calls the ack function given at
// construction once all of them were accepted or dropped for good. run
// delivers until close was called and everything queued is done, or ctx
// ends.
type durable interface {
	add(ctx context.Context, seq uint64, events []record.Event) error
	run(ctx context.Context) error
	close()
}

// lokiSink adapts loki.Batcher.
type lokiSink struct{ b *loki.Batcher }

func (l lokiSink) add(ctx context.Context, seq uint64, events []record.Event) error {
	return l.b.Add(ctx, seq, events)
}
func (l lokiSink) run(ctx context.Context) error { return l.b.Run(ctx) }
func (l lokiSink) close()                        { l.b.Close() }

// amSink sends to Alertmanager from its own goroutine, posting what queued
// up since its last request in one Send.
type amSink struct {
	s   *alertmanager.Sink
	in  chan amItem
	ack func(seq uint64)
	log zerolog.Logger

	closeOnce sync.Once
}

type amItem struct {
	seq    uint64
	events []record.Event
}

// amCoalesce bounds the batches posted in one Send.
const amCoalesce = 64

func newAMSink(s *alertmanager.Sink, queue int, ack func(uint64), log zerolog.Logger) *amSink {
	return &amSink{s: s, in: make(chan amItem, queue), ack: ack, log: log}
}

func (a *amSink) add(ctx context.Context, seq uint64, events []record.Event) error {
	select {
	case a.in <- amItem{seq, events}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *amSink) close() { a.closeOnce.Do(func() { close(a.in) }) }

func (a *amSink) run(ctx context.Context) error {
	for {
		var it amItem
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case it, ok = <-a.in:
			if !ok {
				return nil
			}
		}
		items := []amItem{it}
	more:
		for len(items) < amCoalesce {
			select {
			case it, ok := <-a.in:
				if !ok {
					break more
				}
				items = append(items, it)
			default:
				break more
			}
		}
		var events []record.Event
		for _, it := range items {
			events = append(events, it.events...)
		}
		if len(events) > 0 {
			err := a.s.Send(ctx, events)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && !errors.Is(err, retry.ErrDropped) {
				// Send retries until ctx ends, so this is unexpected; do
				// not stall the journal on it.
				a.log.Error().Err(err).Msg("alertmanager send failed; counting its alerts as done")
			}
		}
		for _, it := range items {
			a.ack(it.seq)
		}
	}
}

// webhookNotifier adapts webhook.Sink to notifySink: the body carries the
// group's events at hand.
type webhookNotifier struct{ *webhook.Sink }

func (w webhookNotifier) Notify(ctx context.Context, events []record.Event, _ int) error {
	return w.Send(ctx, events)
}

// stdoutSink writes events as they are dispatched; stdout.Sink logs its
// own errors.
type stdoutSink struct{ *stdout.Sink }

func (s stdoutSink) send(events []record.Event) { _ = s.Send(context.Background(), events) }

// sender is what the daemon needs of every sink it builds: deliver events,
// count what it delivered, let go of its connections. The role of each
// (durable, notification, stdout) decides how events reach Send.
type sender interface {
	Send(ctx context.Context, events []record.Event) error
	Stats() retry.Counts
	Close()
}

// sinks are the configured sinks, built.
type sinks struct {
	durable   []durable
	names     []string // of durable, for logs
	notifiers []*Notifier
	stdout    []stdoutSink
	stats     sinkCollector
	closers   []func()
}

// buildSinks builds every configured sink. ack(i, seq) is called when
// durable sink i is done with batch seq.
func buildSinks(cfg *config.Config, queue int, out io.Writer, log zerolog.Logger, ack func(i int, seq uint64), m *metrics, now nowFunc) (*sinks, error) {
	s := &sinks{}
	for _, sc := range cfg.Sinks {
		snd, err := newSender(sc, out, log)
		if err != nil {
			return nil, err
		}
		name := config.SinkName(sc)
		s.stats = append(s.stats, sinkStats{name, config.SinkType(sc), snd.Stats})
		s.closers = append(s.closers, snd.Close)
		slog := log.With().Str("sink", name).Logger()
		i := len(s.durable)
		switch snd := snd.(type) {
		case *loki.Sink:
			s.durable = append(s.durable, lokiSink{snd.NewBatcher(queue, func(a loki.Ack) { ack(i, a.Token.(uint64)) })})
			s.names = append(s.names, name)
		case *alertmanager.Sink:
			s.durable = append(s.durable, newAMSink(snd, queue, func(seq uint64) { ack(i, seq) }, slog))
			s.names = append(s.names, name)
		case *slack.Sink:
			c := sc.(slack.Config)
			s.notifiers = append(s.notifiers, newNotifier(name, c.Grouping, c.MinSeverity, snd, slack.ErrDeadWebhook, log, m, now))
		case *webhook.Sink:
			c := sc.(webhook.Config)
			s.notifiers = append(s.notifiers, newNotifier(name, c.Grouping, c.MinSeverity, webhookNotifier{snd}, nil, log, m, now))
		case *stdout.Sink:
			s.stdout = append(s.stdout, stdoutSink{snd})
		}
	}
	return s, nil
}

// newSender builds the sink a [[sink]] table configures.
func newSender(sc config.SinkConfig, out io.Writer, log zerolog.Logger) (sender, error) {
	switch c := sc.(type) {
	case loki.Config:
		c.Log = log
		return loki.New(c)
	case alertmanager.Config:
		c.Log = log
		return alertmanager.New(c)
	case slack.Config:
		c.Log = log
		return slack.New(c)
	case webhook.Config:
		c.Log = log
		return webhook.New(c)
	case stdout.Config:
		c.Log = log
		return stdout.NewSink(out, c), nil
	}
	return nil, fmt.Errorf("build sink %s: unknown configuration %T", config.SinkName(sc), sc)
}

// newNotifier groups a notification sink's events; its sends are counted
// in m, and an error wrapping dead (when not nil) marks the sink dead.
func newNotifier(name string, g sink.Grouping, min record.Severity, ns notifySink, dead error, log zerolog.Logger, m *metrics, now nowFunc) *Notifier {
	g = g.WithDefaults()
	n := NewNotifier(name, Timing{GroupWait: g.GroupWait, GroupInterval: g.GroupInterval, RepeatInterval: g.RepeatInterval,
		ResolveTimeout: g.ResolveTimeout, MinSeverity: min}, ns, log, now)
	n.onSend = func(err error) {
		if err != nil {
			m.notifications.WithLabelValues(name, "failed").Inc()
		} else {
			m.notifications.WithLabelValues(name, "sent").Inc()
		}
		if dead != nil && errors.Is(err, dead) {
			m.sinkDead.WithLabelValues(name).Set(1)
		} else if err == nil {
			m.sinkDead.WithLabelValues(name).Set(0)
		}
	}
	return n
}

// CheckSink builds the sink sc configures as New does (reading its CA and
// client certificate files) and lets go of it.
func CheckSink(sc config.SinkConfig) error {
	s, err := newSender(sc, io.Discard, zerolog.Nop())
	if err != nil {
		return err
	}
	s.Close()
	return nil
}
