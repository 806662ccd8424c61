package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/state"
)

// The tests in this file are the local half of the fault-injection suite
// (make chaos): what happens on cflogd's own machine. The journal directory
// rotates and is vacuumed (journalctl --vacuum-files) while cflogd follows
// it; the state directory fills up or turns read-only; the state files are
// corrupt; SIGHUP comes every 100 ms while the pattern files are rewritten.
// Each runs cflogd run as a process and checks from outside what reached
// the peer, the cursor file, /metrics, the watchdog pings and the log.
//
// With CFLOGD_CHAOS=full they run at full length; otherwise shortened, as
// part of go test ./.... The state directory tests mount a tmpfs and need
// root (CI runs as root); they skip otherwise.

// localFull reports whether CFLOGD_CHAOS=full asks for full length.
func localFull() bool { return os.Getenv("CFLOGD_CHAOS") == "full" }

// localDur returns full at full length, else short.
func localDur(short, full time.Duration) time.Duration {
	if localFull() {
		return full
	}
	return short
}

// localArchiveName names the i-th journal file as journald names an
// archived file (system@SEQNUMID-SEQNUM-REALTIME.journal): journalctl
// --vacuum-files only removes files named so, oldest first.
func localArchiveName(i int) string {
	return fmt.Sprintf("system@%032x-%016x-%016x.journal", i+1, i+1, 1_700_000_000_000_000+int64(i))
}

// localVacuum runs journalctl --vacuum-files=keep on dir.
func localVacuum(t *testing.T, dir string, keep int) {
	t.Helper()
	out, err := exec.Command("journalctl", fmt.Sprintf("--vacuum-files=%d", keep), "-D", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("journalctl --vacuum-files=%d -D %s: %v\n%s", keep, dir, err, out)
	}
	if !strings.Contains(string(out), "Vacuuming done") {
		t.Fatalf("journalctl --vacuum-files: %s", out)
	}
}

// localJournalFiles returns the journal files in dir.
func localJournalFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// localNotify is a NOTIFY_SOCKET: it records what cflogd tells systemd.
type localNotify struct {
	path  string
	mu    sync.Mutex
	notes []localNote
}

type localNote struct {
	at    time.Time
	state string
}

