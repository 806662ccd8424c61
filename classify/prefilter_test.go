package classify

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		re   string
		want []string // nil: none
	}{
		{`(?i)RocksDB stall detected`, []string{"rocksdb stall detected"}},
		{`(?i)stall`, []string{"stall"}},
		{`no leader elected`, []string{"no leader elected"}},
		{`(?i)connection refused|timeout|unreachable`, []string{"connection refused", "timeout", "unreachable"}},
		{`(?i)Leader elected, term=(?P<term>\d+)`, []string{"leader elected, term="}},
		{`(?i)Handled (?P<op>\w+) request\b.*?\blatency=(?P<l>[0-9.]+[a-zµ]*)`, []string{"handled "}},
		{`(?i)a+bcd`, []string{"abcd"}},
		{`(?i)(?:abc)+x`, []string{"abcx"}},
		{`(?i)(?:abcd)*x`, []string{"x"}},
		{`(?i)foo(?:bar)?baz`, []string{"foobarbaz", "foobaz"}},
		{`(?i)\bcatch\w*\s+up\b`, []string{"catch"}},
		{`(?i)\b(?:lag|behind)\b|\bcatch(?:ing)?\b.*\bup\b`, []string{"behind", "catch", "lag"}},
		{`.*`, nil},
		{`\d+`, nil},
		{`(?i)abc|\d+`, nil}, // one branch without a literal: nothing required
		{`(?i)[Kk]elvin`, []string{"kelvin"}},
		{`(?i)250µs`, []string{"250µs"}},
		{`(?i)250μs`, []string{"250µs"}}, // GREEK SMALL MU folds to MICRO SIGN
		{`(?i)ſtall`, []string{"stall"}}, // LONG S folds to s
		{`(?i)x{3,}yz`, []string{"xxx"}},
		{`(?i)ab+cd`, []string{"bcd"}},
		{`(?i)(?:abc)+de`, []string{"abcde"}},
		{`(?i)ab[cd]ef`, []string{"abcef", "abdef"}},
		{`^(?i)x$`, []string{"x"}},
		{`Case Sensitive`, []string{"case sensitive"}},
		{`(?i)thread '(?P<thread>[^']*)' panicked at`, []string{"' panicked at"}},
	}
	for _, tt := range tests {
		t.Run(tt.re, func(t *testing.T) {
			re, err := parseRegex(tt.re)
			if err != nil {
				t.Fatal(err)
			}
			got := requiredLiterals(re)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requiredLiterals(%s) (-want +got):\n%s", tt.re, diff)
			}
		})
	}
}

// TestRequiredLiteralsSound: for random lines that a regex matches, the
// folded line contains one of its literals.
func TestRequiredLiteralsSound(t *testing.T) {
	for id, expr := range handRegexes() {
		re := regexp.MustCompile(expr)
		sre, _ := parseRegex(re.String())
		lits := requiredLiterals(sre)
		if lits == nil {
			continue
		}
		for _, line := range sampleLines {
			if !re.MatchString(line) {
				continue
			}
			f := foldString(line)
			found := false
			for _, l := range lits {
				if strings.Contains(f, l) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s matches %q but none of %q occurs", id, line, lits)
			}
		}
	}
}

func TestAutomaton(t *testing.T) {
	pats := [][]string{{"he", "she"}, {"his", "hers"}, {"µs"}, {"stall"}, {"k"}}
	a := newAutomaton(pats, []int{0, 1, 2, 3, 4}, 1)
	tests := []struct {
		text string
		want uint64
	}{
		{"ushers", 1<<0 | 1<<1},
		{"HIS", 1 << 1},
		{"nothing", 0},
		{"250µs", 1 << 2},
		{"250μS", 1 << 2},  // GREEK SMALL MU + upper S
		{"250ΜS", 1 << 2},  // GREEK CAPITAL MU
		{"ſtall", 1 << 3},  // LONG S
		{"\u212a", 1 << 4}, // KELVIN SIGN
		{"\xff\xfestall\xc3", 1 << 3},
		{"", 0},
	}
	for _, tt := range tests {
		var bits [1]uint64
		a.scan(tt.text, bits[:])
		if bits[0] != tt.want {
			t.Errorf("scan(%q) = %b, want %b", tt.text, bits[0], tt.want)
		}
	}
}

