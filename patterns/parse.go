package patterns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/centra-cloud/cflogd/record"
)

// File is one parsed pattern file: its signatures in file order.
type File struct {
	Name       string
	Signatures []*Signature
	Rules      []*Rule
}

var (
	fileKeys      = []string{"case_sensitive", "rules", "signatures"}
	signatureKeys = []string{
		"id", "units", "summary", "severity", "anchor", "match", "fields",
		"fire_when", "raise", "levels", "level_severity", "fallback", "group_by",
		"before", "case_sensitive", "examples", "near_misses",
	}
	signatureRequired = []string{"id", "units", "summary", "severity", "anchor"}
	fieldKeys         = []string{"type", "from", "host", "port"}
	raiseKeys         = []string{"when", "severity"}
	exampleKeys       = []string{"line", "fields", "severity", "unit"}
	nearMissKeys      = []string{"line", "unit"}

	idRE     = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$`)
	anchorRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	condRE   = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$`)
	yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// unitNames maps every accepted spelling of a unit to its full name.
var unitNames = map[string]string{
	"chainfire":                "chainfire.service",
	"chainfire.service":        "chainfire.service",
	"flaredb":                  "flaredb.service",
	"flaredb.service":          "flaredb.service",
	"placement-driver":         "placement-driver.service",
	"placement-driver.service": "placement-driver.service",
	"pd":                       "placement-driver.service",
}

// ParseUnit returns the full unit name for a service's short name
// ("chainfire"; "pd" for placement-driver) or unit name ("chainfire.service").
func ParseUnit(s string) (string, error) {
	if u, ok := unitNames[s]; ok {
		return u, nil
	}
	return "", fmt.Errorf("unknown unit %q (want chainfire, flaredb, placement-driver (or pd), their .service names, or all)", s)
}

// Parse parses one pattern file. name is used in positions. On errors it
// returns an *ErrorList with every problem of the file, and a File holding the
// signatures that could be read far enough to have an id.
func Parse(name string, data []byte) (f *File, err error) {
	p := &parser{name: name}
	f = &File{Name: name}
	defer func() {
		if r := recover(); r != nil {
			// yaml.v3 has panicked on malformed input before; a pattern file
			// must never take the daemon down.
			p.errs = append(p.errs[:0], &PosError{Pos: Pos{File: name, Line: 1, Col: 1}, Msg: fmt.Sprintf("parse YAML: %v", r)})
			f.Signatures = nil
			err = &p.errs
		}
	}()
	p.file(f, data)
	p.errs.sort(nil)
	return f, p.errs.err()
}

type parser struct {
	name string
	errs ErrorList
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.name, Line: n.Line, Col: n.Column} }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs.Add(p.pos(n), fmt.Sprintf(format, args...))
}

// yamlError turns a YAML syntax error into a positioned error.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	pos := Pos{File: p.name, Line: 1, Col: 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs.Add(pos, "invalid YAML: "+msg)
}

func (p *parser) file(f *File, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errs.Add(Pos{File: p.name, Line: 1, Col: 1}, "empty file: want a mapping with the key signatures or rules")
			return
		}
		p.yamlError(err)
		return
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.errorf(&next, "a pattern file holds one YAML document; remove the second one")
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	m := p.mapping(root, "pattern file", fileKeys, nil)
	if m == nil {
		return
	}
	_, hasSigs := m["signatures"]
	if _, hasRules := m["rules"]; hasRules {
		p.rules(f, m["rules"].val)
	} else if !hasSigs {
		p.errorf(root, "pattern file: missing key signatures (or rules)")
	}
	caseSensitive := false
	if e, ok := m["case_sensitive"]; ok {
		caseSensitive, _ = p.boolean(e.val, "case_sensitive")
	}
	e, ok := m["signatures"]
	if !ok {
		return
	}
	items := p.list(e.val, "signatures")
	seen := map[string]*Signature{}
	for _, item := range items {
		s := p.signature(item, caseSensitive)
		if s == nil {
			continue
		}
		if first, dup := seen[s.ID]; dup {
			p.errorf(item, "duplicate id %s (first defined at %s)", s.ID, first.Pos)
			continue
		}
		seen[s.ID] = s
		f.Signatures = append(f.Signatures, s)
	}
}

