//go:build linux && cgo

package tail

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/centra-cloud/cflogd/record"
)

// nativeJournal follows journal files by reading their format directly
// (jfile_linux.go) instead of through sd-journal, which costs about 2.5 µs
// per entry in object lookups (BENCHMARKS.md). It is an accelerator, not
// a second source of truth: the sd-journal handle it embeds still opens
// the journal and answers every seek, peek, cursor and boot query, so
// where following starts and what counts as a gap are sd-journal's
// decisions. Only read and wait are native: the first read places every
// file at the entry sd-journal would read next (or replays the last seek
// when it has none), then entries come from the files' entry arrays,
// merged in sd-journal's order, never behind the last one read, and
// filtered by the unit matches. wait watches the directories with
// inotify, as sd_journal_wait does, and lists them again when files come
// or go, at a rotation, and every second.
//
// Anything the native reader does not handle sends that entry, or the
// rest of the run, back to sd-journal: an entry with a compressed field
// is read through sd-journal by its cursor; a file it cannot read (an
// unknown format flag, a corrupt object, a fault on the mapping) makes it
// resume through sd-journal after the last entry it read, and says so
// through onFallback. Cursors are sd-journal's, byte for byte.
type nativeJournal struct {
	*sdJournal
	list       func() ([]string, error) // the journal file paths to read
	roots      []string                 // directories watched even while they hold no file
	onFallback func(error)

	// noCursor: the entries of this read get no cursor (read's cursors).
	noCursor bool

	files  []*jfile
	byNode map[fileNode]*jfile

	// The matches: entries whose _SYSTEMD_UNIT or SYSLOG_IDENTIFIER is in
	// these sets (any entry when both are empty).
	units, idents map[string]bool
	// about: the matches take the entries about the units too (the
	// lifecycle terms of addMatches); decode applies aboutUnit with the
	// units of sdJournal.sel.
	about bool
	// xs collects the slots of the entry being decoded that hold an event
	// field or a wanted journal field.
	xs []dataSlot

	seek   seekOp
	synced bool
	viaSD  bool // reading through sd-journal from now on
	// syncSeek and syncAt are where sync positioned the files; a file found
	// later is positioned the same way until an entry was read.
	syncSeek seekOp
	syncAt   jkey
	// lastKey is the key of the last entry read natively (haveLast), of a
	// file whose cursors begin with lastPrefix. Reading never goes back
	// behind it: as in sd-journal, an entry that sorts at or before it (a
	// copy journald made when it flushed /run to /var, or older entries in
	// a file found late) is skipped.
	lastKey    jkey
	lastPrefix string
	haveLast   bool
	// matchOps replays the matches ("" for a disjunction) after
	// readOneViaSD read without them.
	matchOps []string
	// fixedPaths (Files): a path whose file was opened once is not opened
	// again when another file takes its name.
	fixedPaths  bool
	openedPaths map[string]bool

	lastScan time.Time
	buf      []byte

	// inotify watches the directories of the files (-1: none, wait polls).
	inotify int
	watched map[string]bool
	rescan  bool // a watched directory had files added, removed or renamed
}

type fileNode struct{ dev, ino uint64 }

// seekOp is the last seek, replayed on the files by the first read.
type seekOp struct {
	kind      seekKind
	t         time.Time
	cursor    string
	inclusive bool
}

type seekKind int

const (
	seekHead seekKind = iota
	seekRealtime
	seekCursor
)

// How often wait looks at the files' headers for new entries when it has
// no inotify instance, and how often it lists the directories for new
// files in any case.
const (
	nativePoll     = 50 * time.Millisecond
	nativeRescan   = time.Second
	nativeMaxSkips = 4 // a read scans at most this many entries per slot of dst
)

// errNativeFault is a fault on a journal mapping (the file was cut short).
var errNativeFault = errors.New("fault reading a mapped journal file")

