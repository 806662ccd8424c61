package patterns

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

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
	// Entry is the line as journal fields, instead of Line (see Example).
	Entry []record.Field
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

// The parts of a rule as written (see fileDoc).
type (
	ruleDoc struct {
		ID, Kind, Signature, Summary, Severity, Anchor, Examples yaml.Node
		Count, Window, Field, Quantile, Above, Step, For         yaml.Node

		GroupBy    yaml.Node `yaml:"group_by"`
		ClearAfter yaml.Node `yaml:"clear_after"`
		MinCount   yaml.Node `yaml:"min_count"`
		MaxGap     yaml.Node `yaml:"max_gap"`
		ClearedBy  yaml.Node `yaml:"cleared_by"`
	}
	ruleExampleDoc struct{ Name, Lines, Expect yaml.Node }
	ruleLineDoc    struct{ At, Line, Entry, Unit, Host, Times, Every yaml.Node }
	ruleExpectDoc  struct{ At, Count, Host yaml.Node }
)

var (
	ruleKinds = map[string]RuleKind{"count": CountRule, "quantile": QuantileRule, "persist": PersistRule}
	// ruleKindKeys are the keys of each kind; ruleKindNeeds those it requires.
	ruleKindKeys  = map[RuleKind][]string{CountRule: {"count", "window", "clear_after"}, QuantileRule: {"field", "quantile", "above", "window", "step", "min_count", "clear_after"}, PersistRule: {"for", "max_gap", "cleared_by"}}
	ruleKindNeeds = map[RuleKind][]string{CountRule: {"count", "window"}, QuantileRule: {"field", "quantile", "above", "window"}, PersistRule: {"for"}}
	// ruleWords are the summary placeholders every rule has.
	ruleWords = []string{"count", "window", "host"}
)

// rule parses one entry of rules:.
func (p *parser) rule(f *File, n *yaml.Node) *Rule {
	var d ruleDoc
	keys := p.decode(n, "rule", &d, "id", "kind", "signature", "summary", "severity", "anchor")
	if keys == nil {
		return nil
	}
	id := p.id(&d.ID, "chainfire.election_storm")
	if id == "" {
		return nil
	}
	r := &Rule{ID: id, Pos: p.pos(deref(n))}
	if k, ok := p.str(&d.Kind, "kind"); ok && ruleKinds[k] == 0 {
		p.errorf(&d.Kind, "kind: unknown rule kind %q (want count, quantile or persist)", k)
	} else if ok {
		r.Kind = ruleKinds[k]
	}
	if r.Kind != 0 {
		for _, kind := range []RuleKind{CountRule, QuantileRule, PersistRule} {
			for _, key := range ruleKindKeys[kind] {
				if keys[key] != nil && !slices.Contains(ruleKindKeys[r.Kind], key) {
					p.errorf(keys[key], "rule: key %s is not for a %s rule (its keys: %s)", key, r.Kind, strings.Join(ruleKindKeys[r.Kind], ", "))
					delete(keys, key) // once
				}
			}
		}
		for _, key := range ruleKindNeeds[r.Kind] {
			if keys[key] == nil {
				p.errorf(deref(n), "rule: a %s rule needs the key %s", r.Kind, key)
			}
		}
	}
	if s, ok := p.str(&d.Signature, "signature"); ok {
		r.Signature, r.SignaturePos = s, p.pos(&d.Signature)
	}
	r.Severity, _ = p.severity(&d.Severity, "severity")
	r.Anchor = p.anchor(&d.Anchor)
	if t, ok := p.str(&d.Summary, "summary"); ok {
		r.Summary, r.SummaryPos = t, p.pos(&d.Summary)
		if _, err := placeholders(t, false); err != "" {
			p.errorf(&d.Summary, "summary: %s", err)
		}
	}
	names, nodes := p.strList(&d.GroupBy, "group_by")
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
	for key, w := range map[string]*yaml.Node{"window": &d.Window, "for": &d.For} {
		if d, text, ok := p.duration(w, key); ok {
			r.Window, r.WindowText = d, text
		}
	}
	r.ClearAfter, _, _ = p.duration(&d.ClearAfter, "clear_after")
	r.MaxGap, _, _ = p.duration(&d.MaxGap, "max_gap")
	if v, ok := p.integer(&d.Count, "count"); ok && (v < 1 || v > MaxRuleCount) {
		p.errorf(&d.Count, "count: %d is out of range (want 1 to %d)", v, MaxRuleCount)
	} else if ok {
		r.Count = int(v)
	}
	if s, ok := p.str(&d.Field, "field"); ok {
		r.Field, r.FieldPos = s, p.pos(&d.Field)
	}
	if v, ok := p.number(&d.Quantile, "quantile"); ok && (v <= 0 || v > 1) {
		p.errorf(&d.Quantile, "quantile: %g is out of range (want 0 < q <= 1, such as 0.99)", v)
	} else if ok {
		r.Quantile = v
	}
	r.Above, _ = p.number(&d.Above, "above")
	if v, ok := p.integer(&d.MinCount, "min_count"); ok && (v < 1 || v > math.MaxInt32) {
		p.errorf(&d.MinCount, "min_count: %d is out of range (want 1 or more)", v)
	} else if ok {
		r.MinCount = int(v)
	}
	if r.Kind == QuantileRule && r.MinCount == 0 {
		r.MinCount = 1
	}
	if has(d.Step) {
		if step, _, ok := p.duration(&d.Step, "step"); ok {
			switch {
			case r.Window == 0:
			case r.Window%step != 0:
				p.errorf(&d.Step, "step: %s does not divide the window %s", step, r.Window)
			case r.Window/step > MaxRuleSteps:
				p.errorf(&d.Step, "step: %s cuts the window %s into more than %d steps", step, r.Window, MaxRuleSteps)
			default:
				r.Step = step
			}
		}
	} else if r.Kind == QuantileRule && r.Window > 0 {
		r.Step = r.Window / DefaultRuleSteps
		if r.Window%DefaultRuleSteps != 0 || r.Step == 0 {
			p.errorf(&d.Window, "window: %s does not split into %d steps: give step", r.Window, DefaultRuleSteps)
			r.Step = 0
		}
	}
	cleared := []*yaml.Node{&d.ClearedBy}
	if d.ClearedBy.Kind != yaml.ScalarNode {
		cleared = p.list(&d.ClearedBy, "cleared_by")
	}
	for _, n := range cleared {
		switch name, ok := p.str(n, "cleared_by"); {
		case !ok:
		case slices.Contains(r.ClearedBy, name):
			p.errorf(n, "cleared_by: %s listed twice", name)
		default:
			r.ClearedBy = append(r.ClearedBy, name)
			r.ClearedByPos = append(r.ClearedByPos, p.pos(n))
		}
	}
	r.ClearAfter = cmp.Or(r.ClearAfter, r.Window)
	if r.Kind == PersistRule && r.MaxGap == 0 {
		r.MaxGap = r.Window
	}
	var units [][]yaml.Node
	for _, item := range p.list(&d.Examples, "examples") {
		if ex, u, ok := p.ruleExample(item); ok {
			r.Examples = append(r.Examples, ex)
			units = append(units, u)
		}
	}
	f.binds = append(f.binds, func(b *parser) { r.bind(b, units) })
	return r
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
	if n.Kind == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		p.errorf(n, "%s: want an integer, got %s", what, describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	n = deref(n)
	if n.Kind == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, "%s: want a number, got %s", what, describe(n))
		return 0, false
	}
	return v, true
}

