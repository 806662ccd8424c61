package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// ruleLine is one entry of the rules journal, at an offset from its start.
type ruleLine struct {
	at   time.Duration
	unit string
	msg  string
}

// rulesJournal is an hour of entries that makes every rule over time of the
// shipped library fire, clear and fire again, interleaved with healthy and
// near-boundary traffic.
func rulesJournal() []ruleLine {
	var ls []ruleLine
	add := func(at time.Duration, unit, msg string) { ls = append(ls, ruleLine{at, unit, msg}) }
	cf, fd := "chainfire.service", "flaredb.service"
	// Election storms: 3 in 60 s fires, 2 in 60 s does not; a second storm
	// after the first has cleared fires again.
	for _, s := range []time.Duration{0, 20 * time.Second, 40 * time.Second, 3 * time.Minute, 3*time.Minute + 50*time.Second,
		20 * time.Minute, 20*time.Minute + 5*time.Second, 20*time.Minute + 10*time.Second, 20*time.Minute + 15*time.Second} {
		add(s, cf, "WARN chainfire_raft: Election timeout, no heartbeat from leader")
	}
	// Leader flapping: 3 elections in 8 minutes.
	for i, s := range []time.Duration{1 * time.Minute, 5 * time.Minute, 9 * time.Minute} {
		add(s, cf, fmt.Sprintf("INFO chainfire_raft: Leader elected, term=%d", 3+i))
	}
	// Write latency: 5 minutes of healthy requests, then a slow spell.
	for i := range 600 {
		lat := 5 + i%40
		if i >= 400 && i < 460 {
			lat = 900
		}
		add(25*time.Minute+time.Duration(i)*time.Second, cf, fmt.Sprintf("INFO chainfire_api: Handled put request, latency=%dms", lat))
	}
	// Compaction storm: 5 slow compactions in 10 minutes (4 earlier do not).
	for i := range 4 {
		add(2*time.Minute+time.Duration(i)*4*time.Minute, fd, "WARN flaredb_storage: Compaction is slow, duration=30s")
	}
	for i := range 5 {
		add(40*time.Minute+time.Duration(i)*time.Minute, fd, "WARN flaredb_storage: Compaction is slow, duration=45s")
	}
	// PD: failing 1 min then registered (quiet), later failing for 3 min.
	for i := range 7 {
		add(10*time.Minute+time.Duration(i)*10*time.Second, fd, "WARN flaredb_pd_client: Heartbeat to PD failed, retrying...")
	}
	add(11*time.Minute+10*time.Second, fd, "INFO flaredb_pd_client: Registered with PD, store_id=1")
	for i := range 19 {
		add(50*time.Minute+time.Duration(i)*10*time.Second, fd, "WARN flaredb_pd_client: Heartbeat to PD failed, retrying...")
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].at < ls[j].at })
	return ls
}

// writeRulesJournal writes the entries of the rules journal from offset
// from up to (not including) offset to as the journal file name in dir,
// the journal starting at base.
func writeRulesJournal(t *testing.T, dir, name string, base time.Time, from, to time.Duration) {
	t.Helper()
	var b []byte
	for i, l := range rulesJournal() {
		if l.at < from || l.at >= to {
			continue
		}
		ts := base.Add(l.at).Add(time.Duration(i) * time.Microsecond)
		ident := "chainfire"
		if l.unit == "flaredb.service" {
			ident = "flaredb"
		}
		b = testjournal.Entry(b, ts, 5000*time.Second+ts.Sub(base), e2eBoot,
			"_HOSTNAME", "node01", "_SYSTEMD_UNIT", l.unit, "SYSLOG_IDENTIFIER", ident, "_PID", "1234", "PRIORITY", "6", "MESSAGE", l.msg)
	}
	testjournal.Move(t, dir, name, b)
}

// derivedKey is what must be equal between scan and run for a derived event.
type derivedKey struct {
	Signature, Time, Window, FirstCursor, LastCursor, Summary string
	Count                                                     int
}

func derivedOf(t *testing.T, lines [][]byte) []derivedKey {
	t.Helper()
	var out []derivedKey
	for _, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var ev struct {
			Derived                          bool
			Signature, Time, Window, Summary string
			FirstCursor                      string `json:"first_cursor"`
			LastCursor                       string `json:"last_cursor"`
			Count                            int
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatalf("decode %q: %v", l, err)
		}
		if ev.Derived {
			out = append(out, derivedKey{ev.Signature, ev.Time, ev.Window, ev.FirstCursor, ev.LastCursor, ev.Summary, ev.Count})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time < out[j].Time
		}
		return out[i].Signature < out[j].Signature
	})
	return out
}

