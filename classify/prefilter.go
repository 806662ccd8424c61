package classify

import (
	"encoding/binary"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
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
	// next is the transition table: next[state*nclass+class] is the next
	// state, premultiplied by nclass.
	next []uint16
	// States >= outStart (premultiplied) have outputs:
	// outs[(state/nclass-firstOut)*words ...].
	outStart uint16
	firstOut int
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
	a.firstOut = len(order)
	for i, nd := range nodes {
		if len(nd.out) != 0 {
			order = append(order, i)
		}
	}
	if len(nodes)*n > 1<<16 {
		return nil // too large for 16-bit states: no prefilter
	}
	a.outStart = uint16(a.firstOut * n)
	newID := make([]int, len(nodes))
	for ni, old := range order {
		newID[old] = ni
	}
	a.next = make([]uint16, len(nodes)*n)
	a.outs = make([]uint64, (len(nodes)-a.firstOut)*words)
	for ni, old := range order {
		for c := 0; c < n; c++ {
			a.next[ni*n+c] = uint16(newID[trans[old][c]] * n)
		}
		if ni >= a.firstOut {
			base := (ni - a.firstOut) * words
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
	out := a.outStart
	var st uint16 // premultiplied: state*nclass
	for i := 0; i < len(s); i++ {
		c := a.class[s[i]]
		if c == slowClass {
			st, i = a.slow(s, i, st, bits)
			continue
		}
		st = next[int(st)+int(c)]
		if st >= out {
			a.collect(st, bits)
		}
	}
}

func (a *automaton) collect(st uint16, bits []uint64) {
	base := (int(st)/a.nclass - a.firstOut) * a.words
	for w := range bits {
		bits[w] |= a.outs[base+w]
	}
}

// slow feeds the folded form of the rune at s[i] (a byte >= 0x80) and
// returns the new state and the index of the rune's last byte.
func (a *automaton) slow(s string, i int, st uint16, bits []uint64) (uint16, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	var buf [utf8.UTFMax]byte
	enc := utf8.AppendRune(buf[:0], foldRune(r))
	for _, b := range enc {
		st = a.next[int(st)+int(a.canon[b])]
		if st >= a.outStart {
			a.collect(st, bits)
		}
	}
	return st, i + w - 1
}

// ngramFilter finds the same literals as the automaton in ASCII text, but
// without the automaton's chain of dependent table loads: literals are
// represented by 3-byte windows, each checked text position's 3 bytes
// (ASCII-folded) are hashed into a 64 Kibit bitmap, and only positions that
// hit the bitmap compare a literal. The positions are independent, so the
// CPU overlaps them.
//
// When every literal has at least stride+2 bytes, only every stride-th
// position is checked: each literal then contributes one window (its rarest
// by a letter-frequency estimate) per residue of its offset modulo stride,
// so any occurrence puts one of them on a checked position.
//
// Lines with bytes >= 0x80 (which may fold to ASCII, like KELVIN SIGN) go to
// the automaton. Literals shorter than 3 bytes make their signature a
// candidate on every ASCII line; literals with non-ASCII bytes cannot occur
// in ASCII text.
type ngramFilter struct {
	bitmap [1024]uint64
	// start[w] is the first entry whose hash>>6 is w (entries are sorted by
	// hash); start[1024] is len(entries).
	start   [1025]uint16
	entries []ngramEntry
	always  []uint64 // signatures with a literal shorter than 3 bytes
	stride  int
}

type ngramEntry struct {
	hash uint16
	key  uint32 // the window's 3 bytes | 0x20, little-endian
	off  int    // the window's offset in lit
	lit  string
	sig  int
}

const (
	ngramMul       = 0x9E3779B1
	maxNgramStride = 4
)

// byteFreq estimates how common a byte is in log text (per mille).
func byteFreq(c byte) int {
	const letters = "etaoinshrdlcumwfgypbvkjxqz"
	freqs := [...]int{127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20, 19, 15, 10, 8, 2, 2, 1, 1}
	if i := strings.IndexByte(letters, c); i >= 0 {
		return freqs[i]
	}
	switch {
	case c == ' ':
		return 180
	case isDigit(c):
		return 50
	case c == '=':
		return 40
	case c == '_' || c == ',':
		return 30
	case c == '.' || c == ':' || c == '/':
		return 20
	}
	return 10
}

func windowKey(p string, o int) uint32 {
	return (uint32(p[o]) | uint32(p[o+1])<<8 | uint32(p[o+2])<<16) | 0x202020
}

// newNgramFilter builds the filter, or returns nil when it cannot (too many
// windows for its index).
func newNgramFilter(pats [][]string, sigs []int, words int) *ngramFilter {
	g := &ngramFilter{always: make([]uint64, words), stride: maxNgramStride}
	type lit struct {
		s   string
		sig int
	}
	var lits []lit
	for i, set := range pats {
		for _, p := range set {
			ascii := true
			for k := 0; k < len(p); k++ {
				if p[k] >= utf8.RuneSelf {
					ascii = false
				}
			}
			switch {
			case !ascii:
			case len(p) < 3:
				g.always[sigs[i]/64] |= 1 << (sigs[i] % 64)
			default:
				lits = append(lits, lit{p, sigs[i]})
				g.stride = min(g.stride, len(p)-2)
			}
		}
	}
	for _, l := range lits {
		p := l.s
		for r := 0; r < g.stride; r++ {
			best, bestScore := -1, 0
			for o := r; o+3 <= len(p); o += g.stride {
				sc := byteFreq(p[o]) + byteFreq(p[o+1]) + byteFreq(p[o+2])
				if best < 0 || sc < bestScore {
					best, bestScore = o, sc
				}
			}
			key := windowKey(p, best)
			h := uint16((key * ngramMul) >> 16)
			g.bitmap[h>>6] |= 1 << (h & 63)
			g.entries = append(g.entries, ngramEntry{hash: h, key: key, off: best, lit: p, sig: l.sig})
		}
	}
	if len(g.entries) >= 1<<16 {
		return nil
	}
	slices.SortStableFunc(g.entries, func(a, b ngramEntry) int { return int(a.hash) - int(b.hash) })
	w := 0
	for i, e := range g.entries {
		for w <= int(e.hash>>6) {
			g.start[w] = uint16(i)
			w++
		}
	}
	for ; w <= 1024; w++ {
		g.start[w] = uint16(len(g.entries))
	}
	return g
}

// isASCII reports whether s has no byte >= 0x80.
func isASCII(s string) bool {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	var acc uint64
	for ; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(b); i++ {
		acc |= uint64(b[i])
	}
	return acc&0x8080808080808080 == 0
}

// scan ORs into bits the signatures whose literals occur in s and reports
// true, when s is ASCII; it returns false for other text, and bits must
// then be recomputed with the automaton.
func (g *ngramFilter) scan(s string, bits []uint64) bool {
	if g.stride > 1 {
		if !isASCII(s) {
			return false
		}
		g.scanStride(s, bits)
		return true
	}
	for w := range bits {
		bits[w] |= g.always[w]
	}
	n := len(s)
	// The bytes are only read: a []byte view of the string avoids
	// per-byte bounds checks and lets one load serve four windows.
	b := unsafe.Slice(unsafe.StringData(s), n)
	var acc uint64
	i := 0
	for ; i+8 <= n; i += 4 {
		raw := binary.LittleEndian.Uint64(b[i:])
		acc |= raw
		w := raw | 0x2020202020202020
		if p := uint32(w&0xffffff) * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i, uint32(w&0xffffff), uint16(p>>16), bits)
		}
		if p := uint32((w>>8)&0xffffff) * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i+1, uint32((w>>8)&0xffffff), uint16(p>>16), bits)
		}
		if p := uint32((w>>16)&0xffffff) * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i+2, uint32((w>>16)&0xffffff), uint16(p>>16), bits)
		}
		if p := uint32((w>>24)&0xffffff) * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i+3, uint32((w>>24)&0xffffff), uint16(p>>16), bits)
		}
	}
	for ; i < n; i++ {
		acc |= uint64(b[i])
		if i+3 > n {
			continue
		}
		k := (uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16) | 0x202020
		if p := k * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i, k, uint16(p>>16), bits)
		}
	}
	return acc&0x8080808080808080 == 0
}

