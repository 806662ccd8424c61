package tail

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// fakeJournal is an in-memory journal: entries in journal order, which
// need not be time order. Matches are only recorded.
type fakeJournal struct {
	entries []record.Entry // Message "" means no MESSAGE; Cursor is "c<index>"
	// skew makes seekRealtime land this many entries late, as sd-journal's
	// bisection can in files whose clock went back.
	skew    int
	calls   *[]string
	pos     int
	pending bool
}

func (f *fakeJournal) log(s string) {
	if f.calls != nil {
		*f.calls = append(*f.calls, s)
	}
}

func (f *fakeJournal) addMatch(m string) error { f.log(m); return nil }
func (f *fakeJournal) addDisjunction() error   { f.log("OR"); return nil }
func (f *fakeJournal) addConjunction() error   { f.log("AND"); return nil }
func (f *fakeJournal) local() bool             { return false }
func (f *fakeJournal) close()                  {}

func (f *fakeJournal) seekHead() error {
	f.pos, f.pending = -1, false
	return nil
}

func (f *fakeJournal) seekRealtime(t time.Time) error {
	i := sort.Search(len(f.entries), func(i int) bool { return !f.entries[i].Time.Before(t) })
	f.pos, f.pending = min(i+f.skew, len(f.entries))-1, false
	return nil
}

func (f *fakeJournal) seekCursor(c string, inclusive bool) (bool, error) {
	for i, e := range f.entries {
		if e.Cursor == c {
			f.pos, f.pending = i, inclusive
			return false, nil
		}
	}
	return false, fmt.Errorf("no cursor %q", c)
}

func (f *fakeJournal) next() bool {
	if f.pending {
		f.pending = false
		return true
	}
	f.pos = min(f.pos+1, len(f.entries))
	return f.pos < len(f.entries)
}

func (f *fakeJournal) peek() (time.Time, bool, error) {
	if !f.next() {
		return time.Time{}, false, nil
	}
	f.pending = true
	return f.entries[f.pos].Time, true, nil
}

func (f *fakeJournal) cursor() (string, error) {
	if f.pos < 0 || f.pos >= len(f.entries) {
		return "", errors.New("no current entry")
	}
	return f.entries[f.pos].Cursor, nil
}

func (f *fakeJournal) last() (time.Time, bool, error) {
	f.pos, f.pending = len(f.entries), false
	if len(f.entries) == 0 {
		return time.Time{}, false, nil
	}
	return f.entries[len(f.entries)-1].Time, true, nil
}

func (f *fakeJournal) read(dst []record.Entry, cursors bool, stop time.Time) (int, readState, error) {
	n := 0
	for n < len(dst) {
		if !f.next() {
			return n, readEnd, nil
		}
		e := f.entries[f.pos]
		if !stop.IsZero() && !e.Time.Before(stop) {
			f.pending = true
			return n, readStopped, nil
		}
		if e.Message == "" {
			continue
		}
		if !cursors {
			e.Cursor = ""
		}
		dst[n] = e
		n++
	}
	return n, readMore, nil
}

func (f *fakeJournal) boots() ([]bootInfo, error) {
	var out []bootInfo
	seen := map[string]bool{}
	for _, e := range f.entries {
		if !seen[e.BootID] {
			seen[e.BootID] = true
			out = append(out, bootInfo{ID: e.BootID, First: e.Time})
		}
	}
	return out, nil
}

// fakeEntries makes n entries with random gaps (often none), some without
// MESSAGE; the clock goes back by jump at entry n/2 when jump > 0.
func fakeEntries(n int, jump time.Duration) []record.Entry {
	r := rand.New(rand.NewPCG(1, 2))
	t := t0
	var out []record.Entry
	for i := range n {
		if i == n/2 {
			t = t.Add(-jump)
		}
		t = t.Add(time.Duration(r.IntN(3)) * time.Millisecond)
		e := record.Entry{Time: t, Unit: "chainfire.service", Priority: -1, Cursor: fmt.Sprintf("c%d", i)}
		if r.IntN(10) > 0 {
			e.Message = fmt.Sprintf("m%d", i)
		}
		out = append(out, e)
	}
	return out
}

