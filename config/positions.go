package config

import (
	"strconv"
	"strings"
)

// positions maps the keys of a TOML document to the lines that define them,
// so that errors can name a line: "units", "journal.directory",
// "sink[1].url", and the header lines "journal" and "sink[1]". The TOML
// library checks the syntax; this only has to follow well-formed input. Keys
// inside inline tables are not listed: lineOf falls back to their parent.
func positions(data string) map[string]int {
	pos := map[string]int{}
	lines := strings.Split(data, "\n")
	var (
		table   string             // current table path, e.g. "journal" or "sink[1]"
		arrays  = map[string]int{} // array-of-tables name -> count so far
		cont    scanState          // a value continuing over lines
		pending bool               // inside a multi-line value
	)
	for i, raw := range lines {
		n := i + 1
		if pending {
			pending = cont.scan(raw)
			continue
		}
		s := strings.TrimSpace(raw)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[["):
			name := headerName(s[2:], "]]")
			idx := arrays[name]
			arrays[name] = idx + 1
			table = name + "[" + strconv.Itoa(idx) + "]"
			pos[table] = n
			continue
		case s[0] == '[':
			table = headerName(s[1:], "]")
			// A [a.b] under an array of tables [[a]] belongs to its last element.
			if first, rest, ok := strings.Cut(table, "."); ok {
				if c, isArr := arrays[first]; isArr && c > 0 {
					table = first + "[" + strconv.Itoa(c-1) + "]." + rest
				}
			}
			if _, ok := pos[table]; !ok {
				pos[table] = n
			}
			continue
		}
		key, rest, ok := splitKey(s)
		if !ok {
			continue
		}
		full := key
		if table != "" {
			full = table + "." + key
		}
		if _, ok := pos[full]; !ok {
			pos[full] = n
		}
		cont = scanState{}
		pending = cont.scan(rest)
	}
	return pos
}

// headerName returns the dotted name of a table header without quotes.
func headerName(s, end string) string {
	if i := strings.Index(s, end); i >= 0 {
		s = s[:i]
	}
	key, _, _ := splitKey(s)
	return key
}

// splitKey splits `key = value` at the first '=' outside quotes into the
// dotted key, its parts trimmed and unquoted, and the value; ok is false
// when there is no '=' (then all of s is the key).
func splitKey(s string) (key, value string, ok bool) {
	var parts []string
	var b strings.Builder
	inQ := byte(0)
	flush := func() {
		parts = append(parts, strings.TrimSpace(b.String()))
		b.Reset()
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ != 0:
			if c == '\\' && inQ == '"' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == inQ {
				inQ = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			inQ = c
		case c == '.':
			flush()
		case c == '=':
			flush()
			return strings.Join(parts, "."), s[i+1:], true
		case c == ' ' || c == '\t':
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return strings.Join(parts, "."), "", false
}

// scanState follows a value over lines: open brackets and multi-line
// strings.
type scanState struct {
	depth int
	ml    string // `"""` or `'''` while inside a multi-line string
}

// scan consumes one line of a value and reports whether the value goes on.
func (st *scanState) scan(s string) bool {
	for i := 0; i < len(s); i++ {
		if st.ml != "" {
			if strings.HasPrefix(s[i:], st.ml) {
				i += 2
				st.ml = ""
			} else if s[i] == '\\' && st.ml == `"""` {
				i++
			}
			continue
		}
		switch c := s[i]; c {
		case '#':
			return st.depth > 0
		case '"', '\'':
			q := strings.Repeat(string(c), 3)
			if strings.HasPrefix(s[i:], q) {
				st.ml = q
				i += 2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c == '"' {
					i++
				}
			}
		case '[', '{':
			st.depth++
		case ']', '}':
			st.depth--
		}
	}
	return st.depth > 0 || st.ml != ""
}
