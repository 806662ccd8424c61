package classify

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/centra-cloud/cflogd/record"
)

// maxJSONDepth bounds how deeply nested a value of a tracing JSON line may
// be: deeper input is not tracing's, and stays text.
const maxJSONDepth = 32

// jsonLine is what a line of tracing-subscriber's JSON formatter holds for
// classification. Span fields ("span", "spans") are skipped: they never
// become event fields.
type jsonLine struct {
	level   record.Level
	target  string
	message string
	hasMsg  bool
	fields  []record.Field
}

// parseTracingJSON recognises a line of tracing-subscriber's JSON
// formatter:
//
//	{"timestamp":"…","level":"WARN","fields":{"message":"RocksDB stall detected","duration":"2s"},"target":"chainfire_storage","span":{…},"spans":[…]}
//
// and, with flatten_event(true), the same with the event's fields at the top
// level. The line must be one whole JSON object with a level tracing prints
// (TRACE, DEBUG, INFO, WARN, ERROR) and a message; anything else (another
// program's JSON, truncated or too deep JSON) is not tracing's, and false
// leaves it to be read as text. Later duplicate keys win. Field values are
// kept as text: strings unquoted, numbers and booleans as written; null,
// objects and arrays are not field values and are left out.
func parseTracingJSON(s string, out *jsonLine) bool {
	p := jsonParser{s: s}
	p.ws()
	if !p.eat('{') {
		return false
	}
	*out = jsonLine{}
	levelSeen := false
	ok := p.object(func(key string) bool {
		switch key {
		case "level":
			v, isStr := p.str()
			if !isStr {
				return false
			}
			out.level, levelSeen = tracingLevel(v), true
			return true
		case "target":
			v, isStr := p.str()
			if !isStr {
				return false
			}
			out.target = v
			return true
		case "fields":
			if p.peek() != '{' {
				return p.skip(0)
			}
			p.pos++
			return p.object(func(k string) bool { return p.field(k, out) })
		case "timestamp", "span", "spans", "threadName", "threadId", "filename", "line_number":
			return p.skip(0)
		}
		return p.field(key, out) // flatten_event(true)
	})
	if !ok || !levelSeen || out.level == record.LevelNone || !out.hasMsg {
		return false
	}
	p.ws()
	return p.pos == len(p.s)
}

// tracingLevel maps the level names tracing prints.
func tracingLevel(s string) record.Level {
	switch s {
	case "ERROR":
		return record.LevelError
	case "WARN":
		return record.LevelWarn
	case "INFO":
		return record.LevelInfo
	case "DEBUG":
		return record.LevelDebug
	case "TRACE":
		return record.LevelTrace
	}
	return record.LevelNone
}

// jsonParser scans one JSON text without building values it does not need.
type jsonParser struct {
	s   string
	pos int
}

func (p *jsonParser) ws() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) peek() byte {
	p.ws()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *jsonParser) eat(c byte) bool {
	if p.peek() == c {
		p.pos++
		return true
	}
	return false
}

// object reads the members of an object whose '{' was read, calling member
// with each key, positioned at the value, which member must consume.
func (p *jsonParser) object(member func(key string) bool) bool {
	if p.eat('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		if !member(key) {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// add appends a field; the first allocates room for a few, which most
// events need.
func (out *jsonLine) add(name, value string) {
	if out.fields == nil {
		out.fields = make([]record.Field, 0, 4)
	}
	out.fields = append(out.fields, record.Field{Name: name, Value: value})
}

// field reads the value of an event field: "message" becomes the message,
// a string, number or boolean a field, null, objects and arrays are skipped.
func (p *jsonParser) field(key string, out *jsonLine) bool {
	switch c := p.peek(); {
	case c == '"':
		v, ok := p.str()
		if !ok {
			return false
		}
		if key == "message" {
			out.message, out.hasMsg = v, true
			return true
		}
		out.add(key, v)
		return true
	case c == '-' || isDigit(c) || c == 't' || c == 'f': // a number or boolean, as written
		start := p.pos
		if !p.skip(0) {
			return false
		}
		out.add(key, p.s[start:p.pos])
		return true
	}
	return p.skip(0)
}

// skip reads over one value of any kind.
func (p *jsonParser) skip(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '{':
		p.pos++
		return p.object(func(string) bool { return p.skip(depth + 1) })
	case c == '[':
		p.pos++
		if p.eat(']') {
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if p.eat(',') {
				continue
			}
			return p.eat(']')
		}
	case c == '-' || isDigit(c):
		return p.number()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.pos:], lit) {
			p.pos += len(lit)
			return true
		}
	}
	return false
}

// number reads a JSON number.
func (p *jsonParser) number() bool {
	start := p.pos
	if p.pos < len(p.s) && p.s[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
			p.pos++
			n++
		}
		return n
	}
	switch {
	case p.pos < len(p.s) && p.s[p.pos] == '0': // no leading zeros
		p.pos++
	case digits() == 0:
		return false
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return false
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return false
		}
	}
	return p.pos > start
}

// str reads a string; it allocates only when the string has escapes.
func (p *jsonParser) str() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	p.pos++
	start := p.pos
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == '"':
			v := p.s[start:p.pos]
			p.pos++
			return v, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		default:
			p.pos++
		}
	}
	return "", false
}

// escaped finishes a string that has an escape at p.pos.
func (p *jsonParser) escaped(start int) (string, bool) {
	var b strings.Builder
	b.WriteString(p.s[start:p.pos])
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b', 'f', 'n', 'r', 't':
			b.WriteByte("\b\f\n\r\t"[strings.IndexByte("bfnrt", e)])
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if r >= 0xd800 && r < 0xdc00 && strings.HasPrefix(p.s[p.pos:], `\u`) {
				p.pos += 2
				lo, ok := p.hex4()
				if !ok {
					return "", false
				}
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				if lo < 0xdc00 || lo >= 0xe000 {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.pos:p.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}
