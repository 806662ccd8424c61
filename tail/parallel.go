package tail

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// A single sd-journal handle reads about as fast as one core can walk the
// journal files, which is the bottleneck of a scan. So a scan cuts its time
// range into chunks that several handles, each on its own thread, read at
// once; the chunks' batches are handed on in order.
//
// Journal order is not strictly time order (clocks go back, files
// interleave), so a chunk is not defined as "the entries in [from, stop)"
// but as "what a sequential read sees from the first entry at or after
// from, up to the first entry at or after stop". Reading the chunks one
// after the other is then exactly one sequential read provided each chunk
// begins with the entry its predecessor stopped at. Every chunk records the
// cursors of both entries; where two chunks do not join up, the rest is
// read sequentially from the predecessor's stop entry.

// chunkTarget is the number of entries a chunk should hold; chunk widths
// adapt to the entry rate seen so far.
const chunkTarget = 4096

// parallelReader reads chunks on several threads and hands them on in order.
type parallelReader struct {
	open    func() (journal, error)
	opts    *Options
	units   []string          // the units to add as matches
	idents  map[string]string // and their identifiers (identUnits)
	bootID  string
	workers int
	send    func([]record.Entry) bool

	slots chan struct{} // one per chunk planned and not yet handed on
	order chan *chunk   // chunks in time order, as planned

	mu      sync.Mutex
	next    time.Time     // start of the next chunk
	width   time.Duration // of the next chunk
	hi      time.Time     // the last entry's time, or Until
	k       int
	planned bool // the last chunk was planned
}

// chunk is one time slice of the journal.
type chunk struct {
	k       int
	begin   time.Time // planned start (for sizing)
	from    time.Time // zero for the first chunk, which starts like a sequential read
	stop    time.Time // zero for the last chunk, which reads to Until or the end
	batches chan []record.Entry
	started chan struct{} // closed once start is set

	start string // cursor of the first entry the chunk saw; "" at the end
	// Set before batches is closed:
	end string // cursor of the entry the chunk stopped at; "" at the end
	n   int    // entries read
	err error
}

// workers is the number of reading threads for Options.Parallel. Reading
// on two threads costs about a tenth more CPU per entry. On two cores it
// gained about a quarter (fn busy 730 ns per entry, as a classifier is)
// when the machine was otherwise idle and lost a tenth or more when other
// processes were busy, so by default only machines with at least four
// cores, where the services the node runs leave room, read on two.
func workers(n int) int {
	if n > 0 {
		return n
	}
	if runtime.GOMAXPROCS(0) >= 4 {
		return 2
	}
	return 1
}

// run reads the journal; j has the matches and is used to find the time
// range and, if chunks do not join, to read on sequentially.
func (r *parallelReader) run(ctx context.Context, j journal) error {
	if err := seekStart(j, r.opts); err != nil {
		return err
	}
	lo, ok, err := j.peek()
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	if !ok {
		return nil
	}
	hi, ok, err := j.last()
	if err != nil {
		return fmt.Errorf("find last entry: %w", err)
	}
	if !r.opts.Until.IsZero() && r.opts.Until.Before(hi) {
		hi = r.opts.Until
	}
	if !ok || !hi.After(lo) {
		if err := seekStart(j, r.opts); err != nil {
			return err
		}
		return produce(ctx, j, r.opts, r.idents, r.send)
	}
	r.next, r.hi = lo, hi
	r.width = max(hi.Sub(lo)/64, time.Millisecond).Truncate(time.Microsecond)
	r.slots = make(chan struct{}, r.workers+1)
	r.order = make(chan *chunk, r.workers+1)

	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopWorkers()
		wg.Wait()
	}()
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(wctx)
		}()
	}

	var prev *chunk
	for {
		var c *chunk
		select {
		case c = <-r.order:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-c.started
		if prev != nil && c.start != prev.end {
			stopWorkers()
			wg.Wait()
			if c.err != nil && !errors.Is(c.err, context.Canceled) {
				return c.err
			}
			return r.sequentialFrom(ctx, j, prev.end)
		}
		for b := range c.batches {
			if !r.send(b) {
				return nil
			}
		}
		if c.err != nil {
			return c.err
		}
		<-r.slots
		if c.stop.IsZero() || c.end == "" {
			return nil
		}
		prev = c
	}
}

