package classify

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// Explanation says how an entry was classified and why.
type Explanation struct {
	// Line is the normalised entry: body, level, target and unit.
	Line Line
	// Winner is the signature that gave the event; nil when there is none.
	Winner *SignatureMatch
	// Event is the event Classify returns; nil when there is none.
	Event *record.Event
	// Shadowed are the signatures that also matched and fired but come
	// after the winner in library order.
	Shadowed []SignatureMatch
	// NotFired are the signatures whose regex matched but whose fire_when
	// did not hold; the first of them, when it comes before any winner,
	// ended the search (only a fallback may still claim the line).
	NotFired []SignatureMatch
	// Excluded are signatures whose regex matches the body but that do not
	// apply to the line's unit or level.
	Excluded []SignatureMatch
}

// SignatureMatch is one signature's verdict on a line.
type SignatureMatch struct {
	ID  string
	Pos patterns.Pos
	// Fields are the typed field values; FieldErrors the fields whose value
	// did not parse (omitted from Fields).
	Fields      map[string]any
	FieldErrors map[string]string
	// Sources say where each field's value came from: "message" (the
	// message text), "fields.<name>" (a JSON field) or "F_<NAME>" (a
	// tracing-journald field).
	Sources  map[string]string
	Severity record.Severity
	// Reason says why the signature did not win, when it did not.
	Reason string
}

// Explain classifies an entry like Classify and also reports every other
// signature that matched. It checks every signature's regex (no prefilter),
// so it is slow.
func (c *Classifier) Explain(e *record.Entry) Explanation {
	var x Explanation
	normalize(e, &x.Line, c.services)
	l := &x.Line
	us := c.set(l.Unit)
	if ev, ok := c.Classify(e); ok {
		x.Event = &ev
	}
	failed := false
	var m machine
	for _, cs := range c.sigs {
		member := us != nil && us.members[cs.idx/64]&(1<<(cs.idx%64)) != 0
		if cs.sig.Fallback && (!member || !cs.levelOK(l.Level) || x.Winner != nil) {
			continue // a fallback is only worth listing when it decides
		}
		caps, alt, ok := cs.match(&m, l)
		if !ok {
			continue
		}
		// The fast matcher's captures live in m: keep them apart from the
		// next signature's.
		caps = append([]int(nil), caps...)
		vals := make([]value, len(cs.fields))
		errs := make([]error, len(cs.fields))
		srcs := make([]string, len(cs.fields))
		cs.values(l.Body, caps, alt, l, vals, errs, srcs)
		cs.fillTemplate(l.Body, vals)
		sm := cs.describe(l.Level, vals, errs, srcs)
		switch {
		case !member:
			if us == nil {
				sm.Reason = fmt.Sprintf("no signature applies to unit %q", l.Unit)
			} else if l.Unit == "" {
				sm.Reason = "applies to " + strings.Join(cs.sig.Units, ", ") + "; the line has no unit"
			} else {
				sm.Reason = fmt.Sprintf("does not apply to unit %s", l.Unit)
			}
			x.Excluded = append(x.Excluded, sm)
		case !cs.levelOK(l.Level):
			sm.Reason = fmt.Sprintf("level %s not in its levels", levelName(l.Level))
			x.Excluded = append(x.Excluded, sm)
		case !cs.fires(vals):
			sm.Reason = "fire_when does not hold: " + cs.fireText()
			x.NotFired = append(x.NotFired, sm)
			if !cs.sig.Fallback && x.Winner == nil {
				failed = true
			}
		case x.Winner == nil && (!failed || cs.sig.Fallback):
			w := sm
			x.Winner = &w
		default:
			if x.Winner != nil {
				sm.Reason = "shadowed by " + x.Winner.ID
			} else {
				sm.Reason = "search ended by " + x.NotFired[0].ID + " (matched, fire_when failed)"
			}
			x.Shadowed = append(x.Shadowed, sm)
		}
	}
	return x
}

func (cs *csig) fireText() string {
	var parts []string
	for _, cd := range cs.fire {
		parts = append(parts, cd.c.Text)
	}
	return strings.Join(parts, " and ")
}

