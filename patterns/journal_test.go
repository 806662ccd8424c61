package patterns

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/centra-cloud/cflogd/record"
)

// TestParseJournal: signatures that match on journal fields and take fields
// from structured and journal fields, with examples in every shape.
func TestParseJournal(t *testing.T) {
	src := `signatures:
  - id: unit.restart_scheduled
    units: all
    summary: "Restart scheduled ({restarts})"
    severity: warning
    anchor: quick-diagnostics
    journal: {MESSAGE_ID: 5eb03494b6584870a536b337290809b3}
    fields:
      restarts: {type: integer, journal: N_RESTARTS}
    examples:
      - entry: {MESSAGE: "chainfire.service: Scheduled restart job, restart counter is at 5.", MESSAGE_ID: 5eb03494b6584870a536b337290809b3, N_RESTARTS: 5}
        fields: {restarts: 5}
  - id: unit.oom_killed
    units: all
    summary: OOM kill
    severity: critical
    anchor: quick-diagnostics
    any:
      - journal: {MESSAGE_ID: fe6faa94e7774663a0da52717891d8ef}
      - journal: {UNIT_RESULT: [oom-kill]}
      - journal: {_TRANSPORT: kernel}
        match: 'out of memory: killed process (?P<pid>\d+)'
    fields: {pid: integer}
    examples:
      - {line: "Out of memory: Killed process 1234 (chainfire)", fields: {pid: 1234}}
  - id: site.stall
    units: [chainfire]
    summary: "stall {duration_ms}"
    severity: warning
    anchor: log-analysis
    match: 'rocksdb stall detected(?:, duration=(?P<duration_ms>\S+))?'
    fields:
      duration_ms: {type: duration, field: duration}
    examples:
      - {line: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms", fields: {duration_ms: 2000}}
      - {line: '{"level":"WARN","fields":{"message":"RocksDB stall detected","duration":"1s"},"target":"chainfire_storage"}', fields: {duration_ms: 1000}}
      - entry: {MESSAGE: "RocksDB stall detected", F_DURATION: 1s, PRIORITY: 4}
        fields: {duration_ms: 1000}
    near_misses:
      - entry: {MESSAGE: "RocksDB compaction done", PRIORITY: 6}
`
	f, err := Parse("j.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	restart, oom, stall := f.Signatures[0], f.Signatures[1], f.Signatures[2]
	if diff := cmp.Diff([]JournalMatch{{Field: "MESSAGE_ID", Values: []string{"5eb03494b6584870a536b337290809b3"}}}, restart.Journal); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Field{{Name: "restarts", Type: Integer, JournalField: "N_RESTARTS"}}, restart.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]record.Field{
		{Name: "MESSAGE", Value: "chainfire.service: Scheduled restart job, restart counter is at 5."},
		{Name: "MESSAGE_ID", Value: "5eb03494b6584870a536b337290809b3"}, {Name: "N_RESTARTS", Value: "5"},
	}, restart.Examples[0].Entry); diff != "" {
		t.Errorf("example entry (-want +got):\n%s", diff)
	}
	if restart.Match != nil || restart.IsFallback() {
		t.Errorf("restart: Match %v, fallback %v; want neither", restart.Match, restart.IsFallback())
	}
	wantAny := []Alternative{
		{Pos: Pos{"j.yaml", 19, 9}, Journal: []JournalMatch{{Field: "MESSAGE_ID", Values: []string{"fe6faa94e7774663a0da52717891d8ef"}}}},
		{Pos: Pos{"j.yaml", 20, 9}, Journal: []JournalMatch{{Field: "UNIT_RESULT", Values: []string{"oom-kill"}}}},
		{Pos: Pos{"j.yaml", 21, 9}, Journal: []JournalMatch{{Field: "_TRANSPORT", Values: []string{"kernel"}}}, MatchText: `out of memory: killed process (?P<pid>\d+)`},
	}
	if diff := cmp.Diff(wantAny, oom.Any, cmpopts.IgnoreFields(Alternative{}, "Match")); diff != "" {
		t.Errorf("any (-want +got):\n%s", diff)
	}
	if oom.Any[2].Match == nil || !oom.Any[2].Match.MatchString("Out of memory: Killed process 1") {
		t.Error("any[2]: regex not compiled case-insensitively")
	}
	if diff := cmp.Diff([]Field{{Name: "duration_ms", Type: Duration, EventField: "duration"}}, stall.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]record.Field{{Name: "MESSAGE", Value: "RocksDB compaction done"}, {Name: "PRIORITY", Value: "6"}}, stall.NearMisses[0].Entry); diff != "" {
		t.Errorf("near miss entry (-want +got):\n%s", diff)
	}
	lib, err := Merge([]*File{f})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"MESSAGE_ID", "N_RESTARTS", "UNIT_RESULT", "_TRANSPORT"}, lib.JournalFields()); diff != "" {
		t.Errorf("JournalFields (-want +got):\n%s", diff)
	}
}