// ruleExample parses one example of a rule; units holds the unit node of
// each of its lines (Kind 0: none), for bindRule.
func (p *parser) ruleExample(n *yaml.Node) (ex RuleExample, units []yaml.Node, ok bool) {
	ex = RuleExample{Pos: p.pos(deref(n))}
	var d ruleExampleDoc
	if p.decode(n, "rule example", &d, "lines", "expect") == nil {
		return ex, nil, false
	}
	ex.Name, _ = p.str(&d.Name, "rule example: name")
	total := 0
	items := p.list(&d.Lines, "rule example: lines")
	if len(items) == 0 && d.Lines.Kind == yaml.SequenceNode {
		p.errorf(&d.Lines, "rule example: lines: want at least one line")
	}
	for _, item := range items {
		if l, unit, ok := p.ruleLine(item); ok {
			ex.Lines = append(ex.Lines, l)
			units = append(units, unit)
			total += max(l.Times, 1)
		}
	}
	if total > MaxExampleLines {
		p.errorf(&d.Lines, "rule example: lines: %d lines, more than %d", total, MaxExampleLines)
	}
	for _, item := range p.list(&d.Expect, "rule example: expect") {
		var e ruleExpectDoc
		if p.decode(item, "rule example: expect", &e, "at") == nil {
			continue
		}
		x := RuleExpect{Pos: p.pos(item)}
		x.At, _ = p.offset(&e.At, "rule example: expect: at")
		if v, ok := p.integer(&e.Count, "rule example: expect: count"); ok && (v < 1 || v > math.MaxInt32) {
			p.errorf(&e.Count, "rule example: expect: count: want 1 or more")
		} else if ok {
			x.Count = int(v)
		}
		x.Host, _ = p.str(&e.Host, "rule example: expect: host")
		ex.Expect = append(ex.Expect, x)
	}
	return ex, units, true
}

func (p *parser) ruleLine(n *yaml.Node) (RuleLine, yaml.Node, bool) {
	l := RuleLine{Pos: p.pos(deref(n))}
	var d ruleLineDoc
	keys := p.decode(n, "rule example: line", &d, "at")
	if keys == nil {
		return l, d.Unit, false
	}
	l.At, _ = p.offset(&d.At, "rule example: line: at")
	l.Line, l.Entry = p.lineOrEntry(n, &d.Line, &d.Entry, "rule example: line")
	if has(d.Line) {
		l.Pos = p.pos(&d.Line)
	}
	l.Host, _ = p.str(&d.Host, "rule example: line: host")
	if has(d.Times) != has(d.Every) {
		p.errorf(cmp.Or(keys["times"], keys["every"]), "rule example: line: times and every go together")
	}
	if v, ok := p.integer(&d.Times, "rule example: line: times"); ok && (v < 1 || v > MaxExampleLines) {
		p.errorf(&d.Times, "rule example: line: times: %d is out of range (want 1 to %d)", v, MaxExampleLines)
	} else if ok {
		l.Times = int(v)
	}
	l.Every, _, _ = p.duration(&d.Every, "rule example: line: every")
	return l, d.Unit, true
}

// bind resolves the units of the rule's example lines.
func (r *Rule) bind(b *parser, units [][]yaml.Node) {
	for i, ex := range r.Examples {
		for j := range ex.Lines {
			ex.Lines[j].Unit = b.unit(&units[i][j], "rule example: line: unit")
		}
	}
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
		names, _ := placeholders(r.Summary, false)
		for _, name := range names {
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
			return typeKinds[f.Type]
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
