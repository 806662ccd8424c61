package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
)

// followExport renders entries msg<from>..msg<to-1> of chainfire.service
// (and one sshd entry after each, which the unit match drops).
func followExport(from, to int) []byte {
	var b []byte
	for i := from; i < to; i++ {
		f := append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", fmt.Sprintf("msg%d", i)})
		b = append(b, exportEntry(float64(i), bootA, f...)...)
		g := append(fieldsOf("ssh.service", "sshd", 99), [2]string{"MESSAGE", fmt.Sprintf("ssh%d", i)})
		b = append(b, exportEntry(float64(i)+0.5, bootA, g...)...)
	}
	return b
}

// follower runs Follow in the background and collects what it hands over.
type followRun struct {
	mu      sync.Mutex
	msgs    []string
	cursors []string
	gaps    []*Gap
	atEnd   int
	beats   int
	done    chan error
	cancel  context.CancelFunc
}

func startFollow(tb testing.TB, opts FollowOptions) *followRun {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &followRun{done: make(chan error, 1), cancel: cancel}
	opts.WaitTimeout = 50 * time.Millisecond
	opts.Heartbeat = func() { r.mu.Lock(); r.beats++; r.mu.Unlock() }
	go func() {
		r.done <- Follow(ctx, opts, func(b FollowBatch) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, e := range b.Entries {
				r.msgs = append(r.msgs, e.Message)
				r.cursors = append(r.cursors, e.Cursor)
			}
			if b.Gap != nil {
				r.gaps = append(r.gaps, b.Gap)
			}
			if b.AtEnd {
				r.atEnd++
			}
			return nil
		})
	}()
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

// waitFor polls until n messages arrived or 20 s passed, and returns
// them.
func (r *followRun) waitFor(tb testing.TB, n int) []string {
	tb.Helper()
	return r.waitUntil(tb, func(got []string) bool { return len(got) >= n })
}

// waitUntil polls until done accepts the messages or 20 s passed, and
// returns them; it fails the test when Follow returns.
func (r *followRun) waitUntil(tb testing.TB, done func([]string) bool) []string {
	tb.Helper()
	var got []string
	testpeer.Poll(20*time.Second, func() bool {
		select {
		case err := <-r.done:
			tb.Fatalf("Follow returned early: %v", err)
		default:
		}
		r.mu.Lock()
		got = append([]string(nil), r.msgs...)
		r.mu.Unlock()
		return done(got)
	})
	return got
}

func (r *followRun) stop(tb testing.TB) {
	tb.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("Follow: %v", err)
		}
	case <-time.After(2 * time.Second):
		tb.Fatal("Follow did not return within 2s of cancel")
	}
}

func msgs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("msg%d", i))
	}
	return out
}

func skipWithoutJournal(tb testing.TB) {
	tb.Helper()
	if _, err := openSDJournal(&Options{Directory: tb.TempDir()}); errors.Is(err, ErrNoJournal) {
		tb.Skip("journal reader not in this build (needs cgo)")
	}
}

func TestFollowGrowingDirectory(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 50))
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, Start: StartHead})
	if diff := cmp.Diff(msgs(0, 50), r.waitFor(t, 50)); diff != "" {
		t.Fatalf("first file (-want +got):\n%s", diff)
	}
	// A new file in the directory (SD_JOURNAL_INVALIDATE) continues the stream.
	testjournal.Write(t, dir, "b.journal", followExport(50, 120))
	if diff := cmp.Diff(msgs(0, 120), r.waitFor(t, 120)); diff != "" {
		t.Fatalf("after a second file (-want +got):\n%s", diff)
	}
	r.stop(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.atEnd == 0 || r.beats == 0 {
		t.Errorf("AtEnd batches %d, heartbeats %d; want both > 0", r.atEnd, r.beats)
	}
	for i, c := range r.cursors {
		if c == "" {
			t.Fatalf("entry %d has no cursor", i)
		}
	}
}

func TestFollowResumesAfterCursor(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 30))
	all := readAllCursors(t, dir)
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, AfterCursor: all[9]})
	if diff := cmp.Diff(msgs(10, 30), r.waitFor(t, 20)); diff != "" {
		t.Errorf("after cursor of msg9 (-want +got):\n%s", diff)
	}
	r.stop(t)
	if len(r.gaps) != 0 {
		t.Errorf("gap reported for a cursor that exists: %+v", r.gaps[0])
	}
}

