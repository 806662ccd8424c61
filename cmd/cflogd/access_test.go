package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// The tests in this file run the built binary as an unprivileged user
// (nobody, through setpriv) over journal files only root can read, as a new
// user on a machine would: a blind cflogd must say so.

const nobody = 65534

// unprivileged returns the command prefix that runs a program as nobody
// with no groups, and the binary copied where nobody can run it. It skips
// unless the test runs as root with setpriv (CI runs it as root).
func unprivileged(t *testing.T) (wrap []string, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run cflogd as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("no setpriv: %v", err)
	}
	built := buildCflogd(t)
	dir := publicDir(t)
	bin = filepath.Join(dir, "cflogd")
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{setpriv, fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups"}, bin
}

// publicDir is a temporary directory that every user may enter (t.TempDir
// makes directories only their owner may).
func publicDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(d) == os.TempDir() {
			break
		}
	}
	return dir
}

// chmodAll sets the mode of files.
func chmodAll(t *testing.T, mode os.FileMode, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := os.Chmod(f, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// runAs runs cmd with args and returns stdout, stderr and the exit code.
func runAs(t *testing.T, wrap []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	argv := append(append(append([]string{}, wrap...), bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if code < 0 {
		t.Fatalf("%v: %v", argv, err)
	}
	return out.String(), errb.String(), code
}

func TestScanUnprivileged(t *testing.T) {
	wrap, bin := unprivileged(t)
	j := &e2eJournal{dir: filepath.Join(publicDir(t), "journal"), base: time.Now().Add(-time.Minute).Truncate(time.Millisecond)}
	if err := os.Mkdir(j.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 5 {
		files = append(files, j.write(t, fmt.Sprintf("system@%d.journal", i), 8))
	}
	jsonl := []string{"--output", "jsonl", "--fail-on", "critical"}
	scanDir := append([]string{"scan", "--directory", j.dir}, jsonl...)

	t.Run("readable", func(t *testing.T) {
		chmodAll(t, 0o644, files...)
		out, stderr, code := runAs(t, wrap, bin, scanDir...)
		if code != exitOK || classified(t, out) != 20 {
			t.Errorf("exit %d, %d events, want 0 and 20; stderr:\n%s", code, classified(t, out), stderr)
		}
	})
	t.Run("directory only root may list", func(t *testing.T) {
		chmodAll(t, 0o644, files...)
		chmodAll(t, 0o700, j.dir)
		defer chmodAll(t, 0o755, j.dir)
		out, stderr, code := runAs(t, wrap, bin, scanDir...)
		want := "cflogd scan: cannot read 1 journal directory: permission denied: " + j.dir + " (run as root, or as a member of the systemd-journal or adm group)\n"
		if code != exitFailure || out != "" || stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no output, stderr %q", code, out, stderr, exitFailure, want)
		}
	})
	t.Run("no file readable", func(t *testing.T) {
		chmodAll(t, 0o600, files...)
		for _, args := range [][]string{scanDir, {"scan", "--directory", j.dir}, {"scan", "--file", files[0], "--file", files[1]}} {
			out, stderr, code := runAs(t, wrap, bin, args...)
			if code != exitFailure || out != "" || !strings.HasPrefix(stderr, "cflogd scan: cannot read any of the ") ||
				!strings.Contains(stderr, "permission denied: "+files[0]) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, no output, one line: cannot read any …", args, code, out, stderr, exitFailure)
			}
		}
	})
	t.Run("some files readable", func(t *testing.T) {
		chmodAll(t, 0o644, files...)
		chmodAll(t, 0o600, files[1], files[2], files[4])
		want := fmt.Sprintf("cflogd scan: cannot read 3 of 5 journal files: permission denied: %s, %s, %s (run as root, or as a member of the systemd-journal or adm group)\n",
			files[1], files[2], files[4])
		out, stderr, code := runAs(t, wrap, bin, scanDir...)
		if code != exitOK || stderr != want {
			t.Errorf("exit %d, stderr %q; want exit 0, stderr %q", code, stderr, want)
		}
		// The readable files are read: 4 events in each.
		if n := classified(t, out); n != 8 {
			t.Errorf("%d events, want the 8 of the two readable files", n)
		}
		out, stderr, code = runAs(t, wrap, bin, "scan", "--file", files[0], "--file", files[1], "--output", "jsonl")
		if code != exitOK || classified(t, out) != 4 || !strings.Contains(stderr, "cannot read 1 of 2 journal files") {
			t.Errorf("--file: exit %d, %d events, stderr %q; want 0, the 4 events of the readable file, and what could not be read", code, classified(t, out), stderr)
		}
		// The table says so in its header too.
		out, _, _ = runAs(t, wrap, bin, "scan", "--directory", j.dir)
		if !strings.Contains(out, "(3 of 5 files unreadable)") {
			t.Errorf("table header does not say 3 of 5 files are unreadable:\n%s", out)
		}
	})
}

// classified counts the events of out that are not derived by rules over time.
func classified(t *testing.T, out string) int {
	t.Helper()
	rules := localRuleIDs(t)
	n := 0
	for _, key := range eventsOf(t, out) {
		sig, _, _ := strings.Cut(key, " ")
		if !rules[sig] {
			n++
		}
	}
	return n
}

// readyz returns /readyz's status code and body, or 0 when it does not answer.
func readyz(listen string) (int, string) {
	resp, err := http.Get("http://" + listen + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunUnprivileged(t *testing.T) {
	wrap, bin := unprivileged(t)
	base := publicDir(t)
	j := &e2eJournal{dir: filepath.Join(base, "journal"), base: time.Now().Add(-time.Minute).Truncate(time.Millisecond)}
	stateDir := filepath.Join(base, "state")
	for _, d := range []string{j.dir, stateDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(stateDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	a := j.write(t, "a.journal", 8)
	b := j.write(t, "b.journal", 8)
	chmodAll(t, 0o600, a, b)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	cfg := writeConfig(t, base, fmt.Sprintf(`
state_dir = %q
listen = %q
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "stdout"
`, stateDir, listen, j.dir))
	chmodAll(t, 0o644, cfg)
	notify := localNotifySocket(t)
	chmodAll(t, 0o777, filepath.Dir(notify.path))
	chmodAll(t, 0o777, notify.path)
	p := startDaemon(t, bin, cfg, append(wrap, notify.env(0)[:2]...)...)

	// Blind: not ready, and says why.
	testpeer.Eventually(t, 15*time.Second, func() bool { code, _ := readyz(listen); return code != 0 }, "/readyz answering")
	testpeer.Eventually(t, 15*time.Second, func() bool {
		return strings.Contains(p.out.String(), "cannot read the journal")
	}, "an error logged")
	code, body := readyz(listen)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot read any of the 2 journal files: permission denied") {
		t.Errorf("/readyz while blind: %d %q, want 503 naming the files", code, body)
	}
	if n := metric(t, listen, "cflogd_journal_files_unreadable", ""); n != 2 {
		t.Errorf("cflogd_journal_files_unreadable = %v, want 2", n)
	}
	if strings.Contains(p.out.String(), ": ready") || notify.has("READY=1") {
		t.Errorf("ready while blind:\n%s", p.out.String())
	}

	// Readable: ready, READY=1, the events are read.
	chmodAll(t, 0o644, a, b)
	testpeer.Eventually(t, 20*time.Second, func() bool { code, _ := readyz(listen); return code == http.StatusOK }, "/readyz 200 once the files are readable")
	testpeer.Eventually(t, 5*time.Second, func() bool { return notify.has("READY=1") }, "READY=1")
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return metric(t, listen, "cflogd_journal_lines_read_total", `unit="chainfire.service"`) == 12
	}, "the 12 chainfire entries read")
	if n := metric(t, listen, "cflogd_journal_files_unreadable", ""); n != 0 {
		t.Errorf("cflogd_journal_files_unreadable = %v, want 0", n)
	}

	// Losing access to a file shows.
	chmodAll(t, 0o600, b)
	testpeer.Eventually(t, 20*time.Second, func() bool {
		code, body := readyz(listen)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "cannot read 1 of 2 journal files: permission denied: "+b)
	}, "/readyz 503 naming the file that became unreadable")
	if n := metric(t, listen, "cflogd_journal_files_unreadable", ""); n != 1 {
		t.Errorf("cflogd_journal_files_unreadable = %v, want 1", n)
	}
	p.term(t)
}

// has reports whether state was notified.
func (n *localNotify) has(state string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.notes {
		if x.state == state {
			return true
		}
	}
	return false
}