// rules parses the file's rules:.
func (p *parser) rules(f *File, n *yaml.Node) {
	seen := map[string]*Rule{}
	for _, item := range p.list(n, "rules") {
		r := p.rule(item)
		if r == nil {
			continue
		}
		if first, dup := seen[r.ID]; dup {
			p.errorf(item, "duplicate rule id %s (first defined at %s)", r.ID, first.Pos)
			continue
		}
		seen[r.ID] = r
		f.Rules = append(f.Rules, r)
	}
}

// entry is one key: value pair of a mapping.
type entry struct{ key, val *yaml.Node }

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a YAML document"
}

// mapping checks that n is a mapping whose keys are all in allowed, none
// repeated, and every required key present; it returns the entries by key, or
// nil when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, what string, allowed, required []string) map[string]entry {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return nil
	}
	m := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain word, got %s", what, describe(k))
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.errorf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if prev, dup := m[k.Value]; dup {
			p.errorf(k, "%s: key %s repeated (first at line %d)", what, k.Value, prev.key.Line)
			continue
		}
		m[k.Value] = entry{key: k, val: v}
	}
	for _, r := range required {
		if _, ok := m[r]; !ok {
			p.errorf(n, "%s: missing key %s", what, r)
		}
	}
	return m
}

// list returns the items of a sequence, or nil with an error.
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list, got %s", what, describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items
}

// str returns a non-empty scalar's text.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s: want a string, got %s", what, describe(n))
		return "", false
	}
	if n.Value == "" {
		p.errorf(n, "%s: must not be empty", what)
		return "", false
	}
	return n.Value, true
}

// strList reads a list of strings.
func (p *parser) strList(n *yaml.Node, what string) ([]string, []*yaml.Node) {
	var out []string
	var nodes []*yaml.Node
	for _, item := range p.list(n, what) {
		if s, ok := p.str(item, what); ok {
			out = append(out, s)
			nodes = append(nodes, item)
		}
	}
	return out, nodes
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, "%s: want true or false, got %s", what, describe(n))
		return false, false
	}
	return strings.EqualFold(n.Value, "true"), true
}

func (p *parser) severity(n *yaml.Node, what string) (record.Severity, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := record.ParseSeverity(s)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
		return 0, false
	}
	return v, true
}

// fieldKind is what values a produced field holds.
type fieldKind int

const (
	kindString fieldKind = iota + 1
	kindInteger
	kindNumber // durations: milliseconds, integer or not
)

func (k fieldKind) numeric() bool { return k == kindInteger || k == kindNumber }

// sigParse holds what a signature's parts need from each other.
type sigParse struct {
	*parser
	sig      *Signature
	produced map[string]fieldKind  // every field the signature emits
	captures map[string]bool       // fields that come from a named capture
	broken   map[string]bool       // fields with errors, known to avoid follow-on errors
	nodes    map[string]*yaml.Node // each field's key in fields:
}

