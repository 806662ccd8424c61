package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

func events() []record.Event {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)
	return []record.Event{
		{
			Time: record.Time{Time: t0}, Host: "node01", Unit: "chainfire.service",
			Signature: "chainfire.rocksdb_stall", Severity: record.Error,
			Summary: "RocksDB write stall of 2000 ms", Runbook: "https://x/#a",
			Fields:  map[string]any{"duration_ms": 2000},
			Message: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms <&>",
			Target:  "chainfire_storage", Priority: 4, PID: 1234, Fingerprint: "9f86d081884c7d65",
		},
		{
			Time: record.Time{Time: t0.Add(time.Second)}, Host: "node01", Unit: "flaredb.service",
			Signature: "flaredb.timeout", Severity: record.Warning, Priority: -1,
			Message: "bad \xff utf8",
		},
	}
}

const (
	line1 = `{"time":"2026-11-26T10:00:00.123456Z","host":"node01","unit":"chainfire.service","signature":"chainfire.rocksdb_stall","severity":"error","summary":"RocksDB write stall of 2000 ms","runbook":"https://x/#a","fields":{"duration_ms":2000},"message":"WARN chainfire_storage: RocksDB stall detected, duration=2000ms <&>","target":"chainfire_storage","priority":4,"pid":1234,"fingerprint":"9f86d081884c7d65"}`
	line2 = `{"time":"2026-11-26T10:00:01.123456Z","host":"node01","unit":"flaredb.service","signature":"flaredb.timeout","severity":"warning","summary":"","runbook":"","fields":null,"message":"bad \ufffd utf8","priority":-1,"fingerprint":""}`
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		events []record.Event
		want   string
	}{
		{"lines", Lines, events(), line1 + "\n" + line2 + "\n"},
		{"lines empty", Lines, nil, ""},
		{"array", Array, events(), "[\n" + line1 + ",\n" + line2 + "\n]\n"},
		{"array one", Array, events()[:1], "[\n" + line1 + "\n]\n"},
		{"array empty", Array, nil, "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := New(&buf, tt.format)
			for i := range tt.events {
				if err := w.Write(&tt.events[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if tt.format == Array {
				var v []map[string]any
				if err := json.Unmarshal(buf.Bytes(), &v); err != nil || len(v) != len(tt.events) {
					t.Errorf("output is not a JSON array of %d: %v", len(tt.events), err)
				}
			}
		})
	}
}

func TestSend(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf, Lines)
	if err := w.Send(context.Background(), events()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(line1+"\n"+line2+"\n", buf.String()); diff != "" {
		t.Errorf("Send wrote (-want +got):\n%s", diff)
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteError(t *testing.T) {
	w := New(failWriter{}, Lines)
	err := w.Send(context.Background(), events())
	if !errors.Is(err, errDiskFull) {
		t.Errorf("Send error = %v, want one wrapping %v", err, errDiskFull)
	}
}
