package classify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The rules over time run on the entries' journal timestamps and read no
// clock, so cflogd's own clock cannot move a window. The machine's clock
// can: journald stamps entries with it, so a jump of the wall clock shows
// as a jump in the journal's time. These tests feed an election storm
// across such a jump.

func TestChaosClockJumpRules(t *testing.T) {
	c, lib := rulesLib(t)
	storm := func(at time.Duration, first string) fired {
		return fired{Rule: "chainfire.election_storm", At: at, Host: "node01", Count: 3, First: first}
	}
	tests := []struct {
		name  string
		lines []jline
		want  []fired
	}{
		{
			// Two half-hour halves of one storm, an election timeout every
			// 10 s: one derived event.
			"no jump", cat(every(0, 10*sec, 180, lineTimeout), every(30*minute, 10*sec, 180, lineTimeout)),
			[]fired{storm(20*sec, "c1")},
		},
		{
			// The clock goes back an hour in the middle of the storm: the
			// storm is still one event; nothing fires again.
			"back 1h in a storm", cat(every(0, 10*sec, 180, lineTimeout), every(30*minute-time.Hour, 10*sec, 180, lineTimeout)),
			[]fired{storm(20*sec, "c1")},
		},
		{
			// Forward an hour: the storm looks paused for an hour, so it
			// ends and, going on, fires once more. Not a burst.
			"forward 1h in a storm", cat(every(0, 10*sec, 180, lineTimeout), every(30*minute+time.Hour, 10*sec, 180, lineTimeout)),
			[]fired{storm(20*sec, "c1"), storm(90*minute+20*sec, "c181")},
		},
		{
			// A storm, quiet, then a jump forward and another storm: two.
			"forward 1h between storms", cat(every(0, 10*sec, 3, lineTimeout), every(30*minute+time.Hour, 10*sec, 3, lineTimeout)),
			[]fired{storm(20*sec, "c1"), storm(90*minute+20*sec, "c4")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := firedOf(run(c, NewRules(lib, Options{}), entries(tt.lines)))
			for i := range got {
				got[i].Last = "" // the firing entry; First says which storm
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("derived events (-want +got):\n%s", diff)
			}
		})
	}
}

// backJumpHandled turns on TestChaosClockJumpBackBetweenStorms once the
// rules tell a clock stepped back from late entries.
const backJumpHandled = false

func TestChaosClockJumpBackBetweenStorms(t *testing.T) {
	// A storm, quiet, then the clock goes back an hour and another storm
	// comes 30 minutes (of real time) after the first: it must fire.
	//
	// It does not yet: the window's high-water mark stays at the first
	// storm, and entries more than a window older than it are dropped as
	// late, so for as long as the clock was set back (minus the quiet time)
	// no storm is seen on that host. Telling a clock stepped back from late
	// entries needs a bound on lateness (or the monotonic timestamps, which
	// tail.Entry does not carry); see the chaos report.
	if !backJumpHandled {
		t.Skip("known gap: a storm within an hour after the journal's clock went back an hour is not detected")
	}
	c, lib := rulesLib(t)
	lines := cat(every(0, 10*sec, 3, lineTimeout), every(30*minute-time.Hour, 10*sec, 3, lineTimeout))
	got := firedOf(run(c, NewRules(lib, Options{}), entries(lines)))
	if len(got) != 2 {
		t.Errorf("derived events: %d (%v), want 2: the second storm came after the clock went back", len(got), got)
	}
}