func (p *parser) signature(n *yaml.Node, fileCaseSensitive bool) *Signature {
	m := p.mapping(n, "signature", signatureKeys, signatureRequired)
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
		p.errorf(e.val, "id: invalid id %q (want lowercase dotted words such as chainfire.rocksdb_stall)", id)
	}
	sp := &sigParse{
		parser:   p,
		sig:      &Signature{ID: id, Pos: p.pos(deref(n)), CaseSensitive: fileCaseSensitive},
		produced: map[string]fieldKind{},
		captures: map[string]bool{},
		broken:   map[string]bool{},
		nodes:    map[string]*yaml.Node{},
	}
	s := sp.sig
	if e, ok := m["units"]; ok {
		sp.units(e.val)
	}
	if e, ok := m["severity"]; ok {
		s.Severity, _ = p.severity(e.val, "severity")
	}
	if e, ok := m["anchor"]; ok {
		if a, ok := p.str(e.val, "anchor"); ok {
			if !anchorRE.MatchString(a) {
				p.errorf(e.val, "anchor: invalid anchor %q (want a heading slug such as issue-high-write-latency)", a)
			}
			s.Anchor = a
		}
	}
	if e, ok := m["case_sensitive"]; ok {
		if v, ok := p.boolean(e.val, "case_sensitive"); ok {
			s.CaseSensitive = v
		}
	}
	fallback := false
	if e, ok := m["fallback"]; ok {
		fallback, _ = p.boolean(e.val, "fallback")
	}
	var captureNames []string
	var matchNode *yaml.Node
	if e, ok := m["match"]; ok {
		matchNode = e.val
		if fallback {
			p.errorf(e.key, "match: a fallback signature has no match")
		} else {
			captureNames = sp.match(e.val)
		}
	} else if !fallback {
		p.errorf(deref(n), "signature: missing key match")
	}
	if e, ok := m["fields"]; ok {
		sp.fields(e.val)
	}
	sp.checkCaptures(captureNames, matchNode)
	if e, ok := m["levels"]; ok {
		sp.levels(e.val)
	}
	if fallback && len(s.Levels) == 0 {
		p.errorf(m["fallback"].val, "fallback: a fallback signature needs levels (it would match every line)")
	}
	if e, ok := m["level_severity"]; ok {
		sp.levelSeverity(e.val)
	}
	if e, ok := m["summary"]; ok {
		if t, ok := p.str(e.val, "summary"); ok {
			s.Summary = t
			sp.summary(e.val, t)
		}
	}
	if e, ok := m["fire_when"]; ok {
		for _, item := range p.list(e.val, "fire_when") {
			if c, ok := sp.condition(item, "fire_when"); ok {
				s.FireWhen = append(s.FireWhen, c)
			}
		}
	}
	if e, ok := m["raise"]; ok {
		sp.raise(e.val)
	}
	if e, ok := m["group_by"]; ok {
		names, nodes := p.strList(e.val, "group_by")
		for i, name := range names {
			switch {
			case sp.produced[name] == 0:
				p.errorf(nodes[i], "group_by: %s is not a field of this signature", name)
			case slices.Contains(s.GroupBy, name):
				p.errorf(nodes[i], "group_by: %s listed twice", name)
			default:
				s.GroupBy = append(s.GroupBy, name)
			}
		}
	}
	if e, ok := m["before"]; ok {
		if b, ok := p.str(e.val, "before"); ok {
			if b == id {
				p.errorf(e.val, "before: a signature cannot be placed before itself")
			} else {
				s.Before = b
				s.BeforePos = p.pos(e.val)
			}
		}
	}
	if e, ok := m["examples"]; ok {
		for _, item := range p.list(e.val, "examples") {
			sp.example(item)
		}
	}
	if e, ok := m["near_misses"]; ok {
		for _, item := range p.list(e.val, "near_misses") {
			sp.nearMiss(item)
		}
	}
	return s
}

func (sp *sigParse) units(n *yaml.Node) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Value == "all" {
		sp.sig.Units = slices.Clone(AllUnits)
		return
	}
	names, nodes := sp.strList(n, "units")
	if len(names) == 0 && n.Kind == yaml.SequenceNode {
		sp.errorf(n, "units: want at least one unit")
	}
	for i, name := range names {
		if name == "all" {
			if len(names) > 1 {
				sp.errorf(nodes[i], "units: all cannot be combined with other units")
			}
			sp.sig.Units = slices.Clone(AllUnits)
			return
		}
		u, err := ParseUnit(name)
		if err != nil {
			sp.errorf(nodes[i], "units: %v", err)
			continue
		}
		if slices.Contains(sp.sig.Units, u) {
			sp.errorf(nodes[i], "units: %s listed twice", name)
			continue
		}
		sp.sig.Units = append(sp.sig.Units, u)
	}
}