func localNotifySocket(t *testing.T) *localNotify {
	t.Helper()
	n := &localNotify{path: filepath.Join(t.TempDir(), "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", n.path, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			for _, s := range strings.Split(strings.TrimSpace(string(buf[:k])), "\n") {
				n.notes = append(n.notes, localNote{time.Now(), s})
			}
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return n
}

// env is the environment that makes cflogd notify this socket and feed a
// watchdog of interval iv.
func (n *localNotify) env(iv time.Duration) []string {
	return []string{"env", "NOTIFY_SOCKET=" + n.path, fmt.Sprintf("WATCHDOG_USEC=%d", iv.Microseconds())}
}

// pings returns when WATCHDOG=1 came, between from and to.
func (n *localNotify) pings(from, to time.Time) []time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []time.Time
	for _, x := range n.notes {
		if x.state == "WATCHDOG=1" && !x.at.Before(from) && !x.at.After(to) {
			out = append(out, x.at)
		}
	}
	return out
}

// checkWatchdog checks that the watchdog was fed all along between from
// and to: systemd kills a service that stays silent for iv.
func (n *localNotify) checkWatchdog(t *testing.T, iv time.Duration, from, to time.Time) {
	t.Helper()
	pings := n.pings(from, to)
	if len(pings) == 0 {
		t.Errorf("no watchdog ping in the %v between %s and %s", to.Sub(from), from.Format(time.TimeOnly), to.Format(time.TimeOnly))
		return
	}
	worst := pings[0].Sub(from)
	for i := 1; i < len(pings); i++ {
		worst = max(worst, pings[i].Sub(pings[i-1]))
	}
	worst = max(worst, to.Sub(pings[len(pings)-1]))
	if worst >= iv {
		t.Errorf("the watchdog went %v without a ping (WatchdogSec %v): systemd would have killed cflogd", worst, iv)
	}
	t.Logf("watchdog: %d pings in %v, longest silence %v", len(pings), to.Sub(from).Round(time.Millisecond), worst.Round(time.Millisecond))
}

// localHealthy checks /healthz.
func localHealthy(t *testing.T, listen string) {
	t.Helper()
	resp, err := http.Get("http://" + listen + "/healthz")
	if err != nil {
		t.Errorf("/healthz: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
}

// localRuleIDs returns the ids of the built-in rules over time: their
// derived events depend on the whole stream, so tests that compare events
// file by file leave them out.
func localRuleIDs(t *testing.T) map[string]bool {
	t.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range lib.Rules {
		ids[r.ID] = true
	}
	return ids
}

// localClassified drops the derived events from counts.
func localClassified(t *testing.T, counts map[string]int) map[string]int {
	t.Helper()
	rules := localRuleIDs(t)
	out := map[string]int{}
	for k, n := range counts {
		sig, _, _ := strings.Cut(k, "@")
		if !rules[sig] {
			out[k] = n
		}
	}
	return out
}

// localChainfireRead is cflogd_journal_lines_read_total of chainfire.
func localChainfireRead(t *testing.T, listen string) float64 {
	return metric(t, listen, "cflogd_journal_lines_read_total", `unit="chainfire.service"`)
}

// localEntries is how many entries of e2eJournal.write's first n are
// chainfire's (three of every four).
func localChainfire(n int) float64 { return float64(n - (n+1)/4) }

func TestChaosRotateVacuum(t *testing.T) {
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skipf("no journalctl: %v", err)
	}
	r := newLocalRig(t, filepath.Join(t.TempDir(), "state"))
	bin, vl, j, listen, stateDir, cfg := r.bin, r.vl, r.j, r.listen, r.stateDir, r.cfg
	notify := localNotifySocket(t)
	const wd = 2 * time.Second
	const perFile = 200

	// Phase 1: the directory rotates while cflogd keeps up: a new file
	// every 100 ms; now and then journalctl --vacuum-files=1, or every
	// file removed, the one being read included. Nothing unread is ever
	// removed: nothing may be lost, and no gap reported.
	want := map[string]string{}
	written := 0
	write := func(i int) {
		j.write(t, localArchiveName(i), perFile)
		written += perFile
		w, _ := expectEvents(t, j.dir, false)
		for k, c := range w {
			want[k] = c
		}
	}
	write(0)
	p := startDaemon(t, bin, cfg, notify.env(wd)...)
	testpeer.Eventually(t, 15*time.Second, func() bool { return localChainfireRead(t, listen) == localChainfire(written) }, "cflogd ready")
	start := time.Now()
	rounds := 12
	if localFull() {
		rounds = 150
	}
	var vacuums, removals int
	readAll := func() {
		t.Helper()
		testpeer.Eventually(t, 20*time.Second, func() bool { return localChainfireRead(t, listen) == localChainfire(written) }, "the reader to read every entry")
	}
	for i := 1; i <= rounds; i++ {
		write(i)
		time.Sleep(100 * time.Millisecond) // the journal's growth rate
		switch {
		case i%5 == 4:
			readAll()
			for _, f := range localJournalFiles(t, j.dir) {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
			removals++
		case i%3 == 2:
			readAll()
			localVacuum(t, j.dir, 1)
			if n := len(localJournalFiles(t, j.dir)); n != 1 {
				t.Fatalf("%d journal files after journalctl --vacuum-files=1, want 1", n)
			}
			vacuums++
		}
		localHealthy(t, listen)
	}
	readAll()
	waitDelivered(t, vl, want, 30*time.Second, nil)
	end := time.Now()
	notify.checkWatchdog(t, wd, start, end)
	counts, gaps := delivered(t, vl)
	if len(gaps) != 0 {
		t.Errorf("gap events while nothing unread was removed: %v", gaps)
	}
	checkNoLoss(t, want, localClassified(t, counts))
	for k, n := range localClassified(t, counts) {
		if n > 1 {
			t.Errorf("event %s delivered %d times without a crash", k, n)
		}
	}
	if g := metric(t, listen, "cflogd_journal_gaps_total", ""); g != 0 {
		t.Errorf("cflogd_journal_gaps_total %v, want 0", g)
	}
	t.Logf("phase 1: %d files, %d vacuums, %d removals of every file, %d events, all delivered once", rounds+1, vacuums, removals, len(want))
	testpeer.Eventually(t, 10*time.Second, func() bool { return readCursor(t, stateDir) != "" }, "the last cursor")
	p.term(t)
	saved := readCursor(t, stateDir)

	// Phase 2: while cflogd is stopped, two files are written and
	// journalctl --vacuum-files=1 removes all but the newest: the entries
	// of the first one are really gone. At the start: one gap event, then
	// every event of the surviving file.
	lost := rounds + 1
	read, _ := expectEvents(t, j.dir, false)
	j.write(t, localArchiveName(lost), perFile)
	lostEvents, _ := expectEvents(t, j.dir, false)
	for k := range read {
		delete(lostEvents, k)
	}
	j.write(t, localArchiveName(lost+1), perFile)
	localVacuum(t, j.dir, 1)
	survivors, _ := expectEvents(t, j.dir, false)
	for k := range survivors {
		delete(lostEvents, k)
	}
	if len(lostEvents) == 0 || len(survivors) == 0 {
		t.Fatalf("%d events in the vacuumed file, %d in the surviving one; want some in each", len(lostEvents), len(survivors))
	}
	p = startDaemon(t, bin, cfg, notify.env(wd)...)
	var gaps2 []map[string]any
	waitDelivered(t, vl, survivors, 30*time.Second, func() bool {
		_, gaps2 = delivered(t, vl)
		return len(gaps2) > 0
	})
	p.term(t)
	counts, gaps2 = delivered(t, vl)
	if len(gaps2) != 1 {
		t.Fatalf("gap events: %d, want 1", len(gaps2))
	}
	fields, _ := gaps2[0]["fields"].(map[string]any)
	if fields["saved_cursor"] != saved {
		t.Errorf("gap event's saved_cursor %v, want the cursor saved at the stop %s", fields["saved_cursor"], saved)
	}
	for k := range lostEvents {
		if counts[k] > 0 {
			t.Errorf("event %s of the vacuumed file was delivered", k)
		}
	}
	for k := range survivors {
		if counts[k] != 1 {
			t.Errorf("event %s of the surviving file delivered %d times, want once", k, counts[k])
		}
	}
	t.Logf("phase 2: gap event %q; %d events of the surviving file delivered", gaps2[0]["summary"], len(survivors))
}

func TestChaosRotateVacuumBehind(t *testing.T) {
	// The peer is down, so the reader stops (back-pressure) with most of
	// the journal unread; then journalctl --vacuum-files=1 removes every
	// file but the newest. The journal keeps the removed files open for the
	// reader: nothing is lost and no gap is reported. The watchdog keeps
	// being fed while the reader waits on purpose.
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skipf("no journalctl: %v", err)
	}
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	port := testpeer.FreePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeHeadConfig(t, stateDir, listen, j.dir, `checkpoint_interval = "200ms"
queue_size = 2`, fmt.Sprintf(`[[sink]]
type = "loki"
url = "http://127.0.0.1:%d/insert/loki/api/v1/push?disable_message_parsing=1"
batch_wait = "100ms"
retry_max = "500ms"`, port))
	for i := range 6 {
		j.write(t, localArchiveName(i), 600)
	}
	want, _ := expectEvents(t, j.dir, false)
	notify := localNotifySocket(t)
	const wd = 2 * time.Second
	p := startDaemon(t, bin, cfg, notify.env(wd)...)
	testpeer.Eventually(t, 15*time.Second, func() bool { return metric(t, listen, "cflogd_queue_depth", "") == 2 }, "a full queue")
	start := time.Now()
	read := localChainfireRead(t, listen)
	if read >= localChainfire(6*600) {
		t.Fatalf("the reader read all %v chainfire entries before the queue filled", read)
	}
	localVacuum(t, j.dir, 1)
	if n := len(localJournalFiles(t, j.dir)); n != 1 {
		t.Fatalf("%d journal files after the vacuum, want 1", n)
	}
	j.write(t, localArchiveName(6), 600) // the journal goes on
	more, _ := expectEvents(t, j.dir, false)
	for k, c := range more {
		want[k] = c
	}
	// Held back for a while: /healthz stays good, the watchdog fed.
	time.Sleep(localDur(3*time.Second, 10*time.Second)) // the outage's length
	localHealthy(t, listen)
	notify.checkWatchdog(t, wd, start, time.Now())

	vl := testpeer.StartVictoriaLogsAt(t, port, t.TempDir())
	waitDelivered(t, vl, want, 60*time.Second, nil)
	testpeer.Eventually(t, 20*time.Second, func() bool { return localChainfireRead(t, listen) == localChainfire(7*600) }, "every entry read")
	p.term(t)
	counts, gaps := delivered(t, vl)
	if len(gaps) != 0 {
		t.Errorf("gap events, though every removed entry was still readable: %v", gaps)
	}
	checkNoLoss(t, want, localClassified(t, counts))
	t.Logf("%v of %v chainfire entries read when 5 of 6 files were vacuumed; all %d events delivered", read, localChainfire(6*600), len(want))
}

// writeHeadConfig writes a configuration with the state in stateDir, the
// metrics listener on listen ("" for none) and the journal in jdir read from
// its head; top holds more top-level keys, tables the [[sink]] and other
// tables.
func writeHeadConfig(t *testing.T, stateDir, listen, jdir, top, tables string) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), fmt.Sprintf("state_dir = %q\nlisten = %q\n%s\n[journal]\ndirectory = %q\ninitial_position = \"head\"\n%s\n",
		stateDir, listen, top, jdir, tables))
}

