package classify

import (
	"cmp"
	"slices"
)

// groupState is the window of one rule for one host and group_by key.
type groupState interface {
	head() *groupHead
	// expiry is the time after which the window can no longer matter: it
	// is empty and its condition cleared, so a fresh window is the same.
	expiry(cr *crule) int64
	// shift moves every time of the window by d: its host's clock was
	// stepped by d (measured), and the window goes on on the new clock.
	shift(cr *crule, d int64)
	// restart empties the window after its host's clock went back by an
	// unknown amount: first it is brought to the host's high-water mark
	// hwm, then moved by d (to the entry that showed the step: as if no
	// time had passed) without what it held, keeping a fired derived event
	// in its episode.
	restart(cr *crule, hwm, d int64)
}

// groupHead is what every window has: its group, its high-water mark and
// whether its derived event has fired and not yet cleared.
type groupHead struct {
	host string
	unit string
	keys []value
	hwm  int64 // latest timestamp seen; noTime before the first
	// active: the derived event fired and the condition has not cleared.
	active bool
	// falseSet: while active, the condition has been false since falseAt.
	falseSet bool
	falseAt  int64
}

func (h *groupHead) head() *groupHead { return h }

// advance moves the high-water mark to t, if t is later, first working out
// whether the condition went false in between (falseAt reports when, given
// no new entries, it first does in (from, to]) and whether it has then been
// false for clearAfter.
func (h *groupHead) advance(t, clearAfter int64, falseAt func(from, to int64) (int64, bool)) {
	if t <= h.hwm {
		return
	}
	if h.active && !h.falseSet && h.hwm != noTime {
		if f, ok := falseAt(h.hwm, t); ok {
			h.falseSet, h.falseAt = true, f
		}
	}
	if h.active && h.falseSet && t-h.falseAt >= clearAfter {
		h.active, h.falseSet = false, false
	}
	h.hwm = t
}

// shiftHead moves the high-water mark and the time the condition went false
// by d.
func (h *groupHead) shiftHead(d int64) {
	if h.hwm != noTime {
		h.hwm += d
	}
	if h.falseSet {
		h.falseAt += d
	}
}

// emptied records that the window was emptied at the high-water mark: a
// fired condition is false from there.
func (h *groupHead) emptied() {
	if h.active && !h.falseSet {
		h.falseSet, h.falseAt = true, h.hwm
	}
}

// settle records the condition at the high-water mark and reports whether
// the derived event fires now.
func (h *groupHead) settle(holds bool) bool {
	if holds {
		h.falseSet = false
		if !h.active {
			h.active = true
			return true
		}
		return false
	}
	if h.active && !h.falseSet {
		h.falseSet, h.falseAt = true, h.hwm
	}
	return false
}

// countGroup is a count rule's window: the times and cursors of the latest
// (at most Count) events, oldest first. The rule holds at the high-water
// mark T when it has Count of them and the oldest is at or after T-Window.
type countGroup struct {
	groupHead
	times   []int64
	cursors []string
}

func (g *countGroup) expiry(cr *crule) int64 { return g.hwm + cr.window + cr.clearAfter }

func (g *countGroup) holds(cr *crule) bool {
	return len(g.times) == cr.rule.Count && g.times[0] >= g.hwm-cr.window
}

// falseIn returns when, given no new entries, the condition first goes
// false in (from, to].
func (g *countGroup) falseIn(cr *crule, from, to int64) (int64, bool) {
	if len(g.times) < cr.rule.Count {
		return from, true
	}
	// The oldest of the Count leaves the window after times[0]+window.
	if until := g.times[0] + cr.window; until < to {
		return until + 1, true
	}
	return 0, false
}

func (g *countGroup) shift(cr *crule, d int64) {
	for i := range g.times {
		g.times[i] += d
	}
	g.shiftHead(d)
}

func (g *countGroup) restart(cr *crule, hwm, d int64) {
	g.advance(hwm, cr.clearAfter, func(from, to int64) (int64, bool) { return g.falseIn(cr, from, to) })
	g.shiftHead(d)
	clear(g.cursors)
	g.times, g.cursors = g.times[:0], g.cursors[:0]
	g.emptied()
}

func (g *countGroup) feed(cr *crule, t int64, cursor string) (derived, bool) {
	n := cr.rule.Count
	g.advance(t, cr.clearAfter, func(from, to int64) (int64, bool) { return g.falseIn(cr, from, to) })
	if t >= g.hwm-cr.window {
		g.insert(n, t, cursor)
	}
	if !g.settle(g.holds(cr)) {
		return derived{}, false
	}
	return derived{at: g.hwm, count: n, first: g.cursors[0], last: g.cursors[len(g.cursors)-1]}, true
}