// match compiles the regex and returns its capture names.
func (sp *sigParse) match(n *yaml.Node) []string {
	text, ok := sp.str(n, "match")
	if !ok {
		return nil
	}
	sp.sig.MatchText = text
	expr := text
	if !sp.sig.CaseSensitive {
		expr = "(?i)" + text
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			sp.errorf(n, "match: invalid regex: %s: %s", se.Code, se.Expr)
		} else {
			sp.errorf(n, "match: invalid regex: %v", err)
		}
		return nil
	}
	sp.sig.Match = re
	var names []string
	for _, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		if slices.Contains(names, name) {
			sp.errorf(n, "match: capture %s used twice", name)
			continue
		}
		names = append(names, name)
	}
	return names
}

func (sp *sigParse) fields(n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		sp.errorf(n, "fields: want a mapping of field name to type, got %s", describe(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		name := k.Value
		if k.Kind != yaml.ScalarNode || !nameRE.MatchString(name) {
			sp.errorf(k, "fields: invalid field name %s (want lowercase letters, digits and _)", describe(k))
			continue
		}
		if sp.produced[name] != 0 {
			sp.errorf(k, "fields: field %s defined twice", name)
			continue
		}
		sp.nodes[name] = k
		nerr := len(sp.errs)
		f, ok := sp.field(name, v)
		if !ok || len(sp.errs) > nerr {
			// Still known, so that later references do not pile up errors.
			sp.produced[name] = kindString
			sp.broken[name] = true
			continue
		}
		sp.sig.Fields = append(sp.sig.Fields, f)
		kind := kindString
		switch f.Type {
		case Integer:
			kind = kindInteger
		case Duration:
			kind = kindNumber
		}
		sp.produced[name] = kind
		if f.Source == FromCapture {
			sp.captures[name] = true
		}
		for _, sub := range []struct {
			name string
			kind fieldKind
		}{{f.HostName, kindString}, {f.PortName, kindInteger}} {
			if sub.name == "" {
				continue
			}
			if sp.produced[sub.name] != 0 {
				sp.errorf(v, "fields: field %s defined twice", sub.name)
				continue
			}
			sp.produced[sub.name] = sub.kind
		}
	}
}

func parseFieldType(s string) (FieldType, bool) {
	switch s {
	case "string":
		return String, true
	case "integer":
		return Integer, true
	case "duration":
		return Duration, true
	case "hostport":
		return HostPort, true
	}
	return 0, false
}

func (sp *sigParse) field(name string, v *yaml.Node) (Field, bool) {
	f := Field{Name: name, Source: FromCapture}
	what := "fields: " + name
	if v.Kind == yaml.ScalarNode {
		t, ok := sp.str(v, what)
		if !ok {
			return f, false
		}
		if f.Type, ok = parseFieldType(t); !ok {
			sp.errorf(v, "%s: unknown field type %q (want duration, integer, string or hostport)", what, t)
			return f, false
		}
		return f, true
	}
	m := sp.mapping(v, what, fieldKeys, nil)
	if m == nil {
		return f, false
	}
	ok := true
	if e, has := m["from"]; has {
		from, good := sp.str(e.val, what+": from")
		switch {
		case !good:
			ok = false
		case from == "capture":
		case from == "target":
			f.Source = FromTarget
		case from == "template":
			f.Source = FromTemplate
		default:
			sp.errorf(e.val, "%s: from: unknown source %q (want capture, target or template)", what, from)
			ok = false
		}
	}
	if e, has := m["type"]; has {
		t, good := sp.str(e.val, what+": type")
		if good {
			if f.Type, good = parseFieldType(t); !good {
				sp.errorf(e.val, "%s: unknown field type %q (want duration, integer, string or hostport)", what, t)
			}
		}
		ok = ok && good
		if good && f.Source != FromCapture && f.Type != String {
			sp.errorf(e.val, "%s: a field from the %s is a string", what, map[Source]string{FromTarget: "target", FromTemplate: "template"}[f.Source])
			ok = false
		}
	} else if f.Source == FromCapture {
		if _, has := m["from"]; !has || ok {
			sp.errorf(v, "%s: missing key type", what)
			ok = false
		}
	} else {
		f.Type = String
	}
	for _, key := range []string{"host", "port"} {
		e, has := m[key]
		if !has {
			continue
		}
		if f.Type != HostPort {
			sp.errorf(e.key, "%s: %s is only for type hostport", what, key)
			ok = false
			continue
		}
		sub, good := sp.str(e.val, what+": "+key)
		if good && !nameRE.MatchString(sub) {
			sp.errorf(e.val, "%s: %s: invalid field name %q", what, key, sub)
			good = false
		}
		if good && sub == name {
			sp.errorf(e.val, "%s: %s: must differ from the field's own name", what, key)
			good = false
		}
		if !good {
			ok = false
			continue
		}
		if key == "host" {
			f.HostName = sub
		} else {
			f.PortName = sub
		}
	}
	if f.HostName != "" && f.HostName == f.PortName {
		sp.errorf(m["port"].val, "%s: host and port must have different names", what)
		ok = false
	}
	return f, ok
}

// checkCaptures requires a field type for every capture and a capture for
// every field that takes one.
func (sp *sigParse) checkCaptures(names []string, matchNode *yaml.Node) {
	for _, name := range names {
		switch {
		case sp.broken[name] || sp.captures[name]:
		case sp.produced[name] == 0:
			sp.errorf(matchNode, "match: capture %s has no type: add it to fields", name)
		default:
			sp.errorf(matchNode, "match: capture %s clashes with field %s, which does not come from a capture", name, name)
		}
	}
	if sp.sig.Match == nil && matchNode != nil {
		return // the regex is broken: already reported
	}
	for _, f := range sp.sig.Fields {
		if f.Source != FromCapture || slices.Contains(names, f.Name) {
			continue
		}
		at := sp.nodes[f.Name]
		if sp.sig.Match == nil {
			sp.errorf(at, "fields: %s needs a capture, but a fallback signature has no match (use from: target or from: template)", f.Name)
		} else {
			sp.errorf(at, "fields: %s has no capture (?P<%s>...) in match", f.Name, f.Name)
		}
	}
}

func (sp *sigParse) levels(n *yaml.Node) {
	names, nodes := sp.strList(n, "levels")
	for i, name := range names {
		l, err := record.ParseLevel(name)
		if err != nil {
			sp.errorf(nodes[i], "levels: %v", err)
			continue
		}
		if slices.Contains(sp.sig.Levels, l) {
			sp.errorf(nodes[i], "levels: %s listed twice", name)
			continue
		}
		sp.sig.Levels = append(sp.sig.Levels, l)
	}
}

func (sp *sigParse) levelSeverity(n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		sp.errorf(n, "level_severity: want a mapping of level to severity, got %s", describe(n))
		return
	}
	sp.sig.LevelSeverity = map[record.Level]record.Severity{}
	seen := map[record.Level]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		name, ok := sp.str(k, "level_severity")
		if !ok {
			continue
		}
		l, err := record.ParseLevel(name)
		if err != nil {
			sp.errorf(k, "level_severity: %v", err)
			continue
		}
		if seen[l] {
			sp.errorf(k, "level_severity: level %s repeated", name)
			continue
		}
		seen[l] = true
		if len(sp.sig.Levels) > 0 && !slices.Contains(sp.sig.Levels, l) {
			sp.errorf(k, "level_severity: level %s is not in levels", name)
			continue
		}
		if sev, ok := sp.severity(v, "level_severity: "+name); ok {
			sp.sig.LevelSeverity[l] = sev
		}
	}
}