// localMountTmpfs mounts a tmpfs of the given size on a new directory and
// unmounts it at the end of the test; it skips the test when it cannot.
func localMountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs for the state directory (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		// After the daemon's own cleanup (registered later, run earlier).
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func localRemount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, mode, err, out)
	}
}

// localFill writes a file until the file system is full.
func localFill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return p
		}
	}
}

// localStateRig is a daemon whose state directory is on a small tmpfs
// (newLocalStateRig), or where newLocalRig puts it.
type localStateRig struct {
	bin, cfg, listen string
	mnt, stateDir    string
	vl               *testpeer.VictoriaLogs
	j                *e2eJournal
	files            int
}

func newLocalStateRig(t *testing.T) *localStateRig {
	t.Helper()
	mnt := localMountTmpfs(t, "1m")
	r := newLocalRig(t, filepath.Join(mnt, "state"))
	r.mnt = mnt
	return r
}

// newLocalRig is cflogd configured to keep its state in stateDir and push
// to a VictoriaLogs; it is not started.
func newLocalRig(t *testing.T, stateDir string) *localStateRig {
	t.Helper()
	r := &localStateRig{stateDir: stateDir}
	r.bin = buildCflogd(t)
	r.vl = testpeer.StartVictoriaLogs(t)
	r.j = newE2EJournal(t)
	r.listen = fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	r.cfg = writeHeadConfig(t, r.stateDir, r.listen, r.j.dir, `checkpoint_interval = "200ms"`, fmt.Sprintf(`[[sink]]
type = "loki"
url = %q
batch_wait = "100ms"`, r.vl.LokiPushURL()+"?disable_message_parsing=1"))
	return r
}

