package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/state"
	"github.com/centra-cloud/cflogd/tail"
)

// runDaemon runs d until stop, which fails the test when Run returned an
// error.
func runDaemon(t *testing.T, d *Daemon) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

func TestTrackerCheckpointsBehindEverySink(t *testing.T) {
	tr := newTracker(10, 2)
	ctx := context.Background()
	nop := func() {}
	for i := range 3 {
		if _, err := tr.begin(ctx, mark{cursor: fmt.Sprintf("c%d", i)}, nil, nil, nop); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		sink int
		seq  uint64
		want string // checkpoint cursor after the ack, "" for no change
	}{
		{0, 0, ""},   // sink 1 has nothing yet
		{0, 1, ""},   // still nothing from sink 1
		{1, 0, "c0"}, // both done with batch 0
		{1, 2, "c1"}, // sink 1 acks in order: 1 and 2; sink 0 only up to 1
		{0, 2, "c2"},
	}
	for _, s := range steps {
		tr.ack(s.sink, s.seq)
		m, changed, _ := tr.checkpoint()
		got := ""
		if changed {
			got = m.cursor
		}
		if got != s.want {
			t.Errorf("after ack(%d, %d): checkpoint %q, want %q", s.sink, s.seq, got, s.want)
		}
	}
	if d := tr.depth(); d != 0 {
		t.Errorf("depth %d after everything was acked", d)
	}
}

// TestTrackerBackPressure: begin blocks on a full queue, beats every
// second while it waits, goes on when an ack makes room and ends with its
// context. The clock is synctest's, so the test takes no real time.
func TestTrackerBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker(2, 1)
		ctx := t.Context()
		nop := func() {}
		for i := range 2 {
			if _, err := tr.begin(ctx, mark{cursor: fmt.Sprint(i)}, nil, nil, nop); err != nil {
				t.Fatal(err)
			}
		}
		var beats atomic.Int32
		third := make(chan uint64, 1)
		go func() {
			seq, _ := tr.begin(ctx, mark{cursor: "2"}, nil, nil, func() { beats.Add(1) })
			third <- seq
		}()
		synctest.Wait()
		if !tr.blocked() {
			t.Fatal("begin did not block on a full queue")
		}
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := beats.Load(); n != 4 {
			t.Errorf("%d heartbeats in 3.5 s of waiting, want 4 (at 0, 1, 2 and 3 s)", n)
		}
		select {
		case <-third:
			t.Fatal("begin returned while the queue was full")
		default:
		}
		tr.ack(0, 0)
		synctest.Wait()
		select {
		case seq := <-third:
			if seq != 2 {
				t.Errorf("third batch got seq %d", seq)
			}
		default:
			t.Fatal("begin still blocked after an ack made room")
		}
		// A cancelled context ends the wait.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := tr.begin(cctx, mark{}, nil, nil, nop); !errors.Is(err, context.Canceled) {
			t.Errorf("begin with a full queue and a cancelled context: %v", err)
		}
	})
}

func TestTrackerWithoutDurableSinks(t *testing.T) {
	tr := newTracker(1, 0)
	for i := range 3 {
		if _, err := tr.begin(context.Background(), mark{cursor: fmt.Sprint(i)}, nil, nil, func() {}); err != nil {
			t.Fatal(err)
		}
	}
	if m, changed, _ := tr.checkpoint(); !changed || m.cursor != "2" {
		t.Errorf("checkpoint %q %v, want the last batch", m.cursor, changed)
	}
}

func TestUnitOfCgroup(t *testing.T) {
	tests := map[string]string{
		"0::/system.slice/cflogd.service\n":                                "cflogd.service",
		"12:pids:/system.slice/cflogd.service\n0::/system.slice/x.service": "cflogd.service",
		"0::/user.slice/user-0.slice/user@0.service/app.slice/tmux.scope":  "",
		"0::/":                              "",
		"0::/init.scope\n":                  "",
		"0::/system.slice/docker-1.scope\n": "",
	}
	for in, want := range tests {
		if got := unitOfCgroup(in); got != want {
			t.Errorf("unitOfCgroup(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeJournal writes entries (unit, message, pid) into dir/name, one
// millisecond apart from base, in this machine's boot.
func writeJournal(t *testing.T, dir, name string, base time.Time, entries [][3]string) {
	t.Helper()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	bootID := strings.ReplaceAll(strings.TrimSpace(string(boot)), "-", "")
	host, _ := os.Hostname()
	var b []byte
	for i, e := range entries {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		// One boot: the monotonic clock goes on across files.
		mono := ts.Sub(time.UnixMicro(1_700_000_000_000_000))
		b = testjournal.Entry(b, ts, mono, bootID, "_HOSTNAME", host, "_SYSTEMD_UNIT", e[0], "_PID", e[2], "MESSAGE", e[1])
	}
	testjournal.Write(t, dir, name, b)
}

// signatures returns "signature unit" of each event the stdout sink wrote
// into b.
func signatures(b *testpeer.Buffer) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var ev record.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return append(out, "bad JSON: "+sc.Text())
		}
		out = append(out, ev.Signature+" "+ev.Unit)
	}
	return out
}

// notes records the states sent to the service manager.
type notes struct {
	mu sync.Mutex
	s  []string
}

func (n *notes) add(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.s) == 0 || n.s[len(n.s)-1] != s {
		n.s = append(n.s, s)
	}
}

