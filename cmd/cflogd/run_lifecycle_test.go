package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

// lifecycleRow is one entry of testdata/lifecycle: its export fields (in
// order, without the __ timestamps) and what expected.jsonl says of it.
type lifecycleRow struct {
	fields   []string // name, value pairs
	host     string
	unit     string
	realtime time.Time
}

// lifecycleRows reads testdata/lifecycle/lifecycle.export with
// expected.jsonl beside it.
func lifecycleRows(t *testing.T) []lifecycleRow {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "lifecycle")
	export, err := os.ReadFile(filepath.Join(dir, "lifecycle.export"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []lifecycleRow
	var cur []string
	for b := export; len(b) > 0; {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			t.Fatalf("export: unterminated line")
		}
		line := string(b[:nl])
		b = b[nl+1:]
		switch name, value, ok := strings.Cut(line, "="); {
		case line == "":
			rows = append(rows, lifecycleRow{fields: cur})
			cur = nil
		case ok:
			cur = append(cur, name, value)
		default: // binary field: a little-endian length, the data, a newline
			n := binary.LittleEndian.Uint64(b[:8])
			cur = append(cur, line, string(b[8:8+n]))
			b = b[8+n+1:]
		}
	}
	f, err := os.Open(filepath.Join(dir, "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		var e struct {
			Host, Unit   string
			RealtimeUsec int64 `json:"realtime_usec"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || i >= len(rows) {
			t.Fatalf("expected.jsonl line %d: %v (%d export entries)", i+1, err, len(rows))
		}
		rows[i].host, rows[i].unit, rows[i].realtime = e.Host, e.Unit, time.UnixMicro(e.RealtimeUsec)
	}
	return rows
}

// lifecycleExport is the entries of host and unit from from on for d, in
// export format, moved to start at at (the same offsets between them). The
// monotonic clock counts from booted, the same for every file, so that
// realtime and monotonic order agree as on a real node (sd-journal orders
// one boot's entries by their monotonic time).
func lifecycleExport(rows []lifecycleRow, host, unit string, from time.Time, d time.Duration, at, booted time.Time) []byte {
	var b []byte
	for _, r := range rows {
		if r.host != host || r.unit != unit || r.realtime.Before(from) || !r.realtime.Before(from.Add(d)) {
			continue
		}
		var fields []string
		boot := ""
		for i := 0; i+1 < len(r.fields); i += 2 {
			switch name := r.fields[i]; {
			case name == "_BOOT_ID":
				boot = r.fields[i+1]
			case strings.HasPrefix(name, "__"):
			default:
				fields = append(fields, name, r.fields[i+1])
			}
		}
		ts := at.Add(r.realtime.Sub(from))
		b = testjournal.Entry(b, ts, ts.Sub(booted), boot, fields...)
	}
	return b
}

// TestRunLifecycle: cflogd run follows a journal directory that
// systemd-journal-remote fills while chainfire on node01 crashes, is
// OOM-killed, and flaredb crash-loops (systemd 252's, the kernel's messages
// from testdata/lifecycle). Every lifecycle event reaches VictoriaLogs; the
// webhook gets one notification per crash whose headline says what
// happened.
func TestRunLifecycle(t *testing.T) {
	bin := buildCflogd(t)
	for _, reader := range []string{"sdjournal", "native"} {
		t.Run(reader, func(t *testing.T) { runLifecycle(t, bin, reader) })
	}
}

func runLifecycle(t *testing.T, bin, reader string) {
	vl := testpeer.StartVictoriaLogs(t)
	hook := testpeer.NewRecorder(t, nil)
	rows := lifecycleRows(t)
	dir := t.TempDir()
	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
checkpoint_interval = "300ms"
[journal]
directory = %q
initial_position = "head"
reader = %q
[[sink]]
type = "loki"
url = %q
batch_wait = "100ms"
[[sink]]
type = "webhook"
url = %q
min_severity = "warning"
group_wait = "1s"
group_interval = "1s"
`, stateDir, dir, reader, vl.LokiPushURL()+"?disable_message_parsing=1", hook.URL))

	fixture := func(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, time.UTC) }
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	booted := base.Add(-time.Hour)
	// The service's own lines first (a RocksDB stall): cflogd is up once it
	// is in VictoriaLogs.
	testjournal.Move(t, dir, "a.journal", lifecycleExport(rows, "node01", "chainfire.service", fixture(9, 57), 2*time.Minute, base, booted))
	p := startDaemon(t, bin, cfg)
	vl.WaitRows(t, `signature:"chainfire.rocksdb_stall"`, 1, 15*time.Second)

	// headlines returns the webhook's notifications: the headline (the
	// last event's summary) of each.
	// headlines returns the webhook's notifications of the services'
	// lifecycle (the stall's is another): the headline of each.
	headlines := func() []string {
		var out []string
		for _, r := range hook.Requests() {
			var body webhook.Body
			if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Events) == 0 {
				t.Fatalf("webhook body %q: %v", r.Body, err)
			}
			if last := body.Events[len(body.Events)-1]; strings.HasPrefix(last.Signature, "unit.") {
				out = append(out, last.Summary)
			}
		}
		return out
	}
	steps := []struct {
		file     string
		unit     string
		from     time.Time
		d        time.Duration
		at       time.Duration // after base
		headline string
	}{
		// A crash: exit status 1, "Failed with result 'exit-code'", a restart.
		{"b.journal", "chainfire.service", fixture(10, 30), 2 * time.Second, time.Minute,
			"chainfire.service on node01 crashed (code=exited, status=1) and restarted (restart 1)"},
		// An OOM kill: the kernel's two lines, systemd's four.
		{"c.journal", "chainfire.service", fixture(10, 0), 2 * time.Second, 2 * time.Minute,
			"chainfire.service on node01 was OOM-killed and restarted (restart 1)"},
		// A crash loop: three crashes two minutes apart, appended at once.
		{"d.journal", "flaredb.service", fixture(12, 0), 5 * time.Minute, 3 * time.Minute,
			"flaredb.service on node01 crashed (code=exited, status=1) and restarted (restart 3); Crash loop: the main process exited 3 times within 10m"},
	}
	for i, s := range steps {
		testjournal.Move(t, dir, s.file, lifecycleExport(rows, "node01", s.unit, s.from, s.d, base.Add(s.at), booted))
		if !testpeer.Poll(10*time.Second, func() bool { return len(headlines()) > i }) {
			vl.Flush(t)
			for _, r := range vl.Query(t, `{job="cflogd"}`) {
				t.Log(r["_msg"][:min(200, len(r["_msg"]))])
			}
			for _, r := range hook.Requests() {
				t.Log(string(r.Body))
			}
			t.Fatalf("no notification %d (%s)", i+1, s.headline)
		}
	}

	// Every event, lifecycle or not, and the crash loop reach VictoriaLogs.
	want, _ := expectedEvents(t, dir)
	lifecycle := 0
	for k := range want {
		if strings.HasPrefix(k, "unit.") {
			lifecycle++
		}
	}
	// The crash: 3 events; the OOM kill: 6; the crash loop: 3×3 and itself.
	if lifecycle != 3+6+10 {
		t.Errorf("%d lifecycle events expected from the journal, want 19: %v", lifecycle, want)
	}
	counts := waitDelivered(t, vl, want, 15*time.Second, nil)
	checkNoLoss(t, want, counts)
	p.term(t)

	var wantHeads []string
	for _, s := range steps {
		wantHeads = append(wantHeads, s.headline)
	}
	if got := headlines(); strings.Join(got, "\n") != strings.Join(wantHeads, "\n") {
		t.Errorf("webhook notifications: got %d\n%s\nwant %d\n%s", len(got), strings.Join(got, "\n"), len(wantHeads), strings.Join(wantHeads, "\n"))
	}
}
