package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/state"
	"github.com/centra-cloud/cflogd/tail"
)

// The tests in this file run `cflogd run` as a process against journal
// directories written by systemd-journal-remote and a real VictoriaLogs
// (Loki push protocol), and check the delivery guarantee from outside:
// nothing lost across kill -9, peer outages and rotation, duplicates only
// after the last saved cursor.

// buildCflogd builds the binary into a temporary directory.
func buildCflogd(t *testing.T) string {
	t.Helper()
	testjournal.Require(t)
	bin := filepath.Join(t.TempDir(), "cflogd")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eJournal writes numbered entries into journal files of one directory.
type e2eJournal struct {
	dir  string
	base time.Time
	n    int // entries written so far
}

func newE2EJournal(t *testing.T) *e2eJournal {
	// Entries are a little in the past, so the delivery latency is real.
	return &e2eJournal{dir: t.TempDir(), base: time.Now().Add(-time.Minute).Truncate(time.Millisecond)}
}

const e2eBoot = "0e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e"

// write appends n entries as a new journal file: of every four, a RocksDB
// stall and an election timeout (events), a healthy chainfire line and an
// sshd line (no events).
func (j *e2eJournal) write(t *testing.T, name string, n int) string {
	t.Helper()
	var b []byte
	for range n {
		i := j.n
		j.n++
		ts := j.base.Add(time.Duration(i) * time.Millisecond)
		unit, ident, pid := "chainfire.service", "chainfire", "1234"
		var msg string
		switch i % 4 {
		case 0:
			msg = fmt.Sprintf("WARN chainfire_storage: RocksDB stall detected, duration=%dms", 1000+i)
		case 1:
			msg = fmt.Sprintf("WARN raft{node_id=1 term=%d}: chainfire_raft: election timeout, no heartbeat from leader", 7+i)
		case 2:
			msg = fmt.Sprintf("INFO chainfire_server: applied index %d", i)
		default:
			unit, ident, pid = "ssh.service", "sshd", "99"
			msg = fmt.Sprintf("Accepted publickey for ops from 10.0.0.%d", i%250)
		}
		b = testjournal.Entry(b, ts, 5000*time.Second+time.Duration(i)*time.Millisecond, e2eBoot,
			"_HOSTNAME", "node01", "_SYSTEMD_UNIT", unit, "SYSLOG_IDENTIFIER", ident, "_PID", pid, "PRIORITY", "4", "MESSAGE", msg)
	}
	// Written elsewhere and moved in, so the follower never sees a
	// half-written file from this test (journald's own files are written
	// in place, which the reader copes with too).
	return testjournal.Move(t, j.dir, name, b)
}

// eventKey identifies a delivered event: a derived event (rules over time)
// carries the cursor of the entry that fired it, as that entry's own event
// does.
func eventKey(signature, cursor string) string { return signature + "@" + cursor }

// expectedEvents classifies the journal of dir in-process, with the rules
// over time: the events the daemon must deliver, by eventKey, and every
// entry's position.
func expectedEvents(t *testing.T, dir string) (events map[string]string, order map[string]int) {
	t.Helper()
	return expectEvents(t, dir, true)
}

// expectEvents is expectedEvents, with or without the rules over time.
func expectEvents(t *testing.T, dir string, withRules bool) (events map[string]string, order map[string]int) {
	t.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	cls := classify.New(lib, classify.Options{})
	rules := classify.NewRules(lib, classify.Options{})
	events, order = map[string]string{}, map[string]int{}
	units := []string{"chainfire.service", "flaredb.service", "placement-driver.service"}
	var derived []record.Event
	err = tail.ReadJournal(context.Background(), tail.Options{Directory: dir, Units: units}, func(b []record.Entry) error {
		for i := range b {
			order[b[i].Cursor] = len(order)
			m, ok := cls.Match(&b[i])
			if !ok {
				continue
			}
			if m.HasEvent {
				events[eventKey(m.Event.Signature, m.Event.Cursor)] = m.Event.Cursor
			}
			if withRules && rules.Wants(m.Signature) {
				derived = rules.Feed(&m, derived[:0])
				for _, ev := range derived {
					events[eventKey(ev.Signature, ev.Cursor)] = ev.Cursor
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return events, order
}

// daemonProc is a running cflogd run.
type daemonProc struct {
	cmd  *exec.Cmd
	out  *testpeer.Buffer
	done chan struct{}
	err  error
}

func startDaemon(t *testing.T, bin, cfg string, wrap ...string) *daemonProc {
	t.Helper()
	args := append(append([]string{}, wrap...), bin, "run", "--config", cfg)
	p := &daemonProc{cmd: exec.Command(args[0], args[1:]...), out: &testpeer.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start cflogd: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("cflogd output:\n%s", tail4k(p.out.String()))
		}
	})
	return p
}

func tail4k(s string) string {
	if len(s) > 4096 {
		return "…" + s[len(s)-4096:]
	}
	return s
}

// kill9 kills the daemon without a chance to flush or checkpoint.
func (p *daemonProc) kill9(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term sends SIGTERM and checks that the daemon exits cleanly within 10 s.
func (p *daemonProc) term(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(12 * time.Second):
		t.Fatalf("cflogd did not exit within 12s of SIGTERM")
	}
	took := time.Since(start)
	if p.err != nil {
		t.Errorf("cflogd exited with %v after SIGTERM", p.err)
	}
	if took > 10*time.Second {
		t.Errorf("shutdown took %v, want at most 10s", took)
	}
	return took
}

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "cflogd.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// delivered reads every event VictoriaLogs holds: count per cursor of the
// classified events, and the gap events.
func delivered(t *testing.T, vl *testpeer.VictoriaLogs) (counts map[string]int, gaps []map[string]any) {
	t.Helper()
	vl.Flush(t)
	counts = map[string]int{}
	for _, row := range vl.Query(t, `{job="cflogd"}`) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(row["_msg"]), &ev); err != nil {
			t.Fatalf("decode event %q: %v", row["_msg"], err)
		}
		if ev["signature"] == "cflogd.journal_gap" {
			gaps = append(gaps, ev)
			continue
		}
		c, _ := ev["cursor"].(string)
		sig, _ := ev["signature"].(string)
		counts[eventKey(sig, c)]++
	}
	return counts, gaps
}

// waitDelivered polls VictoriaLogs until every expected cursor is there.
func waitDelivered(t *testing.T, vl *testpeer.VictoriaLogs, want map[string]string, timeout time.Duration, extra func() bool) map[string]int {
	t.Helper()
	var counts map[string]int
	missing := 0
	ok := testpeer.Poll(timeout, func() bool {
		counts, _ = delivered(t, vl)
		missing = 0
		for c := range want {
			if counts[c] == 0 {
				missing++
			}
		}
		return missing == 0 && (extra == nil || extra())
	})
	if !ok {
		t.Fatalf("after %v: %d of %d events missing in VictoriaLogs", timeout, missing, len(want))
	}
	return counts
}

func readCursor(t *testing.T, stateDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, state.CursorFile))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Cursor string }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("cursor file %q: %v", b, err)
	}
	return c.Cursor
}

