package patterns

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// validRule is a correct count rule; cases below change one part of it.
const validRule = `
  - id: site.storm
    kind: count
    signature: chainfire.election_timeout
    count: 3
    window: 60s
    severity: error
    anchor: log-analysis
    summary: "{count} in {window} on {host}"
    examples:
      - lines:
          - {at: 0s, line: "WARN chainfire_raft: Election timeout"}
        expect: []
`

func TestParseRuleErrors(t *testing.T) {
	rule := func(replace ...string) string {
		s := validRule
		for i := 0; i+1 < len(replace); i += 2 {
			if !strings.Contains(s, replace[i]) {
				panic("no " + replace[i])
			}
			s = strings.Replace(s, replace[i], replace[i+1], 1)
		}
		return "rules:" + s
	}
	tests := []parseCase{
		{"valid", rule(), nil},
		{"only rules", "rules: []\n", nil},
		{"not a list", "rules: {a: 1}\n", []string{"t.yaml:1:8: rules: want a list, got a mapping"}},
		{"missing keys", "rules:\n  - id: site.x\n", []string{
			"t.yaml:2:5: rule: missing key kind",
			"t.yaml:2:5: rule: missing key signature",
			"t.yaml:2:5: rule: missing key summary",
			"t.yaml:2:5: rule: missing key severity",
			"t.yaml:2:5: rule: missing key anchor",
		}},
		{"unknown key", rule("    count: 3\n", "    count: 3\n    threshold: 3\n"), []string{
			`t.yaml:6:5: rule: unknown key "threshold" (known: above, anchor, clear_after, cleared_by, count, examples, field, for, group_by, id, kind, max_gap, min_count, quantile, severity, signature, step, summary, window)`,
		}},
		{"bad id", rule("site.storm", "Storm"), []string{`t.yaml:2:9: id: invalid id "Storm" (want lowercase dotted words such as chainfire.election_storm)`}},
		{"duplicate id", "rules:" + validRule + validRule, []string{"t.yaml:15:5: duplicate rule id site.storm (first defined at t.yaml:2:5)"}},
		{"bad kind", rule("kind: count", "kind: rate"), []string{
			`t.yaml:3:11: kind: unknown rule kind "rate" (want count, quantile or persist)`,
		}},
		{"key of another kind", rule("    window: 60s\n", "    window: 60s\n    above: 5\n    for: 1m\n"), []string{
			"t.yaml:7:5: rule: key above is not for a count rule (its keys: count, window, clear_after)",
			"t.yaml:8:5: rule: key for is not for a count rule (its keys: count, window, clear_after)",
		}},
		{"count without window", rule("    window: 60s\n", ""), []string{"t.yaml:2:5: rule: a count rule needs the key window"}},
		{"count out of range", rule("count: 3", "count: 0"), []string{"t.yaml:5:12: count: 0 is out of range (want 1 to 100)"}},
		{"count not an integer", rule("count: 3", "count: three"), []string{`t.yaml:5:12: count: want an integer, got "three"`}},
		{"bad window", rule("window: 60s", "window: 60"), []string{`t.yaml:6:13: window: invalid duration "60" (want a positive duration such as 60s, 10m or 1h30m)`}},
		{"negative window", rule("window: 60s", "window: -1m"), []string{`t.yaml:6:13: window: invalid duration "-1m" (want a positive duration such as 60s, 10m or 1h30m)`}},
		{"bad severity and anchor", rule("severity: error", "severity: loud", "anchor: log-analysis", "anchor: Log Analysis"), []string{
			`t.yaml:7:15: severity: unknown severity "loud" (want info, warning, error or critical)`,
			`t.yaml:8:13: anchor: invalid anchor "Log Analysis" (want a heading slug such as issue-high-write-latency)`,
		}},
		{"unmatched brace", rule(`"{count} in {window} on {host}"`, `"{count in"`), []string{`t.yaml:9:14: summary: unmatched { in "{count in"`}},
		{"group_by twice", rule("    count: 3\n", "    count: 3\n    group_by: [host, peer, peer, Bad]\n"), []string{
			"t.yaml:6:28: group_by: peer listed twice",
			`t.yaml:6:34: group_by: invalid field name "Bad"`,
		}},
		{"quantile checks", "rules:\n  - id: site.p\n    kind: quantile\n    signature: s.x\n    field: f\n    quantile: 99\n    above: x\n    window: 5m\n    step: 7s\n    min_count: 0\n    summary: s\n    severity: info\n    anchor: a\n", []string{
			"t.yaml:6:15: quantile: 99 is out of range (want 0 < q <= 1, such as 0.99)",
			`t.yaml:7:12: above: want a number, got "x"`,
			"t.yaml:9:11: step: 7s does not divide the window 5m0s",
			"t.yaml:10:16: min_count: 0 is out of range (want 1 or more)",
		}},
		{"quantile steps", "rules:\n  - id: site.p\n    kind: quantile\n    signature: s.x\n    field: f\n    quantile: 0.5\n    above: 1\n    window: 1h\n    step: 1s\n    summary: s\n    severity: info\n    anchor: a\n", []string{
			"t.yaml:9:11: step: 1s cuts the window 1h0m0s into more than 60 steps",
		}},
		{"quantile default step", "rules:\n  - id: site.p\n    kind: quantile\n    signature: s.x\n    field: f\n    quantile: 0.5\n    above: 1\n    window: 7ns\n    summary: s\n    severity: info\n    anchor: a\n", []string{
			"t.yaml:8:13: window: 7ns does not split into 10 steps: give step",
		}},
		{"persist checks", "rules:\n  - id: site.p\n    kind: persist\n    signature: s.x\n    for: 2m\n    max_gap: soon\n    cleared_by: [s.y, s.y]\n    summary: s\n    severity: info\n    anchor: a\n", []string{
			`t.yaml:6:14: max_gap: invalid duration "soon" (want a positive duration such as 60s, 10m or 1h30m)`,
			"t.yaml:7:23: cleared_by: s.y listed twice",
		}},
		{"example keys", rule("      - lines:\n          - {at: 0s, line: \"WARN chainfire_raft: Election timeout\"}\n        expect: []\n",
			"      - lines: []\n      - lines:\n          - {at: soon, line: x, times: 3}\n          - {at: 1s, line: x, every: 0s, times: 2, unit: cron}\n          - {at: 1s}\n          - {line: y, at: 0}\n        expect: [{at: 1s, count: 0}, {count: 2}, {at: 2s, host: h, rule: x}]\n"),
			[]string{
				"t.yaml:11:9: rule example: missing key expect",
				"t.yaml:11:16: rule example: lines: want at least one line",
				`t.yaml:13:18: rule example: line: at: invalid time "soon" (want a duration from the example's start such as 0s, 90s or 2m30s)`,
				"t.yaml:13:33: rule example: line: times and every go together",
				`t.yaml:14:38: rule example: line: every: invalid duration "0s" (want a positive duration such as 60s, 10m or 1h30m)`,
				`t.yaml:14:58: rule example: line: unit: unknown unit "cron" (want chainfire, flaredb, placement-driver (or pd), their .service names, or all)`,
				"t.yaml:15:13: rule example: line: missing key line (or entry)",
				"t.yaml:17:34: rule example: expect: count: want 1 or more",
				"t.yaml:17:38: rule example: expect: missing key at",
				`t.yaml:17:68: rule example: expect: unknown key "rule" (known: at, count, host)`,
			}},
		{"too many example lines", rule("{at: 0s, line: \"WARN chainfire_raft: Election timeout\"}", "{at: 0s, line: x, every: 1s, times: 10001}"), []string{
			"t.yaml:12:49: rule example: line: times: 10001 is out of range (want 1 to 10000)",
		}},
		{"missing key in a file with rules only", "case_sensitive: true\n", []string{"t.yaml:1:1: pattern file: missing key signatures (or rules, or services)"}},
	}
	checkParseCases(t, tests)
}

