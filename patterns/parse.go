package patterns

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/centra-cloud/cflogd/record"
)

// File is one parsed pattern file: its services, signatures and rules in
// file order.
type File struct {
	Name       string
	Services   Services
	Signatures []*Signature
	Rules      []*Rule
	// binds resolve the file's service names (units:, the unit of an
	// example) once the library's services are known.
	binds []func(b *parser)
}

// The parts of a pattern file as written, the model of Prometheus' rulefmt:
// yaml decodes a mapping into one of these structs (decode checks its keys
// first: a field's key is its lower-cased name unless tagged), every value
// keeps its node for positions, and the parser checks and converts it.
type (
	fileDoc struct {
		Rules, Services, Signatures yaml.Node
		CaseSensitive               yaml.Node `yaml:"case_sensitive"`
	}
	serviceDoc   struct{ Name, Unit, Aliases, Identifiers, Crates yaml.Node }
	signatureDoc struct {
		ID, Units, Summary, Severity, Anchor, Match, Journal, Any, Fields, Raise, Levels, Fallback, Before, Examples yaml.Node

		FireWhen      yaml.Node `yaml:"fire_when"`
		LevelSeverity yaml.Node `yaml:"level_severity"`
		GroupBy       yaml.Node `yaml:"group_by"`
		CaseSensitive yaml.Node `yaml:"case_sensitive"`
		NearMisses    yaml.Node `yaml:"near_misses"`
	}
	altDoc      struct{ Match, Journal yaml.Node }
	fieldDoc    struct{ Type, From, Field, Journal, Host, Port yaml.Node }
	raiseDoc    struct{ When, Severity yaml.Node }
	exampleDoc  struct{ Line, Entry, Fields, Severity, Unit yaml.Node }
	nearMissDoc struct{ Line, Entry, Unit yaml.Node }
)

var (
	idRE      = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$`)
	anchorRE  = regexp.MustCompile(`^[a-z0-9_-]+$`)
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	journalRE = regexp.MustCompile(`^[A-Z0-9_]+$`)
	eventRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	serviceRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	unitRE    = regexp.MustCompile(`^[A-Za-z0-9:_.@-]+\.service$`)
	condRE    = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$`)
	yamlLine  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse parses one pattern file, naming it name in positions, with its
// service names bound to the built-in services and the file's own. On
// errors it returns an *ErrorList with every problem of the file, and a
// File holding what could be read far enough to have an id.
func Parse(name string, data []byte) (*File, error) {
	f, err := parse(name, data)
	var errs ErrorList
	if l := (*ErrorList)(nil); errors.As(err, &l) {
		errs = *l
	}
	f.bind(mergeServices(BuiltinServices(), []*File{f}, &errs), &errs)
	errs.sort(nil)
	return f, errs.err()
}

// parse parses one pattern file without binding its service names.
func parse(name string, data []byte) (f *File, err error) {
	p := &parser{name: name}
	f = &File{Name: name}
	defer func() {
		if r := recover(); r != nil {
			// yaml.v3 has panicked on malformed input before; a pattern file
			// must never take the daemon down.
			p.errs = ErrorList{{Pos: Pos{File: name, Line: 1, Col: 1}, Msg: fmt.Sprintf("parse YAML: %v", r)}}
			f = &File{Name: name}
			err = &p.errs
		}
	}()
	p.file(f, data)
	p.errs.sort(nil)
	return f, p.errs.err()
}

// bind resolves the file's service names with the services ss.
func (f *File) bind(ss Services, errs *ErrorList) {
	b := &parser{name: f.Name, ss: ss}
	for _, fn := range f.binds {
		fn(b)
	}
	*errs = append(*errs, b.errs...)
}

type parser struct {
	name string
	errs ErrorList
	ss   Services // the services names bind to
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
			p.errs.Add(Pos{File: p.name, Line: 1, Col: 1}, "empty file: want a mapping with the key signatures, rules or services")
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
	var d fileDoc
	if p.decode(root, "pattern file", &d) == nil {
		return
	}
	if !has(d.Signatures) && !has(d.Rules) && !has(d.Services) {
		p.errorf(root, "pattern file: missing key signatures (or rules, or services)")
	}
	caseSensitive, _ := p.boolean(&d.CaseSensitive, "case_sensitive")
	p.services(f, &d.Services)
	f.Rules = parseList(p, &d.Rules, "rules", "duplicate rule id", func(n *yaml.Node) *Rule { return p.rule(f, n) },
		func(r *Rule) (string, Pos) { return r.ID, r.Pos })
	f.Signatures = parseList(p, &d.Signatures, "signatures", "duplicate id", func(n *yaml.Node) *Signature { return p.signature(f, n, caseSensitive) },
		func(s *Signature) (string, Pos) { return s.ID, s.Pos })
}

