package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/centra-cloud/cflogd/internal/testjournal"
)

// lifecycleJournal writes testdata/lifecycle/lifecycle.export (systemd
// 252's, the kernel's and systemd-coredump's messages about the services of
// node01 and node02) into a journal directory and returns it.
func lifecycleJournal(t *testing.T) string {
	t.Helper()
	export, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lifecycle", "lifecycle.export"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testjournal.Write(t, dir, "remote-lifecycle.journal", export)
	return dir
}

// scanUTC runs cflogd scan with testApp (times in UTC) and returns its
// stdout with runs of blanks collapsed.
func scanUTC(t *testing.T, args ...string) string {
	t.Helper()
	a, stdout, stderr := testApp("")
	if code := a.main(context.Background(), append([]string{"scan"}, args...)); code != exitOK {
		t.Fatalf("cflogd scan %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return spaces.ReplaceAllString(stdout.String(), " ")
}

// TestScanLifecycle: the scan report starts with a line per service and
// host saying what happened to it: an OOM kill is one however many lines
// tell of it, the crash loop is named with its time.
func TestScanLifecycle(t *testing.T) {
	dir := lifecycleJournal(t)
	out := scanUTC(t, "--directory", dir, "--no-color", "--since", "2026-11-26T09:00:00Z", "--until", "2026-11-26T13:00:00Z")
	checkContains(t, out, "report lacks %q:\n%s",
		"lifecycle chainfire.service on node01: 4 crashes (1 OOM kill, 1 core dump, 1 watchdog timeout), 4 restarts, 3 failed starts\n",
		// 10 min 1 s apart: no crash loop.
		"lifecycle chainfire.service on node02: 3 crashes, 3 restarts\n",
		"lifecycle flaredb.service on node01: 3 crashes, 3 restarts; crash loop at 12:04:00\n",
		"lifecycle flaredb.service on node02: 4 crashes (1 OOM kill, 1 core dump, 1 watchdog timeout), 4 restarts, 3 failed starts\n",
		"lifecycle placement-driver.service on node02: 4 crashes (1 OOM kill, 1 core dump, 1 watchdog timeout), 4 restarts, 3 failed starts\n",
	)
	if n := strings.Count(out, "lifecycle "); n != 5 {
		t.Errorf("%d lifecycle lines, want 5 (none for nginx, postgresql or the forged entries):\n%s", n, out)
	}
	if life, sigs := strings.Index(out, "lifecycle "), strings.Index(out, "COUNT SEVERITY"); life < 0 || sigs < life {
		t.Errorf("the lifecycle lines do not come before the signatures:\n%s", out)
	}

	// One host: the lines name the service alone.
	out = scanUTC(t, "--directory", dir, "--no-color", "--host", "node01", "--since", "2026-11-26T09:00:00Z")
	if !strings.Contains(out, "lifecycle flaredb.service: 3 crashes, 3 restarts; crash loop at 12:04:00\n") || strings.Contains(out, " on node01:") {
		t.Errorf("--host node01: want lines without the host:\n%s", out)
	}
}
