package classify

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// Rules evaluates a library's rules over time: it turns a stream of matches
// (Classifier.Match, in journal order) into derived events such as
// chainfire.election_storm. It does no I/O and reads no clock: windows run on
// the entries' timestamps, so feeding the same entries gives the same derived
// events whether they come from cflogd scan over a past window or from the
// daemon, in one pass or in pieces with the state saved and restored in
// between (MarshalState, UnmarshalState).
//
// Semantics:
//
//   - Every rule keeps one window per host and group_by key, on journal time.
//     Entries without a timestamp are not counted.
//   - A count rule counts the events (matches that fired) of its signature;
//     a quantile rule takes every match of its signature, fired or not (a
//     healthy "Handled put request, latency=15ms" counts towards the p99); a
//     persist rule watches the events of its signature and of its cleared_by
//     signatures.
//   - Count windows are exact: the rule holds at time T when Count events
//     fall within [T-Window, T]. Quantile windows slide in steps: at T they
//     hold the values of the steps (Step long, aligned to the Unix epoch)
//     that end after T-Window, and the quantile is the nearest-rank one,
//     computed exactly against the threshold (see sketch.go).
//   - Time does not go back: each window has a high-water mark, the latest
//     timestamp it has seen. An entry older than that (out of order, as in a
//     journal merged from several files) still counts if it falls inside the
//     window at the high-water mark, and is dropped if it does not. A late
//     entry never moves the window back.
//   - Except when a host's clock is stepped back. An entry behind the
//     latest of its host by more than the clock step (Options.ClockStep,
//     default DefaultClockStep: 20 min for the built-in rules) is taken as
//     the host's clock having gone back: the host's timeline restarts at the
//     entry, its windows moved onto the new clock by the step when the
//     journal cursors' monotonic times measure it, else emptied with the
//     fired derived events kept in their episode (see stepBack).
//   - A derived event fires at the entry that makes the condition true, and
//     not again until the condition has cleared: for count and quantile
//     rules, until it has been false for ClearAfter (default: the window), so
//     a one-hour storm whose rate wobbles around the threshold is one event;
//     for persist rules, until an event of a cleared_by signature or a gap of
//     more than MaxGap between events.
//   - The condition is evaluated when the rule's own entries arrive; between
//     them, it can only become false (windows empty out), and when it did is
//     worked out when the next entry arrives.
//   - Memory is bounded: windows hold counts, the times and cursors of at
//     most Count events (count rules), a small sketch per step (quantile
//     rules), or a run's start (persist rules), never the entries; per host
//     a high-water mark and one cursor (to measure clock steps). A window
//     whose state can no longer matter (empty, cleared) is dropped once its
//     host's entries have moved past it.
//
// Rules is not safe for concurrent use, except Wants.
type Rules struct {
	rules []*crule
	bySig map[string][]ruleRef
	base  string

	clockStep int64 // lateness beyond which a host's clock went back

	hosts     map[string]*hostClock // per host: its timeline
	hwm       int64                 // the latest of the hosts' high-water marks
	nextSweep int64
}

// sweepEvery is how much journal time passes between sweeps of windows that
// no longer matter.
const sweepEvery = int64(time.Minute)

// noTime is a high-water mark before any entry.
const noTime = math.MinInt64

// ruleRef is a rule reading a signature; clear is true for a persist rule's
// cleared_by signature.
type ruleRef struct {
	r     *crule
	clear bool
}

// crule is a compiled rule with its windows.
type crule struct {
	rule    *patterns.Rule
	runbook string
	// multiUnit: the rule's signature applies to several units, whose
	// windows the unit keeps apart in the fingerprint too.
	multiUnit  bool
	def        string // digest of the definition: saved state applies only to the same
	window     int64
	clearAfter int64
	step       int64
	steps      int64
	maxGap     int64
	groups     map[string]groupState
}

// NewRules compiles the rules of a library. The runbook base and the clock
// step are as in Options (empty: DefaultRunbookBase, DefaultClockStep).
func NewRules(lib *patterns.Library, opts Options) *Rules {
	return newRules(lib, lib.Rules, opts)
}

// newRules compiles rules of lib.
func newRules(lib *patterns.Library, rules []*patterns.Rule, opts Options) *Rules {
	base := cmp.Or(opts.RunbookBase, record.DefaultRunbookBase)
	step := opts.ClockStep
	if step <= 0 {
		step = DefaultClockStep(rules)
	}
	r := &Rules{bySig: map[string][]ruleRef{}, base: base, clockStep: int64(step), hosts: map[string]*hostClock{}, hwm: noTime, nextSweep: noTime}
	for _, pr := range rules {
		cr := &crule{
			rule:       pr,
			runbook:    base + runbookPath + pr.Anchor,
			def:        ruleDigest(pr),
			window:     int64(pr.Window),
			clearAfter: int64(pr.ClearAfter),
			step:       int64(pr.Step),
			maxGap:     int64(pr.MaxGap),
			groups:     map[string]groupState{},
		}
		if cr.step > 0 {
			cr.steps = cr.window / cr.step
		}
		for _, s := range lib.Signatures {
			if s.ID == pr.Signature {
				cr.multiUnit = len(s.Units) > 1
			}
		}
		r.rules = append(r.rules, cr)
		r.bySig[pr.Signature] = append(r.bySig[pr.Signature], ruleRef{r: cr})
		for _, id := range pr.ClearedBy {
			r.bySig[id] = append(r.bySig[id], ruleRef{r: cr, clear: true})
		}
	}
	return r
}