func newNativeJournal(sd *sdJournal, opts *FollowOptions) (*nativeJournal, error) {
	list, roots, err := journalLister(opts)
	if err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		fd = -1 // out of inotify instances: wait polls the files instead
	}
	return &nativeJournal{
		sdJournal:   sd,
		list:        list,
		roots:       roots,
		onFallback:  opts.OnFallback,
		byNode:      make(map[fileNode]*jfile),
		units:       make(map[string]bool),
		idents:      make(map[string]bool),
		inotify:     fd,
		watched:     make(map[string]bool),
		fixedPaths:  len(opts.Files) > 0,
		openedPaths: make(map[string]bool),
	}, nil
}

// journalLister returns what lists the journal files of opts the way
// sd-journal finds them: the named files; a directory's *.journal and
// *.journal~ files and those of its machine-ID subdirectories; or the
// local machine's runtime and system journals.
func journalLister(opts *FollowOptions) (list func() ([]string, error), roots []string, err error) {
	switch {
	case len(opts.Files) > 0:
		files := append([]string(nil), opts.Files...)
		return func() ([]string, error) {
			var out []string
			for _, f := range files {
				if _, err := os.Stat(f); err == nil {
					out = append(out, f)
				}
			}
			return out, nil
		}, nil, nil
	case opts.Directory != "":
		dirs := []string{opts.Directory}
		return func() ([]string, error) { return listJournalDirs(dirs, true, false) }, dirs, nil
	}
	id := localMachineID()
	if id == "" {
		return nil, nil, fmt.Errorf("no machine ID in %s", machineIDFile)
	}
	dirs := []string{filepath.Join("/run/log/journal", id), filepath.Join("/var/log/journal", id)}
	return func() ([]string, error) { return listJournalDirs(dirs, false, true) }, dirs, nil
}

// listJournalDirs lists the journal files of dirs as CheckAccess does
// (Access.listDir); the error is that of one of dirs that could not be
// listed (a subdirectory that cannot be is skipped).
func listJournalDirs(dirs []string, machineDirs, optional bool) ([]string, error) {
	var a Access
	for _, d := range dirs {
		a.listDir(d, machineDirs, optional)
	}
	for _, u := range a.Unreadable {
		if slices.Contains(dirs, u.Path) {
			return nil, &fs.PathError{Op: "open", Path: u.Path, Err: u.Err}
		}
	}
	return a.Files, nil
}

func (j *nativeJournal) addMatch(m string) error {
	if err := j.sdJournal.addMatch(m); err != nil {
		return err
	}
	j.clearSlots()
	j.matchOps = append(j.matchOps, m)
	switch name, v, _ := strings.Cut(m, "="); name {
	case "_SYSTEMD_UNIT":
		j.units[v] = true
	case "SYSLOG_IDENTIFIER":
		j.idents[v] = true
	default:
		// The terms of the entries about the units (_PID, UNIT, ...; the
		// only other matches addMatches adds without a boot, and the
		// native reader reads no boot): decode applies aboutUnit to the
		// units of the selection instead.
		j.about = true
	}
	return nil
}

func (j *nativeJournal) addDisjunction() error {
	j.matchOps = append(j.matchOps, "")
	return j.sdJournal.addDisjunction()
}

func (j *nativeJournal) seekHead() error {
	j.setSeek(seekOp{kind: seekHead})
	return j.sdJournal.seekHead()
}

func (j *nativeJournal) seekRealtime(t time.Time) error {
	j.setSeek(seekOp{kind: seekRealtime, t: t})
	return j.sdJournal.seekRealtime(t)
}

func (j *nativeJournal) seekCursor(c string, inclusive bool) (bool, error) {
	j.setSeek(seekOp{kind: seekCursor, cursor: c, inclusive: inclusive})
	return j.sdJournal.seekCursor(c, inclusive)
}

func (j *nativeJournal) setSeek(s seekOp) {
	j.seek, j.synced, j.haveLast = s, false, false
}

func (j *nativeJournal) close() {
	for _, f := range j.files {
		f.close()
	}
	j.files = nil
	clear(j.byNode)
	if j.inotify >= 0 {
		unix.Close(j.inotify)
		j.inotify = -1
	}
	j.sdJournal.close()
}

