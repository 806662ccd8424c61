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
type webhookNotifier struct{ s *webhook.Sink }

func (w webhookNotifier) Notify(ctx context.Context, events []record.Event, _ int) error {
	return w.s.Send(ctx, events)
}

// stdoutSink writes events at or above min as JSON lines.
type stdoutSink struct {
	mu    sync.Mutex
	w     *stdout.Writer
	min   record.Severity
	stats retry.Stats
	log   zerolog.Logger
}

func (s *stdoutSink) send(events []record.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range events {
		if events[i].Severity < s.min {
			continue
		}
		if err := s.w.Write(&events[i]); err != nil {
			s.stats.AddDropped(1)
			s.log.Error().Err(err).Msg("write event to stdout")
			continue
		}
		n++
	}
	if n == 0 {
		return
	}
	if err := s.w.Flush(); err != nil {
		s.stats.AddFailed(1)
		s.log.Error().Err(err).Msg("write events to stdout")
		return
	}
	s.stats.AddSent(n)
}

// sinks are the configured sinks, built.
type sinks struct {
	durable   []durable
	names     []string // of durable, for logs
	notifiers []*Notifier
	stdout    []*stdoutSink
	stats     sinkCollector
	closers   []func()
}

// buildSinks builds every configured sink. ack(i, seq) is called when
// durable sink i is done with batch seq.
func buildSinks(cfg *config.Config, queue int, out io.Writer, log zerolog.Logger, ack func(i int, seq uint64), m *metrics, now nowFunc) (*sinks, error) {
	s := &sinks{}
	for _, sc := range cfg.Sinks {
		slog := log.With().Str("sink", sc.Name).Logger()
		if sc.HTTP.InsecureSkipVerify {
			slog.Warn().Msg("insecure_skip_verify is set: this sink does not verify the server's TLS certificate, so anyone on the network path can read and change what it sends")
		}
		switch sc.Type {
		case config.TypeLoki:
			ls, err := loki.New(sc.Loki(log))
			if err != nil {
				return nil, err
			}
			i := len(s.durable)
			b := ls.NewBatcher(queue, func(a loki.Ack) { ack(i, a.Token.(uint64)) })
			s.durable = append(s.durable, lokiSink{b})
			s.names = append(s.names, sc.Name)
			s.stats = append(s.stats, sinkStats{sc.Name, sc.Type, ls.Stats})
			s.closers = append(s.closers, ls.Close)
		case config.TypeAlertmanager:
			as, err := alertmanager.New(sc.Alertmanager(log))
			if err != nil {
				return nil, err
			}
			i := len(s.durable)
			s.durable = append(s.durable, newAMSink(as, queue, func(seq uint64) { ack(i, seq) }, slog))
			s.names = append(s.names, sc.Name)
			s.stats = append(s.stats, sinkStats{sc.Name, sc.Type, as.Stats})
			s.closers = append(s.closers, as.Close)
		case config.TypeSlack, config.TypeWebhook:
			var ns notifySink
			var stats func() retry.Counts
			var dead func(error) bool
			if sc.Type == config.TypeSlack {
				sl, err := slack.New(sc.Slack(log))
				if err != nil {
					return nil, err
				}
				ns, stats = sl, sl.Stats
				s.closers = append(s.closers, sl.Close)
				dead = func(err error) bool { return errors.Is(err, slack.ErrDeadWebhook) }
			} else {
				wh, err := webhook.New(sc.Webhook(log))
				if err != nil {
					return nil, err
				}
				ns, stats = webhookNotifier{wh}, wh.Stats
				s.closers = append(s.closers, wh.Close)
				dead = func(error) bool { return false }
			}
			n := NewNotifier(sc.Name, Timing{
				GroupWait:      sc.GroupWait,
				GroupInterval:  sc.GroupInterval,
				RepeatInterval: sc.RepeatInterval,
				ResolveTimeout: sc.ResolveTimeout,
				MinSeverity:    sc.MinSeverity,
			}, ns, log, now)
			name := sc.Name
			n.onSend = func(err error) {
				if err != nil {
					m.notifications.WithLabelValues(name, "failed").Inc()
				} else {
					m.notifications.WithLabelValues(name, "sent").Inc()
				}
				if dead(err) {
					m.sinkDead.WithLabelValues(name).Set(1)
				} else if err == nil {
					m.sinkDead.WithLabelValues(name).Set(0)
				}
			}
			s.notifiers = append(s.notifiers, n)
			s.stats = append(s.stats, sinkStats{sc.Name, sc.Type, stats})
		case config.TypeStdout:
			ss := &stdoutSink{w: stdout.New(out, stdout.Lines), min: sc.MinSeverity, log: slog}
			s.stdout = append(s.stdout, ss)
			s.stats = append(s.stats, sinkStats{sc.Name, sc.Type, ss.stats.Snapshot})
		default:
			return nil, fmt.Errorf("build sink %s: unknown type %q", sc.Name, sc.Type)
		}
	}
	return s, nil
}