// grow writes a file and returns the events the journal holds and every
// entry's position.
func (r *localStateRig) grow(t *testing.T) (map[string]string, map[string]int) {
	t.Helper()
	r.j.write(t, fmt.Sprintf("f%03d.journal", r.files), 400)
	r.files++
	return expectEvents(t, r.j.dir, false)
}

// cursorAt waits until the saved cursor is the last entry.
func (r *localStateRig) cursorAtEnd(t *testing.T, order map[string]int, what string) {
	t.Helper()
	testpeer.Eventually(t, 15*time.Second, func() bool {
		c, ok := order[readCursor(t, r.stateDir)]
		return ok && c == len(order)-1
	}, "%s", what)
}

// start writes the first file and starts cflogd; it returns once the file's
// events were delivered and the cursor saved at its end, with that cursor.
func (r *localStateRig) start(t *testing.T) (p *daemonProc, want map[string]string, order map[string]int, cursor string) {
	t.Helper()
	want, order = r.grow(t)
	p = startDaemon(t, r.bin, r.cfg)
	waitDelivered(t, r.vl, want, 30*time.Second, nil)
	r.cursorAtEnd(t, order, "the cursor at the end of the first file")
	return p, want, order, readCursor(t, r.stateDir)
}

func TestChaosStateDirFull(t *testing.T) {
	r := newLocalStateRig(t)
	p, want, order, before := r.start(t)
	errs0 := metric(t, r.listen, "cflogd_checkpoint_errors_total", "")

	// The state directory's file system fills up. Events keep flowing to
	// the peer; checkpoints fail and say so, once.
	filler := localFill(t, r.mnt)
	want, order = r.grow(t)
	waitDelivered(t, r.vl, want, 30*time.Second, nil)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return metric(t, r.listen, "cflogd_checkpoint_errors_total", "") > errs0
	}, "failed checkpoints")
	if c := readCursor(t, r.stateDir); c != before {
		t.Errorf("the cursor file changed on a full file system: %s", c)
	}
	time.Sleep(time.Second) // a few more checkpoint intervals of failures
	out := p.out.String()
	if n := strings.Count(out, `"problem":"the state directory's file system is full"`); n != 1 || strings.Count(out, "cannot checkpoint") != 1 {
		t.Errorf("the full state directory was reported %d times, want once (then at most once a minute)", n)
	}
	if !strings.Contains(out, `"state_dir":"`+r.stateDir+`"`) || !strings.Contains(out, "no space left on device") {
		t.Errorf("the report does not name the state directory %s and the error:\n%s", r.stateDir, tail4k(out))
	}
	localHealthy(t, r.listen)

	// Space returns, and no new entry comes: the next checkpoint saves the
	// cursor anyway.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r.cursorAtEnd(t, order, "the cursor at the end of the second file once space returned")
	testpeer.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(p.out.String(), "state directory writable again")
	}, "the recovery in the log")
	t.Logf("%v failed checkpoints while the state directory was full", metric(t, r.listen, "cflogd_checkpoint_errors_total", "")-errs0)
	p.term(t)
	counts, _ := delivered(t, r.vl)
	checkNoLoss(t, want, localClassified(t, counts))
}

