package classify

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Literal prefilter.
//
// For every signature's regex, requiredLiterals extracts a set of case-folded
// literals (see foldRune) such that every match of the regex contains at
// least one of them. One Aho-Corasick automaton per unit holds the literals
// of the signatures that apply to that unit; a single pass over the folded
// message gives the set of candidate signatures. A regex without an
// extractable literal set is always a candidate.

const (
	maxExactSet = 16 // largest set of alternative strings tracked exactly
	maxExactLen = 64 // longest string tracked exactly (bytes)
)

// litInfo describes the strings a regex can match: exact, when non-nil, is
// the complete set of (folded) strings it matches (possibly ""); req, when
// non-nil, is a set such that every match contains one of them.
type litInfo struct {
	exact []string
	req   []string
}

// parseRegex parses a regex as regexp.Compile does and simplifies it.
func parseRegex(expr string) (*syntax.Regexp, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	return re.Simplify(), nil
}

// requiredLiterals returns a set of folded literals one of which occurs in
// every match of the regex, or nil when there is none.
func requiredLiterals(re *syntax.Regexp) []string {
	return bestOf(analyze(re))
}

// bestOf picks the required set of an info: its own, or its exact set when
// that holds no empty string.
func bestOf(in litInfo) []string {
	cands := [][]string{}
	if validReq(in.exact) {
		cands = append(cands, in.exact)
	}
	if validReq(in.req) {
		cands = append(cands, in.req)
	}
	return pickBest(cands)
}

func validReq(set []string) bool {
	if len(set) == 0 {
		return false
	}
	for _, s := range set {
		if s == "" {
			return false
		}
	}
	return true
}

// score ranks a required set: longer shortest member is better (fewer false
// candidates), smaller sets break ties.
func score(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m*64 - len(set)
}

// pickBest returns the best of the candidate sets (the first on ties).
func pickBest(cands [][]string) []string {
	var best []string
	bs := 0
	for _, c := range cands {
		if !validReq(c) {
			continue
		}
		if s := score(c); best == nil || s > bs {
			best, bs = c, s
		}
	}
	return best
}

// dedup sorts a set and removes duplicates.
func dedup(set []string) []string {
	slices.Sort(set)
	return slices.Compact(set)
}

// minimize removes from a required set every member that contains another
// member: a line holding the longer one holds the shorter one too.
func minimize(set []string) []string {
	set = dedup(set)
	out := set[:0:0]
	for _, s := range set {
		redundant := false
		for _, o := range set {
			if o != s && strings.Contains(s, o) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, s)
		}
	}
	return out
}

// classLiterals returns the folded single-rune strings a small class
// matches, or nil when the class is large.
func classLiterals(ranges []rune) []string {
	var out []string
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > 8 {
			return nil
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			out = append(out, string(utf8.AppendRune(nil, foldRune(r))))
		}
	}
	return dedup(out)
}

func analyze(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpNoMatch:
		// Matches nothing: any requirement holds vacuously, but keep it simple.
		return litInfo{}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return litInfo{exact: []string{""}}
	case syntax.OpLiteral:
		return litInfo{exact: []string{foldRunes(re.Rune)}}
	case syntax.OpCharClass:
		if set := classLiterals(re.Rune); set != nil {
			return litInfo{exact: set}
		}
		return litInfo{}
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpPlus:
		return litInfo{req: bestOf(analyze(re.Sub[0]))}
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return litInfo{req: bestOf(analyze(re.Sub[0]))}
		}
		return litInfo{}
	case syntax.OpQuest:
		sub := analyze(re.Sub[0])
		if sub.exact != nil && len(sub.exact) < maxExactSet {
			return litInfo{exact: dedup(append(slices.Clone(sub.exact), ""))}
		}
		return litInfo{}
	case syntax.OpConcat:
		return analyzeConcat(re.Sub)
	case syntax.OpAlternate:
		return analyzeAlternate(re.Sub)
	}
	// OpStar, OpAnyChar, OpAnyCharNotNL, large classes: nothing required.
	return litInfo{}
}