func TestParseJournalErrors(t *testing.T) {
	head := "signatures:\n  - id: site.x\n    units: all\n    summary: s\n    severity: info\n    anchor: a\n"
	tests := []parseCase{
		{"journal", head + "    journal: {message_id: x, MESSAGE_ID: [], UNIT: {a: b}, N: ~}\n", []string{
			`t.yaml:7:15: journal: invalid journal field name "message_id" (want upper case such as MESSAGE_ID)`,
			`t.yaml:7:52: journal: UNIT: want a string, got a mapping`,
			`t.yaml:7:63: journal: N: want a string, got nothing`,
		}},
		{"journal not a mapping", head + "    journal: [MESSAGE_ID]\n", []string{
			"t.yaml:7:14: journal: want a mapping of journal field to value, got a list",
		}},
		{"any with match", head + "    match: x\n    any: [{match: y}, {}, {journal: {A: b}, color: red}]\n", []string{
			"t.yaml:8:5: any: a signature has match and journal, or any, not both",
			"t.yaml:8:23: any: an alternative needs match, journal or both",
			`t.yaml:8:45: any: unknown key "color" (known: journal, match)`,
		}},
		{"any capture without a type", head + "    any: [{match: '(?P<pid>\\d+)'}]\n", []string{
			"t.yaml:7:19: match: capture pid has no type: add it to fields",
		}},
		{"field sources", head + "    journal: {MESSAGE_ID: x}\n    fields:\n      a: {type: integer, journal: n_restarts}\n      b: {type: string, field: 'a b'}\n      c: {from: target, field: x}\n      d: integer\n", []string{
			`t.yaml:9:35: fields: a: journal: invalid journal field name "n_restarts" (want upper case such as N_RESTARTS)`,
			`t.yaml:10:32: fields: b: field: invalid field name "a b"`,
			"t.yaml:11:25: fields: c: a field from the target has no field or journal source",
			"t.yaml:12:7: fields: d needs a capture, but the signature has no match (give field: or journal:)",
		}},
		{"fallback with journal", head + "    fallback: true\n    levels: [warn]\n    journal: {A: b}\n", []string{
			"t.yaml:9:5: journal: a fallback signature has no journal",
		}},
		{"example entries", head + "    match: x\n    examples:\n      - {entry: {PRIORITY: 9, F_X: y}}\n      - {line: x, entry: {MESSAGE: x}}\n      - {unit: chainfire}\n      - {entry: [MESSAGE]}\n", []string{
			"t.yaml:9:17: example: entry: missing MESSAGE",
			`t.yaml:9:28: example: entry: PRIORITY: want 0 to 7, got "9"`,
			"t.yaml:10:26: example: give line or entry, not both",
			"t.yaml:11:9: example: missing key line (or entry)",
			"t.yaml:12:17: example: entry: want a mapping of journal field to value, got a list",
		}},
	}
	checkParseCases(t, tests)
}