func TestChaosStateDirReadOnly(t *testing.T) {
	r := newLocalStateRig(t)
	p, want, order, before := r.start(t)

	// The file system turns read-only (as after disk errors).
	localRemount(t, r.mnt, "ro")
	remounted := false
	t.Cleanup(func() {
		if !remounted {
			localRemount(t, r.mnt, "rw")
		}
	})
	want, order = r.grow(t)
	waitDelivered(t, r.vl, want, 30*time.Second, nil)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(p.out.String(), `"problem":"the state directory's file system is read-only"`)
	}, "the report")
	if out := p.out.String(); !strings.Contains(out, `"state_dir":"`+r.stateDir+`"`) || !strings.Contains(out, "read-only file system") {
		t.Errorf("the report does not name the state directory %s and the error:\n%s", r.stateDir, tail4k(out))
	}
	if c := readCursor(t, r.stateDir); c != before {
		t.Errorf("the cursor file changed on a read-only file system: %s", c)
	}
	if n := metric(t, r.listen, "cflogd_checkpoint_errors_total", ""); n <= 0 {
		t.Errorf("cflogd_checkpoint_errors_total %v on a read-only state directory, want > 0", n)
	}
	localHealthy(t, r.listen)

	// cflogd restarts while the file system is still read-only: it starts
	// after the saved cursor, delivers, and reports.
	p.term(t)
	p = startDaemon(t, r.bin, r.cfg)
	want, order = r.grow(t)
	waitDelivered(t, r.vl, want, 30*time.Second, nil)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(p.out.String(), `"problem":"the state directory's file system is read-only"`)
	}, "the report after the restart")
	if strings.Contains(p.out.String(), "starting at the initial position") {
		t.Errorf("the restart on a read-only state directory did not use the saved cursor")
	}

	// Writable again: the cursor catches up without new entries.
	localRemount(t, r.mnt, "rw")
	remounted = true
	r.cursorAtEnd(t, order, "the cursor at the end of the third file once writable")
	p.term(t)
	counts, _ := delivered(t, r.vl)
	checkNoLoss(t, want, localClassified(t, counts))
}