func analyzeConcat(subs []*syntax.Regexp) litInfo {
	var cands [][]string
	cur := []string{""} // exact set of the current run of exact factors
	allExact := true
	for _, sub := range subs {
		if e := plusExact(sub); e != nil {
			// x+ with x exact: the first x continues the current run and
			// the last one starts the next.
			if prod := product(cur, e); prod != nil {
				cands = append(cands, prod)
			} else {
				cands = append(cands, cur)
			}
			allExact = false
			cur = e
			continue
		}
		in := analyze(sub)
		if in.req != nil {
			cands = append(cands, in.req)
		}
		if in.exact != nil {
			if prod := product(cur, in.exact); prod != nil {
				cur = prod
				continue
			}
			// Too large: close the run and start a new one with this factor.
			cands = append(cands, cur)
			cur = in.exact
			allExact = false
			continue
		}
		allExact = false
		cands = append(cands, cur)
		cur = []string{""}
	}
	cands = append(cands, cur)
	if allExact {
		return litInfo{exact: cur}
	}
	return litInfo{req: pickBest(cands)}
}

// plusExact returns the exact set of x for a repetition x+ (or x{n,} and
// x{n,m} with n >= 1), or nil.
func plusExact(re *syntax.Regexp) []string {
	if re.Op != syntax.OpPlus && !(re.Op == syntax.OpRepeat && re.Min >= 1) {
		return nil
	}
	e := analyze(re.Sub[0]).exact
	if !validReq(e) {
		return nil
	}
	return e
}

// product returns the concatenations of every a with every b, or nil when
// the result would be too large.
func product(a, b []string) []string {
	if len(a)*len(b) > maxExactSet {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			if len(x)+len(y) > maxExactLen {
				return nil
			}
			out = append(out, x+y)
		}
	}
	return dedup(out)
}

func analyzeAlternate(subs []*syntax.Regexp) litInfo {
	var exact, req []string
	exactOK, reqOK := true, true
	for _, sub := range subs {
		in := analyze(sub)
		if exactOK && in.exact != nil {
			exact = append(exact, in.exact...)
		} else {
			exactOK = false
		}
		b := bestOf(in)
		if reqOK && b != nil {
			req = append(req, b...)
		} else {
			reqOK = false
		}
	}
	var out litInfo
	if exactOK && len(exact) <= maxExactSet {
		out.exact = dedup(exact)
	}
	if reqOK {
		out.req = minimize(req)
	}
	return out
}

// automaton is an Aho-Corasick automaton over folded bytes with a dense
// transition table on a compressed alphabet. Its outputs are signature
// indexes, collected into a bitset.
type automaton struct {
	// class maps a text byte to its alphabet class; upper-case ASCII letters
	// share their lower-case letter's class, and bytes >= 0x80 map to
	// slowClass (the rune is folded first). canon maps a folded byte.
	class  [256]uint16
	canon  [256]uint16
	nclass int
	// next is the transition table: next[state*nclass+class].
	next []int32
	// States >= outStart have outputs: outs[(state-outStart)*words ...].
	outStart int32
	outs     []uint64
	words    int
}

const slowClass = 0xffff

