package daemon

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/record"
)

// notifySink posts one notification: some events of a group and how many
// events the message stands for. slack.Sink has it; webhookNotifier adapts
// webhook.Sink.
type notifySink interface {
	Notify(ctx context.Context, events []record.Event, count int) error
}

// Timing is a notification sink's grouping, as Alertmanager's.
type Timing struct {
	// GroupWait delays the first message of a new group, so that a burst
	// becomes one message.
	GroupWait time.Duration
	// GroupInterval is the least time between two messages of a group.
	GroupInterval time.Duration
	// RepeatInterval is how often an ongoing problem that has not changed is
	// notified again.
	RepeatInterval time.Duration
	// ResolveTimeout ends a problem (one fingerprint) after this long
	// without an event; when it comes back, it counts as new.
	ResolveTimeout time.Duration
	// MinSeverity is the least severe event that is grouped.
	MinSeverity record.Severity
}

// Limits on what a group keeps.
const (
	keepEvents    = 100 // events of a group held for the next message
	persistEvents = 10  // of those, the newest written to the notification log
)

// Notifier groups events per host and signature (the lifecycle events of a
// service per host and unit: see incident.go) and posts them like
// Alertmanager does: the first message GroupWait after a group's first
// event, an update at most every GroupInterval when a new problem
// (fingerprint) joined or the severity rose, and a repeat every
// RepeatInterval while events keep coming. Its state (the notification log)
// is saved with the cursor, so a restart neither loses a pending group nor
// notifies again for events it already counted.
//
// Add is safe for concurrent use with Run; times come from now.
type Notifier struct {
	name   string
	timing Timing
	sink   notifySink
	log    zerolog.Logger
	now    func() time.Time
	onSend func(err error) // metrics hook, may be nil

	mu     sync.Mutex
	groups map[groupKey]*group
	dirty  bool
	wake   chan struct{}
	last   time.Time // the clock's last reading, to notice a jump
}

type groupKey struct{ Host, Signature string }

// group is one host and signature's notification state; its exported
// fields are the notification log.
type group struct {
	Host      string `json:"host"`
	Signature string `json:"signature"`
	// Next is when the group is next looked at.
	Next time.Time `json:"next"`
	// LastSent is when its last message went out; zero before the first.
	LastSent time.Time `json:"last_sent,omitzero"`
	// LastEvent is when its newest event arrived.
	LastEvent time.Time `json:"last_event"`
	// Covered is the journal time of the newest event counted: after a
	// restart, events up to it (read again from the journal) are skipped.
	Covered time.Time `json:"covered"`
	// Count is the number of events since the last message.
	Count int `json:"count"`
	// Sent is the highest severity notified; Seen the highest since.
	Sent record.Severity `json:"sent,omitempty"`
	Seen record.Severity `json:"seen"`
	// Alerts are the group's problems by fingerprint.
	Alerts map[string]*alert `json:"alerts"`
	// Events are the newest events since the last message.
	Events []record.Event `json:"events,omitempty"`

	replayed time.Time // Covered when the state was loaded
}

type alert struct {
	LastSeen time.Time `json:"last_seen"`
	Notified bool      `json:"notified"`
}

// NewNotifier returns a notifier posting to sink.
func NewNotifier(name string, timing Timing, sink notifySink, log zerolog.Logger, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	return &Notifier{
		name:   name,
		timing: timing,
		sink:   sink,
		log:    log.With().Str("sink", name).Logger(),
		now:    now,
		groups: map[groupKey]*group{},
		wake:   make(chan struct{}, 1),
	}
}

