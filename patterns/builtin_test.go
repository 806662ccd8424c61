package patterns

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// row is a signature as signatures.md lists it.
type row struct {
	ID       string
	Units    string // chainfire, flaredb, placement-driver or all
	Severity record.Severity
	Anchor   string
	Fields   []string // name:type, hostport as name:hostport(host,port)
	FireWhen []string
	Raise    []string // "condition -> severity"
}

// specRows is the table of signatures.md ("Signatures" and "Beyond the
// runbook"), transcribed by hand: IDs, severities, fields and anchors are a
// public interface.
var specRows = []row{
	{ID: "chainfire.leader_elected", Units: "chainfire", Severity: record.Info, Anchor: "issue-no-leader--leader-election-fails", Fields: []string{"term:integer"}},
	{ID: "chainfire.election_timeout", Units: "chainfire", Severity: record.Warning, Anchor: "issue-no-leader--leader-election-fails"},
	{ID: "chainfire.no_leader", Units: "chainfire", Severity: record.Error, Anchor: "issue-no-leader--leader-election-fails"},
	{ID: "chainfire.peer_unreachable", Units: "chainfire", Severity: record.Error, Anchor: "issue-node-cannot-join-cluster", Fields: []string{"addr:hostport(peer_host,peer_port)"}},
	{ID: "chainfire.connection_error", Units: "chainfire", Severity: record.Warning, Anchor: "issue-node-cannot-join-cluster"},
	{ID: "chainfire.rocksdb_stall", Units: "chainfire", Severity: record.Warning, Anchor: "issue-high-write-latency", Fields: []string{"duration_ms:duration"}, Raise: []string{"duration_ms >= 1000 -> error"}},
	{ID: "chainfire.slow_request", Units: "chainfire", Severity: record.Warning, Anchor: "issue-high-write-latency", Fields: []string{"op:string", "latency_ms:duration"}, FireWhen: []string{"latency_ms >= 100"}, Raise: []string{"latency_ms >= 500 -> error"}},
	{ID: "chainfire.corrupted_log", Units: "chainfire", Severity: record.Critical, Anchor: "issue-data-inconsistency-after-crash"},
	{ID: "chainfire.replication_lag", Units: "chainfire", Severity: record.Warning, Anchor: "issue-high-write-latency"},
	{ID: "chainfire.member_change", Units: "chainfire", Severity: record.Info, Anchor: "issue-node-cannot-join-cluster", Fields: []string{"node_id:integer"}},
	{ID: "flaredb.pd_registered", Units: "flaredb", Severity: record.Info, Anchor: "issue-store-not-registering-with-pd", Fields: []string{"store_id:integer"}},
	{ID: "flaredb.pd_register_failed", Units: "flaredb", Severity: record.Error, Anchor: "issue-store-not-registering-with-pd"},
	{ID: "flaredb.pd_heartbeat_failed", Units: "flaredb", Severity: record.Warning, Anchor: "issue-store-not-registering-with-pd"},
	{ID: "flaredb.snapshot_applied", Units: "flaredb", Severity: record.Info, Anchor: "log-analysis", Fields: []string{"index:integer"}},
	{ID: "flaredb.replication_failed", Units: "flaredb", Severity: record.Error, Anchor: "issue-readwrite-timeout", Fields: []string{"peer:string"}},
	{ID: "flaredb.compaction_slow", Units: "flaredb", Severity: record.Warning, Anchor: "issue-readwrite-timeout", Fields: []string{"duration_ms:duration"}},
	{ID: "flaredb.rocksdb_stall", Units: "flaredb", Severity: record.Warning, Anchor: "issue-readwrite-timeout", Fields: []string{"duration_ms:duration"}, Raise: []string{"duration_ms >= 1000 -> error"}},
	{ID: "flaredb.slow_query", Units: "flaredb", Severity: record.Warning, Anchor: "issue-readwrite-timeout", Fields: []string{"rows:integer", "latency_ms:duration"}, FireWhen: []string{"latency_ms >= 100"}, Raise: []string{"latency_ms >= 500 -> error"}},
	{ID: "flaredb.deadline_exceeded", Units: "flaredb", Severity: record.Error, Anchor: "issue-readwrite-timeout"},
	{ID: "flaredb.timeout", Units: "flaredb", Severity: record.Warning, Anchor: "issue-readwrite-timeout"},
	{ID: "pd.schedule_failed", Units: "placement-driver", Severity: record.Warning, Anchor: "issue-region-rebalancing-stuck"},
	{ID: "pd.store_registration", Units: "placement-driver", Severity: record.Info, Anchor: "issue-store-not-registering-with-pd", Fields: []string{"store_id:integer"}},
	{ID: "tls.handshake_failed", Units: "all", Severity: record.Error, Anchor: "issue-tls-handshake-failures"},
	{ID: "tls.certificate_expired", Units: "all", Severity: record.Critical, Anchor: "issue-tls-handshake-failures"},
	{ID: "service.panic", Units: "all", Severity: record.Critical, Anchor: "log-analysis", Fields: []string{"thread:string", "location:string"}},
	{ID: "service.disk_full", Units: "all", Severity: record.Critical, Anchor: "issue-region-rebalancing-stuck", Fields: []string{"path:string"}},
	{ID: "service.unclassified", Units: "all", Severity: record.Info, Anchor: "log-analysis", Fields: []string{"target:target", "template:template"}},
	// Service lifecycle.
	{ID: "unit.process_exited", Units: "all", Severity: record.Error, Anchor: "issue-data-inconsistency-after-crash", Fields: []string{"exit_code:string", "exit_status:integer"}, FireWhen: []string{"exit_status != 0"}},
	{ID: "unit.failed", Units: "all", Severity: record.Error, Anchor: "quick-diagnostics", Fields: []string{"result:string"}},
	{ID: "unit.oom_killed", Units: "all", Severity: record.Critical, Anchor: "quick-diagnostics", Fields: []string{"pid:integer"}},
	{ID: "unit.core_dumped", Units: "all", Severity: record.Critical, Anchor: "issue-data-inconsistency-after-crash", Fields: []string{"signal:string"}},
	{ID: "unit.restart_scheduled", Units: "all", Severity: record.Warning, Anchor: "quick-diagnostics", Fields: []string{"restarts:integer"}},
	{ID: "unit.start_failed", Units: "all", Severity: record.Critical, Anchor: "quick-diagnostics"},
	{ID: "unit.watchdog_timeout", Units: "all", Severity: record.Error, Anchor: "quick-diagnostics"},
}