// fallbacks counts the reads that fell back to one thread (for tests).
var fallbacks atomic.Int64

// sequentialFrom reads on from the entry with cursor c, inclusive.
func (r *parallelReader) sequentialFrom(ctx context.Context, j journal, c string) error {
	fallbacks.Add(1)
	if _, err := j.seekCursor(c, true); err != nil {
		return fmt.Errorf("seek cursor %q: %w", c, err)
	}
	return produce(ctx, j, r.opts, r.idents, r.send)
}

// work reads chunks until there are none left or ctx ends.
func (r *parallelReader) work(ctx context.Context) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var j journal
	defer func() {
		if j != nil {
			j.close()
		}
	}()
	for {
		c := r.take(ctx)
		if c == nil {
			return
		}
		if j == nil {
			var err error
			if j, err = r.open(); err == nil {
				err = addMatches(j, r.units, r.idents, r.bootID)
			}
			if err != nil {
				c.err = err
				close(c.started)
				close(c.batches)
				return
			}
		}
		r.read(ctx, j, c)
		r.adapt(c)
	}
}

// take plans the next chunk; nil when there is none or ctx ended.
func (r *parallelReader) take(ctx context.Context) *chunk {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.planned {
		<-r.slots
		return nil
	}
	c := &chunk{
		k:       r.k,
		begin:   r.next,
		batches: make(chan []record.Entry, 2*chunkTarget/batchSize),
		started: make(chan struct{}),
	}
	if r.k > 0 {
		c.from = r.next
	}
	if end := r.next.Add(r.width); end.Before(r.hi) {
		c.stop, r.next = end, end
	} else {
		r.planned = true
	}
	r.k++
	r.order <- c // never blocks: slots bounds the chunks in flight
	return c
}

// read reads one chunk into its batches.
func (r *parallelReader) read(ctx context.Context, j journal, c *chunk) {
	started := false
	defer func() {
		if !started {
			close(c.started)
		}
		close(c.batches)
	}()
	var err error
	if c.from.IsZero() {
		err = seekStart(j, r.opts)
	} else if err = j.seekRealtime(c.from); err != nil {
		err = fmt.Errorf("seek time %s: %w", c.from.Format(time.RFC3339Nano), err)
	}
	if err != nil {
		c.err = err
		return
	}
	_, ok, err := j.peek()
	if err == nil && ok {
		c.start, err = j.cursor()
	}
	if err != nil {
		c.err = fmt.Errorf("read journal: %w", err)
		return
	}
	close(c.started)
	started = true
	stop := c.stop
	if stop.IsZero() {
		stop = untilStop(r.opts.Until)
	}
	for {
		batch := make([]record.Entry, batchSize)
		n, state, err := j.read(batch, !r.opts.NoCursor, stop)
		if err != nil {
			c.err = fmt.Errorf("read journal: %w", err)
			return
		}
		c.n += n
		if batch = finishBatch(batch[:n], r.opts, r.idents); len(batch) > 0 {
			select {
			case c.batches <- batch:
			case <-ctx.Done():
				c.err = ctx.Err()
				return
			}
		}
		switch state {
		case readStopped:
			if c.end, err = j.cursor(); err != nil {
				c.err = fmt.Errorf("read journal: %w", err)
			}
			return
		case readEnd:
			return
		}
	}
}

// adapt sizes the next chunks by the entry rate of c.
func (r *parallelReader) adapt(c *chunk) {
	if c.err != nil || c.stop.IsZero() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.width * 4
	if c.n > 0 {
		w = min(time.Duration(float64(c.stop.Sub(c.begin))*chunkTarget/float64(c.n)), w)
	}
	r.width = max(w, r.width/4, time.Millisecond).Truncate(time.Microsecond)
}
