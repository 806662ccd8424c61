package classify

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// diffRegexes are regexes the fast matcher must agree with regexp on: the
// hand library's, and shapes chosen to exercise backtracking, assertions,
// folding and captures.
var diffRegexes = func() []string {
	out := []string{
		`(?i)a.*?b`, `(?i)a.*b`, `(?i)(a+)(a*)`, `(?i)(a|ab)(c|bcd)(d*)`, `(?i)x(?:ab)+?y`, `(?i)(?:ab|a)+b`,
		`(?i)\bfoo\b`, `(?i)\Bo\B`, `^abc`, `abc$`, `(?m)^b`, `(?i)k+`, `(?i)s.t`, `(?i)[a-zµ]+`, `(?i)µs`,
		`(?i)(\d+)(ms|s|µs)?`, `(?i)a{2,3}`, `(?i)(a){2}b`, `(?i)[^,\s]+`, `\S+:\d+`, `(?i)(?:a|b)*?c`,
		`(?s)a.b`, `(?U)a+`, `(?i)é+`, `(?i)\x{FFFD}`, `[\x{80}-\x{10FFFF}]+`, `(?i)(x)?y`, `(x*)?y`, `\Aab`, `ab\z`,
		`(?i)latency=(?P<l>[0-9.]+[a-zµμ]*)`, `(?i)(?:ms|s)\b`, `(?i)\d{3,}ms`,
		`(?i)x.*?\bfoo`, `(?s)a.*?b`, `a.+?bc`, `(?i)a.*?(B)`, `(?i)a.*?(?P<x>)bab`, `A.*?b`, `(?i)\ba\b.*?ab\b`,
	}
	for _, re := range handRegexes() {
		out = append(out, re)
	}
	slices.Sort(out)
	return out
}()

// diffLines are the inputs of the differential test.
func diffLines() []string {
	lines := append([]string{}, sampleLines...)
	lines = append(lines, "", "a", "ab", "aab", "abcd", "xababy", "foo bar", "FOO", "kK\u212a", "ſtall", "25µS", "250Μs",
		"aaa", "aaab", "x\nb", "a\nb", "é\u00c9", "\xff\xfe", "abc\xff", "yy", "xy", "1234ms", "12 s", "\xe2\x82")
	return lines
}

// TestFastMatchDifferential: every accepted regex gives the same match and
// submatches as regexp on every line.
func TestFastMatchDifferential(t *testing.T) {
	for _, expr := range diffRegexes {
		re := regexp.MustCompile(expr)
		p, err := compileFast(re.String())
		if err != nil {
			t.Logf("%s: not fast (%v)", expr, err)
			continue
		}
		for _, line := range diffLines() {
			checkFast(t, re, p, line)
		}
	}
}

func checkFast(t *testing.T, re *regexp.Regexp, p *fastProg, line string) {
	t.Helper()
	want := re.FindStringSubmatchIndex(line)
	var m machine
	ok, done := p.exec(&m, line)
	if !done {
		return // budget exhausted: the caller asks regexp
	}
	var got []int
	if ok {
		got = append([]int{}, m.caps[:p.ncap]...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s on %q (-regexp +fast):\n%s", re, line, diff)
	}
}

// TestFastAccepts: the hand library's regexes all take the fast path.
func TestFastAccepts(t *testing.T) {
	for id, re := range handRegexes() {
		if _, err := compileFast(re); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, expr := range []string{`(a*)*`, `(?:a|)+`, `(?:a*b*)+`} {
		if _, err := compileFast(expr); err == nil {
			t.Errorf("%s: accepted, want errNotFast", expr)
		}
	}
}

// TestFastRandom runs random lines assembled from the signatures' words.
func TestFastRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"Handled", "put", "request", ",", " ", "latency=", "15ms", "1.5s", "250µs", "duration=", "stall",
		"Failed to connect to peer", "addr=", "node2:2380", "[::1]:2380", "timeout", "lag", "behind", "catch", "up", "added",
		"node", "node_id=", "3", "thread '", "'", "panicked at", "src/x.rs:1:2", "No space left on device", "path=", "/x",
		"rows=", "Handled query", "K", "\u212a", "ſ", "\xff", "Μ", "\n", "a", "b", "ab", "c", "d"}
	var progs []*fastProg
	var res []*regexp.Regexp
	for _, expr := range diffRegexes {
		re := regexp.MustCompile(expr)
		if p, err := compileFast(re.String()); err == nil {
			progs = append(progs, p)
			res = append(res, re)
		}
	}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n >= 0; n-- {
			b.WriteString(words[r.IntN(len(words))])
		}
		line := b.String()
		for k := range progs {
			checkFast(t, res[k], progs[k], line)
		}
	}
}

