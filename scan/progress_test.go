package scan

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := t0
	var buf bytes.Buffer
	p := newProgress(&buf, true, time.Second, func() time.Time { return now })
	step := func(d time.Duration, entries, events uint64) string {
		now = now.Add(d)
		buf.Reset()
		p.update(entries, events)
		return buf.String()
	}
	got := []string{
		step(500*time.Millisecond, 1000, 0), // before the delay: nothing
		step(500*time.Millisecond, 2000, 0), // 1 s: first line
		step(100*time.Millisecond, 2500, 1), // too soon after the last
		step(100*time.Millisecond, 3000, 2), // 200 ms later: update
		step(time.Second, 1234567, 1000),    // large numbers
	}
	want := []string{
		"",
		"\r\x1b[Kscanning: 2,000 entries read (2,000/s)",
		"",
		"\r\x1b[Kscanning: 3,000 entries read (2,500/s), 2 events",
		"\r\x1b[Kscanning: 1,234,567 entries read (561,166/s), 1,000 events",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
	buf.Reset()
	p.clear()
	if got := buf.String(); got != "\r\x1b[K" {
		t.Errorf("clear wrote %q", got)
	}
	buf.Reset()
	p.clear()
	if buf.Len() != 0 {
		t.Errorf("second clear wrote %q", buf.String())
	}

	off := newProgress(&buf, false, 0, func() time.Time { return now })
	off.update(1, 1)
	off.clear()
	if buf.Len() != 0 {
		t.Errorf("disabled progress wrote %q", buf.String())
	}
}
