package classify

import (
	"errors"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The fast matcher.
//
// Most signature regexes are a few case-folded literals joined by lazy gaps
// and captures of simple character-class repetitions. fastProg compiles such
// a regex into a small program for a backtracking matcher with Perl's
// leftmost-first semantics, which is what Go's regexp implements: for every
// regex it accepts, it returns the same overall match and the same
// submatches as regexp.FindStringSubmatchIndex (checked by a differential
// test and a fuzz target). Literal strings are compared as strings, a
// repetition of a single-rune class is one instruction, and every position
// where a repetition may stop is tried only when the next byte can start the
// rest of the match. A step budget guards against backtracking blow-up: when
// it runs out the caller falls back to regexp, so the result is always right.
//
// Not accepted (regexp is used): repetitions of a sub-expression that can
// match the empty string (Go's and Perl's semantics differ there), counted
// repetitions of anything but a single-rune class, and more than maxCaps
// capture groups.

const maxCaps = 10 // capture groups, including group 0

type opcode uint8

const (
	opMatch opcode = iota
	opFail
	opLit    // a literal string
	opClass  // one rune of a class
	opRep    // a repetition of one rune of a class
	opSave   // record the position in a capture slot
	opSplit  // try next, then alt
	opAssert // empty-width assertion
)

type inst struct {
	op     opcode
	greedy bool
	fold   bool // opLit: case-insensitive (runes are folded)
	ascii  bool // opLit: lit is ASCII (lower case when fold)
	empty  syntax.EmptyOp
	min    int
	max    int // -1: no limit
	slot   int
	next   int
	alt    int
	lit    string
	runes  []rune
	cls    *runeClass
	// skip, for a lazy unbounded repetition of (nearly) any character, is
	// the literal that the rest of the program must start with (after
	// zero-width instructions): the repetition jumps from one occurrence of
	// it to the next instead of trying every position (ASCII text only).
	skip *litSearch
	// noNL: the repetition's class excludes '\n'.
	noNL bool
	// first holds the bytes that can start a match of the program from
	// next (for opRep: where the repetition may stop).
	first byteSet
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }
func (b *byteSet) add(c byte)      { b[c>>6] |= 1 << (c & 63) }
func (b *byteSet) addHigh()        { b[2], b[3] = ^uint64(0), ^uint64(0) }
func (b *byteSet) union(o byteSet) bool {
	ch := false
	for i := range b {
		if n := b[i] | o[i]; n != b[i] {
			b[i] = n
			ch = true
		}
	}
	return ch
}

var allBytes = byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// runeClass is a set of runes: a bitmap for ASCII and ranges above it.
type runeClass struct {
	ascii  [2]uint64
	ranges []rune // pairs lo, hi of runes >= 0x80
}

func newRuneClass(pairs []rune) *runeClass {
	c := &runeClass{}
	for i := 0; i+1 < len(pairs); i += 2 {
		lo, hi := pairs[i], pairs[i+1]
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			c.ascii[r>>6] |= 1 << (r & 63)
		}
		if hi >= utf8.RuneSelf {
			if lo < utf8.RuneSelf {
				lo = utf8.RuneSelf
			}
			c.ranges = append(c.ranges, lo, hi)
		}
	}
	return c
}

func (c *runeClass) has(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	for i := 0; i < len(c.ranges); i += 2 {
		if r < c.ranges[i] {
			return false
		}
		if r <= c.ranges[i+1] {
			return true
		}
	}
	return false
}

// firstBytes is the set of bytes that can start a rune of the class.
func (c *runeClass) firstBytes() byteSet {
	var b byteSet
	b[0], b[1] = c.ascii[0], c.ascii[1]
	if len(c.ranges) > 0 {
		b.addHigh()
	}
	return b
}

// fastProg is a compiled program.
type fastProg struct {
	insts  []inst
	start  int
	ncap   int // slots: 2*(NumCap+1)
	first  byteSet
	anchor bool      // starts with \A: only position 0
	sets   []byteSet // sets[pc]: bytes that can start a match from pc
}

var errNotFast = errors.New("regex not supported by the fast matcher")

