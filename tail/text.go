package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// textParser turns journalctl's text output into entries. Whether the
// input is -o short (or a variant) or -o cat is decided on the first
// content line: if it parses as a short line, every line must.
type textParser struct {
	opts    *InputOptions
	loc     *time.Location
	now     time.Time
	decided bool
	short   bool
	host    string // for -o cat lines
	intern  interner
}

func newTextParser(opts *InputOptions) *textParser {
	p := &textParser{opts: opts, loc: opts.Location, intern: make(interner)}
	if p.loc == nil {
		p.loc = time.Local
	}
	if opts.Now != nil {
		p.now = opts.Now()
	} else {
		p.now = time.Now()
	}
	p.host = opts.Host
	return p
}

var errNotShort = errors.New("not a journalctl -o short line")

// readText reads -o cat or -o short lines. In short mode, lines indented to
// the message column continue the previous message (journalctl prints
// multi-line messages so) and "-- ... --" lines (boot separators, "No
// entries") are ignored.
func readText(lr *lineReader, p *textParser, emit func(*record.Entry) error, skip func(line int, err error)) error {
	var (
		pending    record.Entry
		hasPending bool
		prefix     int          // bytes before the message on the pending entry's line
		e          record.Entry // a cat line; one variable, as emit makes it escape
	)
	flush := func() error {
		if !hasPending {
			return nil
		}
		hasPending = false
		return emit(&pending)
	}
	for {
		line, err := lr.next()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("read text input: %w", err)
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if !p.decided {
			if isSeparator(line) {
				continue
			}
			p.decided = true
			_, _, perr := p.parseShort(line)
			p.short = perr == nil
			if !p.short && p.host == "" {
				p.host, _ = os.Hostname() // "" when it fails
			}
		}
		if !p.short {
			e = record.Entry{Message: string(line), Unit: p.opts.Unit, Host: p.host, Priority: record.NoPriority, Time: leadingTime(line)}
			if err := emit(&e); err != nil {
				return err
			}
			continue
		}
		if hasPending && len(line) > prefix && len(bytes.TrimLeft(line[:prefix], " ")) == 0 {
			pending.Message += "\n" + string(line[prefix:])
			continue
		}
		if isSeparator(line) {
			continue
		}
		e, n, err := p.parseShort(line)
		if err != nil {
			skip(lr.line, err)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		pending, hasPending, prefix = e, true, n
	}
}

// leadingTime returns the RFC 3339 timestamp that tracing-subscriber's
// default format puts at the start of a line (possibly dimmed with ANSI
// codes), so that -o cat lines of such services keep their time; the zero
// time when the line starts with none.
func leadingTime(line []byte) time.Time {
	for len(line) > 2 && line[0] == 0x1b && line[1] == '[' {
		i := 2
		for i < len(line) && (line[i] == ';' || line[i] >= '0' && line[i] <= '9') {
			i++
		}
		if i == len(line) || line[i] != 'm' {
			return time.Time{}
		}
		line = line[i+1:]
	}
	if len(line) < len("2006-01-02T15:04:05Z") || line[0] < '0' || line[0] > '9' || line[4] != '-' || line[10] != 'T' {
		return time.Time{}
	}
	end := bytes.IndexAny(line, " \x1b")
	if end < 0 {
		end = len(line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:end]))
	if err != nil {
		return time.Time{}
	}
	return t
}

// isSeparator matches journalctl's "-- Boot ... --" style lines.
func isSeparator(line []byte) bool {
	return len(line) >= 5 && bytes.HasPrefix(line, []byte("-- ")) && bytes.HasSuffix(line, []byte(" --"))
}

// parseShort parses "TIME HOST IDENT[PID]: MESSAGE" with TIME as one of
// -o short ("Nov 26 10:00:00"), short-precise ("Nov 26 10:00:00.123456"),
// short-iso ("2026-11-26T10:00:00+0000"), short-iso-precise
// ("2026-11-26T10:00:00.123456+00:00"), short-full ("Thu 2026-11-26
// 10:00:00 UTC") or short-unix ("1795687200.123456"). It returns the entry
// and the length of the text before the message.
func (p *textParser) parseShort(line []byte) (record.Entry, int, error) {
	s := string(line) // one allocation; the entry's strings share it
	t, rest, ok := p.parseShortTime(s)
	if !ok || len(rest) < 2 || rest[0] != ' ' {
		return record.Entry{}, 0, errNotShort
	}
	rest = rest[1:]
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return record.Entry{}, 0, errNotShort
	}
	host := rest[:sp]
	if isLevel(host) || strings.ContainsFunc(host, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return record.Entry{}, 0, errNotShort
	}
	rest = rest[sp+1:]
	var identPart, msg string
	if i := strings.Index(rest, ": "); i >= 0 {
		identPart, msg = rest[:i], rest[i+2:]
	} else if strings.HasSuffix(rest, ":") {
		identPart = rest[:len(rest)-1]
	} else {
		return record.Entry{}, 0, errNotShort
	}
	if identPart == "" || strings.ContainsAny(identPart, " \t\x1b") {
		return record.Entry{}, 0, errNotShort
	}
	ident, pid := identPart, 0
	if strings.HasSuffix(identPart, "]") {
		if j := strings.LastIndexByte(identPart, '['); j > 0 {
			n, err := strconv.Atoi(identPart[j+1 : len(identPart)-1])
			if err != nil || n < 0 {
				return record.Entry{}, 0, errNotShort
			}
			ident, pid = identPart[:j], n
		}
	}
	if isLevel(ident) {
		return record.Entry{}, 0, errNotShort
	}
	e := record.Entry{
		Time:       t,
		Host:       p.intern.get([]byte(host)),
		Identifier: p.intern.get([]byte(ident)),
		Message:    msg,
		Priority:   record.NoPriority,
		PID:        pid,
		Unit:       p.opts.Unit,
	}
	if e.Unit == "" {
		e.Unit = p.opts.Identifiers[ident]
	}
	if e.Unit == "" {
		e.Unit = p.intern.get([]byte(ident + ".service"))
	}
	return e, len(s) - len(msg), nil
}

