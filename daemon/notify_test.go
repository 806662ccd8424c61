package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/slack"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

var defaultTiming = Timing{
	GroupWait:      10 * time.Second,
	GroupInterval:  5 * time.Minute,
	RepeatInterval: 4 * time.Hour,
	ResolveTimeout: 5 * time.Minute,
	MinSeverity:    record.Warning,
}

// slackServer records the Slack messages it receives.
type slackServer struct {
	*testpeer.Recorder
	t     *testing.T
	taken int // requests take already returned
}

func newSlackServer(t *testing.T) *slackServer {
	return &slackServer{Recorder: testpeer.NewRecorder(t, testpeer.Script()), t: t}
}

// take returns the fallback texts received since the last take.
func (s *slackServer) take() []string {
	reqs := s.Requests()[s.taken:]
	s.taken += len(reqs)
	var out []string
	for _, r := range reqs {
		var m slack.Message
		if err := json.Unmarshal(r.Body, &m); err != nil {
			s.t.Errorf("decode slack message: %v", err)
		}
		out = append(out, m.Text)
	}
	return out
}

func newSlackNotifier(t *testing.T, srv *slackServer, clk *fakeClock) *Notifier {
	t.Helper()
	sk, err := slack.New(slack.Config{URL: redact.Secret(srv.URL + "/services/T/B/x")})
	if err != nil {
		t.Fatal(err)
	}
	return NewNotifier("slack", defaultTiming, sk, zerolog.Nop(), clk.now)
}

// slackRig is a notifier posting to a new Slack server, on a fake clock at t0.
func slackRig(t *testing.T) (*slackServer, *fakeClock, *Notifier) {
	srv, clk := newSlackServer(t), &fakeClock{t: t0}
	return srv, clk, newSlackNotifier(t, srv, clk)
}

// addPastGroupWait adds evs and flushes once group_wait (10 s) passed.
func addPastGroupWait(n *Notifier, clk *fakeClock, evs ...record.Event) {
	n.Add(evs)
	clk.advance(10 * time.Second)
	n.flush(context.Background(), clk.t)
}

// electionTimeout is an event of the given journal time.
func electionTimeout(at time.Time) record.Event {
	return record.Event{
		Time: record.Time{Time: at}, Host: "node01", Unit: "chainfire.service",
		Signature: "chainfire.election_timeout", Severity: record.Warning,
		Summary: "Raft election timeout: no heartbeat from the leader",
		Message: "WARN chainfire_raft: election timeout", Fingerprint: "fp-election",
	}
}

func stall(at time.Time, fp string, sev record.Severity) record.Event {
	return record.Event{
		Time: record.Time{Time: at}, Host: "node01", Unit: "chainfire.service",
		Signature: "chainfire.rocksdb_stall", Severity: sev, Summary: "RocksDB write stall",
		Message: "WARN chainfire_storage: RocksDB stall detected", Fingerprint: fp,
	}
}

const electionText = "[WARNING] chainfire.election_timeout on node01 (chainfire.service): Raft election timeout: no heartbeat from the leader"

func TestNotifierGroupsABurst(t *testing.T) {
	srv, clk, n := slackRig(t)
	ctx := context.Background()

	// Ten election timeouts within three seconds.
	for i := range 10 {
		n.Add([]record.Event{electionTimeout(clk.t)})
		clk.advance(300 * time.Millisecond)
		if next := n.flush(ctx, clk.t); next != t0.Add(10*time.Second) {
			t.Fatalf("after event %d: next flush %v, want group_wait after the first", i, next)
		}
	}
	if got := srv.take(); len(got) != 0 {
		t.Fatalf("messages before group_wait: %q", got)
	}
	clk.t = t0.Add(10 * time.Second)
	n.flush(ctx, clk.t)
	want := []string{electionText + " — 10 events since the last message"}
	if diff := cmp.Diff(want, srv.take()); diff != "" {
		t.Fatalf("after group_wait (-want +got):\n%s", diff)
	}
}

