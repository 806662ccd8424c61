package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rulesInput is journalctl -o json output of one host: an election storm
// (timeouts at 0, 20 and 40 s), PD heartbeats failing for three minutes,
// and healthy lines in between.
func rulesInput() string {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	n := 0
	add := func(at time.Duration, unit, msg string) {
		n++
		line, _ := json.Marshal(map[string]string{
			"__CURSOR":             fmt.Sprintf("s=1;i=%x", n),
			"__REALTIME_TIMESTAMP": fmt.Sprint(t0.Add(at).UnixMicro()),
			"_HOSTNAME":            "node01",
			"_SYSTEMD_UNIT":        unit,
			"MESSAGE":              msg,
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	for i := range 19 {
		at := time.Duration(i) * 10 * time.Second
		if i%2 == 0 && i <= 4 {
			add(at, "chainfire.service", "WARN chainfire_raft: Election timeout, no heartbeat from leader")
		}
		add(at, "chainfire.service", "INFO chainfire_api: Handled put request, latency=15ms")
		add(at, "flaredb.service", "WARN flaredb_pd_client: Heartbeat to PD failed, retrying...")
	}
	return b.String()
}

// TestScanDerived: scan feeds the rules in journal order; a derived event
// follows the event that made it fire, tops the table and counts for
// --fail-on.
func TestScanDerived(t *testing.T) {
	in := rulesInput()
	a, stdout, stderr := testApp(in)
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl"}); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	type row struct {
		Signature, Severity, Time, Window, FirstCursor, LastCursor string
		Derived                                                    bool
		Count                                                      int
	}
	var got []row
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r struct {
			row
			FirstCursor string `json:"first_cursor"`
			LastCursor  string `json:"last_cursor"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		r.row.FirstCursor, r.row.LastCursor = r.FirstCursor, r.LastCursor
		if r.Derived || strings.HasPrefix(r.Signature, "chainfire.election") {
			got = append(got, r.row)
		}
	}
	want := []row{
		{Signature: "chainfire.election_timeout", Severity: "warning", Time: "2026-11-26T10:00:00.000000Z"},
		{Signature: "chainfire.election_timeout", Severity: "warning", Time: "2026-11-26T10:00:20.000000Z"},
		{Signature: "chainfire.election_timeout", Severity: "warning", Time: "2026-11-26T10:00:40.000000Z"},
		{Signature: "chainfire.election_storm", Severity: "error", Time: "2026-11-26T10:00:40.000000Z", Window: "60s",
			FirstCursor: "s=1;i=1", LastCursor: "s=1;i=b", Derived: true, Count: 3},
		{Signature: "flaredb.pd_unreachable", Severity: "error", Time: "2026-11-26T10:02:00.000000Z", Window: "2m",
			FirstCursor: "s=1;i=3", LastCursor: "s=1;i=1d", Derived: true, Count: 13},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("election events and derived events (-want +got):\n%s", diff)
	}

	a, stdout, stderr = testApp(in)
	if code := a.main(t.Context(), []string{"scan", "--input", "-"}); code != exitOK {
		t.Fatalf("table: exit code %d: %s", code, stderr)
	}
	table := stdout.String()
	d, c := strings.Index(table, "derived events (rules over time): 2"), strings.Index(table, "COUNT  SEVERITY")
	if d < 0 || c < 0 || d > c {
		t.Errorf("the table does not list the derived events first:\n%s", table)
	}
	for _, s := range []string{"chainfire.election_storm", "Election storm: 3 Raft election timeouts within 60s", "flaredb.pd_unreachable"} {
		if !strings.Contains(table[d:c], s) {
			t.Errorf("the derived events lack %q:\n%s", s, table)
		}
	}

	// Only the storm is an error: --fail-on error finds it.
	a, _, stderr = testApp(in)
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "--output", "jsonl", "--unit", "chainfire", "--fail-on", "error"}); code != exitFound {
		t.Errorf("--fail-on error: exit code %d, want %d (the derived election storm): %s", code, exitFound, stderr)
	}
}
