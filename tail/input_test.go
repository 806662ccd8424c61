package tail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
)

func readInputAll(tb testing.TB, in []byte, opts InputOptions) (got []record.Entry, skipped []error) {
	tb.Helper()
	opts.OnSkip = func(err error) { skipped = append(skipped, err) }
	err := ReadInput(context.Background(), bytes.NewReader(in), opts, func(b []record.Entry) error {
		got = append(got, b...)
		return nil
	})
	if err != nil {
		tb.Fatalf("ReadInput: %v", err)
	}
	return got, skipped
}

// TestReadInputSameAsJournal checks that journalctl's -o json and -o export
// of a journal give the entries ReadJournal reads from it.
func TestReadInputSameAsJournal(t *testing.T) {
	_, basicFile := makeJournalFrom(t, "basic.export")
	_, binaryFile := makeJournalFrom(t, "binary.export")
	_, hugeFile := makeJournal(t, hugeExport())
	for _, j := range []struct{ name, file string }{{"basic", basicFile}, {"binary", binaryFile}, {"huge", hugeFile}} {
		for _, units := range [][]string{nil, {"chainfire.service", "flaredb.service"}} {
			want := readJournalAll(t, Options{Files: []string{j.file}, Units: units})
			for _, format := range []string{"json", "export"} {
				t.Run(fmt.Sprintf("%s/%s/%d units", j.name, format, len(units)), func(t *testing.T) {
					out := journalctl(t, "--file", j.file, "-o", format, "--all")
					got, skipped := readInputAll(t, out, InputOptions{Units: units})
					if len(skipped) > 0 {
						t.Errorf("skipped: %v", skipped)
					}
					if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("-o %s (-journal +input):\n%s", format, diff)
					}
				})
			}
		}
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		in   string
		want inputFormat
	}{
		{"", formatCat},
		{"WARN chainfire_storage: RocksDB stall detected, duration=2000ms\n", formatCat},
		{"2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall\n", formatCat},
		{`{"level":"warn","msg":"x"}` + "\n", formatCat},
		{`{"__CURSOR":"s=1","MESSAGE":"x"}` + "\n", formatJSON},
		{"\n" + `{"MESSAGE":[1,2]}`, formatJSON},
		{"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1\nMESSAGE=x\n\n", formatExport},
		{"__REALTIME_TIMESTAMP=1795687200000000\n", formatExport},
		{"MESSAGE\n\x01\x00\x00\x00\x00\x00\x00\x00x\n\n", formatExport},
		{"MESSAGE=x\n", formatExport},
		{"WARN=x\n", formatCat},
		{"Nov 26 10:00:00 node01 chainfire[1234]: hi\n", formatCat}, // text; readText tells cat from short
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := detectFormat(newBufReader(tc.in))
			if err != nil || got != tc.want {
				t.Errorf("detectFormat(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestReadInputText(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	tm := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	short := func(ts, host, ident string, pid int, msg string) record.Entry {
		return record.Entry{Time: tm(ts), Host: host, Identifier: ident, PID: pid, Unit: ident + ".service", Priority: -1, Message: msg}
	}
	cat := func(msg string) record.Entry {
		return record.Entry{Host: "here", Unit: "chainfire.service", Priority: -1, Message: msg}
	}
	tests := []struct {
		name    string
		in      string
		opts    InputOptions
		want    []record.Entry
		skipped int
	}{
		{
			name: "short",
			in: "-- Journal begins at Thu 2026-11-26 09:00:00 UTC, ends at Thu 2026-11-26 10:05:01 UTC. --\n" +
				"Nov 26 10:00:00 node01 chainfire[1234]: WARN chainfire_storage: RocksDB stall detected, duration=2000ms\n" +
				"Nov 26 10:00:09 node01 kernel: EXT4-fs (sda1): mounted filesystem\n" +
				"-- Boot b0070000b0070000b0070000b0070001 --\n" +
				"Nov  6 10:05:00 node02 flaredb[2002]: \n",
			want: []record.Entry{
				short("2026-11-26T10:00:00Z", "node01", "chainfire", 1234, "WARN chainfire_storage: RocksDB stall detected, duration=2000ms"),
				short("2026-11-26T10:00:09Z", "node01", "kernel", 0, "EXT4-fs (sda1): mounted filesystem"),
				short("2026-11-06T10:05:00Z", "node02", "flaredb", 2002, ""),
			},
		},
		{
			name: "short from last year",
			in:   "Dec 31 23:59:59 node01 chainfire[1]: late\n",
			want: []record.Entry{short("2025-12-31T23:59:59Z", "node01", "chainfire", 1, "late")},
		},
		{
			name: "short with --unit and a multi-line message",
			in: "Nov 26 10:00:02 node01 chainfire[1234]: line one\n" +
				"                                        line two\n" +
				"                                        \ttabbed\n" +
				"Nov 26 10:00:03 node01 chainfire[1234]: next\n",
			opts: InputOptions{Unit: "chainfire.service"},
			want: []record.Entry{
				short("2026-11-26T10:00:02Z", "node01", "chainfire", 1234, "line one\nline two\n\ttabbed"),
				short("2026-11-26T10:00:03Z", "node01", "chainfire", 1234, "next"),
			},
		},
		{
			name: "short-precise, short-iso, short-iso-precise, short-full, short-unix",
			in: "Nov 26 10:00:00.123456 node01 chainfire[1234]: a\n" +
				"2026-11-26T11:00:01+0100 node01 chainfire[1234]: b\n" +
				"2026-11-26T10:00:02.5-02:00 node01 chainfire[1234]: c\n" +
				"Thu 2026-11-26 10:00:03 UTC node01 chainfire[1234]: d\n" +
				"1795687204.000001 node01 chainfire[1234]: e\n",
			want: []record.Entry{
				short("2026-11-26T10:00:00.123456Z", "node01", "chainfire", 1234, "a"),
				short("2026-11-26T10:00:01Z", "node01", "chainfire", 1234, "b"),
				short("2026-11-26T12:00:02.5Z", "node01", "chainfire", 1234, "c"),
				short("2026-11-26T10:00:03Z", "node01", "chainfire", 1234, "d"),
				short("2026-11-26T10:00:04.000001Z", "node01", "chainfire", 1234, "e"),
			},
		},
		{
			name: "a line that is not short is skipped in short mode",
			in: "Nov 26 10:00:00 node01 chainfire[1234]: a\n" +
				"garbage\n" +
				"Nov 26 10:00:01 node01 chainfire[1234]: b\n",
			want: []record.Entry{
				short("2026-11-26T10:00:00Z", "node01", "chainfire", 1234, "a"),
				short("2026-11-26T10:00:01Z", "node01", "chainfire", 1234, "b"),
			},
			skipped: 1,
		},
		{
			name: "cat: runbook form, tracing timestamps, ANSI colours, JSON logs",
			in: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms\n" +
				"2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall detected\n" +
				"2026-11-26T10:00:00.123456Z ERROR chainfire_storage: failed: x\n" +
				"2026-11-26T10:00:00.123456+00:00 ERROR chainfire_storage: failed: y\n" +
				"\x1b[33m WARN\x1b[0m chainfire_raft: Election timeout\r\n" +
				"\n" +
				`{"level":"WARN","target":"chainfire_raft"}` + "\n" +
				"Nov 26 10:00:00 node01 chainfire[1234]: not the first line\n" +
				"last line without newline",
			opts: InputOptions{Unit: "chainfire.service", Host: "here"},
			want: []record.Entry{
				cat("WARN chainfire_storage: RocksDB stall detected, duration=2000ms"),
				withTime(tracingTime, cat("2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall detected")),
				withTime(tracingTime, cat("2026-11-26T10:00:00.123456Z ERROR chainfire_storage: failed: x")),
				withTime(tracingTime, cat("2026-11-26T10:00:00.123456+00:00 ERROR chainfire_storage: failed: y")),
				cat("\x1b[33m WARN\x1b[0m chainfire_raft: Election timeout"),
				cat(`{"level":"WARN","target":"chainfire_raft"}`),
				cat("Nov 26 10:00:00 node01 chainfire[1234]: not the first line"),
				cat("last line without newline"),
			},
		},
		{
			name: "cat keeps invalid UTF-8 and NUL",
			in:   "bad \xff\xfe utf-8\nnul \x00 byte\n",
			opts: InputOptions{Unit: "chainfire.service", Host: "here"},
			want: []record.Entry{cat("bad \xff\xfe utf-8"), cat("nul \x00 byte")},
		},
		{
			name: "window applies to short lines",
			in: "Nov 26 09:59:59 node01 chainfire[1234]: before\n" +
				"Nov 26 10:00:00 node01 chainfire[1234]: since\n" +
				"Nov 26 10:00:01 node01 chainfire[1234]: until\n" +
				"Nov 26 10:00:01.000001 node01 chainfire[1234]: after\n",
			opts: InputOptions{Since: tm("2026-11-26T10:00:00Z"), Until: tm("2026-11-26T10:00:01Z")},
			want: []record.Entry{
				short("2026-11-26T10:00:00Z", "node01", "chainfire", 1234, "since"),
				short("2026-11-26T10:00:01Z", "node01", "chainfire", 1234, "until"),
			},
		},
		{
			name: "window does not apply to cat lines",
			in:   "no time\n",
			opts: InputOptions{Unit: "chainfire.service", Host: "here", Since: tm("2026-11-26T10:00:00Z")},
			want: []record.Entry{cat("no time")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Location = time.UTC
			tc.opts.Now = now
			got, skipped := readInputAll(t, []byte(tc.in), tc.opts)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if len(skipped) != tc.skipped {
				t.Errorf("skipped %v, want %d", skipped, tc.skipped)
			}
		})
	}
}

func TestReadInputCatHost(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	got, _ := readInputAll(t, []byte("x\n"), InputOptions{})
	if len(got) != 1 || got[0].Host != host || got[0].Unit != "" {
		t.Errorf("got %+v, want host %q and no unit", got, host)
	}
}

func TestReadInputLongLines(t *testing.T) {
	long := strings.Repeat("a", 3<<20)
	tooLong := strings.Repeat("b", MaxFieldSize+100)
	in := "WARN x: " + long + "\n" + tooLong + "\nshort\n"
	got, _ := readInputAll(t, []byte(in), InputOptions{Host: "h"})
	var lens []int
	for _, e := range got {
		lens = append(lens, len(e.Message))
	}
	if diff := cmp.Diff([]int{len(long) + 8, maxMessage, 5}, lens); diff != "" {
		t.Errorf("message lengths (-want +got):\n%s", diff)
	}

	// The same through -o json and -o export.
	for _, format := range []string{"json", "export"} {
		var b []byte
		for i, m := range []string{long, tooLong, "short"} {
			b = append(b, renderEntry(format, i, m)...)
		}
		got, skipped := readInputAll(t, b, InputOptions{})
		lens = lens[:0]
		for _, e := range got {
			lens = append(lens, len(e.Message))
		}
		if diff := cmp.Diff([]int{len(long), maxMessage, 5}, lens); diff != "" || len(skipped) > 0 {
			t.Errorf("%s: message lengths (-want +got):\n%s\nskipped: %v", format, diff, skipped)
		}
	}
}

// renderEntry writes a chainfire entry at t0+i s in -o json or -o export.
func renderEntry(format string, i int, msg string) []byte {
	us := t0.UnixMicro() + int64(i)*1e6
	if format == "json" {
		return fmt.Appendf(nil, `{"__REALTIME_TIMESTAMP":"%d","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":%q}`+"\n", us, msg)
	}
	b := testjournal.Field(nil, "__REALTIME_TIMESTAMP", fmt.Sprint(us))
	b = testjournal.Field(b, "_SYSTEMD_UNIT", "chainfire.service")
	if i%2 == 1 {
		return append(testjournal.BinaryField(b, "MESSAGE", msg), '\n')
	}
	b = testjournal.Field(b, "MESSAGE", msg)
	return append(b, '\n')
}

func TestReadInputMalformed(t *testing.T) {
	good := func(i int) record.Entry {
		return record.Entry{Time: t0.Add(time.Duration(i) * time.Second), Unit: "chainfire.service", Priority: -1, Message: fmt.Sprint("m", i)}
	}
	tests := []struct {
		name    string
		in      []byte
		want    []record.Entry
		skipped []int // lines
	}{
		{
			name: "export: bad names, bad timestamp, no MESSAGE",
			in: bytes.Join([][]byte{
				renderEntry("export", 0, "m0"),
				[]byte("__REALTIME_TIMESTAMP=1\nbad name=x\nMESSAGE=lost\n\n"),
				[]byte("__REALTIME_TIMESTAMP=soon\nMESSAGE=lost\n\n"),
				[]byte("__REALTIME_TIMESTAMP=1\n_SYSTEMD_UNIT=chainfire.service\n\n"),
				[]byte("lowercase\n\x01\x00\x00\x00\x00\x00\x00\x00x\n\n"),
				renderEntry("export", 1, "m1"),
			}, nil),
			want:    []record.Entry{good(0), good(1)},
			skipped: []int{5, 9, 15},
		},
		{
			name: "export: binary value without newline, then a good entry",
			in: bytes.Join([][]byte{
				[]byte("MESSAGE\n\x01\x00\x00\x00\x00\x00\x00\x00xy\n\n"),
				renderEntry("export", 1, "m1"),
			}, nil),
			want:    []record.Entry{good(1)},
			skipped: []int{1},
		},
		{
			name: "export: truncated binary value",
			in: bytes.Join([][]byte{
				renderEntry("export", 0, "m0"),
				[]byte("MESSAGE\n\xff\x00\x00\x00\x00\x00\x00\x00short"),
			}, nil),
			want:    []record.Entry{good(0)},
			skipped: []int{5},
		},
		{
			name: "json: broken lines, null MESSAGE, bad byte arrays",
			in: bytes.Join([][]byte{
				renderEntry("json", 0, "m0"),
				[]byte(`{"MESSAGE":"x"` + "\n"),
				[]byte(`{"MESSAGE":null,"__CURSOR":"c"}` + "\n"),
				[]byte(`{"MESSAGE":[1,300]}` + "\n"),
				[]byte(`{"MESSAGE":{"a":1}}` + "\n"),
				[]byte(`{"__REALTIME_TIMESTAMP":"x","MESSAGE":"m"}` + "\n"),
				[]byte(`{"_PID":"1"}` + "\n"),
				renderEntry("json", 1, "m1"),
			}, nil),
			want:    []record.Entry{good(0), good(1)},
			skipped: []int{2, 3, 4, 5, 6},
		},
		{
			name: "json: byte arrays, repeated fields, numbers",
			in: []byte(`{"__REALTIME_TIMESTAMP":1795687200000000,"_SYSTEMD_UNIT":["chainfire.service","other"],"MESSAGE":[109,48]}` + "\n" +
				`{"__REALTIME_TIMESTAMP":"1795687201000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":[[109,49],"second"]}` + "\n" +
				"\x1e" + `{"__REALTIME_TIMESTAMP":"1795687202000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":[]}` + "\n"),
			want: []record.Entry{good(0), good(1), {Time: t0.Add(2 * time.Second), Unit: "chainfire.service", Priority: -1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped := readInputAll(t, tc.in, InputOptions{})
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			var lines []int
			for _, err := range skipped {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("skip error %v is not an *InputError", err)
				}
				lines = append(lines, ie.Line)
			}
			if diff := cmp.Diff(tc.skipped, lines, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("skipped lines (-want +got):\n%s\nerrors: %v", diff, skipped)
			}
		})
	}
}

func TestReadInputStops(t *testing.T) {
	in := strings.Repeat("line\n", 10*batchSize)
	stop := errors.New("stop")
	n := 0
	err := ReadInput(context.Background(), strings.NewReader(in), InputOptions{Host: "h"}, func(b []record.Entry) error {
		n += len(b)
		return stop
	})
	if !errors.Is(err, stop) || n != batchSize {
		t.Errorf("got %v after %d entries, want %v after %d", err, n, stop, batchSize)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = ReadInput(ctx, strings.NewReader(in), InputOptions{Host: "h"}, func(b []record.Entry) error {
		n += len(b)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 10*batchSize {
		t.Errorf("cancelled: got %v after %d entries", err, n)
	}
	err = ReadInput(context.Background(), iotestErrReader{}, InputOptions{}, func([]record.Entry) error { return nil })
	if !errors.Is(err, errBroken) {
		t.Errorf("read error: got %v, want %v", err, errBroken)
	}
}

var errBroken = errors.New("broken")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBroken }

// FuzzExport checks that the export parser never panics and that what it
// returns, written out again, parses to the same entries.
func FuzzExport(f *testing.F) {
	addSeeds(f, "*.export")
	f.Add([]byte("MESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00a\x00\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) { sameAsExport(t, in, readExport, "round trip (-first +second)") })
}

// FuzzJSON checks that the JSON reader never panics and agrees with the
// export parser on what it returns.
func FuzzJSON(f *testing.F) {
	addSeeds(f, "*.json")
	f.Add([]byte(`{"MESSAGE":[[1,2],"x"],"_PID":"12","PRIORITY":"3"}`))
	f.Fuzz(func(t *testing.T, in []byte) { sameAsExport(t, in, readJSON, "json vs export (-json +export)") })
}

// sameAsExport checks that the entries parse reads from in, written out in
// the export format, parse to the same entries; diff names the comparison.
func sameAsExport(t *testing.T, in []byte, parse func(*lineReader, *fieldSel, func(*record.Entry) error, func(int, error)) error, diff string) {
	got := parseAll(t, in, parse)
	var out []byte
	for _, e := range got {
		out = append(out, writeExport(e)...)
	}
	again := parseAll(t, out, readExport)
	if d := cmp.Diff(got, again, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s:\n%s", diff, d)
	}
}

func addSeeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func parseAll(t *testing.T, in []byte, parse func(*lineReader, *fieldSel, func(*record.Entry) error, func(int, error)) error) []record.Entry {
	var got []record.Entry
	sel, _ := newFieldSel(FieldSelect{}, nil, nil)
	err := parse(&lineReader{r: newBufReader(string(in))}, sel, func(e *record.Entry) error {
		got = append(got, *e)
		return nil
	}, func(int, error) {})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return got
}

// writeExport renders the fields of e that are set, in export format.
func writeExport(e record.Entry) []byte {
	var b []byte
	if !e.Time.IsZero() {
		b = testjournal.Field(b, "__REALTIME_TIMESTAMP", fmt.Sprint(e.Time.UnixMicro()))
	}
	for _, f := range []struct{ name, v string }{
		{"__CURSOR", e.Cursor}, {"_SYSTEMD_UNIT", e.Unit}, {"SYSLOG_IDENTIFIER", e.Identifier},
		{"TARGET", e.Target}, {"_HOSTNAME", e.Host}, {"_BOOT_ID", e.BootID},
	} {
		if f.v != "" {
			b = testjournal.Field(b, f.name, f.v)
		}
	}
	if e.Priority >= 0 {
		b = testjournal.Field(b, "PRIORITY", fmt.Sprint(e.Priority))
	}
	if e.PID != 0 {
		b = testjournal.Field(b, "_PID", fmt.Sprint(e.PID))
	}
	for _, f := range e.Fields {
		b = testjournal.Field(b, DefaultFieldPrefix+strings.ToUpper(f.Name), f.Value)
	}
	b = testjournal.Field(b, "MESSAGE", e.Message)
	return append(b, '\n')
}

// newBufReader reads s through the smallest bufio buffer, so that long
// lines take the slow paths.
func newBufReader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 16) }

// tracingTime is the time at the start of the tracing-format lines above.
var tracingTime = time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)

// withTime sets an entry's time.
func withTime(t time.Time, e record.Entry) record.Entry {
	e.Time = t
	return e
}

func TestLeadingTime(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Time
	}{
		{"2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall detected", time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)},
		{"\x1b[2m2026-11-26T10:00:01Z\x1b[0m \x1b[33m WARN\x1b[0m chainfire_raft: Election timeout", time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC)},
		{"2026-11-26T11:00:00+01:00 INFO x: y", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)},
		{"WARN chainfire_storage: RocksDB stall detected, duration=2000ms", time.Time{}},
		{"2026-11-26 10:00:00 not rfc3339", time.Time{}},
		{"2026-13-45T99:00:00Z broken", time.Time{}},
		{"\x1b[", time.Time{}},
		{"", time.Time{}},
	} {
		if got := leadingTime([]byte(tc.line)); !got.Equal(tc.want) {
			t.Errorf("leadingTime(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