// compileFast compiles a regex (as regexp.Compile parses it) for the fast
// matcher, or returns errNotFast.
func compileFast(expr string) (*fastProg, error) {
	re, err := parseRegex(expr)
	if err != nil {
		return nil, err
	}
	ncap := re.MaxCap() + 1
	if ncap > maxCaps {
		return nil, errNotFast
	}
	c := &fastCompiler{}
	match := c.emit(inst{op: opMatch})
	start := c.comp(re, match)
	if c.err != nil {
		return nil, c.err
	}
	p := &fastProg{insts: c.insts, start: start, ncap: 2 * ncap}
	p.computeFirst()
	p.computeSkips()
	p.first = p.firstOf(start)
	p.anchor = startsWithBeginText(re)
	return p, nil
}

func startsWithBeginText(re *syntax.Regexp) bool {
	for {
		switch re.Op {
		case syntax.OpBeginText:
			return true
		case syntax.OpConcat:
			if len(re.Sub) == 0 {
				return false
			}
			re = re.Sub[0]
		case syntax.OpCapture:
			re = re.Sub[0]
		default:
			return false
		}
	}
}

type fastCompiler struct {
	insts []inst
	err   error
}

func (c *fastCompiler) emit(in inst) int {
	c.insts = append(c.insts, in)
	return len(c.insts) - 1
}

// singleRune returns the class of a regex that matches exactly one rune.
func singleRune(re *syntax.Regexp) *runeClass {
	switch re.Op {
	case syntax.OpCharClass:
		return newRuneClass(re.Rune)
	case syntax.OpAnyCharNotNL:
		return newRuneClass([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune})
	case syntax.OpAnyChar:
		return newRuneClass([]rune{0, unicode.MaxRune})
	case syntax.OpLiteral:
		if len(re.Rune) != 1 {
			return nil
		}
		r := re.Rune[0]
		if re.Flags&syntax.FoldCase == 0 {
			return newRuneClass([]rune{r, r})
		}
		var pairs []rune
		f := r
		for {
			pairs = append(pairs, f, f)
			f = unicode.SimpleFold(f)
			if f == r {
				break
			}
		}
		return newRuneClass(sortPairs(pairs))
	}
	return nil
}

// sortPairs sorts single-rune pairs (lo == hi) by rune.
func sortPairs(p []rune) []rune {
	for i := 2; i < len(p); i += 2 {
		for j := i; j >= 2 && p[j] < p[j-2]; j -= 2 {
			p[j], p[j-2] = p[j-2], p[j]
			p[j+1], p[j-1] = p[j-1], p[j+1]
		}
	}
	return p
}

func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return false
}

var emptyOps = map[syntax.Op]syntax.EmptyOp{
	syntax.OpBeginLine:      syntax.EmptyBeginLine,
	syntax.OpEndLine:        syntax.EmptyEndLine,
	syntax.OpBeginText:      syntax.EmptyBeginText,
	syntax.OpEndText:        syntax.EmptyEndText,
	syntax.OpWordBoundary:   syntax.EmptyWordBoundary,
	syntax.OpNoWordBoundary: syntax.EmptyNoWordBoundary,
}

