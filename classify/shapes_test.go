package classify

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// lineShape is one rendering of a log line.
type lineShape struct {
	name string
	e    record.Entry
}

// renderShapes renders a line (in any shape Normalize understands, usually
// the runbook form "WARN target: body") into the six shapes of
// signatures.md:
//
//  1. runbook form: "WARN target: body"
//  2. tracing-subscriber: RFC 3339 timestamp, level right-aligned to 5
//  3. the same with ANSI colours (level, dimmed timestamp and target)
//  4. span context before the target
//  5. tracing-journald: MESSAGE=body, PRIORITY from the level, TARGET
//  6. the letters of the matched phrase in swapped case (not the captured
//     field values), when sig is case-insensitive and has a regex
//
// A line without a level has no tracing shapes (2-4). unit is the entry's
// unit in every shape.
func renderShapes(line, unit string, sig *patterns.Signature) []lineShape {
	l := Normalize(&record.Entry{Message: line, Priority: record.NoPriority}, patterns.BuiltinServices())
	lvl := levelName(l.Level)
	prefix := func(level string) string {
		if l.Target == "" {
			return level + " "
		}
		return level + " " + l.Target + ": "
	}
	mk := func(name, msg string) lineShape {
		return lineShape{name, record.Entry{Message: msg, Unit: unit, Priority: record.NoPriority, Host: "node01"}}
	}
	var out []lineShape
	if !l.LevelFromText {
		out = append(out, mk("runbook", l.Body))
	} else {
		const ts = "2026-11-26T10:00:00.123456Z"
		colour := map[record.Level]string{record.LevelError: "31", record.LevelWarn: "33", record.LevelInfo: "32", record.LevelDebug: "34", record.LevelTrace: "35"}[l.Level]
		ansi := "\x1b[2m" + ts + "\x1b[0m \x1b[" + colour + "m" + fmt.Sprintf("%5s", lvl) + "\x1b[0m "
		if l.Target != "" {
			ansi += "\x1b[2m" + l.Target + "\x1b[0m\x1b[2m:\x1b[0m "
		}
		out = append(out,
			mk("runbook", prefix(lvl)+l.Body),
			mk("tracing", ts+" "+fmt.Sprintf("%5s", lvl)+" "+strings.TrimPrefix(prefix(""), " ")+l.Body),
			mk("ansi", ansi+l.Body),
			mk("span", lvl+" raft{node_id=1 term=7}:append{idx=3}: "+strings.TrimPrefix(prefix(""), " ")+l.Body),
		)
	}
	j := mk("journald", l.Body)
	j.e.Priority = priorityFromLevel(l.Level)
	j.e.Target = l.Target
	out = append(out, j)
	if sig != nil && sig.Match != nil && !sig.CaseSensitive {
		if loc := sig.Match.FindStringSubmatchIndex(l.Body); loc != nil {
			b := []rune{}
			for i, r := range l.Body {
				inMatch := i >= loc[0] && i < loc[1]
				for g := 2; g+1 < len(loc); g += 2 {
					if loc[g] >= 0 && i >= loc[g] && i < loc[g+1] {
						inMatch = false
					}
				}
				if inMatch && r < unicode.MaxASCII {
					if unicode.IsUpper(r) {
						r = unicode.ToLower(r)
					} else {
						r = unicode.ToUpper(r)
					}
				}
				b = append(b, r)
			}
			s := mk("case", prefix(lvl)+string(b))
			if !l.LevelFromText {
				s = mk("case", string(b))
			}
			out = append(out, s)
		}
	}
	return out
}

func TestRenderShapes(t *testing.T) {
	lib := handLibrary(t)
	var stall *patterns.Signature
	for _, s := range lib.Signatures {
		if s.ID == "chainfire.rocksdb_stall" {
			stall = s
		}
	}
	got := renderShapes("WARN chainfire_storage: RocksDB stall detected, duration=2000ms", "chainfire.service", stall)
	var msgs []string
	for _, s := range got {
		msgs = append(msgs, fmt.Sprintf("%s: %q prio=%d target=%q", s.name, s.e.Message, s.e.Priority, s.e.Target))
	}
	want := []string{
		`runbook: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms" prio=-1 target=""`,
		`tracing: "2026-11-26T10:00:00.123456Z  WARN chainfire_storage: RocksDB stall detected, duration=2000ms" prio=-1 target=""`,
		`ansi: "\x1b[2m2026-11-26T10:00:00.123456Z\x1b[0m \x1b[33m WARN\x1b[0m \x1b[2mchainfire_storage\x1b[0m\x1b[2m:\x1b[0m RocksDB stall detected, duration=2000ms" prio=-1 target=""`,
		`span: "WARN raft{node_id=1 term=7}:append{idx=3}: chainfire_storage: RocksDB stall detected, duration=2000ms" prio=-1 target=""`,
		`journald: "RocksDB stall detected, duration=2000ms" prio=4 target="chainfire_storage"`,
		`case: "WARN chainfire_storage: RocksDB STALL DETECTED, DURATION=2000ms" prio=-1 target=""`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("renderShapes (-want +got):\n%s", diff)
	}
}

// TestShapesBuiltin: every example of the shipped library gives the same
// signature, fields and severity in all six shapes.
func TestShapesBuiltin(t *testing.T) {
	testShapes(t, builtin(t))
}

func TestShapesHand(t *testing.T) {
	lib := handLibrary(t)
	for _, line := range sampleLines {
		// Every sample line serves as an example of whatever it gives.
		for _, s := range lib.Signatures {
			if strings.Contains(line, "\xff") || s.Match == nil || !s.Match.MatchString(Normalize(&record.Entry{Message: line}, patterns.BuiltinServices()).Body) {
				continue
			}
			s.Examples = append(s.Examples, patterns.Example{Line: line})
		}
	}
	testShapes(t, lib)
}

func testShapes(t *testing.T, lib *patterns.Library) {
	c := New(lib, Options{})
	n := 0
	for _, s := range lib.Signatures {
		for _, ex := range s.Examples {
			unit := ex.Unit
			if unit == "" {
				unit = s.Units[0]
			}
			shapes := renderShapes(ex.Line, unit, s)
			want := verdictOf(c.Classify(&shapes[0].e))
			for _, sh := range shapes[1:] {
				n++
				got := verdictOf(c.Classify(&sh.e))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: %s example %q in shape %s %q (-runbook +shape):\n%s", ex.Pos, s.ID, ex.Line, sh.name, sh.e.Message, diff)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no examples")
	}
}