func TestChaosCorruptState(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	j.write(t, "a.journal", 8) // two stalls
	good := `{"version":1,"cursor":"s=0123456789abcdef0123456789abcdef;i=1a;b=5c0ffee05c0ffee05c0ffee05c0ffee0;m=12ab;t=5f1e2d3c4b5a6;x=9f8e7d6c5b4a3921","time":"2026-11-26T10:00:00Z","saved":"2026-11-26T10:00:01Z"}`
	binary := make([]byte, 2048)
	for i := range binary {
		binary[i] = byte(i*31 + 7)
	}
	tests := []struct {
		name    string
		content []byte
		msg     string // in the log
	}{
		{"empty", nil, "unexpected end of JSON input"},
		{"truncated", []byte(good[:50]), "unexpected end of JSON input"},
		{"binary", binary, "invalid character"},
		{"huge", append([]byte(good[:len(good)-1]+`,"pad":"`), bytes.Repeat([]byte{'z'}, 16<<20)...), "larger than 65536 bytes"},
		{"null", []byte("null"), "unknown version 0"},
		{"not a cursor", []byte(`{"version":1,"cursor":"hello"}`), `\"hello\" is not a journal cursor`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			if err := os.MkdirAll(stateDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(stateDir, state.CursorFile), tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := writeHeadConfig(t, stateDir, "", j.dir, `checkpoint_interval = "100ms"`, `[[sink]]
type = "stdout"`)
			p := startDaemon(t, bin, cfg)
			stalls := func() int { return strings.Count(p.out.String(), `"signature":"chainfire.rocksdb_stall"`) }
			testpeer.Eventually(t, 10*time.Second, func() bool { return stalls() == 2 }, "events from the head")
			testpeer.Eventually(t, 10*time.Second, func() bool { return localCursorOK(stateDir) }, "a valid cursor")
			p.term(t)
			out := p.out.String()
			if !strings.Contains(out, "cursor file is corrupt") || !strings.Contains(out, "starting at the initial position") ||
				!strings.Contains(out, tt.msg) || !strings.Contains(out, filepath.Join(stateDir, state.CursorFile)) {
				t.Errorf("no clear message (naming the file and saying %q):\n%s", tt.msg, tail4k(out))
			}
			// The next start uses the new cursor: no complaint, nothing
			// delivered twice.
			p = startDaemon(t, bin, cfg)
			testpeer.Eventually(t, 10*time.Second, func() bool { return strings.Contains(p.out.String(), "following the journal") }, "the restart to follow")
			p.term(t)
			if out := p.out.String(); strings.Contains(out, "corrupt") || stalls() != 0 {
				t.Errorf("second start: %d events again, or a complaint:\n%s", stalls(), tail4k(out))
			}
		})
	}
}

func TestChaosCorruptRulesAndNotifyState(t *testing.T) {
	// A corrupt rule windows file or notification log is reported and
	// replaced; the daemon delivers from its valid cursor.
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	hook := testpeer.NewRecorder(t, nil)
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeHeadConfig(t, stateDir, "", j.dir, `checkpoint_interval = "100ms"`, fmt.Sprintf(`[[sink]]
type = "stdout"
[[sink]]
type = "webhook"
url = %q
group_wait = "100ms"`, hook.URL))
	j.write(t, "a.journal", 40)
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 15*time.Second, func() bool {
		_, err1 := os.Stat(filepath.Join(stateDir, "rules.json"))
		_, err2 := os.Stat(filepath.Join(stateDir, "notify-webhook.json"))
		return err1 == nil && err2 == nil && localCursorOK(stateDir)
	}, "state files")
	p.term(t)
	for name, content := range map[string]string{"rules.json": `{"version":1,"cursor":"s=1;i=1","windows":{"version":1,"rules":[{"id"`, "notify-webhook.json": "\x00\x01garbage"} {
		if err := os.WriteFile(filepath.Join(stateDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j.write(t, "b.journal", 40)
	p = startDaemon(t, bin, cfg)
	stalls := func() int { return strings.Count(p.out.String(), `"signature":"chainfire.rocksdb_stall"`) }
	testpeer.Eventually(t, 10*time.Second, func() bool { return stalls() == 10 }, "the events of b.journal")
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return localJSONFile(stateDir, "rules.json") && localJSONFile(stateDir, "notify-webhook.json")
	}, "valid state files again")
	p.term(t)
	out := p.out.String()
	for _, want := range []string{"cannot use the saved rule windows; the rules start afresh", "cannot use the notification log"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, tail4k(out))
		}
	}
	if strings.Contains(out, "starting at the initial position") {
		t.Errorf("the valid cursor was not used")
	}
}

// localCursorOK reports whether the state directory holds a valid cursor.
func localCursorOK(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, state.CursorFile))
	if err != nil {
		return false
	}
	var c struct {
		Version int    `json:"version"`
		Cursor  string `json:"cursor"`
	}
	return json.Unmarshal(b, &c) == nil && c.Version == 1 && strings.HasPrefix(c.Cursor, "s=")
}

// localJSONFile reports whether dir/name is a JSON document.
func localJSONFile(dir, name string) bool {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return err == nil && json.Valid(b)
}

