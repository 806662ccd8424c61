package classify

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// TestQuantileDecisionExact compares the window's decision with the
// nearest-rank quantile of the sorted values.
func TestQuantileDecisionExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := 1 + rng.IntN(300)
		q := []float64{0.5, 0.9, 0.99, 0.999, 1}[rng.IntN(5)]
		x := 500.0
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = []float64{15, 499, 500, 501, 800, 3e5}[rng.IntN(6)]
			if rng.IntN(10) == 0 {
				vals[i] = rng.Float64() * 2000
			}
		}
		above := 0
		for _, v := range vals {
			if v > x {
				above++
			}
		}
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		rank := int(math.Ceil(q*float64(n) - 1e-9))
		rank = max(rank, 1)
		want := sorted[rank-1] > x
		cr := &crule{rule: &patterns.Rule{Quantile: q, MinCount: 1}}
		if got := quantHolds(cr, uint64(n), uint64(above)); got != want {
			t.Fatalf("q=%g n=%d above=%d: holds %v, want %v (value at rank %d: %g)", q, n, above, got, want, rank, sorted[rank-1])
		}
	}
}

// TestAboveEstimate: the reported quantile is within 9.1 % of the true one
// (half a bucket: 2^(1/8)).
func TestAboveEstimate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const x = 500.0
	for range 500 {
		var sks []*aboveSketch
		var vals []float64
		for range 1 + rng.IntN(5) {
			sk := &aboveSketch{}
			for range 1 + rng.IntN(200) {
				v := x * math.Exp2(rng.Float64()*8) // up to 256 x: past the last bucket too
				sk.add(v, x)
				vals = append(vals, v)
			}
			sks = append(sks, sk)
		}
		slices.Sort(vals)
		j := 1 + rng.IntN(len(vals))
		want := vals[j-1]
		got := estimateAbove(sks, uint64(j), x)
		if want <= 64*x && math.Abs(got-want)/want > 0.0906 {
			t.Fatalf("rank %d of %d: estimate %g, want %g ±9.1%%", j, len(vals), got, want)
		}
		if got < x || got > float64(float32(vals[len(vals)-1]))*1.0000001 {
			t.Fatalf("rank %d: estimate %g outside [%g, max %g]", j, got, x, vals[len(vals)-1])
		}
	}
}

func TestQuantileRank(t *testing.T) {
	for _, tt := range []struct {
		q    float64
		n    uint64
		want uint64
	}{{0.99, 100, 99}, {0.99, 101, 100}, {0.99, 1, 1}, {0.5, 3, 2}, {1, 7, 7}, {0.999, 1000, 999}, {0.99, 0, 1}} {
		if got := quantileRank(tt.q, tt.n); got != tt.want {
			t.Errorf("quantileRank(%g, %d) = %d, want %d", tt.q, tt.n, got, tt.want)
		}
	}
}