// TestRunAndScanDeriveTheSameEvents runs `cflogd run` over a journal that
// grows while the daemon is killed with -9 inside a PD outage, restarts it,
// then runs `cflogd scan` over the same journal, and compares their derived
// events: same rules, times, counts, windows and cursors.
func TestRunAndScanDeriveTheSameEvents(t *testing.T) {
	bin := buildCflogd(t)
	vl := testpeer.StartVictoriaLogs(t)
	dir := t.TempDir()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	const split = 51 * time.Minute // inside the PD heartbeat failures of 50-53 min
	writeRulesJournal(t, dir, "a.journal", base, 0, split)

	stateDir := filepath.Join(t.TempDir(), "state")
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
state_dir = %q
listen = ""
checkpoint_interval = "100ms"
[journal]
directory = %q
initial_position = "head"
[[sink]]
type = "loki"
url = %q
batch_wait = "100ms"
retry_max = "1s"
`, stateDir, dir, vl.LokiPushURL()+"?disable_message_parsing=1"))
	collect := func() []derivedKey {
		vl.Flush(t)
		var lines [][]byte
		for _, row := range vl.Query(t, `{job="cflogd"}`) {
			lines = append(lines, []byte(row["_msg"]))
		}
		return derivedOf(t, lines)
	}
	ready := func(p *daemonProc) func() bool {
		return func() bool { return bytes.Contains([]byte(p.out.String()), []byte("ready")) }
	}

	// First run: the journal up to the split, then kill -9 once its last
	// entry is checkpointed (the PD outage has begun but not yet lasted 2 min).
	p := startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 20*time.Second, ready(p), "the daemon ready")
	testpeer.Eventually(t, 30*time.Second, func() bool {
		for _, d := range collect() {
			if d.Signature == "flaredb.compaction_storm" {
				return true
			}
		}
		return false
	}, "the compaction storm delivered")
	testpeer.Eventually(t, 20*time.Second, func() bool { return readCursor(t, stateDir) != "" }, "a checkpoint of the first file")
	time.Sleep(300 * time.Millisecond) // a few checkpoint intervals: the kill may still land before the last
	p.kill9(t)

	// The rest of the hour arrives while it is down; second run to the end.
	writeRulesJournal(t, dir, "b.journal", base, split, 2*time.Hour)
	out, err := exec.Command(bin, "scan", "--directory", dir, "--output", "jsonl", "--min-severity", "info").Output()
	if err != nil {
		t.Fatalf("cflogd scan: %v", err)
	}
	want := derivedOf(t, bytes.Split(out, []byte("\n")))
	sigs := map[string]bool{}
	for _, d := range want {
		sigs[d.Signature] = true
	}
	for _, id := range []string{"chainfire.election_storm", "chainfire.leader_flapping", "chainfire.write_latency_p99", "flaredb.compaction_storm", "flaredb.pd_unreachable"} {
		if !sigs[id] {
			t.Errorf("scan derived no %s event; the journal is meant to make every rule fire", id)
		}
	}
	if len(want) < 6 {
		t.Fatalf("scan derived %d events, want at least 6 (two election storms): %+v", len(want), want)
	}

	p = startDaemon(t, bin, cfg)
	testpeer.Eventually(t, 20*time.Second, ready(p), "the daemon ready again")
	testpeer.Eventually(t, 30*time.Second, func() bool { return len(collect()) >= len(want) }, "every derived event")
	p.term(t)
	got := collect()
	// Duplicates from the kill are allowed (at least once); a derived event
	// is never lost nor invented.
	seen := map[derivedKey]bool{}
	var uniq []derivedKey
	for _, d := range got {
		if !seen[d] {
			seen[d] = true
			uniq = append(uniq, d)
		}
	}
	if diff := cmp.Diff(want, uniq); diff != "" {
		t.Errorf("derived events, scan (-) vs run (+):\n%s", diff)
	}
	t.Logf("%d derived events equal in scan and run; %d delivered twice after the kill", len(want), len(got)-len(uniq))
}