// fallback makes every later read and wait go through sd-journal,
// positioned after the last entry read natively.
func (j *nativeJournal) fallback(cause error) error {
	if j.viaSD {
		return nil
	}
	j.viaSD = true
	if j.onFallback != nil {
		j.onFallback(cause)
	}
	j.sdJournal.wait(0) // let sd-journal see files added since it opened
	switch {
	case j.haveLast:
		_, err := j.sdJournal.seekCursor(string(appendCursor(nil, j.lastPrefix, &j.lastKey)), false)
		return err
	case j.seek.kind == seekHead:
		return j.sdJournal.seekHead()
	case j.seek.kind == seekRealtime:
		return j.sdJournal.seekRealtime(j.seek.t)
	default: // seekCursor
		_, err := j.sdJournal.seekCursor(j.seek.cursor, j.seek.inclusive)
		return err
	}
}

func (j *nativeJournal) read(dst []record.Entry, cursors bool, stop time.Time) (int, readState, error) {
	if j.viaSD {
		return j.sdJournal.read(dst, cursors, stop)
	}
	j.noCursor = !cursors
	n, state, err := j.readNative(dst, stop)
	if err != nil {
		if ferr := j.fallback(err); ferr != nil {
			return n, readMore, fmt.Errorf("%v; then resuming through sd-journal: %w", err, ferr)
		}
		if n > 0 {
			return n, readMore, nil
		}
		return j.sdJournal.read(dst, cursors, stop)
	}
	return n, state, nil
}

// protect runs fn with a fault on a mapping (a journal file cut short
// under the reader, or an I/O error paging it in) turned into an error.
func protect(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if re, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("%w (address %#x)", errNativeFault, re.Addr())
				return
			}
			panic(r)
		}
	}()
	return fn()
}

// readNative reads entries from the files, with faults turned into
// errors. It stops before the first entry at or after stop (zero: none),
// as sdJournal.read does.
func (j *nativeJournal) readNative(dst []record.Entry, stop time.Time) (n int, state readState, err error) {
	state = readMore
	err = protect(func() error {
		for _, f := range j.files {
			f.release() // nothing read earlier points into the files any more
		}
		if !j.synced {
			if err := j.sync(); err != nil {
				return err
			}
		}
		for scanned := 0; n < len(dst) && scanned < nativeMaxSkips*len(dst); scanned++ {
			f, err := j.nextFile()
			if err != nil {
				return err
			}
			if f == nil {
				state = readEnd
				return nil
			}
			key, off := f.next, f.nextOff
			if j.haveLast && key.cmp(&j.lastKey) <= 0 {
				f.k++
				f.nextOK = false
				continue
			}
			past := !stop.IsZero() && int64(key.realtime) >= stop.UnixMicro()
			e := &dst[n]
			ok, viaSD, stopped, err := j.decode(f, off, &key, e, past)
			if err != nil {
				return err
			}
			if stopped {
				state = readStopped // the stop entry stays next
				return nil
			}
			f.k++
			f.nextOK = false
			if viaSD {
				if ok, err = j.readOneViaSD(e); err != nil {
					return err
				}
				if j.noCursor {
					e.Cursor = ""
				}
			}
			j.lastKey, j.lastPrefix, j.haveLast = key, f.cursorPrefix, true
			if ok {
				n++
			}
		}
		return nil
	})
	return n, state, err
}

// readOneViaSD reads the entry whose cursor e holds through sd-journal: it
// has a compressed field. It reads without the matches (journald links a
// new entry to its fields' DATA objects, which sd-journal's matches
// search, only after it counted it) and applies them itself. ok is false
// when the entry has no MESSAGE or does not match; an entry sd-journal
// does not find is an error.
func (j *nativeJournal) readOneViaSD(e *record.Entry) (ok bool, err error) {
	c := e.Cursor
	j.sdJournal.wait(0) // let sd-journal see files added since it last looked
	j.sdJournal.flushMatches()
	defer func() {
		for _, m := range j.matchOps {
			var merr error
			if m == "" {
				merr = j.sdJournal.addDisjunction()
			} else {
				merr = j.sdJournal.addMatch(m)
			}
			if merr != nil && err == nil {
				ok, err = false, fmt.Errorf("restore match %q: %w", m, merr)
			}
		}
	}()
	gone, err := j.sdJournal.seekCursor(c, true)
	if err != nil {
		return false, fmt.Errorf("seek %q through sd-journal: %w", c, err)
	}
	if gone {
		return false, fmt.Errorf("entry %s with a compressed field: not found through sd-journal", c)
	}
	n, _, err := j.sdJournal.read(unsafe.Slice(e, 1), true, time.Time{})
	if err != nil {
		return false, fmt.Errorf("read %q through sd-journal: %w", c, err)
	}
	// sdJournal.read kept only what the unit matches take.
	if n == 1 && e.Cursor == c {
		return true, nil
	}
	*e = record.Entry{}
	return false, nil
}

