package daemon

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// lifecycle is a lifecycle event of chainfire.service on host at t0+at.
func lifecycle(host, sig string, sev record.Severity, at time.Duration, fields map[string]any) record.Event {
	return record.Event{
		Time: record.Time{Time: t0.Add(at)}, Host: host, Unit: "chainfire.service",
		Signature: sig, Severity: sev, Summary: sig + " summary", Fields: fields,
		Message: sig, Fingerprint: "fp-" + sig + host,
	}
}

// oomCrash is the events of one OOM kill of chainfire on host.
func oomCrash(host string, restart int64) []record.Event {
	return []record.Event{
		lifecycle(host, "unit.oom_killed", record.Critical, 0, map[string]any{"pid": int64(1234)}),
		lifecycle(host, "unit.oom_killed", record.Critical, 10*time.Millisecond, nil),
		lifecycle(host, "unit.process_exited", record.Error, 20*time.Millisecond, map[string]any{"exit_code": "killed", "exit_status": int64(9)}),
		lifecycle(host, "unit.oom_killed", record.Critical, 30*time.Millisecond, map[string]any{"result": "oom-kill"}),
		lifecycle(host, "unit.restart_scheduled", record.Warning, 100*time.Millisecond, map[string]any{"restarts": restart}),
	}
}

// TestOneCrashOneMessage checks that the lifecycle events of one crash
// are one notification that says what happened, per service and host,
// while every event stays in the group.
func TestOneCrashOneMessage(t *testing.T) {
	srv, clk, n := slackRig(t)
	n.Add(oomCrash("node01", 5))
	n.Add(oomCrash("node02", 1))
	addPastGroupWait(n, clk, electionTimeout(t0))
	want := []string{
		"[WARNING] chainfire.election_timeout on node01 (chainfire.service): Raft election timeout: no heartbeat from the leader — 1 event since the last message",
		"[CRITICAL] unit.oom_killed on node01 (chainfire.service): chainfire.service on node01 was OOM-killed and restarted (restart 5) — 5 events since the last message",
		"[CRITICAL] unit.oom_killed on node02 (chainfire.service): chainfire.service on node02 was OOM-killed and restarted (restart 1) — 5 events since the last message",
	}
	if diff := cmp.Diff(want, srv.take()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestIncidentSummary(t *testing.T) {
	tests := []struct {
		name   string
		events []record.Event
		want   string
	}{
		{"oom", oomCrash("node01", 5), "chainfire.service on node01 was OOM-killed and restarted (restart 5)"},
		{"core dump", []record.Event{
			lifecycle("node01", "unit.process_exited", record.Error, 0, map[string]any{"exit_code": "dumped", "exit_status": int64(11)}),
			lifecycle("node01", "unit.core_dumped", record.Critical, time.Millisecond, map[string]any{"signal": "SIGSEGV"}),
			lifecycle("node01", "unit.failed", record.Error, 2*time.Millisecond, map[string]any{"result": "core-dump"}),
		}, "chainfire.service on node01 dumped core (SIGSEGV)"},
		{"crash", []record.Event{
			lifecycle("node01", "unit.process_exited", record.Error, 0, map[string]any{"exit_code": "exited", "exit_status": int64(1)}),
			lifecycle("node01", "unit.failed", record.Error, time.Millisecond, map[string]any{"result": "exit-code"}),
			lifecycle("node01", "unit.restart_scheduled", record.Warning, 2*time.Millisecond, map[string]any{"restarts": int64(2)}),
		}, "chainfire.service on node01 crashed (code=exited, status=1) and restarted (restart 2)"},
		{"failed alone", []record.Event{
			lifecycle("node01", "unit.failed", record.Error, 0, map[string]any{"result": "timeout"}),
		}, "chainfire.service on node01 failed (result timeout)"},
		{"gave up", []record.Event{
			lifecycle("node01", "unit.start_failed", record.Critical, 0, nil),
		}, "chainfire.service on node01 failed to start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withIncident(tt.events)
			if len(got) != len(tt.events) {
				t.Fatalf("%d events, want %d", len(got), len(tt.events))
			}
			if s := got[len(got)-1].Summary; s != tt.want {
				t.Errorf("headline %q, want %q", s, tt.want)
			}
			if tt.events[0].Summary != tt.events[0].Signature+" summary" {
				t.Errorf("the group's events were changed")
			}
		})
	}
}
