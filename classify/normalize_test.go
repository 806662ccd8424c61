package classify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

func TestNormalize(t *testing.T) {
	const body = "RocksDB stall detected, duration=2000ms"
	want := Line{Body: body, Level: record.LevelWarn, LevelFromText: true, Target: "chainfire_storage", Unit: "chainfire.service"}
	tests := []struct {
		name string
		e    record.Entry
		want Line
	}{
		{"runbook", record.Entry{Message: "WARN chainfire_storage: " + body, Priority: -1}, want},
		{"tracing timestamp", record.Entry{Message: "2026-11-26T10:00:00.123456Z  WARN chainfire_storage: " + body, Priority: 6}, want},
		{"timestamp with offset", record.Entry{Message: "2026-11-26T10:00:00.123+01:00  WARN chainfire_storage: " + body, Priority: 6}, want},
		{"timestamp without fraction", record.Entry{Message: "2026-11-26T10:00:00Z  WARN chainfire_storage: " + body, Priority: 6}, want},
		{"ansi level", record.Entry{Message: "2026-11-26T10:00:00.123456Z \x1b[33m WARN\x1b[0m chainfire_storage: " + body, Priority: 6}, want},
		{"ansi everywhere", record.Entry{Message: "\x1b[2m2026-11-26T10:00:00.123456Z\x1b[0m \x1b[33m WARN\x1b[0m \x1b[2mchainfire_storage\x1b[0m\x1b[2m:\x1b[0m RocksDB stall detected, \x1b[3mduration\x1b[0m\x1b[2m=\x1b[0m2000ms", Priority: 6}, want},
		{"span", record.Entry{Message: "WARN raft{node_id=1 term=7}: chainfire_storage: " + body, Priority: -1}, want},
		{"span chain", record.Entry{Message: "WARN raft{node_id=1 term=7}:append{idx=3 msg=\"a}b\"}: chainfire_storage: " + body, Priority: -1}, want},
		{"nested braces", record.Entry{Message: "WARN req{body=Put { key: 1 }}: chainfire_storage: " + body, Priority: -1}, want},
		{"span chain without fields", record.Entry{Message: "WARN raft:append: chainfire_storage: " + body, Priority: -1}, want},
		{"lone field-less span", record.Entry{Message: "WARN raft: chainfire_storage: " + body, Priority: -1}, want},
		{"ansi span", record.Entry{Message: "\x1b[33m WARN\x1b[0m \x1b[1mraft\x1b[0m\x1b[1m{\x1b[0mnode_id=1\x1b[1m}\x1b[0m\x1b[2m:\x1b[0m chainfire_storage: " + body, Priority: -1}, want},
		{"journald", record.Entry{Message: body, Priority: 4, Target: "chainfire_storage"}, want2(want)},
		{"module path target", record.Entry{Message: "WARN chainfire_storage::rocks::engine: " + body, Priority: -1},
			Line{Body: body, Level: record.LevelWarn, LevelFromText: true, Target: "chainfire_storage::rocks::engine", Unit: "chainfire.service"}},
		{"text level beats priority", record.Entry{Message: "ERROR flaredb_raft: x", Priority: 6},
			Line{Body: "x", Level: record.LevelError, LevelFromText: true, Target: "flaredb_raft", Unit: "flaredb.service"}},
		{"WARNING", record.Entry{Message: "WARNING pd_server: x", Priority: -1},
			Line{Body: "x", Level: record.LevelWarn, LevelFromText: true, Target: "pd_server", Unit: "placement-driver.service"}},
		{"entry unit wins", record.Entry{Message: "INFO pd_server: x", Unit: "flaredb.service", Priority: -1},
			Line{Body: "x", Level: record.LevelInfo, LevelFromText: true, Target: "pd_server", Unit: "flaredb.service"}},
		{"text target beats field", record.Entry{Message: "INFO flaredb_raft: x", Target: "other", Priority: -1},
			Line{Body: "x", Level: record.LevelInfo, LevelFromText: true, Target: "flaredb_raft", Unit: "flaredb.service"}},
		{"lower case is not a level", record.Entry{Message: "error: connect_to 127.0.0.1 port 2379: failed.", Priority: -1},
			Line{Body: "error: connect_to 127.0.0.1 port 2379: failed."}},
		{"target kept without level", record.Entry{Message: "chainfire_raft: Election timeout", Priority: -1},
			Line{Body: "chainfire_raft: Election timeout"}},
		{"body with colon after target", record.Entry{Message: "WARN chainfire_raft: peer: node2 gone", Priority: -1},
			Line{Body: "peer: node2 gone", Level: record.LevelWarn, LevelFromText: true, Target: "chainfire_raft", Unit: "chainfire.service"}},
		{"level without target", record.Entry{Message: "ERROR something broke", Priority: -1},
			Line{Body: "something broke", Level: record.LevelError, LevelFromText: true}},
		{"span without target", record.Entry{Message: "WARN raft{node_id=1}: Election timeout", Priority: -1},
			Line{Body: "Election timeout", Level: record.LevelWarn, LevelFromText: true}},
		{"priority 7", record.Entry{Message: "x", Priority: 7}, Line{Body: "x", Level: record.LevelDebug}},
		{"priority 0", record.Entry{Message: "x", Priority: 0}, Line{Body: "x", Level: record.LevelError}},
		{"priority 5", record.Entry{Message: "x", Priority: 5}, Line{Body: "x", Level: record.LevelInfo}},
		{"no priority", record.Entry{Message: "x", Priority: -1}, Line{Body: "x"}},
		{"timestamp alone", record.Entry{Message: "2026-11-26T10:00:00Z hello", Priority: -1}, Line{Body: "2026-11-26T10:00:00Z hello"}},
		{"level at end", record.Entry{Message: "WARN", Priority: -1}, Line{Body: "WARN"}},
		{"level glued", record.Entry{Message: "WARNx y", Priority: -1}, Line{Body: "WARNx y"}},
		{"empty", record.Entry{Priority: -1}, Line{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(&tt.e, patterns.BuiltinServices())
			got.Message = ""
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Line{})); diff != "" {
				t.Errorf("Normalize(%q) (-want +got):\n%s", tt.e.Message, diff)
			}
		})
	}
}

