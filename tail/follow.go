package tail

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// Start says where Follow begins when it has no cursor to resume from.
type Start int

const (
	// StartHead begins at the oldest entry.
	StartHead Start = iota
	// StartTail begins after the newest entry.
	StartTail
	// StartSince begins at the first entry at or after FollowOptions.Since.
	StartSince
)

// trimEvery is how often the reader checks its resident journal pages.
const trimEvery = 500 * time.Millisecond

// DefaultMaxMapped is FollowOptions.MaxMapped when it is zero.
const DefaultMaxMapped = 16 << 20

// The journal readers of FollowOptions.Reader.
const (
	// ReaderNative reads the journal files' format directly, with
	// sd-journal answering seeks and reading what the native reader does
	// not (compressed fields, unknown file versions).
	ReaderNative = "native"
	// ReaderSDJournal reads every entry through sd-journal.
	ReaderSDJournal = "sdjournal"
)

// checkReader checks the name of a journal reader.
func checkReader(r string) error {
	switch r {
	case "", ReaderNative, ReaderSDJournal:
		return nil
	}
	return fmt.Errorf("journal reader %q: want %q or %q", r, ReaderNative, ReaderSDJournal)
}

// DefaultWaitTimeout is FollowOptions.WaitTimeout when it is zero.
const DefaultWaitTimeout = 250 * time.Millisecond

// FollowOptions select what Follow reads and where it begins.
type FollowOptions struct {
	// Directory, Files, Units, Identifiers and Fields are as in Options.
	Directory   string
	Files       []string
	Units       []string
	Identifiers map[string]string
	Fields      FieldSelect
	// AfterCursor resumes after the entry with this cursor: the daemon's
	// checkpoint. When that entry is gone (rotated or vacuumed away), reading
	// resumes at the first entry after its position and the first batch
	// carries a Gap.
	AfterCursor string
	// Start and Since say where to begin when AfterCursor is empty.
	Start Start
	Since time.Time
	// WaitTimeout bounds each wait for new entries, so that ctx is checked
	// that often (sd_journal_wait holds the journal; it must not block
	// indefinitely). Default DefaultWaitTimeout.
	WaitTimeout time.Duration
	// Coalesce, when positive, makes the reader that reached the end of the
	// journal wait this long after the journal changed before it reads
	// again, so that a journal written entry by entry is read in fewer and
	// larger batches: less CPU for at most this much more delay.
	Coalesce time.Duration
	// MaxMapped bounds the journal file pages the reader keeps resident:
	// when the process's file-backed resident memory passes it, the pages
	// of the mapped journal files are dropped from the process (they stay
	// in the page cache). Checked twice a second. 0 means
	// DefaultMaxMapped; negative turns it off.
	MaxMapped int64
	// Reader is ReaderNative (also when empty) or ReaderSDJournal.
	Reader string
	// OnFallback, if set, is called from the reader's thread when the
	// native reader hands over to sd-journal for the rest of the run (a
	// journal file it cannot read), with the reason.
	OnFallback func(error)
	// Heartbeat, if set, is called from the reader's thread after every
	// read and every wait: while the reader is not blocked handing over a
	// batch, it is called at least every WaitTimeout.
	Heartbeat func()
}

// Gap says that entries were lost before Follow could read them: the
// entry of FollowOptions.AfterCursor was rotated or vacuumed away.
type Gap struct {
	// Cursor and Time are the saved cursor and its entry's time.
	Cursor string
	Time   time.Time
	// Resume and ResumeTime are the first entry still present after the
	// saved position (any unit); zero when the journal has none yet.
	Resume     string
	ResumeTime time.Time
	// Lost is the number of entries (of every unit) between the two, or
	// -1 when the journal cannot tell (the two are in files with different
	// sequence number IDs).
	Lost int64
}

// FollowBatch is what Follow hands to its callback.
type FollowBatch struct {
	// Entries in journal order; fn owns them.
	Entries []record.Entry
	// Gap, in the first batch only, reports entries lost before it.
	Gap *Gap
	// AtEnd reports that the reader had read everything in the journal
	// when it handed over this batch (an empty batch says only that).
	AtEnd bool
}

