package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/centra-cloud/cflogd/record"
)

// basic lists the entries of testdata/basic.export that have a MESSAGE,
// with Unit holding _SYSTEMD_UNIT.
var basic = []record.Entry{
	{Time: at(0), Host: "node01", Unit: "chainfire.service", Identifier: "chainfire", PID: 1234, Priority: 6, BootID: bootA, Message: "INFO chainfire_api: Handled put request, latency=11ms"},
	{Time: at(1), Host: "node01", Unit: "flaredb.service", Identifier: "flaredb", PID: 1301, Priority: 4, BootID: bootA, Message: "WARN flaredb_raft: Election timeout, no heartbeat from leader"},
	{Time: at(2), Host: "node01", Unit: "sshd.service", Identifier: "sshd", PID: 800, Priority: 6, BootID: bootA, Message: "Accepted publickey for root from 10.0.0.9 port 51234 ssh2"},
	{Time: at(3), Host: "node01", Identifier: "chainfire", PID: 1234, Priority: 3, BootID: bootA, Message: "ERROR chainfire_server: failed to bind 0.0.0.0:2379: Address already in use"},
	{Time: at(4), Host: "node01", Unit: "cron.service", Identifier: "flaredb", PID: 4321, Priority: 6, BootID: bootA, Message: "flaredb-admin compact finished"},
	{Time: at(5), Host: "node01", Unit: "placement-driver.service", Identifier: "placement-driver", PID: 1400, Priority: 3, Target: "pd_server", BootID: bootA, Message: "Store heartbeat timeout, store_id=4"},
	// The entry at 6 s has no MESSAGE.
	{Time: at(7), Host: "node01", Unit: "chainfire.service", Identifier: "chainfire", PID: 1234, Priority: -1, BootID: bootA, Message: "INFO chainfire_api: key=value ünïcode ✓ a=b=c"},
	{Time: at(8), Host: "node01", Unit: "chainfire.service", Identifier: "chainfire", PID: 1234, Priority: 6, BootID: bootA, Message: "INFO chainfire_storage: Committed entry, index=76510"},
	{Time: at(8), Host: "node01", Unit: "flaredb.service", Identifier: "flaredb", PID: 1301, Priority: 6, BootID: bootA, Message: "INFO flaredb_storage: Flushed memtable, rows=100"},
	{Time: at(9), Host: "node01", Identifier: "kernel", Priority: 4, BootID: bootA, Message: "EXT4-fs (sda1): mounted filesystem"},
	{Time: at(300), Host: "node01", Unit: "chainfire.service", Identifier: "chainfire", PID: 2001, Priority: 6, BootID: bootB, Message: "INFO chainfire_server: Starting chainfire node_id=1"},
	{Time: at(301), Host: "node01", Unit: "flaredb.service", Identifier: "flaredb", PID: 2002, Priority: 6, BootID: bootB, Message: "INFO flaredb_server: Starting flaredb store_id=1"},
}

// pick returns basic's entries i..., with Unit set where given as "i=unit".
func pick(items ...any) []record.Entry {
	var out []record.Entry
	for _, it := range items {
		switch v := it.(type) {
		case int:
			out = append(out, basic[v])
		case [2]any:
			e := basic[v[0].(int)]
			e.Unit = v[1].(string)
			out = append(out, e)
		}
	}
	return out
}

var ignoreCursor = cmpopts.IgnoreFields(record.Entry{}, "Cursor")

var cursorRE = regexp.MustCompile(`^s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$`)