// comp compiles re so that a match of it continues at next; it returns the
// entry point.
func (c *fastCompiler) comp(re *syntax.Regexp, next int) int {
	if c.err != nil {
		return next
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return c.emit(inst{op: opFail})
	case syntax.OpEmptyMatch:
		return next
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return next
		}
		in := inst{op: opLit, next: next, fold: re.Flags&syntax.FoldCase != 0, ascii: true}
		rs := make([]rune, len(re.Rune))
		for i, r := range re.Rune {
			if in.fold {
				r = foldRune(r)
			}
			rs[i] = r
			if r >= utf8.RuneSelf {
				in.ascii = false
			}
		}
		in.runes = rs
		in.lit = string(rs)
		return c.emit(in)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return c.emit(inst{op: opClass, cls: singleRune(re), next: next})
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return c.emit(inst{op: opAssert, empty: emptyOps[re.Op], next: next})
	case syntax.OpCapture:
		end := c.emit(inst{op: opSave, slot: 2*re.Cap + 1, next: next})
		body := c.comp(re.Sub[0], end)
		return c.emit(inst{op: opSave, slot: 2 * re.Cap, next: body})
	case syntax.OpConcat:
		for i := len(re.Sub) - 1; i >= 0; i-- {
			next = c.comp(re.Sub[i], next)
		}
		return next
	case syntax.OpAlternate:
		pc := c.comp(re.Sub[len(re.Sub)-1], next)
		for i := len(re.Sub) - 2; i >= 0; i-- {
			body := c.comp(re.Sub[i], next)
			pc = c.emit(inst{op: opSplit, next: body, alt: pc})
		}
		return pc
	case syntax.OpQuest:
		body := c.comp(re.Sub[0], next)
		if re.Flags&syntax.NonGreedy != 0 {
			return c.emit(inst{op: opSplit, next: next, alt: body})
		}
		return c.emit(inst{op: opSplit, next: body, alt: next})
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		greedy := re.Flags&syntax.NonGreedy == 0
		min, max := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			min = 1
		case syntax.OpRepeat:
			min, max = re.Min, re.Max
		}
		if cls := singleRune(re.Sub[0]); cls != nil {
			return c.emit(inst{op: opRep, cls: cls, min: min, max: max, greedy: greedy, next: next})
		}
		if re.Op == syntax.OpRepeat || nullable(re.Sub[0]) {
			c.err = errNotFast
			return next
		}
		loop := c.emit(inst{op: opSplit})
		body := c.comp(re.Sub[0], loop)
		if greedy {
			c.insts[loop].next, c.insts[loop].alt = body, next
		} else {
			c.insts[loop].next, c.insts[loop].alt = next, body
		}
		if re.Op == syntax.OpPlus {
			return body
		}
		return loop
	}
	c.err = errNotFast
	return next
}

// computeFirst fills every instruction's first set: the bytes that can start
// a match from its continuation (for opRep, from where the repetition stops).
func (p *fastProg) computeFirst() {
	// sets[pc] = bytes that can start a match from pc (allBytes when the
	// rest can match empty). Iterate to a fixed point: loops are cyclic.
	sets := make([]byteSet, len(p.insts))
	for changed := true; changed; {
		changed = false
		for pc := range p.insts {
			if sets[pc].union(p.firstStep(pc, sets)) {
				changed = true
			}
		}
	}
	for pc := range p.insts {
		in := &p.insts[pc]
		switch in.op {
		case opRep, opLit, opClass, opSave, opAssert:
			in.first = sets[in.next]
		}
	}
	p.sets = sets
}

// computeSkips sets skip on lazy unbounded repetitions of a class holding
// every ASCII byte (but maybe '\n') whose continuation starts with an ASCII
// literal.
func (p *fastProg) computeSkips() {
	for pc := range p.insts {
		in := &p.insts[pc]
		if in.op != opRep || in.greedy || in.max >= 0 {
			continue
		}
		all := true
		for c := rune(0); c < utf8.RuneSelf; c++ {
			if c != '\n' && !in.cls.has(c) {
				all = false
			}
		}
		if !all {
			continue
		}
		next := in.next
		for p.insts[next].op == opAssert || p.insts[next].op == opSave {
			next = p.insts[next].next
		}
		lit := &p.insts[next]
		if lit.op != opLit || !lit.ascii {
			continue
		}
		l := lit.lit
		if !lit.fold {
			// Case-sensitive literal: searching case-insensitively only
			// finds more candidates, which run() then rejects.
			l = strings.ToLower(l)
		}
		in.skip = newLitSearch(l)
		in.noNL = !in.cls.has('\n')
	}
}

func (p *fastProg) firstOf(pc int) byteSet { return p.sets[pc] }

func (p *fastProg) firstStep(pc int, sets []byteSet) byteSet {
	in := &p.insts[pc]
	switch in.op {
	case opMatch:
		return allBytes
	case opFail:
		return byteSet{}
	case opLit:
		var b byteSet
		r := in.runes[0]
		if r < utf8.RuneSelf {
			b.add(byte(r))
			if in.fold && 'a' <= r && r <= 'z' {
				b.add(byte(r) - 'a' + 'A')
			}
		}
		if r >= utf8.RuneSelf || in.fold {
			b.addHigh() // folded forms (KELVIN SIGN, LONG S) and non-ASCII
		}
		return b
	case opClass:
		return in.cls.firstBytes()
	case opRep:
		b := in.cls.firstBytes()
		if in.min == 0 {
			b.union(sets[in.next])
		}
		return b
	case opSave, opAssert:
		return sets[in.next]
	case opSplit:
		b := sets[in.next]
		b.union(sets[in.alt])
		return b
	}
	return allBytes
}

