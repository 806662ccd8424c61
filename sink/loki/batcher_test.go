package loki

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// acks collects a batcher's acknowledgements.
type acks struct {
	mu  sync.Mutex
	got []Ack
}

func (a *acks) add(k Ack) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, k)
}

func (a *acks) list() []Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Ack(nil), a.got...)
}

// runBatcher starts b.Run and returns a function that waits for its result.
func runBatcher(t *testing.T, ctx context.Context, b *Batcher) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return func() error {
		select {
		case err := <-done:
			done <- err
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
}

func TestBatcherSizeAndAcks(t *testing.T) {
	srv := newServer(t, func(n int, _ request) (int, map[string]string, string) {
		if n == 2 {
			return 400, nil, "rejected"
		}
		return 204, nil, ""
	})
	s, _ := newSink(t, Config{URL: srv.URL, MinSeverity: record.Warning, BatchWait: time.Hour})
	// Room for three entries per batch.
	entries, _, _ := s.entries(events(1), nil)
	s.cfg.BatchSize = 3 * entries[0].size

	var got acks
	b := s.NewBatcher(4, got.add)
	wait := runBatcher(t, context.Background(), b)
	ctx := context.Background()
	info := event(9, "x.info", record.Info)
	calls := []struct {
		token  string
		events []record.Event
	}{
		{"c1", events(2)},               // batch 1: c1 c1
		{"c2", append(events(2), info)}, // batch 1: c2 | batch 2 (400): c2
		{"c3", nil},                     // nothing: acked with c2
		{"c4", []record.Event{info}},    // only below min_severity
		{"c5", events(4)},               // batch 2: c5 c5 | batch 3: c5 c5
		{"c6", events(1)},               // batch 3: c6, flushed by Close
	}
	for _, c := range calls {
		if err := b.Add(ctx, c.token, c.events); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	if err := b.Add(ctx, "late", events(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	want := []Ack{
		{Token: "c1", Sent: 2},
		{Token: "c2", Sent: 1, Dropped: 1, Skipped: 1},
		{Token: "c3"},
		{Token: "c4", Skipped: 1},
		{Token: "c5", Sent: 2, Dropped: 2},
		{Token: "c6", Sent: 1},
	}
	if diff := cmp.Diff(want, got.list()); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}
	var sizes []int
	for _, r := range srv.requests() {
		sizes = append(sizes, r.entries())
	}
	if diff := cmp.Diff([]int{3, 3, 3}, sizes); diff != "" {
		t.Errorf("entries per request (-want +got):\n%s", diff)
	}
}

// roundTrip answers every push with 204 in memory, counting them.
type roundTrip struct{ n atomic.Int32 }

func (rt *roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.n.Add(1)
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// TestBatcherWait checks, on synctest's clock, that a batch smaller than
// batch_size is pushed batch_wait after its first event, not before.
func TestBatcherWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt roundTrip
		s, _ := newSink(t, Config{URL: "http://loki.test/loki/api/v1/push", BatchWait: time.Second})
		s.Client.SetTransport(&rt)
		var got acks
		b := s.NewBatcher(0, got.add)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		if err := b.Add(ctx, "c1", events(2)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second - time.Millisecond)
		synctest.Wait()
		if a := got.list(); len(a) != 0 || rt.n.Load() != 0 {
			t.Errorf("before batch_wait: %d pushes, acks %v; want none", rt.n.Load(), a)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([]Ack{{Token: "c1", Sent: 2}}, got.list()); diff != "" {
			t.Errorf("acks at batch_wait (-want +got):\n%s", diff)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
		if n := rt.n.Load(); n != 1 {
			t.Errorf("%d pushes, want 1", n)
		}
	})
}

func TestBatcherBackPressure(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	blocked := httpBlock(t, release)
	s, _ := newSink(t, Config{URL: blocked, BatchSize: 1, BatchWait: time.Hour})
	var got acks
	b := s.NewBatcher(1, got.add)
	runCtx, cancel := context.WithCancel(context.Background())
	wait := runBatcher(t, runCtx, b)

	// The first Add is taken by Run and stuck in its push; the second
	// fills the queue; the third must block until its context ends.
	ctx := context.Background()
	for _, tok := range []string{"c1", "c2"} {
		if err := b.Add(ctx, tok, events(1)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		short, stop := context.WithTimeout(ctx, 20*time.Millisecond)
		err = b.Add(short, "c3", events(1))
		stop()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Add on a full queue = %v, want context.DeadlineExceeded", err)
	}
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", err)
	}
	if a := got.list(); len(a) != 0 {
		t.Errorf("acks while Loki hung: %v", a)
	}
	if c := s.Stats(); c.Dropped != 0 || c.Sent != 0 {
		t.Errorf("stats = %+v, want nothing sent or dropped", c)
	}
}

// httpBlock starts a server whose requests hang until release is closed or
// the client goes away, and returns its URL.
func httpBlock(t *testing.T, release chan struct{}) string {
	t.Helper()
	srv := newServer(t, nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	return srv.URL
}