// The site pattern versions of the SIGHUP storm: two files each, three
// signatures in all, spread differently, so that a library that mixed the
// files of two versions, or held part of a file, has another set.
var localSiteVersions = []map[string][]string{
	{"f1.yaml": {"site.a_alpha:alpha"}, "f2.yaml": {"site.a_beta:beta", "site.a_gamma:gamma"}},
	{"f1.yaml": {"site.b_alpha:alpha", "site.b_gamma:gamma"}, "f2.yaml": {"site.b_beta:beta"}},
}

var localSiteWords = []string{"alpha", "beta", "gamma"}

// localSiteFile renders signatures "id:word" as a pattern file, one chunk
// per signature; bad makes the last one invalid.
func localSiteFile(sigs []string, bad bool) [][]byte {
	chunks := [][]byte{[]byte("signatures:\n")}
	for i, s := range sigs {
		id, word, _ := strings.Cut(s, ":")
		sev := "warning"
		if bad && i == len(sigs)-1 {
			sev = "loud"
		}
		chunks = append(chunks, fmt.Appendf(nil, "  - id: %s\n    units: [chainfire]\n    summary: \"site %s\"\n    severity: %s\n    anchor: log-analysis\n    match: 'site %s marker'\n", id, word, sev, word))
	}
	return chunks
}

