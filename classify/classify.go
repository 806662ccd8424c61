package classify

import (
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// runbookPath is the runbook's path under the runbook base.
const runbookPath = "docs/ops/troubleshooting.md#"

// MaxMessageBytes caps Event.Message: a longer message is cut (at a rune
// boundary) and "…[truncated N bytes]" is appended.
const MaxMessageBytes = 64 << 10

// Options configure a Classifier.
type Options struct {
	// RunbookBase is the URL prefix of the runbook links; empty means
	// DefaultRunbookBase.
	RunbookBase string
	// ClockStep is for the rules over time (NewRules): how far behind the
	// latest entry of its host an entry must be to be taken as that host's
	// clock having been stepped back rather than as a late entry. 0 means
	// DefaultClockStep of the rules.
	ClockStep time.Duration
}

// Classifier matches entries against a signature library. It is immutable
// after New and safe for concurrent use.
//
// Matching rules:
//
//   - An entry's unit (its own, else inferred from the target; see Line)
//     selects the signatures that list it in Units; a line with no unit is
//     tried only against the signatures that apply to all three services.
//     Entries of any other unit never give an event.
//   - Signatures are tried in library order, restricted by Levels. The first
//     whose regex matches decides: if its FireWhen conditions hold, it gives
//     the event. If they do not (a healthy "Handled put request,
//     latency=15ms"), the line gets no event from any later regex signature
//     either (a generic signature must not turn a line that a specific one
//     judged healthy into an event); only a fallback signature (one without
//     a regex, service.unclassified) may still claim it, so a WARN/ERROR line
//     stays visible.
//   - Fields come from named captures typed per patterns.Field. A value that
//     does not parse (an integer that overflows int64, a malformed duration)
//     is left out of the event; Explain reports the error. A condition on a
//     missing field is false.
//   - The severity is the base severity (LevelSeverity of the line's level
//     when the signature has one), raised to the highest severity among the
//     Raise conditions that hold; never lowered.
//   - Event.Message is the message as logged with ANSI codes removed, made
//     valid UTF-8 (U+FFFD for bad bytes) and capped at MaxMessageBytes.
//     Event.Priority is the entry's PRIORITY, else derived from the level in
//     the text (error 3, warn 4, info 6, debug/trace 7), else -1.
type Classifier struct {
	lib   *patterns.Library
	base  string
	sigs  []*csig
	words int
	// services are lib's, or the built-in ones when it has none.
	services patterns.Services
	// units maps a unit to the signatures that apply to it; noUnit holds
	// those for lines without a unit.
	units    map[string]*unitSet
	unitList []namedSet
	noUnit   *unitSet
	// For tests: plain regexp for every signature, no prefilter.
	noFast, noPrefilter bool
}

type namedSet struct {
	name string
	set  *unitSet
}

// unitSet is the prefilter for the signatures of one unit.
type unitSet struct {
	ac     *automaton   // nil when no signature has literals
	ngram  *ngramFilter // the automaton's fast equivalent for ASCII lines
	always []uint64     // candidates regardless of literals
	// journal are the signatures that may match on journal fields alone:
	// candidates only for an entry that has journal fields or comes from
	// PID 1 (systemd's own messages).
	journal []uint64
	members []uint64
	// byLevel[l] holds the members whose Levels allow level l.
	byLevel [record.LevelError + 1][]uint64
}

// levelIndex maps a level to an index of unitSet.byLevel.
func levelIndex(l record.Level) int {
	if l < record.LevelNone || l > record.LevelError {
		return int(record.LevelNone)
	}
	return int(l)
}

// fieldKind says how one emitted field gets its value.
type fieldKind uint8

const (
	fkString fieldKind = iota + 1
	fkInt
	fkDuration
	fkHostPort // the whole capture, as a string
	fkHost
	fkPort
	fkTarget
	fkTemplate
)

// fieldSpec is one field a signature emits.
type fieldSpec struct {
	name string
	kind fieldKind
	// groups[a] are the capture groups of the field's name in the regex of
	// alternative a, in the regex's order: the first that took part in the
	// match gives the value (a field may stand before or after the
	// phrase). None for target and template.
	groups [][]int
	// from are the names of the event's structured fields (JSON fields,
	// tracing-journald F_*) that give the value when no group does.
	from []string
	// journal is the journal field that gives the value when neither a
	// group nor a structured field does.
	journal string
}

type condSpec struct {
	field int // index into fields; -1: not emitted, always false
	c     patterns.Condition
}

type raiseSpec struct {
	cond condSpec
	sev  record.Severity
}

// summaryPart is literal text or (field >= 0) a field reference.
type summaryPart struct {
	text  string
	field int
	name  string
	// section is the optional "[...]" section the part belongs to (0: none);
	// a section is left out when one of its fields is missing.
	section int
}

// csig is a compiled signature.
type csig struct {
	sig *patterns.Signature
	idx int
	// alts are the ways the signature matches: its match and journal
	// conditions, or each of its `any` alternatives; none for a fallback.
	alts []calt
	// lits are literals the body must hold for the signature to match
	// (nil: no prefilter); gated says every way it matches needs a journal
	// field (see unitSet.journal).
	lits    []string
	gated   bool
	fields  []fieldSpec
	fire    []condSpec
	raise   []raiseSpec
	levels  uint32 // bitmask of allowed levels; 0: any
	runbook string
	groupBy []int
	summary []summaryPart
	hasTpl  bool
}

// calt is one way a signature matches: every journal condition holds and,
// when re is set, re matches the body.
type calt struct {
	re      *regexp.Regexp
	fast    *fastProg
	journal []patterns.JournalMatch
}

// New compiles a library for classification. The library must not change
// afterwards.
func New(lib *patterns.Library, opts Options) *Classifier {
	return newClassifier(lib, opts, true, true)
}

// newClassifier is New with the fast matcher and the prefilter optional:
// tests compare the result with plain regexp on every signature.
func newClassifier(lib *patterns.Library, opts Options, fast, prefilter bool) *Classifier {
	c := &Classifier{lib: lib, services: lib.Services, base: opts.RunbookBase, units: map[string]*unitSet{}, noFast: !fast, noPrefilter: !prefilter}
	if c.services == nil {
		c.services = patterns.BuiltinServices()
	}
	if c.base == "" {
		c.base = record.DefaultRunbookBase
	}
	c.words = (len(lib.Signatures) + 63) / 64
	if c.words == 0 {
		c.words = 1
	}
	for i, s := range lib.Signatures {
		c.sigs = append(c.sigs, c.compile(i, s))
	}
	seen := map[string]bool{}
	for _, s := range lib.Signatures {
		for _, u := range s.Units {
			if !seen[u] {
				seen[u] = true
				c.units[u] = c.buildSet(func(cs *csig) bool { return slices.Contains(cs.sig.Units, u) })
				c.unitList = append(c.unitList, namedSet{u, c.units[u]})
			}
		}
	}
	c.noUnit = c.buildSet(func(cs *csig) bool {
		for _, u := range c.services.Units() {
			if !slices.Contains(cs.sig.Units, u) {
				return false
			}
		}
		return true
	})
	return c
}

func (c *Classifier) compile(i int, s *patterns.Signature) *csig {
	cs := &csig{sig: s, idx: i, runbook: c.base + runbookPath + s.Anchor}
	switch {
	case s.Fallback:
	case len(s.Any) > 0:
		for _, a := range s.Any {
			cs.alts = append(cs.alts, c.alt(a.Match, a.Journal))
		}
	default:
		cs.alts = []calt{c.alt(s.Match, s.Journal)}
	}
	cs.gated = len(cs.alts) > 0
	for _, a := range cs.alts {
		if len(a.journal) == 0 {
			cs.gated = false
		}
	}
	if len(cs.alts) == 1 && cs.alts[0].re != nil && !c.noPrefilter {
		if re, err := parseRegex(cs.alts[0].re.String()); err == nil {
			cs.lits = requiredLiterals(re)
		}
	}
	for _, f := range s.Fields {
		switch f.Source {
		case patterns.FromTarget:
			cs.fields = append(cs.fields, fieldSpec{name: f.Name, kind: fkTarget})
			continue
		case patterns.FromTemplate:
			cs.fields = append(cs.fields, fieldSpec{name: f.Name, kind: fkTemplate})
			cs.hasTpl = true
			continue
		}
		spec := fieldSpec{name: f.Name, from: structuredNames(f), journal: f.JournalField}
		for _, a := range cs.alts {
			spec.groups = append(spec.groups, captureGroups(a.re, f.Name))
		}
		switch f.Type {
		case patterns.Integer:
			spec.kind = fkInt
		case patterns.Duration:
			spec.kind = fkDuration
		case patterns.HostPort:
			spec.kind = fkHostPort
		default:
			spec.kind = fkString
		}
		cs.fields = append(cs.fields, spec)
		if f.Type == patterns.HostPort {
			if f.HostName != "" {
				host := spec
				host.name, host.kind = f.HostName, fkHost
				cs.fields = append(cs.fields, host)
			}
			if f.PortName != "" {
				port := spec
				port.name, port.kind = f.PortName, fkPort
				cs.fields = append(cs.fields, port)
			}
		}
	}
	for _, w := range s.FireWhen {
		cs.fire = append(cs.fire, cs.cond(w))
	}
	for _, r := range s.Raise {
		cs.raise = append(cs.raise, raiseSpec{cond: cs.cond(r.When), sev: r.Severity})
	}
	for _, l := range s.Levels {
		cs.levels |= 1 << uint(l)
	}
	for _, g := range s.GroupBy {
		cs.groupBy = append(cs.groupBy, cs.fieldIndex(g))
	}
	cs.summary = parseSummary(s.Summary, cs.fieldIndex)
	return cs
}

// alt compiles one way of matching.
func (c *Classifier) alt(re *regexp.Regexp, journal []patterns.JournalMatch) calt {
	a := calt{re: re, journal: journal}
	if re != nil && !c.noFast {
		if p, err := compileFast(re.String()); err == nil {
			a.fast = p
		}
	}
	return a
}

// captureGroups returns the indexes of the regex's groups named name.
func captureGroups(re *regexp.Regexp, name string) []int {
	if re == nil {
		return nil
	}
	var groups []int
	for i, n := range re.SubexpNames() {
		if n == name {
			groups = append(groups, i)
		}
	}
	return groups
}

// structuredNames are the names of the structured fields that give a
// field: the one its `field:` names, else its own and, for a duration in
// milliseconds, the name without "_ms" (latency_ms comes from
// latency=900ms).
func structuredNames(f patterns.Field) []string {
	if f.EventField != "" {
		return []string{f.EventField}
	}
	names := []string{f.Name}
	if base, ok := strings.CutSuffix(f.Name, "_ms"); ok && f.Type == patterns.Duration && base != "" {
		names = append(names, base)
	}
	return names
}

func (cs *csig) fieldIndex(name string) int {
	for i, f := range cs.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func (cs *csig) cond(w patterns.Condition) condSpec {
	return condSpec{field: cs.fieldIndex(w.Field), c: w}
}

// parseSummary splits a summary template into text and {field} references.
func parseSummary(s string, index func(string) int) []summaryPart {
	var parts []summaryPart
	section, n := 0, 0
	for s != "" {
		i := strings.IndexAny(s, "{[]")
		if i < 0 {
			break
		}
		if s[i] == '[' || s[i] == ']' {
			if i > 0 {
				parts = append(parts, summaryPart{text: s[:i], field: -1, section: section})
			}
			if s[i] == '[' {
				n++
				section = n
			} else {
				section = 0
			}
			s = s[i+1:]
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		if name == "" || strings.ContainsAny(name, "{ ") {
			parts = append(parts, summaryPart{text: s[:i+1], field: -1, section: section})
			s = s[i+1:]
			continue
		}
		if i > 0 {
			parts = append(parts, summaryPart{text: s[:i], field: -1, section: section})
		}
		parts = append(parts, summaryPart{field: index(name), name: name, section: section})
		s = s[i+j+1:]
	}
	if s != "" {
		parts = append(parts, summaryPart{text: s, field: -1, section: section})
	}
	for k := range parts {
		if parts[k].name != "" && parts[k].field < 0 {
			parts[k].field = -2 // a reference to a field the signature does not emit
		}
	}
	return parts
}

func (c *Classifier) buildSet(member func(*csig) bool) *unitSet {
	us := &unitSet{always: make([]uint64, c.words), journal: make([]uint64, c.words), members: make([]uint64, c.words)}
	for l := range us.byLevel {
		us.byLevel[l] = make([]uint64, c.words)
	}
	var pats [][]string
	var idx []int
	for _, cs := range c.sigs {
		if !member(cs) {
			continue
		}
		us.members[cs.idx/64] |= 1 << (cs.idx % 64)
		for l := range us.byLevel {
			if cs.levelOK(record.Level(l)) {
				us.byLevel[l][cs.idx/64] |= 1 << (cs.idx % 64)
			}
		}
		switch {
		case cs.lits != nil:
		case cs.gated:
			us.journal[cs.idx/64] |= 1 << (cs.idx % 64)
			continue
		default:
			us.always[cs.idx/64] |= 1 << (cs.idx % 64)
			continue
		}
		pats = append(pats, cs.lits)
		idx = append(idx, cs.idx)
	}
	if len(pats) > 0 {
		us.ac = newAutomaton(pats, idx, c.words)
		us.ngram = newNgramFilter(pats, idx, c.words)
		if us.ac == nil { // too many literals for the automaton: no prefilter
			us.ngram = nil
			for _, i := range idx {
				us.always[i/64] |= 1 << (i % 64)
			}
		}
	}
	return us
}

// scan ORs into cand the signatures whose literals occur in body.
func (us *unitSet) scan(body string, cand []uint64) {
	if us.ac == nil {
		return
	}
	if us.ngram != nil && us.ngram.scan(body, cand) {
		return
	}
	copy(cand, us.always) // not ASCII: the automaton folds runes
	us.ac.scan(body, cand)
}

// set returns the prefilter for a unit, or nil when no signature applies.
func (c *Classifier) set(unit string) *unitSet {
	if unit == "" {
		return c.noUnit
	}
	// A short list beats a map: unit strings are mostly the constants
	// Services.UnitOf returns, and comparing them is cheap.
	for i := range c.unitList {
		if c.unitList[i].name == unit {
			return c.unitList[i].set
		}
	}
	return nil
}

// value is a typed field value.
type value struct {
	kind uint8 // 0: absent
	i    int64
	f    float64
	s    string
}

const (
	vInt uint8 = iota + 1
	vFloat
	vString
)

func (v value) num() (float64, bool) {
	switch v.kind {
	case vInt:
		return float64(v.i), true
	case vFloat:
		return v.f, true
	}
	return 0, false
}

func (v value) any() any {
	switch v.kind {
	case vInt:
		return v.i
	case vFloat:
		return v.f
	}
	return v.s
}

// tag tells the kinds apart in window keys and fingerprints: "-" absent,
// then "I", "F" or "S".
func (v value) tag() byte {
	switch v.kind {
	case 0:
		return '-'
	case vInt:
		return 'I'
	case vFloat:
		return 'F'
	}
	return 'S'
}

func (v value) String() string {
	switch v.kind {
	case vInt:
		return strconv.FormatInt(v.i, 10)
	case vFloat:
		return FormatNumber(v.f)
	}
	return v.s
}

// maxInlineFields is how many field values live on the stack.
const maxInlineFields = 8

// values computes the field values from the captures and, for a field no
// capture gave, from the event's structured fields (not the template, which
// needs the body and allocates; see fillTemplate). When errs is not nil,
// errs[k] receives the error of a value that did not parse; when srcs is
// not nil, srcs[k] says where a value came from.
func (cs *csig) values(body string, caps []int, alt int, l *Line, out []value, errs []error, srcs []string) {
	for k, f := range cs.fields {
		v := &out[k]
		*v = value{}
		if f.kind == fkTarget {
			if l.Target != "" {
				v.kind, v.s = vString, l.Target
			}
			continue
		}
		var groups []int
		if alt >= 0 && alt < len(f.groups) {
			groups = f.groups[alt]
		}
		s, at, ok := capture(body, caps, groups)
		src := ""
		if ok && srcs != nil {
			src = l.sourceAt(at)
		}
		if !ok {
			s, src, ok = l.structured(f.from)
		}
		if !ok && f.journal != "" {
			s, ok = l.journalValue(f.journal)
			src = f.journal
		}
		if !ok {
			continue
		}
		if srcs != nil {
			srcs[k] = src
		}
		s = unquote(s)
		switch f.kind {
		case fkString, fkHostPort:
			v.kind, v.s = vString, s
		case fkInt:
			n, err := ParseInt(s)
			if err != nil {
				setErr(errs, k, err)
				continue
			}
			v.kind, v.i = vInt, n
		case fkDuration:
			d, err := ParseDuration(s)
			if err != nil {
				setErr(errs, k, err)
				continue
			}
			v.kind, v.f = vFloat, d
		case fkHost, fkPort:
			h, p, err := SplitHostPort(s)
			if err != nil {
				setErr(errs, k, err)
				continue
			}
			if f.kind == fkHost {
				v.kind, v.s = vString, h
			} else {
				v.kind, v.i = vInt, p
			}
		}
	}
}

// capture returns the text of the first of groups that took part in the
// match, and where it starts in body.
func capture(body string, caps []int, groups []int) (string, int, bool) {
	for _, g := range groups {
		if 2*g+1 < len(caps) && caps[2*g] >= 0 {
			return body[caps[2*g]:caps[2*g+1]], caps[2*g], true
		}
	}
	return "", 0, false
}

// unquote removes the double quotes that tracing's Debug formatting puts
// around a string value (addr="10.0.0.12:2380").
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func setErr(errs []error, k int, err error) {
	if errs != nil {
		errs[k] = err
	}
}

// fillTemplate sets the template fields (allocates).
func (cs *csig) fillTemplate(body string, out []value) {
	if !cs.hasTpl {
		return
	}
	var t string
	for k, f := range cs.fields {
		if f.kind == fkTemplate {
			if t == "" {
				t = Template(body)
			}
			out[k] = value{kind: vString, s: t}
		}
	}
}

func (cd condSpec) holds(vals []value) bool {
	if cd.field < 0 {
		return false
	}
	x, ok := vals[cd.field].num()
	if !ok {
		return false
	}
	y := cd.c.Value
	switch cd.c.Op {
	case patterns.GE:
		return x >= y
	case patterns.GT:
		return x > y
	case patterns.LE:
		return x <= y
	case patterns.LT:
		return x < y
	case patterns.EQ:
		return x == y
	case patterns.NE:
		return x != y
	}
	return false
}

func (cs *csig) fires(vals []value) bool {
	for _, cd := range cs.fire {
		if !cd.holds(vals) {
			return false
		}
	}
	return true
}

// baseSeverity is the severity before raises.
func (cs *csig) baseSeverity(l record.Level) record.Severity {
	if cs.sig.LevelSeverity != nil {
		if s, ok := cs.sig.LevelSeverity[l]; ok {
			return s
		}
	}
	return cs.sig.Severity
}

func (cs *csig) severity(l record.Level, vals []value) record.Severity {
	sev := cs.baseSeverity(l)
	for _, r := range cs.raise {
		if r.sev > sev && r.cond.holds(vals) {
			sev = r.sev
		}
	}
	return sev
}

func (cs *csig) levelOK(l record.Level) bool {
	return cs.levels == 0 || cs.levels&(1<<uint(l)) != 0
}

// match tries the signature's ways of matching the line in order and
// returns the captures and the index of the first that matched (-1 for a
// fallback). caps is scratch space for the fast matcher; the result aliases
// it or is allocated by regexp.
func (cs *csig) match(m *machine, l *Line) ([]int, int, bool) {
	if cs.sig.Fallback {
		return nil, -1, true
	}
	for i := range cs.alts {
		a := &cs.alts[i]
		if !l.journalHolds(a.journal) {
			continue
		}
		if a.re == nil {
			return nil, i, true
		}
		if a.fast != nil {
			ok, done := a.fast.exec(m, l.Body)
			if done {
				if ok {
					return m.caps[:a.fast.ncap], i, true
				}
				continue
			}
		}
		if loc := a.re.FindStringSubmatchIndex(l.Body); loc != nil {
			return loc, i, true
		}
	}
	return nil, -1, false
}

// Classify returns the event for an entry, or false when it gives none
// (another unit, a healthy line, a line no signature matches).
func (c *Classifier) Classify(e *record.Entry) (record.Event, bool) {
	var l Line
	var buf [4]uint64
	cand := c.prepare(e, &l, &buf)
	if cand == nil {
		return record.Event{}, false
	}
	var ev record.Event
	ok := c.decide(e, &l, cand, &ev, nil)
	return ev, ok
}

// prepare normalises e into l and returns the candidate signatures for it
// (a bitset over library indexes, in buf when it fits), or nil when none
// can match: the entry's unit has no signatures, or the prefilter and the
// level rule out every one.
func (c *Classifier) prepare(e *record.Entry, l *Line, buf *[4]uint64) []uint64 {
	normalize(e, l, c.services)
	us := c.set(l.Unit)
	if us == nil {
		return nil
	}
	var cand []uint64
	if c.words <= len(buf) {
		cand = buf[:c.words]
	} else {
		cand = make([]uint64, c.words)
	}
	copy(cand, us.always)
	us.scan(l.Body, cand)
	if len(e.Journal) > 0 || e.PID == 1 {
		for w := range cand {
			cand[w] |= us.journal[w]
		}
	}
	any := uint64(0)
	allowed := us.byLevel[levelIndex(l.Level)]
	for w := range cand {
		cand[w] &= allowed[w]
		any |= cand[w]
	}
	if any == 0 {
		return nil
	}
	return cand
}

// notFired records the regex signature that matched a line but whose
// FireWhen did not hold, with its field values: inline when they fit, else
// in more.
type notFired struct {
	cs   *csig
	vals [maxInlineFields]value
	n    int
	more []value
}

// values returns the recorded field values.
func (nf *notFired) values() []value {
	if nf.more != nil {
		return nf.more
	}
	return nf.vals[:nf.n]
}

// decide tries the candidate signatures in library order and fills ev with
// the event of the first that matches and fires. When a regex signature
// matches but its FireWhen does not hold, the search continues with
// fallbacks only, and nf (when not nil) records that signature.
func (c *Classifier) decide(e *record.Entry, l *Line, cand []uint64, ev *record.Event, nf *notFired) bool {
	var m machine
	failed := false // a signature that is not a fallback matched but did not fire
	for w, word := range cand {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			cs := c.sigs[i]
			if failed && !cs.sig.Fallback {
				continue
			}
			caps, alt, ok := cs.match(&m, l)
			if !ok {
				continue
			}
			if c.fire(cs, e, l, caps, alt, ev, nf) {
				return true
			}
			if !cs.sig.Fallback {
				failed = true
			}
		}
	}
	return false
}

// fire computes a matching signature's fields and, when its FireWhen
// conditions hold, the event.
func (c *Classifier) fire(cs *csig, e *record.Entry, l *Line, caps []int, alt int, ev *record.Event, nf *notFired) bool {
	var valBuf [maxInlineFields]value
	var vals []value
	if len(cs.fields) <= len(valBuf) {
		vals = valBuf[:len(cs.fields)]
	} else {
		vals = make([]value, len(cs.fields))
	}
	cs.values(l.Body, caps, alt, l, vals, nil, nil)
	if !cs.fires(vals) {
		if nf != nil && nf.cs == nil && !cs.sig.Fallback {
			nf.cs = cs
			if len(vals) > len(nf.vals) {
				nf.more = append([]value(nil), vals...)
			} else {
				nf.n = copy(nf.vals[:], vals)
			}
		}
		return false
	}
	*ev = c.event(cs, e, l, vals)
	return true
}

// event builds the event of a signature that fired.
func (c *Classifier) event(cs *csig, e *record.Entry, l *Line, vals []value) record.Event {
	cs.fillTemplate(l.Body, vals)
	fields := make(map[string]any, len(cs.fields))
	for k, f := range cs.fields {
		if vals[k].kind != 0 {
			fields[f.name] = vals[k].any()
		}
	}
	return record.Event{
		Time:        record.Time{Time: e.Time},
		Host:        e.Host,
		Unit:        l.Unit,
		Signature:   cs.sig.ID,
		Severity:    cs.severity(l.Level, vals),
		Summary:     cs.renderSummary(vals),
		Runbook:     cs.runbook,
		Fields:      fields,
		Message:     eventMessage(l.Message),
		Target:      l.Target,
		Priority:    l.eventPriority(),
		PID:         e.PID,
		BootID:      e.BootID,
		Cursor:      e.Cursor,
		Fingerprint: cs.fingerprint(e.Host, vals),
	}
}

func (cs *csig) renderSummary(vals []value) string {
	var b strings.Builder
	b.Grow(len(cs.sig.Summary) + 32)
	var missing uint64 // bit k: optional section k lacks a field
	for _, p := range cs.summary {
		if p.section > 0 && p.section < 64 && p.name != "" && (p.field < 0 || vals[p.field].kind == 0) {
			missing |= 1 << p.section
		}
	}
	for _, p := range cs.summary {
		if p.section > 0 && p.section < 64 && missing&(1<<p.section) != 0 {
			continue
		}
		switch {
		case p.field >= 0 && vals[p.field].kind != 0:
			b.WriteString(vals[p.field].String())
		case p.field >= 0 || p.field == -2:
			b.WriteString("?")
		default:
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// fingerprint hashes the signature, the host and the group_by field values.
// Every part is written with a tag and its length, so different parts
// cannot run into each other.
func (cs *csig) fingerprint(host string, vals []value) string {
	var buf [256]byte
	b := buf[:0]
	put := func(b []byte, tag byte, s string) []byte {
		b = append(b, tag)
		b = strconv.AppendUint(b, uint64(len(s)), 10)
		b = append(b, ':')
		return append(b, s...)
	}
	b = put(b, 's', cs.sig.ID)
	b = put(b, 'h', host)
	var num [32]byte
	for _, k := range cs.groupBy {
		if k < 0 || vals[k].kind == 0 {
			b = put(b, '-', "")
			continue
		}
		switch v := vals[k]; v.kind {
		case vInt:
			b = put(b, 'I', string(strconv.AppendInt(num[:0], v.i, 10)))
		case vFloat:
			b = put(b, 'F', string(strconv.AppendFloat(num[:0], v.f, 'f', -1, 64)))
		default:
			b = put(b, 'S', v.s)
		}
	}
	return hex16(xxhash.Sum64(b))
}

func hex16(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// eventMessage makes a message fit for an event: valid UTF-8 and capped.
func eventMessage(msg string) string {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	if len(msg) <= MaxMessageBytes {
		return msg
	}
	cut := MaxMessageBytes
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…[truncated " + strconv.Itoa(len(msg)-cut) + " bytes]"
}