// ruleDigest hashes what decides a rule's state: a reloaded rule with the
// same digest keeps its windows.
func ruleDigest(r *patterns.Rule) string {
	var b strings.Builder
	b.WriteString(r.Kind.String())
	for _, part := range []string{
		r.Signature, strconv.Itoa(r.Count), strconv.FormatInt(int64(r.Window), 10), strconv.FormatInt(int64(r.ClearAfter), 10),
		r.Field, strconv.FormatFloat(r.Quantile, 'g', -1, 64), strconv.FormatFloat(r.Above, 'g', -1, 64),
		strconv.FormatInt(int64(r.Step), 10), strconv.Itoa(r.MinCount), strconv.FormatInt(int64(r.MaxGap), 10),
		strings.Join(r.ClearedBy, ","), strings.Join(r.GroupBy, ","),
	} {
		b.WriteByte(0)
		b.WriteString(part)
	}
	return hex16(xxhash.Sum64String(b.String()))
}

// Wants reports whether a rule reads matches of the signature id: callers
// may skip feeding the others. Safe for concurrent use.
func (r *Rules) Wants(id string) bool { return len(r.bySig[id]) > 0 }

// Len returns the number of rules.
func (r *Rules) Len() int { return len(r.rules) }

// Groups returns the number of windows held, over all rules.
func (r *Rules) Groups() int {
	n := 0
	for _, cr := range r.rules {
		n += len(cr.groups)
	}
	return n
}

// Feed advances the rules with one match, in journal order, and appends the
// derived events it fires to out.
func (r *Rules) Feed(m *Match, out []record.Event) []record.Event {
	refs := r.bySig[m.Signature]
	if len(refs) == 0 || m.Time.IsZero() {
		return out
	}
	t := m.Time.UnixNano()
	switch h := r.hosts[m.Host]; {
	case h == nil:
		r.hosts[m.Host] = &hostClock{hwm: t, ref: m.Cursor, refAt: t}
	case t > h.hwm:
		h.hwm, h.ref, h.refAt = t, m.Cursor, t
	case t < h.hwm-r.clockStep:
		r.stepBack(m, t, h)
	}
	for _, ref := range refs {
		out = r.feedRule(ref, m, t, out)
	}
	// Sweep after feeding, so that the entry's host, with its new window,
	// is not forgotten.
	if t > r.hwm {
		r.hwm = t
		if r.hwm >= r.nextSweep {
			r.sweep()
			r.nextSweep = r.hwm + sweepEvery
		}
	}
	return out
}

// sweep drops the windows whose state can no longer matter: their host's
// entries have moved past the point where they would be empty and cleared,
// so a fresh window gives the same results.
func (r *Rules) sweep() {
	live := map[string]bool{}
	for _, cr := range r.rules {
		for key, g := range cr.groups {
			h := g.head()
			if hc := r.hosts[h.host]; hc != nil && g.expiry(cr) < hc.hwm {
				delete(cr.groups, key)
				continue
			}
			live[h.host] = true
		}
	}
	for host := range r.hosts {
		if !live[host] {
			delete(r.hosts, host)
		}
	}
}

func (r *Rules) feedRule(ref ruleRef, m *Match, t int64, out []record.Event) []record.Event {
	cr := ref.r
	pr := cr.rule
	var v float64
	switch {
	case pr.Kind == patterns.QuantileRule:
		var ok bool
		f, _ := m.Field(pr.Field)
		if v, ok = numberOf(f); !ok || math.IsNaN(v) {
			return out
		}
	case !m.Fired:
		return out
	}
	key, vals := groupKey(m, pr.GroupBy)
	g := cr.groups[key]
	if g == nil {
		if ref.clear {
			return out // nothing to clear
		}
		head := groupHead{host: m.Host, unit: m.Unit, keys: vals, hwm: noTime}
		switch pr.Kind {
		case patterns.CountRule:
			g = &countGroup{groupHead: head}
		case patterns.QuantileRule:
			g = &quantGroup{groupHead: head}
		case patterns.PersistRule:
			g = &persistGroup{groupHead: head}
		default:
			return out
		}
		cr.groups[key] = g
	}
	var d derived
	var fired bool
	switch g := g.(type) {
	case *countGroup:
		d, fired = g.feed(cr, t, m.Cursor)
	case *quantGroup:
		d, fired = g.feed(cr, t, v, m.Cursor)
	case *persistGroup:
		if ref.clear {
			g.clear(t)
			return out
		}
		d, fired = g.trigger(cr, t, m.Cursor)
	}
	if !fired {
		return out
	}
	return append(out, r.event(cr, g.head(), m, d))
}

