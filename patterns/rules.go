package patterns

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/centra-cloud/cflogd/record"
)

// RuleKind says how a rule over time decides that it fires.
type RuleKind int

// Rule kinds.
const (
	// CountRule fires when Count or more events of the signature fall within
	// Window.
	CountRule RuleKind = iota + 1
	// QuantileRule fires when the Quantile of Field over every match of the
	// signature (fired or not) within Window is above Above.
	QuantileRule
	// PersistRule fires when events of the signature keep coming for For,
	// with no gap longer than MaxGap and no event of a ClearedBy signature.
	PersistRule
)

var ruleKindNames = [...]string{CountRule: "count", QuantileRule: "quantile", PersistRule: "persist"}

// String returns the kind's name as written in pattern files.
func (k RuleKind) String() string {
	if k < CountRule || k > PersistRule {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return ruleKindNames[k]
}

// Limits on rules, so that a rule's state per group stays small.
const (
	// MaxRuleCount is the largest count of a count rule.
	MaxRuleCount = 100
	// MaxRuleSteps is the largest number of steps a quantile rule's window
	// slides in (window / step).
	MaxRuleSteps = 60
	// DefaultRuleSteps is the number of steps of a quantile rule's window
	// when it names no step.
	DefaultRuleSteps = 10
	// MaxExampleLines is the most lines one rule example may expand to.
	MaxExampleLines = 10000
)

// Rule is one compiled rule over time: a derived event computed from the
// events (or matches) of one signature within a window of journal time, per
// host and group_by key.
type Rule struct {
	ID   string
	Pos  Pos
	Kind RuleKind
	// Signature is the id of the signature the rule watches; SignaturePos
	// where it is named.
	Signature    string
	SignaturePos Pos
	Summary      string // template: {count}, {window}, {value}, {host} and group_by fields
	SummaryPos   Pos
	Severity     record.Severity
	Anchor       string
	// GroupBy are the signature's fields that, with the host (always part
	// of a group), key the rule's windows; GroupByPos where each is named.
	GroupBy    []string
	GroupByPos []Pos
	// Window is the sliding window of count and quantile rules, and the
	// duration (For) of a persist rule; WindowText as written ("60s").
	Window     time.Duration
	WindowText string
	// ClearAfter is how long the condition must stay false before the rule
	// can fire again (count and quantile rules; default Window).
	ClearAfter time.Duration

	// Count rules: fire at Count or more events within Window.
	Count int

	// Quantile rules: fire when the Quantile (0 < q <= 1, nearest rank) of
	// Field over the matches within Window is above Above; Step is the
	// granularity the window slides in; MinCount the fewest values the
	// window must hold.
	Field    string
	FieldPos Pos
	Quantile float64
	Above    float64
	Step     time.Duration
	MinCount int

	// Persist rules: fire when events keep coming for Window with no gap
	// longer than MaxGap (default Window) and no event of a ClearedBy
	// signature.
	MaxGap       time.Duration
	ClearedBy    []string
	ClearedByPos []Pos

	Examples []RuleExample
}

// QuantileName is the field name of a quantile rule's value in its derived
// event: "latency_ms_p99" for the 0.99 quantile of latency_ms.
func (r *Rule) QuantileName() string {
	p := strconv.FormatFloat(r.Quantile*100, 'f', -1, 64)
	return r.Field + "_p" + strings.ReplaceAll(p, ".", "_")
}

// Signatures returns the ids of every signature the rule reads: Signature,
// then ClearedBy.
func (r *Rule) Signatures() []string {
	return append([]string{r.Signature}, r.ClearedBy...)
}

// RuleExample is a short timestamped sequence of lines and the derived
// events of its rule that it must give.
type RuleExample struct {
	Pos    Pos
	Name   string
	Lines  []RuleLine
	Expect []RuleExpect
}

// RuleLine is one line of a rule example, or Times lines Every apart.
type RuleLine struct {
	Pos Pos
	// At is the line's time after the example's start.
	At   time.Duration
	Line string
	// Unit and Host of the entry; empty: the rule signature's first unit,
	// and the host "example".
	Unit string
	Host string
	// Times > 1 repeats the line Times times, Every apart.
	Times int
	Every time.Duration
}

// RuleExpect is a derived event a rule example must give.
type RuleExpect struct {
	Pos Pos
	// At is when it fires, after the example's start.
	At time.Duration
	// Count is the count it carries; 0: not checked.
	Count int
	// Host of the event; empty: not checked.
	Host string
}

var (
	ruleKeys       = []string{"id", "kind", "signature", "summary", "severity", "anchor", "group_by", "clear_after", "examples", "count", "window", "field", "quantile", "above", "step", "min_count", "for", "max_gap", "cleared_by"}
	ruleRequired   = []string{"id", "kind", "signature", "summary", "severity", "anchor"}
	ruleKindKeys   = map[RuleKind][]string{CountRule: {"count", "window", "clear_after"}, QuantileRule: {"field", "quantile", "above", "window", "step", "min_count", "clear_after"}, PersistRule: {"for", "max_gap", "cleared_by"}}
	ruleKindNeeds  = map[RuleKind][]string{CountRule: {"count", "window"}, QuantileRule: {"field", "quantile", "above", "window"}, PersistRule: {"for"}}
	ruleExKeys     = []string{"name", "lines", "expect"}
	ruleLineKeys   = []string{"at", "line", "unit", "host", "times", "every"}
	ruleExpectKeys = []string{"at", "count", "host"}
	// ruleWords are the summary placeholders every rule has.
	ruleWords = []string{"count", "window", "host"}
)

// rule parses one entry of rules:.
func (p *parser) rule(n *yaml.Node) *Rule {
	m := p.mapping(n, "rule", ruleKeys, ruleRequired)
	if m == nil {
		return nil
	}
	e, ok := m["id"]
	if !ok {
		return nil
	}
	id, ok := p.str(e.val, "id")
	if !ok {
		return nil
	}
	if !idRE.MatchString(id) {
		p.errorf(e.val, "id: invalid id %q (want lowercase dotted words such as chainfire.election_storm)", id)
	}
	r := &Rule{ID: id, Pos: p.pos(deref(n))}
	if e, ok := m["kind"]; ok {
		if k, ok := p.str(e.val, "kind"); ok {
			switch k {
			case "count":
				r.Kind = CountRule
			case "quantile":
				r.Kind = QuantileRule
			case "persist":
				r.Kind = PersistRule
			default:
				p.errorf(e.val, "kind: unknown rule kind %q (want count, quantile or persist)", k)
			}
		}
	}
	if r.Kind != 0 {
		for key, ent := range m {
			if slices.Contains(ruleKindKeys[CountRule], key) || slices.Contains(ruleKindKeys[QuantileRule], key) || slices.Contains(ruleKindKeys[PersistRule], key) {
				if !slices.Contains(ruleKindKeys[r.Kind], key) {
					p.errorf(ent.key, "rule: key %s is not for a %s rule (its keys: %s)", key, r.Kind, strings.Join(ruleKindKeys[r.Kind], ", "))
				}
			}
		}
		for _, key := range ruleKindNeeds[r.Kind] {
			if _, ok := m[key]; !ok {
				p.errorf(deref(n), "rule: a %s rule needs the key %s", r.Kind, key)
			}
		}
	}
	if e, ok := m["signature"]; ok {
		if s, ok := p.str(e.val, "signature"); ok {
			r.Signature, r.SignaturePos = s, p.pos(e.val)
		}
	}
	if e, ok := m["severity"]; ok {
		r.Severity, _ = p.severity(e.val, "severity")
	}
	if e, ok := m["anchor"]; ok {
		if a, ok := p.str(e.val, "anchor"); ok {
			if !anchorRE.MatchString(a) {
				p.errorf(e.val, "anchor: invalid anchor %q (want a heading slug such as issue-high-write-latency)", a)
			}
			r.Anchor = a
		}
	}
	if e, ok := m["summary"]; ok {
		if t, ok := p.str(e.val, "summary"); ok {
			r.Summary, r.SummaryPos = t, p.pos(e.val)
			if err := checkBraces(t); err != "" {
				p.errorf(e.val, "summary: %s", err)
			}
		}
	}
	if e, ok := m["group_by"]; ok {
		names, nodes := p.strList(e.val, "group_by")
		for i, name := range names {
			switch {
			case name == "host":
				// Always part of the group.
			case !nameRE.MatchString(name):
				p.errorf(nodes[i], "group_by: invalid field name %q", name)
			case slices.Contains(r.GroupBy, name):
				p.errorf(nodes[i], "group_by: %s listed twice", name)
			default:
				r.GroupBy = append(r.GroupBy, name)
				r.GroupByPos = append(r.GroupByPos, p.pos(nodes[i]))
			}
		}
	}
	dur := func(key string) (time.Duration, string, bool) {
		e, ok := m[key]
		if !ok {
			return 0, "", false
		}
		d, text, ok := p.duration(e.val, key)
		return d, text, ok
	}
	if d, text, ok := dur("window"); ok {
		r.Window, r.WindowText = d, text
	}
	if d, text, ok := dur("for"); ok {
		r.Window, r.WindowText = d, text
	}
	if d, _, ok := dur("clear_after"); ok {
		r.ClearAfter = d
	}
	if d, _, ok := dur("max_gap"); ok {
		r.MaxGap = d
	}
	if e, ok := m["count"]; ok {
		if v, ok := p.integer(e.val, "count"); ok {
			if v < 1 || v > MaxRuleCount {
				p.errorf(e.val, "count: %d is out of range (want 1 to %d)", v, MaxRuleCount)
			} else {
				r.Count = int(v)
			}
		}
	}
	if e, ok := m["field"]; ok {
		if s, ok := p.str(e.val, "field"); ok {
			r.Field, r.FieldPos = s, p.pos(e.val)
		}
	}
	if e, ok := m["quantile"]; ok {
		if v, ok := p.number(e.val, "quantile"); ok {
			if v <= 0 || v > 1 {
				p.errorf(e.val, "quantile: %g is out of range (want 0 < q <= 1, such as 0.99)", v)
			} else {
				r.Quantile = v
			}
		}
	}
	if e, ok := m["above"]; ok {
		r.Above, _ = p.number(e.val, "above")
	}
	if e, ok := m["min_count"]; ok {
		if v, ok := p.integer(e.val, "min_count"); ok {
			if v < 1 || v > math.MaxInt32 {
				p.errorf(e.val, "min_count: %d is out of range (want 1 or more)", v)
			} else {
				r.MinCount = int(v)
			}
		}
	}
	if r.Kind == QuantileRule && r.MinCount == 0 {
		r.MinCount = 1
	}
	if e, ok := m["step"]; ok {
		if d, _, ok := p.duration(e.val, "step"); ok {
			switch {
			case r.Window == 0:
			case r.Window%d != 0:
				p.errorf(e.val, "step: %s does not divide the window %s", d, r.Window)
			case r.Window/d > MaxRuleSteps:
				p.errorf(e.val, "step: %s cuts the window %s into more than %d steps", d, r.Window, MaxRuleSteps)
			default:
				r.Step = d
			}
		}
	} else if r.Kind == QuantileRule && r.Window > 0 {
		r.Step = r.Window / DefaultRuleSteps
		if r.Window%DefaultRuleSteps != 0 || r.Step == 0 {
			p.errorf(m["window"].val, "window: %s does not split into %d steps: give step", r.Window, DefaultRuleSteps)
			r.Step = 0
		}
	}
	if e, ok := m["cleared_by"]; ok {
		var names []string
		var nodes []*yaml.Node
		if v := deref(e.val); v.Kind == yaml.ScalarNode {
			if s, ok := p.str(v, "cleared_by"); ok {
				names, nodes = []string{s}, []*yaml.Node{v}
			}
		} else {
			names, nodes = p.strList(e.val, "cleared_by")
		}
		for i, name := range names {
			if slices.Contains(r.ClearedBy, name) {
				p.errorf(nodes[i], "cleared_by: %s listed twice", name)
				continue
			}
			r.ClearedBy = append(r.ClearedBy, name)
			r.ClearedByPos = append(r.ClearedByPos, p.pos(nodes[i]))
		}
	}
	if r.ClearAfter == 0 {
		r.ClearAfter = r.Window
	}
	if r.Kind == PersistRule && r.MaxGap == 0 {
		r.MaxGap = r.Window
	}
	if e, ok := m["examples"]; ok {
		for _, item := range p.list(e.val, "examples") {
			if ex, ok := p.ruleExample(item); ok {
				r.Examples = append(r.Examples, ex)
			}
		}
	}
	return r
}

// checkBraces reports unmatched braces in a summary template.
func checkBraces(t string) string {
	rest := t
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			return ""
		}
		if rest[i] == '}' {
			return fmt.Sprintf("unmatched } in %q", t)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Sprintf("unmatched { in %q", t)
		}
		rest = rest[i+j+1:]
	}
}

