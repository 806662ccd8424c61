package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testpeer"
)

const (
	journald      = "/lib/systemd/systemd-journald"
	journalStdout = "/run/systemd/journal/stdout"
)

// socketAnswers reports whether a stream socket listens at path.
func socketAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestSocketAnswers: the socket file of a journald that died is not a
// journald (connecting is refused).
func TestSocketAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stdout")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	if !socketAnswers(path) {
		t.Errorf("socketAnswers(%s) = false while it listens", path)
	}
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the closed socket's file: %v", err)
	}
	if socketAnswers(path) {
		t.Errorf("socketAnswers(%s) = true for the file of a closed socket", path)
	}
	if socketAnswers(filepath.Join(t.TempDir(), "none")) {
		t.Errorf("socketAnswers = true for no file")
	}
}

// liveJournal returns the command prefix that runs a program against a
// live systemd-journald: none when one runs already; else, as root, a
// standalone journald in a private mount namespace (its sockets and its
// volatile journal on tmpfs, so nothing of the machine's /run is touched)
// and `nsenter` into it. It skips when neither works, and fails under CI.
func liveJournal(t *testing.T) (wrap []string, how string) {
	t.Helper()
	// A journald that runs already is known by its stream socket, which
	// systemd-cat writes to, answering (not by the socket file: a journald
	// that died leaves it behind; nor by process name: systemd-journal-remote
	// has the same 15-character name as systemd-journald).
	if socketAnswers(journalStdout) {
		return nil, "the running systemd-journald"
	}
	skip := func(why string) ([]string, string) {
		msg := "no systemd-journald runs here and a standalone one cannot be started: " + why
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this fails instead of skipping)")
		}
		t.Skip(msg)
		return nil, ""
	}
	if os.Geteuid() != 0 {
		return skip("not root")
	}
	for _, bin := range []string{journald, "unshare", "nsenter", "systemd-cat"} {
		if _, err := exec.LookPath(bin); err != nil {
			return skip(fmt.Sprintf("%s not found", bin))
		}
	}
	script := `set -e
mount -t tmpfs -o mode=0755 tmpfs /run/log
mkdir -p /run/systemd
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p /run/systemd/journal
exec ` + journald
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	var out testpeer.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return skip(fmt.Sprintf("unshare: %v", err))
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	wrap = []string{"nsenter", "-t", fmt.Sprint(cmd.Process.Pid), "-m", "--"}
	var exited bool
	up := testpeer.Poll(10*time.Second, func() bool {
		select {
		case <-done:
			exited = true
			return true
		default:
		}
		// Connect, as systemd-cat does (running true, it logs nothing): the
		// socket file may still be the machine's until the tmpfs is over it.
		check := exec.Command(wrap[0], append(wrap[1:], "systemd-cat", "-t", "cflogd-probe", "true")...)
		return check.Run() == nil
	})
	switch {
	case exited:
		return skip(fmt.Sprintf("standalone journald exited: %s", out.String()))
	case !up:
		return skip("standalone journald did not answer on its socket within 10s")
	}
	return wrap, "a standalone systemd-journald in a private mount namespace"
}

// logLine writes one line to the journal as chainfire does (through
// systemd-cat, so SYSLOG_IDENTIFIER=chainfire).
func logLine(t *testing.T, wrap []string, line string) {
	t.Helper()
	args := append(append([]string{}, wrap...), "systemd-cat", "-t", "chainfire", "-p", "warning")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(line + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-cat: %v\n%s", err, out)
	}
}

// stdoutEvents returns the messages of the events a daemon printed with
// the stdout sink.
func stdoutEvents(p *daemonProc) []string {
	var out []string
	for _, line := range strings.Split(p.out.String(), "\n") {
		var ev struct{ Signature, Message string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Signature != "" {
			out = append(out, ev.Signature+": "+ev.Message)
		}
	}
	return out
}

func TestRunLiveJournald(t *testing.T) {
	bin := buildCflogd(t)
	wrap, how := liveJournal(t)
	t.Logf("using %s", how)
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
checkpoint_interval = "200ms"
[journal]
initial_position = "tail"
[[sink]]
type = "stdout"
`, stateDir))
	token := rand.IntN(1_000_000_000)
	line := func(n int) string {
		return fmt.Sprintf("WARN chainfire_storage: RocksDB stall detected, duration=%dms", token+n)
	}
	want := func(n int) string { return "chainfire.rocksdb_stall: " + line(n) }
	has := func(p *daemonProc, n int) int {
		c := 0
		for _, e := range stdoutEvents(p) {
			if e == want(n) {
				c++
			}
		}
		return c
	}

	logLine(t, wrap, line(0)) // before cflogd starts: "tail" skips it
	p := startDaemon(t, bin, cfg, wrap...)
	testpeer.Eventually(t, 10*time.Second, func() bool { return strings.Contains(p.out.String(), "ready") }, "cflogd to be ready")
	logLine(t, wrap, line(1))
	testpeer.Eventually(t, 10*time.Second, func() bool { return has(p, 1) == 1 }, "the live event")
	testpeer.Eventually(t, 10*time.Second, func() bool { return readCursor(t, stateDir) != "" }, "a saved cursor")
	p.term(t)
	if has(p, 0) != 0 {
		t.Errorf("the line written before the start was classified, though initial_position is tail")
	}

	// Lines written while cflogd is stopped are read after the restart;
	// the one already delivered is not delivered again.
	logLine(t, wrap, line(2))
	p = startDaemon(t, bin, cfg, wrap...)
	testpeer.Eventually(t, 10*time.Second, func() bool { return has(p, 2) == 1 }, "the line written while stopped")
	logLine(t, wrap, line(3))
	testpeer.Eventually(t, 10*time.Second, func() bool { return has(p, 3) == 1 }, "a line after the restart")
	p.term(t)
	if n := has(p, 1); n != 0 {
		t.Errorf("the line delivered before the restart came again %d times", n)
	}
	// The live journal is read by the native reader throughout.
	if strings.Contains(p.out.String(), "handing over to sd-journal") {
		t.Errorf("the native reader handed over to sd-journal:\n%s", p.out.String())
	}
}