// nextFile returns the file whose next committed entry comes first in
// journal order, with that entry's key loaded; nil when none has one.
func (j *nativeJournal) nextFile() (*jfile, error) {
	var best *jfile
	for _, f := range j.files {
		if f.done {
			continue
		}
		ok, err := f.peekNext()
		if err != nil {
			return nil, err
		}
		if ok && (best == nil || f.next.cmp(&best.next) < 0) {
			best = f
		}
	}
	return best, nil
}

// sync opens the files and positions each where sd-journal stands: at the
// entry sd-journal would read next, so that where reading starts is its
// decision (a cursor of other files, a time, a vacuumed entry). When
// sd-journal has no next entry, the last seek is replayed on the files.
func (j *nativeJournal) sync() error {
	if _, err := j.scan(); err != nil {
		return err
	}
	seek := j.seek
	_, ok, err := j.sdJournal.peek()
	if err != nil {
		return fmt.Errorf("peek through sd-journal: %w", err)
	}
	if ok {
		c, err := j.sdJournal.cursor()
		if err != nil {
			return fmt.Errorf("cursor through sd-journal: %w", err)
		}
		seek = seekOp{kind: seekCursor, cursor: c, inclusive: true}
	}
	var at jkey
	if seek.kind == seekCursor {
		if at, ok = parseCursor(seek.cursor); !ok {
			return fmt.Errorf("cursor %q: not one the native reader can place", seek.cursor)
		}
	}
	for _, f := range j.files {
		if err := position(f, seek, at); err != nil {
			return err
		}
	}
	j.syncSeek, j.syncAt = seek, at
	j.synced = true
	return nil
}

// position sets a file's next entry as seek says (at is the parsed cursor
// of a cursor seek).
func position(f *jfile, seek seekOp, at jkey) error {
	f.nextOK = false
	var err error
	switch seek.kind {
	case seekHead:
		f.k = 0
	case seekRealtime:
		us := uint64(max(seek.t.UnixMicro(), 0))
		f.k, err = f.search(func(k *jkey) bool { return k.realtime >= us })
	case seekCursor:
		incl := seek.inclusive
		f.k, err = f.search(func(k *jkey) bool {
			c := k.cmp(&at)
			return c > 0 || (incl && c == 0)
		})
	}
	return err
}

