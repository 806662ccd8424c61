package daemon

import (
	"context"
	"sync"
	"time"
)

// tracker numbers the batches handed to the durable sinks and finds the
// newest cursor up to which every durable sink acknowledged everything. It
// bounds the batches in flight: begin blocks while limit of them wait,
// which stops the reader while a durable sink is down (back-pressure).
//
// Each durable sink acknowledges the batches in order.
type tracker struct {
	limit int
	sinks int // durable sinks; 0 means a batch is done when begun

	mu      sync.Mutex
	next    uint64   // sequence number of the next batch
	acked   []uint64 // per sink: every batch below it is acknowledged
	done    uint64   // every batch below it is acknowledged by all sinks
	pending map[uint64]*inflight
	last    mark      // the newest done batch's mark
	snap    *ruleSnap // the newest done rule snapshot
	snapOut *ruleSnap // the snapshot checkpoint returned last
	saved   string
	space   chan struct{} // signalled when done advances
	waiting bool          // begin is blocked on a full queue
}

// inflight is a batch waiting for the durable sinks.
type inflight struct {
	mark
	events []time.Time // journal times of its events, for the latency histogram
	// after is the position of the batches without events read after it:
	// done as soon as it is.
	after *mark
	// snap is a rule snapshot as of its end (or of after's).
	snap *ruleSnap
}

// mark is a journal position and when it was read.
type mark struct {
	cursor string
	time   time.Time // journal time of the entry
	read   time.Time // when it was read
}

func newTracker(limit, sinks int) *tracker {
	return &tracker{
		limit:   limit,
		sinks:   sinks,
		acked:   make([]uint64, sinks),
		pending: map[uint64]*inflight{},
		space:   make(chan struct{}, 1),
	}
}

// begin registers a batch that ends at m and holds events at the given
// times, waiting while the queue is full. beat is called while it waits,
// at least every second, so that the watchdog knows the wait is deliberate.
func (t *tracker) begin(ctx context.Context, m mark, events []time.Time, snap *ruleSnap, beat func()) (uint64, error) {
	for {
		t.mu.Lock()
		if int(t.next-t.done) < t.limit {
			seq := t.next
			t.next++
			t.waiting = false
			if t.sinks == 0 {
				t.done = t.next
				t.last = m
				if snap != nil {
					t.snap = snap
				}
			} else {
				t.pending[seq] = &inflight{mark: m, events: events, snap: snap}
			}
			t.mu.Unlock()
			return seq, nil
		}
		t.waiting = true
		t.mu.Unlock()
		beat()
		timer := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			timer.Stop()
			t.mu.Lock()
			t.waiting = false
			t.mu.Unlock()
			return 0, ctx.Err()
		case <-t.space:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// skip registers a batch without events: it needs no sink, so it is done
// once the batches before it are, and it takes no room in the queue.
func (t *tracker) skip(m mark, snap *ruleSnap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next == t.done {
		t.last = m
		if snap != nil {
			t.snap = snap
		}
		return
	}
	p := t.pending[t.next-1]
	p.after = &m
	if snap != nil {
		p.snap = snap
	}
}

// ack records that durable sink i accepted (or dropped for good) every
// event of batch seq. It returns the event times of the batches that
// became done, and when.
func (t *tracker) ack(i int, seq uint64) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq+1 > t.acked[i] {
		t.acked[i] = seq + 1
	}
	low := t.acked[0]
	for _, a := range t.acked[1:] {
		low = min(low, a)
	}
	var times []time.Time
	was := t.done
	for t.done < low {
		if p := t.pending[t.done]; p != nil {
			t.last = p.mark
			if p.after != nil {
				t.last = *p.after
			}
			if p.snap != nil {
				t.snap = p.snap
			}
			times = append(times, p.events...)
			delete(t.pending, t.done)
		}
		t.done++
	}
	if t.done > was {
		// Room in the queue: wake a begin that waits for it.
		select {
		case t.space <- struct{}{}:
		default:
		}
	}
	return times
}

// checkpoint returns the newest position every durable sink is done with,
// and whether it changed since the last checkpoint, and the newest rule
// snapshot at or before it when that is new.
func (t *tracker) checkpoint() (mark, bool, *ruleSnap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := t.last.cursor != "" && t.last.cursor != t.saved
	t.saved = t.last.cursor
	var snap *ruleSnap
	if t.snap != t.snapOut {
		snap, t.snapOut = t.snap, t.snap
	}
	return t.last, changed, snap
}

// retry undoes checkpoint's bookkeeping for what could not be written: the
// cursor (when cursor is set) and the rule snapshot snap, so that the next
// checkpoint writes them again even if no entry is read meanwhile.
func (t *tracker) retry(cursor bool, snap *ruleSnap) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cursor {
		t.saved = ""
	}
	if snap != nil && t.snapOut == snap {
		t.snapOut = nil
	}
}

// depth returns the batches in flight.
func (t *tracker) depth() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.next - t.done)
}

// blocked reports whether the reader waits for room in the queue.
func (t *tracker) blocked() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiting
}

// oldestRead returns when the oldest batch in flight was read (zero when
// none is).
func (t *tracker) oldestRead() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pending[t.done]; p != nil {
		return p.read
	}
	return time.Time{}
}
