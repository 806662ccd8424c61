package tail

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// readExport parses journal export format (journalctl -o export): entries
// of "NAME=value\n" lines, or "NAME\n" followed by a little-endian uint64
// length, that many bytes and "\n" for binary values, separated by an empty
// line. It calls emit for each entry that has a MESSAGE, with Unit holding
// _SYSTEMD_UNIT (or the watched unit of sel.units it is from or about,
// entries of others dropped; see entryBuilder.resolve), and skip for each
// malformed entry. It returns emit's error or a read error; a truncated
// last entry is skipped, not an error.
func readExport(lr *lineReader, sel *fieldSel, emit func(*record.Entry) error, skip func(line int, err error)) error {
	var (
		p       = entryBuilder{sel: sel}
		start   int   // line of the entry's first field
		bad     error // why the current entry is skipped
		binBuf  []byte
		lenBuf  [8]byte
		started bool
	)
	p.reset()
	finish := func() error {
		defer p.reset()
		if !started {
			return nil
		}
		started = false
		if bad != nil {
			skip(start, bad)
			bad = nil
			return nil
		}
		if !p.hasMessage || !p.resolve() {
			return nil
		}
		return emit(&p.e)
	}
	for {
		line, err := lr.next()
		if err == io.EOF {
			return finish()
		}
		if err != nil {
			return fmt.Errorf("read export input: %w", err)
		}
		if len(line) == 0 {
			if err := finish(); err != nil {
				return err
			}
			continue
		}
		if !started {
			started, start = true, lr.line
		}
		if bad != nil {
			continue // resynchronise at the next empty line
		}
		if name, value, ok := bytes.Cut(line, []byte("=")); ok {
			if !validFieldName(name) {
				bad = fmt.Errorf("invalid field name %q", truncate(name))
				continue
			}
			bad = p.field(name, value)
			continue
		}
		// A binary field: the name, then the length and the value.
		if !validFieldName(line) {
			bad = fmt.Errorf("invalid field line %q", truncate(line))
			continue
		}
		name := string(line) // line is overwritten by the reads below
		if _, err := io.ReadFull(lr.r, lenBuf[:]); err != nil {
			skip(start, fmt.Errorf("read length of field %s: %w", name, unexpected(err)))
			return nil
		}
		n := binary.LittleEndian.Uint64(lenBuf[:])
		if n > 1<<40 {
			bad = fmt.Errorf("field %s: length %d too large", name, n)
			continue
		}
		keep := int(min(n, uint64(MaxFieldSize)))
		binBuf, err = readN(lr.r, binBuf[:0], keep)
		if err != nil {
			skip(start, fmt.Errorf("read value of field %s: %w", name, unexpected(err)))
			return nil
		}
		val := binBuf
		lr.line += bytes.Count(val, []byte("\n"))
		if rest := int64(n) - int64(keep); rest > 0 {
			if d, err := lr.r.Discard(int(min(rest, 1<<62))); err != nil || int64(d) != rest {
				skip(start, fmt.Errorf("read value of field %s: %w", name, io.ErrUnexpectedEOF))
				return nil
			}
		}
		nl, err := lr.r.ReadByte()
		if err != nil {
			skip(start, fmt.Errorf("read end of field %s: %w", name, unexpected(err)))
			return nil
		}
		if nl != '\n' {
			bad = fmt.Errorf("field %s: no newline after %d bytes of value", name, n)
			_ = lr.r.UnreadByte()
			continue
		}
		lr.line++
		bad = p.field([]byte(name), val)
	}
}

// readN appends n bytes from r to buf, growing it as the bytes arrive so
// that a bogus length in a short input costs no large allocation.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		chunk := min(n-len(buf), max(len(buf), 64<<10))
		buf = slices.Grow(buf, chunk)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// truncate shortens b for an error message.
func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// entryBuilder collects the fields cflogd uses from one entry's fields.
// The first occurrence of a field wins, as in the journal reader.
type entryBuilder struct {
	e          record.Entry
	seen       uint16
	hasMessage bool
	intern     interner
	sel        *fieldSel
	col        collected
	name       []byte // scratch for lower-casing
}

const (
	seenMessage = 1 << iota
	seenTime
	seenCursor
	seenPriority
	seenUnit
	seenIdent
	seenTarget
	seenPID
	seenHost
	seenBoot
)

