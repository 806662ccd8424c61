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

// TestChaosClockJumpBackBetweenStorms: a storm, quiet, then the clock goes
// back an hour and another storm comes 30 minutes (of real time) after the
// first: it fires.
//
// The entries carry journal cursors, whose monotonic times measure the
// step, so the first storm's window moves onto the new clock, 30 minutes
// before the second. With timestamps alone this journal is the same, entry
// for entry, as one whose storm goes on across the step ("back 1h in a
// storm" with 3 entries after the step): at the third entry after the step
// one must fire and the other must not. Without the monotonic clock the
// rules take the second storm for the first going on (see
// TestRulesClockStep: "between storms, no monotonic clock").
func TestChaosClockJumpBackBetweenStorms(t *testing.T) {
	c, lib := rulesLib(t)
	// On real time; the clock goes back an hour after the first storm.
	lines := cat(every(0, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout))
	es := steppedEntries(lines, true, stepAt{from: 3, by: -time.Hour})
	if got, want := es[3].Time.Sub(t0), 30*minute-time.Hour; got != want {
		t.Fatalf("the second storm begins at %v on the clock, want %v", got, want)
	}
	got := shortCursors(firedOf(run(c, NewRules(lib, Options{}), es)))
	want := []fired{
		{Rule: "chainfire.election_storm", At: 20 * sec, Host: "node01", Count: 3, First: "c1", Last: "c3"},
		{Rule: "chainfire.election_storm", At: 30*minute - time.Hour + 20*sec, Host: "node01", Count: 3, First: "c4", Last: "c6"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived events (-want +got):\n%s", diff)
	}
}