func TestReadJournalUnits(t *testing.T) {
	dir, _ := makeJournalFrom(t, "basic.export")
	cf, fd, pd := "chainfire.service", "flaredb.service", "placement-driver.service"
	tests := []struct {
		name  string
		units []string
		want  []record.Entry
	}{
		{"no units: every entry", nil, basic},
		{"chainfire: unit or identifier", []string{cf}, pick(0, [2]any{3, cf}, 6, 7, 10)},
		{"chainfire and flaredb", []string{cf, fd}, pick(0, 1, [2]any{3, cf}, [2]any{4, fd}, 6, 7, 8, 10, 11)},
		{"placement-driver", []string{pd}, pick(5)},
		{"other unit only", []string{"sshd.service"}, pick(2)},
		{"unknown unit", []string{"nothing.service"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readJournalAll(t, Options{Directory: dir, Units: tc.units})
			if diff := cmp.Diff(tc.want, got, ignoreCursor, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			for _, e := range got {
				if !cursorRE.MatchString(e.Cursor) {
					t.Errorf("cursor %q of %q: not a journal cursor", e.Cursor, e.Message)
				}
			}
		})
	}
}

func TestReadJournalWindow(t *testing.T) {
	dir, _ := makeJournalFrom(t, "basic.export")
	units := []string{"chainfire.service", "flaredb.service"}
	tests := []struct {
		name         string
		since, until time.Time
		want         []record.Entry
	}{
		{"since is inclusive", at(8), time.Time{}, pick(7, 8, 10, 11)},
		{"until is inclusive", time.Time{}, at(1), pick(0, 1)},
		{"since = until", at(8), at(8), pick(7, 8)},
		{"between entries", at(0.5), at(7.5), pick(1, [2]any{3, "chainfire.service"}, [2]any{4, "flaredb.service"}, 6)},
		{"one microsecond after", at(8).Add(time.Microsecond), at(300).Add(-time.Microsecond), nil},
		{"until before the first entry", time.Time{}, at(-1), nil},
		{"since after the last entry", at(302), time.Time{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readJournalAll(t, Options{Directory: dir, Units: units, Since: tc.since, Until: tc.until})
			if diff := cmp.Diff(tc.want, got, ignoreCursor, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadJournalBoot(t *testing.T) {
	dir, file := makeJournalFrom(t, "basic.export")
	bootAEntries := pick(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	tests := []struct {
		name  string
		boot  string
		units []string
		want  []record.Entry
	}{
		{"boot id", bootA, nil, bootAEntries},
		{"boot id with dashes", "b0070000-b007-0000-b007-0000b0070001", nil, pick(10, 11)},
		{"0 is the newest boot of the files", "0", nil, pick(10, 11)},
		{"-1 is the one before", "-1", nil, bootAEntries},
		{"1 is the first", "1", nil, bootAEntries},
		{"2 is the second", "2", nil, pick(10, 11)},
		{"boot and units are ANDed", "-1", []string{"chainfire.service"}, pick(0, [2]any{3, "chainfire.service"}, 6, 7)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readJournalAll(t, Options{Files: []string{file}, Boot: tc.boot, Units: tc.units})
			if diff := cmp.Diff(tc.want, got, ignoreCursor, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"-2", "3", "x", "0123"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := collectJournal(Options{Directory: dir, Boot: bad})
			if errors.Is(err, ErrNoJournal) {
				t.Skip("no journal reader")
			}
			if err == nil {
				t.Errorf("Boot %q: no error", bad)
			}
		})
	}
}

func TestReadJournalFileAndDirectory(t *testing.T) {
	dir, file := makeJournalFrom(t, "basic.export")
	byDir := readJournalAll(t, Options{Directory: dir})
	byFile := readJournalAll(t, Options{Files: []string{file}})
	if diff := cmp.Diff(byDir, byFile); diff != "" {
		t.Errorf("--directory (-) vs --file (+):\n%s", diff)
	}
	if diff := cmp.Diff(basic, byFile, ignoreCursor); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}

	// Two files of one directory are merged in time order.
	dir2, file2 := makeJournal(t, append(
		exportEntry(0.5, bootA, append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", "from the second file"})...),
		exportEntry(8.5, bootA, append(fieldsOf("chainfire.service", "chainfire", 1234), [2]string{"MESSAGE", "second file again"})...)...))
	got := readJournalAll(t, Options{Files: []string{file, file2}, Units: []string{"chainfire.service"}})
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.Message)
	}
	want := []string{basic[0].Message, "from the second file", basic[3].Message, basic[6].Message, basic[7].Message, "second file again", basic[10].Message}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("two files (-want +got):\n%s", diff)
	}
	if _, err := collectJournal(Options{Directory: dir2 + "/missing"}); err == nil {
		t.Errorf("missing directory: no error")
	}
	if _, err := collectJournal(Options{Files: []string{dir + "/missing.journal"}}); err == nil {
		t.Errorf("missing file: no error")
	}
}

func TestReadJournalBinary(t *testing.T) {
	_, file := makeJournalFrom(t, "binary.export")
	got := readJournalAll(t, Options{Files: []string{file}})
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.Message)
	}
	want := []string{
		"invalid utf-8: \xff\xfe\xc3( end",
		"nul\x00inside\x00",
		"line one\nline two\n\ttabbed",
		"WARN chainfire_storage: \x1b[33mcoloured\x1b[0m",
		"",
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// hugeExport has a 1 MiB MESSAGE, one longer than MaxFieldSize, and a
// normal entry after them.
func hugeExport() []byte {
	big := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	huge := bytes.Repeat([]byte("x"), MaxFieldSize+1000)
	var b []byte
	f := fieldsOf("chainfire.service", "chainfire", 1234)
	b = append(b, exportEntry(0, bootA, append(f, [2]string{"MESSAGE", "WARN " + string(big)})...)...)
	b = append(b, exportEntry(1, bootA, append(f, [2]string{"MESSAGE", string(huge)})...)...)
	b = append(b, exportEntry(2, bootA, append(f, [2]string{"MESSAGE", "after"})...)...)
	return b
}

func TestReadJournalHugeMessage(t *testing.T) {
	_, file := makeJournal(t, hugeExport())
	got := readJournalAll(t, Options{Files: []string{file}, Units: []string{"chainfire.service"}})
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3", len(got))
	}
	if n := len(got[0].Message); n != 5+1<<20 || !strings.HasPrefix(got[0].Message, "WARN 0123") {
		t.Errorf("1 MiB message: got %d bytes %.20q", n, got[0].Message)
	}
	if n := len(got[1].Message); n != MaxFieldSize-len("MESSAGE=") {
		t.Errorf("huge message: got %d bytes, want it cut to %d", n, MaxFieldSize-len("MESSAGE="))
	}
	if got[2].Message != "after" {
		t.Errorf("entry after the huge ones: %q", got[2].Message)
	}
}

func TestReadJournalAfterCursor(t *testing.T) {
	_, file := makeJournalFrom(t, "basic.export")
	all := readJournalAll(t, Options{Files: []string{file}})
	for _, i := range []int{0, 5, len(all) - 1} {
		got := readJournalAll(t, Options{Files: []string{file}, AfterCursor: all[i].Cursor})
		if diff := cmp.Diff(all[i+1:], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after entry %d (-want +got):\n%s", i, diff)
		}
	}
	// A cursor whose entry is gone: reading resumes at the next entry.
	gone := "s=00000000000000000000000000000001;i=99;b=" + bootA + ";m=12a2a9100;t=6612b01d3a700;x=1"
	got := readJournalAll(t, Options{Files: []string{file}, AfterCursor: gone})
	if len(got) == 0 || got[0].Message != all[3].Message {
		t.Errorf("after a vanished cursor at 2.4 s: first entry %+v, want %q", got[0], all[3].Message)
	}
}

func TestReadJournalStops(t *testing.T) {
	_, file := makeJournal(t, bigExport(5000))
	stop := errors.New("stop")
	n := 0
	err := ReadJournal(context.Background(), Options{Files: []string{file}}, func(b []record.Entry) error {
		n += len(b)
		return stop
	})
	if errors.Is(err, ErrNoJournal) {
		t.Skip("no journal reader")
	}
	if !errors.Is(err, stop) || n == 0 || n > batchSize {
		t.Errorf("fn error: got %v after %d entries, want %v after one batch", err, n, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = ReadJournal(ctx, Options{Files: []string{file}}, func(b []record.Entry) error {
		n += len(b)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 5000 {
		t.Errorf("cancelled: got %v after %d entries, want context.Canceled before all 5000", err, n)
	}
}

// bigExport has n chainfire entries 10 ms apart.
func bigExport(n int) []byte {
	var b []byte
	f := fieldsOf("chainfire.service", "chainfire", 1234)
	for i := range n {
		b = append(b, exportEntry(float64(i)/100, bootA, append(f, [2]string{"MESSAGE", "INFO chainfire_api: Handled put request, latency=11ms"})...)...)
	}
	return b
}

// TestReadJournalClockJump reads a journal whose clock went back: journal
// order is not time order, and both readers must keep it (readJournalAll
// compares them).
func TestReadJournalClockJump(t *testing.T) {
	f := fieldsOf("chainfire.service", "chainfire", 1234)
	var b []byte
	var want []string
	add := func(sec float64) {
		msg := fmt.Sprintf("entry %d at %.1f", len(want), sec)
		want = append(want, msg)
		b = append(b, exportEntry(sec, bootA, append(f, [2]string{"MESSAGE", msg})...)...)
	}
	for i := range 200 {
		add(float64(i))
	}
	for i := range 100 {
		add(50 + float64(i)/2) // the clock went back 150 s
	}
	for i := range 200 {
		add(300 + float64(i))
	}
	_, file := makeJournal(t, b)
	for _, tc := range []struct {
		name  string
		opts  Options
		first int
	}{
		{"whole journal", Options{Files: []string{file}}, 0},
		{"since", Options{Files: []string{file}, Since: at(100)}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readJournalAll(t, tc.opts)
			var msgs []string
			for _, e := range got {
				msgs = append(msgs, e.Message)
			}
			var exp []string
			for i, m := range want[tc.first:] {
				// Since drops what the clock put before it.
				if tc.opts.Since.IsZero() || i+tc.first < 200 || i+tc.first >= 300 || 50+float64(i+tc.first-200)/2 >= 100 {
					exp = append(exp, m)
				}
			}
			if diff := cmp.Diff(exp, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadJournalUntilClockJump stops at --until as sd-journal (and
// journalctl) do: at the first entry its matches take at or after it, in
// journal order. An entry of another unit there does not stop the read, so
// the watched unit's entries after a clock step back are still read; a
// kernel entry (taken for the OOM killer's lines) does stop it.
func TestReadJournalUntilClockJump(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ahead [][2]string // the entry at 100 s, before the clock steps back
		want  int
	}{
		{"another unit", fieldsOf("sshd.service", "sshd", 99), 20},
		{"the kernel", [][2]string{{"_TRANSPORT", "kernel"}, {"SYSLOG_IDENTIFIER", "kernel"}, {"PRIORITY", "6"}}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			add := func(sec float64, fields [][2]string) {
				b = append(b, exportEntry(sec, bootA, append(fields, [2]string{"MESSAGE", fmt.Sprintf("at %.0f", sec)})...)...)
			}
			cf := fieldsOf("chainfire.service", "chainfire", 1234)
			for i := range 10 {
				add(float64(i), cf)
			}
			add(100, tc.ahead)
			for i := range 10 {
				add(20+float64(i), cf)
			}
			add(60, cf) // the stop
			add(30, cf)
			_, file := makeJournal(t, b)
			got := readJournalAll(t, Options{Files: []string{file}, Units: []string{"chainfire.service"}, Until: at(50)})
			if len(got) != tc.want {
				t.Errorf("got %d entries, want %d", len(got), tc.want)
			}
		})
	}
}