func TestNotifierUpdatesAndRepeats(t *testing.T) {
	srv, clk, n := slackRig(t)
	ctx := context.Background()
	addPastGroupWait(n, clk, stall(clk.t, "a", record.Warning))
	if got := srv.take(); len(got) != 1 {
		t.Fatalf("first message: got %d messages", len(got))
	}
	sent := clk.t

	// The same problem goes on: no update at the group interval.
	step := func(d time.Duration, evs ...record.Event) []string {
		t.Helper()
		end := clk.t.Add(d)
		for clk.t.Before(end) {
			clk.advance(time.Minute)
			n.Add(evs)
			n.flush(ctx, clk.t)
		}
		return srv.take()
	}
	if got := step(6*time.Minute, stall(clk.t, "a", record.Warning)); len(got) != 0 {
		t.Fatalf("update for an unchanged problem: %q", got)
	}
	// A new problem (another fingerprint) joins: one update, at the next
	// group interval tick after the last message.
	clk.advance(30 * time.Second)
	n.Add([]record.Event{stall(clk.t, "b", record.Warning)})
	n.flush(ctx, clk.t)
	if got := srv.take(); len(got) != 0 {
		t.Fatalf("update before the group interval: %q", got)
	}
	clk.t = sent.Add(10 * time.Minute)
	n.flush(ctx, clk.t)
	got := srv.take()
	if len(got) != 1 || !strings.Contains(got[0], "— 7 events since the last message") {
		t.Fatalf("update at the group interval: %q, want one with the 7 events since the first", got)
	}
	// Severity rises: an update at the next tick.
	tick := clk.t.Add(5 * time.Minute)
	if got := step(5*time.Minute, stall(clk.t, "a", record.Error)); len(got) != 1 || !strings.HasPrefix(got[0], "[ERROR]") {
		t.Fatalf("update for a higher severity: %q", got)
	}
	if clk.t != tick {
		t.Fatalf("clock %v, want %v", clk.t, tick)
	}
	last := clk.t
	// The problem goes on for hours: a repeat every repeat_interval.
	var repeats []string
	for clk.t.Before(last.Add(8*time.Hour + time.Minute)) {
		clk.advance(time.Minute)
		n.Add([]record.Event{stall(clk.t, "a", record.Error)})
		n.flush(ctx, clk.t)
		for _, m := range srv.take() {
			repeats = append(repeats, fmt.Sprintf("%v %s", clk.t.Sub(last), m[strings.LastIndex(m, "—"):]))
		}
	}
	wantRepeats := []string{
		"4h0m0s — 240 events since the last message",
		"8h0m0s — 240 events since the last message",
	}
	if diff := cmp.Diff(wantRepeats, repeats); diff != "" {
		t.Errorf("repeats (-want +got):\n%s", diff)
	}
}

func TestNotifierEndsQuietGroups(t *testing.T) {
	srv, clk, n := slackRig(t)
	ctx := context.Background()
	addPastGroupWait(n, clk, electionTimeout(clk.t))
	srv.take()
	// Quiet for longer than resolve_timeout: the group ends, and a new
	// event starts a new one with its own group_wait.
	for range 3 {
		clk.advance(5 * time.Minute)
		n.flush(ctx, clk.t)
	}
	if len(n.groups) != 0 {
		t.Fatalf("groups after a quiet period: %d, want 0", len(n.groups))
	}
	addPastGroupWait(n, clk, electionTimeout(clk.t))
	if diff := cmp.Diff([]string{electionText + " — 1 event since the last message"}, srv.take()); diff != "" {
		t.Errorf("after recurrence (-want +got):\n%s", diff)
	}
}

func TestNotifierIgnoresBelowMinSeverity(t *testing.T) {
	_, clk, n := slackRig(t)
	n.Add([]record.Event{stall(clk.t, "a", record.Info)})
	if len(n.groups) != 0 {
		t.Errorf("an info event made a group")
	}
}

func TestNotifierRestartDoesNotResend(t *testing.T) {
	srv, clk, n := slackRig(t)
	ctx := context.Background()
	var burst []record.Event
	for i := range 10 {
		burst = append(burst, electionTimeout(t0.Add(time.Duration(i)*300*time.Millisecond)))
	}
	addPastGroupWait(n, clk, burst...)
	if got := srv.take(); len(got) != 1 {
		t.Fatalf("first run: %d messages, want 1", len(got))
	}
	// A pending group (not yet sent) must survive the restart too.
	pending := stall(clk.t, "a", record.Warning)
	n.Add([]record.Event{pending})
	state, changed, err := n.MarshalState()
	if err != nil || !changed {
		t.Fatalf("MarshalState: changed %v, %v", changed, err)
	}
	if _, changed, _ := n.MarshalState(); changed {
		t.Errorf("MarshalState reports a change twice")
	}

	// Restart: the journal is read again from an older checkpoint, so the
	// same events come again.
	clk.advance(time.Second)
	n2 := newSlackNotifier(t, srv, clk)
	if err := n2.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	n2.Add(burst)
	n2.Add([]record.Event{pending})
	for range 20 {
		clk.advance(time.Second)
		n2.flush(ctx, clk.t)
	}
	got := srv.take()
	want := []string{"[WARNING] chainfire.rocksdb_stall on node01 (chainfire.service): RocksDB write stall — 1 event since the last message"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
	// New events after the restart are grouped as before: no resend, the
	// group goes on.
	n2.Add([]record.Event{electionTimeout(clk.t)})
	clk.advance(time.Minute)
	n2.flush(ctx, clk.t)
	if got := srv.take(); len(got) != 0 {
		t.Errorf("message for an ongoing group after restart: %q", got)
	}
	if err := n2.UnmarshalState([]byte("{")); err == nil {
		t.Error("UnmarshalState of a truncated log: no error")
	}
}

func TestNotifierRun(t *testing.T) {
	srv := newSlackServer(t)
	sk, err := slack.New(slack.Config{URL: redact.Secret(srv.URL + "/services/T/B/x")})
	if err != nil {
		t.Fatal(err)
	}
	timing := defaultTiming
	timing.GroupWait = 50 * time.Millisecond
	n := NewNotifier("slack", timing, sk, zerolog.Nop(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	for range 10 {
		n.Add([]record.Event{electionTimeout(time.Now())})
	}
	var got []string
	testpeer.Poll(5*time.Second, func() bool {
		got = srv.take()
		return len(got) > 0
	})
	cancel()
	<-done
	if diff := cmp.Diff([]string{electionText + " — 10 events since the last message"}, got); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
}
