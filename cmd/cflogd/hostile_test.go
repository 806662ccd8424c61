package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// hostileEntry is one journal entry of hostileExport.
type hostileEntry struct {
	host, msg string
}

// terminalEscape clears the screen, sets the window title and plants an
// OSC 8 hyperlink, were it printed raw to a terminal.
const terminalEscape = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07"

// hostileEntries are the entries of the hostile journal, in order, and the
// marker of each event they must give ("" for none).
func hostileEntries() ([]hostileEntry, []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 10<<20) // 10 MiB: over the reader's 8 MiB field limit
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}
	stall := "WARN chainfire_storage: RocksDB stall detected, duration=%dms %s"
	entries := []hostileEntry{
		{"node01", fmt.Sprintf(stall, 1001, "before")},
		{"node01", fmt.Sprintf(stall, 1002, "huge ") + string(junk)},
		{"node01", "WARN chainfire_raft: election timeout, no heartbeat from leader binary \x00\x01\xff\xfe\x00 end"},
		{"node\xff\xfe01", fmt.Sprintf(stall, 1003, "badhost \xc3\x28 \xed\xa0\x80")},
		{"node01", string(noise)},
		{"node01", fmt.Sprintf(stall, 1004, "escape "+terminalEscape)},
		{"node01", fmt.Sprintf(stall, 1005, "after")},
	}
	// The events: a signature and the duration_ms or marker that tells them
	// apart.
	// The noise is a WARN entry (PRIORITY=4) that no signature knows.
	want := []string{
		"chainfire.rocksdb_stall 1001", "chainfire.rocksdb_stall 1002", "chainfire.election_timeout binary",
		"chainfire.rocksdb_stall 1003", "service.unclassified", "chainfire.rocksdb_stall 1004", "chainfire.rocksdb_stall 1005",
	}
	return entries, want
}

// hostileExport renders the entries in journal export format (a field
// with any byte outside printable ASCII in the binary form).
func hostileExport(base time.Time) []byte {
	entries, _ := hostileEntries()
	var b []byte
	for i, e := range entries {
		b = testjournal.Entry(b, base.Add(time.Duration(i)*time.Millisecond), time.Second+time.Duration(i)*time.Microsecond, e2eBoot,
			"_HOSTNAME", e.host, "_SYSTEMD_UNIT", "chainfire.service", "SYSLOG_IDENTIFIER", "chainfire", "_PID", "1234", "PRIORITY", "4", "MESSAGE", e.msg)
	}
	return b
}