func TestParseRuleValues(t *testing.T) {
	src := `rules:
  - id: site.p99
    kind: quantile
    signature: chainfire.slow_request
    field: latency_ms
    quantile: 0.999
    above: 250.5
    window: 10m
    clear_after: 1m
    min_count: 20
    group_by: [host, op]
    severity: warning
    anchor: issue-high-write-latency
    summary: "{value} {op}"
    examples:
      - name: n
        lines:
          - {at: 0, line: a}
          - {at: 1m30s, line: b, every: 1s, times: 3, unit: pd, host: h}
        expect:
          - {at: 90s, count: 2, host: h}
  - id: site.gone
    kind: persist
    signature: flaredb.pd_heartbeat_failed
    for: 2m
    cleared_by: flaredb.pd_registered
    severity: error
    anchor: a
    summary: s
`
	f, err := Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	want := []*Rule{{
		ID: "site.p99", Pos: Pos{"v.yaml", 2, 5}, Kind: QuantileRule,
		Signature: "chainfire.slow_request", SignaturePos: Pos{"v.yaml", 4, 16},
		Summary: "{value} {op}", SummaryPos: Pos{"v.yaml", 14, 14}, Severity: record.Warning, Anchor: "issue-high-write-latency",
		GroupBy: []string{"op"}, GroupByPos: []Pos{{"v.yaml", 11, 22}},
		Window: 10 * time.Minute, WindowText: "10m", ClearAfter: time.Minute,
		Field: "latency_ms", FieldPos: Pos{"v.yaml", 5, 12}, Quantile: 0.999, Above: 250.5, Step: time.Minute, MinCount: 20,
		Examples: []RuleExample{{
			Pos: Pos{"v.yaml", 16, 9}, Name: "n",
			Lines: []RuleLine{
				{Pos: Pos{"v.yaml", 18, 27}, At: 0, Line: "a"},
				{Pos: Pos{"v.yaml", 19, 31}, At: 90 * time.Second, Line: "b", Unit: "placement-driver.service", Host: "h", Times: 3, Every: time.Second},
			},
			Expect: []RuleExpect{{Pos: Pos{"v.yaml", 21, 13}, At: 90 * time.Second, Count: 2, Host: "h"}},
		}},
	}, {
		ID: "site.gone", Pos: Pos{"v.yaml", 22, 5}, Kind: PersistRule,
		Signature: "flaredb.pd_heartbeat_failed", SignaturePos: Pos{"v.yaml", 24, 16},
		Summary: "s", SummaryPos: Pos{"v.yaml", 29, 14}, Severity: record.Error, Anchor: "a",
		Window: 2 * time.Minute, WindowText: "2m", ClearAfter: 2 * time.Minute, MaxGap: 2 * time.Minute,
		ClearedBy: []string{"flaredb.pd_registered"}, ClearedByPos: []Pos{{"v.yaml", 26, 17}},
	}}
	if diff := cmp.Diff(want, f.Rules); diff != "" {
		t.Errorf("parsed rules (-want +got):\n%s", diff)
	}
	if got := want[0].QuantileName(); got != "latency_ms_p99_9" {
		t.Errorf("QuantileName = %q", got)
	}
	if diff := cmp.Diff([]string{"flaredb.pd_heartbeat_failed", "flaredb.pd_registered"}, want[1].Signatures()); diff != "" {
		t.Errorf("Signatures (-want +got):\n%s", diff)
	}
}

