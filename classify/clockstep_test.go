package classify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// stepAt steps the host's clock by by from the entry with index from on
// (in the order fed): its timestamps read by more than real time.
type stepAt struct {
	from int
	by   time.Duration
}

// testBoot is the boot id of the test journal cursors.
const testBoot = "6c7c6013a8674e17a0c0d9d5c5bb6a0a"

// steppedEntries turns lines on real time into the entries a host whose
// clock was stepped writes. With journal, each entry has a journal cursor
// carrying its monotonic time (real time, one boot), as sdjournal's do;
// else the cursors are c1, c2, ... and the clock step cannot be measured.
func steppedEntries(lines []jline, journal bool, steps ...stepAt) []record.Entry {
	es := entries(lines)
	for i := range es {
		real := es[i].Time
		for _, s := range steps {
			if i >= s.from {
				es[i].Time = es[i].Time.Add(s.by)
			}
		}
		if journal {
			mono := real.Sub(t0) + time.Hour
			es[i].Cursor = fmt.Sprintf("s=739ad463348b4ceca5a9e69c95a3c93d;i=%x;b=%s;m=%x;t=%x;x=%016x",
				i+1, testBoot, mono.Microseconds(), es[i].Time.UnixMicro(), i)
		}
	}
	return es
}

// shortCursors writes the journal cursors of steppedEntries as c1, c2, ...
func shortCursors(fs []fired) []fired {
	short := func(c string) string {
		if !strings.HasPrefix(c, "s=") {
			return c
		}
		for part := range strings.SplitSeq(c, ";") {
			if v, ok := strings.CutPrefix(part, "i="); ok {
				n, _ := strconv.ParseInt(v, 16, 64)
				return "c" + strconv.FormatInt(n, 10)
			}
		}
		return c
	}
	for i := range fs {
		fs[i].First, fs[i].Last = short(fs[i].First), short(fs[i].Last)
	}
	return fs
}