// machine is the state of one fast match.
type machine struct {
	p      *fastProg
	text   string
	steps  int
	budget int
	abort  bool
	// ascii says text has no byte >= 0x80 (asciiOf is the text it was
	// computed for): literal skipping compares ASCII only.
	ascii   bool
	asciiOf string
	caps    [2 * maxCaps]int
}

// exec searches text for the leftmost-first match. ok reports a match, with
// the submatch positions in m.caps[:p.ncap] (-1 for groups that did not
// participate); done is false when the step budget ran out and the caller
// must ask regexp instead.
func (p *fastProg) exec(m *machine, text string) (ok, done bool) {
	m.p = p
	if m.asciiOf != text || len(text) == 0 {
		m.ascii = isASCII(text)
		m.asciiOf = text
	}
	m.text = text
	m.steps = 0
	m.budget = 2000 + 32*len(text)
	m.abort = false
	for pos := 0; pos <= len(text); {
		if pos == len(text) || p.first.has(text[pos]) {
			for i := 0; i < p.ncap; i++ {
				m.caps[i] = -1
			}
			m.caps[0] = pos
			if m.run(p.start, pos) {
				return true, true
			}
			if m.abort {
				return false, false
			}
		}
		if p.anchor || pos == len(text) {
			break
		}
		if text[pos] < utf8.RuneSelf {
			pos++
		} else {
			_, w := utf8.DecodeRuneInString(text[pos:])
			pos += w
		}
	}
	return false, true
}

// step decodes the rune at pos as Go's regexp does (invalid UTF-8 is
// U+FFFD of width 1).
func step(text string, pos int) (rune, int) {
	if c := text[pos]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(text[pos:])
}

func (m *machine) run(pc, pos int) bool {
	text := m.text
	for {
		m.steps++
		if m.steps > m.budget {
			m.abort = true
			return false
		}
		in := &m.p.insts[pc]
		switch in.op {
		case opMatch:
			m.caps[1] = pos
			return true
		case opFail:
			return false
		case opLit:
			n, ok := matchLit(in, text, pos)
			if !ok {
				return false
			}
			pos += n
			pc = in.next
		case opClass:
			if pos >= len(text) {
				return false
			}
			r, w := step(text, pos)
			if !in.cls.has(r) {
				return false
			}
			pos += w
			pc = in.next
		case opRep:
			return m.rep(in, pos)
		case opSave:
			old := m.caps[in.slot]
			m.caps[in.slot] = pos
			if m.run(in.next, pos) {
				return true
			}
			m.caps[in.slot] = old
			return false
		case opSplit:
			if pos == len(text) || m.p.sets[in.next].has(text[pos]) {
				if m.run(in.next, pos) {
					return true
				}
				if m.abort {
					return false
				}
			}
			pc = in.alt
		case opAssert:
			r1, r2 := rune(-1), rune(-1)
			if pos > 0 {
				r1, _ = utf8.DecodeLastRuneInString(text[:pos])
			}
			if pos < len(text) {
				r2, _ = utf8.DecodeRuneInString(text[pos:])
			}
			if syntax.EmptyOpContext(r1, r2)&in.empty != in.empty {
				return false
			}
			pc = in.next
		}
	}
}

// rep runs a repetition of a single-rune class and the rest of the program.
func (m *machine) rep(in *inst, pos int) bool {
	text := m.text
	start := pos
	n := 0
	if in.greedy {
		for (in.max < 0 || n < in.max) && pos < len(text) {
			r, w := step(text, pos)
			if !in.cls.has(r) {
				break
			}
			pos += w
			n++
		}
		if n < in.min {
			return false
		}
		for {
			if pos == len(text) || in.first.has(text[pos]) {
				if m.run(in.next, pos) {
					return true
				}
				if m.abort {
					return false
				}
			}
			if n == in.min {
				return false
			}
			m.steps++
			if m.steps > m.budget {
				m.abort = true
				return false
			}
			_, w := utf8.DecodeLastRuneInString(text[start:pos])
			pos -= w
			n--
		}
	}
	if in.skip != nil && m.ascii {
		return m.lazySkip(in, pos)
	}
	for n < in.min {
		if pos >= len(text) {
			return false
		}
		r, w := step(text, pos)
		if !in.cls.has(r) {
			return false
		}
		pos += w
		n++
	}
	for {
		if pos == len(text) || in.first.has(text[pos]) {
			if m.run(in.next, pos) {
				return true
			}
			if m.abort {
				return false
			}
		}
		if (in.max >= 0 && n >= in.max) || pos >= len(text) {
			return false
		}
		m.steps++
		if m.steps > m.budget {
			m.abort = true
			return false
		}
		r, w := step(text, pos)
		if !in.cls.has(r) {
			return false
		}
		pos += w
		n++
	}
}