// summary checks that every {name} in the template is a field and that
// optional sections ("[ of {duration_ms} ms]", left out when a field in
// them is missing) are closed and not nested.
func (sp *sigParse) summary(n *yaml.Node, t string) {
	rest := t
	open := false
	for {
		i := strings.IndexAny(rest, "{}[]")
		if i < 0 {
			break
		}
		switch rest[i] {
		case '}':
			sp.errorf(n, "summary: unmatched } in %q", t)
			return
		case '[':
			if open {
				sp.errorf(n, "summary: nested [ in %q", t)
				return
			}
			open = true
			rest = rest[i+1:]
			continue
		case ']':
			if !open {
				sp.errorf(n, "summary: unmatched ] in %q", t)
				return
			}
			open = false
			rest = rest[i+1:]
			continue
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			sp.errorf(n, "summary: unmatched { in %q", t)
			return
		}
		name := rest[i+1 : i+j]
		if sp.produced[name] == 0 {
			sp.errorf(n, "summary: {%s} is not a field of this signature", name)
		}
		rest = rest[i+j+1:]
	}
	if open {
		sp.errorf(n, "summary: unmatched [ in %q", t)
	}
}

var opNames = map[string]Op{">=": GE, ">": GT, "<=": LE, "<": LT, "==": EQ, "!=": NE}