func want2(l Line) Line { l.LevelFromText = false; return l }

func TestStripANSI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[33m WARN\x1b[0m x", " WARN x"},
		{"\x1b[1;31mred\x1b[m", "red"},
		{"a\x1b]0;title\x07b", "ab"},
		{"a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"},
		{"a\x1bcb", "ab"},
		{"trailing\x1b", "trailing"},
		{"trailing\x1b[", "trailing"},
		{"\x1b[38;5;208morange\x1b[0m", "orange"},
	}
	for _, tt := range tests {
		if got := StripANSI(tt.in); got != tt.want {
			t.Errorf("StripANSI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNormalizeNoAlloc: normalising a line without ANSI codes allocates
// nothing.
func TestNormalizeNoAlloc(t *testing.T) {
	e := record.Entry{Message: "2026-11-26T10:00:00.123456Z  WARN raft{node_id=1}: chainfire_storage: RocksDB stall detected", Priority: 6}
	var l Line
	if n := testing.AllocsPerRun(100, func() { normalize(&e, &l, patterns.BuiltinServices()) }); n != 0 {
		t.Errorf("normalize allocates %v times per line", n)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"WARN chainfire_storage: RocksDB stall detected, duration=2000ms",
		"2026-11-26T10:00:00.123456Z \x1b[33m WARN\x1b[0m chainfire_storage: x",
		"WARN raft{node_id=1 term=7}:a{b=\"}\"}: chainfire_raft: Election timeout",
		"ERROR a::b: c", "\x1b[", "2026-11-26T10:00:00.1+01:00 INFO x: y",
	} {
		f.Add(s, 6, "")
	}
	f.Fuzz(func(t *testing.T, msg string, prio int, target string) {
		e := record.Entry{Message: msg, Priority: prio, Target: target}
		l := Normalize(&e, patterns.BuiltinServices())
		if !strings.Contains(l.Message, l.Body) {
			t.Fatalf("body %q is not part of message %q", l.Body, l.Message)
		}
		if strings.IndexByte(l.Message, 0x1b) >= 0 {
			t.Fatalf("ANSI left in %q", l.Message)
		}
		if utf8.ValidString(msg) && !utf8.ValidString(l.Message) {
			t.Fatalf("stripping made %q invalid UTF-8", msg)
		}
		// Normalising the body again must not find another level.
		if l.LevelFromText && strings.HasPrefix(l.Body, l.Message) {
			t.Fatalf("level found but nothing removed from %q", msg)
		}
		// The runbook form of the result normalises to the same body when
		// the target came from the text (and the body does not itself
		// start like span context or a target).
		if l.LevelFromText && target == "" && l.Target != "" && skipSpans(l.Body, patterns.BuiltinServices()) == l.Body && targetLen(l.Body) == 0 {
			re := levelName(l.Level) + " " + l.Target + ": " + l.Body
			l2 := Normalize(&record.Entry{Message: re, Priority: -1}, patterns.BuiltinServices())
			if l2.Body != strings.TrimLeft(l.Body, " ") || l2.Target != l.Target {
				t.Fatalf("runbook form %q of %q gives %+v, want body %q", re, msg, l2, l.Body)
			}
		}
	})
}
