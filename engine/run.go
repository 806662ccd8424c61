package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/record"
)

// inFlight bounds the batches read but not yet consumed by Run.
const inFlight = 8

// job is one batch on its way through Run.
type job struct {
	entries []record.Entry
	// matches are, in entry order, the matches with an event and those the
	// rules over time read.
	matches []classify.Match
	done    chan struct{}
}

// Run reads with read, classifies the batches on workers goroutines and
// calls consume for each batch in reading order, with its events and the
// events the rules derive from it: what Process gives, for a reader that
// outruns one core. The first error of consume stops reading and is
// returned; else the error of read. Replace must not be called while Run
// runs.
func (e *Engine) Run(ctx context.Context, workers int, read ReadFunc, consume ConsumeFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	e.mu.Lock()
	cls, rules := e.cls.Load(), e.rules
	e.mu.Unlock()

	work := make(chan *job, inFlight)
	ordered := make(chan *job, inFlight)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			var m classify.Match // copied only when kept: a Match is large
			for j := range work {
				for i := range j.entries {
					if e.match(cls, &j.entries[i], &m) && (m.HasEvent || rules.Wants(m.Signature)) {
						j.matches = append(j.matches, m)
					}
				}
				close(j.done)
			}
		})
	}

	consumed := make(chan error, 1)
	go func() {
		var err error
		var events []record.Event
		for j := range ordered {
			<-j.done
			if err != nil {
				continue
			}
			events = events[:0]
			e.mu.Lock()
			for i := range j.matches {
				events = e.derive(&j.matches[i], events)
			}
			e.mu.Unlock()
			if err = consume(j.entries, events); err != nil {
				cancel()
			}
		}
		consumed <- err
	}()

	readErr := read(ctx, func(batch []record.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		j := &job{entries: batch, done: make(chan struct{})}
		select {
		case ordered <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		work <- j // workers drain work until it is closed: never blocks for good
		return nil
	})
	close(work)
	close(ordered)
	wg.Wait()
	if err := <-consumed; err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("read entries: %w", readErr)
	}
	return nil
}
