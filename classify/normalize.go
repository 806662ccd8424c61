package classify

import (
	"slices"
	"strconv"
	"strings"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// Line is a journal entry reduced to what signatures match against: the
// message body without ANSI codes, timestamp, level, span context and target,
// and the level, target and unit that the text or the entry's fields give.
//
// The six line shapes of signatures.md normalise to the same Line (up to the
// letter case of the body):
//
//	WARN chainfire_storage: RocksDB stall detected, duration=2000ms
//	2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall detected, duration=2000ms
//	2026-11-26T10:00:00.123456Z \x1b[33m WARN\x1b[0m chainfire_storage: RocksDB stall detected, duration=2000ms
//	WARN raft{node_id=1 term=7}: chainfire_storage: RocksDB stall detected, duration=2000ms
//	MESSAGE=RocksDB stall detected, duration=2000ms  PRIORITY=4  TARGET=chainfire_storage
//
// Rules, in the order they are applied to the message:
//
//   - ANSI escape sequences (CSI, OSC and two-byte ESC sequences) are removed
//     wherever they occur. This is the only step that copies.
//   - A leading RFC 3339 timestamp (date, 'T', time, optional fraction,
//     optional 'Z' or ±hh:mm offset) followed by at least one space is removed.
//   - A level is recognised only in the upper case tracing prints: TRACE,
//     DEBUG, INFO, WARN, WARNING or ERROR, after optional spaces (tracing
//     right-aligns it) and followed by at least one space. Lower case words
//     ("error: connect_to ...", sshd's style) are message text, not levels:
//     accepting them would turn other programs' prose into WARN/ERROR lines.
//   - Only when a level was found: a span context is removed, then a target.
//     A span context is a chain of `name{fields}` or `name` joined by ':' and
//     ended by ": " (tracing-subscriber's full format, e.g.
//     `raft{node_id=1 term=7}:append{idx=3}: `). Braces nest and quoted
//     values may hold braces. A chain without any braces is ambiguous with a
//     target; it is taken as span context only when it is followed by a
//     target and either has several names (`a:b: `, which no target looks
//     like) or is a lone name that does not look like a service target while
//     the following one does (a known crate prefix or a `::` path):
//     `raft: chainfire_raft: msg` loses "raft: ", `chainfire_raft: peer: x`
//     keeps "peer: x" as the body.
//   - The target is a path of identifiers joined by "::" followed by ": ".
//
// The level comes from the text, else from PRIORITY (0-3 error, 4 warn, 5-6
// info, 7 debug); the target from the text, else from the entry's TARGET.
// The unit is the entry's, else the one whose crate the target names
// (patterns.Services.UnitOf).
type Line struct {
	// Message is the entry's message with ANSI escape codes removed.
	Message string
	// Body is the message body that signatures match; a substring of Message.
	Body string
	// Level is the line's level; LevelFromText says whether the text gave it.
	Level         record.Level
	LevelFromText bool
	// Target is the tracing target, from the text or the TARGET field.
	Target string
	// Unit is the entry's unit, or the one inferred from the target.
	Unit string
	// Shape is how the event was written: as text, as a line of tracing's
	// JSON formatter, or through tracing-journald with structured fields.
	Shape Shape
	// Fields are the event's structured fields: the JSON formatter's (the
	// event's own, never the spans'), or the entry's (tracing-journald's
	// F_* fields, see record.Entry.Fields). Signature fields that the body
	// does not give are taken from them by name, ignoring case.
	Fields []record.Field

	// msgEnd is where the message ends in Body when the fields follow it.
	msgEnd int
	// The entry's journal fields and the few it carries natively, for
	// journal conditions and fields (journalValue).
	journal    []record.Field
	pid        int
	priority   int
	target     string
	identifier string
}

// journalValue returns the entry's journal field name: one of those the
// entry carries natively (_PID, PRIORITY, TARGET, SYSLOG_IDENTIFIER), or
// one of its Journal fields.
func (l *Line) journalValue(name string) (string, bool) {
	switch name {
	case "_PID":
		return strconv.Itoa(l.pid), l.pid > 0
	case "PRIORITY":
		return strconv.Itoa(l.priority), l.priority >= 0 && l.priority <= 7
	case "TARGET":
		return l.target, l.target != ""
	case "SYSLOG_IDENTIFIER":
		return l.identifier, l.identifier != ""
	}
	return record.Lookup(l.journal, name)
}

// journalHolds reports whether every condition holds for the entry.
func (l *Line) journalHolds(conds []patterns.JournalMatch) bool {
	for _, c := range conds {
		if !l.journalIs(c.Field, c.Values) {
			return false
		}
	}
	return true
}

// journalIs reports whether the entry's journal field name has one of
// values; as journalValue, without allocating for a number.
func (l *Line) journalIs(name string, values []string) bool {
	n := -1
	switch name {
	case "_PID":
		if l.pid > 0 {
			n = l.pid
		}
	case "PRIORITY":
		if l.priority >= 0 && l.priority <= 7 {
			n = l.priority
		}
	default:
		v, ok := l.journalValue(name)
		return ok && slices.Contains(values, v)
	}
	if n < 0 {
		return false
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for _, v := range values {
		if string(s) == v {
			return true
		}
	}
	return false
}

// Shape is how an event reached the journal.
type Shape uint8

// The shapes cflogd tells apart (see docs/patterns.md).
const (
	// ShapeText is a line of text: the runbook's form, tracing's Full or
	// Compact format, with or without ANSI colour and spans.
	ShapeText Shape = iota
	// ShapeJSON is a line of tracing-subscriber's JSON formatter.
	ShapeJSON
	// ShapeJournal is an entry written by tracing-journald: the message
	// alone, its level in PRIORITY, its fields as journal fields.
	ShapeJournal
)

// String names the shape as cflogd explain shows it.
func (s Shape) String() string {
	switch s {
	case ShapeJSON:
		return "tracing JSON"
	case ShapeJournal:
		return "tracing-journald fields"
	}
	return "text"
}

// sourceAt says where the text at Body[at:] came from: the message, or
// the structured field whose name=value the body holds there.
func (l *Line) sourceAt(at int) string {
	if len(l.Fields) == 0 || at < l.msgEnd {
		return "message"
	}
	eq := strings.LastIndexByte(l.Body[:at], '=')
	for i := len(l.Fields) - 1; i >= 0 && eq >= 0; i-- {
		name := l.Fields[i].Name
		if start := eq - len(name); start > l.msgEnd && strings.EqualFold(l.Body[start:eq], name) {
			return l.fieldSource(name)
		}
	}
	return "message"
}

// fieldSource names a structured field as the entry carried it.
func (l *Line) fieldSource(name string) string {
	if l.Shape == ShapeJSON {
		return "fields." + name
	}
	return "F_" + strings.ToUpper(name)
}

// structured returns the value of the first of names among the event's
// structured fields (the last field of that name wins), and where it came
// from.
func (l *Line) structured(names []string) (v, src string, ok bool) {
	if len(l.Fields) == 0 {
		return "", "", false
	}
	for _, n := range names {
		for i := len(l.Fields) - 1; i >= 0; i-- {
			f := &l.Fields[i]
			if !strings.EqualFold(f.Name, n) {
				continue
			}
			return f.Value, l.fieldSource(f.Name), true
		}
	}
	return "", "", false
}

// Normalize reduces an entry to the Line that signatures match against; ss
// tell which unit a tracing target belongs to.
func Normalize(e *record.Entry, ss patterns.Services) Line {
	var l Line
	normalize(e, &l, ss)
	return l
}

func normalize(e *record.Entry, l *Line, ss patterns.Services) {
	l.journal, l.pid, l.priority, l.target, l.identifier = e.Journal, e.PID, e.Priority, e.Target, e.Identifier
	if len(e.Message) > 0 && e.Message[0] == '{' && normalizeJSON(e, l, ss) {
		return
	}
	msg := e.Message
	if strings.IndexByte(msg, 0x1b) >= 0 {
		msg = StripANSI(msg)
	}
	l.Message = msg
	s := skipTimestamp(msg)
	lvl, rest := parseLevel(s)
	target, unit := "", ""
	if lvl != record.LevelNone {
		l.LevelFromText = true
		target, s, unit = splitContext(rest, ss)
	} else {
		s = msg
		lvl = levelFromPriority(e.Priority)
	}
	l.Level = lvl
	if target == "" {
		target = e.Target
		unit = ss.UnitOf(target)
	}
	l.Target = target
	l.Body = s
	l.Unit = e.Unit
	if l.Unit == "" {
		l.Unit = unit
	}
	l.Shape, l.Fields = ShapeText, nil
	if len(e.Fields) > 0 {
		l.Shape, l.Fields = ShapeJournal, e.Fields
		l.Body, l.msgEnd = withFields(s, e.Fields), len(s)
	}
}

// withFields returns the body as tracing's text formats print an event
// with structured fields: the message, then name=value for each field
// (the last of a name only), so that a signature sees the same text
// whatever shape the event came in ("Write failed error=no leader
// elected").
func withFields(msg string, fields []record.Field) string {
	n := len(msg)
	for _, f := range fields {
		n += len(f.Name) + len(f.Value) + 2
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(msg)
	for i, f := range fields {
		if laterField(fields[i+1:], f.Name) {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(f.Value)
	}
	return b.String()
}

// laterField reports whether fields has one named name (case ignored).
func laterField(fields []record.Field, name string) bool {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// normalizeJSON reads an entry whose message is a line of tracing's JSON
// formatter; false when it is not one.
func normalizeJSON(e *record.Entry, l *Line, ss patterns.Services) bool {
	var j jsonLine
	if !parseTracingJSON(e.Message, &j) {
		return false
	}
	body := j.message
	if strings.IndexByte(body, 0x1b) >= 0 {
		body = StripANSI(body)
	}
	l.Message, l.Body = e.Message, body
	if len(j.fields) > 0 {
		l.Body, l.msgEnd = withFields(body, j.fields), len(body)
	}
	l.Level, l.LevelFromText = j.level, true
	l.Target = j.target
	if l.Target == "" {
		l.Target = e.Target
	}
	l.Unit = e.Unit
	if l.Unit == "" {
		l.Unit = ss.UnitOf(l.Target)
	}
	l.Shape, l.Fields = ShapeJSON, j.fields
	return true
}

// levelFromPriority maps a syslog PRIORITY to a level.
func levelFromPriority(p int) record.Level {
	switch {
	case p < 0 || p > 7:
		return record.LevelNone
	case p <= 3:
		return record.LevelError
	case p == 4:
		return record.LevelWarn
	case p <= 6:
		return record.LevelInfo
	}
	return record.LevelDebug
}

// eventPriority is Event.Priority: the entry's PRIORITY, else the syslog
// priority of the level the text gave, else -1.
func (l *Line) eventPriority() int {
	switch {
	case l.priority >= 0 && l.priority <= 7:
		return l.priority
	case l.LevelFromText:
		return priorityFromLevel(l.Level)
	}
	return -1
}

// priorityFromLevel is the syslog priority of a level, for entries that
// carry none: info 6, debug and trace 7 (syslog's, not tracing-journald's,
// which writes INFO as 5).
func priorityFromLevel(l record.Level) int {
	switch l {
	case record.LevelError:
		return 3
	case record.LevelWarn:
		return 4
	case record.LevelInfo:
		return 6
	case record.LevelDebug, record.LevelTrace:
		return 7
	}
	return -1
}

// StripANSI removes ANSI escape sequences: CSI (ESC '[' ... final byte), OSC
// (ESC ']' ... BEL or ESC '\') and two-byte ESC sequences. A lone ESC at the
// end is dropped.
func StripANSI(s string) string {
	i := strings.IndexByte(s, 0x1b)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i+1:]
		s = s[ansiLen(s):]
		i = strings.IndexByte(s, 0x1b)
	}
	b.WriteString(s)
	return b.String()
}

// ansiLen returns the length of the escape sequence that follows an ESC.
func ansiLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '[': // CSI: parameter bytes 0x30-0x3f, intermediate 0x20-0x2f, final 0x40-0x7e
		i := 1
		for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
			i++
		}
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
			i++
		}
		return i
	case ']': // OSC: up to BEL or ST (ESC '\')
		for i := 1; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
		}
		return len(s)
	}
	if s[0] >= 0x20 && s[0] <= 0x7e {
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipTimestamp removes a leading RFC 3339 timestamp and the spaces after it.
// It returns s unchanged when s does not start with one followed by a space.
func skipTimestamp(s string) string {
	// 2006-01-02T15:04:05
	if len(s) < 20 || !isDigit(s[0]) {
		return s
	}
	const shape = "dddd-dd-ddTdd:dd:dd"
	for i := 0; i < len(shape); i++ {
		c := s[i]
		switch shape[i] {
		case 'd':
			if !isDigit(c) {
				return s
			}
		case 'T':
			if c != 'T' && c != 't' {
				return s
			}
		default:
			if c != shape[i] {
				return s
			}
		}
	}
	i := len(shape)
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return s
		}
		i = j
	}
	if i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			i++
		case '+', '-': // ±hh:mm
			if i+6 > len(s) || !isDigit(s[i+1]) || !isDigit(s[i+2]) || s[i+3] != ':' || !isDigit(s[i+4]) || !isDigit(s[i+5]) {
				return s
			}
			i += 6
		}
	}
	if i >= len(s) || s[i] != ' ' {
		return s
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return s[i:]
}

