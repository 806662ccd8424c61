package classify

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// TestExplainSources checks that explain names the shape and where each
// field came from.
func TestExplainSources(t *testing.T) {
	c := New(builtin(t), Options{})
	tests := []struct {
		name    string
		entry   record.Entry
		shape   Shape
		winner  string
		fields  map[string]any
		sources map[string]string
	}{
		{"json", record.Entry{Unit: "chainfire.service", Priority: 6,
			Message: `{"timestamp":"2026-11-26T10:00:00Z","level":"INFO","fields":{"message":"Handled put request","latency":"900ms"},"target":"chainfire_api"}`},
			ShapeJSON, "chainfire.slow_request",
			map[string]any{"op": "put", "latency_ms": int64(900)},
			map[string]string{"op": "message", "latency_ms": "fields.latency"}},
		{"journald", record.Entry{Unit: "chainfire.service", Priority: 4, Target: "chainfire_storage",
			Message: "RocksDB stall detected", Fields: []record.Field{{Name: "duration", Value: "1s"}}},
			ShapeJournal, "chainfire.rocksdb_stall",
			map[string]any{"duration_ms": int64(1000)},
			map[string]string{"duration_ms": "F_DURATION"}},
		{"text", record.Entry{Unit: "flaredb.service", Priority: 6,
			Message: "ERROR flaredb_raft: Failed to replicate log, peer=store2"},
			ShapeText, "flaredb.replication_failed",
			map[string]any{"peer": "store2"},
			map[string]string{"peer": "message"}},
		{"span fields are not event fields", record.Entry{Unit: "chainfire.service", Priority: 6,
			Message: `{"level":"INFO","fields":{"message":"Leader elected","term":3},"target":"chainfire_raft","span":{"term":7,"name":"raft"},"spans":[{"term":7,"name":"raft"}]}`},
			ShapeJSON, "chainfire.leader_elected",
			map[string]any{"term": int64(3)},
			map[string]string{"term": "fields.term"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := c.Explain(&tt.entry)
			if x.Line.Shape != tt.shape {
				t.Errorf("shape %v, want %v", x.Line.Shape, tt.shape)
			}
			if x.Winner == nil || x.Winner.ID != tt.winner {
				t.Fatalf("winner %+v, want %s", x.Winner, tt.winner)
			}
			fields := map[string]any{}
			for k, v := range x.Winner.Fields {
				if f, ok := v.(float64); ok && f == float64(int64(f)) {
					v = int64(f)
				}
				fields[k] = v
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.sources, x.Winner.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
		})
	}
}