// Follow reads the journal selected by opts and keeps reading as it grows,
// until ctx ends (then it returns ctx's error) or fn fails (then fn's
// error). Like ReadJournal, it reads on its own OS thread and calls fn on
// the calling goroutine; while fn has not returned, at most a few batches
// are read ahead, so a slow fn stops the reader (back-pressure). Rotation,
// vacuuming and new files in a directory (SD_JOURNAL_INVALIDATE) keep the
// position.
func Follow(ctx context.Context, opts FollowOptions, fn func(FollowBatch) error) error {
	return follow(ctx, func() (follower, error) { return openFollower(&opts) }, opts, fn)
}

// follower is a journal that can wait for changes.
type follower interface {
	journal
	// wait blocks until the journal changes or timeout passes.
	wait(timeout time.Duration) (waitResult, error)
}

// waitResult is sd_journal_wait's answer.
type waitResult int

const (
	waitNop        waitResult = iota // nothing changed in time
	waitAppend                       // entries were appended
	waitInvalidate                   // files were added or removed
)

// openFollower opens the journal of opts for following (ErrNoJournal in
// builds without a journal reader).
func openFollower(opts *FollowOptions) (follower, error) {
	if err := checkReader(opts.Reader); err != nil {
		return nil, err
	}
	j, err := openSDJournal(&Options{Directory: opts.Directory, Files: opts.Files, Units: opts.Units, Identifiers: opts.Identifiers, Fields: opts.Fields})
	if err != nil {
		return nil, err
	}
	if opts.Reader != ReaderSDJournal {
		j = withNative(j, opts)
	}
	return j.(follower), nil // both readers can wait
}

// trimmer returns a function that, called as often as it likes, drops the
// journal files' pages from the process every trimEvery once there are
// more than max bytes of them (negative: never; see FollowOptions.MaxMapped).
// Checking more often keeps fewer pages (a scan maps hundreds of MiB a
// second) but costs more in faults: at 50 ms, 15 % more CPU for a scan.
func trimmer(max int64) func() {
	var last time.Time
	return func() {
		if max < 0 || time.Since(last) < trimEvery {
			return
		}
		last = time.Now()
		if mappedBytes() > max {
			dropJournalPages()
		}
	}
}

func follow(ctx context.Context, open func() (follower, error), opts FollowOptions, fn func(FollowBatch) error) error {
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	beat := opts.Heartbeat
	if beat == nil {
		beat = func() {}
	}
	if opts.MaxMapped == 0 {
		opts.MaxMapped = DefaultMaxMapped
	}
	trim := trimmer(opts.MaxMapped)
	return pipeline(ctx, true, 2, false, func(ctx context.Context, send func(FollowBatch) bool) error {
		j, err := open()
		if err != nil {
			return err
		}
		defer j.close()
		idents := identUnits(opts.Units, opts.Identifiers)
		gap, err := followStart(j, &opts, idents)
		if err != nil {
			return err
		}
		ropts := &Options{Units: opts.Units}
		atEnd := false
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			batch := make([]record.Entry, batchSize)
			n, state, err := j.read(batch, true, time.Time{})
			if err != nil {
				return fmt.Errorf("read journal: %w", err)
			}
			beat()
			trim()
			end := state == readEnd
			batch = finishBatch(batch[:n], ropts, idents)
			if len(batch) > 0 || gap != nil || (end && !atEnd) {
				if len(batch) == 0 {
					batch = nil
				}
				if !send(FollowBatch{Entries: batch, Gap: gap, AtEnd: end}) {
					return nil
				}
				gap = nil
			}
			atEnd = end
			for atEnd {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, err := j.wait(opts.WaitTimeout)
				if err != nil {
					return fmt.Errorf("wait for journal: %w", err)
				}
				beat()
				trim()
				if r != waitNop {
					if opts.Coalesce > 0 && !SleepCtx(ctx, opts.Coalesce) {
						return ctx.Err()
					}
					break // read again; atEnd stays set until entries come
				}
			}
		}
	}, fn)
}

