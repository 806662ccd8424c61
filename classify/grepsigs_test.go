package classify

import (
	"os"
	"strings"
	"testing"
)

// toERE converts a signature regex of the shipped library's dialect to a
// POSIX ERE for GNU grep -E -i (the grep baseline of the benchmark): named
// and non-capturing groups become plain groups, lazy quantifiers greedy
// (the same lines match), \d becomes [0-9], and \s, \w, \d inside brackets
// become their POSIX classes. \b, \w, \s and \S outside brackets are GNU
// extensions grep understands.
func toERE(re string) string {
	re = strings.TrimPrefix(re, "(?i)")
	var b strings.Builder
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re):
			n := re[i+1]
			i++
			switch {
			case inClass && n == 's':
				b.WriteString("[:space:]")
			case inClass && n == 'w':
				b.WriteString("[:alnum:]_")
			case inClass && n == 'd':
				b.WriteString("0-9")
			case !inClass && n == 'd':
				b.WriteString("[0-9]")
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(re) && re[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == '(' && strings.HasPrefix(re[i:], "(?P<"):
			j := strings.IndexByte(re[i:], '>')
			b.WriteByte('(')
			i += j
		case c == '(' && strings.HasPrefix(re[i:], "(?:"):
			b.WriteByte('(')
			i += 2
		case (c == '?') && i > 0 && strings.IndexByte("*+?}", re[i-1]) >= 0 && (i < 2 || re[i-2] != '\\'):
			// lazy quantifier: drop the '?'
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestToERE(t *testing.T) {
	tests := map[string]string{
		`handled (?P<op>\w+) request.*?\blatency=(?P<l>[0-9.]+[a-zµμ]*)`: `handled (\w+) request.*\blatency=([0-9.]+[a-zµμ]*)`,
		`(?:a|b)+?c\d{3,}[^\s,]`: `(a|b)+c[0-9]{3,}[^[:space:],]`,
		`x\.y??`:                 `x\.y?`,
	}
	for in, want := range tests {
		if got := toERE(in); got != want {
			t.Errorf("toERE(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteGrepSignatures writes the shipped library's regexes as EREs to
// the file named by CFLOGD_GREP_SIGS (for the grep baseline in
// /work/notes/classify-bench.md); it does nothing without it.
func TestWriteGrepSignatures(t *testing.T) {
	path := os.Getenv("CFLOGD_GREP_SIGS")
	if path == "" {
		t.Skip("CFLOGD_GREP_SIGS not set")
	}
	var b strings.Builder
	for _, s := range builtin(t).Signatures {
		if s.Match != nil {
			b.WriteString(toERE(s.MatchText))
			b.WriteByte('\n')
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
