package patterns

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// parseCase is a file (src) Parse finds the errors want in.
type parseCase struct {
	name, src string
	want      []string
}

// checkParseCases checks each case as a subtest; Parse returns a File
// whatever it finds.
func checkParseCases(t *testing.T, tests []parseCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.yaml", []byte(tt.src))
			if f == nil {
				t.Fatal("Parse returned a nil File")
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// checkErrors checks that err's messages are want's.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, errorStrings(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// errorStrings returns err's errors as "file:line:col: msg", one per entry.
func errorStrings(tb testing.TB, err error) []string {
	tb.Helper()
	if err == nil {
		return nil
	}
	var l *ErrorList
	if !errors.As(err, &l) {
		tb.Fatalf("error %v (%T) is not an *ErrorList", err, err)
	}
	out := make([]string, len(*l))
	for i, e := range *l {
		out[i] = e.Error()
	}
	if got := strings.Join(out, "\n"); got != err.Error() {
		tb.Errorf("Error() = %q, want one error per line %q", err.Error(), got)
	}
	return out
}

// valid is a correct signature; cases below change one part of it.
const valid = `
  - id: site.thing
    units: [chainfire]
    summary: "Thing took {duration_ms} ms"
    severity: warning
    anchor: log-analysis
    match: 'thing took (?P<duration_ms>\d+ms)'
    fields: {duration_ms: duration}
    examples:
      - {line: "WARN chainfire_x: Thing took 5ms", fields: {duration_ms: 5}}
`

func TestParseErrors(t *testing.T) {
	tests := []parseCase{
		{"valid", "signatures:" + valid, nil},
		{"no signatures at all", "signatures: []\n", nil},
		{"garbage", "\x00\x01\x02 binary", []string{
			"t.yaml:1:1: invalid YAML: control characters are not allowed",
		}},
		{"syntax error", "signatures:\n  - id: [x\n", []string{
			"t.yaml:1:1: invalid YAML: did not find expected ',' or ']'",
		}},
		{"tab indentation", "signatures:\n\t- id: x\n", []string{
			"t.yaml:2:1: invalid YAML: found character that cannot start any token",
		}},
		{"empty file", "", []string{
			"t.yaml:1:1: empty file: want a mapping with the key signatures, rules or services",
		}},
		{"comments only", "# nothing here\n", []string{
			"t.yaml:1:1: empty file: want a mapping with the key signatures, rules or services",
		}},
		{"two documents", "signatures: []\n---\nsignatures: []\n", []string{
			"t.yaml:2:1: a pattern file holds one YAML document; remove the second one",
		}},
		{"root is a list", "- id: x\n", []string{
			"t.yaml:1:1: pattern file: want a mapping, got a list",
		}},
		{"unknown file key", "alerts: []\nsignatures: []\n", []string{
			"t.yaml:1:1: pattern file: unknown key \"alerts\" (known: case_sensitive, rules, services, signatures)",
		}},
		{"missing signatures", "case_sensitive: true\n", []string{
			"t.yaml:1:1: pattern file: missing key signatures (or rules, or services)",
		}},
		{"signatures not a list", "signatures: {id: x}\n", []string{
			"t.yaml:1:13: signatures: want a list, got a mapping",
		}},
		{"file case_sensitive not a bool", "case_sensitive: yes\nsignatures: []\n", []string{
			"t.yaml:1:17: case_sensitive: want true or false, got \"yes\"",
		}},
		{"signature not a mapping", "signatures:\n  - chainfire.thing\n", []string{
			"t.yaml:2:5: signature: want a mapping, got \"chainfire.thing\"",
		}},
		{"unknown signature key", "signatures:" + valid + "    rules: []\n", []string{
			"t.yaml:11:5: signature: unknown key \"rules\" (known: anchor, any, before, case_sensitive, examples, fallback, fields, fire_when, group_by, id, journal, level_severity, levels, match, near_misses, raise, severity, summary, units)",
		}},
		{"repeated key", "signatures:" + valid + "    severity: error\n", []string{
			"t.yaml:11:5: signature: key severity repeated (first at line 5)",
		}},
		{"missing required keys", "signatures:\n  - id: site.thing\n    fields: {}\n", []string{
			"t.yaml:2:5: signature: missing key units",
			"t.yaml:2:5: signature: missing key summary",
			"t.yaml:2:5: signature: missing key severity",
			"t.yaml:2:5: signature: missing key anchor",
			"t.yaml:2:5: signature: missing key match (or journal, or any)",
		}},
		{"missing id", "signatures:\n  - units: all\n    summary: s\n    severity: info\n    anchor: a\n    match: x\n", []string{
			"t.yaml:2:5: signature: missing key id",
		}},
		{"invalid id", "signatures:\n  - id: Thing\n    units: all\n    summary: s\n    severity: info\n    anchor: a\n    match: x\n", []string{
			"t.yaml:2:9: id: invalid id \"Thing\" (want lowercase dotted words such as chainfire.rocksdb_stall)",
		}},
		{"duplicate id in a file", "signatures:" + valid + valid, []string{
			"t.yaml:12:5: duplicate id site.thing (first defined at t.yaml:2:5)",
		}},
		{"bad units", "signatures:" + strings.Replace(valid, "[chainfire]", "[chainfire, chainfire.service, etcd, all]", 1), []string{
			"t.yaml:3:24: units: chainfire.service listed twice",
			"t.yaml:3:43: units: unknown unit \"etcd\" (want chainfire, flaredb, placement-driver (or pd), their .service names, or all)",
			"t.yaml:3:49: units: all cannot be combined with other units",
		}},
		{"empty units", "signatures:" + strings.Replace(valid, "[chainfire]", "[]", 1), []string{
			"t.yaml:3:12: units: want at least one unit",
		}},
		{"bad severity", "signatures:" + strings.Replace(valid, "severity: warning", "severity: urgent", 1), []string{
			"t.yaml:5:15: severity: unknown severity \"urgent\" (want info, warning, error or critical)",
		}},
		{"bad anchor", "signatures:" + strings.Replace(valid, "anchor: log-analysis", "anchor: '#Log Analysis'", 1), []string{
			"t.yaml:6:13: anchor: invalid anchor \"#Log Analysis\" (want a heading slug such as issue-high-write-latency)",
		}},
		{"bad regex", "signatures:" + strings.Replace(valid, `(?P<duration_ms>\d+ms)`, `(?P<duration_ms>\d+ms`, 1), []string{
			"t.yaml:7:12: match: invalid regex: missing closing ): (?i)thing took (?P<duration_ms>\\d+ms",
		}},
		{"capture without a type", "signatures:" + strings.Replace(valid, `ms)'`, `ms) (?P<unit>\w+)'`, 1), []string{
			"t.yaml:7:12: match: capture unit has no type: add it to fields",
		}},
		{"typed field without a capture", "signatures:" + strings.Replace(valid, "{duration_ms: duration}", "{duration_ms: duration, peer: string}", 1), []string{
			"t.yaml:8:37: fields: peer has no capture (?P<peer>...) in match",
		}},
		{"capture named like a field from the target", "signatures:" + strings.Replace(valid, "{duration_ms: duration}", "{duration_ms: {from: target}}", 1), []string{
			"t.yaml:7:12: match: capture duration_ms clashes with field duration_ms, which does not come from a capture",
		}},
		{"too many fields", "signatures:" + strings.Replace(valid, "{duration_ms: duration}", "{duration_ms: duration, "+manyFields(32)+"}", 1), []string{
			"t.yaml:8:13: fields: 33 fields, at most 32",
		}},
		{"unknown field type", "signatures:" + strings.Replace(valid, "{duration_ms: duration}", "{duration_ms: timestamp}", 1), []string{
			"t.yaml:8:27: fields: duration_ms: unknown field type \"timestamp\" (want duration, integer, string or hostport)",
		}},
		{"field mappings", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields:
      duration_ms: {from: capture}
      a: {type: string, host: h}
      b: {from: somewhere}
      c: {from: template, type: integer}
      d: {type: hostport, host: x, port: x}
      e: {type: hostport, port: e}
      F: string
      g: {type: string, color: red}
      h: [string]`, 1), []string{
			"t.yaml:9:20: fields: duration_ms: missing key type",
			"t.yaml:10:25: fields: a: host is only for type hostport",
			"t.yaml:11:17: fields: b: from: unknown source \"somewhere\" (want capture, target or template)",
			"t.yaml:12:33: fields: c: a field from the template is a string",
			"t.yaml:13:42: fields: d: host and port must have different names",
			"t.yaml:14:33: fields: e: port: must differ from the field's own name",
			"t.yaml:15:7: fields: invalid field name \"F\" (want lowercase letters, digits and _)",
			"t.yaml:16:25: fields: g: unknown key \"color\" (known: field, from, host, journal, port, type)",
			"t.yaml:17:10: fields: h: want a mapping, got a list",
		}},
		{"field defined twice via hostport", "signatures:" + strings.Replace(strings.Replace(valid, "{duration_ms: duration}", "{duration_ms: duration, addr: {type: hostport, host: duration_ms}}", 1), "ms)'", "ms) (?P<addr>\\S+)'", 1), []string{
			"t.yaml:8:43: fields: field duration_ms defined twice",
		}},
		{"bad conditions", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields: {duration_ms: duration, peer: string}
    fire_when: ["duration_ms >> 3", "latency_ms >= 100", "peer >= 1", "duration_ms >= NaN", "duration_ms >= 1e999", 100]`, 1), []string{
			"t.yaml:8:37: fields: peer has no capture (?P<peer>...) in match",
			"t.yaml:9:17: fire_when: condition \"duration_ms >> 3\": want FIELD OP NUMBER, OP one of >= > <= < == !=",
			"t.yaml:9:37: fire_when: condition \"latency_ms >= 100\": latency_ms is not a field of this signature",
			"t.yaml:9:58: fire_when: condition \"peer >= 1\": field peer is not numeric (want an integer or duration field)",
			"t.yaml:9:71: fire_when: condition \"duration_ms >= NaN\": \"NaN\" is not a number",
			"t.yaml:9:93: fire_when: condition \"duration_ms >= 1e999\": \"1e999\" is not a number",
			"t.yaml:9:117: fire_when: condition \"100\": want FIELD OP NUMBER, OP one of >= > <= < == !=",
		}},
		{"bad raise", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields: {duration_ms: duration}
    raise:
      - {when: "duration_ms >= 10", severity: warning}
      - {when: "duration_ms >= 10"}
      - {when: "duration_ms >= 10", severity: error, to: critical}
      - "duration_ms >= 10"`, 1), []string{
			"t.yaml:10:47: raise: severity warning does not exceed the base severity warning",
			"t.yaml:11:9: raise: missing key severity",
			"t.yaml:12:54: raise: unknown key \"to\" (known: severity, when)",
			"t.yaml:13:9: raise: want a mapping, got \"duration_ms >= 10\"",
		}},
		{"levels", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields: {duration_ms: duration}
    levels: [warn, loud, warning]
    level_severity: {error: info, warn: urgent, debug: info, warn: error}`, 1), []string{
			"t.yaml:9:20: levels: unknown level \"loud\" (want trace, debug, info, warn or error)",
			"t.yaml:9:26: levels: warning listed twice",
			"t.yaml:10:22: level_severity: level error is not in levels",
			"t.yaml:10:41: level_severity: warn: unknown severity \"urgent\" (want info, warning, error or critical)",
			"t.yaml:10:49: level_severity: level debug is not in levels",
			"t.yaml:10:62: level_severity: level warn repeated",
		}},
		{"fallback with match", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields: {duration_ms: duration}
    fallback: true
    levels: [error]`, 1), []string{
			"t.yaml:7:5: match: a fallback signature has no match",
		}},
		{"fallback with a capture field", "signatures:\n  - id: site.rest\n    units: all\n    summary: \"{t}\"\n    severity: info\n    anchor: log-analysis\n    fallback: true\n    levels: [warn]\n    fields: {t: string}\n", []string{
			"t.yaml:9:14: fields: t needs a capture, but a fallback signature has no match (use from: target or from: template)",
		}},
		{"fallback without levels", "signatures:\n  - id: site.rest\n    units: all\n    summary: \"{t}\"\n    severity: info\n    anchor: log-analysis\n    fallback: true\n    fields: {t: {from: template}}\n", []string{
			"t.yaml:7:15: fallback: a fallback signature needs levels (it would match every line)",
		}},
		{"fallback not a bool", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", "fields: {duration_ms: duration}\n    fallback: 1", 1), []string{
			"t.yaml:9:15: fallback: want true or false, got \"1\"",
		}},
		{"summary", "signatures:" + strings.Replace(valid, "Thing took {duration_ms} ms", "Thing {took} {duration_ms ms}", 1), []string{
			"t.yaml:4:14: summary: {took} is not a field of this signature",
			"t.yaml:4:14: summary: {duration_ms ms} is not a field of this signature",
		}},
		{"summary braces", "signatures:" + strings.Replace(valid, "Thing took {duration_ms} ms", "Thing} took {duration_ms", 1), []string{
			"t.yaml:4:14: summary: unmatched } in \"Thing} took {duration_ms\"",
		}},
		{"summary sections", "signatures:" + strings.Replace(valid, "Thing took {duration_ms} ms", "Thing[ took [{duration_ms}] ms", 1), []string{
			"t.yaml:4:14: summary: nested [ in \"Thing[ took [{duration_ms}] ms\"",
		}},
		{"summary section unclosed", "signatures:" + strings.Replace(valid, "Thing took {duration_ms} ms", "Thing[ took {duration_ms} ms", 1), []string{
			"t.yaml:4:14: summary: unmatched [ in \"Thing[ took {duration_ms} ms\"",
		}},
		{"summary section unopened", "signatures:" + strings.Replace(valid, "Thing took {duration_ms} ms", "Thing took] {duration_ms} ms", 1), []string{
			"t.yaml:4:14: summary: unmatched ] in \"Thing took] {duration_ms} ms\"",
		}},
		{"group_by and before", "signatures:" + strings.Replace(valid, "fields: {duration_ms: duration}", `fields: {duration_ms: duration}
    group_by: [duration_ms, duration_ms, peer]
    before: site.thing`, 1), []string{
			"t.yaml:9:29: group_by: duration_ms listed twice",
			"t.yaml:9:42: group_by: peer is not a field of this signature",
			"t.yaml:10:13: before: a signature cannot be placed before itself",
		}},
		{"examples", "signatures:" + valid + `      - line: "Thing took 5ms"
        unit: flaredb
        severity: critical
        fields: {duration_ms: fast, peer: x}
      - {line: "Thing took 5ms", fields: {duration_ms: "5"}}
      - {fields: {duration_ms: 5}}
      - "Thing took 5ms"
      - {line: "", unit: nowhere, severity: fatal}
      - {line: "Thing took 5ms", fields: [5]}
`, []string{
			"t.yaml:12:15: example: unit: the signature does not apply to flaredb.service",
			"t.yaml:13:19: example: severity critical: the signature never emits it",
			"t.yaml:14:31: example: fields: duration_ms: want a number of milliseconds, got \"fast\"",
			"t.yaml:14:37: example: fields: peer is not a field of this signature",
			"t.yaml:15:56: example: fields: duration_ms: want a number of milliseconds, got \"5\"",
			"t.yaml:16:9: example: missing key line (or entry)",
			"t.yaml:17:9: example: want a mapping, got \"Thing took 5ms\"",
			"t.yaml:18:16: example: line: must not be empty",
			"t.yaml:18:26: example: unit: unknown unit \"nowhere\" (want chainfire, flaredb, placement-driver (or pd), their .service names, or all)",
			"t.yaml:18:45: example: severity: unknown severity \"fatal\" (want info, warning, error or critical)",
			"t.yaml:19:42: example: fields: want a mapping of field name to value, got a list",
		}},
		{"near misses", "signatures:" + valid + `    near_misses:
      - "Thing done"
      - {line: "Thing done", unit: flaredb}
      - {unit: chainfire}
      - {line: "x", color: red}
      - [x]
`, []string{
			"t.yaml:14:9: near miss: missing key line (or entry)",
			"t.yaml:15:21: near miss: unknown key \"color\" (known: entry, line, unit)",
			"t.yaml:16:9: near miss: want a mapping, got a list",
		}},
		{"null values", "signatures:\n  - id: site.thing\n    units:\n    summary: ~\n    severity:\n    anchor: a\n    match: x\n", []string{
			"t.yaml:3:11: units: want a list, got nothing",
			"t.yaml:4:14: summary: want a string, got nothing",
			"t.yaml:5:14: severity: want a string, got nothing",
		}},
		{"aliases resolve", "signatures:\n  - id: site.a\n    units: &u [chainfire]\n    summary: s\n    severity: info\n    anchor: a\n    match: x\n  - id: site.b\n    units: *u\n    summary: s\n    severity: info\n    anchor: a\n    match: y\n", nil},
	}
	checkParseCases(t, tests)
}

func TestParseValues(t *testing.T) {
	src := `case_sensitive: True
signatures:
  - id: site.peer_slow
    units: [chainfire, pd]
    summary: "Peer {addr} slow: {latency_ms} ms"
    severity: info
    anchor: issue-high-write-latency
    match: 'Peer (?P<addr>\S+) slow, latency=(?P<latency_ms>[0-9.]+[a-z]*), term=(?P<term>\d+)'
    fields:
      addr: {type: hostport, host: peer_host, port: peer_port}
      latency_ms: duration
      term: integer
      target: {from: target}
    fire_when: ["peer_port != 0"]
    raise: [{when: "latency_ms > 1.5", severity: critical}]
    levels: [warn, error]
    level_severity: {error: warning}
    group_by: [addr]
    before: chainfire.connection_error
    examples:
      - line: "WARN chainfire_x: Peer node2:2380 slow, latency=2.5ms, term=7"
        unit: chainfire.service
        severity: critical
        fields: {addr: node2:2380, peer_host: 7, peer_port: 2380, latency_ms: 2.5, term: 7, target: chainfire_x}
      - line: "WARN chainfire_x: Peer node2:2380 slow, latency=2ms, term=7"
        fields: {latency_ms: 2.0}
    near_misses:
      - "peer node2:2380 slow"
      - {line: "Peer x slow", unit: flaredb}
  - id: site.rest
    units: all
    summary: "{template}"
    severity: info
    anchor: log-analysis
    fallback: true
    case_sensitive: false
    levels: [error]
    fields: {template: {from: template}}
`
	f, err := Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	type view struct {
		ID, Match, Summary, Anchor, Before string
		Units                              []string
		CaseSensitive, Fallback            bool
		Severity                           record.Severity
		Fields                             []Field
		FireWhen                           []Condition
		Raise                              []Raise
		Levels                             []record.Level
		LevelSeverity                      map[record.Level]record.Severity
		GroupBy                            []string
		Pos, BeforePos                     Pos
		Examples                           []Example
		NearMisses                         []NearMiss
	}
	var got []view
	for _, s := range f.Signatures {
		v := view{ID: s.ID, Summary: s.Summary, Anchor: s.Anchor, Before: s.Before, Units: s.Units,
			CaseSensitive: s.CaseSensitive, Fallback: s.IsFallback(), Severity: s.Severity, Fields: s.Fields,
			FireWhen: s.FireWhen, Raise: s.Raise, Levels: s.Levels, LevelSeverity: s.LevelSeverity,
			GroupBy: s.GroupBy, Pos: s.Pos, BeforePos: s.BeforePos, Examples: s.Examples, NearMisses: s.NearMisses}
		if s.Match != nil {
			v.Match = s.Match.String()
		}
		got = append(got, v)
	}
	want := []view{{
		ID:            "site.peer_slow",
		Match:         `Peer (?P<addr>\S+) slow, latency=(?P<latency_ms>[0-9.]+[a-z]*), term=(?P<term>\d+)`,
		Summary:       "Peer {addr} slow: {latency_ms} ms",
		Anchor:        "issue-high-write-latency",
		Before:        "chainfire.connection_error",
		Units:         []string{"chainfire.service", "placement-driver.service"},
		CaseSensitive: true,
		Severity:      record.Info,
		Fields: []Field{
			{Name: "addr", Type: HostPort, Source: FromCapture, HostName: "peer_host", PortName: "peer_port"},
			{Name: "latency_ms", Type: Duration, Source: FromCapture},
			{Name: "term", Type: Integer, Source: FromCapture},
			{Name: "target", Type: String, Source: FromTarget},
		},
		FireWhen:      []Condition{{Field: "peer_port", Op: NE, Value: 0, Text: "peer_port != 0"}},
		Raise:         []Raise{{When: Condition{Field: "latency_ms", Op: GT, Value: 1.5, Text: "latency_ms > 1.5"}, Severity: record.Critical}},
		Levels:        []record.Level{record.LevelWarn, record.LevelError},
		LevelSeverity: map[record.Level]record.Severity{record.LevelError: record.Warning},
		GroupBy:       []string{"addr"},
		Pos:           Pos{"v.yaml", 3, 5},
		BeforePos:     Pos{"v.yaml", 19, 13},
		Examples: []Example{
			{Pos: Pos{"v.yaml", 21, 15}, Line: "WARN chainfire_x: Peer node2:2380 slow, latency=2.5ms, term=7", Unit: "chainfire.service", Severity: record.Critical,
				Fields: map[string]any{"addr": "node2:2380", "peer_host": "7", "peer_port": int64(2380), "latency_ms": 2.5, "term": int64(7), "target": "chainfire_x"}},
			{Pos: Pos{"v.yaml", 25, 15}, Line: "WARN chainfire_x: Peer node2:2380 slow, latency=2ms, term=7",
				Fields: map[string]any{"latency_ms": int64(2)}},
		},
		NearMisses: []NearMiss{
			{Pos: Pos{"v.yaml", 28, 9}, Line: "peer node2:2380 slow"},
			{Pos: Pos{"v.yaml", 29, 16}, Line: "Peer x slow", Unit: "flaredb.service"},
		},
	}, {
		ID:       "site.rest",
		Summary:  "{template}",
		Anchor:   "log-analysis",
		Units:    BuiltinServices().Units(),
		Fallback: true,
		Severity: record.Info,
		Fields:   []Field{{Name: "template", Type: String, Source: FromTemplate}},
		Levels:   []record.Level{record.LevelError},
		Pos:      Pos{"v.yaml", 30, 5},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed signatures (-want +got):\n%s", diff)
	}
	if re := f.Signatures[0].Match; re.MatchString("peer node2:2380 slow, latency=1ms, term=1") {
		t.Error("case_sensitive: True did not make the regex case-sensitive")
	}
}

// manyFields is n string fields f0 ... (from journal fields F0 ...) as a
// YAML flow mapping's content.
func manyFields(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("f%d: {type: string, journal: F%d}", i, i))
	}
	return strings.Join(parts, ", ")
}
