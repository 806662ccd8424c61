//go:build linux && cgo

package tail

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
)

// followToEnd follows with opts until the reader reports the end of the
// journal and returns what it read, and the follower it used.
func followToEnd(tb testing.TB, opts FollowOptions) ([]record.Entry, follower) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var f follower
	open := func() (follower, error) {
		var err error
		f, err = openFollower(&opts)
		return f, err
	}
	var got []record.Entry
	errEnd := errors.New("end")
	opts.WaitTimeout = 20 * time.Millisecond
	err := follow(ctx, open, opts, func(b FollowBatch) error {
		got = append(got, b.Entries...)
		if b.AtEnd {
			return errEnd
		}
		return nil
	})
	if !errors.Is(err, errEnd) {
		tb.Fatalf("follow %+v: %v", opts, err)
	}
	return got, f
}

// journalSets are journals the native reader must read exactly as
// sd-journal does.
func journalSets(t *testing.T) map[string]string {
	sets := map[string]string{}
	for _, name := range []string{"basic.export", "binary.export"} {
		dir, _ := makeJournalFrom(t, name)
		sets[name] = dir
	}
	dir, _ := makeJournal(t, hugeExport())
	sets["huge (compressed fields)"] = dir
	dir, _ = makeJournal(t, bigExport(3000))
	sets["3000 entries"] = dir
	// Three files written separately (three sequence number IDs), their
	// times interleaved: merged by time.
	dir = t.TempDir()
	for i := range 3 {
		var b []byte
		for k := range 200 {
			n := 3*k + i
			f := append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", fmt.Sprintf("m%d", n)})
			b = append(b, exportEntry(float64(n), bootA, f...)...)
			g := append(fieldsOf("ssh.service", "sshd", 99), [2]string{"MESSAGE", fmt.Sprintf("s%d", n)})
			b = append(b, exportEntry(float64(n)+0.5, bootB, g...)...)
		}
		testjournal.Write(t, dir, fmt.Sprintf("f%d.journal", i), b)
	}
	sets["three interleaved files"] = dir
	return sets
}

func TestNativeReadsAsSDJournal(t *testing.T) {
	skipWithoutJournal(t)
	for name, dir := range journalSets(t) {
		t.Run(name, func(t *testing.T) {
			all, _ := followToEnd(t, FollowOptions{Directory: dir, Start: StartHead, Reader: ReaderSDJournal})
			if len(all) < 3 {
				t.Fatalf("sd-journal read %d entries", len(all))
			}
			starts := map[string]FollowOptions{
				"head":        {Start: StartHead},
				"head, units": {Start: StartHead, Units: []string{"chainfire.service", "sshd.service"}},
				"one unit":    {Start: StartHead, Units: []string{"chainfire.service"}},
				"tail":        {Start: StartTail},
				"since":       {Start: StartSince, Since: all[len(all)/2].Time},
				"after first": {AfterCursor: all[0].Cursor},
				"after mid":   {AfterCursor: all[len(all)/2].Cursor, Units: []string{"chainfire.service"}},
				"after last":  {AfterCursor: all[len(all)-1].Cursor},
				"after a cursor that is gone": {
					AfterCursor: "s=00000000000000000000000000000001;i=99;b=" + bootA + ";m=12a2a9100;t=" +
						fmt.Sprintf("%x", all[len(all)/3].Time.UnixMicro()-1) + ";x=1",
				},
			}
			for sname, o := range starts {
				o.Directory = dir
				o.Reader = ReaderSDJournal
				want, _ := followToEnd(t, o)
				var fallbacks []error
				o.Reader = ReaderNative
				o.OnFallback = func(err error) { fallbacks = append(fallbacks, err) }
				got, f := followToEnd(t, o)
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: native differs from sd-journal (-sd +native):\n%s", sname, diff)
				}
				nj, ok := f.(*nativeJournal)
				if !ok || nj.viaSD || len(fallbacks) > 0 {
					t.Errorf("%s: native reader not used throughout (%T, fallbacks %v)", sname, f, fallbacks)
				}
			}
		})
	}
}