// newAutomaton builds the automaton for the given literals; pats[i] are the
// literals of signature sigs[i].
func newAutomaton(pats [][]string, sigs []int, words int) *automaton {
	a := &automaton{words: words}
	// Alphabet: every byte occurring in a literal gets a class; 0 is "other".
	used := [256]bool{}
	for _, set := range pats {
		for _, p := range set {
			for i := 0; i < len(p); i++ {
				used[p[i]] = true
			}
		}
	}
	n := 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.canon[b] = uint16(n)
			n++
		}
	}
	a.nclass = n
	for b := 0; b < 256; b++ {
		switch {
		case b >= 0x80:
			a.class[b] = slowClass
		case 'A' <= b && b <= 'Z':
			a.class[b] = a.canon[b+'a'-'A']
		default:
			a.class[b] = a.canon[b]
		}
	}

	// Trie.
	type node struct {
		child map[uint16]int
		fail  int
		out   []int // signature indexes
	}
	nodes := []*node{{child: map[uint16]int{}}}
	for i, set := range pats {
		for _, p := range set {
			s := 0
			for j := 0; j < len(p); j++ {
				c := a.canon[p[j]]
				nx, ok := nodes[s].child[c]
				if !ok {
					nx = len(nodes)
					nodes = append(nodes, &node{child: map[uint16]int{}})
					nodes[s].child[c] = nx
				}
				s = nx
			}
			nodes[s].out = append(nodes[s].out, sigs[i])
		}
	}
	// BFS: failure links, inherited outputs and the full transition function.
	trans := make([][]int, len(nodes))
	for i := range trans {
		trans[i] = make([]int, n)
	}
	queue := []int{}
	for c := 1; c < n; c++ {
		if nx, ok := nodes[0].child[uint16(c)]; ok {
			trans[0][c] = nx
			nodes[nx].fail = 0
			queue = append(queue, nx)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		for c := 0; c < n; c++ {
			if nx, ok := nodes[s].child[uint16(c)]; ok && c != 0 {
				trans[s][c] = nx
				nodes[nx].fail = trans[nodes[s].fail][c]
				queue = append(queue, nx)
			} else {
				trans[s][c] = trans[nodes[s].fail][c]
			}
		}
	}
	// Renumber: states without outputs first, then those with outputs.
	order := make([]int, 0, len(nodes))
	for i, nd := range nodes {
		if len(nd.out) == 0 {
			order = append(order, i)
		}
	}
	a.outStart = int32(len(order))
	for i, nd := range nodes {
		if len(nd.out) != 0 {
			order = append(order, i)
		}
	}
	newID := make([]int32, len(nodes))
	for ni, old := range order {
		newID[old] = int32(ni)
	}
	a.next = make([]int32, len(nodes)*n)
	a.outs = make([]uint64, (len(nodes)-int(a.outStart))*words)
	for ni, old := range order {
		for c := 0; c < n; c++ {
			a.next[ni*n+c] = newID[trans[old][c]]
		}
		if ni >= int(a.outStart) {
			base := (ni - int(a.outStart)) * words
			for _, sig := range nodes[old].out {
				a.outs[base+sig/64] |= 1 << (sig % 64)
			}
		}
	}
	// The root must stay state 0 for scan; it has no outputs (no empty
	// literal), so it is the first state without outputs.
	if newID[0] != 0 {
		panic("classify: automaton root renumbered")
	}
	return a
}

// scan runs the automaton over s, folding it on the fly, and ORs the
// signatures whose literals occur into bits (len(bits) == a.words).
func (a *automaton) scan(s string, bits []uint64) {
	next := a.next
	nc := int32(a.nclass)
	var st int32
	for i := 0; i < len(s); i++ {
		c := a.class[s[i]]
		if c == slowClass {
			st, i = a.slow(s, i, st, bits)
			continue
		}
		st = next[st*nc+int32(c)]
		if st >= a.outStart {
			a.collect(st, bits)
		}
	}
}

func (a *automaton) collect(st int32, bits []uint64) {
	base := int(st-a.outStart) * a.words
	for w := range bits {
		bits[w] |= a.outs[base+w]
	}
}

// slow feeds the folded form of the rune at s[i] (a byte >= 0x80) and
// returns the new state and the index of the rune's last byte.
func (a *automaton) slow(s string, i int, st int32, bits []uint64) (int32, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	var buf [utf8.UTFMax]byte
	enc := utf8.AppendRune(buf[:0], foldRune(r))
	nc := int32(a.nclass)
	for _, b := range enc {
		st = a.next[st*nc+int32(a.canon[b])]
		if st >= a.outStart {
			a.collect(st, bits)
		}
	}
	return st, i + w - 1
}