// scan lists the journal files, opens new ones (read from their first
// entry once synced) and forgets those that are gone and read to the end.
// It reports whether the set of files changed.
func (j *nativeJournal) scan() (bool, error) {
	j.lastScan = time.Now()
	paths, err := j.list()
	if err != nil {
		return false, fmt.Errorf("list journal files: %w", err)
	}
	changed := false
	for _, d := range j.roots {
		j.watchDir(d)
	}
	for _, p := range paths {
		j.watchDir(filepath.Dir(p))
		if j.fixedPaths && j.openedPaths[p] {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			continue // removed since listed
		}
		node := fileNode{uint64(st.Dev), st.Ino}
		if f := j.byNode[node]; f != nil {
			f.path = p // renamed by rotation
			continue
		}
		f, err := openJFile(p)
		switch {
		case errors.Is(err, errUnsupported) && st.Size >= jhMinHeaderBytes:
			return false, err
		case err != nil:
			continue // being created, or unreadable: sd-journal skips it too
		}
		if j.synced {
			// A file found after sync: begin after the last entry read,
			// or where sync began when none was read yet.
			if j.haveLast {
				last := j.lastKey
				f.k, err = f.search(func(k *jkey) bool { return k.cmp(&last) > 0 })
			} else {
				err = position(f, j.syncSeek, j.syncAt)
			}
			if err != nil {
				f.close()
				return false, err
			}
		}
		j.files = append(j.files, f)
		j.byNode[node] = f
		if j.fixedPaths {
			j.openedPaths[p] = true
		}
		changed = true
	}
	kept := j.files[:0]
	for _, f := range j.files {
		// Deleted (not merely missing from one listing, as a file being
		// renamed can be): its last link is gone.
		var st syscall.Stat_t
		deleted := syscall.Fstat(int(f.f.Fd()), &st) == nil && st.Nlink == 0
		if (deleted || f.state() == jsArchived) && f.k >= f.nEntries() {
			// Archived or deleted, and read to the end: nothing more will
			// come. An archived file stays known (and mapped) while it is
			// there, so that it is not read again; its caches go.
			f.done = true
			f.slots, f.arrays = nil, nil
		}
		if deleted && f.done {
			delete(j.byNode, fileNode{uint64(st.Dev), st.Ino})
			f.close()
			changed = true
			continue
		}
		kept = append(kept, f)
	}
	clear(j.files[len(kept):])
	j.files = kept
	return changed, nil
}

func (j *nativeJournal) wait(timeout time.Duration) (waitResult, error) {
	if j.viaSD || !j.synced {
		return j.sdJournal.wait(timeout)
	}
	deadline := time.Now().Add(timeout)
	for {
		r, err := j.changed()
		if err != nil {
			if ferr := j.fallback(err); ferr != nil {
				return waitNop, ferr
			}
			return waitInvalidate, nil
		}
		if r != waitNop {
			return r, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return waitNop, nil
		}
		j.sleep(min(left, time.Until(j.lastScan.Add(nativeRescan))))
	}
}

// changed reports whether a file has entries not read yet (waitAppend) or
// the set of files changed (waitInvalidate); it lists the files again
// every nativeRescan, and at once when a file was archived (rotation).
func (j *nativeJournal) changed() (r waitResult, err error) {
	err = protect(func() error {
		rotated := false
		for _, f := range j.files {
			if f.done {
				continue
			}
			if f.k < f.nEntries() {
				r = waitAppend
				return nil
			}
			rotated = rotated || f.state() == jsArchived
		}
		if !rotated && !j.rescan && time.Since(j.lastScan) < nativeRescan {
			return nil
		}
		j.rescan = false
		// Keep sd-journal's view of the files current too: it reads
		// entries with compressed fields and takes over on a fallback.
		j.sdJournal.wait(0)
		changed, err := j.scan()
		if changed {
			r = waitInvalidate
		}
		return err
	})
	return r, err
}

// sleep waits up to d for a change in a watched directory (inotify: the
// writers of journal files post IN_MODIFY after appending, as sd-journal
// relies on), or polls every nativePoll without inotify.
func (j *nativeJournal) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	if j.inotify < 0 {
		time.Sleep(min(d, nativePoll))
		return
	}
	fds := []unix.PollFd{{Fd: int32(j.inotify), Events: unix.POLLIN}}
	ms := int((d + time.Millisecond - 1) / time.Millisecond)
	if n, err := unix.Poll(fds, ms); err != nil || n == 0 {
		return
	}
	// Drain the events: what changed is read from the files themselves,
	// but a file added, removed or renamed makes the next check list them.
	var buf [4096]byte
	for {
		n, err := unix.Read(j.inotify, buf[:])
		if n <= 0 || err != nil {
			return
		}
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
			if ev.Mask&(unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO|unix.IN_Q_OVERFLOW) != 0 {
				j.rescan = true
			}
			b = b[min(len(b), unix.SizeofInotifyEvent+int(ev.Len)):]
		}
	}
}

// watchDir adds an inotify watch on a directory of journal files.
func (j *nativeJournal) watchDir(dir string) {
	if j.inotify < 0 || j.watched[dir] {
		return
	}
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_ONLYDIR
	if _, err := unix.InotifyAddWatch(j.inotify, dir, mask); err == nil {
		j.watched[dir] = true
	}
}