// parseList parses the items of a list with parse, dropping those that came
// back nil and, with an error, those whose id came before.
func parseList[T comparable](p *parser, n *yaml.Node, what, dup string, parse func(*yaml.Node) T, id func(T) (string, Pos)) []T {
	var out []T
	var zero T
	seen := map[string]Pos{}
	for _, item := range p.list(n, what) {
		v := parse(item)
		if v == zero {
			continue
		}
		name, pos := id(v)
		if first, ok := seen[name]; ok {
			p.errorf(item, "%s %s (first defined at %s)", dup, name, first)
			continue
		}
		seen[name] = pos
		out = append(out, v)
	}
	return out
}

// services parses the file's services:.
func (p *parser) services(f *File, n *yaml.Node) {
	for _, item := range p.list(n, "services") {
		var d serviceDoc
		if p.decode(item, "service", &d, "name") == nil {
			continue
		}
		name, _ := p.word(&d.Name, "service: name", serviceRE, "name", " (want a lowercase word such as placement-driver)")
		if name == "" {
			continue
		}
		s := Service{Name: name, Unit: name + ".service", Identifiers: []string{name},
			Crates: []string{strings.ReplaceAll(name, "-", "_")}, Pos: p.pos(item)}
		if u, ok := p.word(&d.Unit, "service: unit", unitRE, "unit", " (want a systemd service unit such as "+name+".service)"); ok {
			s.Unit = u
		}
		for _, l := range []struct {
			key string
			n   *yaml.Node
			dst *[]string
		}{{"aliases", &d.Aliases, &s.Aliases}, {"identifiers", &d.Identifiers, &s.Identifiers}, {"crates", &d.Crates, &s.Crates}} {
			if has(*l.n) {
				*l.dst, _ = p.strList(l.n, "service: "+l.key)
			}
		}
		f.Services = append(f.Services, s)
	}
}

// has reports whether a key was given.
func has(n yaml.Node) bool { return n.Kind != 0 }

// decode checks that n is a mapping whose keys are those of the fields of
// the struct v points to (see fileDoc), each once, the need ones present,
// then decodes n into v with aliases resolved. It returns the key nodes by
// name, or nil when n is not a mapping.
func (p *parser) decode(n *yaml.Node, what string, v any, need ...string) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return nil
	}
	var known []string
	for f := range reflect.TypeOf(v).Elem().Fields() {
		known = append(known, cmp.Or(f.Tag.Get("yaml"), strings.ToLower(f.Name)))
	}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := deref(n.Content[i]); {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, "%s: a key must be a plain word, got %s", what, describe(k))
		case !slices.Contains(known, k.Value):
			p.errorf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(slices.Sorted(slices.Values(known)), ", "))
		case keys[k.Value] != nil:
			p.errorf(k, "%s: key %s repeated (first at line %d)", what, k.Value, keys[k.Value].Line)
		default:
			keys[k.Value] = k
		}
	}
	_ = n.Decode(v) // every field is a yaml.Node: only the repeated keys reported above fail
	for i := range known {
		f := reflect.ValueOf(v).Elem().Field(i).Addr().Interface().(*yaml.Node)
		*f = *deref(f)
	}
	for _, key := range need {
		if keys[key] == nil {
			p.errorf(n, "%s: missing key %s", what, key)
		}
	}
	return keys
}

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

// list returns the items of a sequence, or nil with an error.
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	n = deref(n)
	if n.Kind == 0 {
		return nil
	}
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
// An absent value (Kind 0) gives false without an error, here and in the
// other readers of values.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind == 0 {
		return "", false
	}
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
	if n.Kind == 0 {
		return false, false
	}
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

