package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// makeJournal writes testdata/scan.export into a journal file with
// systemd-journal-remote and returns the file's directory and path. It skips
// the test when the tool or the journal reader (cgo) is missing.
func makeJournal(t *testing.T) (dir, file string) {
	t.Helper()
	export, err := os.ReadFile(filepath.Join("testdata", "scan.export"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	file = testjournal.Write(t, dir, "x.journal", export)
	err = tail.ReadJournal(t.Context(), tail.Options{Files: []string{file}}, func([]record.Entry) error { return nil })
	if errors.Is(err, tail.ErrNoJournal) {
		t.Skipf("journal reader not in this build: %v", err)
	}
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return dir, file
}

var cursorField = regexp.MustCompile(`"cursor":"[^"]*"`)

// normaliseEvents replaces cursors (they hold the random seqnum ID of the
// journal file) so that goldens compare.
func normaliseEvents(s string) string {
	return cursorField.ReplaceAllString(s, `"cursor":"<cursor>"`)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// scanCase runs cflogd with args in-process.
type scanCase struct {
	name   string
	args   []string
	stdin  string
	code   int
	golden string // testdata file the normalised stdout must equal
	dir    string // replaced by $DIR in stdout
}

func (tc scanCase) run(t *testing.T) string {
	t.Helper()
	a, stdout, stderr := testApp(tc.stdin)
	code := a.main(t.Context(), tc.args)
	if code != tc.code {
		t.Errorf("cflogd %s: exit code %d, want %d; stderr:\n%s", strings.Join(tc.args, " "), code, tc.code, stderr)
	}
	got := normaliseEvents(stdout.String())
	if tc.dir != "" {
		got = strings.ReplaceAll(got, tc.dir, "$DIR")
	}
	if tc.golden != "" {
		golden(t, tc.golden, got)
	}
	return got
}

func TestScanJournalEndToEnd(t *testing.T) {
	dir, file := makeJournal(t)
	export := filepath.Join("testdata", "scan.export")
	jsonl := []string{"--output", "jsonl", "--min-severity", "info"}
	cases := []scanCase{
		{name: "file", args: append([]string{"scan", "--file", file}, jsonl...), golden: "scan-all.golden"},
		{name: "directory", args: append([]string{"scan", "--directory", dir}, jsonl...), golden: "scan-all.golden"},
		// The export text itself, read as --input, gives the same events.
		{name: "export input", args: append([]string{"scan", "--input", export}, jsonl...), golden: "scan-all-input.golden"},
		{name: "window edges", args: append([]string{"scan", "--file", file,
			"--since", "2026-11-26 10:05:00", "--until", "2026-11-26T10:10:00Z"}, jsonl...), golden: "scan-window.golden"},
		{name: "unit", args: append([]string{"scan", "--directory", dir, "--unit", "flaredb"}, jsonl...), golden: "scan-unit-flaredb.golden"},
		{name: "previous boot", args: append([]string{"scan", "--file", file, "--boot", "-1"}, jsonl...), golden: "scan-boot-previous.golden"},
		{name: "default severity", args: []string{"scan", "--file", file, "--boot", "--output", "jsonl"}, golden: "scan-warning.golden"},
		{name: "fail-on found", args: []string{"scan", "--file", file, "--output", "jsonl", "--fail-on", "critical"}, code: exitFound},
		{name: "fail-on not found", args: []string{"scan", "--file", file, "--output", "jsonl", "--fail-on", "critical",
			"--since", "2026-11-26 10:09:00"}, code: exitOK},
		{name: "table", args: []string{"scan", "--file", file, "--min-severity", "info"}, golden: "scan-table.golden"},
		{name: "table window", args: []string{"scan", "--file", file, "--since", "2026-11-26 10:00", "--until", "2026-11-26 10:12"},
			golden: "scan-table-window.golden"},
		{name: "missing file", args: []string{"scan", "--file", filepath.Join(dir, "nope.journal")}, code: exitFailure},
		{name: "missing input", args: []string{"scan", "--input", filepath.Join(dir, "nope.txt")}, code: exitFailure},
	}
	for _, tc := range cases {
		tc.dir = dir
		t.Run(tc.name, func(t *testing.T) { tc.run(t) })
	}

	t.Run("export input equals journal file", func(t *testing.T) {
		fromFile := scanCase{args: append([]string{"scan", "--file", file}, jsonl...)}.run(t)
		fromInput := scanCase{args: append([]string{"scan", "--input", export}, jsonl...)}.run(t)
		if diff := cmp.Diff(stripCursors(fromFile), stripCursors(fromInput)); diff != "" {
			t.Errorf("--file vs --input of the same entries (-file +input):\n%s", diff)
		}
	})

	t.Run("journalctl output equals journal file", func(t *testing.T) {
		journalctl, err := exec.LookPath("journalctl")
		if err != nil {
			t.Skip("no journalctl")
		}
		fromFile := scanCase{args: append([]string{"scan", "--file", file}, jsonl...)}.run(t)
		for _, format := range []string{"json", "export"} {
			out, err := exec.Command(journalctl, "--file", file, "-o", format).Output()
			if err != nil {
				t.Fatalf("journalctl -o %s: %v", format, err)
			}
			fromInput := scanCase{args: append([]string{"scan", "--input", "-"}, jsonl...), stdin: string(out)}.run(t)
			if diff := cmp.Diff(fromFile, fromInput); diff != "" {
				t.Errorf("--file vs journalctl -o %s | scan --input - (-file +input):\n%s", format, diff)
			}
		}
	})

	t.Run("json array equals jsonl", func(t *testing.T) {
		lines := scanCase{args: append([]string{"scan", "--file", file}, jsonl...)}.run(t)
		array := scanCase{args: []string{"scan", "--file", file, "--output", "json", "--min-severity", "info"}}.run(t)
		var got []json.RawMessage
		if err := json.Unmarshal([]byte(array), &got); err != nil {
			t.Fatalf("--output json is not a JSON array: %v\n%s", err, array)
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
			want = append(want, l)
		}
		var gotS []string
		for _, m := range got {
			gotS = append(gotS, string(m))
		}
		if diff := cmp.Diff(want, gotS); diff != "" {
			t.Errorf("json vs jsonl (-jsonl +json):\n%s", diff)
		}
	})

	t.Run("other units never produce events", func(t *testing.T) {
		out := scanCase{args: append([]string{"scan", "--file", file}, jsonl...)}.run(t)
		for _, bad := range []string{"sshd", "ssh.service", "kex_exchange", "nvme0"} {
			if strings.Contains(out, bad) {
				t.Errorf("events mention %q, an entry of another unit:\n%s", bad, out)
			}
		}
	})
}

// stripCursors drops the cursor field, which only journal files have.
func stripCursors(s string) string {
	return strings.ReplaceAll(s, `,"cursor":"<cursor>"`, "")
}

func TestScanInput(t *testing.T) {
	lines, err := os.ReadFile(filepath.Join("testdata", "lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []scanCase{
		{name: "text with unit", args: []string{"scan", "--input", "testdata/lines.txt", "--unit", "chainfire", "--output", "jsonl", "--min-severity", "info"},
			golden: "input-unit.golden"},
		{name: "text unit inferred", args: []string{"scan", "--input", "testdata/lines.txt", "--output", "jsonl", "--min-severity", "info"},
			golden: "input-inferred.golden"},
		{name: "stdin", args: []string{"scan", "--input", "-", "--output", "jsonl", "--min-severity", "info"}, stdin: string(lines),
			golden: "input-inferred.golden"},
		{name: "stdin table", args: []string{"scan", "--input", "-"}, stdin: string(lines), golden: "input-table.golden"},
		{name: "empty stdin", args: []string{"scan", "--input", "-", "--output", "json"}, stdin: "", golden: "input-empty.golden"},
		{name: "fail-on", args: []string{"scan", "--input", "-", "--output", "jsonl", "--fail-on", "error"}, stdin: string(lines), code: exitFound},
		{name: "binary garbage", args: []string{"scan", "--input", "-", "--output", "jsonl"}, stdin: "\x00\x01\xff\n\n\x1b[\n" + strings.Repeat("x", 1<<20) + "\nERROR chainfire_raft: corrupted log entry\n",
			golden: "input-garbage.golden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t) })
	}
}

func TestScanPatternErrors(t *testing.T) {
	a, stdout, stderr := testApp("")
	code := a.main(t.Context(), []string{"scan", "--input", "-", "--patterns", "testdata/patterns-bad"})
	if code != exitUsage {
		t.Errorf("exit code = %d, want %d", code, exitUsage)
	}
	if !regexp.MustCompile(`(?m)^testdata/patterns-bad/\S+\.yaml:\d+:\d+: `).MatchString(stderr.String()) {
		t.Errorf("stderr does not list file:line:col errors:\n%s", stderr)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left") }

func TestScanWriteFailure(t *testing.T) {
	for _, output := range []string{"table", "json", "jsonl"} {
		t.Run(output, func(t *testing.T) {
			a, _, stderr := testApp("ERROR chainfire_raft: corrupted log entry\n")
			a.stdout = failingWriter{}
			code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", output})
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitFailure, stderr)
			}
			if !strings.Contains(stderr.String(), "no space left") {
				t.Errorf("stderr does not say why: %s", stderr)
			}
		})
	}
}

func TestScanProgress(t *testing.T) {
	a, _, stderr := testApp(strings.Repeat("WARN chainfire_raft: Election timeout\n", 3000))
	a.isTerminal = func(w io.Writer) bool { return w == a.stderr }
	a.progressAfter = 0
	code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl"})
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	got := stderr.String()
	if !strings.HasPrefix(got, "\r\x1b[Kscanning: ") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("stderr = %q, want a progress line that is cleared at the end", got)
	}
}

func TestScanProgressNotOnPipe(t *testing.T) {
	a, _, stderr := testApp(strings.Repeat("WARN chainfire_raft: Election timeout\n", 3000))
	a.progressAfter = 0
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl"}); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing when it is not a terminal", stderr)
	}
}

func TestScanColor(t *testing.T) {
	in := "ERROR chainfire_raft: corrupted log entry\n"
	tests := []struct {
		name  string
		args  []string
		env   string
		color bool
	}{
		{"terminal", nil, "", true},
		{"no-color flag", []string{"--no-color"}, "", false},
		{"NO_COLOR", nil, "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _ := testApp(in)
			a.isTerminal = func(w io.Writer) bool { return w == a.stdout }
			a.getenv = func(k string) string {
				if k == "NO_COLOR" {
					return tt.env
				}
				return ""
			}
			if code := a.main(t.Context(), append([]string{"scan", "--input", "-"}, tt.args...)); code != exitOK {
				t.Fatalf("exit code %d", code)
			}
			if got := strings.Contains(stdout.String(), "\x1b["); got != tt.color {
				t.Errorf("colour = %v, want %v:\n%s", got, tt.color, stdout)
			}
		})
	}
}

func TestScanLargeInputBoundedOrder(t *testing.T) {
	// Many batches through parallel workers: events come out in input order.
	var b bytes.Buffer
	for i := range 20000 {
		if i%3 == 0 {
			b.WriteString("WARN chainfire_storage: RocksDB stall detected, duration=")
			b.WriteString(strings.Repeat("1", 1+i%4))
			b.WriteString("ms\n")
		} else {
			b.WriteString("INFO chainfire_api: Handled put request, latency=15ms\n")
		}
	}
	a, stdout, stderr := testApp(b.String())
	a.workers = 4
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl", "--unit", "chainfire"}); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var n int
	for i, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev struct {
			Fields map[string]float64 `json:"fields"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		want := []float64{1, 11, 111, 1111}[(i*3)%4]
		if got := ev.Fields["duration_ms"]; got != want {
			t.Fatalf("event %d: duration_ms %v, want %v (out of order?)", i, got, want)
		}
		n++
	}
	if n != 6667 {
		t.Errorf("%d events, want 6667", n)
	}
}

func TestScanInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a, _, stderr := testApp("ERROR chainfire_raft: corrupted log entry\n")
	if code := a.main(ctx, []string{"scan", "--input", "-", "--output", "jsonl"}); code != exitFailure {
		t.Errorf("exit code = %d, want %d", code, exitFailure)
	}
	if stderr.String() != "cflogd scan: interrupted\n" {
		t.Errorf("stderr = %q, want it to say the scan was interrupted", stderr)
	}
}

func TestScanSkipsMalformedInput(t *testing.T) {
	in := `{"MESSAGE":"ERROR chainfire_raft: corrupted log entry","_SYSTEMD_UNIT":"chainfire.service","__REALTIME_TIMESTAMP":"1795687200000000","_HOSTNAME":"n1"}
{"MESSAGE": broken
{"MESSAGE":"WARN chainfire_raft: Election timeout","_SYSTEMD_UNIT":"chainfire.service","__REALTIME_TIMESTAMP":"1795687201000000","_HOSTNAME":"n1"}
{"MESSAGE":"Timeout before authentication","_SYSTEMD_UNIT":"ssh.service","__REALTIME_TIMESTAMP":"1795687202000000","_HOSTNAME":"n1","PRIORITY":"3"}
`
	a, stdout, stderr := testApp(in)
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl"}); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var sigs []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev struct{ Signature string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, ev.Signature)
	}
	if diff := cmp.Diff([]string{"chainfire.corrupted_log", "chainfire.election_timeout"}, sigs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr.String(), "skipped malformed input entry") || !strings.Contains(stderr.String(), "line 2") {
		t.Errorf("stderr = %q, want the skipped line 2 reported", stderr)
	}
}