// TestScanNativeAsSDJournal: ReadJournal (scan) with the native reader
// reads what sd-journal's reads, from every start, up to every stop, with
// and without cursors, and never hands over.
func TestScanNativeAsSDJournal(t *testing.T) {
	skipWithoutJournal(t)
	for name, dir := range journalSets(t) {
		t.Run(name, func(t *testing.T) {
			all, err := collectJournal(Options{Directory: dir, Reader: ReaderSDJournal})
			if err != nil || len(all) < 3 {
				t.Fatalf("sd-journal read %d entries: %v", len(all), err)
			}
			first, mid, last := all[0].Time, all[len(all)/2].Time, all[len(all)-1].Time
			reads := map[string]Options{
				"all":                 {},
				"units":               {Units: []string{"chainfire.service", "sshd.service"}},
				"one unit":            {Units: []string{"chainfire.service"}},
				"since":               {Since: mid},
				"until":               {Until: mid},
				"until an entry's µs": {Until: mid.Add(-time.Microsecond)},
				"window":              {Since: all[len(all)/3].Time, Until: all[2*len(all)/3].Time, Units: []string{"chainfire.service"}},
				"until before all":    {Until: first.Add(-time.Second)},
				"since after all":     {Since: last.Add(time.Second)},
				"no cursors":          {NoCursor: true, Units: []string{"chainfire.service"}},
				"after mid":           {AfterCursor: all[len(all)/2].Cursor},
			}
			for rname, o := range reads {
				o.Directory = dir
				o.Reader = ReaderSDJournal
				want, err := collectJournal(o)
				if err != nil {
					t.Fatalf("%s: sd-journal: %v", rname, err)
				}
				var fallbacks []error
				o.Reader = ""
				o.OnFallback = func(err error) { fallbacks = append(fallbacks, err) }
				got, err := collectJournal(o)
				if err != nil {
					t.Fatalf("%s: native: %v", rname, err)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: native differs from sd-journal (-sd +native):\n%s", rname, diff)
				}
				if len(fallbacks) > 0 {
					t.Errorf("%s: handed over to sd-journal: %v", rname, fallbacks)
				}
			}
		})
	}
}

// TestNativeFallsBackOnUnknownFile: a file with an incompatible flag the
// native reader does not know is left to sd-journal, which skips it as
// well; the reason is reported once.
func TestNativeFallsBackOnUnknownFile(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 5))
	b := testjournal.Write(t, dir, "b.journal", followExport(5, 10))
	data, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	inc := binary.LittleEndian.Uint32(data[jhIncompatible:])
	binary.LittleEndian.PutUint32(data[jhIncompatible:], inc|1<<20)
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := followToEnd(t, FollowOptions{Directory: dir, Start: StartHead, Reader: ReaderSDJournal})
	var fallbacks []error
	got, _ := followToEnd(t, FollowOptions{Directory: dir, Start: StartHead, OnFallback: func(err error) { fallbacks = append(fallbacks, err) }})
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after the fallback (-sd +native):\n%s", diff)
	}
	if len(fallbacks) != 1 || !errors.Is(fallbacks[0], errUnsupported) {
		t.Errorf("fallbacks %v, want one errUnsupported", fallbacks)
	}
}