// derived is what a window says about a derived event that fires.
type derived struct {
	at          int64
	count       int
	first, last string
	value       float64
	hasValue    bool
}

// event builds a derived event; the firing match gives the entry's details.
func (r *Rules) event(cr *crule, h *groupHead, m *Match, d derived) record.Event {
	pr := cr.rule
	fields := make(map[string]any, len(h.keys)+1)
	for i, name := range pr.GroupBy {
		if i < len(h.keys) && h.keys[i].kind != 0 {
			fields[name] = h.keys[i].any()
		}
	}
	if d.hasValue {
		fields[pr.QuantileName()] = patterns.Number(roundValue(d.value))
	}
	return record.Event{
		Time:        record.Time{Time: time.Unix(0, d.at).UTC()},
		Host:        h.host,
		Unit:        m.Unit,
		Signature:   pr.ID,
		Severity:    pr.Severity,
		Summary:     cr.summary(h, d),
		Runbook:     cr.runbook,
		Fields:      fields,
		Message:     eventMessage(m.Message),
		Target:      m.Target,
		Priority:    m.Priority,
		PID:         m.PID,
		BootID:      m.BootID,
		Cursor:      d.last,
		Fingerprint: ruleFingerprint(pr.ID, h.host, cr.fingerprintUnit(h), h.keys),
		Derived:     true,
		Count:       d.count,
		Window:      pr.WindowText,
		FirstCursor: d.first,
		LastCursor:  d.last,
	}
}

// roundValue keeps about three significant digits of an estimate.
func roundValue(v float64) float64 {
	switch a := math.Abs(v); {
	case a >= 100:
		return math.Round(v)
	case a >= 1:
		return math.Round(v*100) / 100
	}
	return v
}

// summary renders the rule's summary: {count}, {window}, {value}, {host}
// and group_by fields.
func (cr *crule) summary(h *groupHead, d derived) string {
	pr := cr.rule
	s := pr.Summary
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		name := s[i+1 : i+j]
		switch name {
		case "count":
			b.WriteString(strconv.Itoa(d.count))
		case "window":
			b.WriteString(pr.WindowText)
		case "host":
			b.WriteString(h.host)
		case "value":
			if d.hasValue {
				b.WriteString(FormatNumber(roundValue(d.value)))
			} else {
				b.WriteString("?")
			}
		default:
			k := -1
			for gi, g := range pr.GroupBy {
				if g == name {
					k = gi
				}
			}
			if k >= 0 && k < len(h.keys) && h.keys[k].kind != 0 {
				b.WriteString(h.keys[k].String())
			} else {
				b.WriteString("?")
			}
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// fingerprintUnit is the unit a derived event's fingerprint names: the
// group's when the rule reads a signature of several units, else none.
func (cr *crule) fingerprintUnit(h *groupHead) string {
	if cr.multiUnit {
		return h.unit
	}
	return ""
}

// ruleFingerprint hashes the rule id, the host, the unit (when not empty)
// and the group_by values, as csig.fingerprint does for signatures.
func ruleFingerprint(id, host, unit string, keys []value) string {
	d := xxhash.New()
	var buf [24]byte
	put := func(tag byte, s string) {
		b := append(buf[:0], tag)
		b = strconv.AppendUint(b, uint64(len(s)), 10)
		b = append(b, ':')
		d.Write(b)
		d.WriteString(s)
	}
	put('s', id)
	put('h', host)
	if unit != "" {
		put('u', unit)
	}
	for _, v := range keys {
		put(v.tag(), v.String())
	}
	return hex16(d.Sum64())
}

// numberOf returns a numeric field value as a float64.
func numberOf(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

// valueOf converts a field value to a value; kind 0 when absent.
func valueOf(v any) value {
	switch n := v.(type) {
	case int64:
		return value{kind: vInt, i: n}
	case int:
		return value{kind: vInt, i: int64(n)}
	case float64:
		return value{kind: vFloat, f: n}
	case string:
		return value{kind: vString, s: n}
	}
	return value{}
}

// groupKey returns the key of a window (host, unit and group_by values)
// and the values. The unit keeps two services of one host apart when a rule
// reads a signature of several (unit.crash_loop).
func groupKey(m *Match, groupBy []string) (string, []value) {
	if len(groupBy) == 0 {
		return keyOf(m.Host, m.Unit, nil), nil
	}
	vals := make([]value, len(groupBy))
	for i, name := range groupBy {
		f, _ := m.Field(name)
		vals[i] = valueOf(f)
	}
	return keyOf(m.Host, m.Unit, vals), vals
}

func keyOf(host, unit string, vals []value) string {
	if len(vals) == 0 && unit == "" {
		return host
	}
	var b strings.Builder
	b.WriteString(host)
	b.WriteByte(0)
	b.WriteString(unit)
	for _, v := range vals {
		b.WriteByte(0)
		b.WriteByte(v.tag())
		s := v.String()
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}
