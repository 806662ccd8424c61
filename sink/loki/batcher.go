package loki

import (
	"context"
	"errors"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// Ack reports that every event of one Batcher.Add call is done with.
type Ack struct {
	// Token is the value given to Add, e.g. the journal cursor of its last
	// entry.
	Token any
	// Sent counts the events Loki accepted.
	Sent int
	// Dropped counts the events given up on (see ErrDropped); they will
	// not be retried, so a checkpoint may pass them.
	Dropped int
	// Skipped counts the events below MinSeverity.
	Skipped int
}

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("loki batcher closed")

// Batcher collects events into batches and pushes one batch at a time:
// when the batch's lines reach BatchSize, BatchWait after its first entry,
// and when it is closed. Acks come in the order of the Add calls.
//
// Add and Close belong to one producer goroutine; Run to another.
type Batcher struct {
	s      *Sink
	ack    func(Ack)
	in     chan item
	closed bool
}

// item is one Add call.
type item struct {
	p       *pending
	entries []entry
}

// pending tracks the events of one Add call until they are all resolved.
type pending struct {
	token                  any
	sent, dropped, skipped int
}

// NewBatcher returns a batcher that calls ack from Run's goroutine when all
// events of an Add call have been accepted or dropped. queue is the number
// of Add calls buffered before Add blocks (back-pressure); 0 means 16.
func (s *Sink) NewBatcher(queue int, ack func(Ack)) *Batcher {
	if queue <= 0 {
		queue = 16
	}
	if ack == nil {
		ack = func(Ack) {}
	}
	return &Batcher{s: s, ack: ack, in: make(chan item, queue)}
}

// Add queues events for the next batches. It blocks while the queue is
// full, until ctx ends. The events are encoded before Add returns, so the
// caller may reuse the slice.
func (b *Batcher) Add(ctx context.Context, token any, events []record.Event) error {
	if b.closed {
		return ErrClosed
	}
	p := &pending{token: token}
	entries, skipped, _ := b.s.entries(events, p) // encoding failures are counted and logged
	p.skipped = skipped
	select {
	case b.in <- item{p: p, entries: entries}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close tells Run that no more events come: Run pushes what is queued and
// returns. Call it from the goroutine that calls Add.
func (b *Batcher) Close() {
	if !b.closed {
		b.closed = true
		close(b.in)
	}
}

// Run sends batches until Close was called and everything queued is
// delivered (then it returns nil), or until ctx ends (then it returns ctx's
// error, and what was not acknowledged stays unacknowledged).
func (b *Batcher) Run(ctx context.Context) error {
	var (
		batch []entry
		acks  []*pending
		size  int
		timer = time.NewTimer(time.Hour)
		wait  <-chan time.Time
	)
	timer.Stop()
	defer timer.Stop()

	flush := func() error {
		wait = nil
		timer.Stop()
		if len(batch) > 0 {
			if err := b.s.push(ctx, batch); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		for _, p := range acks {
			b.ack(Ack{Token: p.token, Sent: p.sent, Dropped: p.dropped, Skipped: p.skipped})
		}
		batch, acks, size = batch[:0], acks[:0], 0
		return nil
	}

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
			if err := flush(); err != nil {
				return err
			}
		case it, ok := <-b.in:
			if !ok {
				return flush()
			}
			if len(it.entries) == 0 && len(batch) == 0 {
				// Everything before it is acknowledged already.
				b.ack(Ack{Token: it.p.token, Dropped: it.p.dropped, Skipped: it.p.skipped})
				continue
			}
			for _, e := range it.entries {
				if len(batch) > 0 && size+e.size > b.s.cfg.BatchSize {
					if err := flush(); err != nil {
						return err
					}
				}
				if len(batch) == 0 {
					timer.Reset(b.s.cfg.BatchWait)
					wait = timer.C
				}
				batch = append(batch, e)
				size += e.size
			}
			acks = append(acks, it.p)
			if size >= b.s.cfg.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}
