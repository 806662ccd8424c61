package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// derivedEv is a derived event of a rule.
func derivedEv(at time.Duration, rule string, sev record.Severity, host, summary string) record.Event {
	e := ev(at, rule, sev, "chainfire.service", "WARN chainfire_raft: Election timeout, no heartbeat from leader", map[string]any{})
	e.Host, e.Summary, e.Derived, e.Count, e.Window = host, summary, true, 3, "60s"
	return e
}

// TestRenderDerived: derived events are listed in time order above the
// signatures, with their rules' runbook links, counted apart from events,
// and held to the minimum severity.
func TestRenderDerived(t *testing.T) {
	r := New(Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home})
	evs := append(fixture(),
		derivedEv(30*time.Minute, "flaredb.pd_unreachable", record.Error, "node02", "PD unreachable: heartbeats to PD failing for 2m without a registration (13 failures)"),
		derivedEv(10*time.Minute, "chainfire.election_storm", record.Error, "node01", "Election storm: 3 Raft election timeouts within 60s"),
		derivedEv(12*time.Minute, "chainfire.leader_flapping", record.Info, "node01", "below the minimum severity"),
		derivedEv(40*time.Minute, "chainfire.election_storm", record.Error, "node03\x1b[2J", "Election storm: 3 Raft election timeouts within 60s"),
	)
	for i := range evs {
		r.Entry(evs[i].Time.Time)
		r.Add(&evs[i])
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{Units: patterns.BuiltinServices().Units(), Source: "local journal"}, Style{Width: 120, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	golden(t, filepath.Join("testdata", "derived.golden"), out)
	if i, j := strings.Index(out, "derived events (rules over time)"), strings.Index(out, "COUNT  SEVERITY"); i < 0 || j < 0 || i > j {
		t.Errorf("the derived events do not come before the signatures:\n%s", out)
	}
	if strings.Contains(out, "below the minimum severity") || strings.Contains(out, "\x1b[2J") {
		t.Errorf("an info derived event or an escape sequence is shown:\n%s", out)
	}
	if r.derivedN != 3 {
		t.Errorf("derivedN = %d, want 3", r.derivedN)
	}
}

// TestDerivedCapacity: the table lists the first derivedCapacity derived
// events and says how many there were.
func TestDerivedCapacity(t *testing.T) {
	r := New(Options{MinSeverity: record.Warning, Home: home})
	for i := range derivedCapacity + 50 {
		e := derivedEv(time.Duration(i)*time.Minute, fmt.Sprintf("site.rule%d", i), record.Warning, "h", "s")
		r.Entry(e.Time.Time)
		r.Add(&e)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if want := fmt.Sprintf("derived events (rules over time): 150, the first %d listed", derivedCapacity); !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	if got := strings.Count(out, "warning   site.rule"); got != derivedCapacity {
		t.Errorf("%d rows listed, want %d", got, derivedCapacity)
	}
}
