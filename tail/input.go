package tail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// InputOptions tell ReadInput what the input does not say itself.
type InputOptions struct {
	// Unit is the unit of text lines: every -o cat line gets it, and so does
	// every -o short line (else such a line's unit is the one Identifiers
	// maps its identifier to, or its identifier + ".service"). For JSON
	// and export input, Unit alone acts like Units holding just Unit.
	Unit string
	// Units keeps only JSON and export entries of these units and resolves
	// Entry.Unit as ReadJournal does (Options.Units): the entries from them
	// and about them. Text lines are not filtered.
	Units []string
	// Identifiers is as Options.Identifiers, for Units and -o short lines.
	Identifiers map[string]string
	// Fields selects the fields JSON and export entries carry in
	// Entry.Fields and Entry.Journal, as Options.Fields does.
	Fields FieldSelect
	// Host is the host of entries that do not name one; -o cat lines get
	// os.Hostname() when Host is empty.
	Host string
	// Since and Until drop entries outside [Since, Until] (both inclusive;
	// zero: unbounded). Entries without a time (-o cat) are never dropped.
	Since, Until time.Time
	// Location is the zone of -o short timestamps that carry none
	// (time.Local when nil).
	Location *time.Location
	// Now is the current time used to pick the year of -o short timestamps
	// (time.Now when nil).
	Now func() time.Time
	// OnSkip is called for every malformed entry that is skipped, with an
	// *InputError; nil ignores them.
	OnSkip func(err error)
	// Stats, when not nil, is filled in while reading (read it once
	// ReadInput returned): what the input spans and what was left out.
	Stats *InputStats
}

// InputStats says what an input held besides the entries handed on.
type InputStats struct {
	// First and Last are the earliest and latest entry times in the input,
	// inside the window or not (zero: no entry had a time).
	First, Last time.Time
	// OutsideWindow counts the entries dropped by Since and Until.
	OutsideWindow int
	// OtherUnits counts the JSON and export entries (inside the window)
	// dropped because they belong to other units than Units, by unit
	// (_SYSTEMD_UNIT, else the identifier; the first maxOtherUnits).
	OtherUnits     int
	OtherUnitNames map[string]int
}

// maxOtherUnits bounds InputStats.OtherUnitNames.
const maxOtherUnits = 16

// InputError describes an input entry that was skipped.
type InputError struct {
	// Line is the 1-based line where the entry starts.
	Line int
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *InputError) Unwrap() error { return e.Err }

// inputFormat is an input format ReadInput recognises.
type inputFormat int

// The input formats.
const (
	formatCat    inputFormat = iota // journalctl -o cat or -o short (readText tells them apart)
	formatJSON                      // journalctl -o json
	formatExport                    // journalctl -o export
)

// ReadInput reads journalctl output from r and calls fn with batches of
// entries in input order; fn owns each batch. The format (-o export, -o
// json, -o short and its variants, or -o cat) is detected from the first
// line. Malformed entries are skipped (see InputOptions.OnSkip), as are
// entries without MESSAGE and empty text lines. It returns fn's first
// error, a read error, or ctx's error when ctx ends first.
func ReadInput(ctx context.Context, r io.Reader, opts InputOptions, fn func(batch []record.Entry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	watched := opts.Units
	if len(watched) == 0 && opts.Unit != "" {
		watched = []string{opts.Unit}
	}
	sel, err := newFieldSel(opts.Fields, watched, opts.Identifiers)
	if err != nil {
		return err
	}
	format, err := detectFormat(br)
	if err != nil {
		return err
	}
	return pipeline(ctx, false, 4, true, func(_ context.Context, send func([]record.Entry) bool) error {
		b := &batcher{ctx: ctx, opts: &opts, send: send}
		if opts.Stats != nil {
			sel.other = b.other
		}
		lr := &lineReader{r: br}
		var err error
		switch format {
		case formatExport:
			err = readExport(lr, sel, b.add, b.skip)
		case formatJSON:
			err = readJSON(lr, sel, b.add, b.skip)
		default:
			err = readText(lr, newTextParser(&opts), b.add, b.skip)
		}
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			return err
		}
		b.flush()
		return nil
	}, fn)
}

// errStopped is returned by emit functions when the consumer has stopped.
var errStopped = errors.New("stopped")

// detectFormat looks at the first non-empty line without consuming it.
func detectFormat(br *bufio.Reader) (inputFormat, error) {
	for n := 1; ; {
		b, err := br.Peek(n)
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return formatCat, nil
			}
			return 0, fmt.Errorf("read input: %w", err)
		}
		// Look at everything already buffered.
		b, _ = br.Peek(br.Buffered())
		text := bytes.TrimLeft(b, "\r\n")
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			return classifyFirstLine(text[:i]), nil
		}
		if err != nil || br.Buffered() == br.Size() {
			return classifyFirstLine(text), nil // one long line, or the last one
		}
		n = br.Buffered() + 1
	}
}