func (cs *csig) describe(l record.Level, vals []value, errs []error, srcs []string) SignatureMatch {
	sm := SignatureMatch{ID: cs.sig.ID, Pos: cs.sig.Pos, Fields: map[string]any{}, Sources: map[string]string{}, Severity: cs.severity(l, vals)}
	for k, f := range cs.fields {
		if vals[k].kind != 0 {
			sm.Fields[f.name] = vals[k].any()
			if srcs != nil && srcs[k] != "" {
				sm.Sources[f.name] = srcs[k]
			}
		} else if errs[k] != nil {
			if sm.FieldErrors == nil {
				sm.FieldErrors = map[string]string{}
			}
			sm.FieldErrors[f.name] = errs[k].Error()
		}
	}
	return sm
}

// levelName is the level as the line writes it: "WARN"; "none" for none.
func levelName(l record.Level) string {
	if l > record.LevelNone && l <= record.LevelError {
		return strings.ToUpper(l.String())
	}
	return "none"
}

// ExampleFailure is an example or near miss that did not classify as its
// signature says.
type ExampleFailure struct {
	Pos       patterns.Pos
	Signature string
	Line      string
	// NearMiss is true for a near-miss line.
	NearMiss bool
	Msg      string
}

// Error formats the failure as "file:line:col: signature: message".
func (f ExampleFailure) Error() string {
	return fmt.Sprintf("%s: %s: %s", f.Pos, f.Signature, f.Msg)
}

// exampleEntry is the entry an example stands for: a line (any shape, no
// PRIORITY) or the journal fields of an entry, of the example's unit or the
// signature's first.
func exampleEntry(s *patterns.Signature, line string, fields []record.Field, unit string) record.Entry {
	if unit == "" && len(s.Units) > 0 {
		unit = s.Units[0]
	}
	e := record.Entry{Message: line, Priority: record.NoPriority}
	if fields != nil {
		e = EntryOf(fields)
	}
	e.Unit, e.Host = unit, "example"
	return e
}

// fieldPrefix is the prefix of the event fields tracing-journald writes,
// as pattern file examples write them.
const fieldPrefix = "F_"

// EntryOf is the entry whose journal fields are fields (as a pattern file's
// `entry:` writes them): MESSAGE, PRIORITY, TARGET, SYSLOG_IDENTIFIER,
// _PID, _HOSTNAME and _SYSTEMD_UNIT fill the entry's own fields, F_NAME
// fields its event fields (Fields, as "name"), and the others its Journal.
func EntryOf(fields []record.Field) record.Entry {
	e := record.Entry{Priority: record.NoPriority}
	for _, f := range fields {
		switch {
		case f.Name == "MESSAGE":
			e.Message = f.Value
		case f.Name == "PRIORITY":
			if p, err := strconv.Atoi(f.Value); err == nil && p >= 0 && p <= 7 {
				e.Priority = p
			}
		case f.Name == "TARGET":
			e.Target = f.Value
		case f.Name == "SYSLOG_IDENTIFIER":
			e.Identifier = f.Value
		case f.Name == "_PID":
			e.PID, _ = strconv.Atoi(f.Value)
		case f.Name == "_HOSTNAME":
			e.Host = f.Value
		case f.Name == "_SYSTEMD_UNIT":
			e.Unit = f.Value
		case strings.HasPrefix(f.Name, fieldPrefix) && len(f.Name) > len(fieldPrefix):
			e.Fields = append(e.Fields, record.Field{Name: strings.ToLower(f.Name[len(fieldPrefix):]), Value: f.Value})
		default:
			e.Journal = append(e.Journal, f)
		}
	}
	return e
}

// CheckExamples classifies every signature's examples and near misses and
// reports those that do not give what the library says: an example must
// give its signature (not an earlier one: "shadowed by"), exactly the
// expected fields when given, and the expected severity (the base severity
// when none is given); a near miss must not give its signature.
func (c *Classifier) CheckExamples() []ExampleFailure {
	var out []ExampleFailure
	for _, cs := range c.sigs {
		s := cs.sig
		for _, ex := range s.Examples {
			e := exampleEntry(s, ex.Line, ex.Entry, ex.Unit)
			if msg := c.checkExample(cs, &e, ex); msg != "" {
				out = append(out, ExampleFailure{Pos: ex.Pos, Signature: s.ID, Line: e.Message, Msg: msg})
			}
		}
		for _, nm := range s.NearMisses {
			e := exampleEntry(s, nm.Line, nm.Entry, nm.Unit)
			if ev, ok := c.Classify(&e); ok && ev.Signature == s.ID {
				out = append(out, ExampleFailure{Pos: nm.Pos, Signature: s.ID, Line: e.Message, NearMiss: true,
					Msg: fmt.Sprintf("near miss %q gives %s (severity %s, fields %s); it must not", e.Message, s.ID, ev.Severity, formatFields(ev.Fields))})
			}
		}
	}
	return out
}

