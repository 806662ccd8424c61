package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

// TestSummaryColumnOn80Columns: on an 80-column terminal a derived event's
// summary keeps its numbers (it wraps in its column, no line is wider than
// the terminal but the runbook links).
func TestSummaryColumnOn80Columns(t *testing.T) {
	r := New(Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home})
	e := derivedEv(5*time.Minute, "chainfire.p99_latency_high", record.Error, "node01",
		"p99 request latency 900 ms over 500 ms for 5m (120 requests)")
	r.Entry(e.Time.Time)
	r.Add(&e)
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{}, Style{Width: 80, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"900 ms", "500 ms", "(120 requests)"} {
		if !strings.Contains(words, want) {
			t.Errorf("the summary lost %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 80 && (strings.HasPrefix(line, "10:") || strings.HasPrefix(line, "    ")) && !strings.Contains(line, "runbook") {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s     string
		width int
		max   int
		want  []string
	}{
		{"short", 20, 4, []string{"short"}},
		{"p99 request latency 900 ms over 500 ms", 20, 4, []string{"p99 request latency", "900 ms over 500 ms"}},
		{"one two three four five six seven eight nine ten", 20, 2, []string{"one two three four", "five six seven eigh…"}},
		{"", 20, 4, []string{""}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, wrap(tt.s, tt.width, tt.max)); diff != "" {
			t.Errorf("wrap(%q, %d) (-want +got):\n%s", tt.s, tt.width, diff)
		}
	}
}

// TestHeaderCounts: the read line counts derived events among the events
// and says what is below the minimum severity.
func TestHeaderCounts(t *testing.T) {
	r := New(Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home})
	evs := []record.Event{
		ev(time.Minute, "chainfire.rocksdb_stall", record.Error, "chainfire.service", "x", nil),
		ev(2*time.Minute, "chainfire.rocksdb_stall", record.Info, "chainfire.service", "x", nil),
		derivedEv(3*time.Minute, "chainfire.election_storm", record.Error, "n", "storm"),
	}
	for i := range evs {
		r.Entry(evs[i].Time.Time)
		r.Add(&evs[i])
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	want := "read     3 entries, 2 events at warning or above (1 of them derived); 1 below warning not shown\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("no %q in\n%s", want, buf.String())
	}
}

// TestHeaderInput: with --input the header says how many entries of other
// units were left out, and, when the window missed the input, what it spans.
func TestHeaderInput(t *testing.T) {
	r := New(Options{Since: t0.Add(24 * time.Hour), Until: t0.Add(25 * time.Hour), MinSeverity: record.Warning, Home: home})
	in := Input{First: t0, Last: t0.Add(time.Hour + 12*time.Minute), OutsideWindow: 400,
		OtherUnits: 171, OtherUnitNames: map[string]int{"ssh.service": 170, "cron": 1}}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{Input: in}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"input    spans 2026-11-26 10:00:00 – 11:12:00 UTC; the window holds none of it\n",
		"skipped  171 entries of other units (ssh.service 170, cron 1)\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in\n%s", want, buf.String())
		}
	}
	if got, want := r.InputNote(in, time.UTC), "no entries in the window; the input spans 2026-11-26 10:00:00 – 11:12:00 UTC"; got != want {
		t.Errorf("InputNote = %q, want %q", got, want)
	}
}
