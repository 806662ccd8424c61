package tail

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// Options select what ReadJournal reads.
type Options struct {
	// Directory reads the journal files of one directory (journalctl -D).
	Directory string
	// Files reads these journal files (journalctl --file); ignored when
	// Directory is set. With neither, the local system journal is read.
	Files []string
	// Units keeps only entries of these units, e.g. "chainfire.service": those
	// from unit U (_SYSTEMD_UNIT=U, or SYSLOG_IDENTIFIER is one of U's
	// Identifiers) and those about it that journalctl -u U shows, plus what it
	// misses (see aboutUnit): systemd's (_PID=1, UNIT=U), systemd-coredump's
	// (COREDUMP_UNIT=U, also with the systemd-coredump user's _UID of systemd
	// 252.4 and later), a root daemon's (OBJECT_SYSTEMD_UNIT=U, _UID=0), and the
	// kernel OOM killer's lines naming U's cgroup or process. Entry.Unit is U for
	// all of them; an entry about U carries the lifecycle fields in Entry.Journal
	// (see FieldSelect) and no Entry.Fields. Empty: every entry, with Entry.Unit
	// its _SYSTEMD_UNIT.
	Units []string
	// Identifiers maps a SYSLOG_IDENTIFIER to the unit whose entries carry
	// it (the services' identifiers: patterns.Services.Identifiers). A
	// unit of Units none maps to is identified by its name without
	// ".service".
	Identifiers map[string]string
	// Fields selects what goes into Entry.Fields and Entry.Journal.
	Fields FieldSelect
	// Since drops entries before it (inclusive bound; zero: from the start).
	Since time.Time
	// Until stops at the first entry after it (inclusive bound; zero: to the
	// end), like journalctl --until.
	Until time.Time
	// Boot keeps only the entries of one boot: a 32-hex-digit boot ID (dashes
	// allowed), "0" for the current boot, "-N" for the N-th boot before it, or
	// a positive "N" for the N-th boot counted from the oldest (1 is the
	// first). Empty: all boots. See ReadJournal for how boots are ordered.
	Boot string
	// AfterCursor starts right after the entry with this cursor, as the
	// daemon does with its checkpoint; it overrides Since for positioning
	// (Since still filters). If that entry was rotated away, reading starts
	// at the first entry after its position.
	AfterCursor string
	// NoCursor leaves Entry.Cursor empty, which saves the cost of formatting
	// a cursor for every entry (about a tenth of the reader's time).
	NoCursor bool
	// Reader is ReaderNative (also when empty) or ReaderSDJournal, as for
	// Follow. The native reader reads the files on one thread; it leaves
	// to sd-journal a Boot, and every read after a file it cannot read.
	Reader string
	// OnFallback is as in FollowOptions.
	OnFallback func(error)
}

// MaxFieldSize is the most bytes of one field (name, "=" and value) that
// the journal reader returns: longer fields are cut to this size. It is the
// data threshold set on the journal, applied to uncompressed fields as well.
// The input readers cut MESSAGE to the same size.
const MaxFieldSize = 8 << 20

// ErrNoJournal is returned by ReadJournal in builds without the sdjournal
// reader (no cgo, or not Linux).
var ErrNoJournal = errors.New("journal reading not supported in this build (needs linux and cgo)")

// errBadBoot is wrapped when Options.Boot cannot be resolved.
var errBadBoot = errors.New("no such boot")

// batchSize is the number of entries ReadJournal hands to fn at most.
const batchSize = 512

// journal is the part of sd-journal the reader uses; journal_linux.go
// implements it with cgo and tests implement it with a fake. All methods
// of one journal are called from one goroutine.
type journal interface {
	addMatch(m string) error
	addDisjunction() error
	addConjunction() error
	seekHead() error
	seekRealtime(t time.Time) error
	// seekCursor positions on the entry of the cursor: the next read or
	// peek starts after it, or with it when inclusive is set. When that
	// entry is gone, they start with the first entry after its position
	// and gone is true.
	seekCursor(c string, inclusive bool) (gone bool, err error)
	// peek makes the next entry current without consuming it and returns
	// its time; ok is false at the end of the journal.
	peek() (t time.Time, ok bool, err error)
	// cursor returns the cursor of the current entry (the stop entry after
	// read returned readStopped, the peeked one after peek).
	cursor() (string, error)
	// last returns the time of the last entry; the position is then lost:
	// seek before reading.
	last() (t time.Time, ok bool, err error)
	// read moves to the next entries and decodes up to len(dst) of those
	// that have a MESSAGE into dst, with Unit holding _SYSTEMD_UNIT. It
	// stops before the first entry (with or without MESSAGE) whose time is
	// at or after stop (zero: no stop), which stays current.
	read(dst []record.Entry, cursors bool, stop time.Time) (n int, state readState, err error)
	// boots lists every boot of the journal with its first entry's time,
	// in no particular order.
	boots() ([]bootInfo, error)
	// local reports whether this is the local system journal.
	local() bool
	close()
}

