package classify

import (
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// Match is the whole verdict on an entry: the event Classify gives, and the
// signature that decided the line even when its fire_when did not hold (a
// healthy "Handled put request, latency=15ms" is a match of
// chainfire.slow_request that did not fire). Rules over time read matches.
type Match struct {
	// Signature is the id of the signature that decided the line: the first
	// whose regex matched, or the fallback that took the line.
	Signature string
	// Fired reports whether Signature's fire_when held; Event is then its
	// event.
	Fired bool
	// Fields are the event's fields when Fired, else nil: use Field, which
	// also gives the fields of a signature that did not fire (without the
	// cost of a map per healthy line).
	Fields map[string]any
	// Event is the event Classify returns for the entry, when HasEvent: the
	// event of Signature when Fired, else that of a fallback that took a
	// line whose regex signature did not fire.
	Event    record.Event
	HasEvent bool

	// The entry: its time, host, unit (as classified: inferred from the
	// target when the entry has none), cursor, message (as read), tracing
	// target, priority (as in Event.Priority), PID and boot id.
	Time     time.Time
	Host     string
	Unit     string
	Cursor   string
	Message  string
	Target   string
	Priority int
	PID      int
	BootID   string

	// The field values of a signature that did not fire: the first
	// len(nfInline) inline, the rest in nfMore.
	nfSig    *csig
	nfInline [4]value
	nfMore   []value
}

// Field returns the value of one of Signature's fields (int64, float64 or
// string), whether or not it fired; false when the line did not give it.
func (m *Match) Field(name string) (any, bool) {
	if m.Fired {
		v, ok := m.Fields[name]
		return v, ok
	}
	if m.nfSig == nil {
		return nil, false
	}
	for k, f := range m.nfSig.fields {
		if f.name != name {
			continue
		}
		var v value
		if k < len(m.nfInline) {
			v = m.nfInline[k]
		} else if k-len(m.nfInline) < len(m.nfMore) {
			v = m.nfMore[k-len(m.nfInline)]
		}
		if v.kind == 0 {
			return nil, false
		}
		return v.any(), true
	}
	return nil, false
}

// FieldMap returns Signature's fields as a map (Fields when it fired; a new
// map when it did not; nil when it has none).
func (m *Match) FieldMap() map[string]any {
	if m.Fired || m.nfSig == nil {
		return m.Fields
	}
	var out map[string]any
	for _, f := range m.nfSig.fields {
		if v, ok := m.Field(f.name); ok {
			if out == nil {
				out = map[string]any{}
			}
			out[f.name] = v
		}
	}
	return out
}

// Match classifies an entry like Classify and also reports the signature
// that decided it when that signature did not fire. It returns false when no
// signature matched the entry (Classify gives no event either).
func (c *Classifier) Match(e *record.Entry) (Match, bool) {
	var m Match
	ok := c.MatchInto(e, &m)
	return m, ok
}

// MatchInto is Match writing into *m, which it leaves alone when it returns
// false: a caller that matches many entries saves copying a Match for each.
func (c *Classifier) MatchInto(e *record.Entry, m *Match) bool {
	var l Line
	var buf [4]uint64
	cand := c.prepare(e, &l, &buf)
	if cand == nil {
		return false
	}
	var nf notFired
	var ev record.Event
	has := c.decide(e, &l, cand, &ev, &nf)
	if nf.cs == nil && !has {
		return false
	}
	*m = Match{HasEvent: has, Event: ev}
	if nf.cs != nil {
		m.Signature = nf.cs.sig.ID
		m.nfSig = nf.cs
		vals := nf.values()
		n := copy(m.nfInline[:], vals)
		if len(vals) > n {
			m.nfMore = append([]value(nil), vals[n:]...)
		}
	} else {
		m.Signature, m.Fired, m.Fields = ev.Signature, true, ev.Fields
	}
	m.setEntry(e, &l)
	return true
}

func (m *Match) setEntry(e *record.Entry, l *Line) {
	m.Time, m.Host, m.Unit, m.Cursor = e.Time, e.Host, l.Unit, e.Cursor
	m.Message, m.Target, m.PID, m.BootID = e.Message, l.Target, e.PID, e.BootID
	m.Priority = l.eventPriority()
}
