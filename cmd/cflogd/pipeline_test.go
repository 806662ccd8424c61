package main

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/record"
)

// fakeRead yields n batches of size entries whose messages count up.
func fakeRead(n, size int) func(ctx context.Context, fn func([]record.Entry) error) error {
	return func(ctx context.Context, fn func([]record.Entry) error) error {
		k := 0
		for range n {
			batch := make([]record.Entry, size)
			for i := range batch {
				batch[i].Message = strconv.Itoa(k)
				k++
			}
			if err := fn(batch); err != nil {
				return err
			}
		}
		return nil
	}
}

// evenEvents gives an event for even messages, a match without an event
// for those ending in 5, and panics on "13".
func evenEvents(e *record.Entry, m *classify.Match) bool {
	n, _ := strconv.Atoi(e.Message)
	if n == 13 {
		panic("classifier bug")
	}
	if n%10 == 5 {
		*m = classify.Match{Signature: "five", Message: e.Message}
		return true
	}
	if n%2 != 0 {
		return false
	}
	*m = classify.Match{Event: record.Event{Message: e.Message}, HasEvent: true, Fired: true}
	return true
}

// events returns the events of matches.
func events(ms []classify.Match) []record.Event {
	var out []record.Event
	for _, m := range ms {
		if m.HasEvent {
			out = append(out, m.Event)
		}
	}
	return out
}

func TestPipelineOrderAndPanics(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			p := pipeline{workers: workers, classify: evenEvents}
			var entries int
			var got []string
			err := p.run(t.Context(), fakeRead(50, 37), func(es []record.Entry, ms []classify.Match) error {
				entries += len(es)
				for _, ev := range events(ms) {
					got = append(got, ev.Message)
				}
				if len(ms) != len(events(ms)) {
					t.Errorf("matches without an event handed on without keep")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := 0; i < 50*37; i += 2 {
				want = append(want, strconv.Itoa(i))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if entries != 50*37 {
				t.Errorf("entries = %d, want %d", entries, 50*37)
			}
		})
	}
}

func TestPipelineErrors(t *testing.T) {
	errConsume := errors.New("disk full")
	errRead := errors.New("journal corrupt")
	t.Run("consume error stops reading", func(t *testing.T) {
		p := pipeline{workers: 2, classify: evenEvents}
		calls := 0
		err := p.run(t.Context(), fakeRead(1000, 10), func([]record.Entry, []classify.Match) error {
			calls++
			if calls == 3 {
				return errConsume
			}
			return nil
		})
		if !errors.Is(err, errConsume) {
			t.Errorf("error = %v, want %v", err, errConsume)
		}
		if calls != 3 {
			t.Errorf("consume called %d times after its error, want 3", calls)
		}
	})
	t.Run("read error after the batches before it", func(t *testing.T) {
		p := pipeline{workers: 2, classify: evenEvents}
		read := func(ctx context.Context, fn func([]record.Entry) error) error {
			if err := fakeRead(3, 5)(ctx, fn); err != nil {
				return err
			}
			return errRead
		}
		entries := 0
		err := p.run(t.Context(), read, func(es []record.Entry, _ []classify.Match) error {
			entries += len(es)
			return nil
		})
		if !errors.Is(err, errRead) {
			t.Errorf("error = %v, want %v", err, errRead)
		}
		if entries != 15 {
			t.Errorf("consumed %d entries, want the 15 read before the error", entries)
		}
	})
}

// TestPipelineKeep: matches without an event that keep accepts reach the
// consumer, in entry order among the events.
func TestPipelineKeep(t *testing.T) {
	p := pipeline{workers: 3, classify: evenEvents, keep: func(m *classify.Match) bool { return m.Signature == "five" }}
	var got []string
	err := p.run(t.Context(), fakeRead(4, 10), func(_ []record.Entry, ms []classify.Match) error {
		for _, m := range ms {
			if m.HasEvent {
				got = append(got, m.Event.Message)
			} else {
				got = append(got, "kept "+m.Message)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 40 {
		switch {
		case i%10 == 5:
			want = append(want, "kept "+strconv.Itoa(i))
		case i%2 == 0:
			want = append(want, strconv.Itoa(i))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
}