// nativeFields are the fields decode copies out, by their "NAME=" prefix.
var nativeFields = [...]struct {
	prefix string
	field  int
}{
	{"MESSAGE=", nfMessage},
	{"PRIORITY=", nfPriority},
	{"SYSLOG_IDENTIFIER=", nfIdent},
	{"TARGET=", nfTarget},
	{"_SYSTEMD_UNIT=", nfUnit},
	{"_PID=", nfPID},
	{"_HOSTNAME=", nfHost},
	{"_BOOT_ID=", nfBoot},
	{"_UID=", nfUID},
	{"_TRANSPORT=", nfTransport},
	{"_COMM=", nfComm},
	{"UNIT=", nfLUnit},
	{"MESSAGE_ID=", nfMessageID},
	{"COREDUMP_UNIT=", nfCoredumpUnit},
	{"OBJECT_SYSTEMD_UNIT=", nfObjectUnit},
}

// slotValueMax is the longest value a dataSlot holds; longer ones are
// read from the file when an entry needs them.
const slotValueMax = 256

// nativeField classifies a "NAME=value" payload: the field index, or -1,
// and the length of "NAME=". It runs only when a DATA object is not in
// its file's cache.
func nativeField(d []byte) (int, int) {
	for _, f := range nativeFields {
		if len(d) >= len(f.prefix) && string(d[:len(f.prefix)]) == f.prefix {
			return f.field, len(f.prefix)
		}
	}
	return -1, 0
}

// dataSlot caches what decode learnt from one DATA object of a file: the
// field it holds and, for the short repetitive fields, the value, so that
// the objects an entry shares with earlier ones (host, unit, PID,
// executable, and so on) are not read again. DATA objects never change
// once written, so a slot stays true for its file.
type dataSlot struct {
	off   uint64
	field int8 // nf*, or -1 for a field decode does not copy
	match bool // a unit or identifier in the match sets
	// ev: an event field (evName is its name, lower-cased); named: a
	// field of fieldSel.want (name is its journal name); long: the value
	// is longer than slotValueMax and not in val.
	ev, named, long bool
	name, evName    string
	val             string // host, unit, identifier, target, boot ID or the other fixed fields, interned; an event or named field's value
	num             int    // PID, or priority (NoPriority when not 0-7)
}

// dataSlots is the size of a file's DATA object cache (a power of two).
const dataSlots = 4096

// slot returns the cache slot of the DATA object at off, filled; compressed
// says that the object is compressed (and not cached).
func (j *nativeJournal) slot(f *jfile, off uint64) (s *dataSlot, compressed bool, err error) {
	if f.slots == nil {
		f.slots = make([]dataSlot, dataSlots)
	}
	s = &f.slots[(off>>3)&(dataSlots-1)]
	if s.off == off {
		return s, false, nil
	}
	p, compressed, err := f.payload(off)
	if err != nil || compressed {
		return nil, compressed, err
	}
	fi, skip := nativeField(p)
	*s = dataSlot{off: off, field: int8(fi)}
	if fi < 0 {
		j.classifyExtra(s, p)
		return s, false, nil
	}
	if fi == nfMessage {
		return s, false, nil
	}
	if len(p) > MaxFieldSize {
		p = p[:MaxFieldSize]
	}
	v := p[skip:]
	switch fi {
	case nfUnit:
		s.match = j.units[string(v)]
	case nfIdent:
		s.match = j.idents[string(v)]
	case nfPID:
		s.num, _ = num(v)
		return s, false, nil
	case nfPriority:
		s.num = record.NoPriority
		if len(v) == 1 && '0' <= v[0] && v[0] <= '7' {
			s.num = int(v[0] - '0')
		}
		return s, false, nil
	}
	s.val = j.intern.get(v)
	return s, false, nil
}