// TestRuleLibraryErrors: what a rule says about signatures is checked
// against the merged library, with positions.
func TestRuleLibraryErrors(t *testing.T) {
	base, err := ParseFS(builtinFS(), BuiltinDir, BuiltinDir)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := Merge(base)
	if err != nil {
		t.Fatal(err)
	}
	noLeaderPos := builtin.Lookup("chainfire.no_leader").Pos.String()
	rule := func(id, kind, extra string) string {
		return "  - id: " + id + "\n    kind: " + kind + "\n    severity: info\n    anchor: a\n" + extra
	}
	tests := []struct {
		name   string
		layers []string
		want   []string
	}{
		{"valid", []string{"rules:\n" + rule("site.x", "count", "    signature: chainfire.slow_request\n    count: 2\n    window: 1m\n    summary: '{op} {count}'\n    group_by: [op]\n")}, nil},
		{"unknown signatures", []string{"rules:\n" + rule("site.x", "persist", "    signature: chainfire.nope\n    for: 1m\n    cleared_by: [flaredb.nope, chainfire.nope]\n    summary: s\n")}, []string{
			`l0.yaml:6:16: signature: unknown signature id "chainfire.nope"`,
			`l0.yaml:8:18: cleared_by: unknown signature id "flaredb.nope"`,
			`l0.yaml:8:32: cleared_by: unknown signature id "chainfire.nope"`,
		}},
		{"own signature clears", []string{"rules:\n" + rule("site.x", "persist", "    signature: chainfire.no_leader\n    for: 1m\n    cleared_by: [chainfire.no_leader]\n    summary: s\n")}, []string{
			"l0.yaml:8:18: cleared_by: chainfire.no_leader is the rule's own signature",
		}},
		{"fields", []string{"rules:\n" + rule("site.x", "quantile", "    signature: chainfire.slow_request\n    field: op\n    quantile: 0.5\n    above: 1\n    window: 1m\n    summary: '{value} {peer} {nope}'\n    group_by: [peer]\n") +
			rule("site.y", "quantile", "    signature: chainfire.slow_request\n    field: rows\n    quantile: 0.5\n    above: 1\n    window: 1m\n    summary: '{value}'\n") +
			rule("site.z", "count", "    signature: chainfire.peer_unreachable\n    count: 2\n    window: 1m\n    summary: '{value} {peer_host}'\n    group_by: [peer_host, peer_port]\n")}, []string{
			"l0.yaml:7:12: field: op of chainfire.slow_request is not numeric (want an integer or duration field)",
			"l0.yaml:12:16: group_by: peer is not a field of chainfire.slow_request",
			"l0.yaml:11:14: summary: {nope} is not {count}, {window}, {host}, {value} or a group_by field",
			"l0.yaml:18:12: field: rows is not a field of chainfire.slow_request",
			"l0.yaml:30:14: summary: {value} is not {count}, {window}, {host} or a group_by field",
		}},
		{"persist group_by needs the field in cleared_by", []string{"rules:\n" + rule("site.x", "persist", "    signature: chainfire.peer_unreachable\n    for: 1m\n    cleared_by: [chainfire.leader_elected]\n    summary: s\n    group_by: [addr]\n")}, []string{
			"l0.yaml:10:16: group_by: addr is not a field of chainfire.leader_elected (cleared_by)",
		}},
		{"rule id of a signature", []string{"rules:\n" + rule("chainfire.no_leader", "count", "    signature: chainfire.no_leader\n    count: 2\n    window: 1m\n    summary: s\n")}, []string{
			"l0.yaml:2:5: rule id chainfire.no_leader is also a signature (defined at " + noLeaderPos + "): derived events need their own id",
		}},
		{"a later layer replaces a rule; a layer holds an id once", []string{
			"rules:\n" + rule("chainfire.election_storm", "count", "    signature: chainfire.election_timeout\n    count: 10\n    window: 1m\n    summary: s\n"),
			"rules:\n" + rule("site.x", "count", "    signature: chainfire.election_timeout\n    count: 2\n    window: 1m\n    summary: s\n"),
			"rules:\n" + rule("site.x", "count", "    signature: chainfire.election_timeout\n    count: 2\n    window: 1m\n    summary: s\n"),
		}, []string{"l2.yaml:2:5: duplicate rule id site.x (first defined at l1.yaml:2:5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []*File
			for i, src := range tt.layers {
				f, err := Parse("l"+string(rune('0'+i))+".yaml", []byte(src))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				files = append(files, f)
			}
			// The last two layers of the replacement case form one directory.
			var layers [][]*File
			if len(files) == 3 {
				layers = [][]*File{files[:1], files[1:]}
			} else {
				layers = [][]*File{files}
			}
			lib, err := Merge(base, layers...)
			checkErrors(t, err, tt.want)
			if err == nil && len(tt.layers) > 1 {
				if got := lib.LookupRule("chainfire.election_storm").Count; got != 10 {
					t.Errorf("replaced rule count %d, want 10", got)
				}
			}
		})
	}
}

