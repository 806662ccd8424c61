package classify

import (
	"time"

	"github.com/centra-cloud/cflogd/tail"
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
	// Fields are Signature's typed fields, also when it did not fire (the
	// template of a fallback is only filled when it fired).
	Fields map[string]any
	// Event is the event Classify returns for the entry, when HasEvent: the
	// event of Signature when Fired, else that of a fallback that took a
	// line whose regex signature did not fire.
	Event    Event
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
}

// Match classifies an entry like Classify and also reports the signature
// that decided it when that signature did not fire. It returns false when no
// signature matched the entry (Classify gives no event either).
func (c *Classifier) Match(e *tail.Entry) (Match, bool) {
	var l Line
	var buf [4]uint64
	cand := c.prepare(e, &l, &buf)
	if cand == nil {
		return Match{}, false
	}
	var nf notFired
	var mt Match
	mt.HasEvent = c.decide(e, &l, cand, &mt.Event, &nf)
	switch {
	case nf.cs != nil:
		mt.Signature = nf.cs.sig.ID
		mt.Fields = fieldMap(nf.cs, nf.vals[:nf.n])
	case mt.HasEvent:
		mt.Signature, mt.Fired, mt.Fields = mt.Event.Signature, true, mt.Event.Fields
	default:
		return Match{}, false
	}
	return mt.withEntry(e, &l), true
}

// fieldMap returns the values present as a map; nil when there are none.
func fieldMap(cs *csig, vals []value) map[string]any {
	var out map[string]any
	for k, f := range cs.fields {
		if k < len(vals) && vals[k].kind != 0 {
			if out == nil {
				out = make(map[string]any, len(cs.fields))
			}
			out[f.name] = vals[k].any()
		}
	}
	return out
}

func (mt Match) withEntry(e *tail.Entry, l *Line) Match {
	mt.Time, mt.Host, mt.Unit, mt.Cursor = e.Time, e.Host, l.Unit, e.Cursor
	mt.Message, mt.Target, mt.PID, mt.BootID = e.Message, l.Target, e.PID, e.BootID
	mt.Priority = e.Priority
	if mt.Priority < 0 || mt.Priority > 7 {
		mt.Priority = -1
		if l.LevelFromText {
			mt.Priority = priorityFromLevel(l.Level)
		}
	}
	return mt
}
