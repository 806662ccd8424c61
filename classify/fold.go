package classify

import (
	"unicode"
	"unicode/utf8"
)

// foldRune returns the canonical representative of r's case-folding orbit
// (the runes Go's regexp treats as equal under (?i)): the lower-case letter
// for ASCII letters and for the non-ASCII runes that fold to one (KELVIN SIGN
// to 'k', LONG S to 's'), else the smallest rune of the orbit (MICRO SIGN,
// GREEK CAPITAL MU and GREEK SMALL MU all become U+00B5).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	if r == utf8.RuneError || r > unicode.MaxRune {
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	if 'A' <= m && m <= 'Z' {
		m += 'a' - 'A'
	}
	return m
}

// foldRunes returns rs with every rune replaced by foldRune of it.
func foldRunes(rs []rune) string {
	b := make([]byte, 0, len(rs))
	for _, r := range rs {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}