// readState says how a read ended.
type readState int

const (
	readMore    readState = iota // more entries may follow
	readStopped                  // the stop entry is current
	readEnd                      // the end of the journal
)

type bootInfo struct {
	ID    string
	First time.Time
}

// ReadJournal reads the journal selected by opts in journal order and calls
// fn with batches of entries; fn owns each batch. It returns fn's first error,
// a journal error, or ctx's error when ctx ends first.
//
// The journal is read on other OS threads while fn runs on the calling
// goroutine, so reading and processing overlap.
// Entries without MESSAGE are skipped. Entry.Unit is _SYSTEMD_UNIT when that
// is one of opts.Units, else the unit of opts.Units SYSLOG_IDENTIFIER names
// (Options.Identifiers), else _SYSTEMD_UNIT.
//
// Boots for Options.Boot offsets are ordered by the time of their first
// entry (what journalctl --list-boots shows). Boot "0" is the running boot
// (/proc/sys/kernel/random/boot_id) for the local journal, and the most
// recent boot in the files for Directory or Files.
func ReadJournal(ctx context.Context, opts Options, fn func(batch []record.Entry) error) error {
	return readJournal(ctx, func() (journal, error) { return openSDJournal(&opts) }, opts, fn)
}

func readJournal(ctx context.Context, open func() (journal, error), opts Options, fn func([]record.Entry) error) error {
	if err := checkReader(opts.Reader); err != nil {
		return err
	}
	return pipeline(ctx, true, 4, true, func(ctx context.Context, send func([]record.Entry) bool) error {
		j, err := open()
		if err != nil {
			return err
		}
		defer func() { j.close() }()
		bootID, err := resolveBoot(j, opts.Boot)
		if err != nil {
			return err
		}
		idents := identUnits(opts.Units, opts.Identifiers)
		if opts.Reader != ReaderSDJournal && opts.Boot == "" {
			// sd-journal reads the boots (see Options.Reader).
			j = withNative(j, &FollowOptions{Directory: opts.Directory, Files: opts.Files, OnFallback: opts.OnFallback})
		}
		if err := addMatches(j, opts.Units, idents, bootID); err != nil {
			return err
		}
		if err := seekStart(j, &opts); err != nil {
			return err
		}
		return produce(ctx, j, &opts, idents, send)
	}, fn)
}

// addMatches adds the unit and boot matches: for the units, the terms of
// journalctl -u (see Options.Units) and their identifiers (identUnits), ORed,
// with two wider than the reader keeps (aboutUnit decides): the coredump term
// leaves out the writer's _UID, and every kernel entry (_TRANSPORT=kernel)
// comes for the OOM-killer lines.
func addMatches(j journal, units []string, idents map[string]string, bootID string) error {
	if len(units) > 0 {
		// Matches on one field are ORed, on different fields ANDed; a
		// disjunction ORs the terms.
		names := slices.Sorted(maps.Keys(idents))
		terms := [][]string{
			prefixed("_SYSTEMD_UNIT=", units),
			prefixed("SYSLOG_IDENTIFIER=", names),
			append([]string{"_PID=1"}, prefixed("UNIT=", units)...),
			append([]string{"MESSAGE_ID=" + coredumpMessageID}, prefixed("COREDUMP_UNIT=", units)...),
			append([]string{"_UID=0"}, prefixed("OBJECT_SYSTEMD_UNIT=", units)...),
			{"_TRANSPORT=kernel"},
		}
		for i, term := range terms {
			if i > 0 {
				if err := j.addDisjunction(); err != nil {
					return fmt.Errorf("add disjunction: %w", err)
				}
			}
			for _, m := range term {
				if err := j.addMatch(m); err != nil {
					return fmt.Errorf("add match %q: %w", m, err)
				}
			}
		}
	}
	if bootID != "" {
		// The conjunction ANDs the boot with the ORed units.
		if len(units) > 0 {
			if err := j.addConjunction(); err != nil {
				return fmt.Errorf("add conjunction: %w", err)
			}
		}
		if err := j.addMatch("_BOOT_ID=" + bootID); err != nil {
			return fmt.Errorf("add boot match %q: %w", bootID, err)
		}
	}
	return nil
}