// metric returns the value of the first sample of name whose labels
// contain labels, or -1.
func metric(t *testing.T, addr, name, labels string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil || !strings.Contains(m[1], labels) {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		return v
	}
	return -1
}

func checkNoLoss(t *testing.T, want map[string]string, counts map[string]int) {
	t.Helper()
	for c := range counts {
		if _, ok := want[c]; !ok {
			t.Errorf("unexpected event with cursor %s delivered", c)
		}
	}
	for k := range want {
		if counts[k] == 0 {
			t.Errorf("event %s lost", k)
		}
	}
}

func TestRunKill9MidStream(t *testing.T) {
	bin := buildCflogd(t)
	vl := testpeer.StartVictoriaLogs(t)
	j := newE2EJournal(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
checkpoint_interval = "300ms"
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "loki"
url = %q
batch_wait = "200ms"
retry_max = "1s"
`, stateDir, j.dir, vl.LokiPushURL()+"?disable_message_parsing=1"))

	// A journal that keeps growing: a new file every 100 ms.
	j.write(t, "c000.journal", 200)
	p := startDaemon(t, bin, cfg)
	var chunk int
	feed := func(n int) {
		for range n {
			chunk++
			j.write(t, fmt.Sprintf("c%03d.journal", chunk), 200)
			time.Sleep(100 * time.Millisecond) // the journal's growth rate
		}
	}
	feed(8)
	testpeer.Eventually(t, 10*time.Second, func() bool { return readCursor(t, stateDir) != "" }, "a saved cursor")
	feed(2)
	p.kill9(t)
	saved := readCursor(t, stateDir)
	feed(5) // appended while cflogd is down
	p = startDaemon(t, bin, cfg)
	feed(5)

	want, order := expectedEvents(t, j.dir)
	counts := waitDelivered(t, vl, want, 30*time.Second, nil)
	p.term(t)
	counts, _ = delivered(t, vl)
	checkNoLoss(t, want, counts)
	savedAt, ok := order[saved]
	if !ok {
		t.Fatalf("saved cursor %q is not a chainfire entry of the journal", saved)
	}
	dups := 0
	for k, n := range counts {
		if n > 1 {
			dups++
			if at := order[want[k]]; at <= savedAt {
				t.Errorf("event %s at entry %d delivered %d times, though the cursor saved before the kill covers entry %d", k, at, n, savedAt)
			}
		}
	}
	t.Logf("%d events, %d delivered twice (all after the saved cursor)", len(want), dups)
	if last := readCursor(t, stateDir); order[last] != len(order)-1 {
		t.Errorf("cursor after SIGTERM is entry %d, want the last one (%d)", order[last], len(order)-1)
	}
}

func peerDownFor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CFLOGD_E2E_PEER_DOWN")); err == nil {
		return d
	}
	return 8 * time.Second
}

func TestRunPeerDownFirst(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	port := testpeer.FreePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = %q
checkpoint_interval = "300ms"
queue_size = 2
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "loki"
url = "http://127.0.0.1:%d/insert/loki/api/v1/push?disable_message_parsing=1"
batch_wait = "200ms"
retry_max = "1s"
`, stateDir, listen, j.dir, port))
	for i := range 8 {
		j.write(t, fmt.Sprintf("a%d.journal", i), 600)
	}
	p := startDaemon(t, bin, cfg)
	down := time.Now()

	// Back-pressure: the queue fills and the reader stops, nothing is
	// checkpointed, the sink retries.
	testpeer.Eventually(t, 15*time.Second, func() bool { return metric(t, listen, "cflogd_queue_depth", "") == 2 }, "a full queue")
	testpeer.Eventually(t, 15*time.Second, func() bool { return metric(t, listen, "cflogd_sink_retried_total", `sink="loki"`) > 0 }, "retries")
	read := metric(t, listen, "cflogd_journal_lines_read_total", `unit="chainfire.service"`)
	j.write(t, "b.journal", 400) // more while the peer is down
	time.Sleep(time.Until(down.Add(peerDownFor())))
	if c := readCursor(t, stateDir); c != "" {
		t.Errorf("cursor saved while the only durable sink was down: %s", c)
	}
	if now := metric(t, listen, "cflogd_journal_lines_read_total", `unit="chainfire.service"`); now != read {
		t.Errorf("the reader went on while the queue was full: %v chainfire lines read, then %v", read, now)
	}
	if lag := metric(t, listen, "cflogd_journal_lag_seconds", ""); lag <= 0 {
		t.Errorf("journal lag %v while the reader is held back, want > 0", lag)
	}

	vl := testpeer.StartVictoriaLogsAt(t, port, t.TempDir())
	want, order := expectedEvents(t, j.dir)
	waitDelivered(t, vl, want, 60*time.Second, nil)
	testpeer.Eventually(t, 10*time.Second, func() bool { return order[readCursor(t, stateDir)] == len(order)-1 }, "the last cursor")
	p.term(t)
	counts, _ := delivered(t, vl)
	checkNoLoss(t, want, counts)
	for c, n := range counts {
		if n > 1 {
			t.Errorf("event %s delivered %d times without a crash", c, n)
		}
	}
	t.Logf("%d events delivered after the peer was down for %v", len(want), peerDownFor())
}