// TestNativeFileCutShort: a file truncated under the reader's mapping is
// an error (a fault turned into errNativeFault, or a bad object), not a
// crash.
func TestNativeFileCutShort(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	file := testjournal.Write(t, dir, "a.journal", bigExport(2000))
	f, err := openFollower(&FollowOptions{Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	nj := f.(*nativeJournal)
	if err := nj.seekHead(); err != nil {
		t.Fatal(err)
	}
	dst := make([]record.Entry, 10)
	if n, _, err := nj.readNative(dst, time.Time{}); err != nil || n != 10 {
		t.Fatalf("first read: %d, %v", n, err)
	}
	if err := os.Truncate(file, 8192); err != nil {
		t.Fatal(err)
	}
	dst = make([]record.Entry, 3000)
	n, _, err := nj.readNative(dst, time.Time{})
	if err == nil {
		t.Fatalf("read %d entries of a file cut to 8 KiB, no error", n)
	}
	t.Logf("after the cut: %d entries, %v", n, err)
}

// TestNativeFollowsRotation: entries appended to one file, then the file
// renamed as journald archives it and a new one started; nothing is
// missed or read twice.
func TestNativeFollowsRotation(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	first := testjournal.Write(t, dir, "system.journal", followExport(0, 10))
	var fallbacks []error
	r := startFollow(t, FollowOptions{Directory: dir, Start: StartHead, Units: []string{"chainfire.service"},
		OnFallback: func(err error) { fallbacks = append(fallbacks, err) }})
	if got := r.waitFor(t, 10); len(got) != 10 {
		t.Fatalf("before rotation: %v", got)
	}
	if err := os.Rename(first, filepath.Join(dir, "system@0000000000000000000000000000abcd-0000000000000001-0000000000000001.journal")); err != nil {
		t.Fatal(err)
	}
	testjournal.Write(t, dir, "system.journal", followExport(10, 20))
	got := r.waitFor(t, 20)
	if diff := cmp.Diff(msgs(0, 20), got); diff != "" {
		t.Errorf("across the rotation (-want +got):\n%s", diff)
	}
	if len(fallbacks) > 0 {
		t.Errorf("fallbacks: %v", fallbacks)
	}
}

// BenchmarkFollowReaders follows the benchmark corpus journal in
// CFLOGD_BENCH_JOURNAL_DIR from its head to its end with each reader, with
// the daemon's unit matches and cursors, and reports the cost per entry
// read (of every unit) and per entry returned.
func BenchmarkFollowReaders(b *testing.B) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		b.Skip("CFLOGD_BENCH_JOURNAL_DIR not set (a directory of corpus journal files)")
	}
	units := []string{"chainfire.service", "flaredb.service", "placement-driver.service"}
	for _, reader := range []string{ReaderNative, ReaderSDJournal} {
		b.Run(reader, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = 0
				ctx, cancel := context.WithCancel(context.Background())
				errEnd := errors.New("end")
				opts := FollowOptions{Directory: dir, Units: units, Start: StartHead, Reader: reader,
					OnFallback: func(err error) { b.Errorf("fallback: %v", err) }}
				err := follow(ctx, func() (follower, error) { return openFollower(&opts) }, opts, func(fb FollowBatch) error {
					n += len(fb.Entries)
					if fb.AtEnd {
						return errEnd
					}
					return nil
				})
				cancel()
				if !errors.Is(err, errEnd) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "entries")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}

// TestNativeFollowsGrowingFile: one file grows by tens of MiB while it is
// followed, so the reader maps it again mid-read; every entry arrives once
// and the native reader never hands over.
func TestNativeFollowsGrowingFile(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	file := testjournal.Write(t, dir, "system.journal", followExport(0, 10))
	st0, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	var fallbacks []error
	r := startFollow(t, FollowOptions{Directory: dir, Start: StartHead, Units: []string{"chainfire.service"},
		OnFallback: func(err error) { fallbacks = append(fallbacks, err) }})
	if got := r.waitFor(t, 10); len(got) != 10 {
		t.Fatalf("before growing: %v", got)
	}
	const more = 60000
	testjournal.Write(t, dir, "system.journal", bigExport(more))
	got := r.waitFor(t, 10+more)
	st1, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Size() <= st0.Size() {
		t.Fatalf("file did not grow: %d then %d bytes", st0.Size(), st1.Size())
	}
	if len(got) != 10+more {
		t.Fatalf("got %d entries, want %d", len(got), 10+more)
	}
	if diff := cmp.Diff(msgs(0, 10), got[:10]); diff != "" {
		t.Errorf("first entries (-want +got):\n%s", diff)
	}
	r.mu.Lock()
	seen := make(map[string]bool, len(r.cursors))
	for _, c := range r.cursors {
		if seen[c] {
			t.Errorf("cursor %s twice", c)
		}
		seen[c] = true
	}
	r.mu.Unlock()
	if len(fallbacks) > 0 {
		t.Errorf("fallbacks: %v", fallbacks)
	}
	t.Logf("file grew from %d to %d bytes", st0.Size(), st1.Size())
}

// followBoth follows dir with both readers at once.
func followBoth(t *testing.T, opts FollowOptions) (native, sd *followRun, fallbacks *[]error) {
	var fb []error
	var mu sync.Mutex
	o := opts
	o.Reader = ReaderNative
	o.OnFallback = func(err error) { mu.Lock(); fb = append(fb, err); mu.Unlock() }
	native = startFollow(t, o)
	o = opts
	o.Reader = ReaderSDJournal
	sd = startFollow(t, o)
	return native, sd, &fb
}

// settle appends a sentinel entry, later than any other, to the journal
// file dir/name, waits until both runs have it, and returns the n messages
// each had before it. Nothing may come between the n-th and the sentinel:
// what a reader has not delivered by the time it reads a later entry it
// must not deliver at all.
func settle(t *testing.T, a, b *followRun, n int, dir, name string) ([]string, []string) {
	t.Helper()
	a.waitFor(t, n)
	b.waitFor(t, n)
	const sentinel = "sentinel"
	f := append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", sentinel})
	testjournal.Write(t, dir, name, exportEntry(10_000, bootA, f...))
	var got [2][]string
	for i, r := range []*followRun{a, b} {
		msgs := r.waitUntil(t, func(got []string) bool { return slices.Contains(got, sentinel) })
		if len(msgs) != n+1 || msgs[n] != sentinel {
			t.Fatalf("run %d: want %d messages, then the sentinel; got %q", i, n, msgs)
		}
		got[i] = msgs[:n]
	}
	return got[0], got[1]
}

// TestNativeLateFileAsSDJournal: a file that appears while following with
// entries older than those already read (another writer's file, copied in)
// gives what sd-journal gives: only what sorts after the position.
func TestNativeLateFileAsSDJournal(t *testing.T) {
	// Entries from 95 to 115 s: half before what was read, half after.
	got := followLate(t, "a.journal", followExport(100, 110), 10, "b.journal", followExport(95, 116), 16)
	older := map[string]bool{"msg95": true, "msg96": true, "msg97": true, "msg98": true, "msg99": true}
	for _, m := range got {
		if older[m] {
			t.Errorf("%s, older than the entries read before its file came, was read after them: %v", m, got)
		}
	}
}

// followLate follows chainfire's entries in a directory holding first (file
// name, export) natively and through sd-journal; once both read n, it writes
// late and checks that both read the same total messages, which it returns.
func followLate(t *testing.T, firstFile string, first []byte, n int, lateFile string, late []byte, total int) []string {
	t.Helper()
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, firstFile, first)
	native, sd, fallbacks := followBoth(t, FollowOptions{Directory: dir, Start: StartHead, Units: []string{"chainfire.service"}})
	native.waitFor(t, n)
	sd.waitFor(t, n)
	testjournal.Write(t, dir, lateFile, late)
	got, want := settle(t, native, sd, total, dir, lateFile)
	sameAsSD(t, got, want, *fallbacks)
	return got
}