// word reads a string that re must match: when it does not, it reports
// "invalid <noun>" with hint, and returns the string with false.
func (p *parser) word(n *yaml.Node, what string, re *regexp.Regexp, noun, hint string) (string, bool) {
	s, ok := p.str(n, what)
	if ok && !re.MatchString(s) {
		p.errorf(n, "%s: invalid %s %q%s", what, noun, s, hint)
		return s, false
	}
	return s, ok
}

// anchor reads a runbook heading slug.
func (p *parser) anchor(n *yaml.Node) string {
	a, _ := p.word(n, "anchor", anchorRE, "anchor", " (want a heading slug such as issue-high-write-latency)")
	return a
}

// id reads a signature or rule id, "" when there is none; an invalid one is
// reported and kept, so that the rest is checked.
func (p *parser) id(n *yaml.Node, example string) string {
	id, _ := p.word(n, "id", idRE, "id", " (want lowercase dotted words such as "+example+")")
	return id
}

// unit binds a service name to its unit, "" with an error when there is none.
func (p *parser) unit(n *yaml.Node, what string) string {
	name, ok := p.str(n, what)
	if !ok {
		return ""
	}
	u, err := p.ss.ParseUnit(name)
	if err != nil {
		p.errorf(n, "%s: %v", what, err)
	}
	return u
}

// fieldKind is what values a produced field holds.
type fieldKind int

const (
	kindString fieldKind = iota + 1
	kindInteger
	kindNumber // durations: milliseconds, integer or not
)

func (k fieldKind) numeric() bool { return k == kindInteger || k == kindNumber }

// typeKinds are the kinds of the field types.
var typeKinds = [...]fieldKind{String: kindString, Integer: kindInteger, Duration: kindNumber, HostPort: kindString}

// sigParse holds what a signature's parts need from each other.
type sigParse struct {
	*parser
	sig      *Signature
	produced map[string]fieldKind  // every field the signature emits
	captures map[string]bool       // fields that come from a named capture
	broken   map[string]bool       // fields with errors, known to avoid follow-on errors
	nodes    map[string]*yaml.Node // each field's key in fields:
	exUnits  []yaml.Node           // the unit of each example (Kind 0: none)
	nmUnits  []yaml.Node           // the unit of each near miss
	regexes  []regexCaptures       // each regex's captures
	badRegex bool                  // a regex did not compile (already reported)
}

// regexCaptures are the capture names of one regex, and where it is.
type regexCaptures struct {
	node  *yaml.Node
	names []string
}