// Add groups events. It never blocks on the network.
func (n *Notifier) Add(events []record.Event) {
	if len(events) == 0 {
		return
	}
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.observe(now)
	created := false
	for i := range events {
		ev := &events[i]
		if ev.Severity < n.timing.MinSeverity {
			continue
		}
		k := notifyGroup(ev)
		g := n.groups[k]
		if g != nil && !g.replayed.IsZero() && !ev.Time.After(g.replayed) {
			continue // counted before the restart
		}
		if g == nil {
			g = &group{Host: k.Host, Signature: k.Signature, Next: now.Add(n.timing.GroupWait), Alerts: map[string]*alert{}}
			n.groups[k] = g
			created = true
		}
		a := g.Alerts[ev.Fingerprint]
		if a == nil || now.Sub(a.LastSeen) > n.timing.ResolveTimeout {
			a = &alert{}
			g.Alerts[ev.Fingerprint] = a
		}
		a.LastSeen = now
		g.LastEvent = now
		if ev.Time.After(g.Covered) {
			g.Covered = ev.Time.Time
		}
		g.Count++
		g.Seen = max(g.Seen, ev.Severity)
		if len(g.Events) == keepEvents {
			g.Events = slices.Delete(g.Events, 0, 1)
		}
		g.Events = append(g.Events, *ev)
		n.dirty = true
	}
	if created {
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// message is one notification to post.
type message struct {
	key    groupKey
	events []record.Event
	count  int
	kind   string // first, update, repeat
}

// due takes the messages that are due at now and updates the groups as if
// they were sent; it also forgets groups that ended. It returns the time
// it must be called again (zero: no group).
func (n *Notifier) due(now time.Time) ([]message, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.observe(now)
	var out []message
	var next time.Time
	keys := slices.SortedFunc(maps.Keys(n.groups), func(a, b groupKey) int {
		return cmp.Or(strings.Compare(a.Host, b.Host), strings.Compare(a.Signature, b.Signature))
	})
	for _, k := range keys {
		g := n.groups[k]
		if g.Next.After(now) {
			if next.IsZero() || g.Next.Before(next) {
				next = g.Next
			}
			continue
		}
		kind := ""
		switch {
		case g.Count == 0:
		case g.LastSent.IsZero():
			kind = "first"
		case g.Seen > g.Sent || g.hasNew():
			kind = "update"
		case now.Sub(g.LastSent) >= n.timing.RepeatInterval:
			kind = "repeat"
		}
		if kind != "" {
			events := g.Events
			if isLifecycleGroup(k) {
				events = withIncident(events)
			}
			out = append(out, message{key: k, events: events, count: g.Count, kind: kind})
			g.LastSent = now
			g.Count = 0
			g.Events = nil
			g.Sent = max(g.Sent, g.Seen)
			for _, a := range g.Alerts {
				a.Notified = true
			}
			n.dirty = true
		}
		// Forget problems that ended, and the group once all did.
		for fp, a := range g.Alerts {
			if now.Sub(a.LastSeen) > n.timing.ResolveTimeout && a.Notified {
				delete(g.Alerts, fp)
				n.dirty = true
			}
		}
		if len(g.Alerts) == 0 && kind == "" {
			delete(n.groups, k)
			n.dirty = true
			continue
		}
		// Next look: the following group interval tick, computed rather
		// than stepped to (a log saved long ago, or a damaged one with a
		// zero time, is many ticks behind).
		if gi := n.timing.GroupInterval; !g.Next.After(now) {
			g.Next = g.Next.Add((now.Sub(g.Next)/gi + 1) * gi)
			if !g.Next.After(now) { // centuries behind: the product overflowed
				g.Next = now.Add(gi)
			}
		}
		if next.IsZero() || g.Next.Before(next) {
			next = g.Next
		}
	}
	return out, next
}

// observe notes a clock reading. When the clock went back (set by hand or
// by NTP), the groups' times move back with it, as if no time had passed:
// otherwise every message would wait until the clock caught up again. The
// first reading after a notification log was loaded does the same for
// times that lie in the future (the clock went back while cflogd was
// stopped). A jump forward cannot be told from time passing: a group's
// problems may then end (resolve_timeout) and come back as new, one more
// message per group at most. The daemon's clock is time.Now, whose
// monotonic reading hides jumps from all of this within one process; what
// is left are the times saved across a restart. Called with n.mu held.
func (n *Notifier) observe(now time.Time) {
	last := n.last
	n.last = now
	if len(n.groups) == 0 {
		return
	}
	var step time.Duration
	if last.IsZero() {
		var latest time.Time
		for _, g := range n.groups {
			latest = maxTime(latest, g.LastEvent, g.LastSent)
			for _, a := range g.Alerts {
				latest = maxTime(latest, a.LastSeen)
			}
		}
		if !latest.After(now) {
			return
		}
		step = now.Sub(latest)
	} else if step = now.Sub(last); step >= 0 {
		return
	}
	n.log.Warn().Dur("jump", step).Msg("the clock went back; notification timing carries on as if no time had passed")
	for _, g := range n.groups {
		g.Next = g.Next.Add(step)
		if !g.LastSent.IsZero() {
			g.LastSent = g.LastSent.Add(step)
		}
		g.LastEvent = g.LastEvent.Add(step)
		for _, a := range g.Alerts {
			a.LastSeen = a.LastSeen.Add(step)
		}
	}
	n.dirty = true
}

// maxTime returns the latest of ts.
func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// hasNew reports whether a problem joined since the last message.
func (g *group) hasNew() bool {
	for _, a := range g.Alerts {
		if !a.Notified {
			return true
		}
	}
	return false
}

// flush posts what is due at now and returns when to flush next.
func (n *Notifier) flush(ctx context.Context, now time.Time) time.Time {
	msgs, next := n.due(now)
	for _, m := range msgs {
		err := n.sink.Notify(ctx, m.events, m.count)
		if n.onSend != nil {
			n.onSend(err)
		}
		if err != nil && ctx.Err() == nil {
			// The sink logged and counted it; a lost notification is not
			// retried forever, the events are in Loki.
			n.log.Debug().Str("signature", m.key.Signature).Err(err).Msg("notification not delivered")
		}
	}
	return next
}

// Run posts notifications when they are due until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := n.flush(ctx, n.now())
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(n.now()), time.Millisecond)
		}
		timer.Reset(wait) // leaves no stale tick in timer.C (Go 1.23 timers)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.wake:
		case <-timer.C:
		}
	}
}

