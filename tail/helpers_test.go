package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
)

// makeJournal writes export-format data into DIR/x.journal with
// systemd-journal-remote and returns DIR and the file.
func makeJournal(tb testing.TB, export []byte) (dir, file string) {
	tb.Helper()
	dir = tb.TempDir()
	return dir, testjournal.Write(tb, dir, "x.journal", export)
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

// readJournalAll collects every entry ReadJournal returns, reading with the
// native reader (which must not hand over to sd-journal) and with
// sd-journal, which must agree; with a Boot, which only sd-journal reads,
// it reads once. It skips the test in builds without the journal reader.
func readJournalAll(tb testing.TB, opts Options) []record.Entry {
	tb.Helper()
	readers := []string{ReaderNative, ReaderSDJournal}
	if opts.Boot != "" {
		readers = readers[1:]
	}
	var results [][]record.Entry
	for _, r := range readers {
		opts.Reader, opts.OnFallback = r, nil
		if r == ReaderNative {
			opts.OnFallback = func(err error) { tb.Errorf("native reader handed over to sd-journal: %v", err) }
		}
		got, err := collectJournal(opts)
		if errors.Is(err, ErrNoJournal) {
			tb.Skip("journal reader not in this build (needs cgo)")
		}
		if err != nil {
			tb.Fatalf("ReadJournal(%+v): %v", opts, err)
		}
		results = append(results, got)
	}
	if diff := cmp.Diff(results[0], results[len(results)-1]); diff != "" {
		tb.Fatalf("ReadJournal(%+v): native (-) and sd-journal (+) differ:\n%s", opts, diff)
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
	d := time.Duration(sec * float64(time.Second))
	var flat []string
	for _, f := range fields {
		flat = append(flat, f[0], f[1])
	}
	return testjournal.Entry(nil, t0.Add(d), 5000*time.Second+d, boot, flat...)
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