// prefixed returns p+v for each v.
func prefixed(p string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = p + v
	}
	return out
}

// seekStart seeks to where reading starts: after AfterCursor, at Since, or
// at the head.
func seekStart(j journal, opts *Options) error {
	switch {
	case opts.AfterCursor != "":
		if _, err := j.seekCursor(opts.AfterCursor, false); err != nil {
			return fmt.Errorf("seek cursor %q: %w", opts.AfterCursor, err)
		}
	case !opts.Since.IsZero():
		if err := j.seekRealtime(opts.Since); err != nil {
			return fmt.Errorf("seek time %s: %w", opts.Since.Format(time.RFC3339Nano), err)
		}
	default:
		if err := j.seekHead(); err != nil {
			return fmt.Errorf("seek head: %w", err)
		}
	}
	return nil
}

// untilStop is the stop time for read that ends after Until: the first
// microsecond after it (zero for no Until).
func untilStop(until time.Time) time.Time {
	if until.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(max(until.UnixMicro()+1, 1))
}

// produce reads batches until the end, Until, or ctx's end.
func produce(ctx context.Context, j journal, opts *Options, idents map[string]string, send func([]record.Entry) bool) error {
	stop := untilStop(opts.Until)
	trim := trimmer(DefaultMaxMapped)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		trim()
		batch := make([]record.Entry, batchSize)
		n, state, err := j.read(batch, !opts.NoCursor, stop)
		if err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
		batch = finishBatch(batch[:n], opts, idents)
		if len(batch) > 0 && !send(batch) {
			return nil
		}
		if state != readMore {
			return nil
		}
	}
}

// finishBatch drops entries before Since (possible only when the clock
// went back) and resolves units (the watched unit an entry is from,
// ownUnit, else its _SYSTEMD_UNIT), in place.
func finishBatch(batch []record.Entry, opts *Options, idents map[string]string) []record.Entry {
	out := batch[:0]
	for i := range batch {
		e := &batch[i]
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
			continue
		}
		if u := ownUnit(e.Unit, e.Identifier, opts.Units, idents); u != "" {
			e.Unit = u // else its _SYSTEMD_UNIT
		}
		out = append(out, *e)
	}
	// Clear the tail so that dropped entries' strings are not kept alive.
	clear(batch[len(out):])
	return out
}

// resolveBoot turns Options.Boot into a boot ID (32 lowercase hex digits;
// "" for none).
func resolveBoot(j journal, spec string) (string, error) {
	if spec == "" {
		return "", nil
	}
	if id, ok := normBootID(spec); ok {
		return id, nil
	}
	off, err := strconv.Atoi(spec)
	if err != nil {
		return "", fmt.Errorf("parse boot %q: want a boot ID or an offset", spec)
	}
	if off == 0 && j.local() {
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			return "", fmt.Errorf("read current boot id: %w", err)
		}
		id, ok := normBootID(strings.TrimSpace(string(b)))
		if !ok {
			return "", fmt.Errorf("read current boot id: bad value %q", b)
		}
		return id, nil
	}
	boots, err := j.boots()
	if err != nil {
		return "", fmt.Errorf("list boots: %w", err)
	}
	return pickBoot(boots, off, spec)
}

// pickBoot orders boots by first entry and picks one by journalctl's offset
// rules: 0 the last, -N the N-th before it, N>0 the N-th from the first.
func pickBoot(boots []bootInfo, off int, spec string) (string, error) {
	slices.SortStableFunc(boots, func(a, b bootInfo) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	i := len(boots) - 1 + off
	if off > 0 {
		i = off - 1
	}
	if i < 0 || i >= len(boots) {
		return "", fmt.Errorf("resolve boot %q among %d boots: %w", spec, len(boots), errBadBoot)
	}
	return boots[i].ID, nil
}

// normBootID accepts a boot ID with or without dashes.
func normBootID(s string) (string, bool) {
	s = strings.ToLower(strings.ReplaceAll(s, "-", ""))
	_, err := hex.DecodeString(s)
	return s, err == nil && len(s) == 32
}