// eventsOf returns "signature duration_ms" (or the election timeout's
// marker) of every event JSON line in out, in order, and checks that each
// line is valid UTF-8 JSON with a message within the event limit.
func eventsOf(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"signature":`) {
			continue
		}
		if !utf8.ValidString(line) || !json.Valid([]byte(line)) {
			t.Errorf("event line is not valid UTF-8 JSON: %.300q", line)
			continue
		}
		var ev struct {
			Signature, Message, Host string
			Fields                   map[string]any
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if m, cut, ok := strings.Cut(ev.Message, "…[truncated "); ok {
			if len(m) > classify.MaxMessageBytes || !strings.HasSuffix(cut, " bytes]") {
				t.Errorf("%s: message cut to %d bytes (%q), want at most %d and how much was cut", ev.Signature, len(m), cut, classify.MaxMessageBytes)
			}
		} else if len(ev.Message) > classify.MaxMessageBytes {
			t.Errorf("%s: message of %d bytes, over the limit of %d", ev.Signature, len(ev.Message), classify.MaxMessageBytes)
		}
		if strings.Contains(ev.Message, "huge") && !strings.Contains(ev.Message, "…[truncated ") {
			t.Errorf("the huge message was not cut with a note: %d bytes", len(ev.Message))
		}
		key := ev.Signature
		if d, ok := ev.Fields["duration_ms"]; ok {
			key += fmt.Sprintf(" %v", d)
		} else if strings.Contains(ev.Message, "binary") {
			key += " binary"
		}
		got = append(got, key)
	}
	return got
}

// checkNoControl fails for a control character other than newline and tab
// in what cflogd prints for a terminal.
func checkNoControl(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			lo := max(0, i-80)
			t.Errorf("%s prints control character %U at byte %d: …%q", what, r, i, out[lo:min(len(out), i+20)])
			return
		}
	}
}

// TestHostileJournalInput feeds a journal with a 10 MiB MESSAGE of random
// bytes, a binary message with NULs, invalid UTF-8 in _HOSTNAME, a message
// of pure noise and terminal escape sequences, between ordinary entries, to
// `cflogd scan` as export input and as a journal file written by
// systemd-journal-remote, and to `cflogd run`: no crash, valid JSON, no
// control characters on the terminal, and every event around them.
func TestHostileJournalInput(t *testing.T) {
	bin := buildCflogd(t)
	_, want := hostileEntries()
	base := time.Now().Add(-time.Minute)
	hostile := hostileExport(base)
	export := filepath.Join(t.TempDir(), "hostile.export")
	if err := os.WriteFile(export, hostile, 0o600); err != nil {
		t.Fatal(err)
	}
	jdir := t.TempDir()
	testjournal.Write(t, jdir, "hostile.journal", hostile)

	for _, src := range []struct{ name, flag, path string }{{"export input", "--input", export}, {"journal file", "--directory", jdir}} {
		t.Run(src.name, func(t *testing.T) {
			out, code := runCflogdStdout(t, bin, "scan", src.flag, src.path, "--output", "jsonl", "--min-severity", "info")
			if code != exitOK {
				t.Fatalf("scan: exit %d", code)
			}
			if diff := cmp.Diff(want, eventsOf(t, out)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			for _, output := range []string{"table", "json"} {
				out, code := runCflogdStdout(t, bin, "scan", src.flag, src.path, "--output", output, "--min-severity", "info")
				if code != exitOK {
					t.Errorf("scan --output %s: exit %d", output, code)
				}
				if output == "json" {
					if !json.Valid([]byte(out)) || !utf8.ValidString(out) {
						t.Errorf("scan --output json is not valid UTF-8 JSON")
					}
					continue // for programs: JSON escapes what must be escaped
				}
				checkNoControl(t, "scan --output "+output, out)
			}
		})
	}

	t.Run("explain", func(t *testing.T) {
		entries, _ := hostileEntries()
		stdin := entries[2].msg + "\n" + entries[3].msg + "\n" + entries[5].msg + "\n"
		out, code := runCflogdStdin(t, bin, stdin, "explain", "--unit", "chainfire", "-")
		if code != exitOK {
			t.Errorf("explain: exit %d", code)
		}
		if n := strings.Count(out, "chainfire.rocksdb_stall"); n < 2 {
			t.Errorf("explain found %d stalls, want 2:\n%s", n, out)
		}
		checkNoControl(t, "explain", out)
	})

	t.Run("run", func(t *testing.T) {
		stateDir := filepath.Join(t.TempDir(), "state")
		cfg := writeHeadConfig(t, stateDir, "", jdir, "", `[[sink]]
type = "stdout"`)
		p := startDaemon(t, bin, cfg)
		testpeer.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(p.out.String(), `"duration_ms":1005`)
		}, "the event after the hostile entries")
		p.term(t)
		if diff := cmp.Diff(want, eventsOf(t, p.out.String())); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// runCflogdStdout runs the binary and returns its standard output (the
// standard error goes to the test log on failure) and exit code.
func runCflogdStdout(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	return runCflogdStdin(t, bin, "", args...)
}

// runCflogdStdin is runCflogdStdout with stdin as the standard input.
func runCflogdStdin(t *testing.T, bin, stdin string, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("run cflogd %v: %v", args, err)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Logf("cflogd %s: stderr:\n%s", strings.Join(args, " "), tail4k(stderr.String()))
	}
	return stdout.String(), cmd.ProcessState.ExitCode()
}