func (sp *sigParse) condition(n *yaml.Node, what string) (Condition, bool) {
	text, ok := sp.str(n, what)
	if !ok {
		return Condition{}, false
	}
	m := condRE.FindStringSubmatch(text)
	if m == nil {
		sp.errorf(n, "%s: condition %q: want FIELD OP NUMBER, OP one of >= > <= < == !=", what, text)
		return Condition{}, false
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		sp.errorf(n, "%s: condition %q: %q is not a number", what, text, m[3])
		return Condition{}, false
	}
	switch kind := sp.produced[m[1]]; {
	case kind == 0:
		sp.errorf(n, "%s: condition %q: %s is not a field of this signature", what, text, m[1])
		return Condition{}, false
	case !kind.numeric():
		sp.errorf(n, "%s: condition %q: field %s is not numeric (want an integer or duration field)", what, text, m[1])
		return Condition{}, false
	}
	return Condition{Field: m[1], Op: opNames[m[2]], Value: v, Text: strings.TrimSpace(text)}, true
}

func (sp *sigParse) raise(n *yaml.Node) {
	for _, item := range sp.list(n, "raise") {
		m := sp.mapping(item, "raise", raiseKeys, raiseKeys)
		if m == nil {
			continue
		}
		var r Raise
		ok := true
		if e, has := m["when"]; has {
			r.When, ok = sp.condition(e.val, "raise: when")
		}
		if e, has := m["severity"]; has {
			sev, good := sp.severity(e.val, "raise: severity")
			if good && sp.sig.Severity != 0 && sev <= sp.sig.Severity {
				sp.errorf(e.val, "raise: severity %s does not exceed the base severity %s", sev, sp.sig.Severity)
				good = false
			}
			r.Severity = sev
			ok = ok && good
		}
		if ok && len(m) == 2 {
			sp.sig.Raise = append(sp.sig.Raise, r)
		}
	}
}

// reachable reports whether the signature can emit sev.
func (sp *sigParse) reachable(sev record.Severity) bool {
	if len(sp.sig.LevelSeverity) == 0 && sev == sp.sig.Severity {
		return true
	}
	for _, s := range sp.sig.LevelSeverity {
		if s == sev {
			return true
		}
	}
	if len(sp.sig.LevelSeverity) > 0 && len(sp.sig.Levels) > len(sp.sig.LevelSeverity) && sev == sp.sig.Severity {
		return true // a level without its own severity gets the base one
	}
	for _, r := range sp.sig.Raise {
		if r.Severity == sev {
			return true
		}
	}
	return false
}