func (p *parser) signature(f *File, n *yaml.Node, fileCaseSensitive bool) *Signature {
	var d signatureDoc
	keys := p.decode(n, "signature", &d, "id", "units", "summary", "severity", "anchor")
	if keys == nil {
		return nil
	}
	id := p.id(&d.ID, "chainfire.rocksdb_stall")
	if id == "" {
		return nil
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
	s.Severity, _ = p.severity(&d.Severity, "severity")
	s.Anchor = p.anchor(&d.Anchor)
	if v, ok := p.boolean(&d.CaseSensitive, "case_sensitive"); ok {
		s.CaseSensitive = v
	}
	s.Fallback, _ = p.boolean(&d.Fallback, "fallback")
	switch {
	case s.Fallback:
		for _, key := range []string{"match", "journal", "any"} {
			if keys[key] != nil {
				p.errorf(keys[key], "%s: a fallback signature has no %s", key, key)
				sp.badRegex = true // no follow-on errors about captures
			}
		}
	case has(d.Any) && (has(d.Match) || has(d.Journal)):
		p.errorf(keys["any"], "any: a signature has match and journal, or any, not both")
	case !has(d.Match) && !has(d.Journal) && !has(d.Any):
		p.errorf(deref(n), "signature: missing key match (or journal, or any)")
	}
	if has(d.Fields) {
		sp.fields(&d.Fields)
	}
	if !s.Fallback {
		s.Match, s.MatchText = sp.match(&d.Match)
		s.Journal = p.journal(&d.Journal, "journal")
		for _, item := range p.list(&d.Any, "any") {
			var a altDoc
			if p.decode(item, "any", &a) == nil {
				continue
			}
			if !has(a.Match) && !has(a.Journal) {
				p.errorf(item, "any: an alternative needs match, journal or both")
			}
			alt := Alternative{Pos: p.pos(item), Journal: p.journal(&a.Journal, "any: journal")}
			alt.Match, alt.MatchText = sp.match(&a.Match)
			s.Any = append(s.Any, alt)
		}
	}
	sp.checkCaptures()
	sp.levels(&d.Levels)
	if s.Fallback && len(s.Levels) == 0 {
		p.errorf(&d.Fallback, "fallback: a fallback signature needs levels (it would match every line)")
	}
	if has(d.LevelSeverity) {
		sp.levelSeverity(&d.LevelSeverity)
	}
	if t, ok := p.str(&d.Summary, "summary"); ok {
		s.Summary = t
		sp.summary(&d.Summary, t)
	}
	for _, item := range p.list(&d.FireWhen, "fire_when") {
		if c, ok := sp.condition(item, "fire_when"); ok {
			s.FireWhen = append(s.FireWhen, c)
		}
	}
	sp.raise(&d.Raise)
	names, nodes := p.strList(&d.GroupBy, "group_by")
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
	if b, ok := p.str(&d.Before, "before"); ok && b == id {
		p.errorf(&d.Before, "before: a signature cannot be placed before itself")
	} else if ok {
		s.Before, s.BeforePos = b, p.pos(&d.Before)
	}
	for _, item := range p.list(&d.Examples, "examples") {
		sp.example(item)
	}
	for _, item := range p.list(&d.NearMisses, "near_misses") {
		sp.nearMiss(item)
	}
	f.binds = append(f.binds, func(b *parser) { sp.bind(b, &d.Units) })
	return s
}

// bind resolves the signature's units and those of its examples and near
// misses.
func (sp *sigParse) bind(b *parser, units *yaml.Node) {
	s := sp.sig
	s.Units = nil
	if units.Kind == yaml.ScalarNode && units.Value == "all" {
		s.Units = b.ss.Units()
	} else if has(*units) {
		names, nodes := b.strList(units, "units")
		if len(names) == 0 && units.Kind == yaml.SequenceNode {
			b.errorf(units, "units: want at least one unit")
		}
		for i, name := range names {
			if name == "all" {
				if len(names) > 1 {
					b.errorf(nodes[i], "units: all cannot be combined with other units")
				}
				s.Units = b.ss.Units()
				break
			}
			switch u := b.unit(nodes[i], "units"); {
			case u == "":
			case slices.Contains(s.Units, u):
				b.errorf(nodes[i], "units: %s listed twice", name)
			default:
				s.Units = append(s.Units, u)
			}
		}
	}
	for i := range sp.exUnits {
		n := &sp.exUnits[i]
		u := b.unit(n, "example: unit")
		if u != "" && len(s.Units) > 0 && !slices.Contains(s.Units, u) {
			b.errorf(n, "example: unit: the signature does not apply to %s", u)
			u = ""
		}
		s.Examples[i].Unit = u
	}
	for i := range sp.nmUnits {
		s.NearMisses[i].Unit = b.unit(&sp.nmUnits[i], "near miss: unit")
	}
}

// match compiles a regex of the signature (match:), noting its captures.
func (sp *sigParse) match(n *yaml.Node) (*regexp.Regexp, string) {
	text, ok := sp.str(n, "match")
	if !ok {
		return nil, ""
	}
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
		sp.badRegex = true
		return nil, text
	}
	var names []string
	for _, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		// A name may stand for several groups (a field before or after a
		// phrase): the first group that took part in the match gives it.
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sp.regexes = append(sp.regexes, regexCaptures{n, names})
	return re, text
}

// journal reads conditions on journal fields: a mapping of field name to a
// value or a list of values.
func (p *parser) journal(n *yaml.Node, what string) []JournalMatch {
	var out []JournalMatch
	p.pairs(n, what, "journal field to value", func(k, v *yaml.Node) {
		m := JournalMatch{Field: k.Value}
		if v.Kind == yaml.SequenceNode {
			m.Values, _ = p.strList(v, what+": "+k.Value)
		} else if s, ok := p.str(v, what+": "+k.Value); ok {
			m.Values = []string{s}
		}
		out = append(out, m)
	})
	return out
}

