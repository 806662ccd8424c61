package classify

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

func TestParseTracingJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want jsonLine
	}{
		{"fields", `{"timestamp":"2026-11-26T10:00:00.123456Z","level":"WARN","fields":{"message":"RocksDB stall detected","duration":"2s"},"target":"chainfire_storage"}`,
			true, jsonLine{level: record.LevelWarn, target: "chainfire_storage", message: "RocksDB stall detected", hasMsg: true,
				fields: []record.Field{{Name: "duration", Value: "2s"}}}},
		{"flattened, spans skipped", `{"timestamp":"t","level":"INFO","message":"Leader elected","term":3,"ok":true,"nil":null,"target":"chainfire_raft","span":{"term":7,"name":"raft"},"spans":[{"term":7,"name":"raft"}]}`,
			true, jsonLine{level: record.LevelInfo, target: "chainfire_raft", message: "Leader elected", hasMsg: true,
				fields: []record.Field{{Name: "term", Value: "3"}, {Name: "ok", Value: "true"}}}},
		{"escapes", `{"level":"ERROR","fields":{"message":"a \"b\"\n\u00e9\ud83d\ude00","path":"\/x"}}`,
			true, jsonLine{level: record.LevelError, message: "a \"b\"\né😀", hasMsg: true, fields: []record.Field{{Name: "path", Value: "/x"}}}},
		{"duplicate keys kept in order", `{"level":"INFO","fields":{"message":"m","latency":"1ms","latency":"900ms"}}`,
			true, jsonLine{level: record.LevelInfo, message: "m", hasMsg: true, fields: []record.Field{{Name: "latency", Value: "1ms"}, {Name: "latency", Value: "900ms"}}}},
		{"not tracing's", `{"msg":"compaction done","lvl":"info"}`, false, jsonLine{}},
		{"no message", `{"level":"INFO","fields":{"x":1}}`, false, jsonLine{}},
		{"lower-case level", `{"level":"info","fields":{"message":"m"}}`, false, jsonLine{}},
		{"truncated", `{"level":"INFO","fields":{"message":"m"`, false, jsonLine{}},
		{"trailing garbage", `{"level":"INFO","fields":{"message":"m"}} x`, false, jsonLine{}},
		{"too deep", `{"level":"INFO","fields":{"message":"m"},"span":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false, jsonLine{}},
		{"bad escape", `{"level":"INFO","fields":{"message":"\x"}}`, false, jsonLine{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got jsonLine
			ok := parseTracingJSON(tt.in, &got)
			if ok != tt.ok {
				t.Fatalf("parseTracingJSON = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(jsonLine{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONShapeHuge checks a 10 MiB JSON message: parsed, no crash.
func TestJSONShapeHuge(t *testing.T) {
	msg := `{"level":"WARN","fields":{"message":"RocksDB stall detected","blob":"` + strings.Repeat("x", 10<<20) + `","duration":"2s"},"target":"chainfire_storage"}`
	c := New(builtin(t), Options{})
	ev, ok := c.Classify(&record.Entry{Unit: "chainfire.service", Message: msg, Priority: 6})
	if !ok || ev.Signature != "chainfire.rocksdb_stall" || fmt.Sprint(ev.Fields["duration_ms"]) != "2000" {
		t.Errorf("got %v %s %v", ok, ev.Signature, ev.Fields)
	}
}

// FuzzJSONShape feeds arbitrary messages to the JSON shape: it never
// panics, accepts only valid JSON, and a line it accepts classifies.
func FuzzJSONShape(f *testing.F) {
	for _, s := range []string{
		`{"timestamp":"2026-11-26T10:00:00.123456Z","level":"WARN","fields":{"message":"RocksDB stall detected","duration":"2s"},"target":"chainfire_storage"}`,
		`{"level":"INFO","message":"Handled put request","latency":"900ms","target":"chainfire_api","span":{"a":[1,{"b":null}]}}`,
		`{"level":"ERROR","fields":{"message":"a \"b\" \u00e9","n":-1.5e3,"t":true}}`,
		`{"msg":"x"}`, `{`, `[]`, `{"level":"WARN","fields":{"message":"\ud800"}}`,
	} {
		f.Add(s)
	}
	if b, err := os.ReadFile("../testdata/tracing/bad.export"); err == nil && len(b) < 1<<20 {
		for _, line := range strings.Split(string(b), "\n") {
			if m, ok := strings.CutPrefix(line, "MESSAGE="); ok && strings.HasPrefix(m, "{") {
				f.Add(m)
			}
		}
	}
	c := New(builtin(f), Options{})
	f.Fuzz(func(t *testing.T, s string) {
		var j jsonLine
		if parseTracingJSON(s, &j) && !json.Valid([]byte(s)) {
			t.Errorf("accepted invalid JSON %q", s)
		}
		c.Classify(&record.Entry{Unit: "chainfire.service", Message: s, Priority: record.NoPriority})
	})
}