func TestFollowGapWhenCursorRotatedAway(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	a := testjournal.Write(t, dir, "a.journal", followExport(0, 30))
	saved := readAllCursors(t, dir)[9]
	testjournal.Write(t, dir, "b.journal", followExport(30, 40))
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, AfterCursor: saved})
	if diff := cmp.Diff(msgs(30, 40), r.waitFor(t, 10)); diff != "" {
		t.Errorf("after the gap (-want +got):\n%s", diff)
	}
	r.stop(t)
	if len(r.gaps) != 1 {
		t.Fatalf("gaps = %d, want 1", len(r.gaps))
	}
	g := r.gaps[0]
	if g.Cursor != saved || g.Resume == "" || !g.Time.Equal(at(9)) || !g.ResumeTime.Equal(at(30)) {
		t.Errorf("gap = %+v; want saved cursor, its time %v, resume at %v", g, at(9), at(30))
	}
}

func TestFollowFromTail(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 20))
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, Start: StartTail})
	// Wait until the reader reached the end before appending.
	testpeer.Eventually(t, 10*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.atEnd > 0
	}, "the reader at the end of the journal")
	testjournal.Write(t, dir, "b.journal", followExport(20, 25))
	if diff := cmp.Diff(msgs(20, 25), r.waitFor(t, 5)); diff != "" {
		t.Errorf("from tail (-want +got):\n%s", diff)
	}
}

func TestFollowSince(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 20))
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, Start: StartSince, Since: at(15)})
	if diff := cmp.Diff(msgs(15, 20), r.waitFor(t, 5)); diff != "" {
		t.Errorf("since msg15 (-want +got):\n%s", diff)
	}
}

func TestLostBetween(t *testing.T) {
	const s1, s2 = "s=0123456789abcdef0123456789abcdef", "s=fedcba9876543210fedcba9876543210"
	tests := []struct {
		a, b string
		want int64
	}{
		{s1 + ";i=10;t=1", s1 + ";i=15;t=2", 4},
		{s1 + ";i=10;t=1", s1 + ";i=11;t=1", 0},
		{s1 + ";i=10;t=1", s2 + ";i=11;t=1", -1},
		{s1 + ";i=10;t=1", s1 + ";i=9;t=1", -1},
		{"garbage", s1 + ";i=9;t=1", -1},
	}
	for _, tt := range tests {
		if got := lostBetween(tt.a, tt.b); got != tt.want {
			t.Errorf("lostBetween(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// readAllCursors returns the cursors of the chainfire entries of dir.
func readAllCursors(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := ReadJournal(context.Background(), Options{Directory: dir, Units: []string{"chainfire.service"}}, func(b []record.Entry) error {
		for _, e := range b {
			out = append(out, e.Cursor)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestFollowAcrossBoots resumes in the middle of one boot's entries: the
// rest of that boot comes before the next boot's, nothing is skipped.
func TestFollowAcrossBoots(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	var a, b []byte
	for i := range 10 {
		f := append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", fmt.Sprintf("msg%d", i)})
		a = append(a, exportEntry(float64(i), bootA, f...)...)
	}
	for i := 10; i < 15; i++ {
		f := append(fieldsOf("chainfire.service", "chainfire", 77), [2]string{"MESSAGE", fmt.Sprintf("msg%d", i)})
		// The next boot: later in real time, its monotonic clock starts again.
		e := exportEntry(float64(i), bootB, f...)
		b = append(b, bytes.Replace(e, []byte(fmt.Sprintf("__MONOTONIC_TIMESTAMP=%d", 5_000_000_000+int64(i)*1e6)), []byte(fmt.Sprintf("__MONOTONIC_TIMESTAMP=%d", int64(i-9)*1e6)), 1)...)
	}
	testjournal.Write(t, dir, "a.journal", a)
	saved := readAllCursors(t, dir)[6]
	testjournal.Write(t, dir, "b.journal", b)
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, AfterCursor: saved})
	if diff := cmp.Diff(msgs(7, 15), r.waitFor(t, 8)); diff != "" {
		t.Errorf("after a cursor in the previous boot (-want +got):\n%s", diff)
	}
}