// classifyExtra marks a slot of a field decode does not copy as an event
// field or a wanted journal field, with its name and (short) value.
func (j *nativeJournal) classifyExtra(s *dataSlot, p []byte) {
	sel := j.sel
	eq := bytes.IndexByte(p, '=')
	if eq <= 0 {
		return
	}
	name := p[:eq]
	if sel.want[string(name)] {
		s.named, s.name = true, j.intern.get(name)
	}
	if ev, ok := sel.eventName(name); ok {
		j.buf = lowerName(j.buf[:0], ev)
		s.ev, s.evName = true, j.intern.get(j.buf)
	}
	if !s.named && !s.ev {
		return
	}
	if v := p[eq+1:]; len(v) <= slotValueMax {
		s.val = string(v)
	} else {
		s.long = true
	}
}

// slotValue returns the value of an event or named field's slot.
func slotValue(f *jfile, s *dataSlot) (string, error) {
	if !s.long {
		return s.val, nil
	}
	p, _, err := f.payload(s.off)
	if err != nil {
		return "", err
	}
	_, v, _ := bytes.Cut(p, []byte("="))
	return string(capValue(v)), nil
}

// clearSlots forgets every file's cache (the match sets changed).
func (j *nativeJournal) clearSlots() {
	for _, f := range j.files {
		clear(f.slots)
	}
}

// decode fills e from the ENTRY at off when it matches and has a MESSAGE
// (ok). viaSD says that it has a compressed field, so that only sd-journal
// can tell; e.Cursor is set then, and ok says whether a unit match was
// seen among the other fields. With past (the entry is at or after the
// stop time) it reports stop, filling nothing, when sd-journal's matches
// would take the entry: as sd-journal and journalctl, --until ends the
// read at the first such entry in journal order, not at another unit's.
func (j *nativeJournal) decode(f *jfile, off uint64, key *jkey, e *record.Entry, past bool) (ok, viaSD, stop bool, err error) {
	o, err := f.entry(off)
	if err != nil {
		return false, false, false, err
	}
	// Copies, not pointers: a later item may take the same slot.
	var got [nfCount]dataSlot
	var have uint32
	matched := len(j.units) == 0 && len(j.idents) == 0
	clear(j.xs)
	j.xs = j.xs[:0]
	nev := 0
	for i, n := 0, f.nItems(o); i < n; i++ {
		s, compressed, err := j.slot(f, f.item(o, i))
		if err != nil {
			return false, false, false, err
		}
		if compressed {
			viaSD = true
			continue
		}
		if s.field < 0 {
			if s.ev && nev < maxEntryFields || s.named {
				j.xs = append(j.xs, *s)
				if s.ev {
					nev++
				}
			}
			continue
		}
		matched = matched || s.match
		if have&(1<<s.field) == 0 {
			have |= 1 << s.field
			got[s.field] = *s
		}
	}
	if past && j.takes(matched, &got, have) {
		return false, false, true, nil
	}
	if viaSD {
		// ok reports whether the fields that were not compressed matched.
		j.buf = appendCursor(j.buf[:0], f.cursorPrefix, key)
		*e = record.Entry{Cursor: string(j.buf)}
		return matched, true, false, nil
	}
	if have&(1<<nfMessage) == 0 {
		return false, false, false, nil
	}
	about := ""
	if !matched {
		if !j.about {
			return false, false, false, nil
		}
		lc := lcFields{uid: got[nfUID].val, comm: got[nfComm].val, transport: got[nfTransport].val,
			unit: got[nfLUnit].val, objectUnit: got[nfObjectUnit].val, messageID: got[nfMessageID].val,
			coredumpUnit: got[nfCoredumpUnit].val, sysUnit: got[nfUnit].val}
		if have&(1<<nfPID) != 0 && got[nfPID].num == 1 {
			lc.pid = "1"
		}
		var m string
		if lc.transport == "kernel" { // only the kernel's lines need MESSAGE to tell
			p, _, err := f.payload(got[nfMessage].off)
			if err != nil {
				return false, false, false, err
			}
			m = unsafe.String(unsafe.SliceData(p), len(p))[len("MESSAGE="):]
		}
		if about = aboutUnit(&lc, m, j.sel.units, j.sel.idents); about == "" {
			return false, false, false, nil
		}
	}
	p, _, err := f.payload(got[nfMessage].off)
	if err != nil {
		return false, false, false, err
	}
	if len(p) > MaxFieldSize {
		p = p[:MaxFieldSize]
	}
	msg := p[len("MESSAGE="):]
	j.buf = j.buf[:0]
	if !j.noCursor {
		j.buf = appendCursor(j.buf, f.cursorPrefix, key)
	}
	*e = record.Entry{Time: time.UnixMicro(int64(key.realtime)), Priority: record.NoPriority}
	e.Message, e.Cursor = msgCursor(msg, j.buf)
	e.Host, e.Unit, e.Identifier, e.Target = got[nfHost].val, got[nfUnit].val, got[nfIdent].val, got[nfTarget].val
	if about != "" {
		e.Unit = about
	}
	if have&(1<<nfPriority) != 0 {
		e.Priority = got[nfPriority].num
	}
	e.PID = got[nfPID].num
	if have&(1<<nfBoot) != 0 {
		e.BootID = got[nfBoot].val
	} else {
		if key.boot != f.bootKey {
			f.bootKey = key.boot
			var h [32]byte
			hex.Encode(h[:], key.boot[:])
			f.bootHex = string(h[:])
		}
		e.BootID = f.bootHex
	}
	if len(j.xs) > 0 || about != "" || len(j.sel.own) > 0 {
		if err := j.extras(f, e, &got, have, about != ""); err != nil {
			return false, false, false, err
		}
	}
	return true, false, false, nil
}