func (n *notes) get() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.s...)
}

func TestRunInProcess(t *testing.T) {
	if err := tail.ReadJournal(context.Background(), tail.Options{Directory: t.TempDir()}, func([]record.Entry) error { return nil }); errors.Is(err, tail.ErrNoJournal) {
		t.Skip("no journal reader in this build")
	}
	jdir := t.TempDir()
	patDir := t.TempDir()
	stateDir := filepath.Join(t.TempDir(), "state")
	base := time.Now().Add(-time.Minute)
	writeJournal(t, jdir, "a.journal", base, [][3]string{
		{"chainfire.service", "WARN chainfire_storage: RocksDB stall detected, duration=2000ms", "1234"},
		{"chainfire.service", "INFO chainfire_server: applied index 5", "1234"},
		{"cflogd.service", "ERROR cflogd: RocksDB stall detected, duration=2000ms", "1"},                                    // its own unit
		{"chainfire.service", "WARN chainfire_storage: RocksDB stall detected, duration=3000ms", strconv.Itoa(os.Getpid())}, // its own PID
		{"chainfire.service", "WARN chainfire_api: request queue is full, dropping", "1234"},
	})
	cfg := config.Default
	cfg.StateDir = stateDir
	cfg.Listen = ""
	cfg.Units = []string{"chainfire.service", "cflogd.service"}
	cfg.Journal.Directory = jdir
	cfg.Journal.InitialPosition = config.Position{Head: true}
	cfg.Patterns.Dirs = []string{patDir, filepath.Join(patDir, "missing")}
	cfg.CheckpointInterval = 50 * time.Millisecond
	cfg.Sinks = []config.SinkConfig{stdout.Default}
	var out testpeer.Buffer
	var sd notes
	d, err := New(Options{Config: &cfg, Log: zerolog.Nop(), Stdout: &out, Notify: sd.add, Watchdog: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.self.unit = "cflogd.service" // as if started by systemd

	stop := runDaemon(t, d)
	testpeer.Eventually(t, 10*time.Second, func() bool { return len(signatures(&out)) >= 1 }, "the stall event")
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, srv.URL+path); code != 200 {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	testpeer.Eventually(t, 10*time.Second, func() bool { return strings.Contains(strings.Join(sd.get(), " "), "WATCHDOG=1") }, "a watchdog ping")

	// SIGHUP with a broken pattern file keeps the old set; a good one is
	// used for the following entries.
	if err := os.WriteFile(filepath.Join(patDir, "bad.yaml"), []byte("signatures:\n  - id: site.bad\n    severity: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("Reload of a bad file: %v, want an error naming it", err)
	}
	if _, body := get(t, srv.URL+"/metrics"); !strings.Contains(body, "cflogd_patterns_last_reload_successful 0") {
		t.Errorf("metrics after a failed reload lack cflogd_patterns_last_reload_successful 0")
	}
	os.Remove(filepath.Join(patDir, "bad.yaml"))
	extra := "signatures:\n  - id: site.queue_full\n    units: [chainfire]\n    summary: \"Request queue full\"\n    severity: error\n    anchor: log-analysis\n    match: 'request queue is full'\n"
	if err := os.WriteFile(filepath.Join(patDir, "extra.yaml"), []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	writeJournal(t, jdir, "b.journal", base.Add(time.Second), [][3]string{
		{"chainfire.service", "WARN chainfire_api: request queue is full, dropping", "1234"},
	})
	testpeer.Eventually(t, 10*time.Second, func() bool { return len(signatures(&out)) >= 3 }, "the site signature's event")
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		"cflogd_patterns_last_reload_successful 1",
		`cflogd_journal_lines_read_total{unit="chainfire.service"} 5`,
		`cflogd_journal_lines_read_total{unit="cflogd.service"} 1`,
		`cflogd_events_total{severity="error",signature="site.queue_full"} 1`,
		`cflogd_sink_sent_total{sink="stdout",type="stdout"} 3`,
		"cflogd_queue_depth 0",
		"cflogd_journal_lag_seconds 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	stop()
	want := []string{
		"chainfire.rocksdb_stall chainfire.service",
		"service.unclassified chainfire.service",
		"site.queue_full chainfire.service",
	}
	if diff := cmp.Diff(want, signatures(&out)); diff != "" {
		t.Errorf("events (-want +got); cflogd's own unit and PID must not count:\n%s", diff)
	}
	notes := sd.get()
	if notes[0] != "READY=1" || notes[len(notes)-1] != "STOPPING=1" {
		t.Errorf("service manager notes %q: want READY=1 first and STOPPING=1 last", notes)
	}
	dir, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	c, err := dir.LoadCursor()
	if err != nil || c.Cursor == "" {
		t.Errorf("cursor after Run: %+v, %v", c, err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTrackerSkipsBatchesWithoutEvents(t *testing.T) {
	tr := newTracker(1, 1)
	ctx := context.Background()
	nop := func() {}
	tr.skip(mark{cursor: "e0"}, nil) // nothing in flight: done at once
	if m, changed, _ := tr.checkpoint(); !changed || m.cursor != "e0" {
		t.Fatalf("checkpoint after an event-less batch: %q %v", m.cursor, changed)
	}
	if _, err := tr.begin(ctx, mark{cursor: "b1"}, nil, nil, nop); err != nil {
		t.Fatal(err)
	}
	// Event-less batches behind a batch in flight take no room (the limit
	// is 1) and are done with it.
	tr.skip(mark{cursor: "e2"}, nil)
	tr.skip(mark{cursor: "e3"}, nil)
	if _, changed, _ := tr.checkpoint(); changed {
		t.Errorf("checkpoint moved before the batch in flight was acknowledged")
	}
	tr.ack(0, 0)
	if m, changed, _ := tr.checkpoint(); !changed || m.cursor != "e3" {
		t.Errorf("checkpoint after the ack: %q %v, want e3", m.cursor, changed)
	}
}

// A reload that adds a service, or a journal field a signature reads, warns
// that the reader needs a restart to read it; one that adds a signature
// over what is read already does not, nor does a service the configured
// units leave out.
func TestReloadWarnsWhatTheReaderMisses(t *testing.T) {
	type step struct{ name, file, want string }
	queueFull := "signatures:\n  - {id: site.queue_full, units: [chainfire], summary: Queue full, severity: error, anchor: log-analysis, match: 'request queue is full'}\n"
	for _, tc := range []struct {
		units []string
		steps []step
	}{
		{nil, []step{
			{"a signature", queueFull, ""},
			{"a service", "services:\n  - {name: etcd}\n", `"changed":["units","identifiers"]`},
			{"a journal field", "signatures:\n  - {id: site.oops, units: [chainfire], summary: Oops, severity: error, anchor: log-analysis, journal: {OOPS_CODE: '7'}}\n", `"changed":["journal fields"]`},
		}},
		{[]string{"chainfire.service"}, []step{
			{"a service not read", "services:\n  - {name: etcd}\n", ""},
			{"an identifier", "services:\n  - {name: chainfire, identifiers: [chainfire, cf-node]}\n", `"changed":["identifiers"]`},
		}},
	} {
		patDir := t.TempDir()
		cfg := config.Default
		cfg.StateDir = t.TempDir()
		cfg.Listen = ""
		cfg.Units = tc.units
		cfg.Journal.Directory = t.TempDir()
		cfg.Patterns.Dirs = []string{patDir}
		cfg.Sinks = []config.SinkConfig{stdout.Default}
		var log testpeer.Buffer
		d, err := New(Options{Config: &cfg, Log: zerolog.New(&log), Stdout: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range tc.steps {
			before := len(log.String())
			if err := os.WriteFile(filepath.Join(patDir, "site.yaml"), []byte(step.file), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := d.Reload(); err != nil {
				t.Fatalf("units %v, %s: Reload: %v", tc.units, step.name, err)
			}
			os.Remove(filepath.Join(patDir, "site.yaml"))
			got := log.String()[before:]
			if warned := strings.Contains(got, "restart cflogd"); warned != (step.want != "") || !strings.Contains(got, step.want) {
				t.Errorf("units %v, reload adding %s logged:\n%s\nwant a restart warning: %t %s", tc.units, step.name, got, step.want != "", step.want)
			}
		}
	}
}