func TestRunSIGTERMWhilePeerDown(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = %q
queue_size = 2
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "loki"
url = "http://127.0.0.1:%d/insert/loki/api/v1/push?disable_message_parsing=1"
`, stateDir, listen, j.dir, testpeer.FreePort(t)))
	j.write(t, "a.journal", 3000)
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 15*time.Second, func() bool { return metric(t, listen, "cflogd_queue_depth", "") == 2 }, "a full queue")
	took := p.term(t)
	if c := readCursor(t, stateDir); c != "" {
		t.Errorf("cursor saved though nothing was delivered: %s", c)
	}
	t.Logf("SIGTERM with a full queue and the peer down: exit after %v", took)
}

func TestRunRotatedAway(t *testing.T) {
	bin := buildCflogd(t)
	vl := testpeer.StartVictoriaLogs(t)
	j := newE2EJournal(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
checkpoint_interval = "300ms"
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "loki"
url = %q
batch_wait = "200ms"
`, stateDir, j.dir, vl.LokiPushURL()+"?disable_message_parsing=1"))
	// The rules' windows go on across the restart, so the derived events
	// after the gap depend on what came before it: only the classified
	// events are compared here (TestRunKill9MidStream covers the rules).
	a := j.write(t, "a.journal", 400)
	wantA, orderA := expectEvents(t, j.dir, false)
	p := startDaemon(t, bin, cfg)
	waitDelivered(t, vl, wantA, 30*time.Second, nil)
	testpeer.Eventually(t, 10*time.Second, func() bool { return orderA[readCursor(t, stateDir)] == len(orderA)-1 }, "the cursor at the end of a.journal")
	p.term(t)
	saved := readCursor(t, stateDir)

	// While cflogd is stopped, the journal grows and its oldest files are
	// vacuumed, including the one with the saved cursor and entries never
	// read.
	b := j.write(t, "b.journal", 400)
	wantB, _ := expectEvents(t, j.dir, false)
	j.write(t, "c.journal", 400)
	for _, f := range []string{a, b} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	wantC, _ := expectEvents(t, j.dir, false)

	p = startDaemon(t, bin, cfg)
	var gaps []map[string]any
	waitDelivered(t, vl, wantC, 30*time.Second, func() bool {
		_, gaps = delivered(t, vl)
		return len(gaps) > 0
	})
	p.term(t)
	counts, gaps := delivered(t, vl)
	if len(gaps) != 1 {
		t.Fatalf("gap events: %d, want 1", len(gaps))
	}
	g := gaps[0]
	fields, _ := g["fields"].(map[string]any)
	if fields["saved_cursor"] != saved || g["severity"] != "warning" || !strings.Contains(g["summary"].(string), "rotated away") {
		t.Errorf("gap event = %v; want the saved cursor %s, severity warning and a summary", g, saved)
	}
	for c := range wantB {
		if _, inA := wantA[c]; !inA && counts[c] > 0 {
			t.Errorf("event %s of the vacuumed file b.journal was delivered", c)
		}
	}
	for c := range wantA {
		if counts[c] != 1 {
			t.Errorf("event %s of a.journal delivered %d times, want once", c, counts[c])
		}
	}
	for c := range wantC {
		if counts[c] != 1 {
			t.Errorf("event %s of c.journal delivered %d times, want once", c, counts[c])
		}
	}
	var wantKeys []string
	for c := range wantC {
		wantKeys = append(wantKeys, c)
	}
	slices.Sort(wantKeys)
	t.Logf("gap event: %s; %d events after it delivered", g["summary"], len(wantKeys))
}