// placeholders returns the {name}s of a summary template.
func placeholders(t string) []string {
	var out []string
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, t[i+1:i+j])
		t = t[i+j+1:]
	}
}

// duration parses a positive Go duration ("60s", "10m", "1h30m").
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, string, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, "", false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.errorf(n, "%s: invalid duration %q (want a positive duration such as 60s, 10m or 1h30m)", what, s)
		return 0, "", false
	}
	return d, s, true
}

// offset parses a non-negative duration: a time after an example's start.
func (p *parser) offset(n *yaml.Node, what string) (time.Duration, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" {
		return 0, true
	}
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.errorf(n, "%s: invalid time %q (want a duration from the example's start such as 0s, 90s or 2m30s)", what, s)
		return 0, false
	}
	return d, true
}

func (p *parser) integer(n *yaml.Node, what string) (int64, bool) {
	n = deref(n)
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		p.errorf(n, "%s: want an integer, got %s", what, describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	n = deref(n)
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, "%s: want a number, got %s", what, describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) ruleExample(n *yaml.Node) (RuleExample, bool) {
	ex := RuleExample{Pos: p.pos(deref(n))}
	m := p.mapping(n, "rule example", ruleExKeys, []string{"lines", "expect"})
	if m == nil {
		return ex, false
	}
	if e, ok := m["name"]; ok {
		ex.Name, _ = p.str(e.val, "rule example: name")
	}
	total := 0
	if e, ok := m["lines"]; ok {
		items := p.list(e.val, "rule example: lines")
		if len(items) == 0 && deref(e.val).Kind == yaml.SequenceNode {
			p.errorf(e.val, "rule example: lines: want at least one line")
		}
		for _, item := range items {
			if l, ok := p.ruleLine(item); ok {
				ex.Lines = append(ex.Lines, l)
				total += max(l.Times, 1)
			}
		}
	}
	if total > MaxExampleLines {
		p.errorf(m["lines"].val, "rule example: lines: %d lines, more than %d", total, MaxExampleLines)
	}
	if e, ok := m["expect"]; ok {
		for _, item := range p.list(e.val, "rule example: expect") {
			em := p.mapping(item, "rule example: expect", ruleExpectKeys, []string{"at"})
			if em == nil {
				continue
			}
			x := RuleExpect{Pos: p.pos(item)}
			if e, ok := em["at"]; ok {
				x.At, _ = p.offset(e.val, "rule example: expect: at")
			}
			if e, ok := em["count"]; ok {
				if v, ok := p.integer(e.val, "rule example: expect: count"); ok {
					if v < 1 || v > math.MaxInt32 {
						p.errorf(e.val, "rule example: expect: count: want 1 or more")
					} else {
						x.Count = int(v)
					}
				}
			}
			if e, ok := em["host"]; ok {
				x.Host, _ = p.str(e.val, "rule example: expect: host")
			}
			ex.Expect = append(ex.Expect, x)
		}
	}
	return ex, true
}

func (p *parser) ruleLine(n *yaml.Node) (RuleLine, bool) {
	l := RuleLine{Pos: p.pos(deref(n))}
	m := p.mapping(n, "rule example: line", ruleLineKeys, []string{"at", "line"})
	if m == nil {
		return l, false
	}
	ok := true
	if e, has := m["at"]; has {
		var good bool
		l.At, good = p.offset(e.val, "rule example: line: at")
		ok = ok && good
	}
	if e, has := m["line"]; has {
		var good bool
		l.Line, good = p.str(e.val, "rule example: line")
		l.Pos = p.pos(e.val)
		ok = ok && good
	}
	if e, has := m["unit"]; has {
		l.Unit = p.exampleUnitName(e.val, "rule example: line: unit")
		ok = ok && l.Unit != ""
	}
	if e, has := m["host"]; has {
		var good bool
		l.Host, good = p.str(e.val, "rule example: line: host")
		ok = ok && good
	}
	_, hasTimes := m["times"]
	_, hasEvery := m["every"]
	if hasTimes != hasEvery {
		at := m["times"].key
		if hasEvery {
			at = m["every"].key
		}
		p.errorf(at, "rule example: line: times and every go together")
		ok = false
	}
	if hasTimes {
		if v, good := p.integer(m["times"].val, "rule example: line: times"); good {
			if v < 1 || v > MaxExampleLines {
				p.errorf(m["times"].val, "rule example: line: times: %d is out of range (want 1 to %d)", v, MaxExampleLines)
				ok = false
			} else {
				l.Times = int(v)
			}
		} else {
			ok = false
		}
	}
	if hasEvery {
		if d, _, good := p.duration(m["every"].val, "rule example: line: every"); good {
			l.Every = d
		} else {
			ok = false
		}
	}
	return l, ok
}

// exampleUnitName parses a unit name without checking it against a signature.
func (p *parser) exampleUnitName(n *yaml.Node, what string) string {
	name, ok := p.str(n, what)
	if !ok {
		return ""
	}
	u, err := ParseUnit(name)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return ""
	}
	return u
}