// localWriteVersion writes version v (bad: with an invalid signature) into
// dir, file by file, each written as a hidden temporary file and renamed
// over the old one: a reload promises whole files only for that (see
// docs/patterns.md).
func localWriteVersion(t *testing.T, dir string, v int, bad bool) {
	for _, name := range []string{"f1.yaml", "f2.yaml"} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, slices.Concat(localSiteFile(localSiteVersions[v][name], bad && name == "f2.yaml")...), 0o600); err != nil {
			t.Error(err)
			return
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// localWriteSiteLines appends a journal file of n chainfire lines per site
// word: "WARN chainfire_site: site alpha marker 17".
func localWriteSiteLines(t *testing.T, j *e2eJournal, name string, n int) {
	t.Helper()
	var b []byte
	for k := range n * len(localSiteWords) {
		i := j.n
		j.n++
		ts := j.base.Add(time.Duration(i) * time.Millisecond)
		b = testjournal.Entry(b, ts, 5000*time.Second+time.Duration(i)*time.Millisecond, e2eBoot,
			"_HOSTNAME", "node01", "_SYSTEMD_UNIT", "chainfire.service", "SYSLOG_IDENTIFIER", "chainfire", "_PID", "1234", "PRIORITY", "4",
			"MESSAGE", fmt.Sprintf("WARN chainfire_site: site %s marker %d", localSiteWords[k%len(localSiteWords)], i))
	}
	testjournal.Move(t, j.dir, name, b)
}

// localStdoutEvents returns the events the stdout sink printed: signature
// by cursor, and how many times each cursor came.
func localStdoutEvents(t *testing.T, out string) (sigs map[string]string, msgs map[string]string, times map[string]int) {
	t.Helper()
	sigs, msgs, times = map[string]string{}, map[string]string{}, map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"signature":`) {
			continue
		}
		var ev struct {
			Signature, Cursor, Message string
			Derived                    bool
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if ev.Derived {
			continue
		}
		sigs[ev.Cursor], msgs[ev.Cursor] = ev.Signature, ev.Message
		times[ev.Cursor]++
	}
	return sigs, msgs, times
}

func TestChaosSIGHUPStorm(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	patDir := t.TempDir()
	localWriteVersion(t, patDir, 0, false)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	cfg := writeHeadConfig(t, filepath.Join(t.TempDir(), "state"), listen, j.dir, "", fmt.Sprintf(`[patterns]
dirs = [%q]
[[sink]]
type = "stdout"`, patDir))
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 15*time.Second, func() bool {
		return metric(t, listen, "cflogd_patterns_last_reload_successful", "") == 1
	}, "the first load")
	want := metric(t, listen, "cflogd_patterns_signatures", "") // the built-in library and 3

	storm := localDur(5*time.Second, 30*time.Second)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	// SIGHUP every 100 ms.
	var hups int
	run(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.cmd.Process.Signal(syscall.SIGHUP)
				hups++
			}
		}
	})
	// The pattern files rewritten in place: version A, B, then B with an
	// invalid signature, and so on, at an uneven pace.
	var rewrites int
	run(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(i*37%150) * time.Millisecond): // the writer's pace
			}
			localWriteVersion(t, patDir, i%2, i%3 == 2)
			rewrites++
		}
	})
	// The journal grows: 30 site lines every 200 ms.
	var files int
	run(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond): // the journal's growth rate
			}
			localWriteSiteLines(t, j, fmt.Sprintf("s%03d.journal", files), 10)
			files++
		}
	})
	// The library in use, sampled every 20 ms: always whole files.
	seen := map[float64]int{}
	var okSeen [2]int
	run(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond): // the sampling rate
			}
			if n := metric(t, listen, "cflogd_patterns_signatures", ""); n >= 0 {
				seen[n]++
			}
			if ok := metric(t, listen, "cflogd_patterns_last_reload_successful", ""); ok == 0 || ok == 1 {
				okSeen[int(ok)]++
			}
		}
	})
	time.Sleep(storm) // the storm's length
	close(stop)
	wg.Wait()
	select {
	case <-p.done:
		t.Fatalf("cflogd exited during the SIGHUP storm: %v", p.err)
	default:
	}
	// Whole files, possibly of two versions: the writer may pause between
	// its two renames for longer than the settle time.
	whole := map[float64]bool{}
	for _, v1 := range localSiteVersions {
		for _, v2 := range localSiteVersions {
			whole[want-3+float64(len(v1["f1.yaml"])+len(v2["f2.yaml"]))] = true
		}
	}
	for n, k := range seen {
		if !whole[n] {
			t.Errorf("cflogd_patterns_signatures was %v in %d samples; whole files have one of %v", n, k, whole)
		}
	}
	if okSeen[0] == 0 || okSeen[1] == 0 {
		t.Errorf("reloads: %d samples failed, %d succeeded; the storm should show both", okSeen[0], okSeen[1])
	}
	t.Logf("storm of %v: %d SIGHUPs, %d rewrites of the pattern files, %d journal files; samples of the last reload: %d failed, %d succeeded",
		storm, hups, rewrites, files, okSeen[0], okSeen[1])

	// The last reload decides the metric and the library: a valid version
	// (1), then an invalid one (0, the previous set stays), then another
	// valid one (1).
	steps := []struct {
		v      int
		bad    bool
		ok     float64
		prefix string // of the site events that follow
	}{
		{0, false, 1, "site.a_"},
		{1, true, 0, "site.a_"},
		{1, false, 1, "site.b_"},
	}
	for i, s := range steps {
		localWriteVersion(t, patDir, s.v, s.bad)
		sent := time.Now()
		p.cmd.Process.Signal(syscall.SIGHUP)
		testpeer.Eventually(t, 15*time.Second, func() bool {
			ok := metric(t, listen, "cflogd_patterns_last_reload_successful", "")
			at := metric(t, listen, "cflogd_patterns_last_reload_success_timestamp_seconds", "")
			return ok == s.ok && (s.ok == 0 || at >= float64(sent.UnixNano())/1e9)
		}, "step %d's reload", i)
		from := j.n
		localWriteSiteLines(t, j, fmt.Sprintf("step%d.journal", i), 5)
		testpeer.Eventually(t, 15*time.Second, func() bool {
			sigs, _, _ := localStdoutEvents(t, p.out.String())
			return len(sigs) == j.n
		}, "the step's events")
		sigs, msgs, _ := localStdoutEvents(t, p.out.String())
		for c, sig := range sigs {
			var word string
			var at int
			fmt.Sscanf(msgs[c], "WARN chainfire_site: site %s marker %d", &word, &at)
			if at >= from && !strings.HasPrefix(sig, s.prefix) {
				t.Errorf("step %d: %q classified as %s, want %s%s", i, msgs[c], sig, s.prefix, word)
			}
		}
	}
	p.term(t)

	// Every site line gave exactly one event, from one whole version.
	sigs, msgs, times := localStdoutEvents(t, p.out.String())
	lines := j.n
	if len(sigs) != lines {
		t.Errorf("%d events for %d site lines", len(sigs), lines)
	}
	for c, sig := range sigs {
		word := strings.Fields(msgs[c])[3]
		if sig != "site.a_"+word && sig != "site.b_"+word {
			t.Errorf("line %q classified as %s", msgs[c], sig)
		}
		if times[c] != 1 {
			t.Errorf("line %q delivered %d times", msgs[c], times[c])
		}
	}
}
