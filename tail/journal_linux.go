//go:build linux && cgo

package tail

/*
#cgo LDFLAGS: -lsystemd
#include <systemd/sd-journal.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Fields cf_read copies out of each entry.
enum { CF_MESSAGE, CF_PRIORITY, CF_UNIT, CF_IDENT, CF_TARGET, CF_PID, CF_HOST, CF_BOOT, CF_CURSOR, CF_NFIELDS };

typedef struct {
	uint64_t realtime;
	uint32_t present;          // bit i: field i was found
	uint32_t off[CF_NFIELDS];  // value offsets into cf_reader.buf
	uint32_t len[CF_NFIELDS];  // value lengths
} cf_meta;

typedef struct {
	sd_journal *j;
	char *buf;
	size_t cap, used;
	cf_meta *meta;
	int metacap;
	size_t maxfield;
	int pending;               // the current entry has not been returned yet
	int state;                 // after cf_read: CF_MORE, CF_STOPPED or CF_END
} cf_reader;

enum { CF_MORE, CF_STOPPED, CF_END };

// Stop filling a batch once this many bytes are used.
#define CF_SOFT_BYTES (1u << 20)

static int cf_reserve(cf_reader *r, size_t n) {
	if (r->used + n <= r->cap) return 0;
	size_t c = r->cap ? r->cap : CF_SOFT_BYTES;
	while (c < r->used + n) c *= 2;
	if (c > UINT32_MAX) return -E2BIG;
	char *b = realloc(r->buf, c);
	if (!b) return -ENOMEM;
	r->buf = b;
	r->cap = c;
	return 0;
}

static int cf_put(cf_reader *r, cf_meta *m, int f, const char *v, size_t l) {
	int e = cf_reserve(r, l);
	if (e < 0) return e;
	memcpy(r->buf + r->used, v, l);
	m->off[f] = (uint32_t)r->used;
	m->len[f] = (uint32_t)l;
	m->present |= 1u << f;
	r->used += l;
	return 0;
}

// cf_field classifies a "NAME=value" datum; it returns the field index or
// -1 and sets *skip to the length of "NAME=".
static inline int cf_field(const char *d, size_t l, size_t *skip) {
	switch (d[0]) {
	case 'M':
		if (l >= 8 && memcmp(d, "MESSAGE=", 8) == 0) { *skip = 8; return CF_MESSAGE; }
		break;
	case 'P':
		if (l >= 9 && memcmp(d, "PRIORITY=", 9) == 0) { *skip = 9; return CF_PRIORITY; }
		break;
	case 'S':
		if (l >= 18 && memcmp(d, "SYSLOG_IDENTIFIER=", 18) == 0) { *skip = 18; return CF_IDENT; }
		break;
	case 'T':
		if (l >= 7 && memcmp(d, "TARGET=", 7) == 0) { *skip = 7; return CF_TARGET; }
		break;
	case '_':
		if (l < 5) break;
		switch (d[1]) {
		case 'S':
			if (l >= 14 && memcmp(d, "_SYSTEMD_UNIT=", 14) == 0) { *skip = 14; return CF_UNIT; }
			break;
		case 'P':
			if (memcmp(d, "_PID=", 5) == 0) { *skip = 5; return CF_PID; }
			break;
		case 'H':
			if (l >= 10 && memcmp(d, "_HOSTNAME=", 10) == 0) { *skip = 10; return CF_HOST; }
			break;
		case 'B':
			if (l >= 9 && memcmp(d, "_BOOT_ID=", 9) == 0) { *skip = 9; return CF_BOOT; }
			break;
		}
		break;
	}
	return -1;
}

// cf_entry copies the current entry's fields into the batch; it returns 1
// when the entry has a MESSAGE, 0 when it has none, or a negative errno.
static int cf_entry(cf_reader *r, cf_meta *m, int cursors) {
	const void *data;
	size_t l;
	int e;
	m->present = 0;
	e = sd_journal_get_realtime_usec(r->j, &m->realtime);
	if (e < 0) return e;
	sd_journal_restart_data(r->j);
	while ((e = sd_journal_enumerate_available_data(r->j, &data, &l)) > 0) {
		size_t skip;
		int f = cf_field(data, l, &skip);
		if (f < 0 || (m->present & (1u << f))) continue;
		if (l > r->maxfield) l = r->maxfield;
		e = cf_put(r, m, f, (const char *)data + skip, l - skip);
		if (e < 0) return e;
	}
	if (e < 0) return e;
	if (!(m->present & (1u << CF_MESSAGE))) return 0;
	if (!(m->present & (1u << CF_BOOT))) {
		uint64_t mono;
		sd_id128_t boot;
		char s[SD_ID128_STRING_MAX];
		if (sd_journal_get_monotonic_usec(r->j, &mono, &boot) >= 0) {
			sd_id128_to_string(boot, s);
			e = cf_put(r, m, CF_BOOT, s, 32);
			if (e < 0) return e;
		}
	}
	if (cursors) {
		char *c = NULL;
		e = sd_journal_get_cursor(r->j, &c);
		if (e < 0) return e;
		e = cf_put(r, m, CF_CURSOR, c, strlen(c));
		free(c);
		if (e < 0) return e;
	}
	return 1;
}

// cf_next moves to the next entry, or leaves a pending entry current; it
// returns 1, 0 at the end, or a negative errno.
static int cf_next(cf_reader *r) {
	if (r->pending) {
		r->pending = 0;
		return 1;
	}
	return sd_journal_next(r->j);
}

// cf_read fills the batch with up to max entries that have a MESSAGE,
// stopping early once CF_SOFT_BYTES are used. It stops before the first
// entry whose realtime is >= stop (0: no limit) and leaves that entry
// pending. It returns the number of entries, with r->state telling whether
// there are more, the stop entry was reached or the journal ended, or a
// negative errno when no entry could be read.
static int cf_read(cf_reader *r, int max, int cursors, uint64_t stop) {
	int n = 0, scanned = 0, e;
	r->used = 0;
	r->state = CF_MORE;
	if (max > r->metacap) {
		cf_meta *m = realloc(r->meta, sizeof(cf_meta) * (size_t)max);
		if (!m) return -ENOMEM;
		r->meta = m;
		r->metacap = max;
	}
	while (n < max && r->used < CF_SOFT_BYTES && scanned < 4 * max) {
		e = cf_next(r);
		if (e < 0) return n > 0 ? n : e;
		if (e == 0) {
			r->state = CF_END;
			break;
		}
		if (stop) {
			uint64_t t;
			e = sd_journal_get_realtime_usec(r->j, &t);
			if (e < 0) return n > 0 ? n : e;
			if (t >= stop) {
				r->pending = 1;
				r->state = CF_STOPPED;
				break;
			}
		}
		scanned++;
		e = cf_entry(r, &r->meta[n], cursors);
		if (e < 0) return n > 0 ? n : e;
		n += e;
	}
	return n;
}

// cf_peek makes the next entry current and pending and returns 1 with its
// realtime, 0 at the end, or a negative errno.
static int cf_peek(cf_reader *r, uint64_t *t) {
	int e = cf_next(r);
	if (e <= 0) return e;
	r->pending = 1;
	e = sd_journal_get_realtime_usec(r->j, t);
	return e < 0 ? e : 1;
}

// cf_seek_cursor positions on the cursor's entry. The next cf_read starts
// after it, or with it when inclusive is set; when that entry is gone, it
// starts with the entry after its position. It returns 0, or 1 when the
// cursor's entry is gone.
static int cf_seek_cursor(cf_reader *r, const char *c, int inclusive) {
	int e = sd_journal_seek_cursor(r->j, c);
	if (e < 0) return e;
	r->pending = 0;
	e = sd_journal_next(r->j);
	if (e <= 0) return e;
	e = sd_journal_test_cursor(r->j, c);
	if (e < 0) return e;
	r->pending = (e == 0) || inclusive;
	return e == 0;
}

// cf_last_realtime returns the realtime of the last entry matching the
// current matches, 0 when there is none, or a negative errno. It moves the
// position: seek again before reading.
static int64_t cf_last_realtime(cf_reader *r) {
	uint64_t t;
	int e;
	r->pending = 0;
	e = sd_journal_seek_tail(r->j);
	if (e < 0) return e;
	e = sd_journal_previous(r->j);
	if (e <= 0) return e;
	e = sd_journal_get_realtime_usec(r->j, &t);
	if (e < 0) return e;
	return (int64_t)t;
}

static int cf_open(cf_reader *r, const char *dir, const char **files, size_t maxfield) {
	int e;
	memset(r, 0, sizeof *r);
	if (dir) e = sd_journal_open_directory(&r->j, dir, 0);
	else if (files) e = sd_journal_open_files(&r->j, files, 0);
	else e = sd_journal_open(&r->j, SD_JOURNAL_LOCAL_ONLY);
	if (e < 0) return e;
	r->maxfield = maxfield;
	return sd_journal_set_data_threshold(r->j, maxfield);
}

static void cf_close(cf_reader *r) {
	if (r->j) sd_journal_close(r->j);
	free(r->buf);
	free(r->meta);
	memset(r, 0, sizeof *r);
}

// cf_first_realtime returns the realtime of the first entry matching the
// current matches, 0 when there is none, or a negative errno.
static int64_t cf_first_realtime(sd_journal *j) {
	uint64_t t;
	int e = sd_journal_seek_head(j);
	if (e < 0) return e;
	e = sd_journal_next(j);
	if (e <= 0) return e;
	e = sd_journal_get_realtime_usec(j, &t);
	if (e < 0) return e;
	return (int64_t)t;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/centra-cloud/cflogd/record"
)

func openSDJournal(opts *Options) (journal, error) {
	r := &sdJournal{intern: make(interner), isLocal: opts.Directory == "" && len(opts.Files) == 0}
	var cdir *C.char
	var cfiles **C.char
	what := "local journal"
	switch {
	case opts.Directory != "":
		what = "journal directory " + opts.Directory
		if _, err := os.Stat(opts.Directory); err != nil {
			return nil, fmt.Errorf("open %s: %w", what, err)
		}
		cdir = C.CString(opts.Directory)
		defer C.free(unsafe.Pointer(cdir))
	case len(opts.Files) > 0:
		what = "journal files " + strings.Join(opts.Files, ", ")
		arr := (**C.char)(C.calloc(C.size_t(len(opts.Files)+1), C.size_t(unsafe.Sizeof(cdir))))
		defer C.free(unsafe.Pointer(arr))
		s := unsafe.Slice(arr, len(opts.Files)+1)
		for i, f := range opts.Files {
			s[i] = C.CString(f)
			defer C.free(unsafe.Pointer(s[i]))
		}
		cfiles = arr
	}
	if e := C.cf_open(&r.r, cdir, cfiles, C.size_t(MaxFieldSize)); e < 0 {
		C.cf_close(&r.r)
		return nil, fmt.Errorf("open %s: %w", what, syscall.Errno(-e))
	}
	return r, nil
}

// sdJournal is the sd-journal implementation of journal.
type sdJournal struct {
	r       C.cf_reader
	isLocal bool
	// intern holds the strings of short, repetitive fields (host, unit,
	// identifier, target, boot ID) so that each costs no allocation.
	intern interner
}

func errno(e C.int) error {
	if e < 0 {
		return syscall.Errno(-e)
	}
	return nil
}

func (j *sdJournal) addMatch(m string) error {
	p := C.CString(m)
	defer C.free(unsafe.Pointer(p))
	return errno(C.sd_journal_add_match(j.r.j, unsafe.Pointer(p), C.size_t(len(m))))
}

func (j *sdJournal) addDisjunction() error { return errno(C.sd_journal_add_disjunction(j.r.j)) }
func (j *sdJournal) addConjunction() error { return errno(C.sd_journal_add_conjunction(j.r.j)) }
func (j *sdJournal) flushMatches()         { C.sd_journal_flush_matches(j.r.j) }
func (j *sdJournal) local() bool           { return j.isLocal }
func (j *sdJournal) close()                { C.cf_close(&j.r) }

func (j *sdJournal) seekHead() error {
	j.r.pending = 0
	return errno(C.sd_journal_seek_head(j.r.j))
}

func (j *sdJournal) seekRealtime(t time.Time) error {
	j.r.pending = 0
	us := t.UnixMicro()
	if us < 0 {
		us = 0
	}
	return errno(C.sd_journal_seek_realtime_usec(j.r.j, C.uint64_t(us)))
}

func (j *sdJournal) seekCursor(c string, inclusive bool) (bool, error) {
	p := C.CString(c)
	defer C.free(unsafe.Pointer(p))
	inc := C.int(0)
	if inclusive {
		inc = 1
	}
	e := C.cf_seek_cursor(&j.r, p, inc)
	return e == 1, errno(e)
}

func (j *sdJournal) peek() (time.Time, bool, error) {
	var t C.uint64_t
	e := C.cf_peek(&j.r, &t)
	if e <= 0 {
		return time.Time{}, false, errno(e)
	}
	return time.UnixMicro(int64(t)), true, nil
}

func (j *sdJournal) cursor() (string, error) {
	var c *C.char
	if e := C.sd_journal_get_cursor(j.r.j, &c); e < 0 {
		return "", syscall.Errno(-e)
	}
	defer C.free(unsafe.Pointer(c))
	return C.GoString(c), nil
}

func (j *sdJournal) last() (time.Time, bool, error) {
	t := C.cf_last_realtime(&j.r)
	if t <= 0 {
		return time.Time{}, false, errno(C.int(t))
	}
	return time.UnixMicro(int64(t)), true, nil
}

func (j *sdJournal) boots() ([]bootInfo, error) {
	field := C.CString("_BOOT_ID")
	defer C.free(unsafe.Pointer(field))
	if e := C.sd_journal_query_unique(j.r.j, field); e < 0 {
		return nil, fmt.Errorf("query unique _BOOT_ID: %w", syscall.Errno(-e))
	}
	var ids []string
	var data unsafe.Pointer
	var l C.size_t
	for {
		e := C.sd_journal_enumerate_available_unique(j.r.j, &data, &l)
		if e < 0 {
			return nil, fmt.Errorf("enumerate _BOOT_ID: %w", syscall.Errno(-e))
		}
		if e == 0 {
			break
		}
		v := C.GoStringN((*C.char)(data), C.int(l))
		if id, ok := strings.CutPrefix(v, "_BOOT_ID="); ok {
			ids = append(ids, id)
		}
	}
	defer j.flushMatches()
	var out []bootInfo
	for _, id := range ids {
		j.flushMatches()
		if err := j.addMatch("_BOOT_ID=" + id); err != nil {
			return nil, fmt.Errorf("add boot match %q: %w", id, err)
		}
		t := C.cf_first_realtime(j.r.j)
		if t < 0 {
			return nil, fmt.Errorf("find first entry of boot %s: %w", id, syscall.Errno(-t))
		}
		if t > 0 {
			out = append(out, bootInfo{ID: id, First: time.UnixMicro(int64(t))})
		}
	}
	return out, nil
}

func (j *sdJournal) read(dst []record.Entry, cursors bool, stop time.Time) (int, readState, error) {
	cur := C.int(0)
	if cursors {
		cur = 1
	}
	var st C.uint64_t
	if !stop.IsZero() {
		st = C.uint64_t(max(stop.UnixMicro(), 1))
	}
	n := C.cf_read(&j.r, C.int(len(dst)), cur, st)
	if n < 0 {
		return 0, 0, syscall.Errno(-n)
	}
	state := readMore
	switch j.r.state {
	case C.CF_STOPPED:
		state = readStopped
	case C.CF_END:
		state = readEnd
	}
	if n == 0 {
		return 0, state, nil
	}
	metas := unsafe.Slice(j.r.meta, int(n))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(j.r.buf)), int(j.r.used))
	for i := range metas {
		m := &metas[i]
		field := func(f int) []byte {
			if m.present&(1<<f) == 0 {
				return nil
			}
			o := uint32(m.off[f])
			return buf[o : o+uint32(m.len[f])]
		}
		e := &dst[i]
		e.Time = time.UnixMicro(int64(m.realtime))
		msg, cursor := field(C.CF_MESSAGE), field(C.CF_CURSOR)
		// One allocation holds MESSAGE and the cursor.
		if len(msg)+len(cursor) > 0 {
			b := make([]byte, len(msg)+len(cursor))
			copy(b, msg)
			copy(b[len(msg):], cursor)
			s := unsafe.String(&b[0], len(b))
			e.Message, e.Cursor = s[:len(msg)], s[len(msg):]
		}
		e.Host = j.intern.get(field(C.CF_HOST))
		e.Unit = j.intern.get(field(C.CF_UNIT))
		e.Identifier = j.intern.get(field(C.CF_IDENT))
		e.Target = j.intern.get(field(C.CF_TARGET))
		e.BootID = j.intern.get(field(C.CF_BOOT))
		e.Priority = record.NoPriority
		if p := field(C.CF_PRIORITY); len(p) == 1 && '0' <= p[0] && p[0] <= '7' {
			e.Priority = int(p[0] - '0')
		}
		e.PID = atoi(field(C.CF_PID))
	}
	return int(n), state, nil
}
