package tail

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

const journalRemote = "/lib/systemd/systemd-journal-remote"

// makeJournal writes export-format data into DIR/x.journal with
// systemd-journal-remote and returns DIR and the file.
func makeJournal(tb testing.TB, export []byte) (dir, file string) {
	tb.Helper()
	if _, err := os.Stat(journalRemote); err != nil {
		tb.Skipf("%s not found (install systemd-journal-remote): %v", journalRemote, err)
	}
	dir = tb.TempDir()
	file = filepath.Join(dir, "x.journal")
	cmd := exec.Command(journalRemote, "-o", file, "-")
	cmd.Stdin = bytes.NewReader(export)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", journalRemote, err, out)
	}
	return dir, file
}

// makeJournalFrom is makeJournal over a testdata file.
func makeJournalFrom(tb testing.TB, name string) (dir, file string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return makeJournal(tb, b)
}

// readJournalAll collects every entry ReadJournal returns, reading on one
// thread and on three, which must agree; it skips the test in builds
// without the journal reader.
func readJournalAll(tb testing.TB, opts Options) []record.Entry {
	tb.Helper()
	var results [][]record.Entry
	for _, p := range []int{1, 3} {
		opts.Parallel = p
		got, err := collectJournal(opts)
		if errors.Is(err, ErrNoJournal) {
			tb.Skip("journal reader not in this build (needs cgo)")
		}
		if err != nil {
			tb.Fatalf("ReadJournal(%+v): %v", opts, err)
		}
		results = append(results, got)
	}
	if diff := cmp.Diff(results[0], results[1]); diff != "" {
		tb.Fatalf("ReadJournal(%+v): one thread (-) and three (+) differ:\n%s", opts, diff)
	}
	return results[0]
}

func collectJournal(opts Options) ([]record.Entry, error) {
	var got []record.Entry
	err := ReadJournal(context.Background(), opts, func(b []record.Entry) error {
		got = append(got, b...)
		return nil
	})
	return got, err
}

// journalctl runs journalctl with args and returns its stdout.
func journalctl(tb testing.TB, args ...string) []byte {
	tb.Helper()
	path, err := exec.LookPath("journalctl")
	if err != nil {
		tb.Skipf("journalctl not found: %v", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("journalctl %q: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// exportField appends one field in export format, in binary form when the
// value needs it or bin is set.
func exportField(b []byte, name string, value []byte, bin bool) []byte {
	if !bin && !bytes.ContainsAny(value, "\n") && isPrintable(value) {
		b = append(b, name...)
		b = append(b, '=')
		b = append(b, value...)
		return append(b, '\n')
	}
	b = append(b, name...)
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	return append(b, '\n')
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

const (
	bootA = "5c0ffee05c0ffee05c0ffee05c0ffee0"
	bootB = "b0070000b0070000b0070000b0070001"
)

// t0 is the time of the first entry of testdata/basic.export.
var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// at is t0 plus the seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))).Local() }

// exportEntry renders one entry for systemd-journal-remote.
func exportEntry(sec float64, boot string, fields ...[2]string) []byte {
	us := t0.UnixMicro() + int64(sec*1e6)
	var b []byte
	b = exportField(b, "__REALTIME_TIMESTAMP", []byte(strconv.FormatInt(us, 10)), false)
	b = exportField(b, "__MONOTONIC_TIMESTAMP", []byte(strconv.FormatInt(5_000_000_000+int64(sec*1e6), 10)), false)
	b = exportField(b, "_BOOT_ID", []byte(boot), false)
	for _, f := range fields {
		b = exportField(b, f[0], []byte(f[1]), false)
	}
	return append(b, '\n')
}

func fieldsOf(unit, ident string, pid int) [][2]string {
	var f [][2]string
	f = append(f, [2]string{"_HOSTNAME", "node01"})
	if unit != "" {
		f = append(f, [2]string{"_SYSTEMD_UNIT", unit})
	}
	if ident != "" {
		f = append(f, [2]string{"SYSLOG_IDENTIFIER", ident})
	}
	if pid != 0 {
		f = append(f, [2]string{"_PID", fmt.Sprint(pid)})
	}
	return f
}