func (sp *sigParse) exampleUnit(n *yaml.Node, what string, own bool) string {
	name, ok := sp.str(n, what)
	if !ok {
		return ""
	}
	u, err := ParseUnit(name)
	if err != nil {
		sp.errorf(n, "%s: %v", what, err)
		return ""
	}
	if own && len(sp.sig.Units) > 0 && !slices.Contains(sp.sig.Units, u) {
		sp.errorf(n, "%s: the signature does not apply to %s", what, u)
		return ""
	}
	return u
}

func (sp *sigParse) example(n *yaml.Node) {
	m := sp.mapping(n, "example", exampleKeys, []string{"line"})
	if m == nil {
		return
	}
	ex := Example{Pos: sp.pos(n)}
	if e, ok := m["line"]; ok {
		ex.Line, _ = sp.str(e.val, "example: line")
		ex.Pos = sp.pos(e.val)
	}
	if e, ok := m["unit"]; ok {
		ex.Unit = sp.exampleUnit(e.val, "example: unit", true)
	}
	if e, ok := m["severity"]; ok {
		if sev, good := sp.severity(e.val, "example: severity"); good {
			if sp.sig.Severity != 0 && !sp.reachable(sev) {
				sp.errorf(e.val, "example: severity %s: the signature never emits it", sev)
			}
			ex.Severity = sev
		}
	}
	if e, ok := m["fields"]; ok {
		ex.Fields = sp.exampleFields(e.val)
	}
	sp.sig.Examples = append(sp.sig.Examples, ex)
}

// exampleFields decodes an example's expected fields: int64 for integer
// fields, int64 or float64 for durations (int64 when whole), string otherwise.
func (sp *sigParse) exampleFields(n *yaml.Node) map[string]any {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		sp.errorf(n, "example: fields: want a mapping of field name to value, got %s", describe(n))
		return nil
	}
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		name := k.Value
		kind := sp.produced[name]
		if k.Kind != yaml.ScalarNode {
			sp.errorf(k, "example: fields: want a field name, got %s", describe(k))
			continue
		}
		if kind == 0 {
			sp.errorf(k, "example: fields: %s is not a field of this signature", name)
			continue
		}
		if _, dup := out[name]; dup {
			sp.errorf(k, "example: fields: %s repeated", name)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			sp.errorf(v, "example: fields: %s: want a value, got %s", name, describe(v))
			continue
		}
		switch kind {
		case kindString:
			out[name] = v.Value
		case kindInteger:
			i, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Tag != "!!int" || err != nil {
				sp.errorf(v, "example: fields: %s: want an integer, got %s", name, describe(v))
				continue
			}
			out[name] = i
		case kindNumber:
			f, err := strconv.ParseFloat(v.Value, 64)
			if (v.Tag != "!!int" && v.Tag != "!!float") || err != nil {
				sp.errorf(v, "example: fields: %s: want a number of milliseconds, got %s", name, describe(v))
				continue
			}
			out[name] = Number(f)
		}
	}
	return out
}

// Number returns f as an int64 when it is whole (and fits), else as float64:
// how duration fields appear in events and examples.
func Number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

func (sp *sigParse) nearMiss(n *yaml.Node) {
	nm := NearMiss{Pos: sp.pos(n)}
	if n.Kind == yaml.ScalarNode {
		nm.Line, _ = sp.str(n, "near_misses")
	} else {
		m := sp.mapping(n, "near miss", nearMissKeys, []string{"line"})
		if m == nil {
			return
		}
		if e, ok := m["line"]; ok {
			nm.Line, _ = sp.str(e.val, "near miss: line")
			nm.Pos = sp.pos(e.val)
		}
		if e, ok := m["unit"]; ok {
			nm.Unit = sp.exampleUnit(e.val, "near miss: unit", false)
		}
	}
	sp.sig.NearMisses = append(sp.sig.NearMisses, nm)
}