func (c *Classifier) checkExample(cs *csig, e *record.Entry, ex patterns.Example) string {
	s := cs.sig
	ev, ok := c.Classify(e)
	if !ok || ev.Signature != s.ID {
		x := c.Explain(e)
		got := "no event"
		if ok {
			got = "an event of " + ev.Signature
		}
		own := func(list []SignatureMatch) *SignatureMatch {
			for i := range list {
				if list[i].ID == s.ID {
					return &list[i]
				}
			}
			return nil
		}
		switch {
		case ok && c.before(ev.Signature, s.ID):
			return fmt.Sprintf("example %q is shadowed by %s (expected %s)", e.Message, ev.Signature, s.ID)
		case own(x.NotFired) != nil:
			sm := own(x.NotFired)
			return fmt.Sprintf("example %q matches but %s (fields %s); got %s", e.Message, sm.Reason, formatFields(sm.Fields), got)
		case own(x.Excluded) != nil:
			return fmt.Sprintf("example %q matches but %s; got %s", e.Message, own(x.Excluded).Reason, got)
		case !ok && len(x.NotFired) > 0 && own(x.Shadowed) != nil:
			return fmt.Sprintf("example %q gives no event: %s matched earlier and its fire_when does not hold", e.Message, x.NotFired[0].ID)
		}
		return fmt.Sprintf("example %q does not match %s (body %q, unit %s); got %s", e.Message, s.ID, x.Line.Body, x.Line.Unit, got)
	}
	var probs []string
	if ex.Fields != nil && !sameFields(ex.Fields, ev.Fields) {
		probs = append(probs, fmt.Sprintf("fields: expected %s, got %s", formatFields(ex.Fields), formatFields(ev.Fields)))
	}
	want := ex.Severity
	if want == 0 {
		var l Line
		normalize(e, &l, c.services)
		want = cs.baseSeverity(l.Level)
	}
	if ev.Severity != want {
		probs = append(probs, fmt.Sprintf("severity: expected %s, got %s", want, ev.Severity))
	}
	if len(probs) > 0 {
		return fmt.Sprintf("example %q: %s", e.Message, strings.Join(probs, "; "))
	}
	return ""
}

// before reports whether signature a comes before b in library order.
func (c *Classifier) before(a, b string) bool {
	ia, ib := -1, -1
	for i, cs := range c.sigs {
		switch cs.sig.ID {
		case a:
			ia = i
		case b:
			ib = i
		}
	}
	return ia >= 0 && ib >= 0 && ia < ib
}

// sameFields compares field maps; integers and floats of the same value are
// equal (YAML gives 2000 for a duration_ms the classifier computes as 2000.0).
func sameFields(want, got map[string]any) bool {
	if len(want) != len(got) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !sameValue(w, g) {
			return false
		}
	}
	return true
}

func sameValue(a, b any) bool {
	af, aNum := numberOf(a)
	bf, bNum := numberOf(b)
	if aNum || bNum {
		return aNum && bNum && af == bf
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// formatFields prints fields sorted by name, in braces: {a=1 b="x"}.
func formatFields(f map[string]any) string {
	return "{" + FormatFields(f, nil) + "}"
}

// FormatFields prints fields sorted by name: duration_ms=2000
// addr="node2:2380", each followed by where it came from when sources says:
// latency_ms=900 (from fields.latency). No fields print as "".
func FormatFields(f map[string]any, sources map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(f)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch v := f[k].(type) {
		case string:
			fmt.Fprintf(&b, "%s=%q", k, v)
		case float64:
			fmt.Fprintf(&b, "%s=%s", k, FormatNumber(v))
		default:
			fmt.Fprintf(&b, "%s=%v", k, v)
		}
		if src := sources[k]; src != "" {
			fmt.Fprintf(&b, " (from %s)", src)
		}
	}
	return b.String()
}