// entry reads an example given as journal fields (entry:).
func (p *parser) entry(n *yaml.Node, what string) []record.Field {
	var out []record.Field
	p.pairs(n, what, "journal field to value", func(k, v *yaml.Node) {
		s, ok := p.str(v, what+": "+k.Value)
		if ok && k.Value == "PRIORITY" && (len(s) != 1 || s[0] < '0' || s[0] > '7') {
			p.errorf(v, "%s: PRIORITY: want 0 to 7, got %q", what, s)
		}
		out = append(out, record.Field{Name: k.Value, Value: s})
	})
	if deref(n).Kind == yaml.MappingNode && !slices.ContainsFunc(out, func(f record.Field) bool { return f.Name == "MESSAGE" }) {
		p.errorf(n, "%s: missing MESSAGE", what)
	}
	return out
}

// lineOrEntry reads an example's line: or entry:, exactly one of which
// must be given.
func (p *parser) lineOrEntry(n, line, entry *yaml.Node, what string) (string, []record.Field) {
	switch {
	case has(*line) && has(*entry):
		p.errorf(entry, "%s: give line or entry, not both", what)
	case !has(*line) && !has(*entry):
		p.errorf(deref(n), "%s: missing key line (or entry)", what)
	}
	s, _ := p.str(line, what+": line")
	return s, p.entry(entry, what+": entry")
}

// pairs calls fn for each key: value of a mapping of journal field names
// (upper case, as the journal writes them), each once.
func (p *parser) pairs(n *yaml.Node, what, want string, fn func(k, v *yaml.Node)) {
	n = deref(n)
	if n.Kind == 0 {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping of %s, got %s", what, want, describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode || !journalRE.MatchString(k.Value):
			p.errorf(k, "%s: invalid journal field name %s (want upper case such as MESSAGE_ID)", what, describe(k))
		case seen[k.Value]:
			p.errorf(k, "%s: %s repeated", what, k.Value)
		default:
			seen[k.Value] = true
			fn(k, v)
		}
	}
}

// MaxFields is the most fields a signature may emit (a host:port field
// counts its host and port too): an event is a small record, and rules
// over time keep every field of a match.
const MaxFields = 32

func (sp *sigParse) fields(n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		sp.errorf(n, "fields: want a mapping of field name to type, got %s", describe(n))
		return
	}
	if len(n.Content)/2 > MaxFields {
		sp.errorf(n, "fields: %d fields, at most %d", len(n.Content)/2, MaxFields)
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
		f := sp.field(name, v)
		if len(sp.errs) > nerr {
			// Still known, so that later references do not pile up errors.
			sp.produced[name] = kindString
			sp.broken[name] = true
			continue
		}
		sp.sig.Fields = append(sp.sig.Fields, f)
		sp.produced[name] = typeKinds[f.Type]
		if f.Source == FromCapture {
			sp.captures[name] = true
		}
		for _, sub := range []string{f.HostName, f.PortName} {
			switch {
			case sub == "":
			case sp.produced[sub] != 0:
				sp.errorf(v, "fields: field %s defined twice", sub)
			default:
				sp.produced[sub] = sp.sig.fieldKind(sub)
			}
		}
	}
}

// fieldTypes and fieldSources are the field types and sources by name.
var (
	fieldTypes   = map[string]FieldType{"string": String, "integer": Integer, "duration": Duration, "hostport": HostPort}
	fieldSources = map[string]Source{"capture": FromCapture, "target": FromTarget, "template": FromTemplate}
)

