//go:build linux && cgo

package tail

/*
#cgo LDFLAGS: -lsystemd
#include <systemd/sd-journal.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Fields cf_read copies out of each entry: those cflogd uses, those that
// decide whether an entry is about a watched unit (tail.aboutUnit), and
// the cursor (the native reader numbers the others alike: nf*).
enum {
	CF_MESSAGE, CF_PRIORITY, CF_UNIT, CF_IDENT, CF_TARGET, CF_PID, CF_HOST, CF_BOOT,
	CF_UID, CF_TRANSPORT, CF_COMM, CF_LUNIT, CF_MSGID, CF_CDUNIT, CF_OBJUNIT, CF_CURSOR, CF_NFIELDS
};

typedef struct {
	uint64_t realtime;
	uint32_t present;          // bit i: field i was found
	uint32_t off[CF_NFIELDS];  // value offsets into cf_reader.buf
	uint32_t len[CF_NFIELDS];  // value lengths
	uint32_t xfirst, xn;       // the entry's extras in cf_reader.x
} cf_meta;

// An extra field: an event field (CF_X_EVENT: its name has the prefix, or
// no prefix is set and it is not a standard field) or a journal field
// asked for by name (CF_X_NAMED). The datum's name is at off in buf, its
// value (cut to maxvalue) at off+nlen+1.
enum { CF_X_EVENT, CF_X_NAMED };
typedef struct {
	uint32_t off, nlen, vlen;
	uint32_t kind;
} cf_extra;

#define CF_MAX_EVENT 256 // event fields kept per entry
#define CF_MAX_NAMED 64  // named fields kept per entry

typedef struct {
	sd_journal *j;
	char *buf;
	size_t cap, used;
	cf_meta *meta;
	int metacap;
	size_t maxfield;
	int pending;               // the current entry has not been returned yet
	int state;                 // after cf_read: CF_MORE, CF_STOPPED or CF_END
	cf_extra *x;               // the batch's extras
	size_t xcap, xused;
	// The selection: the event field prefix (or noprefix), the names of
	// other fields to copy (first[c]: some name starts with c), and
	// whether kernel entries other than OOM-killer lines are dropped.
	char *prefix;
	size_t prefixlen;
	int noprefix;
	char **names;
	size_t *namelens;
	int nnames;
	unsigned char first[256];
	size_t maxvalue;
	int oomonly;
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
		if (l >= 11 && memcmp(d, "MESSAGE_ID=", 11) == 0) { *skip = 11; return CF_MSGID; }
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
	case 'U':
		if (l >= 5 && memcmp(d, "UNIT=", 5) == 0) { *skip = 5; return CF_LUNIT; }
		break;
	case 'C':
		if (l >= 14 && memcmp(d, "COREDUMP_UNIT=", 14) == 0) { *skip = 14; return CF_CDUNIT; }
		break;
	case 'O':
		if (l >= 20 && memcmp(d, "OBJECT_SYSTEMD_UNIT=", 20) == 0) { *skip = 20; return CF_OBJUNIT; }
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
		case 'U':
			if (memcmp(d, "_UID=", 5) == 0) { *skip = 5; return CF_UID; }
			break;
		case 'T':
			if (l >= 11 && memcmp(d, "_TRANSPORT=", 11) == 0) { *skip = 11; return CF_TRANSPORT; }
			break;
		case 'C':
			if (l >= 6 && memcmp(d, "_COMM=", 6) == 0) { *skip = 6; return CF_COMM; }
			break;
		}
		break;
	}
	return -1;
}

// cf_standard reports whether the field name d[0:n] is one of journald's,
// systemd's or tracing-journald's own (see tail.standardField).
static int cf_standard(const char *d, size_t n) {
	static const char *const names[] = { "MESSAGE", "MESSAGE_ID", "PRIORITY", "TARGET", "TID",
		"ERRNO", "UNIT", "USER_UNIT", "INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION" };
	static const char *const prefixes[] = { "SYSLOG_", "CODE_", "SPAN_", "OBJECT_", "COREDUMP_" };
	size_t i;
	if (n == 0 || d[0] == '_') return 1;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && memcmp(d, names[i], n) == 0) return 1;
	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t pl = strlen(prefixes[i]);
		if (n >= pl && memcmp(d, prefixes[i], pl) == 0) return 1;
	}
	if (d[0] == 'S' && n > 2 && d[1] >= '0' && d[1] <= '9') {
		for (i = 1; i < n && d[i] >= '0' && d[i] <= '9'; i++) {}
		return i < n && d[i] == '_';
	}
	return 0;
}

// cf_add_extra copies the datum d (its name is nlen bytes) as an extra.
static int cf_add_extra(cf_reader *r, const char *d, size_t l, size_t nlen, uint32_t kind) {
	size_t vlen = l - nlen - 1;
	int e;
	if (vlen > r->maxvalue) vlen = r->maxvalue;
	if (r->xused == r->xcap) {
		size_t c = r->xcap ? 2 * r->xcap : 1024;
		cf_extra *x = realloc(r->x, sizeof(cf_extra) * c);
		if (!x) return -ENOMEM;
		r->x = x;
		r->xcap = c;
	}
	e = cf_reserve(r, nlen + 1 + vlen);
	if (e < 0) return e;
	memcpy(r->buf + r->used, d, nlen + 1 + vlen);
	r->x[r->xused++] = (cf_extra){ (uint32_t)r->used, (uint32_t)nlen, (uint32_t)vlen, kind };
	r->used += nlen + 1 + vlen;
	return 0;
}

// cf_extra_of copies d when it is an event field or a field asked for by
// name; counts holds the entry's numbers of each kind so far.
static int cf_extra_of(cf_reader *r, const char *d, size_t l, uint32_t counts[2]) {
	int i;
	if (r->first[(unsigned char)d[0]] && counts[CF_X_NAMED] < CF_MAX_NAMED) {
		for (i = 0; i < r->nnames; i++) {
			size_t nl = r->namelens[i];
			if (l > nl && d[nl] == '=' && memcmp(d, r->names[i], nl) == 0) {
				int e = cf_add_extra(r, d, l, nl, CF_X_NAMED);
				if (e < 0) return e;
				counts[CF_X_NAMED]++;
				break; // it may be an event field too
			}
		}
	}
	if (counts[CF_X_EVENT] >= CF_MAX_EVENT) return 0;
	if (r->noprefix) {
		const char *eq = memchr(d, '=', l);
		if (!eq || cf_standard(d, (size_t)(eq - d))) return 0;
		counts[CF_X_EVENT]++;
		return cf_add_extra(r, d, l, (size_t)(eq - d), CF_X_EVENT);
	}
	if (r->prefixlen && l > r->prefixlen + 1 && d[0] == r->prefix[0] && memcmp(d, r->prefix, r->prefixlen) == 0) {
		const char *eq = memchr(d + r->prefixlen, '=', l - r->prefixlen);
		if (!eq || eq == d + r->prefixlen) return 0;
		counts[CF_X_EVENT]++;
		return cf_add_extra(r, d, l, (size_t)(eq - d), CF_X_EVENT);
	}
	return 0;
}

// cf_oom_line reports whether a kernel MESSAGE may be an OOM-killer line
// (tail.oomCandidate).
static int cf_oom_line(const char *m, size_t l) {
	return (l >= 9 && memcmp(m, "oom-kill:", 9) == 0) ||
		(l >= 13 && memcmp(m, "Out of memory", 13) == 0) ||
		(l >= 28 && memcmp(m, "Memory cgroup out of memory:", 28) == 0);
}

// cf_entry copies the current entry's fields into the batch; it returns 1
// when the entry has a MESSAGE, 0 when it has none or is a kernel entry
// other than an OOM-killer line (with r->oomonly), or a negative errno.
static int cf_entry(cf_reader *r, cf_meta *m, int cursors) {
	const void *data;
	size_t l, used0 = r->used, x0 = r->xused;
	uint32_t counts[2] = { 0, 0 };
	int e;
	m->present = 0;
	m->xfirst = (uint32_t)r->xused;
	m->xn = 0;
	e = sd_journal_get_realtime_usec(r->j, &m->realtime);
	if (e < 0) return e;
	sd_journal_restart_data(r->j);
	while ((e = sd_journal_enumerate_available_data(r->j, &data, &l)) > 0) {
		size_t skip;
		const char *d = data;
		int f;
		if (l > r->maxfield) l = r->maxfield;
		f = cf_field(d, l, &skip);
		if (f < 0) {
			e = cf_extra_of(r, d, l, counts);
			if (e < 0) return e;
			continue;
		}
		if (m->present & (1u << f)) continue;
		e = cf_put(r, m, f, d + skip, l - skip);
		if (e < 0) return e;
	}
	if (e < 0) return e;
	if (!(m->present & (1u << CF_MESSAGE)) ||
	    (r->oomonly && (m->present & (1u << CF_TRANSPORT)) && m->len[CF_TRANSPORT] == 6 &&
	     memcmp(r->buf + m->off[CF_TRANSPORT], "kernel", 6) == 0 &&
	     !cf_oom_line(r->buf + m->off[CF_MESSAGE], m->len[CF_MESSAGE]))) {
		r->used = used0;
		r->xused = x0;
		return 0;
	}
	m->xn = (uint32_t)(r->xused - x0);
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
	r->xused = 0;
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

// cf_select sets the field selection: prefix (NULL: none, every
// non-standard field is an event field), the names of other fields to
// copy, the cut of extra values, and whether kernel entries other than
// OOM-killer lines are dropped. It takes ownership of the strings.
static int cf_select(cf_reader *r, char *prefix, char **names, int nnames, size_t maxvalue, int oomonly) {
	int i;
	r->prefix = prefix;
	r->prefixlen = prefix ? strlen(prefix) : 0;
	r->noprefix = prefix == NULL;
	r->names = names;
	r->nnames = nnames;
	r->namelens = calloc((size_t)nnames + 1, sizeof(size_t));
	if (!r->namelens) return -ENOMEM;
	memset(r->first, 0, sizeof r->first);
	for (i = 0; i < nnames; i++) {
		r->namelens[i] = strlen(names[i]);
		r->first[(unsigned char)names[i][0]] = 1;
	}
	r->maxvalue = maxvalue;
	r->oomonly = oomonly;
	return 0;
}

static void cf_close(cf_reader *r) {
	int i;
	if (r->j) sd_journal_close(r->j);
	free(r->buf);
	free(r->meta);
	free(r->x);
	free(r->prefix);
	for (i = 0; i < r->nnames; i++) free(r->names[i]);
	free(r->names);
	free(r->namelens);
	memset(r, 0, sizeof *r);
}

// cf_edge_realtime returns the realtime of the first (or with last, the
// last) entry matching the current matches, 0 when there is none, or a
// negative errno. It moves the position: seek again before reading.
static int64_t cf_edge_realtime(sd_journal *j, int last) {
	uint64_t t;
	int e = last ? sd_journal_seek_tail(j) : sd_journal_seek_head(j);
	if (e < 0) return e;
	e = last ? sd_journal_previous(j) : sd_journal_next(j);
	if (e <= 0) return e;
	e = sd_journal_get_realtime_usec(j, &t);
	return e < 0 ? e : (int64_t)t;
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
	sel, err := newFieldSel(opts.Fields, opts.Units, opts.Identifiers)
	if err != nil {
		return nil, err
	}
	r := &sdJournal{intern: make(interner), isLocal: opts.Directory == "" && len(opts.Files) == 0, sel: sel}
	r.ownFixed, r.aboutFixed = sel.fixedIndexes(cfFixed)
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
	if err := r.selectFields(); err != nil {
		C.cf_close(&r.r)
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return r, nil
}

// The fields cf_entry and the native reader's decode always copy out of an
// entry, numbered alike (the cursor, CF_CURSOR, comes after them).
const (
	nfMessage      = C.CF_MESSAGE
	nfPriority     = C.CF_PRIORITY
	nfUnit         = C.CF_UNIT
	nfIdent        = C.CF_IDENT
	nfTarget       = C.CF_TARGET
	nfPID          = C.CF_PID
	nfHost         = C.CF_HOST
	nfBoot         = C.CF_BOOT
	nfUID          = C.CF_UID
	nfTransport    = C.CF_TRANSPORT
	nfComm         = C.CF_COMM
	nfLUnit        = C.CF_LUNIT
	nfMessageID    = C.CF_MSGID
	nfCoredumpUnit = C.CF_CDUNIT
	nfObjectUnit   = C.CF_OBJUNIT
	nfCount        = C.CF_CURSOR
)

// cfFixed are those fields by journal name, for both readers.
var cfFixed = map[string]int{
	"MESSAGE": nfMessage, "PRIORITY": nfPriority, "_SYSTEMD_UNIT": nfUnit,
	"SYSLOG_IDENTIFIER": nfIdent, "TARGET": nfTarget, "_PID": nfPID,
	"_HOSTNAME": nfHost, "_BOOT_ID": nfBoot, "_UID": nfUID,
	"_TRANSPORT": nfTransport, "_COMM": nfComm, "UNIT": nfLUnit,
	"MESSAGE_ID": nfMessageID, "COREDUMP_UNIT": nfCoredumpUnit, "OBJECT_SYSTEMD_UNIT": nfObjectUnit,
}

// selectFields hands the field selection to the C reader: the prefix and
// the names of the wanted fields it does not copy anyway.
func (j *sdJournal) selectFields() error {
	var prefix *C.char
	if !j.sel.noPrefix {
		prefix = C.CString(j.sel.prefix)
	}
	var names []string
	for _, n := range j.sel.about {
		if _, fixed := cfFixed[n]; !fixed {
			names = append(names, n)
		}
	}
	arr := (**C.char)(C.calloc(C.size_t(len(names)+1), C.size_t(unsafe.Sizeof(prefix))))
	for i, n := range names {
		unsafe.Slice(arr, len(names))[i] = C.CString(n)
	}
	return errno(C.cf_select(&j.r, prefix, arr, C.int(len(names)), C.size_t(record.MaxFieldValue), cbool(len(j.sel.units) > 0)))
}

// sdJournal is the sd-journal implementation of journal.
type sdJournal struct {
	r       C.cf_reader
	isLocal bool
	// intern holds the strings of short, repetitive fields (host, unit,
	// identifier, target, boot ID) so that each costs no allocation.
	intern interner
	// sel is the field selection and the watched units.
	sel  *fieldSel
	name []byte // scratch for lower-casing

	// ownFixed and aboutFixed are sel's fixedIndexes for cfFixed.
	ownFixed, aboutFixed []int
}

func errno(e C.int) error {
	if e < 0 {
		return syscall.Errno(-e)
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
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
	return errno(C.sd_journal_seek_realtime_usec(j.r.j, C.uint64_t(max(t.UnixMicro(), 0))))
}

func (j *sdJournal) seekCursor(c string, inclusive bool) (bool, error) {
	p := C.CString(c)
	defer C.free(unsafe.Pointer(p))
	e := C.cf_seek_cursor(&j.r, p, cbool(inclusive))
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
	j.r.pending = 0
	t := C.cf_edge_realtime(j.r.j, 1)
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
		t := C.cf_edge_realtime(j.r.j, 0)
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
	var st C.uint64_t
	if !stop.IsZero() {
		st = C.uint64_t(max(stop.UnixMicro(), 1))
	}
	n := C.cf_read(&j.r, C.int(len(dst)), cbool(cursors), st)
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
	var extras []C.cf_extra
	if j.r.xused > 0 {
		extras = unsafe.Slice(j.r.x, int(j.r.xused))
	}
	units := j.sel.units
	k := 0
	for i := range metas {
		m := &metas[i]
		field := func(f int) []byte {
			if m.present&(1<<f) == 0 {
				return nil
			}
			o := uint32(m.off[f])
			return buf[o : o+uint32(m.len[f])]
		}
		// str is a view of a field valid until the next cf_read.
		str := func(f int) string {
			b := field(f)
			if len(b) == 0 {
				return ""
			}
			return unsafe.String(&b[0], len(b))
		}
		msg, cursor := field(C.CF_MESSAGE), field(C.CF_CURSOR)
		unit, about := "", false
		if len(units) > 0 {
			if unit = ownUnit(str(C.CF_UNIT), str(C.CF_IDENT), units, j.sel.idents); unit == "" {
				lc := lcFields{pid: str(C.CF_PID), uid: str(C.CF_UID), comm: str(C.CF_COMM),
					transport: str(C.CF_TRANSPORT), unit: str(C.CF_LUNIT), objectUnit: str(C.CF_OBJUNIT),
					messageID: str(C.CF_MSGID), coredumpUnit: str(C.CF_CDUNIT), sysUnit: str(C.CF_UNIT)}
				if unit = aboutUnit(&lc, str(C.CF_MESSAGE), units, j.sel.idents); unit == "" {
					continue // matched by a wider sd-journal match only
				}
				about = true
			}
		} else {
			unit = j.intern.get(field(C.CF_UNIT))
		}
		e := &dst[k]
		k++
		*e = record.Entry{Time: time.UnixMicro(int64(m.realtime)), Unit: unit}
		e.Message, e.Cursor = msgCursor(msg, cursor)
		e.Host = j.intern.get(field(C.CF_HOST))
		e.Identifier = j.intern.get(field(C.CF_IDENT))
		e.Target = j.intern.get(field(C.CF_TARGET))
		e.BootID = j.intern.get(field(C.CF_BOOT))
		e.Priority = record.NoPriority
		if p := field(C.CF_PRIORITY); len(p) == 1 && '0' <= p[0] && p[0] <= '7' {
			e.Priority = int(p[0] - '0')
		}
		e.PID, _ = num(field(C.CF_PID))
		if m.xn > 0 || about || len(j.sel.own) > 0 {
			j.extras(e, extras[m.xfirst:m.xfirst+m.xn], buf, m, about)
		}
	}
	clear(dst[k:int(n)])
	return k, state, nil
}

// msgCursor returns MESSAGE and the cursor as strings that share one
// allocation.
func msgCursor(msg, cursor []byte) (string, string) {
	if len(msg)+len(cursor) == 0 {
		return "", ""
	}
	b := append(append(make([]byte, 0, len(msg)+len(cursor)), msg...), cursor...)
	s := unsafe.String(&b[0], len(b))
	return s[:len(msg)], s[len(msg):]
}

// extras sets e.Fields and e.Journal from the entry's extras and fixed
// fields (see fieldSel.finish).
func (j *sdJournal) extras(e *record.Entry, xs []C.cf_extra, buf []byte, m *C.cf_meta, about bool) {
	present := func(f int) bool { return m.present&(1<<f) != 0 }
	field := func(f int) []byte { o := uint32(m.off[f]); return buf[o : o+uint32(m.len[f])] }
	name := func(x *C.cf_extra) []byte { return buf[x.off : x.off+x.nlen] }
	value := func(x *C.cf_extra) []byte { o := x.off + x.nlen + 1; return buf[o : o+x.vlen] }
	if !about {
		nev, size := 0, 0
		for i := range xs {
			if xs[i].kind == C.CF_X_EVENT {
				nev++
				size += int(xs[i].vlen)
			}
		}
		if nev > 0 {
			// One allocation holds the values, one the fields.
			vals := make([]byte, 0, size)
			e.Fields = make([]record.Field, 0, nev)
			for i := range xs {
				x := &xs[i]
				if x.kind != C.CF_X_EVENT {
					continue
				}
				ev, _ := j.sel.eventName(name(x))
				j.name = lowerName(j.name[:0], ev)
				start := len(vals)
				vals = append(vals, value(x)...)
				var v string
				if len(vals) > start {
					v = unsafe.String(&vals[start], len(vals)-start)
				}
				e.Fields = append(e.Fields, record.Field{Name: j.intern.get(j.name), Value: v})
			}
		}
	}
	names, fixed := j.sel.own, j.ownFixed
	if about {
		names, fixed = j.sel.about, j.aboutFixed
	}
	e.Journal = journalOf(names, fixed, func(n string, f int) (string, bool) {
		if f >= 0 {
			if !present(f) {
				return "", false
			}
			return j.intern.get(capValue(field(f))), true
		}
		for i := range xs {
			x := &xs[i]
			if x.kind == C.CF_X_NAMED && string(name(x)) == n {
				return j.intern.get(value(x)), true
			}
		}
		return "", false
	})
}

// wait is sd_journal_wait with a timeout; for Follow.
func (j *sdJournal) wait(timeout time.Duration) (waitResult, error) {
	r := C.sd_journal_wait(j.r.j, C.uint64_t(timeout/time.Microsecond))
	switch {
	case r < 0:
		return waitNop, syscall.Errno(-r)
	case r == C.SD_JOURNAL_APPEND:
		return waitAppend, nil
	case r == C.SD_JOURNAL_INVALIDATE:
		return waitInvalidate, nil
	case r == C.SD_JOURNAL_NOP:
		return waitNop, nil
	}
	return waitNop, fmt.Errorf("sd_journal_wait: unexpected result %d", int(r))
}