// takes reports whether sd-journal's matches (addMatches) take an entry
// with these fields: its unit or identifier matched (matched, also true
// without matches), or one of the lifecycle terms holds.
func (j *nativeJournal) takes(matched bool, got *[nfCount]dataSlot, have uint32) bool {
	if matched || !j.about {
		return matched
	}
	watched := func(nf int) bool { return have&(1<<nf) != 0 && slices.Contains(j.sel.units, got[nf].val) }
	return got[nfTransport].val == "kernel" ||
		have&(1<<nfPID) != 0 && got[nfPID].num == 1 && watched(nfLUnit) ||
		got[nfMessageID].val == coredumpMessageID && watched(nfCoredumpUnit) ||
		got[nfUID].val == "0" && watched(nfObjectUnit)
}

// extras sets e.Fields and e.Journal from the collected slots (j.xs) and
// the fixed fields (see fieldSel.finish).
func (j *nativeJournal) extras(f *jfile, e *record.Entry, got *[nfCount]dataSlot, have uint32, about bool) error {
	if !about {
		n := 0
		for i := range j.xs {
			if j.xs[i].ev {
				n++
			}
		}
		if n > 0 {
			e.Fields = make([]record.Field, 0, n)
			for i := range j.xs {
				if s := &j.xs[i]; s.ev {
					v, err := slotValue(f, s)
					if err != nil {
						return err
					}
					e.Fields = append(e.Fields, record.Field{Name: s.evName, Value: v})
				}
			}
		}
	}
	names, fixed := j.sel.own, j.ownFixed
	if about {
		names, fixed = j.sel.about, j.aboutFixed
	}
	var ferr error
	e.Journal = journalOf(names, fixed, func(n string, fi int) (string, bool) {
		if fi >= 0 {
			if have&(1<<fi) == 0 {
				return "", false
			}
			p, _, err := f.payload(got[fi].off)
			if err != nil {
				ferr = err
				return "", false
			}
			return j.intern.get(capValue(p[len(n)+1:])), true
		}
		for i := range j.xs {
			if s := &j.xs[i]; s.named && s.name == n {
				v, err := slotValue(f, s)
				if err != nil {
					ferr = err
				}
				return v, err == nil
			}
		}
		return "", false
	})
	return ferr
}

// withNative wraps an sd-journal handle in the native reader, which then
// reads the files from where sd-journal is sought to; when the journal's
// files cannot be listed, it says why through opts.OnFallback and returns
// j as it is.
func withNative(j journal, opts *FollowOptions) journal {
	sd, ok := j.(*sdJournal)
	if !ok {
		return j
	}
	n, err := newNativeJournal(sd, opts)
	if err != nil {
		if opts.OnFallback != nil {
			opts.OnFallback(err)
		}
		return j
	}
	return n
}
