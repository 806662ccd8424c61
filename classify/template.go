package classify

import (
	"strings"
	"unicode/utf8"
)

// Template returns msg with its variable parts masked, so that lines that
// differ only in values share one template ("Lease expired, id=<num>"). It
// is deterministic and masks, scanning left to right:
//
//   - quoted strings: "..." and '...' whose opening quote does not follow a
//     letter or digit (so "don't" is prose) -> <str>
//   - UUIDs (8-4-4-4-12 hex digits) -> <uuid>
//   - IPv4 addresses -> <ip>; with a port, bracketed IPv6 with a port, and
//     host:port where the host is a hostname with a letter -> <addr>
//   - paths and URLs: a token (up to a space, '=' or one of ,;()[]{}"'<>)
//     that starts with '/', "./" or "~/", or has a letter and either two
//     '/' or a '.' after its '/' ("src/main.rs"; not "and/or") -> <path>
//   - 0x-prefixed hex and hex words of 8 or more digits with both a digit and
//     a letter -> <hex>
//   - numbers with a duration unit (ns, us, µs, ms, s, m, min, h) -> <dur>
//   - other numbers not inside a word (node2 and ext4 stay) -> <num>
func Template(msg string) string {
	var b strings.Builder
	b.Grow(len(msg))
	i := 0
	for i < len(msg) {
		c := msg[i]
		prevWord := i > 0 && isWordByte(msg[i-1])
		if !prevWord {
			if n, ph := maskAt(msg, i); n > 0 {
				b.WriteString(ph)
				i += n
				continue
			}
		}
		// Copy one rune, or a whole word when it cannot start a mask
		// anywhere inside it (digits inside a word are kept).
		if isWordByte(c) {
			j := i
			for j < len(msg) && isWordByte(msg[j]) {
				j++
			}
			// A word followed by ':' + digits may be a host:port, and
			// one containing '/' a path: those were checked at its start.
			b.WriteString(msg[i:j])
			i = j
			continue
		}
		_, w := utf8.DecodeRuneInString(msg[i:])
		b.WriteString(msg[i : i+w])
		i += w
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= utf8.RuneSelf
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isTokenEnd reports whether c ends a path-like token.
func isTokenEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', ',', ';', '(', ')', '[', ']', '{', '}', '"', '\'', '<', '>':
		return true
	}
	return false
}

// maskAt tries every mask at msg[i] (not preceded by a word byte) and
// returns the length it covers and its placeholder.
func maskAt(msg string, i int) (int, string) {
	c := msg[i]
	switch {
	case c == '"' || c == '\'':
		if j := strings.IndexByte(msg[i+1:], c); j >= 0 {
			return j + 2, "<str>"
		}
		return 0, ""
	}
	if n := tokenLen(msg, i); n > 0 {
		tok := msg[i : i+n]
		if isPath(tok) {
			return n, "<path>"
		}
	}
	if n := uuidLen(msg[i:]); n > 0 {
		return n, "<uuid>"
	}
	if n := ipv4Len(msg[i:]); n > 0 {
		if p := portLen(msg[i+n:]); p > 0 {
			return n + p, "<addr>"
		}
		return n, "<ip>"
	}
	if c == '[' {
		if j := strings.IndexByte(msg[i:], ']'); j > 2 && strings.IndexByte(msg[i+1:i+j], ':') >= 0 && allHexColon(msg[i+1:i+j]) {
			if p := portLen(msg[i+j+1:]); p > 0 {
				return j + 1 + p, "<addr>"
			}
			return j + 1, "<ip>"
		}
	}
	if n := hostLen(msg[i:]); n > 0 {
		if p := portLen(msg[i+n:]); p > 0 {
			return n + p, "<addr>"
		}
	}
	if c == '0' && i+2 < len(msg) && (msg[i+1] == 'x' || msg[i+1] == 'X') && isHex(msg[i+2]) {
		j := i + 2
		for j < len(msg) && isHex(msg[j]) {
			j++
		}
		if j == len(msg) || !isWordByte(msg[j]) {
			return j - i, "<hex>"
		}
	}
	if isHex(c) {
		j := i
		digit, letter := false, false
		for j < len(msg) && isHex(msg[j]) {
			if isDigit(msg[j]) {
				digit = true
			} else {
				letter = true
			}
			j++
		}
		if j-i >= 8 && digit && letter && (j == len(msg) || !isWordByte(msg[j])) {
			return j - i, "<hex>"
		}
	}
	if isDigit(c) || (c == '-' && i+1 < len(msg) && isDigit(msg[i+1])) {
		j := i + 1
		for j < len(msg) && isDigit(msg[j]) {
			j++
		}
		if j+1 < len(msg) && msg[j] == '.' && isDigit(msg[j+1]) {
			j++
			for j < len(msg) && isDigit(msg[j]) {
				j++
			}
		}
		if u := durationUnitLen(msg[j:]); u > 0 {
			return j + u - i, "<dur>"
		}
		return j - i, "<num>"
	}
	return 0, ""
}

