package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/record"
)

// pipeline classifies the batches a reader yields on several workers and
// hands them to a consumer in reading order, holding only a few batches at a
// time.
type pipeline struct {
	workers int
	// classify matches one entry into a Match, which it leaves alone when
	// it returns false (classify.Classifier.MatchInto).
	classify func(*record.Entry, *classify.Match) bool
	// keep says which matches without an event the consumer gets too (those
	// a rule over time reads); nil: none.
	keep func(*classify.Match) bool
	log  *zerolog.Logger
}

// job is one batch on its way through the pipeline.
type job struct {
	entries []record.Entry
	// matches are, in entry order, the matches with an event and those keep
	// accepts.
	matches []classify.Match
	panics  int
	done    chan struct{}
}

// inFlight bounds the batches read but not yet consumed.
const inFlight = 8

// run reads with read, classifies, and calls consume for each batch in order.
// The first error of consume stops reading and is returned; else the error
// of read.
func (p *pipeline) run(ctx context.Context,
	read func(ctx context.Context, fn func([]record.Entry) error) error,
	consume func(entries []record.Entry, matches []classify.Match) error,
) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan *job, inFlight)
	ordered := make(chan *job, inFlight)
	var wg sync.WaitGroup
	for range max(p.workers, 1) {
		wg.Go(func() {
			for j := range work {
				p.classifyBatch(j)
				close(j.done)
			}
		})
	}

	consumed := make(chan error, 1)
	go func() {
		var err error
		panics := 0
		for j := range ordered {
			<-j.done
			panics += j.panics
			if err == nil {
				if err = consume(j.entries, j.matches); err != nil {
					cancel()
				}
			}
		}
		if panics > 0 && p.log != nil {
			p.log.Warn().Int("entries", panics).Msg("classifier failed on some entries; they were skipped")
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

// classifyBatch classifies the entries of a batch in order.
func (p *pipeline) classifyBatch(j *job) {
	var m classify.Match // copied only when kept: a Match is large
	for i := range j.entries {
		ok, panicked := p.safeClassify(&j.entries[i], &m)
		if panicked {
			j.panics++
		}
		if ok && (m.HasEvent || (p.keep != nil && p.keep(&m))) {
			j.matches = append(j.matches, m)
		}
	}
}

// safeClassify classifies one entry into m; a panic in the classifier skips
// the entry instead of ending the scan.
func (p *pipeline) safeClassify(e *record.Entry, m *classify.Match) (ok, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			ok, panicked = false, true
		}
	}()
	return p.classify(e, m), false
}