func readFake(t *testing.T, fj fakeJournal, opts Options) ([]record.Entry, error) {
	t.Helper()
	open := func() (journal, error) { return &fj, nil }
	var got []record.Entry
	err := readJournal(context.Background(), open, opts, func(b []record.Entry) error {
		got = append(got, b...)
		return nil
	})
	return got, err
}

func TestAddMatches(t *testing.T) {
	tests := []struct {
		name  string
		units []string
		ids   map[string]string
		boot  string
		want  []string
	}{
		{"nothing", nil, nil, "", nil},
		{"units", []string{"a.service", "b.service"}, nil, "", []string{"_SYSTEMD_UNIT=a.service", "_SYSTEMD_UNIT=b.service", "OR", "SYSLOG_IDENTIFIER=a", "SYSLOG_IDENTIFIER=b",
			"OR", "_PID=1", "UNIT=a.service", "UNIT=b.service",
			"OR", "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1", "COREDUMP_UNIT=a.service", "COREDUMP_UNIT=b.service",
			"OR", "_UID=0", "OBJECT_SYSTEMD_UNIT=a.service", "OBJECT_SYSTEMD_UNIT=b.service", "OR", "_TRANSPORT=kernel"}},
		// A unit's identifiers given (the services'), the other's its name;
		// one of another unit is not matched.
		{"identifiers", []string{"a.service", "b.service"}, map[string]string{"kv": "a.service", "kvd": "a.service", "x": "x.service"}, "", []string{
			"_SYSTEMD_UNIT=a.service", "_SYSTEMD_UNIT=b.service", "OR", "SYSLOG_IDENTIFIER=b", "SYSLOG_IDENTIFIER=kv", "SYSLOG_IDENTIFIER=kvd",
			"OR", "_PID=1", "UNIT=a.service", "UNIT=b.service",
			"OR", "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1", "COREDUMP_UNIT=a.service", "COREDUMP_UNIT=b.service",
			"OR", "_UID=0", "OBJECT_SYSTEMD_UNIT=a.service", "OBJECT_SYSTEMD_UNIT=b.service", "OR", "_TRANSPORT=kernel"}},
		{"boot", nil, nil, bootA, []string{"_BOOT_ID=" + bootA}},
		{"units and boot", []string{"a.service"}, nil, bootA, []string{"_SYSTEMD_UNIT=a.service", "OR", "SYSLOG_IDENTIFIER=a",
			"OR", "_PID=1", "UNIT=a.service", "OR", "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1", "COREDUMP_UNIT=a.service",
			"OR", "_UID=0", "OBJECT_SYSTEMD_UNIT=a.service", "OR", "_TRANSPORT=kernel", "AND", "_BOOT_ID=" + bootA}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			if err := addMatches(&fakeJournal{calls: &calls}, tc.units, identUnits(tc.units, tc.ids), tc.boot); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPickBoot(t *testing.T) {
	// Listed out of order, as sd_journal_query_unique returns them.
	boots := []bootInfo{
		{ID: "b", First: t0.Add(2 * time.Hour)},
		{ID: "c", First: t0.Add(3 * time.Hour)},
		{ID: "a", First: t0.Add(1 * time.Hour)},
	}
	for _, tc := range []struct {
		off  int
		want string
	}{{0, "c"}, {-1, "b"}, {-2, "a"}, {1, "a"}, {3, "c"}, {-3, ""}, {4, ""}} {
		got, err := pickBoot(slices.Clone(boots), tc.off, fmt.Sprint(tc.off))
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("offset %d: got %q, %v; want %q", tc.off, got, err, tc.want)
		}
	}
}

func TestAfterCursorFake(t *testing.T) {
	entries := fakeEntries(50, 0)
	got, err := readFake(t, fakeJournal{entries: entries}, Options{AfterCursor: "c10"})
	if err != nil {
		t.Fatal(err)
	}
	var want []record.Entry
	for _, e := range entries[11:] {
		if e.Message != "" {
			want = append(want, e)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries after c10 (-want +got):\n%s", diff)
	}
}