// checkRules validates what a library's rules say about its signatures: the
// signatures exist, the quantile field is numeric, the group_by and summary
// fields exist, and no rule id is a signature id.
func (lib *Library) checkRules(errs *ErrorList) {
	for _, r := range lib.Rules {
		if s := lib.Lookup(r.ID); s != nil {
			errs.Add(r.Pos, fmt.Sprintf("rule id %s is also a signature (defined at %s): derived events need their own id", r.ID, s.Pos))
		}
		sig := lib.Lookup(r.Signature)
		if r.Signature != "" && sig == nil {
			errs.Add(r.SignaturePos, fmt.Sprintf("signature: unknown signature id %q", r.Signature))
		}
		var cleared []*Signature
		for i, id := range r.ClearedBy {
			c := lib.Lookup(id)
			switch {
			case c == nil:
				errs.Add(r.ClearedByPos[i], fmt.Sprintf("cleared_by: unknown signature id %q", id))
			case id == r.Signature:
				errs.Add(r.ClearedByPos[i], fmt.Sprintf("cleared_by: %s is the rule's own signature", id))
			default:
				cleared = append(cleared, c)
			}
		}
		if sig == nil {
			continue
		}
		if r.Kind == QuantileRule && r.Field != "" {
			switch k := sig.fieldKind(r.Field); {
			case k == 0:
				errs.Add(r.FieldPos, fmt.Sprintf("field: %s is not a field of %s", r.Field, sig.ID))
			case !k.numeric():
				errs.Add(r.FieldPos, fmt.Sprintf("field: %s of %s is not numeric (want an integer or duration field)", r.Field, sig.ID))
			}
		}
		for i, name := range r.GroupBy {
			if sig.fieldKind(name) == 0 {
				errs.Add(r.GroupByPos[i], fmt.Sprintf("group_by: %s is not a field of %s", name, sig.ID))
				continue
			}
			for _, c := range cleared {
				if c.fieldKind(name) == 0 {
					errs.Add(r.GroupByPos[i], fmt.Sprintf("group_by: %s is not a field of %s (cleared_by)", name, c.ID))
				}
			}
		}
		for _, name := range placeholders(r.Summary) {
			switch {
			case slices.Contains(ruleWords, name):
			case name == "value" && r.Kind == QuantileRule:
			case slices.Contains(r.GroupBy, name):
			default:
				errs.Add(r.SummaryPos, fmt.Sprintf("summary: {%s} is not {count}, {window}, {host}%s or a group_by field", name,
					map[bool]string{true: ", {value}"}[r.Kind == QuantileRule]))
			}
		}
	}
}

// fieldKind returns what values the signature's field name holds; 0 when it
// has no such field.
func (s *Signature) fieldKind(name string) fieldKind {
	for _, f := range s.Fields {
		switch name {
		case f.Name:
			switch f.Type {
			case Integer:
				return kindInteger
			case Duration:
				return kindNumber
			}
			return kindString
		case f.HostName:
			if f.HostName != "" {
				return kindString
			}
		case f.PortName:
			if f.PortName != "" {
				return kindInteger
			}
		}
	}
	return 0
}

// LookupRule returns the rule with the given id, or nil.
func (lib *Library) LookupRule(id string) *Rule {
	for _, r := range lib.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}