// TestMatch: Match gives Classify's event, and the deciding signature even
// when it did not fire.
func TestMatch(t *testing.T) {
	c, _ := rulesLib(t)
	cf := "chainfire.service"
	tests := []struct {
		name     string
		e        record.Entry
		sig      string
		fired    bool
		fields   map[string]any
		hasEvent bool
	}{
		{"fired", record.Entry{Message: lineTimeout, Unit: cf}, "chainfire.election_timeout", true, map[string]any{}, true},
		{"not fired", record.Entry{Message: lineFast, Unit: cf}, "chainfire.slow_request", false, map[string]any{"op": "put", "latency_ms": 15.0}, false},
		{"not fired, a fallback takes the WARN line", record.Entry{Message: "WARN chainfire_api: Handled put request, latency=15ms", Unit: cf},
			"chainfire.slow_request", false, map[string]any{"op": "put", "latency_ms": 15.0}, true},
		{"slow", record.Entry{Message: latencyLine(250), Unit: cf}, "chainfire.slow_request", true, map[string]any{"op": "put", "latency_ms": 250.0}, true},
		{"nothing", record.Entry{Message: lineOther, Unit: cf}, "", false, nil, false},
		{"other unit", record.Entry{Message: lineTimeout, Unit: "cron.service"}, "", false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e.Priority = record.NoPriority
			tt.e.Time, tt.e.Host, tt.e.Cursor = t0, "node07", "cur"
			m, ok := c.Match(&tt.e)
			if ok != (tt.sig != "") {
				t.Fatalf("Match ok = %v", ok)
			}
			if !ok {
				return
			}
			if m.Signature != tt.sig || m.Fired != tt.fired || m.HasEvent != tt.hasEvent {
				t.Errorf("Match = %s fired %v event %v, want %s %v %v", m.Signature, m.Fired, m.HasEvent, tt.sig, tt.fired, tt.hasEvent)
			}
			got := m.FieldMap()
			if len(tt.fields) == 0 && len(got) == 0 {
				tt.fields, got = nil, nil
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			for name, want := range tt.fields {
				if v, ok := m.Field(name); !ok || v != want {
					t.Errorf("Field(%s) = %v, %v; want %v", name, v, ok, want)
				}
			}
			if v, ok := m.Field("nope"); ok {
				t.Errorf("Field(nope) = %v", v)
			}
			if !m.Fired && m.Fields != nil {
				t.Errorf("Fields of a match that did not fire: %v, want nil", m.Fields)
			}
			if m.Time != t0 || m.Host != "node07" || m.Cursor != "cur" || m.Unit != cf || m.Message != tt.e.Message || m.Target == "" {
				t.Errorf("entry details: %+v", m)
			}
			ev, evOK := c.Classify(&tt.e)
			if evOK != m.HasEvent {
				t.Fatalf("Classify ok = %v, Match HasEvent %v", evOK, m.HasEvent)
			}
			if diff := cmp.Diff(ev, m.Event); evOK && diff != "" {
				t.Errorf("Match.Event differs from Classify (-Classify +Match):\n%s", diff)
			}
		})
	}
}

