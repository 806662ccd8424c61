package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testjournal"
)

// fleetJournal writes the journals of node1, node2 and node3 into one
// directory, a file per node, as systemd-journal-remote collects them:
// node1 has two election timeouts, node3 one, node2 a RocksDB stall; each
// also has healthy lines.
func fleetJournal(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	election := "WARN raft{node_id=1 term=7}: chainfire_raft: election timeout, no heartbeat from leader"
	stall := "WARN chainfire_storage: RocksDB stall detected, duration=1500ms"
	healthy := "INFO chainfire_server: applied index 12"
	nodes := []struct {
		host string
		msgs []string
	}{
		{"node1", []string{healthy, election, healthy, election}},
		{"node2", []string{healthy, stall, healthy}},
		{"node3", []string{election, healthy}},
	}
	for n, node := range nodes {
		var b []byte
		boot := fmt.Sprintf("%032x", n+1)
		for i, msg := range node.msgs {
			b = testjournal.Entry(b, base.Add(time.Duration(10*i+n)*time.Minute), time.Duration(1000+i)*time.Second, boot,
				"_HOSTNAME", node.host, "_SYSTEMD_UNIT", "chainfire.service", "SYSLOG_IDENTIFIER", "chainfire", "PRIORITY", "4", "MESSAGE", msg)
		}
		testjournal.Write(t, dir, "remote-"+node.host+".journal", b)
	}
	return dir
}

// scanOut runs cflogd scan in-process and returns its stdout, failing on an
// exit code other than 0.
func scanOut(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"scan"}, args...), strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("cflogd scan %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// spaces collapses runs of blanks, so that checks do not depend on widths.
var spaces = regexp.MustCompile(` +`)

func TestScanFleet(t *testing.T) {
	dir := fleetJournal(t)
	t.Run("table", func(t *testing.T) {
		out := spaces.ReplaceAllString(scanOut(t, "--directory", dir, "--no-color"), " ")
		checkContains(t, out, "table lacks %q:\n%s",
			"hosts 3: node1 4 entries 2 events\n node2 3 entries 1 event\n node3 2 entries 1 event\n",
			"chainfire.election_timeout",
			" hosts node1 2, node3 1\n",
			" hosts node2 1\n",
		)
	})
	t.Run("host filter", func(t *testing.T) {
		out := spaces.ReplaceAllString(scanOut(t, "--directory", dir, "--no-color", "--host", "node1", "--host", "node3"), " ")
		if !strings.Contains(out, "hosts 2: node1 4 entries 2 events\n node3 2 entries 1 event\n") ||
			strings.Contains(out, "node2") || strings.Contains(out, "rocksdb") || !strings.Contains(out, "read 6 entries") {
			t.Errorf("--host node1 --host node3: want their 6 entries only:\n%s", out)
		}
		// One host: no fleet view.
		out = scanOut(t, "--directory", dir, "--no-color", "--host", "node3")
		if strings.Contains(out, "hosts ") || !strings.Contains(out, "read     2 entries, 1 event ") {
			t.Errorf("--host node3: want its 2 entries and no host lines:\n%s", out)
		}
	})
	t.Run("json carries the host", func(t *testing.T) {
		out := scanOut(t, "--directory", dir, "--output", "jsonl", "--host", "node3")
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var ev struct{ Host, Signature string }
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if ev.Host != "node3" {
				t.Errorf("event of host %q with --host node3: %s", ev.Host, line)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%d events, want node3's one:\n%s", n, out)
		}
	})
	t.Run("input host", func(t *testing.T) {
		input := filepath.Join(t.TempDir(), "lines.txt")
		if err := os.WriteFile(input, []byte("WARN raft{node_id=1 term=7}: chainfire_raft: election timeout, no heartbeat from leader\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		hostOf := func(args ...string) string {
			out := scanOut(t, append([]string{"--input", input, "--unit", "chainfire", "--output", "jsonl"}, args...)...)
			var ev struct{ Host string }
			json.Unmarshal([]byte(out), &ev)
			return ev.Host
		}
		if h := hostOf("--input-host", "nodeA"); h != "nodeA" {
			t.Errorf("--input-host nodeA: host %q", h)
		}
		// What --host meant before --input-host, still.
		if h := hostOf("--host", "nodeB"); h != "nodeB" {
			t.Errorf("--input with --host nodeB: host %q, want nodeB", h)
		}
		if h := hostOf("--input-host", "nodeA", "--host", "nodeA"); h != "nodeA" {
			t.Errorf("--input-host nodeA --host nodeA: host %q", h)
		}
	})
}