// sameAsSD fails the test when the native reader's messages differ from
// sd-journal's or it handed over to sd-journal.
func sameAsSD(t *testing.T, got, want []string, fallbacks []error) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("native differs from sd-journal (-sd +native):\n%s", diff)
	}
	if len(fallbacks) > 0 {
		t.Errorf("fallbacks: %v", fallbacks)
	}
}

// TestNativeCompressedAtTail: an entry with a compressed MESSAGE appended
// while following with unit matches is read through sd-journal, whole,
// without handing the run over.
func TestNativeCompressedAtTail(t *testing.T) {
	got := followLate(t, "system.journal", followExport(0, 3), 3, "system.journal", hugeExport(), 6)
	if len(got) != 6 || len(got[3]) != 5+1<<20 {
		t.Errorf("got %d messages, the 1 MiB one %d bytes", len(got), len(got[min(3, len(got)-1)]))
	}
}

// TestNativeCorruptFile: offsets in a journal file that point outside it
// or at the wrong kind of object are an error that hands the run to
// sd-journal (which reports or skips them as it does), never a crash or a
// read outside the mapping.
func TestNativeCorruptFile(t *testing.T) {
	skipWithoutJournal(t)
	src := testjournal.Write(t, t.TempDir(), "x.journal", bigExport(200))
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	arrayOff := le.Uint64(orig[jhEntryArray:])
	firstEntry := uint64(le.Uint32(orig[arrayOff+arrayItems:])) // compact: 4-byte items
	if orig[jhIncompatible]&jfCompact == 0 {
		firstEntry = le.Uint64(orig[arrayOff+arrayItems:])
	}
	for _, c := range []struct {
		name    string
		corrupt func(b []byte)
	}{
		{"entry array offset beyond the file", func(b []byte) { le.PutUint64(b[jhEntryArray:], uint64(len(b))+4096) }},
		{"entry array offset at the header", func(b []byte) { le.PutUint64(b[jhEntryArray:], 16) }},
		{"entry array pointing at a data object", func(b []byte) {
			// the first item of the first entry, a DATA object
			item := le.Uint32(b[firstEntry+entryItems:])
			le.PutUint32(b[arrayOff+arrayItems:], item)
		}},
		{"entry item beyond the file", func(b []byte) { le.PutUint32(b[firstEntry+entryItems:], uint32(len(b))+64) }},
		{"object size larger than the file", func(b []byte) { le.PutUint64(b[firstEntry+8:], 1<<40) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if orig[jhIncompatible]&jfCompact == 0 {
				t.Skip("the corruptions are written for compact files (systemd 252's default)")
			}
			dir := t.TempDir()
			b := append([]byte(nil), orig...)
			c.corrupt(b)
			if err := os.WriteFile(filepath.Join(dir, "x.journal"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			var fallbacks []error
			opts := FollowOptions{Directory: dir, Start: StartHead, WaitTimeout: 20 * time.Millisecond,
				OnFallback: func(err error) { fallbacks = append(fallbacks, err) }}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errEnd := errors.New("end")
			n := 0
			err := follow(ctx, func() (follower, error) { return openFollower(&opts) }, opts, func(fb FollowBatch) error {
				n += len(fb.Entries)
				if fb.AtEnd {
					return errEnd
				}
				return nil
			})
			if !errors.Is(err, errEnd) {
				t.Logf("sd-journal after the handover: %v", err)
			}
			if len(fallbacks) != 1 {
				t.Fatalf("fallbacks %v, want one", fallbacks)
			}
			t.Logf("%d entries; handed over: %v", n, fallbacks[0])
		})
	}
}

// FuzzNativeFile overwrites 1, 2, 4 or 8 bytes anywhere in a journal file
// and reads it with the native reader's file code: any answer but a panic
// or a hang is fine (an error hands the run to sd-journal). Each fuzzing
// process writes its own file and patches it in place.
func FuzzNativeFile(f *testing.F) {
	path := testjournal.Write(f, f.TempDir(), "x.journal", bigExport(300))
	orig, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	for _, off := range []uint32{jhEntryArray, jhNEntries, jhIncompatible, jhHeaderSize, jhSeqnumID} {
		f.Add(off, uint64(1<<40), uint8(3))
		f.Add(off, uint64(0), uint8(2))
	}
	f.Add(uint32(3733880), uint64(3733880), uint8(3)) // somewhere in the objects
	f.Fuzz(func(t *testing.T, off uint32, val uint64, width uint8) {
		w := []int{1, 2, 4, 8}[width%4]
		at := int(off) % (len(orig) - w)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], val)
		file, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		if _, err := file.WriteAt(b[:w], int64(at)); err != nil {
			t.Fatal(err)
		}
		defer file.WriteAt(orig[at:at+w], int64(at))
		j, err := openJFile(path)
		if err != nil {
			return
		}
		defer j.close()
		_ = protect(func() error {
			n := j.nEntries()
			if _, err := j.search(func(k *jkey) bool { return k.realtime >= 1 }); err != nil {
				return err
			}
			for k := uint64(0); k < min(n, 400); k++ {
				eoff, err := j.entryOffset(k)
				if err != nil {
					return err
				}
				o, err := j.entry(eoff)
				if err != nil {
					return err
				}
				key := j.key(o)
				appendCursor(nil, j.cursorPrefix, &key)
				for i := range j.nItems(o) {
					if _, _, err := j.payload(j.item(o, i)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}