// scanStride checks every stride-th position of the ASCII text s.
func (g *ngramFilter) scanStride(s string, bits []uint64) {
	for w := range bits {
		bits[w] |= g.always[w]
	}
	n := len(s)
	b := unsafe.Slice(unsafe.StringData(s), n)
	st := g.stride
	i := 0
	for ; i+4 <= n; i += st {
		k := (binary.LittleEndian.Uint32(b[i:]) | 0x202020) & 0xffffff
		if p := k * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i, k, uint16(p>>16), bits)
		}
	}
	if i+3 == n {
		k := (uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16) | 0x202020
		if p := k * ngramMul; g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
			g.verify(s, i, k, uint16(p>>16), bits)
		}
	}
}

// verify compares the literals whose window hashes to h with s around i.
func (g *ngramFilter) verify(s string, i int, key uint32, h uint16, bits []uint64) {
	e := g.entries[g.start[h>>6]:g.start[h>>6+1]]
	for k := range e {
		en := &e[k]
		if en.hash != h || en.key != key {
			continue
		}
		p := i - en.off
		if p < 0 || p+len(en.lit) > len(s) {
			continue
		}
		if foldEqualASCII(s[p:p+len(en.lit)], en.lit) {
			bits[en.sig/64] |= 1 << (en.sig % 64)
		}
	}
}

// foldEqualASCII reports whether s equals the lower-case ASCII lit when
// upper-case letters of s are lowered.
func foldEqualASCII(s, lit string) bool {
	for k := 0; k < len(lit); k++ {
		c := s[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[k] {
			return false
		}
	}
	return true
}