// TestMatchEqualsClassify over the golden inputs of every service.
func TestMatchEqualsClassify(t *testing.T) {
	c, _ := rulesLib(t)
	n := 0
	for _, name := range []string{"chainfire", "flaredb", "placement-driver", "service", "healthy"} {
		for _, line := range goldenInputLines(t, name) {
			for _, unit := range []string{"", "chainfire.service", "flaredb.service", "placement-driver.service"} {
				e := record.Entry{Message: line, Unit: unit, Priority: record.NoPriority, Host: "h", Time: t0}
				ev, ok := c.Classify(&e)
				m, mok := c.Match(&e)
				if m.HasEvent != ok || (ok && !mok) {
					t.Fatalf("%q: Classify %v, Match %v/%v", line, ok, mok, m.HasEvent)
				}
				if ok {
					n++
					if diff := cmp.Diff(ev, m.Event); diff != "" {
						t.Fatalf("%q (-Classify +Match):\n%s", line, diff)
					}
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d events compared", n)
	}
}

// TestCheckRuleExamples: the shipped rule examples pass, and a wrong
// expectation fails with its position and what was given.
func TestCheckRuleExamples(t *testing.T) {
	c, lib := rulesLib(t)
	for _, f := range c.CheckRuleExamples() {
		t.Error(f.Error())
	}
	site := `
rules:
  - id: site.storm
    kind: count
    signature: chainfire.election_timeout
    count: 2
    window: 10s
    severity: warning
    anchor: log-analysis
    summary: "{count} in {window}"
    examples:
      - name: wrong time
        lines:
          - {at: 0s, line: "` + lineTimeout + `"}
          - {at: 5s, line: "` + lineTimeout + `"}
        expect: [{at: 4s, count: 2}]
      - lines:
          - {at: 0s, line: "` + lineTimeout + `"}
          - {at: 11s, line: "` + lineTimeout + `"}
        expect: [{at: 11s}]
      - lines:
          - {at: 0s, line: "` + lineTimeout + `"}
          - {at: 1s, line: "` + lineTimeout + `", host: other}
          - {at: 2s, line: "` + lineTimeout + `", host: other}
        expect: [{at: 2s, count: 2, host: other}]
`
	f, err := patterns.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	merged := *lib
	merged.Rules = append(slices.Clone(lib.Rules), f.Rules...)
	got := New(&merged, Options{}).CheckRuleExamples()
	var msgs []string
	for _, f := range got {
		msgs = append(msgs, f.Error())
	}
	want := []string{
		`site.yaml:12:9: site.storm: example "wrong time": expected derived events [at 4s count 2], got [at 5s count 2 host example (entry 1 to entry 2)] (2 of 2 entries read by the rule)`,
		`site.yaml:17:9: site.storm: example: expected derived events [at 11s], got [] (2 of 2 entries read by the rule)`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestRulesSweep: windows that can no longer matter are dropped once their
// host moves on, and dropping them changes no derived event.
func TestRulesSweep(t *testing.T) {
	c, lib := siteLib(t, `
rules:
  - id: site.replication_storm
    kind: count
    signature: flaredb.replication_failed
    count: 2
    window: 60s
    severity: error
    anchor: log-analysis
    summary: "{count} replication failures to {peer} in {window}"
    group_by: [peer]
`)
	var lines []jline
	for i := range 1000 {
		lines = append(lines, jline{at: time.Duration(i) * 10 * time.Millisecond, line: fmt.Sprintf("ERROR flaredb_raft: Failed to replicate log, peer=store%d", i)})
	}
	r := NewRules(lib, Options{})
	run(c, r, entries(lines))
	if got := r.Groups(); got != 1000 {
		t.Fatalf("%d groups after 1000 peers, want 1000", got)
	}
	evs := run(c, r, entries([]jline{{time.Hour, "ERROR flaredb_raft: Failed to replicate log, peer=store1", ""},
		{time.Hour + sec, "ERROR flaredb_raft: Failed to replicate log, peer=store1", ""}}))
	if got := r.Groups(); got != 1 {
		t.Errorf("%d groups an hour later, want 1", got)
	}
	if diff := cmp.Diff([]fired{{Rule: "site.replication_storm", At: time.Hour + sec, Host: "node01", Count: 2, First: "c1", Last: "c2",
		Fields: map[string]any{"peer": "store1"}}}, firedOf(evs)); diff != "" {
		t.Errorf("derived events (-want +got):\n%s", diff)
	}
	// Another host's clock does not sweep this host's windows.
	r = NewRules(lib, Options{})
	run(c, r, entries(lines[:1]))
	run(c, r, entries([]jline{{5 * time.Hour, "ERROR flaredb_raft: Failed to replicate log, peer=x", "node99"}}))
	if got := len(run(c, r, entries([]jline{{10 * sec, lines[0].line, ""}}))); got != 1 {
		t.Errorf("the window of node01 was swept by node99's time: %d derived events, want 1", got)
	}
}

// siteLib loads the built-in library with one more pattern file.
func siteLib(tb testing.TB, src string) (*Classifier, *patterns.Library) {
	tb.Helper()
	dir := tb.TempDir()
	if err := writeFile(dir+"/site.yaml", src); err != nil {
		tb.Fatal(err)
	}
	lib, err := patterns.Load([]string{dir})
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	return New(lib, Options{}), lib
}

// TestRulesDerivedEvent checks a whole derived event.
func TestRulesDerivedEvent(t *testing.T) {
	c, lib := rulesLib(t)
	es := entries(every(0, 20*sec, 3, lineTimeout))
	es[2].PID, es[2].BootID = 42, "boot"
	got := run(c, NewRules(lib, Options{RunbookBase: "https://rb/"}), es)
	want := []record.Event{{
		Time:        record.Time{Time: t0.Add(40 * sec)},
		Host:        "node01",
		Unit:        "chainfire.service",
		Signature:   "chainfire.election_storm",
		Severity:    record.Error,
		Summary:     "Election storm: 3 Raft election timeouts within 60s",
		Runbook:     "https://rb/docs/ops/troubleshooting.md#issue-no-leader--leader-election-fails",
		Fields:      map[string]any{},
		Message:     lineTimeout,
		Target:      "chainfire_raft",
		Priority:    4,
		PID:         42,
		BootID:      "boot",
		Cursor:      "c3",
		Fingerprint: ruleFingerprint("chainfire.election_storm", "node01", "", nil),
		Derived:     true,
		Count:       3,
		Window:      "60s",
		FirstCursor: "c1",
		LastCursor:  "c3",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived event (-want +got):\n%s", diff)
	}
	js, err := jsonMarshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"derived":true`, `"count":3`, `"window":"60s"`, `"first_cursor":"c1"`, `"last_cursor":"c3"`} {
		if !strings.Contains(js, part) {
			t.Errorf("JSON %s lacks %s", js, part)
		}
	}
	plain, _ := c.Classify(&es[0])
	js, _ = jsonMarshal(plain)
	for _, part := range []string{"derived", "first_cursor", "last_cursor", `"window"`, `"count"`} {
		if strings.Contains(js, part) {
			t.Errorf("JSON of a plain event %s has %s", js, part)
		}
	}
}

// stateBytes measures the heap that build's Rules hold: live heap after
// build, minus before, with everything else collected.
func stateBytes(build func() *Rules) (uint64, *Rules) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(r)
	if after.HeapAlloc < before.HeapAlloc {
		return 0, r
	}
	return after.HeapAlloc - before.HeapAlloc, r
}

// journalCursor returns a cursor shaped like sdjournal's (about 130 bytes),
// freshly allocated as the reader's are.
func journalCursor(i int) string {
	return fmt.Sprintf("s=739ad463348b4ceca5a9e69c95a3c93d;i=%x;b=6c7c6013a8674e17a0c0d9d5c5bb6a0a;m=%x;t=%x;x=%016x",
		i, 5000000+i, 1700000000000000+i, uint64(i)*0x9e3779b97f4a7c15)
}

// fillGroups feeds each rule of the built-in library, per group (host), what
// keeps its window at its largest: count windows full (Count events with
// their cursors), every step of quantile windows holding values above the
// threshold, persist runs going. Rules not in kinds are not fed.
func fillGroups(c *Classifier, lib *patterns.Library, groups int, rules []string) *Rules {
	r := NewRules(lib, Options{})
	lines := map[string]string{
		"chainfire.election_storm":    lineTimeout,
		"chainfire.leader_flapping":   lineElected,
		"chainfire.write_latency_p99": latencyLine(900),
		"flaredb.compaction_storm":    lineCompact,
		"flaredb.pd_unreachable":      lineHeartbeat,
	}
	// Every group: 30 entries 10 s apart (5 min: every step of the p99 window).
	cursor := 0
	for step := range 30 {
		at := t0.Add(time.Duration(step) * 10 * time.Second)
		for g := range groups {
			host := "node" + fmt.Sprint(g)
			for _, id := range rules {
				line := lines[id]
				e := record.Entry{Time: at, Host: host, Unit: unitOf(line), Message: line, Priority: record.NoPriority, Cursor: journalCursor(cursor)}
				cursor++
				if m, ok := c.Match(&e); ok {
					r.Feed(&m, nil)
				}
			}
		}
	}
	return r
}

// ruleStateCases are the memory measurements: 10,000 groups of each rule
// alone, and 10,000 groups spread over the five rules.
var ruleStateCases = []struct {
	name  string
	rules []string
}{
	{"election_storm", []string{"chainfire.election_storm"}},
	{"write_latency_p99", []string{"chainfire.write_latency_p99"}},
	{"compaction_storm", []string{"flaredb.compaction_storm"}},
	{"pd_unreachable", []string{"flaredb.pd_unreachable"}},
}

// MaxRuleStateBytes is the bound on the state of 10,000 groups.
const maxRuleStateBytes = 20 << 20

// TestRuleStateMemory: the state of 10,000 groups stays under 20 MiB, for
// every rule kind at its largest.
func TestRuleStateMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000 windows per rule")
	}
	c, lib := rulesLib(t)
	for _, tc := range ruleStateCases {
		t.Run(tc.name, func(t *testing.T) {
			n, r := stateBytes(func() *Rules { return fillGroups(c, lib, 10000, tc.rules) })
			if r.Groups() != 10000 {
				t.Fatalf("%d groups, want 10000", r.Groups())
			}
			t.Logf("%s: %.2f MiB for 10,000 groups (%d bytes per group)", tc.name, float64(n)/(1<<20), n/10000)
			if n >= maxRuleStateBytes {
				t.Errorf("%s: state of 10,000 groups takes %d bytes, want < 20 MiB", tc.name, n)
			}
		})
	}
}

// BenchmarkRuleState10kGroups measures the memory of 10,000 groups per rule
// at their largest (bytes/group, MiB/10k) and the time to feed them.
func BenchmarkRuleState10kGroups(b *testing.B) {
	c, lib := rulesLib(b)
	cases := append(slices.Clone(ruleStateCases), struct {
		name  string
		rules []string
	}{"all_five_2000_hosts", []string{"chainfire.election_storm", "chainfire.leader_flapping", "chainfire.write_latency_p99", "flaredb.compaction_storm", "flaredb.pd_unreachable"}})
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			groups := 10000
			hosts := groups / len(tc.rules)
			var n uint64
			var r *Rules
			for b.Loop() {
				n, r = stateBytes(func() *Rules { return fillGroups(c, lib, hosts, tc.rules) })
			}
			if r.Groups() != groups {
				b.Fatalf("%d groups, want %d", r.Groups(), groups)
			}
			if n >= maxRuleStateBytes {
				b.Errorf("state of %d groups: %d bytes, want < 20 MiB", groups, n)
			}
			b.ReportMetric(float64(n)/float64(groups), "bytes/group")
			b.ReportMetric(float64(n)/(1<<20), "MiB/10k-groups")
		})
	}
}

// BenchmarkRulesFeed measures feeding matches to the rules (the cost per
// entry a rule reads).
func BenchmarkRulesFeed(b *testing.B) {
	c, lib := rulesLib(b)
	es := entries(stormJournal())
	ms := make([]Match, 0, len(es))
	for i := range es {
		if m, ok := c.Match(&es[i]); ok {
			ms = append(ms, m)
		}
	}
	b.ResetTimer()
	var out []record.Event
	for b.Loop() {
		r := NewRules(lib, Options{})
		for i := range ms {
			out = r.Feed(&ms[i], out[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ms)), "ns/match")
}

// goldenInputLines returns the lines of testdata/name.input, without
// comments and blank lines.
func goldenInputLines(tb testing.TB, name string) []string {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name + ".input")
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func writeFile(name, src string) error { return os.WriteFile(name, []byte(src), 0o644) }

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// TestMatchManyFields: Field reads every field of a signature that did not
// fire, also past the inline ones.
func TestMatchManyFields(t *testing.T) {
	c, _ := siteLib(t, `
signatures:
  - id: site.six
    units: [chainfire]
    summary: s
    severity: warning
    anchor: log-analysis
    match: 'six a=(?P<a>\d+) b=(?P<b>\d+) c=(?P<c>\d+) d=(?P<d>\d+) e=(?P<e>\d+) f=(?P<f>\w+)'
    fields: {a: integer, b: integer, c: integer, d: integer, e: integer, f: string}
    fire_when: ["a >= 100"]
`)
	e := record.Entry{Message: "INFO chainfire_x: six a=1 b=2 c=3 d=4 e=5 f=x", Unit: "chainfire.service", Priority: record.NoPriority, Time: t0}
	m, ok := c.Match(&e)
	if !ok || m.Signature != "site.six" || m.Fired {
		t.Fatalf("Match = %v %s fired %v", ok, m.Signature, m.Fired)
	}
	want := map[string]any{"a": int64(1), "b": int64(2), "c": int64(3), "d": int64(4), "e": int64(5), "f": "x"}
	if diff := cmp.Diff(want, m.FieldMap()); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