func TestRunSIGHUPReloadsPatterns(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	j.write(t, "a.journal", 8)
	patDir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = %q
[journal]
directory = %q
initial_position = "head"
[patterns]
dirs = [%q]
[[sink]]
type = "stdout"
`, filepath.Join(t.TempDir(), "state"), listen, j.dir, patDir))
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return metric(t, listen, "cflogd_patterns_last_reload_successful", "") == 1
	}, "the first load")
	sigs := metric(t, listen, "cflogd_patterns_signatures", "")

	bad := filepath.Join(patDir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("signatures:\n  - id: site.bad\n    severity: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return metric(t, listen, "cflogd_patterns_last_reload_successful", "") == 0
	}, "the failed reload")
	if !strings.Contains(p.out.String(), "bad.yaml") {
		t.Errorf("the failed reload's log does not name the file:\n%s", p.out.String())
	}
	good := "signatures:\n  - id: site.queue_full\n    units: [chainfire]\n    summary: \"Request queue full\"\n    severity: error\n    anchor: log-analysis\n    match: 'request queue is full'\n"
	if err := os.WriteFile(bad, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	testpeer.Eventually(t, 10*time.Second, func() bool {
		return metric(t, listen, "cflogd_patterns_last_reload_successful", "") == 1 &&
			metric(t, listen, "cflogd_patterns_signatures", "") == sigs+1
	}, "the good reload")
	p.term(t)
}

func TestRunCorruptCursorFallsBack(t *testing.T) {
	bin := buildCflogd(t)
	j := newE2EJournal(t)
	j.write(t, "a.journal", 8)
	stateDir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, state.CursorFile), []byte(`{"version":1,"cursor":"s=ab;i=`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "stdout"
`, stateDir, j.dir))
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 10*time.Second, func() bool { return strings.Count(p.out.String(), `"signature":"chainfire.rocksdb_stall"`) == 2 }, "events from the head")
	p.term(t)
	out := p.out.String()
	if !strings.Contains(out, "cursor file is corrupt") || !strings.Contains(out, "starting at the initial position") {
		t.Errorf("no clear message about the corrupt cursor file:\n%s", out)
	}
	if c := readCursor(t, stateDir); c == "" {
		t.Errorf("no valid cursor saved after the fallback")
	}
}