// TestDefaultClockStep: twice the longest reach of a rule, at least 10 min.
func TestDefaultClockStep(t *testing.T) {
	_, lib := rulesLib(t)
	rule := func(kind patterns.RuleKind, window, step, gap time.Duration) *patterns.Rule {
		return &patterns.Rule{Kind: kind, Window: window, Step: step, MaxGap: gap}
	}
	tests := []struct {
		name  string
		rules []*patterns.Rule
		want  time.Duration
	}{
		{"built-in: compaction_storm and leader_flapping, 10m", lib.Rules, 20 * minute},
		{"no rules", nil, 10 * minute},
		{"short windows", []*patterns.Rule{rule(patterns.CountRule, 60*sec, 0, 0)}, 10 * minute},
		{"a 1h count window", []*patterns.Rule{rule(patterns.CountRule, time.Hour, 0, 0)}, 2 * time.Hour},
		{"a quantile window and its step", []*patterns.Rule{rule(patterns.QuantileRule, 10*minute, minute, 0)}, 22 * minute},
		{"a persist max_gap", []*patterns.Rule{rule(patterns.PersistRule, 2*minute, 0, 15*minute)}, 30 * minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultClockStep(tt.rules); got != tt.want {
				t.Errorf("DefaultClockStep = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRulesClockStep: an entry later than its host's latest by more than the
// clock step (20 min for the built-in rules) is the host's clock stepped
// back: the host's timeline restarts there. With the monotonic clock (journal
// cursors) the windows move onto the new clock by the measured step; without
// it they start empty and a fired derived event stays in its episode.
//
// The lines are on real time; steps says how the host's clock reads.
func TestRulesClockStep(t *testing.T) {
	c, lib := rulesLib(t)
	storm := func(at time.Duration, first, last string) fired {
		return fired{Rule: "chainfire.election_storm", At: at, Host: "node01", Count: 3, First: first, Last: last}
	}
	back := func(from int) []stepAt { return []stepAt{{from, -time.Hour}} }
	// Fast requests every 10 s for 40 min: a busy host, whose entries the
	// rules read (every request counts towards the p99).
	busy := every(0, 10*sec, 240, lineFast)
	byTime := func(parts ...[]jline) []jline {
		l := cat(parts...)
		slices.SortStableFunc(l, func(a, b jline) int { return int(a.at - b.at) })
		return l
	}
	// The index of the first line at or after real time at.
	from := func(lines []jline, at time.Duration) int {
		return slices.IndexFunc(lines, func(l jline) bool { return l.at >= at })
	}
	busyBetween := byTime(busy, every(0, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout))
	// Storms at 0, 10 min (after a step back at 1 min) and 30 min (after
	// the clock was set right again at 20 min).
	backForth := cat(every(0, 10*sec, 3, lineTimeout), every(10*minute, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout))
	tests := []struct {
		name    string
		lines   []jline
		journal bool
		steps   []stepAt
		want    []fired
	}{
		// Boundaries: one timeout, then three whose clock reads the clock
		// step (20 min) earlier, or the clock step and 1 s.
		{"late by the clock step: late entries, dropped", cat(every(0, 0, 1, lineTimeout), every(10*sec, 10*sec, 3, lineTimeout)), false,
			[]stepAt{{1, -(20*minute + 10*sec)}}, nil},
		{"late by the clock step and 1 s: a step back", cat(every(0, 0, 1, lineTimeout), every(10*sec, 10*sec, 3, lineTimeout)), false,
			[]stepAt{{1, -(20*minute + 11*sec)}}, []fired{storm(-20*minute-sec+20*sec, "c2", "c4")}},
		// Measured, the step moves the first timeout too: it was 10 s
		// before the second.
		{"late by the clock step and 1 s, journal cursors: a step back", cat(every(0, 0, 1, lineTimeout), every(10*sec, 10*sec, 3, lineTimeout)), true,
			[]stepAt{{1, -(20*minute + 11*sec)}}, []fired{storm(-20*minute-sec+10*sec, "c1", "c3")}},
		// A file lagging 25 min behind another of the same host: with the
		// monotonic clock, old entries, dropped as late; without it, taken
		// as a step back.
		{"a lagging file, journal cursors: late entries, dropped", cat(every(25*minute, 0, 1, lineTimeout), every(0, 10*sec, 3, lineTimeout)), true, nil, nil},
		{"a lagging file, no monotonic clock: a step back", cat(every(25*minute, 0, 1, lineTimeout), every(0, 10*sec, 3, lineTimeout)), false, nil,
			[]fired{storm(20*sec, "c2", "c4")}},

		// A step back within a storm: one derived event.
		{"back 1h in a storm", every(0, 10*sec, 360, lineTimeout), false, back(180), []fired{storm(20*sec, "c1", "c3")}},
		{"back 1h in a storm, journal cursors", every(0, 10*sec, 360, lineTimeout), true, back(180), []fired{storm(20*sec, "c1", "c3")}},
		{"back 1h in a persisting PD outage", every(0, 10*sec, 60, lineHeartbeat), false, back(30), []fired{
			{Rule: "flaredb.pd_unreachable", At: 2 * minute, Host: "node01", Count: 13, First: "c1", Last: "c13"}}},
		{"back 1h in a p99 above 500 ms", every(0, sec, 600, latencyLine(900)), false, back(300), []fired{
			{Rule: "chainfire.write_latency_p99", At: 0, Host: "node01", Count: 1, First: "c1", Last: "c1",
				Fields: map[string]any{"latency_ms_p99": int64(900)}}}},
		{"back 1h in a p99 above 500 ms, journal cursors", every(0, sec, 600, latencyLine(900)), true, back(300), []fired{
			{Rule: "chainfire.write_latency_p99", At: 0, Host: "node01", Count: 1, First: "c1", Last: "c1",
				Fields: map[string]any{"latency_ms_p99": int64(900)}}}},
		// A forward jump is time passing, with or without the monotonic
		// clock (as in TestChaosClockJumpRules).
		{"forward 1h in a storm, journal cursors", every(0, 10*sec, 360, lineTimeout), true, []stepAt{{180, time.Hour}},
			[]fired{storm(20*sec, "c1", "c3"), storm(90*minute+20*sec, "c181", "c183")}},

		// A storm after a step back fires.
		{"between storms, journal cursors", cat(every(0, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout)), true, back(3),
			[]fired{storm(20*sec, "c1", "c3"), storm(30*minute-time.Hour+20*sec, "c4", "c6")}},
		{"a storm after a step back, the rule quiet before", cat(every(0, 10*sec, 30, lineFast), every(10*minute, 10*sec, 3, lineTimeout)), false, back(30),
			[]fired{storm(10*minute-time.Hour+20*sec, "c31", "c33")}},
		{"between storms, the host busy", busyBetween, false, back(from(busyBetween, minute)),
			[]fired{storm(20*sec, "c2", "c6"), storm(30*minute-time.Hour+20*sec, "c185", "c189")}},
		// The limitation: with timestamps alone, a storm that begins when
		// the step is first seen is taken for the storm before it going on.
		{"between storms, no monotonic clock", cat(every(0, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout)), false, back(3),
			[]fired{storm(20*sec, "c1", "c3")}},
		// Evidence moves with the clock when it is measured: 100 fast and
		// 2 slow requests give a p99 of 700 ms across the step; without the
		// monotonic clock the fast ones are dropped and the first slow one
		// is the p99.
		{"a p99 across a step back, journal cursors", cat(every(0, sec, 100, lineFast), every(100*sec, sec, 2, latencyLine(700))), true, back(100), []fired{
			{Rule: "chainfire.write_latency_p99", At: 101*sec - time.Hour, Host: "node01", Count: 102, First: "c101", Last: "c102",
				Fields: map[string]any{"latency_ms_p99": int64(700)}}}},
		{"a p99 across a step back, no monotonic clock", cat(every(0, sec, 100, lineFast), every(100*sec, sec, 2, latencyLine(700))), false, back(100), []fired{
			{Rule: "chainfire.write_latency_p99", At: 100*sec - time.Hour, Host: "node01", Count: 1, First: "c101", Last: "c101",
				Fields: map[string]any{"latency_ms_p99": int64(700)}}}},
		{"a PD outage across a step back, journal cursors", every(0, 10*sec, 19, lineHeartbeat), true, back(6), []fired{
			{Rule: "flaredb.pd_unreachable", At: 2*minute - time.Hour, Host: "node01", Count: 13, First: "c1", Last: "c13"}}},
		{"a PD outage across a step back, no monotonic clock", every(0, 10*sec, 19, lineHeartbeat), false, back(6), []fired{
			{Rule: "flaredb.pd_unreachable", At: 3*minute - time.Hour, Host: "node01", Count: 13, First: "c7", Last: "c19"}}},

		// Back, then forward again (the clock set right): each storm once.
		{"back then forward, journal cursors", backForth, true, []stepAt{{3, -time.Hour}, {6, time.Hour}},
			[]fired{storm(20*sec, "c1", "c3"), storm(10*minute-time.Hour+20*sec, "c4", "c6"), storm(30*minute+20*sec, "c7", "c9")}},
		{"back then forward, no monotonic clock", backForth, false, []stepAt{{3, -time.Hour}, {6, time.Hour}},
			[]fired{storm(20*sec, "c1", "c3"), storm(30*minute+20*sec, "c7", "c9")}},

		// Another host's clock does not move this one's windows.
		{"another host steps back", []jline{{0, lineTimeout, ""}, {10 * sec, lineTimeout, ""}, {20 * sec, lineTimeout, "node02"}, {20 * sec, lineTimeout, ""}},
			false, []stepAt{{2, -time.Hour}, {3, time.Hour}}, []fired{storm(20*sec, "c1", "c4")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shortCursors(firedOf(run(c, NewRules(lib, Options{}), steppedEntries(tt.lines, tt.journal, tt.steps...))))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("derived events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRulesClockStepOption: Options.ClockStep replaces the default.
func TestRulesClockStepOption(t *testing.T) {
	c, lib := rulesLib(t)
	// Three timeouts 15 min behind the first: late by default, a step
	// back with a clock step of 10 min.
	es := steppedEntries(cat(every(0, 0, 1, lineTimeout), every(10*sec, 10*sec, 3, lineTimeout)), false, stepAt{1, -15 * minute})
	tests := []struct {
		step time.Duration
		want int
	}{{0, 0}, {20 * minute, 0}, {10 * minute, 1}}
	for _, tt := range tests {
		t.Run(tt.step.String(), func(t *testing.T) {
			if got := len(run(c, NewRules(lib, Options{ClockStep: tt.step}), es)); got != tt.want {
				t.Errorf("derived events: %d, want %d", got, tt.want)
			}
		})
	}
}

// steppedJournal is stormJournal with node02's clock stepped back an hour
// at 90 min (and node03's forward at 2 h), as the hosts write it, and the
// lines on real time.
func steppedJournal(journal bool) ([]record.Entry, []jline) {
	lines := stormJournal()
	es := entries(lines)
	for i := range es {
		real := es[i].Time
		switch at := lines[i].at; {
		case es[i].Host == "node02" && at >= 90*minute:
			es[i].Time = real.Add(-time.Hour)
		case es[i].Host == "node03" && at >= 2*time.Hour:
			es[i].Time = real.Add(time.Hour)
		}
		if journal {
			es[i].Cursor = fmt.Sprintf("s=1;i=%x;b=%s;m=%x;t=%x", i+1, testBoot, (real.Sub(t0) + time.Hour).Microseconds(), es[i].Time.UnixMicro())
		}
	}
	return es, lines
}

// TestRulesStateRestartAcrossClockSteps: feeding a journal whose clocks
// step, in pieces with the state saved and restored between them, gives
// the derived events of one pass.
func TestRulesStateRestartAcrossClockSteps(t *testing.T) {
	c, lib := rulesLib(t)
	for _, journal := range []bool{false, true} {
		es, lines := steppedJournal(journal)
		want := run(c, NewRules(lib, Options{}), es)
		// The step back must matter: taken as late entries, node02's lose
		// derived events.
		node02 := func(evs []record.Event) int {
			n := 0
			for _, ev := range evs {
				if ev.Host == "node02" {
					n++
				}
			}
			return n
		}
		if n, late := node02(want), node02(run(c, NewRules(lib, Options{ClockStep: 1000 * time.Hour}), es)); n <= late {
			t.Fatalf("journal cursors %v: node02 has %d derived events, %d without the step back: want more", journal, n, late)
		}
		for _, chunk := range []int{1, 97, 1000, 5000} {
			t.Run(fmt.Sprintf("journal cursors %v, restart every %d entries", journal, chunk), func(t *testing.T) {
				es, want := es, want
				if chunk == 1 {
					// After every entry: from before node02's step to
					// after the p99 storms of 2 h.
					lo := slices.IndexFunc(lines, func(l jline) bool { return l.at >= 80*minute })
					hi := slices.IndexFunc(lines, func(l jline) bool { return l.at > 2*time.Hour+5*minute })
					es = es[lo:hi]
					want = run(c, NewRules(lib, Options{}), es)
				}
				var roundTrip func([]byte)
				if chunk == 1 {
					// Each save restores to the same bytes.
					roundTrip = func(state []byte) { checkRoundTrip(t, lib, state) }
				}
				checkRestarts(t, c, lib, es, chunk, want, roundTrip)
			})
		}
	}
}

// TestRulesStateVersion1: state saved before the hosts' reference cursors
// (version 1) still restores; the next step back of its hosts is handled
// without the monotonic clock until they have a reference again.
func TestRulesStateVersion1(t *testing.T) {
	c, lib := rulesLib(t)
	es := steppedEntries(cat(every(0, 10*sec, 3, lineTimeout), every(30*minute, 10*sec, 3, lineTimeout)), true, stepAt{3, -time.Hour})
	r := NewRules(lib, Options{})
	run(c, r, es[:3])
	state := saveRules(t, r)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(state, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["refs"]; !ok || string(doc["version"]) != "2" {
		t.Fatalf("state %s: want version 2 with refs", state)
	}
	delete(doc, "refs")
	doc["version"] = json.RawMessage("1")
	v1, _ := json.Marshal(doc)
	tests := []struct {
		name  string
		state []byte
		want  int
	}{{"version 2", state, 1}, {"version 1", v1, 0}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(run(c, restoreRules(t, lib, tt.state), es[3:])); got != tt.want {
				t.Errorf("derived events after the step: %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCursorClock reads the boot id and monotonic time of journal cursors.
func TestCursorClock(t *testing.T) {
	type clock struct {
		Boot string
		Mono int64
		OK   bool
	}
	tests := []struct {
		cursor string
		want   clock
	}{
		{"s=739ad463348b4ceca5a9e69c95a3c93d;i=4ece7;b=6c7c6013a8674e17a0c0d9d5c5bb6a0a;m=7f5ab0bd22;t=5a1b5f0d3f4ad;x=fb9cbf6f5c4ed6d6",
			clock{"6c7c6013a8674e17a0c0d9d5c5bb6a0a", 0x7f5ab0bd22, true}},
		{"", clock{}},
		{"c1", clock{}},
		{"example:3", clock{}},
		{"s=1;i=2", clock{}},
		{"b=x", clock{}},
		{"m=10", clock{}},
		{"b=x;m=zz", clock{}},
		{"b=x;m=ffffffffffffffff", clock{}},
		{"b=x;m=10", clock{"x", 16, true}},
	}
	for _, tt := range tests {
		t.Run(tt.cursor, func(t *testing.T) {
			var got clock
			got.Boot, got.Mono, got.OK = cursorClock(tt.cursor)
			if !got.OK {
				got = clock{}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cursorClock (-want +got):\n%s", diff)
			}
		})
	}
}
