package engine

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

func library(t testing.TB) *patterns.Library {
	t.Helper()
	lib, err := patterns.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// sample reads the bundled sample journal export as batches of 64.
func sample(t testing.TB) [][]record.Entry {
	t.Helper()
	f, err := os.Open("../examples/sample.export")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var batches [][]record.Entry
	var cur []record.Entry
	err = tail.ReadInput(t.Context(), f, tail.InputOptions{Units: patterns.BuiltinServices().Units()}, func(b []record.Entry) error {
		for _, e := range b {
			if cur = append(cur, e); len(cur) == 64 {
				batches, cur = append(batches, cur), nil
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(batches, cur)
}

func readBatches(batches [][]record.Entry) ReadFunc {
	return func(ctx context.Context, fn func([]record.Entry) error) error {
		for _, b := range batches {
			if err := fn(append([]record.Entry(nil), b...)); err != nil {
				return err
			}
		}
		return nil
	}
}

func collect(t *testing.T, e *Engine, workers int, batches [][]record.Entry) []record.Event {
	t.Helper()
	var got []record.Event
	err := e.Run(t.Context(), workers, readBatches(batches), func(_ []record.Entry, evs []record.Event) error {
		got = append(got, evs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRunAsProcess checks that reading on several workers gives what one
// goroutine gives entry by entry, derived events included and in order.
func TestRunAsProcess(t *testing.T) {
	lib := library(t)
	batches := sample(t)
	var want []record.Event
	one := New(lib, Options{})
	for _, b := range batches {
		want = one.Process(b, want)
	}
	derived := 0
	for _, ev := range want {
		if ev.Derived {
			derived++
		}
	}
	if len(want) < 50 || derived == 0 {
		t.Fatalf("the sample gave %d events, %d derived: want many, some derived", len(want), derived)
	}
	for _, workers := range []int{1, 2, 7} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			got := collect(t, New(lib, Options{}), workers, batches)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Run with %d workers differs from Process (-want +got):\n%s", workers, diff)
			}
		})
	}
}

// panicOn makes the classifier panic on entries whose message is msg.
func panicOn(msg string) func(*classify.Classifier, *record.Entry, *classify.Match) bool {
	return func(c *classify.Classifier, e *record.Entry, m *classify.Match) bool {
		if e.Message == msg {
			panic("classifier bug")
		}
		return c.MatchInto(e, m)
	}
}

// TestPanicIsAnEvent checks that an entry the classifier panics on becomes
// a cflogd.internal_error event with its cursor, counted, and that the
// entries after it are classified as usual, on both paths.
func TestPanicIsAnEvent(t *testing.T) {
	lib := library(t)
	entries := []record.Entry{
		{Unit: "chainfire.service", Host: "node01", Message: "WARN chainfire_raft: Election timeout, no heartbeat from leader", Cursor: "c1"},
		{Unit: "chainfire.service", Host: "node01", Message: "boom", Cursor: "c2"},
		{Unit: "chainfire.service", Host: "node01", Message: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms", Cursor: "c3"},
	}
	check := func(t *testing.T, e *Engine, got []record.Event) {
		t.Helper()
		var sigs, cursors []string
		for _, ev := range got {
			sigs, cursors = append(sigs, ev.Signature), append(cursors, ev.Cursor)
		}
		if diff := cmp.Diff([]string{"chainfire.election_timeout", InternalErrorSignature, "chainfire.rocksdb_stall"}, sigs); diff != "" {
			t.Errorf("signatures (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"c1", "c2", "c3"}, cursors); diff != "" {
			t.Errorf("cursors (-want +got):\n%s", diff)
		}
		if got[1].Severity != record.Error || got[1].Fields["panic"] != "classifier bug" {
			t.Errorf("internal error event: severity %v, fields %v", got[1].Severity, got[1].Fields)
		}
		if e.Failures() != 1 {
			t.Errorf("Failures() = %d, want 1", e.Failures())
		}
	}
	t.Run("Process", func(t *testing.T) {
		e := New(lib, Options{Log: zerolog.Nop()})
		e.matchInto = panicOn("boom")
		check(t, e, e.Process(entries, nil))
	})
	t.Run("Run", func(t *testing.T) {
		e := New(lib, Options{Log: zerolog.Nop()})
		e.matchInto = panicOn("boom")
		check(t, e, collect(t, e, 2, [][]record.Entry{entries[:2], entries[2:]}))
	})
}

// TestConsumeErrorStops checks that Run returns consume's first error and
// stops reading.
func TestConsumeErrorStops(t *testing.T) {
	e := New(library(t), Options{})
	batches := sample(t)
	stop := errors.New("stop")
	calls := 0
	err := e.Run(t.Context(), 2, readBatches(batches), func([]record.Entry, []record.Event) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Run = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// TestReplayFeedsOnlyRules checks that replayed entries give no events
// but count in the windows: the storm they start fires on the next entry.
func TestReplayFeedsOnlyRules(t *testing.T) {
	e := New(library(t), Options{})
	timeout := func(s int) record.Entry {
		return record.Entry{Unit: "chainfire.service", Host: "node01", Time: timeAt(s), Message: "WARN chainfire_raft: Election timeout, no heartbeat from leader"}
	}
	e.Replay([]record.Entry{timeout(0), timeout(10)})
	if !e.RulesChanged() {
		t.Error("replay did not change the windows")
	}
	got := e.Process([]record.Entry{timeout(20)}, nil)
	var sigs []string
	for _, ev := range got {
		sigs = append(sigs, ev.Signature)
	}
	if diff := cmp.Diff([]string{"chainfire.election_timeout", "chainfire.election_storm"}, sigs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestIgnore checks that ignored entries are neither classified nor fed.
func TestIgnore(t *testing.T) {
	e := New(library(t), Options{Ignore: func(en *record.Entry) bool { return en.PID == 42 }})
	got := e.Process([]record.Entry{{Unit: "chainfire.service", PID: 42, Message: "ERROR chainfire_storage: corrupted log entry"}}, nil)
	if len(got) != 0 {
		t.Errorf("ignored entry gave %d events", len(got))
	}
}

func timeAt(s int) time.Time { return time.Date(2026, 11, 26, 10, 0, s, 0, time.UTC) }