// SleepCtx waits for d or until ctx ends; it reports whether d passed.
// The daemon paces its access checks with it too.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// followStart adds the unit matches and seeks to where following begins.
// With a cursor whose entry is gone, it returns the Gap.
func followStart(j follower, opts *FollowOptions, idents map[string]string) (*Gap, error) {
	var gap *Gap
	if opts.AfterCursor != "" {
		// Test the cursor before adding matches: the first entry after its
		// position of any unit tells how much was lost.
		gone, err := j.seekCursor(opts.AfterCursor, false)
		if err != nil {
			return nil, fmt.Errorf("seek cursor %q: %w", opts.AfterCursor, err)
		}
		if gone {
			gap = &Gap{Cursor: opts.AfterCursor, Lost: -1}
			if k, ok := parseCursor(opts.AfterCursor); ok {
				gap.Time = time.UnixMicro(int64(k.realtime))
			}
			t, ok, err := j.peek()
			if err != nil {
				return nil, fmt.Errorf("read entry after cursor %q: %w", opts.AfterCursor, err)
			}
			if ok {
				gap.ResumeTime = t
				if c, err := j.cursor(); err == nil {
					gap.Resume = c
					gap.Lost = lostBetween(opts.AfterCursor, c)
				}
			}
		}
	}
	if err := addMatches(j, opts.Units, idents, ""); err != nil {
		return nil, err
	}
	switch {
	case opts.AfterCursor != "":
		if _, err := j.seekCursor(opts.AfterCursor, false); err != nil {
			return nil, fmt.Errorf("seek cursor %q: %w", opts.AfterCursor, err)
		}
	case opts.Start == StartTail:
		// Stand on the newest entry, then continue after it.
		_, ok, err := j.last()
		if err != nil {
			return nil, fmt.Errorf("seek tail: %w", err)
		}
		if !ok {
			if err := j.seekHead(); err != nil {
				return nil, fmt.Errorf("seek head: %w", err)
			}
			break
		}
		c, err := j.cursor()
		if err != nil {
			return nil, fmt.Errorf("cursor of the newest entry: %w", err)
		}
		if _, err := j.seekCursor(c, false); err != nil {
			return nil, fmt.Errorf("seek cursor %q: %w", c, err)
		}
	case opts.Start == StartSince:
		if err := j.seekRealtime(opts.Since); err != nil {
			return nil, fmt.Errorf("seek time %s: %w", opts.Since.Format(time.RFC3339Nano), err)
		}
	default:
		if err := j.seekHead(); err != nil {
			return nil, fmt.Errorf("seek head: %w", err)
		}
	}
	return gap, nil
}

// jkey is what orders two entries: sd-journal compares entries of one
// sequence number ID by sequence number, else of one boot by monotonic
// time, else by realtime, then by the XOR hash.
type jkey struct {
	seqnumID [16]byte
	seqnum   uint64
	boot     [16]byte
	mono     uint64
	realtime uint64
	xor      uint64
}

func (a *jkey) cmp(b *jkey) int {
	if a.seqnumID == b.seqnumID {
		if c := cmp.Compare(a.seqnum, b.seqnum); c != 0 {
			return c
		}
	}
	if a.boot == b.boot {
		if c := cmp.Compare(a.mono, b.mono); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.realtime, b.realtime); c != 0 {
		return c
	}
	return cmp.Compare(a.xor, b.xor)
}

// parseCursor reads the fields of a cursor that order entries; ok is false
// for a cursor without sequence number ID, sequence number and realtime.
func parseCursor(c string) (k jkey, ok bool) {
	var have int
	for len(c) > 0 {
		var part string
		part, c, _ = strings.Cut(c, ";")
		name, v, found := strings.Cut(part, "=")
		if !found {
			return k, false
		}
		switch name {
		case "s", "b":
			id, err := hex.DecodeString(v)
			if err != nil || len(id) != 16 {
				return k, false
			}
			if name == "s" {
				copy(k.seqnumID[:], id)
				have |= 1
			} else {
				copy(k.boot[:], id)
			}
		case "i", "m", "t", "x":
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return k, false
			}
			switch name {
			case "i":
				k.seqnum = n
				have |= 2
			case "m":
				k.mono = n
			case "t":
				k.realtime = n
				have |= 4
			case "x":
				k.xor = n
			}
		}
	}
	return k, have == 7
}

// lostBetween counts the entries strictly between two cursors by their
// sequence numbers, or returns -1 when they have different sequence number
// IDs (or cannot be parsed).
func lostBetween(a, b string) int64 {
	ka, oka := parseCursor(a)
	kb, okb := parseCursor(b)
	if !oka || !okb || ka.seqnumID != kb.seqnumID || kb.seqnum <= ka.seqnum {
		return -1
	}
	return int64(kb.seqnum - ka.seqnum - 1)
}
