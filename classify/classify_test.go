package classify

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// verdict is what a test expects of a line: no event (sig == ""), or the
// signature, severity and fields.
type verdict struct {
	Sig    string
	Sev    record.Severity
	Fields map[string]any
}

func verdictOf(ev record.Event, ok bool) verdict {
	if !ok {
		return verdict{}
	}
	return verdict{ev.Signature, ev.Severity, ev.Fields}
}

func entry(msg, unit string, prio int) record.Entry {
	return record.Entry{Message: msg, Unit: unit, Priority: prio, Host: "node01"}
}

func TestClassifyHand(t *testing.T) {
	c := New(handLibrary(t), Options{})
	const cfu, fdu, pdu = "chainfire.service", "flaredb.service", "placement-driver.service"
	tests := []struct {
		name string
		e    record.Entry
		want verdict
	}{
		{"stall", entry("WARN chainfire_storage: RocksDB stall detected, duration=2000ms", "", -1),
			verdict{"chainfire.rocksdb_stall", record.Error, map[string]any{"duration_ms": 2000.0}}},
		{"stall below raise", entry("WARN chainfire_storage: RocksDB stall detected, duration=999ms", cfu, -1),
			verdict{"chainfire.rocksdb_stall", record.Warning, map[string]any{"duration_ms": 999.0}}},
		{"stall at raise", entry("WARN chainfire_storage: RocksDB stall detected, duration=1000ms", cfu, -1),
			verdict{"chainfire.rocksdb_stall", record.Error, map[string]any{"duration_ms": 1000.0}}},
		{"stall in µs", entry("WARN chainfire_storage: RocksDB stall detected, duration=250µs", cfu, -1),
			verdict{"chainfire.rocksdb_stall", record.Warning, map[string]any{"duration_ms": 0.25}}},
		{"slow request 99ms healthy", entry("INFO chainfire_api: Handled put request, latency=99ms", cfu, -1), verdict{}},
		{"slow request 100ms", entry("INFO chainfire_api: Handled put request, latency=100ms", cfu, -1),
			verdict{"chainfire.slow_request", record.Warning, map[string]any{"op": "put", "latency_ms": 100.0}}},
		{"slow request 499ms", entry("INFO chainfire_api: Handled get request, key=/a, latency=499ms", cfu, -1),
			verdict{"chainfire.slow_request", record.Warning, map[string]any{"op": "get", "latency_ms": 499.0}}},
		{"slow request 500ms", entry("INFO chainfire_api: Handled get request, latency=500ms", cfu, -1),
			verdict{"chainfire.slow_request", record.Error, map[string]any{"op": "get", "latency_ms": 500.0}}},
		{"slow request 0.5s", entry("INFO chainfire_api: Handled get request, latency=0.5s", cfu, -1),
			verdict{"chainfire.slow_request", record.Error, map[string]any{"op": "get", "latency_ms": 500.0}}},
		{"healthy line with a generic word ends the search", entry("INFO chainfire_api: Handled put request, latency=15ms, note=timeout", cfu, -1), verdict{}},
		{"healthy WARN line falls to unclassified", entry("WARN chainfire_api: Handled put request, latency=15ms", cfu, -1),
			verdict{"service.unclassified", record.Info, map[string]any{"target": "chainfire_api", "template": "Handled put request, latency=<dur>"}}},
		{"latency overflow: field dropped, no event", entry("INFO chainfire_api: Handled put request, latency=99999999999999999999h", cfu, -1), verdict{}},
		{"peer unreachable", entry("ERROR chainfire_network: Failed to connect to peer, addr=node2:2380, error=Connection refused", cfu, -1),
			verdict{"chainfire.peer_unreachable", record.Error, map[string]any{"addr": "node2:2380", "peer_host": "node2", "peer_port": int64(2380)}}},
		{"peer unreachable ipv6", entry("ERROR chainfire_network: Failed to connect to peer, addr=[::1]:2380", cfu, -1),
			verdict{"chainfire.peer_unreachable", record.Error, map[string]any{"addr": "[::1]:2380", "peer_host": "::1", "peer_port": int64(2380)}}},
		{"peer without port keeps addr", entry("ERROR chainfire_network: Failed to connect to peer, addr=node2", cfu, -1),
			verdict{"chainfire.peer_unreachable", record.Error, map[string]any{"addr": "node2"}}},
		{"no leader before leader elected", entry("WARN chainfire_raft: no leader elected for 3000ms", cfu, -1),
			verdict{"chainfire.no_leader", record.Error, map[string]any{}}},
		{"leader elected", entry("INFO chainfire_raft: Leader elected, term=3", cfu, -1),
			verdict{"chainfire.leader_elected", record.Info, map[string]any{"term": int64(3)}}},
		{"term overflow: field omitted", entry("INFO chainfire_raft: Leader elected, term=99999999999999999999", cfu, -1),
			verdict{"chainfire.leader_elected", record.Info, map[string]any{}}},
		{"election timeout before connection error", entry("WARN chainfire_raft: Election timeout, no heartbeat from leader", cfu, -1),
			verdict{"chainfire.election_timeout", record.Warning, map[string]any{}}},
		{"flaredb slow query", entry("INFO flaredb_service: Handled query, table=orders, rows=10, latency=750ms", fdu, -1),
			verdict{"flaredb.slow_query", record.Error, map[string]any{"rows": int64(10), "latency_ms": 750.0}}},
		{"flaredb healthy query", entry("INFO flaredb_service: Handled query, rows=1000, latency=50ms", fdu, -1), verdict{}},
		{"flaredb timeout", entry("WARN flaredb_service: slow scan, region_id=3", fdu, -1),
			verdict{"flaredb.timeout", record.Warning, map[string]any{}}},
		{"tls on any unit", entry("ERROR pd_server: tls: bad certificate", pdu, -1),
			verdict{"tls.handshake_failed", record.Error, map[string]any{}}},
		{"tls without unit", entry("handshake: tls: bad certificate", "", -1),
			verdict{"tls.handshake_failed", record.Error, map[string]any{}}},
		{"certificate expired before handshake", entry("ERROR flaredb_service: invalid peer certificate: Expired", "", -1),
			verdict{"tls.certificate_expired", record.Critical, map[string]any{}}},
		{"other unit never", entry("ERROR sshd: tls: bad certificate", "ssh.service", 3), verdict{}},
		{"other unit unclassified never", entry("ERROR something: broke", "ssh.service", 3), verdict{}},
		{"chainfire signature not for flaredb", entry("WARN x: Election timeout", fdu, -1),
			verdict{"flaredb.timeout", record.Warning, map[string]any{}}},
		{"no unit: only signatures for all", entry("Election timeout", "", 4),
			verdict{"service.unclassified", record.Info, map[string]any{"template": "Election timeout"}}},
		{"no unit, no level: nothing", entry("Election timeout", "", -1), verdict{}},
		{"unclassified error", entry("ERROR chainfire_lease: Lease expired, id=42", "", -1),
			verdict{"service.unclassified", record.Warning, map[string]any{"target": "chainfire_lease", "template": "Lease expired, id=<num>"}}},
		{"unclassified from priority", entry("Lease expired, id=42", cfu, 3),
			verdict{"service.unclassified", record.Warning, map[string]any{"template": "Lease expired, id=<num>"}}},
		{"journald target field", record.Entry{Message: "Lease expired, id=42", Priority: 4, Target: "chainfire_lease"},
			verdict{"service.unclassified", record.Info, map[string]any{"target": "chainfire_lease", "template": "Lease expired, id=<num>"}}},
		{"info line unmatched", entry("INFO chainfire_lease: Lease granted, id=42", cfu, -1), verdict{}},
		{"text level beats priority 6", entry("WARN chainfire_lease: Lease expired, id=42", cfu, 6),
			verdict{"service.unclassified", record.Info, map[string]any{"target": "chainfire_lease", "template": "Lease expired, id=<num>"}}},
		{"span fields are not event fields", entry("INFO raft{term=9}: chainfire_raft: Leader elected, term=10", cfu, -1),
			verdict{"chainfire.leader_elected", record.Info, map[string]any{"term": int64(10)}}},
		{"panic", entry("ERROR chainfire_server: thread 'tokio-runtime-worker' panicked at 'oops', src/log.rs:412:17", cfu, -1),
			verdict{"service.panic", record.Critical, map[string]any{"thread": "tokio-runtime-worker", "location": "src/log.rs:412:17"}}},
		{"disk full with path", entry("ERROR flaredb_storage: IO error: No space left on device (os error 28), path=/var/lib/x.sst", fdu, -1),
			verdict{"service.disk_full", record.Critical, map[string]any{"path": "/var/lib/x.sst"}}},
		{"disk full without path", entry("No space left on device", fdu, -1),
			verdict{"service.disk_full", record.Critical, map[string]any{}}},
		{"kelvin sign folds", entry("WARN x: no leader elected, K=\u212a", cfu, -1),
			verdict{"chainfire.no_leader", record.Error, map[string]any{}}},
		{"long s folds", entry("ERROR flaredb_pd_client: failed to regiſter with PD", fdu, -1),
			verdict{"flaredb.pd_register_failed", record.Error, map[string]any{}}},
		{"long s is no word character", entry("WARN chainfire_storage: RocksDB ſtall detected, duration=2s", cfu, -1),
			verdict{"service.unclassified", record.Info, map[string]any{"target": "chainfire_storage", "template": "RocksDB ſtall detected, duration=<dur>"}}},
		{"invalid utf-8", entry("WARN chainfire_storage: \xff RocksDB stall detected, duration=2s \xfe", cfu, -1),
			verdict{"chainfire.rocksdb_stall", record.Error, map[string]any{"duration_ms": 2000.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verdictOf(c.Classify(&tt.e))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify(%q) (-want +got):\n%s", tt.e.Message, diff)
			}
			x := c.Explain(&tt.e)
			var xv verdict
			if x.Winner != nil {
				xv = verdict{x.Winner.ID, x.Winner.Severity, x.Winner.Fields}
			}
			if diff := cmp.Diff(tt.want, xv); diff != "" {
				t.Errorf("Explain(%q) winner (-want +got):\n%s", tt.e.Message, diff)
			}
		})
	}
}