// insert adds an event, keeping the latest n by time (an equal time goes
// after those already there).
func (g *countGroup) insert(n int, t int64, cursor string) {
	if g.times == nil {
		g.times, g.cursors = make([]int64, 0, n), make([]string, 0, n)
	}
	i, _ := slices.BinarySearch(g.times, t+1) // first index with a time > t
	if len(g.times) < n {
		g.times = slices.Insert(g.times, i, t)
		g.cursors = slices.Insert(g.cursors, i, cursor)
		return
	}
	if i == 0 {
		return // older than all n kept: it cannot change the window
	}
	copy(g.times, g.times[1:i])
	copy(g.cursors, g.cursors[1:i])
	g.times[i-1], g.cursors[i-1] = t, cursor
}

// quantGroup is a quantile rule's window: per step (Step of journal time,
// aligned to the Unix epoch) the number of values and of values above the
// threshold, with a sketch of those above. Only steps with values are kept,
// oldest first; totals are kept over them.
type quantGroup struct {
	groupHead
	steps    []qstep
	n, above uint64
	// firstCursor is the cursor of the first value above the threshold
	// since the window last held none.
	firstCursor string
}

type qstep struct {
	k        int64 // the step's index: its start time / Step
	n, above uint32
	sk       *aboveSketch // nil until a value above the threshold
}

func (g *quantGroup) expiry(cr *crule) int64 { return g.hwm + cr.window + cr.clearAfter }

// stepOf returns the index of the step holding time t.
func stepOf(t, step int64) int64 {
	k := t / step
	if t%step < 0 {
		k--
	}
	return k
}

// quantHolds is the rule's condition over n values of which above are
// above the threshold: the quantile is above the threshold.
func quantHolds(pr *crule, n, above uint64) bool {
	return n >= uint64(pr.rule.MinCount) && n > 0 && n-above < quantileRank(pr.rule.Quantile, n)
}

// falseIn returns when, given no new entries, the condition first goes
// false in (from, to].
func (g *quantGroup) falseIn(cr *crule, from, to int64) (int64, bool) {
	// Between entries steps only leave the window; the step with index k
	// leaves when step k+steps begins.
	n, above := g.n, g.above
	kt := stepOf(to, cr.step)
	for i := 0; i < len(g.steps); {
		j := g.steps[i].k + cr.steps // the step at which steps[i] leaves
		if j > kt {
			break
		}
		for i < len(g.steps) && g.steps[i].k <= j-cr.steps {
			n -= uint64(g.steps[i].n)
			above -= uint64(g.steps[i].above)
			i++
		}
		if j*cr.step > from && !quantHolds(cr, n, above) {
			return j * cr.step, true
		}
	}
	if !quantHolds(cr, n, above) {
		return from, true
	}
	return 0, false
}

// shift moves the window by d rounded to whole steps (they stay aligned to
// the epoch): what the window holds moves by at most half a step more or
// less than the clock did.
func (g *quantGroup) shift(cr *crule, d int64) {
	kd := stepOf(d+cr.step/2, cr.step)
	for i := range g.steps {
		g.steps[i].k += kd
	}
	g.shiftHead(kd * cr.step)
}

func (g *quantGroup) restart(cr *crule, hwm, d int64) {
	g.advance(hwm, cr.clearAfter, func(from, to int64) (int64, bool) { return g.falseIn(cr, from, to) })
	g.shiftHead(d)
	clear(g.steps)
	g.steps, g.n, g.above, g.firstCursor = g.steps[:0], 0, 0, ""
	g.emptied()
}

func (g *quantGroup) feed(cr *crule, t int64, v float64, cursor string) (derived, bool) {
	g.advance(t, cr.clearAfter, func(from, to int64) (int64, bool) { return g.falseIn(cr, from, to) })
	g.expire(cr)
	if k := stepOf(t, cr.step); k > stepOf(g.hwm, cr.step)-cr.steps {
		g.add(cr, k, v, cursor)
	}
	if !g.settle(quantHolds(cr, g.n, g.above)) {
		return derived{}, false
	}
	return derived{at: g.hwm, count: int(min(g.n, uint64(maxInt))), first: g.firstCursor, last: cursor,
		value: g.estimate(cr), hasValue: true}, true
}

const maxInt = int(^uint(0) >> 1)