// field reads the type and source of the field name. Errors are reported,
// and make fields treat the field as broken.
func (sp *sigParse) field(name string, v *yaml.Node) Field {
	f := Field{Name: name, Source: FromCapture}
	what := "fields: " + name
	if v.Kind == yaml.ScalarNode {
		if t, ok := sp.str(v, what); ok {
			if f.Type, ok = fieldTypes[t]; !ok {
				sp.errorf(v, "%s: unknown field type %q (want duration, integer, string or hostport)", what, t)
			}
		}
		return f
	}
	var d fieldDoc
	keys := sp.decode(v, what, &d)
	if keys == nil {
		return f
	}
	// sourceOK: field:, journal: and from: are well-formed; a missing type is
	// not reported on top of an error about them.
	sourceOK := true
	f.EventField, _ = sp.str(&d.Field, what+": field")
	f.JournalField, _ = sp.str(&d.Journal, what+": journal")
	if f.EventField != "" && !eventRE.MatchString(f.EventField) {
		sp.errorf(&d.Field, "%s: field: invalid field name %q", what, f.EventField)
		sourceOK = false
	}
	if f.JournalField != "" && !journalRE.MatchString(f.JournalField) {
		sp.errorf(&d.Journal, "%s: journal: invalid journal field name %q (want upper case such as N_RESTARTS)", what, f.JournalField)
		sourceOK = false
	}
	from, good := sp.str(&d.From, what+": from")
	if good {
		if f.Source, good = fieldSources[from]; !good {
			sp.errorf(&d.From, "%s: from: unknown source %q (want capture, target or template)", what, from)
		}
	}
	sourceOK = sourceOK && (good || !has(d.From))
	switch {
	case has(d.Type):
		if t, ok := sp.str(&d.Type, what+": type"); ok {
			if f.Type, ok = fieldTypes[t]; !ok {
				sp.errorf(&d.Type, "%s: unknown field type %q (want duration, integer, string or hostport)", what, t)
			} else if f.Source != FromCapture && f.Type != String {
				sp.errorf(&d.Type, "%s: a field from the %s is a string", what, from)
			}
		}
	case f.Source != FromCapture:
		f.Type = String
	case !has(d.From) || sourceOK:
		sp.errorf(v, "%s: missing key type", what)
	}
	if f.Source != FromCapture && (has(d.Field) || has(d.Journal)) {
		sp.errorf(cmp.Or(keys["field"], keys["journal"]), "%s: a field from the %s has no field or journal source", what, from)
	}
	for _, sub := range []struct {
		key string
		n   *yaml.Node
		dst *string
	}{{"host", &d.Host, &f.HostName}, {"port", &d.Port, &f.PortName}} {
		if !has(*sub.n) {
			continue
		}
		if f.Type != HostPort {
			sp.errorf(keys[sub.key], "%s: %s is only for type hostport", what, sub.key)
		} else if s, ok := sp.word(sub.n, what+": "+sub.key, nameRE, "field name", ""); ok && s == f.Name {
			sp.errorf(sub.n, "%s: %s: must differ from the field's own name", what, sub.key)
		} else if ok {
			*sub.dst = s
		}
	}
	if f.HostName != "" && f.HostName == f.PortName {
		sp.errorf(&d.Port, "%s: host and port must have different names", what)
	}
	return f
}

// checkCaptures requires a field type for every capture, and a capture for
// every field that takes one and has no field or journal field to fall
// back on.
func (sp *sigParse) checkCaptures() {
	var all []string
	for _, rc := range sp.regexes {
		for _, name := range rc.names {
			switch {
			case sp.broken[name] || sp.captures[name]:
			case sp.produced[name] == 0:
				sp.errorf(rc.node, "match: capture %s has no type: add it to fields", name)
			default:
				sp.errorf(rc.node, "match: capture %s clashes with field %s, which does not come from a capture", name, name)
			}
		}
		all = append(all, rc.names...)
	}
	if sp.badRegex {
		return
	}
	for _, f := range sp.sig.Fields {
		if f.Source != FromCapture || f.EventField != "" || f.JournalField != "" || slices.Contains(all, f.Name) {
			continue
		}
		at := sp.nodes[f.Name]
		switch {
		case sp.sig.Fallback:
			sp.errorf(at, "fields: %s needs a capture, but a fallback signature has no match (use from: target or from: template)", f.Name)
		case len(sp.regexes) == 0:
			sp.errorf(at, "fields: %s needs a capture, but the signature has no match (give field: or journal:)", f.Name)
		default:
			sp.errorf(at, "fields: %s has no capture (?P<%s>...) in match", f.Name, f.Name)
		}
	}
}