var typeNames = map[FieldType]string{String: "string", Integer: "integer", Duration: "duration", HostPort: "hostport"}

// rowOf describes a compiled signature as a row.
func rowOf(s *Signature) row {
	r := row{ID: s.ID, Severity: s.Severity, Anchor: s.Anchor}
	switch {
	case slices.Equal(s.Units, BuiltinServices().Units()):
		r.Units = "all"
	case len(s.Units) == 1:
		r.Units = strings.TrimSuffix(s.Units[0], ".service")
	default:
		r.Units = strings.Join(s.Units, ",")
	}
	for _, f := range s.Fields {
		t := typeNames[f.Type]
		switch f.Source {
		case FromTarget:
			t = "target"
		case FromTemplate:
			t = "template"
		}
		if f.Type == HostPort {
			t += "(" + f.HostName + "," + f.PortName + ")"
		}
		r.Fields = append(r.Fields, f.Name+":"+t)
	}
	for _, c := range s.FireWhen {
		r.FireWhen = append(r.FireWhen, c.Text)
	}
	for _, x := range s.Raise {
		r.Raise = append(r.Raise, x.When.Text+" -> "+x.Severity.String())
	}
	return r
}

// loadBuiltin is the built-in library.
func loadBuiltin(t *testing.T) *Library {
	t.Helper()
	lib, err := LoadBuiltin()
	if err != nil {
		t.Fatalf("LoadBuiltin:\n%v", err)
	}
	return lib
}