// FuzzFastMatch compares the fast matcher with regexp on arbitrary lines
// for every test regex, and on arbitrary regexes it accepts.
func FuzzFastMatch(f *testing.F) {
	for _, l := range sampleLines {
		f.Add(l, `(?i)a.*?b`)
	}
	f.Add("aab", `(a|ab)(c|bcd)(d*)`)
	f.Fuzz(func(t *testing.T, line, expr string) {
		if len(expr) > 200 || len(line) > 2000 {
			return
		}
		if re, err := regexp.Compile(expr); err == nil {
			if p, err := compileFast(re.String()); err == nil {
				checkFast(t, re, p, line)
			}
		}
		for _, e := range diffRegexes[:12] {
			re := regexp.MustCompile(e)
			p, _ := compileFast(re.String())
			checkFast(t, re, p, line)
		}
	})
}

// randRegex builds a random regex over a small alphabet from the
// constructs the fast matcher accepts (and some it declines).
func randRegex(r *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "ab", "ba", "k", "s", ".", "[ab]", "[^a]", `\w`, `\d`, `\s`, `\b`, `\B`, "^", "$", "µ", "K", " ", "x"}
	if depth <= 0 || r.IntN(3) == 0 {
		return atoms[r.IntN(len(atoms))]
	}
	switch r.IntN(6) {
	case 0:
		return randRegex(r, depth-1) + randRegex(r, depth-1)
	case 1:
		return "(?:" + randRegex(r, depth-1) + "|" + randRegex(r, depth-1) + ")"
	case 2:
		return "(" + randRegex(r, depth-1) + ")"
	case 3:
		q := []string{"*", "+", "?", "*?", "+?", "??", "{1,2}", "{2}", "{0,3}?"}
		return "(?:" + randRegex(r, depth-1) + ")" + q[r.IntN(len(q))]
	case 4:
		return randRegex(r, depth-1) + ".*?" + randRegex(r, depth-1)
	}
	return randRegex(r, depth-1) + randRegex(r, depth-1) + randRegex(r, depth-1)
}

// randCompiled is a random regex, case-insensitive half the time, and its
// compiled form (nil when regexp rejects it).
func randCompiled(r *rand.Rand) (string, *regexp.Regexp) {
	expr := randRegex(r, 4)
	if r.IntN(2) == 0 {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return expr, nil
	}
	return expr, re
}

// randLine is up to max-1 random picks from alphabet.
func randLine(r *rand.Rand, alphabet []string, max int) string {
	var b strings.Builder
	for n := r.IntN(max); n > 0; n-- {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestFastRandomRegexes compares the fast matcher with regexp on random
// regexes and random lines.
func TestFastRandomRegexes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", "A", "B", "k", "K", "\u212a", "s", "ſ", " ", "x", "1", "µ", "Μ", "\n", "\xff", "é", "_"}
	accepted := 0
	for i := 0; i < 1500; i++ {
		expr, re := randCompiled(r)
		if re == nil {
			continue
		}
		p, err := compileFast(re.String())
		if err != nil {
			continue
		}
		accepted++
		for j := 0; j < 20; j++ {
			checkFast(t, re, p, randLine(r, alphabet, 14))
		}
		if t.Failed() {
			t.Fatalf("regex %s", expr)
		}
	}
	if accepted < 500 {
		t.Errorf("only %d random regexes accepted", accepted)
	}
}
