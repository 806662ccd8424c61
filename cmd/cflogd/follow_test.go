package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// The tests in this file run `cflogd scan -f` as a person would: on a
// journal that grows while it runs, its output piped or on a terminal,
// stopped with Ctrl-C (SIGINT).

// liveEntries returns journal entries of host, one a second from at, with
// msgs.
func liveEntries(host string, at time.Time, boot string, msgs ...string) []byte {
	var b []byte
	for i, msg := range msgs {
		b = testjournal.Entry(b, at.Add(time.Duration(i)*time.Second), time.Duration(100+i)*time.Second, boot,
			"_HOSTNAME", host, "_SYSTEMD_UNIT", "chainfire.service", "SYSLOG_IDENTIFIER", "chainfire", "PRIORITY", "4", "MESSAGE", msg)
	}
	return b
}

const (
	liveElection = "WARN raft{node_id=1 term=7}: chainfire_raft: election timeout, no heartbeat from leader"
	liveStall    = "WARN chainfire_storage: RocksDB stall detected, duration=1500ms"
	liveHealthy  = "INFO chainfire_server: applied index 12"
)

// openPTY opens a pseudo-terminal pair of cols columns.
func openPTY(t *testing.T, cols uint16) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: cols}); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	return m, s
}

// followRun is one run of cflogd scan -f.
type followRun struct {
	stdout, stderr *testpeer.Buffer
	cmd            *exec.Cmd
	done           chan struct{}
}

// startFollow starts bin scan -f with args, its stdout on a terminal of 200
// columns when tty is set, else a pipe.
func startFollow(t *testing.T, bin string, tty bool, env []string, args ...string) *followRun {
	t.Helper()
	r := &followRun{stdout: &testpeer.Buffer{}, stderr: &testpeer.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, append([]string{"scan", "-f"}, args...)...)
	r.cmd.Env = env
	r.cmd.Stderr = r.stderr
	var master, slave *os.File
	copied := make(chan struct{})
	if tty {
		master, slave = openPTY(t, 200)
		r.cmd.Stdout = slave
	} else {
		r.cmd.Stdout = r.stdout
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if tty {
		slave.Close()
		go func() {
			defer close(copied)
			io.Copy(r.stdout, master) // ends with EIO when cflogd is gone
			master.Close()
		}()
	} else {
		close(copied)
	}
	go func() {
		r.cmd.Wait()
		<-copied
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout.String(), r.stderr.String())
		}
	})
	return r
}

// out is the output so far, with the terminal's carriage returns removed.
func (r *followRun) out() string { return strings.ReplaceAll(r.stdout.String(), "\r\n", "\n") }

// interrupt sends SIGINT and waits for cflogd to exit; it returns the exit code.
func (r *followRun) interrupt(t *testing.T) int {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("cflogd scan -f did not stop within 15 s of SIGINT")
	}
	return r.cmd.ProcessState.ExitCode()
}

// environ is the environment without NO_COLOR and TERM, plus extra.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func TestScanFollow(t *testing.T) {
	bin := buildCflogd(t)
	for _, tc := range []struct {
		name  string
		tty   bool
		env   []string
		color bool
	}{
		{name: "piped", env: environ("TERM=xterm")},
		{name: "terminal", tty: true, env: environ("TERM=xterm"), color: true},
		{name: "terminal NO_COLOR", tty: true, env: environ("TERM=xterm", "NO_COLOR=1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// What the journal held before: not shown (following starts at its end).
			past := time.Now().Add(-time.Hour)
			testjournal.Write(t, dir, "old.journal", liveEntries("node9", past, "00000000000000000000000000000009", liveStall, liveElection))
			r := startFollow(t, bin, tc.tty, tc.env, "--directory", dir, "--no-color=false")
			testpeer.Eventually(t, 15*time.Second, func() bool { return strings.Contains(r.stderr.String(), "following the journal directory") },
				"the notice that following began")

			// The journal grows: three election timeouts on node1 within
			// 60 s (a storm: a derived event), a stall on node2. Each file's
			// entries are newer than the last one's: the reader follows the
			// journal in time order, and what a new file holds from before
			// the point it reached is not read (as journalctl -f).
			now := time.Now()
			testjournal.Move(t, dir, "remote-node1.journal",
				liveEntries("node1", now, "00000000000000000000000000000001", liveElection, liveHealthy, liveElection, liveElection))
			testjournal.Move(t, dir, "remote-node2.journal",
				liveEntries("node2", now.Add(10*time.Second), "00000000000000000000000000000002", liveHealthy, liveStall))
			testpeer.Eventually(t, 15*time.Second, func() bool {
				out := r.out()
				return strings.Count(out, "chainfire.election_timeout") == 3 && strings.Contains(out, "chainfire.election_storm (derived)") &&
					strings.Contains(out, "chainfire.rocksdb_stall")
			}, "the new events printed as they come")
			// And grows again.
			testjournal.Move(t, dir, "remote-node3.journal",
				liveEntries("node3", now.Add(20*time.Second), "00000000000000000000000000000003", liveStall))
			testpeer.Eventually(t, 15*time.Second, func() bool { return strings.Contains(r.out(), "node3") }, "node3's stall printed")

			live := r.out()
			if strings.Contains(live, "node9") {
				t.Errorf("printed entries from before it started:\n%s", live)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(live), "\n") {
				lines = append(lines, l)
			}
			if len(lines) != 6 {
				t.Errorf("%d lines, want 6 (3 timeouts, the storm, 2 stalls):\n%s", len(lines), live)
			}
			plain := stripANSI(live)
			checkContains(t, plain, "live lines lack %q:\n%s",
				"  warning   node1  chainfire.election_timeout  ",
				"  error     node1  chainfire.election_storm (derived)  Election storm: 3 Raft election timeouts within 60s",
				"  error     node2  chainfire.rocksdb_stall  ",
				"duration_ms=1500",
			)
			if hasColor := strings.Contains(live, "\x1b["); hasColor != tc.color {
				t.Errorf("colour escapes: %v, want %v:\n%q", hasColor, tc.color, live)
			}

			// Ctrl-C: the report of what it saw.
			if code := r.interrupt(t); code != exitOK {
				t.Errorf("exit %d after SIGINT, want 0; stderr:\n%s", code, r.stderr.String())
			}
			rep := stripANSI(strings.TrimPrefix(r.out(), live))
			checkContains(t, rep, "report after SIGINT lacks %q:\n%s",
				"followed from its end",
				"hosts    3:",
				"chainfire.election_timeout",
				"hosts    node1 3\n",
				"6 events at warning or above: 1 derived, 5 in 2 signatures",
			)
		})
	}
}

// stripANSI removes colour escapes.
func stripANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+1:]
	}
}

func TestScanFollowUsage(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "-f", "--input", "-"},
		{"scan", "-f", "--until", "1h"},
		{"scan", "--follow", "--boot"},
		{"scan", "-f", "-o", "json"},
	} {
		var out, errb strings.Builder
		if code := run(args, strings.NewReader(""), &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--follow") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error about --follow", args, code, errb.String())
		}
	}
}

// checkContains fails the test for each want that out lacks; format has a
// %q for the want and a %s for out.
func checkContains(t *testing.T, out, format string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf(format, want, out)
		}
	}
}