func TestBuiltinMatchesSpec(t *testing.T) {
	lib := loadBuiltin(t)
	var got []row
	for _, s := range lib.Signatures {
		got = append(got, rowOf(s))
	}
	byID := func(a, b row) int { return strings.Compare(a.ID, b.ID) }
	want := slices.Clone(specRows)
	slices.SortFunc(want, byID)
	slices.SortFunc(got, byID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built-in signatures differ from signatures.md (-want +got):\n%s", diff)
	}
	un := lib.Lookup("service.unclassified")
	if un == nil {
		t.Fatal("no service.unclassified")
	}
	if diff := cmp.Diff(map[record.Level]record.Severity{record.LevelWarn: record.Info, record.LevelError: record.Warning}, un.LevelSeverity); diff != "" {
		t.Errorf("service.unclassified level_severity (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]record.Level{record.LevelWarn, record.LevelError}, un.Levels); diff != "" {
		t.Errorf("service.unclassified levels (-want +got):\n%s", diff)
	}
}

// TestBuiltinOrder checks the orders of "One event per line" in signatures.md.
func TestBuiltinOrder(t *testing.T) {
	lib := loadBuiltin(t)
	before := [][2]string{
		{"chainfire.election_timeout", "chainfire.connection_error"},
		{"chainfire.peer_unreachable", "chainfire.connection_error"},
		{"chainfire.no_leader", "chainfire.leader_elected"},
		{"chainfire.peer_unreachable", "chainfire.member_change"},
		{"chainfire.connection_error", "chainfire.member_change"},
		{"chainfire.replication_lag", "chainfire.member_change"},
		{"flaredb.deadline_exceeded", "flaredb.timeout"},
		{"flaredb.compaction_slow", "flaredb.timeout"},
		{"flaredb.slow_query", "flaredb.timeout"},
		{"flaredb.rocksdb_stall", "flaredb.timeout"},
		{"flaredb.pd_register_failed", "flaredb.pd_registered"},
		{"tls.certificate_expired", "tls.handshake_failed"},
	}
	// The signatures for all units come before every unit-specific one.
	for _, general := range []string{"service.panic", "service.disk_full", "tls.certificate_expired", "tls.handshake_failed"} {
		for _, s := range lib.Signatures {
			if len(s.Units) == 1 {
				before = append(before, [2]string{general, s.ID})
			}
		}
	}
	for _, b := range before {
		i, j := lib.Index(b[0]), lib.Index(b[1])
		if i < 0 || j < 0 || i >= j {
			t.Errorf("%s (at %d) must come before %s (at %d)", b[0], i, b[1], j)
		}
	}
	if last := lib.Signatures[len(lib.Signatures)-1]; last.ID != "service.unclassified" {
		t.Errorf("last signature is %s, want service.unclassified", last.ID)
	}
}

// TestBuiltinExamples checks what every shipped signature must carry; running
// the examples through the classifier is library_test.go's job.
func TestBuiltinExamples(t *testing.T) {
	lib := loadBuiltin(t)
	for _, s := range lib.Signatures {
		t.Run(s.ID, func(t *testing.T) {
			if len(s.Examples) < 2 {
				t.Errorf("%s: %d examples, want at least 2", s.Pos, len(s.Examples))
			}
			if len(s.NearMisses) < 1 {
				t.Errorf("%s: no near miss", s.Pos)
			}
			captures := slices.ContainsFunc(s.Fields, func(f Field) bool { return f.Source == FromCapture })
			thresholds := len(s.FireWhen)+len(s.Raise) > 0
			sevs := map[record.Severity]bool{}
			for _, ex := range s.Examples {
				if strings.TrimSpace(ex.Line) == "" && ex.Entry == nil {
					t.Errorf("%s: example without a line", ex.Pos)
				}
				if captures && ex.Fields == nil {
					t.Errorf("%s: example does not list the fields it yields", ex.Pos)
				}
				if thresholds && ex.Severity == 0 {
					t.Errorf("%s: example of a signature with thresholds does not state its severity", ex.Pos)
				}
				sevs[ex.Severity] = true
			}
			for _, r := range s.Raise {
				if !sevs[r.Severity] {
					t.Errorf("%s: no example reaches the raised severity %s", s.Pos, r.Severity)
				}
			}
			for _, nm := range s.NearMisses {
				if strings.TrimSpace(nm.Line) == "" && nm.Entry == nil {
					t.Errorf("%s: near miss without a line", nm.Pos)
				}
			}
		})
	}
}

// TestBuiltinThresholdBoundaries requires examples on both sides of every
// threshold: the value itself and just below it.
func TestBuiltinThresholdBoundaries(t *testing.T) {
	lib := loadBuiltin(t)
	for _, s := range lib.Signatures {
		var conds []Condition
		conds = append(conds, s.FireWhen...)
		for _, r := range s.Raise {
			conds = append(conds, r.When)
		}
		for _, c := range conds {
			if c.Op != GE {
				continue
			}
			var lines []string
			for _, ex := range s.Examples {
				lines = append(lines, ex.Line)
			}
			for _, nm := range s.NearMisses {
				lines = append(lines, nm.Line)
			}
			all := strings.Join(lines, "\n")
			for _, v := range []float64{c.Value, c.Value - 1} {
				if !strings.Contains(all, fmt.Sprintf("=%gms", v)) {
					t.Errorf("%s: %s: no example or near miss at %gms", s.Pos, c.Text, v)
				}
			}
		}
	}
}

// TestHomeUnits: a service's signatures and rules map to its unit (pd.*
// to placement-driver.service), the lifecycle ones, for every unit, not.
func TestHomeUnits(t *testing.T) {
	home := loadBuiltin(t).HomeUnits()
	for id, want := range map[string]string{
		"pd.schedule_failed":       "placement-driver.service",
		"chainfire.election_storm": "chainfire.service",
		"unit.oom_killed":          "",
		"unit.crash_loop":          "",
	} {
		if got := home[id]; got != want {
			t.Errorf("HomeUnits()[%q] = %q, want %q", id, got, want)
		}
	}
}