func (p *entryBuilder) reset() {
	p.e = record.Entry{Priority: record.NoPriority}
	p.seen = 0
	p.hasMessage = false
	if p.intern == nil {
		p.intern = make(interner)
	}
	p.col.reset()
}

// extra takes a field for Entry.Fields or Entry.Journal; value is not
// retained.
func (p *entryBuilder) extra(name, value []byte) {
	if p.sel.want[string(name)] {
		p.col.addJournal(p.intern.get(name), p.intern.get(capValue(value)))
	}
	if ev, ok := p.sel.eventName(name); ok && len(p.col.fields) < maxEntryFields {
		p.name = lowerName(p.name[:0], ev)
		p.col.fields = append(p.col.fields, record.Field{Name: p.intern.get(p.name), Value: string(capValue(value))})
	}
}

// resolve sets Unit, Fields and Journal of the entry once all its fields
// are in; false drops it: with watched units, an entry neither from one
// (_SYSTEMD_UNIT or SYSLOG_IDENTIFIER) nor about one (aboutUnit).
func (p *entryBuilder) resolve() bool {
	s, e := p.sel, &p.e
	if len(s.units) == 0 {
		s.finish(e, &p.col, false)
		return true
	}
	if u := ownUnit(e.Unit, e.Identifier, s.units, s.idents); u != "" {
		e.Unit = u
		s.finish(e, &p.col, false)
		return true
	}
	g := func(n string) string { v, _ := p.col.get(n); return v }
	lc := lcFields{pid: g("_PID"), uid: g("_UID"), comm: g("_COMM"), transport: g("_TRANSPORT"),
		unit: g("UNIT"), objectUnit: g("OBJECT_SYSTEMD_UNIT"), messageID: g("MESSAGE_ID"),
		coredumpUnit: g("COREDUMP_UNIT"), sysUnit: e.Unit}
	u := aboutUnit(&lc, e.Message, s.units, s.idents)
	if u == "" {
		if s.other != nil {
			s.other(e)
		}
		return false
	}
	e.Unit = u
	s.finish(e, &p.col, true)
	return true
}

func (p *entryBuilder) once(bit uint16) bool {
	if p.seen&bit != 0 {
		return false
	}
	p.seen |= bit
	return true
}

// field takes one field; value is not retained.
func (p *entryBuilder) field(name, value []byte) error {
	p.extra(name, value)
	switch string(name) {
	case "MESSAGE":
		if p.once(seenMessage) {
			if len(value) > maxMessage {
				value = value[:maxMessage]
			}
			p.e.Message = string(value)
			p.hasMessage = true
		}
	case "__REALTIME_TIMESTAMP":
		if p.once(seenTime) {
			us, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || us < 0 {
				return fmt.Errorf("invalid __REALTIME_TIMESTAMP %q", truncate(value))
			}
			p.e.Time = time.UnixMicro(us)
		}
	case "__CURSOR":
		if p.once(seenCursor) {
			p.e.Cursor = string(value)
		}
	case "PRIORITY":
		if p.once(seenPriority) && len(value) == 1 && '0' <= value[0] && value[0] <= '7' {
			p.e.Priority = int(value[0] - '0')
		}
	case "_SYSTEMD_UNIT":
		if p.once(seenUnit) {
			p.e.Unit = p.intern.get(value)
		}
	case "SYSLOG_IDENTIFIER":
		if p.once(seenIdent) {
			p.e.Identifier = p.intern.get(value)
		}
	case "TARGET":
		if p.once(seenTarget) {
			p.e.Target = p.intern.get(value)
		}
	case "_PID":
		if p.once(seenPID) {
			p.e.PID, _ = num(value)
		}
	case "_HOSTNAME":
		if p.once(seenHost) {
			p.e.Host = p.intern.get(value)
		}
	case "_BOOT_ID":
		if p.once(seenBoot) {
			p.e.BootID = p.intern.get(value)
		}
	}
	return nil
}

// interner hands out one string per distinct short value.
type interner map[string]string

func (m interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := m[string(b)]; ok {
		return s
	}
	if len(m) >= 4096 || len(b) > 256 {
		if len(b) > 256 {
			return string(b)
		}
		clear(m)
	}
	s := string(b)
	m[s] = s
	return s
}

var errNoMessage = errors.New("MESSAGE omitted by journalctl (run it with --all)")
