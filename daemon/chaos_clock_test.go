package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// The tests in this file jump the notifiers' clock by an hour, forward and
// back, in the middle of a stream of events. In the daemon the clock is
// time.Now, whose monotonic reading hides a wall-clock jump from durations
// measured within the process; the fake clock here has no monotonic
// reading, so these tests hold the notifier to a standard of its own: a
// jump back neither repeats a message nor delays one; a jump forward,
// which cannot be told from time passing, costs at most one message more
// per ongoing group (its problem looked ended for the jump's length), never
// a burst, and loses no group.

// posted is a message and when it was posted, in real time since the start.
type posted struct {
	at   time.Duration
	text string
}

// clockJumpRun feeds two groups one event every 10 s for an hour of real
// time, jumping the clock by jump after 30 minutes: an ongoing
// election-timeout problem, notified at the start, and a stall group that
// starts 10 s before the jump and is still waiting for group_wait then.
func clockJumpRun(t *testing.T, jump time.Duration) []posted {
	t.Helper()
	srv, clk, n := slackRig(t)
	ctx := context.Background()
	var got []posted
	elapsed := time.Duration(0) // real time since the start
	flush := func() {
		n.flush(ctx, clk.t)
		for _, m := range srv.take() {
			// The count depends on which step the message falls in.
			got = append(got, posted{elapsed, m[:strings.LastIndex(m, " — ")]})
		}
	}
	for elapsed <= time.Hour {
		evs := []record.Event{electionTimeout(clk.t)}
		if elapsed >= 30*time.Minute-10*time.Second {
			evs = append(evs, stall(clk.t, "a", record.Warning))
		}
		n.Add(evs)
		flush()
		// Time passes in steps shorter than group_wait, as Run's timer
		// makes it; the jump comes 5 s after the stall group began.
		for range 2 {
			clk.advance(5 * time.Second)
			elapsed += 5 * time.Second
			if elapsed == 30*time.Minute-5*time.Second {
				clk.advance(jump)
			}
			flush()
		}
	}
	return got
}

func TestChaosClockJumpNotifier(t *testing.T) {
	election := electionText
	stallText := "[WARNING] chainfire.rocksdb_stall on node01 (chainfire.service): RocksDB write stall"
	// Without a jump: each group's first message after group_wait, and
	// nothing more within the hour (the problems go on unchanged; the
	// repeat interval is 4 h).
	want := []posted{{10 * time.Second, election}, {30 * time.Minute, stallText}}
	// After a jump forward the problems look ended and come back as new:
	// one message more per group, no more.
	forward := []posted{
		{10 * time.Second, election},
		{30 * time.Minute, stallText},
		{30*time.Minute + 5*time.Second, election},
		{30*time.Minute + 10*time.Second, stallText},
	}
	for _, tt := range []struct {
		name string
		jump time.Duration
		want []posted
	}{
		{"no jump", 0, want},
		{"backward 1h", -time.Hour, want},
		{"backward 10m", -10 * time.Minute, want},
		{"backward 1s", -time.Second, want},
		{"forward 1h", time.Hour, forward},
		{"forward 10m", 10 * time.Minute, forward},
		{"forward 1m", time.Minute, want}, // less than resolve_timeout
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := clockJumpRun(t, tt.jump)
			// A message may come one step (5 s) later or earlier than
			// without the jump, no more.
			approx := cmp.Comparer(func(a, b time.Duration) bool { return a-b <= 5*time.Second && b-a <= 5*time.Second })
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(posted{}), approx); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChaosClockJumpAcrossRestart(t *testing.T) {
	// The clock goes back an hour while cflogd is stopped: the notification
	// log holds times an hour ahead. The pending group is still sent after
	// (at most) group_wait, and the ongoing problem is not notified again.
	srv, clk, n := slackRig(t)
	ctx := context.Background()
	addPastGroupWait(n, clk, electionTimeout(clk.t))
	if got := srv.take(); len(got) != 1 {
		t.Fatalf("first run: %d messages, want 1", len(got))
	}
	n.Add([]record.Event{stall(clk.t, "a", record.Warning)}) // pending
	st, _, err := n.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(-time.Hour + time.Second)
	n2 := newSlackNotifier(t, srv, clk)
	if err := n2.UnmarshalState(st); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 60 {
		clk.advance(time.Second)
		n2.Add([]record.Event{electionTimeout(clk.t)})
		n2.flush(ctx, clk.t)
		got = append(got, srv.take()...)
	}
	want := []string{"[WARNING] chainfire.rocksdb_stall on node01 (chainfire.service): RocksDB write stall — 1 event since the last message"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("within a minute of the restart (-want +got):\n%s", diff)
	}
}