// matchLit matches a literal at pos and returns the number of bytes of text
// it covers.
func matchLit(in *inst, text string, pos int) (int, bool) {
	lit := in.lit
	if in.ascii {
		if len(text)-pos < len(lit) {
			return 0, false
		}
		t := text[pos : pos+len(lit)]
		for i := 0; i < len(lit); i++ {
			c, l := t[i], lit[i]
			if c == l {
				continue
			}
			if in.fold && c|0x20 == l && 'a' <= l && l <= 'z' {
				continue
			}
			if c >= utf8.RuneSelf && in.fold {
				return matchLitSlow(in, text, pos)
			}
			return 0, false
		}
		return len(lit), true
	}
	return matchLitSlow(in, text, pos)
}

// matchLitSlow compares rune by rune.
func matchLitSlow(in *inst, text string, pos int) (int, bool) {
	p := pos
	for _, lr := range in.runes {
		if p >= len(text) {
			return 0, false
		}
		r, w := step(text, p)
		if in.fold {
			r = foldRune(r)
		}
		if r != lr {
			return 0, false
		}
		p += w
	}
	return p - pos, true
}

// litSearch finds a lower-case ASCII literal case-insensitively by its
// rarest byte.
type litSearch struct {
	lit          string
	off          int  // offset of the anchor byte in lit
	lower, upper byte // the anchor byte in both cases (equal for non-letters)
}

func newLitSearch(lit string) *litSearch {
	best, bs := 0, -1
	for i := 0; i < len(lit); i++ {
		f := byteFreq(lit[i])
		if 'a' <= lit[i] && lit[i] <= 'z' {
			f += 15 // two searches for a letter
		}
		if bs < 0 || f < bs {
			best, bs = i, f
		}
	}
	c := lit[best]
	ls := &litSearch{lit: lit, off: best, lower: c, upper: c}
	if 'a' <= c && c <= 'z' {
		ls.upper = c - 'a' + 'A'
	}
	return ls
}

// find returns the first k >= q, k <= limit, where lit occurs in text, or
// -1. text is ASCII.
func (ls *litSearch) find(text string, q, limit int) int {
	for {
		a := q + ls.off
		if a >= len(text) || q > limit {
			return -1
		}
		j := strings.IndexByte(text[a:], ls.lower)
		if ls.upper != ls.lower {
			if u := strings.IndexByte(text[a:], ls.upper); u >= 0 && (j < 0 || u < j) {
				j = u
			}
		}
		if j < 0 {
			return -1
		}
		k := a + j - ls.off
		if k > limit {
			return -1
		}
		if k+len(ls.lit) <= len(text) && foldEqualASCII(text[k:k+len(ls.lit)], ls.lit) {
			return k
		}
		q = k + 1
	}
}

// lazySkip runs a lazy repetition with a skip literal: the rest of the
// program can only match where the literal occurs, so only those positions
// are tried, in increasing order, as the plain loop would.
func (m *machine) lazySkip(in *inst, pos int) bool {
	text := m.text
	limit := len(text)
	if in.noNL {
		if j := strings.IndexByte(text[pos:], '\n'); j >= 0 {
			limit = pos + j
		}
	}
	q := pos + in.min // ASCII: one byte per rune
	for q <= limit {
		k := in.skip.find(text, q, limit)
		if k < 0 {
			return false
		}
		m.steps++
		if m.steps > m.budget {
			m.abort = true
			return false
		}
		if m.run(in.next, k) {
			return true
		}
		if m.abort {
			return false
		}
		q = k + 1
	}
	return false
}