// parseLevel recognises a level at the start of s (after spaces) followed by
// at least one space, and returns it with the rest after those spaces.
func parseLevel(s string) (record.Level, string) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) {
		return record.LevelNone, s
	}
	var lvl record.Level
	n := 0
	t := s[i:]
	switch t[0] {
	case 'T':
		if strings.HasPrefix(t, "TRACE") {
			lvl, n = record.LevelTrace, 5
		}
	case 'D':
		if strings.HasPrefix(t, "DEBUG") {
			lvl, n = record.LevelDebug, 5
		}
	case 'I':
		if strings.HasPrefix(t, "INFO") {
			lvl, n = record.LevelInfo, 4
		}
	case 'W':
		if strings.HasPrefix(t, "WARNING") {
			lvl, n = record.LevelWarn, 7
		} else if strings.HasPrefix(t, "WARN") {
			lvl, n = record.LevelWarn, 4
		}
	case 'E':
		if strings.HasPrefix(t, "ERROR") {
			lvl, n = record.LevelError, 5
		}
	}
	if n == 0 || n >= len(t) || t[n] != ' ' {
		return record.LevelNone, s
	}
	for n < len(t) && t[n] == ' ' {
		n++
	}
	return lvl, t[n:]
}

// identByte marks the bytes of identifiers: letters, digits and '_'.
var identByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

