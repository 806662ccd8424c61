package loki

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
)

// TestVictoriaLogs pushes through the sink into a real Loki-protocol
// server and reads the entries back: stream labels, timestamps and the
// event JSON must survive.
func TestVictoriaLogs(t *testing.T) {
	vl := testpeer.StartVictoriaLogs(t)
	// disable_message_parsing keeps the line as _msg instead of splitting
	// the JSON into fields, so the line can be compared byte for byte.
	s, _ := newSink(t, Config{URL: vl.LokiPushURL() + "?disable_message_parsing=1", BatchWait: 10 * time.Millisecond})

	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := make([]record.Event, 5)
	for i := range evs {
		evs[i] = event(i, "chainfire.rocksdb_stall", record.Error)
		evs[i].Time = record.Time{Time: now.Add(time.Duration(-i) * time.Second)}
	}
	evs[3].Signature, evs[3].Severity, evs[3].Unit = "flaredb.raft_election", record.Warning, "flaredb.service"
	evs[4].Message = `quotes " and \ and <!channel> and {job="evil"}`

	var got acks
	b := s.NewBatcher(0, got.add)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wait := runBatcher(t, ctx, b)
	if err := b.Add(ctx, "c1", evs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, "c2", evs[2:]); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := wait(); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if diff := cmp.Diff([]Ack{{Token: "c1", Sent: 2}, {Token: "c2", Sent: 3}}, got.list()); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}

	rows := vl.WaitRows(t, "*", len(evs), 20*time.Second)
	if len(rows) != len(evs) {
		t.Fatalf("VictoriaLogs has %d rows, want %d: %v", len(rows), len(evs), rows)
	}
	type stored struct {
		Time                                 time.Time
		Stream                               string
		Job, Host, Unit, Severity, Signature string
		Event                                record.Event
	}
	toStored := func(ev record.Event) stored {
		// Through JSON, as the line is: numbers become float64.
		b, _ := json.Marshal(ev)
		ev = record.Event{}
		json.Unmarshal(b, &ev)
		return stored{
			Time:   ev.Time.Time,
			Stream: fmt.Sprintf(`{host="node01",job="cflogd",severity=%q,signature=%q,unit=%q}`, ev.Severity, ev.Signature, ev.Unit),
			Job:    "cflogd", Host: ev.Host, Unit: ev.Unit, Severity: ev.Severity.String(), Signature: ev.Signature,
			Event: ev,
		}
	}
	want := map[string]stored{}
	for _, ev := range evs {
		want[ev.Summary] = toStored(ev)
	}
	gotRows := map[string]stored{}
	for _, r := range rows {
		var ev record.Event
		if err := json.Unmarshal([]byte(r["_msg"]), &ev); err != nil {
			t.Fatalf("_msg is not event JSON: %v: %q", err, r["_msg"])
		}
		ts, err := time.Parse(time.RFC3339Nano, r["_time"])
		if err != nil {
			t.Fatalf("_time %q: %v", r["_time"], err)
		}
		gotRows[ev.Summary] = stored{
			Time: ts, Stream: r["_stream"],
			Job: r["job"], Host: r["host"], Unit: r["unit"], Severity: r["severity"], Signature: r["signature"],
			Event: ev,
		}
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("stored rows (-want +got):\n%s", diff)
	}
}
