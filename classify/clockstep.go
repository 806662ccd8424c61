package classify

import (
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/patterns"
)

// MinClockStep is the least lateness DefaultClockStep takes for a clock
// stepped back: far above the few seconds by which a journal merged from
// several files can be out of order.
const MinClockStep = 10 * time.Minute

// DefaultClockStep returns the lateness beyond which the rules over time
// take an entry as its host's clock having been stepped back: twice the
// longest reach of a rule (how late an entry can be and still count: a
// count window, a quantile window and one step, a persist rule's for and
// max_gap), and at least MinClockStep. Below the reach an entry can still
// count, so it must not restart the windows; up to twice the reach it is
// taken as a late entry of a lagging file, which drops it and nothing else.
func DefaultClockStep(rules []*patterns.Rule) time.Duration {
	var reach time.Duration
	for _, r := range rules {
		reach = max(reach, r.Window, r.MaxGap)
		if r.Kind == patterns.QuantileRule {
			reach = max(reach, r.Window+r.Step)
		}
	}
	return max(MinClockStep, 2*reach)
}

// hostClock is the timeline of one host.
type hostClock struct {
	hwm int64 // the latest timestamp fed, on the host's current clock
	// ref is the cursor of an entry on the current clock (the latest fed,
	// or the one that showed a step), whose monotonic time measures a
	// later step; refAt is its timestamp. ref is "" when unknown.
	ref   string
	refAt int64
}

// stepBack handles an entry of a host at t, later than the host's
// high-water mark by more than the clock step: the host's clock was stepped
// back (an NTP step, an operator setting the clock). The host's timeline
// restarts at the entry, so that its entries count again:
//
//   - When the entry and the reference entry carry the monotonic clock (in
//     their journal cursors, of the same boot), the step is measured:
//     (t - refAt) - (monotonic elapsed). If the clock went back by more than
//     the clock step, every window of the host is moved by it onto the new
//     clock, as if the clock had always been right; else the entry is only
//     old (a lagging file of a merged journal) and is left to the windows,
//     which drop it as late.
//   - Otherwise how much time passed across the step is unknown: the windows
//     of the host are emptied (what they held cannot be placed on the new
//     clock), but a derived event that fired stays in its episode as if no
//     time had passed: it fires again only once its condition has been false
//     for clear_after after the step (persist rules: a pause longer than
//     max_gap, or a cleared_by event). A storm going on across the step is
//     one derived event; a storm that begins within clear_after of the step,
//     on a rule that was firing just before it, is taken for the same one.
func (r *Rules) stepBack(m *Match, t int64, hc *hostClock) {
	d, exact := t-hc.hwm, false
	if s, ok := measureStep(hc, m.Cursor, t); ok {
		if s >= -r.clockStep {
			return
		}
		d, exact = s, true
	}
	for _, cr := range r.rules {
		for _, g := range cr.groups {
			if g.head().host != m.Host {
				continue
			}
			if exact {
				g.shift(cr, d)
			} else {
				g.restart(cr, hc.hwm, d)
			}
		}
	}
	hc.hwm, hc.ref, hc.refAt = max(hc.hwm+d, t), m.Cursor, t
	// The latest time over the hosts went back with this one's: sweep on
	// the hosts' current clocks.
	r.hwm = noTime
	for _, h := range r.hosts {
		r.hwm = max(r.hwm, h.hwm)
	}
	r.nextSweep = min(r.nextSweep, r.hwm+sweepEvery)
}

// measureStep returns by how much the clock stepped between the reference
// entry of hc and an entry at t with the cursor: the difference of their
// timestamps less that of their monotonic times. It is false unless both
// cursors carry the monotonic time of the same boot.
func measureStep(hc *hostClock, cursor string, t int64) (int64, bool) {
	if hc.ref == "" || cursor == "" {
		return 0, false
	}
	b0, m0, ok0 := cursorClock(hc.ref)
	b1, m1, ok1 := cursorClock(cursor)
	if !ok0 || !ok1 || b0 != b1 {
		return 0, false
	}
	return (t - hc.refAt) - (m1-m0)*int64(time.Microsecond), true
}

// cursorClock returns the boot id and the monotonic time (in microseconds)
// of a journal cursor ("s=...;i=...;b=<boot id>;m=<hex usec>;t=...;x=...").
func cursorClock(c string) (boot string, mono int64, ok bool) {
	var hasMono bool
	for c != "" {
		var part string
		part, c, _ = strings.Cut(c, ";")
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "b":
			boot = v
		case "m":
			u, err := strconv.ParseUint(v, 16, 63)
			if err != nil {
				return "", 0, false
			}
			mono, hasMono = int64(u), true
		}
	}
	return boot, mono, boot != "" && hasMono
}