func isIdentByte(c byte) bool { return identByte[c] }

// splitContext removes span context and the target from what follows the
// level and returns the target, the body and the unit the target names.
func splitContext(s string, ss patterns.Services) (target, body, unit string) {
	// Common case first: "crate_name: body", where crate_name names a
	// service (so it cannot be a field-less span; see skipSpans).
	if n := targetLen(s); n > 0 {
		if unit = ss.UnitOf(s[:n]); unit != "" {
			return s[:n], trimSpaces(s[n+1:]), unit
		}
	}
	target, body = parseTarget(skipSpans(s, ss))
	return target, body, ss.UnitOf(target)
}

func trimSpaces(s string) string {
	for s != "" && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

// targetLen returns the length of a target path (ident("::"ident)*) at the
// start of s when it is followed by ": " or ends s with ':'; else 0.
func targetLen(s string) int {
	i := 0
	for {
		j := i
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
		if j == i {
			return 0
		}
		i = j
		if i+2 < len(s) && s[i] == ':' && s[i+1] == ':' && isIdentByte(s[i+2]) {
			i += 2
			continue
		}
		break
	}
	if i < len(s) && s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
		return i
	}
	return 0
}

// parseTarget splits a leading "target: " from s. It returns "" and s when s
// does not start with a target.
func parseTarget(s string) (target, rest string) {
	n := targetLen(s)
	if n == 0 {
		return "", s
	}
	rest = s[n+1:]
	for rest != "" && rest[0] == ' ' {
		rest = rest[1:]
	}
	return s[:n], rest
}