func classifyFirstLine(line []byte) inputFormat {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > 0 && line[0] == '{' {
		// A service may log JSON itself: journalctl's objects always
		// carry one of these keys. The line may be cut (a long first
		// line), so it is not validated here.
		for _, k := range []string{`"MESSAGE":`, `"__CURSOR":`, `"__REALTIME_TIMESTAMP":`} {
			if bytes.Contains(line, []byte(k)) {
				return formatJSON
			}
		}
		return formatCat
	}
	name, _, _ := bytes.Cut(line, []byte("="))
	if validFieldName(name) && journalFieldName(name) {
		return formatExport
	}
	return formatCat // readText decides between cat and short
}

// journalFieldName reports whether name is one journalctl's export output
// starts an entry with or one every journal entry carries.
func journalFieldName(name []byte) bool {
	s := string(name)
	return strings.HasPrefix(s, "_") || s == "MESSAGE" || s == "PRIORITY" || strings.HasPrefix(s, "SYSLOG_")
}

// validFieldName reports whether b is a journal field name: upper-case
// letters, digits and underscores, not starting with a digit.
func validFieldName(b []byte) bool {
	if len(b) == 0 || len(b) > 64 || '0' <= b[0] && b[0] <= '9' {
		return false
	}
	for _, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// batcher filters entries, completes their units and hosts and hands them
// to the consumer in batches.
type batcher struct {
	ctx   context.Context
	opts  *InputOptions
	send  func([]record.Entry) bool
	batch []record.Entry
	bytes int
}

// add takes one entry whose Unit is resolved (JSON, export: see
// entryBuilder.resolve) or the text parser's choice.
func (b *batcher) add(e *record.Entry) error {
	if b.outside(e) {
		return nil
	}
	if e.Host == "" {
		e.Host = b.opts.Host
	}
	if len(e.Message) > maxMessage {
		e.Message = e.Message[:maxMessage]
	}
	if b.batch == nil {
		b.batch = make([]record.Entry, 0, batchSize)
	}
	b.batch = append(b.batch, *e)
	b.bytes += len(e.Message)
	if len(b.batch) == batchSize || b.bytes >= 1<<20 {
		if !b.flush() {
			return errStopped
		}
	}
	return nil
}

// outside reports whether e lies outside the window, and counts it in
// Stats.
func (b *batcher) outside(e *record.Entry) bool {
	if e.Time.IsZero() {
		return false
	}
	st := b.opts.Stats
	if st != nil {
		if st.First.IsZero() || e.Time.Before(st.First) {
			st.First = e.Time
		}
		if e.Time.After(st.Last) {
			st.Last = e.Time
		}
	}
	if !b.opts.Since.IsZero() && e.Time.Before(b.opts.Since) ||
		!b.opts.Until.IsZero() && e.Time.After(b.opts.Until) {
		if st != nil {
			st.OutsideWindow++
		}
		return true
	}
	return false
}

// other counts an entry left out for its unit (fieldSel.other).
func (b *batcher) other(e *record.Entry) {
	if b.opts.Stats != nil && !b.outside(e) {
		b.opts.Stats.otherUnit(e)
	}
}

// otherUnit counts an entry of an unwatched unit.
func (st *InputStats) otherUnit(e *record.Entry) {
	st.OtherUnits++
	name := e.Unit
	if name == "" {
		name = e.Identifier
	}
	if name == "" {
		name = "no unit"
	}
	if _, ok := st.OtherUnitNames[name]; ok || len(st.OtherUnitNames) < maxOtherUnits {
		if st.OtherUnitNames == nil {
			st.OtherUnitNames = map[string]int{}
		}
		st.OtherUnitNames[strings.Clone(name)]++
	}
}

// maxMessage is the longest MESSAGE value the journal reader returns.
const maxMessage = MaxFieldSize - len("MESSAGE=")

func (b *batcher) flush() bool {
	if len(b.batch) == 0 {
		return b.ctx.Err() == nil
	}
	ok := b.send(b.batch)
	b.batch, b.bytes = nil, 0
	return ok
}

func (b *batcher) skip(line int, err error) {
	if b.opts.OnSkip != nil {
		b.opts.OnSkip(&InputError{Line: line, Err: err})
	}
}

// lineReader reads lines of any length; lines longer than max (default
// MaxFieldSize) are cut to it.
type lineReader struct {
	r    *bufio.Reader
	max  int
	buf  []byte
	line int // number of the line last returned
}

// next returns the next line without its "\n". The slice is valid until the
// next call. At the end of input it returns io.EOF.
func (l *lineReader) next() ([]byte, error) {
	frag, err := l.r.ReadSlice('\n')
	if err == nil {
		l.line++
		return frag[:len(frag)-1], nil
	}
	if err != bufio.ErrBufferFull {
		if len(frag) > 0 && err == io.EOF {
			l.line++
			return frag, nil
		}
		return nil, err
	}
	limit := l.max
	if limit == 0 {
		limit = MaxFieldSize
	}
	l.buf = append(l.buf[:0], frag...)
	for {
		frag, err = l.r.ReadSlice('\n')
		if err == nil {
			frag = frag[:len(frag)-1]
		}
		if room := limit - len(l.buf); room > 0 {
			l.buf = append(l.buf, frag[:min(room, len(frag))]...)
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil, io.EOF:
			l.line++
			return l.buf, nil
		default:
			return nil, err
		}
	}
}