// tokenLen is the length of the path-like token at msg[i].
func tokenLen(msg string, i int) int {
	j := i
	for j < len(msg) && !isTokenEnd(msg[j]) && msg[j] != '=' {
		j++
	}
	return j - i
}

func isPath(tok string) bool {
	if strings.HasPrefix(tok, "/") || strings.HasPrefix(tok, "./") || strings.HasPrefix(tok, "~/") {
		return len(tok) > 1
	}
	// "a/b/c" and "src/main.rs" are paths, "and/or" and "1/3" are not.
	slash := strings.LastIndexByte(tok, '/')
	if slash < 0 || (strings.Count(tok, "/") < 2 && strings.IndexByte(tok[slash:], '.') < 0) {
		return false
	}
	for k := 0; k < len(tok); k++ {
		if isLetter(tok[k]) {
			return true
		}
	}
	return false
}

func allHexColon(s string) bool {
	for k := 0; k < len(s); k++ {
		if !isHex(s[k]) && s[k] != ':' && s[k] != '.' {
			return false
		}
	}
	return true
}

// uuidLen matches 8-4-4-4-12 hex digits not followed by a word byte.
func uuidLen(s string) int {
	groups := [...]int{8, 4, 4, 4, 12}
	k := 0
	for g, n := range groups {
		if g > 0 {
			if k >= len(s) || s[k] != '-' {
				return 0
			}
			k++
		}
		for e := k + n; k < e; k++ {
			if k >= len(s) || !isHex(s[k]) {
				return 0
			}
		}
	}
	if k < len(s) && isWordByte(s[k]) {
		return 0
	}
	return k
}

// ipv4Len matches a dotted quad of 1-3 digit numbers not followed by a word
// byte or another dot-number.
func ipv4Len(s string) int {
	k := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if k >= len(s) || s[k] != '.' {
				return 0
			}
			k++
		}
		n := 0
		for k < len(s) && isDigit(s[k]) && n < 4 {
			k++
			n++
		}
		if n == 0 || n > 3 {
			return 0
		}
	}
	if k < len(s) && (isWordByte(s[k]) || (s[k] == '.' && k+1 < len(s) && isDigit(s[k+1]))) {
		return 0
	}
	return k
}

// hostLen matches a hostname (letters, digits, '-', '.'; with a letter;
// starting with a letter or digit) that is followed by ':'.
func hostLen(s string) int {
	k := 0
	letter := false
	for k < len(s) && (isLetter(s[k]) || isDigit(s[k]) || s[k] == '-' || s[k] == '.' || s[k] == '_') {
		if isLetter(s[k]) {
			letter = true
		}
		k++
	}
	if k == 0 || !letter || k >= len(s) || s[k] != ':' {
		return 0
	}
	return k
}

// portLen matches ":" and 1-5 digits not followed by a word byte or ':'.
func portLen(s string) int {
	if len(s) < 2 || s[0] != ':' {
		return 0
	}
	k := 1
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if k == 1 || k > 6 || (k < len(s) && (isWordByte(s[k]) || s[k] == ':')) {
		return 0
	}
	return k
}

// durationUnitLen matches a duration unit that ends a word.
func durationUnitLen(s string) int {
	for _, u := range [...]string{"min", "ms", "us", "µs", "μs", "ns", "s", "m", "h"} {
		if strings.HasPrefix(s, u) && (len(s) == len(u) || !isWordByte(s[len(u)])) {
			return len(u)
		}
	}
	return 0
}