// expire drops the steps that have left the window at the high-water mark.
func (g *quantGroup) expire(cr *crule) {
	oldest := stepOf(g.hwm, cr.step) - cr.steps // this step and older are out
	i := 0
	for i < len(g.steps) && g.steps[i].k <= oldest {
		g.n -= uint64(g.steps[i].n)
		g.above -= uint64(g.steps[i].above)
		i++
	}
	if i > 0 {
		g.steps = slices.Delete(g.steps, 0, i)
	}
	if g.above == 0 {
		g.firstCursor = ""
	}
}

func (g *quantGroup) add(cr *crule, k int64, v float64, cursor string) {
	i, found := slices.BinarySearchFunc(g.steps, k, func(s qstep, k int64) int { return cmp.Compare(s.k, k) })
	if !found {
		if g.steps == nil {
			g.steps = make([]qstep, 0, cr.steps)
		}
		g.steps = slices.Insert(g.steps, i, qstep{k: k})
	}
	s := &g.steps[i]
	if s.n == ^uint32(0) {
		return // 4 billion values in one step: stop counting rather than wrap
	}
	s.n++
	g.n++
	x := cr.rule.Above
	if v > x {
		s.above++
		g.above++
		if s.sk == nil {
			s.sk = &aboveSketch{}
		}
		s.sk.add(v, x)
		if g.firstCursor == "" {
			g.firstCursor = cursor
		}
	}
}

// estimate returns the quantile's value (only meaningful when above the
// threshold).
func (g *quantGroup) estimate(cr *crule) float64 {
	r := quantileRank(cr.rule.Quantile, g.n)
	below := g.n - g.above
	if r <= below {
		return cr.rule.Above
	}
	sks := make([]*aboveSketch, 0, len(g.steps))
	for _, s := range g.steps {
		sks = append(sks, s.sk)
	}
	return estimateAbove(sks, r-below, cr.rule.Above)
}

// persistGroup is a persist rule's window: the current run of events (its
// first and latest time, how many, the first cursor) and the latest event
// of a cleared_by signature.
type persistGroup struct {
	groupHead
	hasRun      bool
	start, last int64
	n           int
	firstCursor string
	hasClear    bool
	clearAt     int64
}

func (g *persistGroup) expiry(cr *crule) int64 {
	if g.hasRun {
		return g.last + cr.maxGap
	}
	return g.hwm
}

func (g *persistGroup) shift(cr *crule, d int64) {
	if g.hasRun {
		g.start += d
		g.last += d
	}
	if g.hasClear {
		g.clearAt += d
	}
	if g.hwm != noTime {
		g.hwm += d
	}
}

// restart keeps a run whose derived event fired (the episode goes on while
// events keep coming within max_gap) and drops one that has not fired yet.
func (g *persistGroup) restart(cr *crule, hwm, d int64) {
	if g.hasRun && hwm > g.last+cr.maxGap {
		g.hasRun, g.active = false, false // a gap: the problem went away
	}
	if g.hasRun && !g.active {
		g.hasRun, g.firstCursor = false, ""
	}
	g.shift(cr, d)
}

func (g *persistGroup) trigger(cr *crule, t int64, cursor string) (derived, bool) {
	if g.hasClear && t <= g.clearAt {
		return derived{}, false // before the latest clear: that run is over
	}
	if g.hasRun && t > g.last+cr.maxGap {
		g.hasRun, g.active = false, false // a gap: the problem went away
	}
	switch {
	case !g.hasRun:
		g.hasRun, g.start, g.last, g.n, g.firstCursor = true, t, t, 1, cursor
	case t < g.start && g.start-t > cr.maxGap:
		return derived{}, false // too old to join the run
	default:
		g.n++
		if t > g.last {
			g.last = t
		}
		if t < g.start {
			g.start, g.firstCursor = t, cursor
		}
	}
	g.hwm = max(g.hwm, t)
	if g.active || g.last-g.start < cr.window {
		return derived{}, false
	}
	g.active = true
	return derived{at: g.last, count: g.n, first: g.firstCursor, last: cursor}, true
}

// clear records an event of a cleared_by signature at t: a run that began
// at or before it is over.
func (g *persistGroup) clear(t int64) {
	if !g.hasClear || t > g.clearAt {
		g.hasClear, g.clearAt = true, t
	}
	if g.hasRun && t >= g.start {
		g.hasRun, g.active, g.firstCursor = false, false, ""
	}
	g.hwm = max(g.hwm, t)
}
