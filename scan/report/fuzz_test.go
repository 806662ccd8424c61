package report

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/centra-cloud/cflogd/record"
)

// FuzzRender feeds arbitrary messages, templates, field values and times
// through a report: rendering never fails, and the table is valid UTF-8
// without escape sequences from the input.
func FuzzRender(f *testing.F) {
	f.Add("WARN x: RocksDB stall", "tmpl <num>", "node2:2380", int64(0), 2000.5, false)
	f.Add("\x1b[31mred\x1b]0;t\x07\xff\x00", "\x1b[2J", "\xff", int64(-1<<62), -1.0, true)
	f.Fuzz(func(t *testing.T, msg, tmpl, str string, at int64, num float64, color bool) {
		r := New(Options{MinSeverity: record.Info, Home: home})
		for i, sig := range []string{"a.b", UnclassifiedID, "a.b"} {
			ev := record.Event{
				Time:      record.Time{Time: time.Unix(0, at).Add(time.Duration(i) * time.Hour)},
				Unit:      "chainfire.service",
				Signature: sig,
				Severity:  record.Severity(1 + i),
				Message:   msg,
				Fields:    map[string]any{"template": tmpl, "s": str, "latency_ms": num, "n": int64(at)},
			}
			r.Entry(ev.Time.Time)
			r.Add(&ev)
		}
		var buf bytes.Buffer
		if err := r.Render(&buf, Header{Source: str}, Style{Color: color, Width: 60, Location: time.UTC}); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if !utf8.Valid(out) {
			t.Errorf("table is not valid UTF-8")
		}
		if !color && bytes.IndexByte(out, 0x1b) >= 0 {
			t.Errorf("table without colour holds an escape character:\n%q", out)
		}
	})
}