// TestAutomatonMatchesContains compares the automaton with strings.Contains
// on folded text.
func TestAutomatonMatchesContains(t *testing.T) {
	var pats [][]string
	var idx []int
	for _, expr := range handRegexes() {
		re, _ := parseRegex(expr)
		if l := requiredLiterals(re); l != nil {
			pats = append(pats, l)
			idx = append(idx, len(idx))
		}
	}
	a := newAutomaton(pats, idx, 1)
	for _, line := range sampleLines {
		var got [1]uint64
		a.scan(line, got[:])
		var want uint64
		f := foldString(line)
		for i, set := range pats {
			for _, p := range set {
				if strings.Contains(f, p) {
					want |= 1 << i
				}
			}
		}
		if got[0] != want {
			t.Errorf("scan(%q) = %b, want %b", line, got[0], want)
		}
	}
}

// TestNgramMatchesAutomaton: on ASCII text, the n-gram filter finds the
// same signatures as the automaton, plus only those with literals shorter
// than 3 bytes; on other text it declines.
func TestNgramMatchesAutomaton(t *testing.T) {
	for _, tc := range []struct {
		name string
		pats [][]string
	}{
		{"stride 1", [][]string{{"lag", "behind"}, {"handled "}, {"node", "member"}, {"x"}, {"µs"}}},
		{"stride 2", [][]string{{"slow", "timeout"}, {"handled query"}, {"deadline exceeded"}}},
		{"stride 4", [][]string{{"enospc", "no space left on device"}, {"' panicked at "}, {"tls: bad certificate", "unknown ca"}}},
		{"overlapping", [][]string{{"aaaa"}, {"aaab"}, {"abab"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := make([]int, len(tc.pats))
			for i := range idx {
				idx[i] = i
			}
			a := newAutomaton(tc.pats, idx, 1)
			g := newNgramFilter(tc.pats, idx, 1)
			lines := append(diffLines(), "aaaab", "xabababx", "ENOSPC", "a tls: bad certificate", "timeout", "sloW", "lag")
			r := rand.New(rand.NewPCG(3, 4))
			alphabet := "abn sLAGloweodtimuqry'EN:"
			for i := 0; i < 5000; i++ {
				n := r.IntN(40)
				var b strings.Builder
				for j := 0; j < n; j++ {
					if r.IntN(8) == 0 {
						set := tc.pats[r.IntN(len(tc.pats))]
						b.WriteString(set[r.IntN(len(set))])
					} else {
						b.WriteByte(alphabet[r.IntN(len(alphabet))])
					}
				}
				lines = append(lines, b.String())
			}
			for _, line := range lines {
				var want, got [1]uint64
				a.scan(line, want[:])
				ok := g.scan(line, got[:])
				if ok != isASCII(line) {
					t.Fatalf("scan(%q) ascii = %v", line, ok)
				}
				if !ok {
					continue
				}
				if got[0]&^g.always[0] != want[0]&^g.always[0] {
					t.Errorf("stride %d: ngram(%q) = %b, automaton %b", g.stride, line, got[0], want[0])
				}
			}
		})
	}
}

// TestRequiredLiteralsRandom: for random regexes and lines, a match
// implies one of the required literals in the folded line, and the
// automaton finds it.
func TestRequiredLiteralsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "b", "A", "B", "k", "K", "\u212a", "s", "ſ", " ", "x", "1", "µ", "Μ", "μ", "\n", "\xff", "é", "É"}
	for i := 0; i < 3000; i++ {
		expr, re := randCompiled(r)
		if re == nil {
			continue
		}
		sre, _ := parseRegex(re.String())
		lits := requiredLiterals(sre)
		if lits == nil {
			continue
		}
		a := newAutomaton([][]string{lits}, []int{0}, 1)
		for j := 0; j < 30; j++ {
			line := randLine(r, alphabet, 12)
			if !re.MatchString(line) {
				continue
			}
			var bits [1]uint64
			a.scan(line, bits[:])
			if bits[0] != 1 {
				t.Fatalf("%s matches %q but the automaton finds none of %q", expr, line, lits)
			}
		}
	}
}

// foldString returns s with every rune replaced by foldRune of it; invalid
// UTF-8 becomes U+FFFD, as Go's regexp reads it.
func foldString(s string) string { return foldRunes([]rune(s)) }