func TestEventJSON(t *testing.T) {
	c := New(handLibrary(t), Options{})
	e := record.Entry{
		Time:    time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC),
		Host:    "node01",
		Unit:    "chainfire.service",
		Message: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms",
		// tracing-subscriber's stdout: PRIORITY is whatever the stream gave.
		Priority: 4, PID: 1234, BootID: "3f1c2b9a4d5e4f60a1b2c3d4e5f60718",
		Cursor: "s=abc;i=1f;b=3f1c;m=2a;t=5e;x=9",
	}
	ev, ok := c.Classify(&e)
	if !ok {
		t.Fatal("no event")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-11-26T10:00:00.123456Z","host":"node01","unit":"chainfire.service",` +
		`"signature":"chainfire.rocksdb_stall","severity":"error","summary":"RocksDB write stall of 2000 ms",` +
		`"runbook":"https://git.example/centra-cloud/blob/main/docs/ops/troubleshooting.md#issue-high-write-latency",` +
		`"fields":{"duration_ms":2000},"message":"WARN chainfire_storage: RocksDB stall detected, duration=2000ms",` +
		`"target":"chainfire_storage","priority":4,"pid":1234,"boot_id":"3f1c2b9a4d5e4f60a1b2c3d4e5f60718",` +
		`"cursor":"s=abc;i=1f;b=3f1c;m=2a;t=5e;x=9","fingerprint":"` + ev.Fingerprint + `"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("event JSON (-want +got):\n%s", diff)
	}
	var back record.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !back.Time.Equal(ev.Time.Time) || back.Severity != ev.Severity || back.Signature != ev.Signature {
		t.Errorf("round trip: got %+v, want %+v", back, ev)
	}
}

func TestEventDetails(t *testing.T) {
	c := New(handLibrary(t), Options{RunbookBase: "https://example.org/cc/"})
	runbook := func(ev record.Event) any { return ev.Runbook }
	message := func(ev record.Event) any { return ev.Message }
	priority := func(ev record.Event) any { return ev.Priority }
	summary := func(ev record.Event) any { return ev.Summary }
	tests := []struct {
		name string
		e    record.Entry
		got  func(record.Event) any
		want any
	}{
		{"runbook base", entry("ERROR flaredb_pd_client: failed to register with PD", "flaredb.service", -1), runbook,
			"https://example.org/cc/docs/ops/troubleshooting.md#issue-store-not-registering-with-pd"},
		{"message without ANSI", entry("\x1b[31mERROR\x1b[0m flaredb_pd_client: failed to register with PD", "flaredb.service", -1), message,
			"ERROR flaredb_pd_client: failed to register with PD"},
		{"message made valid UTF-8", entry("ERROR flaredb_pd_client: failed to register with PD \xff", "flaredb.service", -1), message,
			"ERROR flaredb_pd_client: failed to register with PD \uFFFD"},
		{"huge message capped", entry("ERROR flaredb_pd_client: failed to register with PD "+strings.Repeat("é", 40000), "flaredb.service", -1), func(ev record.Event) any {
			return len(ev.Message) <= MaxMessageBytes+40 && strings.HasSuffix(ev.Message, " bytes]") && strings.Contains(ev.Message, "…[truncated ")
		}, true},
		{"priority from text level when none", entry("ERROR flaredb_pd_client: failed to register with PD", "flaredb.service", -1), priority, 3},
		{"priority -1 without level", entry("failed to register with PD", "flaredb.service", -1), priority, -1},
		{"entry priority kept", entry("ERROR flaredb_pd_client: failed to register with PD", "flaredb.service", 6), priority, 6},
		{"summary with missing field", entry("ERROR flaredb_storage: No space left on device", "flaredb.service", -1), summary, "disk full: ?"},
		{"summary with fraction", entry("WARN chainfire_storage: stall, duration=1.25s", "chainfire.service", -1), summary, "RocksDB write stall of 1250 ms"},
		{"fields never null", entry("ERROR flaredb_pd_client: failed to register with PD", "flaredb.service", -1), func(ev record.Event) any {
			b, _ := json.Marshal(ev)
			return strings.Contains(string(b), `"fields":{}`)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := c.Classify(&tt.e)
			if !ok {
				t.Fatal("no event")
			}
			if got := tt.got(ev); got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	c := New(handLibrary(t), Options{})
	fp := func(host, msg string) string {
		t.Helper()
		e := entry(msg, "chainfire.service", -1)
		e.Host = host
		ev, ok := c.Classify(&e)
		if !ok {
			t.Fatalf("no event for %q", msg)
		}
		return ev.Fingerprint
	}
	a := fp("node01", "ERROR chainfire_network: Failed to connect to peer, addr=node2:2380, error=Connection refused")
	if got := fp("node01", "ERROR chainfire_network: Failed to connect to peer, addr=node2:2380, error=timeout"); got != a {
		t.Errorf("same group, different message: %s != %s", got, a)
	}
	if got := fp("node01", "ERROR chainfire_network: Failed to connect to peer, addr=node3:2380"); got == a {
		t.Error("different addr, same fingerprint")
	}
	if got := fp("node02", "ERROR chainfire_network: Failed to connect to peer, addr=node2:2380"); got == a {
		t.Error("different host, same fingerprint")
	}
	if len(a) != 16 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("fingerprint %q is not 16 hex digits", a)
	}
	// Parts cannot run into each other.
	cs := c.sigs[0]
	v := func(s string) []value { return []value{{kind: vString, s: s}} }
	cs2 := *cs
	cs2.groupBy = []int{0}
	if cs2.fingerprint("ab", v("c")) == cs2.fingerprint("a", v("bc")) {
		t.Error("host/value boundary collides")
	}
	if cs2.fingerprint("a", []value{{kind: vInt, i: 1}}) == cs2.fingerprint("a", v("1")) {
		t.Error("integer 1 and string \"1\" collide")
	}
	if cs2.fingerprint("a", []value{{}}) == cs2.fingerprint("a", v("")) {
		t.Error("missing and empty collide")
	}
}

// TestFingerprintValue pins the fingerprint of one event: it must not change
// between releases (silences and dashboards key on it).
func TestFingerprintValue(t *testing.T) {
	c := New(handLibrary(t), Options{})
	e := entry("ERROR chainfire_network: Failed to connect to peer, addr=node2:2380", "chainfire.service", -1)
	ev, _ := c.Classify(&e)
	if want := fingerprintPinned; ev.Fingerprint != want {
		t.Errorf("fingerprint = %s, want %s", ev.Fingerprint, want)
	}
}

const fingerprintPinned = "99795a21c51d763b"

// TestClassifyNoAlloc: lines that give no event allocate nothing.
func TestClassifyNoAlloc(t *testing.T) {
	c := New(handLibrary(t), Options{})
	for _, msg := range []string{
		"INFO chainfire_api: Handled put request, latency=15ms, key=/registry/pods/default/web-1",
		"INFO chainfire_storage: Committed entry, index=12345, term=3",
		"Invalid user git from 192.234.136.206 port 16759",
		"INFO flaredb_service: Handled query, table=orders, rows=1000, latency=50ms",
	} {
		e := entry(msg, "", -1)
		if n := testing.AllocsPerRun(200, func() { c.Classify(&e) }); n != 0 {
			t.Errorf("Classify(%q) allocates %v times", msg, n)
		}
	}
}

// TestClassifyDifferential: the prefilter and the fast matcher change
// nothing: every sample line (and the corpus's first lines, when present)
// gives the same event as plain regexp on every signature, and Explain
// agrees with Classify.
func TestClassifyDifferential(t *testing.T) {
	for _, lib := range []struct {
		name string
		lib  *patterns.Library
	}{{"hand", handLibrary(t)}, {"builtin", builtin(t)}} {
		t.Run(lib.name, func(t *testing.T) {
			fast := New(lib.lib, Options{})
			slow := newClassifier(lib.lib, Options{}, false, false)
			var entries []record.Entry
			for _, l := range diffLines() {
				for _, u := range []string{"", "chainfire.service", "flaredb.service", "placement-driver.service"} {
					entries = append(entries, entry(l, u, -1), entry(l, u, 4))
				}
			}
			if cor := loadCorpusN(t, 30000); cor != nil {
				entries = append(entries, cor...)
			}
			for i := range entries {
				e := &entries[i]
				a, aok := fast.Classify(e)
				b, bok := slow.Classify(e)
				if diff := cmp.Diff(verdictOf(b, bok), verdictOf(a, aok)); diff != "" {
					t.Fatalf("%q unit %q: (-regexp +fast):\n%s", e.Message, e.Unit, diff)
				}
				if aok && a.Summary != b.Summary {
					t.Fatalf("%q: summary %q vs %q", e.Message, a.Summary, b.Summary)
				}
				if i%7 == 0 {
					x := fast.Explain(e)
					if (x.Winner != nil) != aok || (aok && x.Winner.ID != a.Signature) {
						t.Fatalf("%q: Explain winner %+v, Classify %v %s", e.Message, x.Winner, aok, a.Signature)
					}
				}
			}
		})
	}
}

// loadCorpusN returns the first n corpus entries, or nil without a corpus.
func loadCorpusN(t *testing.T, n int) []record.Entry {
	t.Helper()
	var out []record.Entry
	ok := t.Run("corpus", func(t *testing.T) {
		all := loadCorpus(t)
		out = all[:min(n, len(all))]
	})
	if !ok {
		return nil
	}
	return out
}

func TestExplain(t *testing.T) {
	c := New(handLibrary(t), Options{})
	names := func(ms []SignatureMatch) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID+": "+m.Reason)
		}
		return out
	}
	t.Run("shadowed", func(t *testing.T) {
		e := entry("WARN chainfire_raft: Election timeout, peer unreachable", "chainfire.service", -1)
		x := c.Explain(&e)
		if x.Winner == nil || x.Winner.ID != "chainfire.election_timeout" {
			t.Fatalf("winner %+v", x.Winner)
		}
		want := []string{"chainfire.connection_error: shadowed by chainfire.election_timeout"}
		if diff := cmp.Diff(want, names(x.Shadowed)); diff != "" {
			t.Errorf("shadowed (-want +got):\n%s", diff)
		}
		if x.Line.Body != "Election timeout, peer unreachable" || x.Line.Target != "chainfire_raft" || x.Line.Level != record.LevelWarn {
			t.Errorf("line %+v", x.Line)
		}
	})
	t.Run("fire_when", func(t *testing.T) {
		e := entry("INFO chainfire_api: Handled put request, latency=15ms, note=timeout", "chainfire.service", -1)
		x := c.Explain(&e)
		if x.Winner != nil || x.Event != nil {
			t.Fatalf("winner %+v", x.Winner)
		}
		if diff := cmp.Diff([]string{"chainfire.slow_request: fire_when does not hold: latency_ms >= 100"}, names(x.NotFired)); diff != "" {
			t.Errorf("not fired (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"chainfire.connection_error: search ended by chainfire.slow_request (matched, fire_when failed)"}, names(x.Shadowed)); diff != "" {
			t.Errorf("shadowed (-want +got):\n%s", diff)
		}
		if got := x.NotFired[0].Fields; !cmp.Equal(got, map[string]any{"op": "put", "latency_ms": 15.0}) {
			t.Errorf("fields %v", got)
		}
	})
	t.Run("field error", func(t *testing.T) {
		e := entry("INFO chainfire_raft: Leader elected, term=99999999999999999999", "chainfire.service", -1)
		x := c.Explain(&e)
		if x.Winner == nil || x.Winner.FieldErrors["term"] == "" {
			t.Fatalf("winner %+v", x.Winner)
		}
	})
	t.Run("excluded", func(t *testing.T) {
		e := entry("Election timeout", "flaredb.service", -1)
		x := c.Explain(&e)
		want := []string{
			"chainfire.election_timeout: does not apply to unit flaredb.service",
			"chainfire.connection_error: does not apply to unit flaredb.service",
		}
		if diff := cmp.Diff(want, names(x.Excluded)); diff != "" {
			t.Errorf("excluded (-want +got):\n%s", diff)
		}
		if x.Winner == nil || x.Winner.ID != "flaredb.timeout" {
			t.Errorf("winner %+v", x.Winner)
		}
	})
}

func TestCheckExamples(t *testing.T) {
	lib := handLibrary(t)
	pos := func(line int) patterns.Pos { return patterns.Pos{File: "hand.yaml", Line: line, Col: 9} }
	find := func(id string) *patterns.Signature {
		for _, s := range lib.Signatures {
			if s.ID == id {
				return s
			}
		}
		t.Fatalf("no %s", id)
		return nil
	}
	find("chainfire.connection_error").Examples = []patterns.Example{
		{Pos: pos(10), Line: "WARN chainfire_raft: Election timeout"},      // shadowed
		{Pos: pos(11), Line: "WARN chainfire_network: connection refused"}, // fine
	}
	find("chainfire.rocksdb_stall").Examples = []patterns.Example{
		{Pos: pos(20), Line: "WARN chainfire_storage: stall, duration=2s", Fields: map[string]any{"duration_ms": int64(2000)}, Severity: record.Error},
		{Pos: pos(21), Line: "WARN chainfire_storage: stall, duration=2s", Fields: map[string]any{"duration_ms": int64(20)}},
		{Pos: pos(22), Line: "WARN chainfire_storage: stall, duration=2s"}, // base severity warning, got error
	}
	find("chainfire.rocksdb_stall").NearMisses = []patterns.NearMiss{
		{Pos: pos(23), Line: "INFO chainfire_storage: Installed snapshot"},
		{Pos: pos(24), Line: "WARN chainfire_storage: stalled"},
	}
	find("chainfire.slow_request").Examples = []patterns.Example{
		{Pos: pos(30), Line: "INFO chainfire_api: Handled put request, latency=15ms"},
	}
	find("flaredb.pd_registered").Examples = []patterns.Example{
		{Pos: pos(40), Line: "INFO flaredb_pd_client: Registered with PD, store_id=1", Unit: "chainfire.service"},
	}
	got := New(lib, Options{}).CheckExamples()
	var msgs []string
	for _, f := range got {
		msgs = append(msgs, f.Error())
	}
	want := []string{
		`hand.yaml:21:9: chainfire.rocksdb_stall: example "WARN chainfire_storage: stall, duration=2s": fields: expected {duration_ms=20}, got {duration_ms=2000}; severity: expected warning, got error`,
		`hand.yaml:22:9: chainfire.rocksdb_stall: example "WARN chainfire_storage: stall, duration=2s": severity: expected warning, got error`,
		`hand.yaml:24:9: chainfire.rocksdb_stall: near miss "WARN chainfire_storage: stalled" gives chainfire.rocksdb_stall (severity warning, fields {}); it must not`,
		`hand.yaml:30:9: chainfire.slow_request: example "INFO chainfire_api: Handled put request, latency=15ms" matches but fire_when does not hold: latency_ms >= 100 (fields {latency_ms=15 op="put"}); got no event`,
		`hand.yaml:10:9: chainfire.connection_error: example "WARN chainfire_raft: Election timeout" is shadowed by chainfire.election_timeout (expected chainfire.connection_error)`,
		`hand.yaml:40:9: flaredb.pd_registered: example "INFO flaredb_pd_client: Registered with PD, store_id=1" matches but does not apply to unit chainfire.service; got no event`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("CheckExamples (-want +got):\n%s", diff)
	}
}

// TestClassifyConcurrent: one Classifier serves many goroutines (run with
// -race).
func TestClassifyConcurrent(t *testing.T) {
	c := New(handLibrary(t), Options{})
	want := make([]verdict, len(sampleLines))
	for i, l := range sampleLines {
		e := entry(l, "", 4)
		want[i] = verdictOf(c.Classify(&e))
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for rep := 0; rep < 50; rep++ {
				for i, l := range sampleLines {
					e := entry(l, "", 4)
					if got := verdictOf(c.Classify(&e)); !cmp.Equal(want[i], got) {
						done <- fmt.Errorf("%q: %v, want %v", l, got, want[i])
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestDecideNotFired: decide reports the signature that matched but did
// not fire (what rules over time need for healthy "Handled" lines), without
// allocating.
func TestDecideNotFired(t *testing.T) {
	c := New(handLibrary(t), Options{})
	e := entry("INFO chainfire_api: Handled put request, latency=15ms", "", -1)
	run := func() (bool, notFired) {
		var l Line
		var buf [4]uint64
		var nf notFired
		var ev record.Event
		cand := c.prepare(&e, &l, &buf)
		return cand != nil && c.decide(&e, &l, cand, &ev, &nf), nf
	}
	ok, nf := run()
	if ok || nf.cs == nil || nf.cs.sig.ID != "chainfire.slow_request" {
		t.Fatalf("ok %v, not fired %+v", ok, nf.cs)
	}
	if v := nf.vals[nf.cs.fieldIndex("latency_ms")]; v.kind != vFloat || v.f != 15 {
		t.Errorf("latency_ms %+v", v)
	}
	if n := testing.AllocsPerRun(100, func() { run() }); n != 0 {
		t.Errorf("decide allocates %v times", n)
	}
}

func TestSummaryOptionalSections(t *testing.T) {
	lib := &patterns.Library{Signatures: []*patterns.Signature{{
		ID: "site.stall", Units: patterns.BuiltinServices().Units(), Severity: record.Warning, Anchor: "a",
		Summary:   "Write stall[ of {duration_ms} ms][ on {cf}]",
		Match:     regexp.MustCompile(`(?i)stall(?:.*?duration=(?P<duration_ms>\S+?))?(?:,|$)(?:.*?cf=(?P<cf>\w+))?`),
		MatchText: "stall",
		Fields: []patterns.Field{
			{Name: "duration_ms", Type: patterns.Duration},
			{Name: "cf", Type: patterns.String},
		},
	}}}
	c := New(lib, Options{})
	for _, tc := range []struct{ line, want string }{
		{"WARN chainfire_storage: stall, duration=20ms, cf=raft", "Write stall of 20 ms on raft"},
		{"WARN chainfire_storage: stall, duration=20ms", "Write stall of 20 ms"},
		{"WARN chainfire_storage: stall, cf=raft", "Write stall on raft"},
		{"WARN chainfire_storage: stall", "Write stall"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			ev, ok := c.Classify(&record.Entry{Unit: "chainfire.service", Message: tc.line, Priority: -1})
			if !ok {
				t.Fatal("no event")
			}
			if diff := cmp.Diff(tc.want, ev.Summary); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventTimeJSON(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 26, 10, 4, 30, 632000000, time.UTC), `"2026-11-26T10:04:30.632000Z"`},
		{time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), `"2026-11-26T10:00:00.000000Z"`},
		{time.Date(2026, 11, 26, 11, 0, 0, 123456789, time.FixedZone("CET", 3600)), `"2026-11-26T10:00:00.123456Z"`},
	} {
		b, err := json.Marshal(record.Event{Time: record.Time{Time: tc.in}, Severity: record.Info})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Time json.RawMessage `json:"time"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, string(got.Time)); diff != "" {
			t.Errorf("time (-want +got):\n%s", diff)
		}
		var back record.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !back.Time.Equal(tc.in.Truncate(time.Microsecond)) {
			t.Errorf("round trip: got %v, want %v", back.Time, tc.in.Truncate(time.Microsecond))
		}
	}
}