// specRule is a rule as signatures.md ("Rules over time") lists it.
type specRule struct {
	ID, Kind, Signature string
	Count               int
	Window              time.Duration
	Field               string
	Quantile, Above     float64
	ClearedBy           []string
	Severity            record.Severity
	Anchor              string
}

var specRules = []specRule{
	{ID: "unit.crash_loop", Kind: "count", Signature: "unit.process_exited", Count: 3, Window: 10 * time.Minute, Severity: record.Critical, Anchor: "quick-diagnostics"},
	{ID: "chainfire.election_storm", Kind: "count", Signature: "chainfire.election_timeout", Count: 3, Window: time.Minute, Severity: record.Error, Anchor: "issue-no-leader--leader-election-fails"},
	{ID: "chainfire.leader_flapping", Kind: "count", Signature: "chainfire.leader_elected", Count: 3, Window: 10 * time.Minute, Severity: record.Warning, Anchor: "issue-no-leader--leader-election-fails"},
	{ID: "chainfire.write_latency_p99", Kind: "quantile", Signature: "chainfire.slow_request", Window: 5 * time.Minute, Field: "latency_ms", Quantile: 0.99, Above: 500, Severity: record.Warning, Anchor: "issue-high-write-latency"},
	{ID: "flaredb.compaction_storm", Kind: "count", Signature: "flaredb.compaction_slow", Count: 5, Window: 10 * time.Minute, Severity: record.Error, Anchor: "issue-readwrite-timeout"},
	{ID: "flaredb.pd_unreachable", Kind: "persist", Signature: "flaredb.pd_heartbeat_failed", Window: 2 * time.Minute, ClearedBy: []string{"flaredb.pd_registered"}, Severity: record.Error, Anchor: "issue-store-not-registering-with-pd"},
}

func TestBuiltinRulesMatchSpec(t *testing.T) {
	lib := loadBuiltin(t)
	var got []specRule
	for _, r := range lib.Rules {
		got = append(got, specRule{ID: r.ID, Kind: r.Kind.String(), Signature: r.Signature, Count: r.Count, Window: r.Window,
			Field: r.Field, Quantile: r.Quantile, Above: r.Above, ClearedBy: r.ClearedBy, Severity: r.Severity, Anchor: r.Anchor})
		t.Run(r.ID, func(t *testing.T) {
			if len(r.GroupBy) != 0 {
				t.Errorf("%s: group_by %v, want the host only", r.Pos, r.GroupBy)
			}
			quiet, fires := 0, 0
			for _, ex := range r.Examples {
				if len(ex.Expect) == 0 {
					quiet++
				} else {
					fires++
				}
			}
			if quiet == 0 || fires == 0 {
				t.Errorf("%s: %d examples that fire and %d that stay quiet, want at least one of each", r.Pos, fires, quiet)
			}
		})
	}
	if diff := cmp.Diff(specRules, got); diff != "" {
		t.Errorf("built-in rules differ from signatures.md (-want +got):\n%s", diff)
	}
}
