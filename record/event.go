package record

import (
	"fmt"
	"time"
)

// DefaultRunbookBase is the runbook_base of the default configuration: event
// runbook links are this, then docs/ops/troubleshooting.md#<anchor>.
const DefaultRunbookBase = "https://git.example/centra-cloud/blob/main/"

// Event is one classified journal entry, exactly the JSON object described in
// product.md: the same in Loki lines, webhook bodies and scan --output jsonl.
type Event struct {
	Time        Time           `json:"time,omitzero"` // omitted when the entry had none (-o cat input, explain)
	Host        string         `json:"host"`
	Unit        string         `json:"unit"`
	Signature   string         `json:"signature"`
	Severity    Severity       `json:"severity"`
	Summary     string         `json:"summary"`
	Runbook     string         `json:"runbook"`
	Fields      map[string]any `json:"fields"`
	Message     string         `json:"message"`
	Target      string         `json:"target,omitempty"`
	Priority    int            `json:"priority"`
	PID         int            `json:"pid,omitempty"`
	BootID      string         `json:"boot_id,omitempty"`
	Cursor      string         `json:"cursor,omitempty"`
	Fingerprint string         `json:"fingerprint"`

	// A derived event (rules over time) also carries: Derived true; Count,
	// how many entries made it fire; Window, the rule's window as written
	// ("60s"); FirstCursor and LastCursor, the cursors of the first and last
	// entry it covers. Its Cursor is LastCursor, and its Message, Target,
	// Priority, PID and BootID are those of the entry that made it fire.
	Derived     bool   `json:"derived,omitempty"`
	Count       int    `json:"count,omitempty"`
	Window      string `json:"window,omitempty"`
	FirstCursor string `json:"first_cursor,omitempty"`
	LastCursor  string `json:"last_cursor,omitempty"`
}

// Time is a timestamp that marshals as RFC 3339 in UTC with microseconds,
// the journal's resolution: "2026-11-26T10:00:00.123456Z".
type Time struct{ time.Time }

// TimeLayout is the layout of event timestamps.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// MarshalText formats the time in TimeLayout.
func (t Time) MarshalText() ([]byte, error) {
	return []byte(t.UTC().Format(TimeLayout)), nil
}

// MarshalJSON formats the time in TimeLayout as a JSON string. It is
// declared so that the embedded time.Time's MarshalJSON (RFC 3339 with a
// variable fraction) is not promoted in its place.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON parses a JSON string in RFC 3339 (with or without fraction).
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("parse event time %s: not a JSON string", b)
	}
	return t.UnmarshalText(b[1 : len(b)-1])
}

// UnmarshalText parses RFC 3339 (with or without fraction).
func (t *Time) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}