// looksLikeServiceTarget reports whether a target path names one of the
// services' crates or is a module path.
func looksLikeServiceTarget(t string, ss patterns.Services) bool {
	return ss.UnitOf(t) != "" || strings.Contains(t, "::")
}

// skipSpans removes tracing-subscriber span context ("a{k=v}:b: ") from the
// start of s; see Line for the rules.
func skipSpans(s string, ss patterns.Services) string {
	i := 0
	names := 0
	braces := false
	for {
		j := i
		for j < len(s) && (isIdentByte(s[j]) || s[j] == '-' || s[j] == '.') {
			j++
		}
		if j == i {
			return s
		}
		names++
		i = j
		if i < len(s) && s[i] == '{' {
			end := closeBrace(s, i)
			if end < 0 {
				return s
			}
			braces = true
			i = end + 1
		}
		if i >= len(s) || s[i] != ':' {
			return s
		}
		i++
		if i < len(s) && s[i] == ' ' {
			break
		}
		if i < len(s) && s[i] == ':' { // "a::b" is a path, not a span chain
			return s
		}
	}
	rest := s[i:]
	for rest != "" && rest[0] == ' ' {
		rest = rest[1:]
	}
	if braces {
		return rest
	}
	n := targetLen(rest)
	if n == 0 {
		return s
	}
	if names > 1 {
		return rest
	}
	first := s[:i-1]
	if !looksLikeServiceTarget(first, ss) && looksLikeServiceTarget(rest[:n], ss) {
		return rest
	}
	return s
}

// closeBrace returns the index of the '}' that closes the '{' at s[open],
// honouring nested braces and double-quoted strings with backslash escapes;
// -1 when there is none.
func closeBrace(s string, open int) int {
	depth := 0
	inQuote := false
	for i := open; i < len(s); i++ {
		c := s[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