// notifyState is the notification log file.
type notifyState struct {
	Version int      `json:"version"`
	Groups  []*group `json:"groups"`
}

// MarshalState returns the notification log, and whether it changed since
// the last call.
func (n *Notifier) MarshalState() ([]byte, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	changed := n.dirty
	st := notifyState{Version: 1}
	for _, g := range n.groups {
		c := *g
		if len(c.Events) > persistEvents {
			c.Events = c.Events[len(c.Events)-persistEvents:]
		}
		st.Groups = append(st.Groups, &c)
	}
	slices.SortFunc(st.Groups, func(a, b *group) int {
		return strings.Compare(a.Host+"\x00"+a.Signature, b.Host+"\x00"+b.Signature)
	})
	b, err := json.Marshal(st)
	if err != nil {
		return nil, false, fmt.Errorf("encode notification log: %w", err)
	}
	n.dirty = false
	return b, changed, nil
}

// markDirty makes the next MarshalState report a change: the last one could
// not be saved.
func (n *Notifier) markDirty() {
	n.mu.Lock()
	n.dirty = true
	n.mu.Unlock()
}

// errBadState is wrapped when a notification log cannot be read.
var errBadState = errors.New("bad notification log")

// UnmarshalState restores the notification log saved by MarshalState.
func (n *Notifier) UnmarshalState(b []byte) error {
	var st notifyState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%w: %w", errBadState, err)
	}
	if st.Version != 1 {
		return fmt.Errorf("%w: unknown version %d", errBadState, st.Version)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = map[groupKey]*group{}
	n.last = time.Time{} // the next reading checks the loaded times
	for _, g := range st.Groups {
		if g == nil {
			continue
		}
		if g.Alerts == nil {
			g.Alerts = map[string]*alert{}
		}
		for fp, a := range g.Alerts {
			if a == nil {
				delete(g.Alerts, fp)
			}
		}
		g.replayed = g.Covered
		n.groups[groupKey{g.Host, g.Signature}] = g
	}
	return nil
}