func (sp *sigParse) levels(n *yaml.Node) {
	names, nodes := sp.strList(n, "levels")
	for i, name := range names {
		switch l, err := record.ParseLevel(name); {
		case err != nil:
			sp.errorf(nodes[i], "levels: %v", err)
		case slices.Contains(sp.sig.Levels, l):
			sp.errorf(nodes[i], "levels: %s listed twice", name)
		default:
			sp.sig.Levels = append(sp.sig.Levels, l)
		}
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

// summary checks the template: braces and optional sections ("[ of
// {duration_ms} ms]", left out when a field in them is missing), and that
// every {name} is a field.
func (sp *sigParse) summary(n *yaml.Node, t string) {
	names, err := placeholders(t, true)
	if err != "" {
		sp.errorf(n, "summary: %s", err)
	}
	for _, name := range names {
		if sp.produced[name] == 0 {
			sp.errorf(n, "summary: {%s} is not a field of this signature", name)
		}
	}
}

// placeholders returns the {name}s of a summary template, or what is wrong
// with its braces (and, with sections, its square brackets, which must be
// closed and not nested).
func placeholders(t string, sections bool) (names []string, err string) {
	open := false
	for rest := t; ; {
		i := strings.IndexAny(rest, "{}[]")
		if i < 0 {
			break
		}
		c := rest[i]
		switch {
		case c == '}':
			return nil, fmt.Sprintf("unmatched } in %q", t)
		case c == '{':
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return nil, fmt.Sprintf("unmatched { in %q", t)
			}
			names = append(names, rest[i+1:i+j])
			rest = rest[i+j+1:]
			continue
		case !sections:
		case c == '[' && open:
			return nil, fmt.Sprintf("nested [ in %q", t)
		case c == ']' && !open:
			return nil, fmt.Sprintf("unmatched ] in %q", t)
		default:
			open = c == '['
		}
		rest = rest[i+1:]
	}
	if open {
		return nil, fmt.Sprintf("unmatched [ in %q", t)
	}
	return names, ""
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
		var d raiseDoc
		if sp.decode(item, "raise", &d, "when", "severity") == nil {
			continue
		}
		when, ok := sp.condition(&d.When, "raise: when")
		sev, good := sp.severity(&d.Severity, "raise: severity")
		if good && sp.sig.Severity != 0 && sev <= sp.sig.Severity {
			sp.errorf(&d.Severity, "raise: severity %s does not exceed the base severity %s", sev, sp.sig.Severity)
			good = false
		}
		if ok && good {
			sp.sig.Raise = append(sp.sig.Raise, Raise{When: when, Severity: sev})
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

func (sp *sigParse) example(n *yaml.Node) {
	var d exampleDoc
	if sp.decode(n, "example", &d) == nil {
		return
	}
	ex := Example{Pos: sp.pos(n)}
	ex.Line, ex.Entry = sp.lineOrEntry(n, &d.Line, &d.Entry, "example")
	if has(d.Line) {
		ex.Pos = sp.pos(&d.Line)
	}
	if sev, ok := sp.severity(&d.Severity, "example: severity"); ok {
		if sp.sig.Severity != 0 && !sp.reachable(sev) {
			sp.errorf(&d.Severity, "example: severity %s: the signature never emits it", sev)
		}
		ex.Severity = sev
	}
	if has(d.Fields) {
		ex.Fields = sp.exampleFields(&d.Fields)
	}
	sp.sig.Examples = append(sp.sig.Examples, ex)
	sp.exUnits = append(sp.exUnits, d.Unit)
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
		name, kind := k.Value, sp.produced[k.Value]
		_, dup := out[name]
		switch {
		case k.Kind != yaml.ScalarNode:
			sp.errorf(k, "example: fields: want a field name, got %s", describe(k))
		case kind == 0:
			sp.errorf(k, "example: fields: %s is not a field of this signature", name)
		case dup:
			sp.errorf(k, "example: fields: %s repeated", name)
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			sp.errorf(v, "example: fields: %s: want a value, got %s", name, describe(v))
		case kind == kindString:
			out[name] = v.Value
		case kind == kindInteger:
			i, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Tag != "!!int" || err != nil {
				sp.errorf(v, "example: fields: %s: want an integer, got %s", name, describe(v))
				continue
			}
			out[name] = i
		case kind == kindNumber:
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
	var d nearMissDoc
	if n.Kind == yaml.ScalarNode {
		nm.Line, _ = sp.str(n, "near_misses")
	} else if sp.decode(n, "near miss", &d) == nil {
		return
	} else if nm.Line, nm.Entry = sp.lineOrEntry(n, &d.Line, &d.Entry, "near miss"); has(d.Line) {
		nm.Pos = sp.pos(&d.Line)
	}
	sp.sig.NearMisses = append(sp.sig.NearMisses, nm)
	sp.nmUnits = append(sp.nmUnits, d.Unit)
}