// isLevel reports whether s is a tracing level, which a host or an
// identifier in journalctl's output never is.
func isLevel(s string) bool {
	switch s {
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR":
		return true
	}
	return false
}

var monthAbbr = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// parseShortTime parses the timestamp at the start of s and returns the
// rest of s.
func (p *textParser) parseShortTime(s string) (time.Time, string, bool) {
	if len(s) < 15 {
		return time.Time{}, "", false
	}
	// short, short-precise: "Nov 26 10:00:00[.123456]"
	if mon, ok := monthAbbr[s[:3]]; ok && s[3] == ' ' {
		day, ok1 := num(strings.TrimLeft(s[4:6], " "))
		hh, ok2 := num(s[7:9])
		mm, ok3 := num(s[10:12])
		ss, ok4 := num(s[13:15])
		if !(ok1 && ok2 && ok3 && ok4) || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
			return time.Time{}, "", false
		}
		ns, rest := fraction(s[15:])
		return p.withYear(mon, day, hh, mm, ss, ns), rest, true
	}
	// short-iso, short-iso-precise: "2026-11-26T10:00:00[.123456]+0000"
	if len(s) >= 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' {
		end := 19
		if end < len(s) && s[end] == '.' {
			end++
			for end < len(s) && '0' <= s[end] && s[end] <= '9' {
				end++
			}
		}
		zone := 0
		switch {
		case len(s) >= end+6 && s[end+3] == ':':
			zone = 6 // +00:00
		case len(s) >= end+5:
			zone = 5 // +0000
		}
		if zone == 0 || s[end] != '+' && s[end] != '-' {
			return time.Time{}, "", false
		}
		layout := "2006-01-02T15:04:05.999999999-0700"
		if zone == 6 {
			layout = "2006-01-02T15:04:05.999999999-07:00"
		}
		t, err := time.Parse(layout, s[:end+zone])
		if err != nil {
			return time.Time{}, "", false
		}
		return t, s[end+zone:], true
	}
	// short-full: "Thu 2026-11-26 10:00:00 UTC"
	if len(s) >= 27 && s[3] == ' ' && s[8] == '-' && s[14] == ' ' && s[23] == ' ' {
		if sp := strings.IndexByte(s[24:], ' '); sp > 0 {
			end := 24 + sp
			t, err := time.ParseInLocation("Mon 2006-01-02 15:04:05 MST", s[:end], p.loc)
			if err == nil {
				return t, s[end:], true
			}
		}
		return time.Time{}, "", false
	}
	// short-unix: "1795687200.123456"
	if dot := strings.IndexByte(s, '.'); dot >= 9 && dot <= 12 {
		secs, ok := num(s[:dot])
		if !ok {
			return time.Time{}, "", false
		}
		ns, rest := fraction(s[dot:])
		if len(rest) == len(s)-dot {
			return time.Time{}, "", false
		}
		return time.Unix(int64(secs), int64(ns)), rest, true
	}
	return time.Time{}, "", false
}

// withYear completes a year-less timestamp: this year, or last year when
// that would put it more than a day in the future.
func (p *textParser) withYear(mon time.Month, day, hh, mm, ss, ns int) time.Time {
	now := p.now.In(p.loc)
	t := time.Date(now.Year(), mon, day, hh, mm, ss, ns, p.loc)
	if t.After(now.Add(24 * time.Hour)) {
		t = time.Date(now.Year()-1, mon, day, hh, mm, ss, ns, p.loc)
	}
	return t
}

// num parses a short unsigned decimal.
func num[T string | []byte](s T) (int, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// fraction parses ".123456" at the start of s into nanoseconds.
func fraction(s string) (ns int, rest string) {
	if len(s) < 2 || s[0] != '.' || s[1] < '0' || s[1] > '9' {
		return 0, s
	}
	i, scale := 1, 100_000_000
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		ns += int(s[i]-'0') * scale
		scale /= 10
		i++
	}
	return ns, s[i:]
}
