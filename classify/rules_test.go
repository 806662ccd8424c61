package classify

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// Lines of the five built-in rules' signatures.
const (
	lineTimeout   = "WARN chainfire_raft: Election timeout, no heartbeat from leader"
	lineElected   = "INFO chainfire_raft: Leader elected, term=7"
	lineFast      = "INFO chainfire_api: Handled put request, latency=15ms"
	lineCompact   = "WARN flaredb_storage: Compaction is slow, duration=30s"
	lineHeartbeat = "WARN flaredb_pd_client: Heartbeat to PD failed, retrying..."
	lineRegister  = "INFO flaredb_pd_client: Registered with PD, store_id=1"
	lineOther     = "INFO chainfire_storage: Committed entry, index=12345"
)

func latencyLine(ms int) string {
	return fmt.Sprintf("INFO chainfire_api: Handled put request, latency=%dms", ms)
}

// unitOf gives the unit of a test line from its target.
func unitOf(line string) string {
	if strings.Contains(line, "flaredb_") {
		return "flaredb.service"
	}
	return "chainfire.service"
}

// jline is a line at a time after t0, on a host ("node01" when empty).
type jline struct {
	at   time.Duration
	line string
	host string
}

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// entries turns lines into journal entries with cursors c1, c2, ...
func entries(lines []jline) []record.Entry {
	out := make([]record.Entry, len(lines))
	for i, l := range lines {
		host := l.host
		if host == "" {
			host = "node01"
		}
		out[i] = record.Entry{Time: t0.Add(l.at), Host: host, Unit: unitOf(l.line), Message: l.line,
			Priority: record.NoPriority, Cursor: fmt.Sprintf("c%d", i+1)}
		if l.line == lineCrash { // systemd's word: PID 1 and its fields
			out[i].Unit, out[i].PID, out[i].Journal = "chainfire.service", 1, crashJournal
		}
	}
	return out
}

// lineCrash is PID 1's message about an unclean exit of chainfire's main
// process; entries gives it the journal fields systemd writes with it.
const lineCrash = "chainfire.service: Main process exited, code=killed, status=9/KILL"

var crashJournal = []record.Field{
	{Name: "MESSAGE_ID", Value: "98e322203f7a4ed290d09fe03c09fe15"},
	{Name: "EXIT_CODE", Value: "killed"},
	{Name: "EXIT_STATUS", Value: "9"},
}

// every returns n lines dt apart from at.
func every(at, dt time.Duration, n int, line string) []jline {
	out := make([]jline, n)
	for i := range out {
		out[i] = jline{at: at + time.Duration(i)*dt, line: line}
	}
	return out
}

func cat(parts ...[]jline) []jline { return slices.Concat(parts...) }

// fired is the part of a derived event the tests compare.
type fired struct {
	Rule        string
	At          time.Duration
	Host        string
	Count       int
	First, Last string
	Fields      map[string]any
}

func firedOf(evs []record.Event) []fired {
	var out []fired
	for _, ev := range evs {
		f := fired{Rule: ev.Signature, At: ev.Time.Sub(t0), Host: ev.Host, Count: ev.Count, First: ev.FirstCursor, Last: ev.LastCursor}
		if len(ev.Fields) > 0 {
			f.Fields = ev.Fields
		}
		out = append(out, f)
	}
	return out
}

// firedCase is journal lines and the derived events read in one pass gives.
type firedCase struct {
	name  string
	lines []jline
	want  []fired
}

// checkFiredCases checks each case as a subtest.
func checkFiredCases(t *testing.T, c *Classifier, lib *patterns.Library, tests []firedCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, firedOf(run(c, NewRules(lib, Options{}), entries(tt.lines)))); diff != "" {
				t.Errorf("derived events (-want +got):\n%s", diff)
			}
		})
	}
}

// saveRules is r's saved state.
func saveRules(t *testing.T, r *Rules) []byte {
	t.Helper()
	state, err := r.MarshalState()
	if err != nil {
		t.Fatalf("MarshalState: %v", err)
	}
	return state
}

// restoreRules is new rules of lib restored from state.
func restoreRules(t *testing.T, lib *patterns.Library, state []byte) *Rules {
	t.Helper()
	r := NewRules(lib, Options{})
	if err := r.UnmarshalState(state); err != nil {
		t.Fatalf("UnmarshalState: %v", err)
	}
	return r
}

// checkRoundTrip checks that state restores to rules that save the same
// bytes.
func checkRoundTrip(t *testing.T, lib *patterns.Library, state []byte) {
	t.Helper()
	if again := saveRules(t, restoreRules(t, lib, state)); string(again) != string(state) {
		t.Errorf("state changed in a round trip:\n%s\n%s", state, again)
	}
}

// checkRestarts runs es through rules restarted from their saved state
// every chunk entries, calling saved (when not nil) with each state, and
// checks that they derive want, the events of one pass.
func checkRestarts(t *testing.T, c *Classifier, lib *patterns.Library, es []record.Entry, chunk int, want []record.Event, saved func(state []byte)) {
	t.Helper()
	var got []record.Event
	var state []byte
	for i := 0; i < len(es); i += chunk {
		r := NewRules(lib, Options{})
		if state != nil {
			r = restoreRules(t, lib, state)
		}
		got = append(got, run(c, r, es[i:min(i+chunk, len(es))])...)
		state = saveRules(t, r)
		if saved != nil {
			saved(state)
		}
	}
	if len(want) == 0 {
		t.Fatal("no derived events to compare")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived events (-one pass +restarts):\n%s", diff)
	}
}

func rulesLib(tb testing.TB) (*Classifier, *patterns.Library) {
	tb.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		tb.Fatalf("load builtin library: %v", err)
	}
	return New(lib, Options{}), lib
}

// run feeds entries to rules in order and returns the derived events.
func run(c *Classifier, r *Rules, es []record.Entry) []record.Event {
	var out []record.Event
	for i := range es {
		if m, ok := c.Match(&es[i]); ok {
			out = r.Feed(&m, out)
		}
	}
	return out
}

const (
	sec    = time.Second
	minute = time.Minute
)

// TestRulesBoundaries checks each built-in rule on both sides of its
// threshold.
func TestRulesBoundaries(t *testing.T) {
	c, lib := rulesLib(t)
	tests := []firedCase{
		{"2 election timeouts within 60s", every(0, 30*sec, 2, lineTimeout), nil},
		{"3 election timeouts within 60s", every(0, 30*sec, 3, lineTimeout), []fired{
			{Rule: "chainfire.election_storm", At: 60 * sec, Host: "node01", Count: 3, First: "c1", Last: "c3"},
		}},
		{"3 election timeouts within 61s", cat(every(0, 30*sec, 2, lineTimeout), every(61*sec, 0, 1, lineTimeout)), nil},
		{"3 election timeouts on 3 hosts", []jline{{0, lineTimeout, "a"}, {sec, lineTimeout, "b"}, {2 * sec, lineTimeout, "c"}}, nil},
		{"3 leader elections in 8 min", every(0, 4*minute, 3, lineElected), []fired{
			{Rule: "chainfire.leader_flapping", At: 8 * minute, Host: "node01", Count: 3, First: "c1", Last: "c3"},
		}},
		{"3 leader elections in 12 min", every(0, 6*minute, 3, lineElected), nil},
		{"p99 at 501 ms", cat(every(0, sec, 100, lineFast), every(100*sec, sec, 2, latencyLine(501))), []fired{
			{Rule: "chainfire.write_latency_p99", At: 101 * sec, Host: "node01", Count: 102, First: "c101", Last: "c102",
				Fields: map[string]any{"latency_ms_p99": int64(501)}},
		}},
		{"p99 at 499 ms", cat(every(0, sec, 100, lineFast), every(100*sec, sec, 2, latencyLine(499))), nil},
		{"p99 at 500 ms is not above", cat(every(0, sec, 100, lineFast), every(100*sec, sec, 2, latencyLine(500))), nil},
		{"p99 over 5 min: old fast requests leave the window", cat(every(0, sec, 1000, lineFast), every(30*minute, sec, 1, latencyLine(2000))), []fired{
			{Rule: "chainfire.write_latency_p99", At: 30 * minute, Host: "node01", Count: 1, First: "c1001", Last: "c1001",
				Fields: map[string]any{"latency_ms_p99": int64(2000)}},
		}},
		{"4 slow compactions in 10 min", every(0, 2*minute+30*sec, 5, lineCompact)[:4], nil},
		{"5 slow compactions in 10 min", every(0, 2*minute+30*sec, 5, lineCompact), []fired{
			{Rule: "flaredb.compaction_storm", At: 10 * minute, Host: "node01", Count: 5, First: "c1", Last: "c5"},
		}},
		{"5 slow compactions in 10 min 1 s", cat(every(0, 2*minute+30*sec, 4, lineCompact), every(10*minute+sec, 0, 1, lineCompact)), nil},
		{"PD heartbeats failing for 3 min", every(0, 10*sec, 19, lineHeartbeat), []fired{
			{Rule: "flaredb.pd_unreachable", At: 2 * minute, Host: "node01", Count: 13, First: "c1", Last: "c13"},
		}},
		{"PD heartbeats failing for 1 min, then a registration", cat(every(0, 10*sec, 7, lineHeartbeat), every(65*sec, 0, 1, lineRegister), every(70*sec, 10*sec, 7, lineHeartbeat)), nil},
		{"PD heartbeats failing for 1 min, a 3 min pause, 1.5 min", cat(every(0, 10*sec, 7, lineHeartbeat), every(4*minute, 10*sec, 10, lineHeartbeat)), nil},
		{"PD heartbeats failing for 2 min across a registration of another host", cat(every(0, 10*sec, 7, lineHeartbeat), []jline{{65 * sec, lineRegister, "node02"}}, every(70*sec, 10*sec, 6, lineHeartbeat)), []fired{
			{Rule: "flaredb.pd_unreachable", At: 2 * minute, Host: "node01", Count: 13, First: "c1", Last: "c14"},
		}},
		{"other lines count for nothing", every(0, sec, 10, lineOther), nil},
	}
	checkFiredCases(t, c, lib, tests)
}

// TestRulesHysteresis: a derived event fires once per episode and again only
// after its condition has cleared.
func TestRulesHysteresis(t *testing.T) {
	c, lib := rulesLib(t)
	type count map[string]int
	tests := []struct {
		name  string
		lines []jline
		want  count
	}{
		{"a one-hour election storm", every(0, 10*sec, 360, lineTimeout), count{"chainfire.election_storm": 1}},
		{"a one-hour storm wobbling around 3 per 60 s", every(0, 25*sec, 144, lineTimeout), count{"chainfire.election_storm": 1}},
		{"a storm, a 30 s pause, a storm", cat(every(0, 10*sec, 30, lineTimeout), every(5*minute+20*sec, 10*sec, 30, lineTimeout)), count{"chainfire.election_storm": 1}},
		{"a storm, a 5 min pause, a storm", cat(every(0, 10*sec, 30, lineTimeout), every(10*minute, 10*sec, 30, lineTimeout)), count{"chainfire.election_storm": 2}},
		{"an hour of elections every 3 min", every(0, 3*minute, 20, lineElected), count{"chainfire.leader_flapping": 1}},
		{"an hour of slow requests", every(0, sec, 3600, latencyLine(900)), count{"chainfire.write_latency_p99": 1}},
		{"slow, healthy for 10 min, slow", cat(every(0, sec, 60, latencyLine(900)), every(60*sec, sec, 600, lineFast), every(11*minute, sec, 60, latencyLine(900))),
			count{"chainfire.write_latency_p99": 2}},
		{"an hour of slow compactions", every(0, minute, 60, lineCompact), count{"flaredb.compaction_storm": 1}},
		{"PD unreachable for an hour", every(0, 10*sec, 360, lineHeartbeat), count{"flaredb.pd_unreachable": 1}},
		{"PD unreachable, registered, unreachable", cat(every(0, 10*sec, 30, lineHeartbeat), every(301*sec, 0, 1, lineRegister), every(310*sec, 10*sec, 30, lineHeartbeat)),
			count{"flaredb.pd_unreachable": 2}},
		{"PD unreachable, a 3 min pause, unreachable", cat(every(0, 10*sec, 30, lineHeartbeat), every(8*minute, 10*sec, 30, lineHeartbeat)),
			count{"flaredb.pd_unreachable": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := count{}
			for _, ev := range run(c, NewRules(lib, Options{}), entries(tt.lines)) {
				got[ev.Signature]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("derived events per rule (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRulesOutOfOrder: windows use each entry's own time and never go back.
func TestRulesOutOfOrder(t *testing.T) {
	c, lib := rulesLib(t)
	tests := []firedCase{
		{"reversed within the window", []jline{{40 * sec, lineTimeout, ""}, {0, lineTimeout, ""}, {20 * sec, lineTimeout, ""}}, []fired{
			{Rule: "chainfire.election_storm", At: 40 * sec, Host: "node01", Count: 3, First: "c2", Last: "c1"},
		}},
		{"too late for the window", []jline{{100 * sec, lineTimeout, ""}, {0, lineTimeout, ""}, {30 * sec, lineTimeout, ""}}, nil},
		{"late entries do not move the window back", []jline{
			{100 * sec, lineTimeout, ""}, {0, lineTimeout, ""}, {30 * sec, lineTimeout, ""}, {110 * sec, lineTimeout, ""}, {120 * sec, lineTimeout, ""},
		}, []fired{
			{Rule: "chainfire.election_storm", At: 120 * sec, Host: "node01", Count: 3, First: "c1", Last: "c5"},
		}},
		{"two files merged: each in order, one after the other", cat(every(0, 20*sec, 3, lineTimeout), every(10*sec, 20*sec, 3, lineTimeout)), []fired{
			{Rule: "chainfire.election_storm", At: 40 * sec, Host: "node01", Count: 3, First: "c1", Last: "c3"},
		}},
		{"a late slow request inside the window counts", cat(every(0, sec, 100, lineFast), []jline{{101 * sec, latencyLine(700), ""}, {50 * sec, latencyLine(700), ""}}), []fired{
			{Rule: "chainfire.write_latency_p99", At: 101 * sec, Host: "node01", Count: 102, First: "c101", Last: "c102",
				Fields: map[string]any{"latency_ms_p99": int64(700)}},
		}},
		{"a slow request older than the window is dropped", cat(every(10*minute, sec, 100, lineFast), []jline{{10*minute + 101*sec, latencyLine(700), ""}, {0, latencyLine(700), ""}}), nil},
		{"a late heartbeat failure extends the run back", cat(every(60*sec, 10*sec, 6, lineHeartbeat), every(0, 10*sec, 6, lineHeartbeat), every(120*sec, 0, 1, lineHeartbeat)), []fired{
			{Rule: "flaredb.pd_unreachable", At: 2 * minute, Host: "node01", Count: 13, First: "c7", Last: "c13"},
		}},
		{"a heartbeat failure from before a registration is ignored", cat(every(60*sec, 10*sec, 7, lineHeartbeat), every(55*sec, 0, 1, lineRegister), every(0, 10*sec, 5, lineHeartbeat)), nil},
		{"a late registration ends the run", cat(every(0, 10*sec, 8, lineHeartbeat), every(35*sec, 0, 1, lineRegister), every(80*sec, 10*sec, 6, lineHeartbeat)), nil},
	}
	checkFiredCases(t, c, lib, tests)
}

// TestRulesJitter: a storm read with its entries a few seconds out of order
// (as when journals of several files are merged) gives as many derived events
// as read in order.
func TestRulesJitter(t *testing.T) {
	c, lib := rulesLib(t)
	lines := cat(
		every(0, 10*sec, 60, lineTimeout), every(30*minute, 10*sec, 60, lineTimeout),
		every(0, 2*sec, 1800, lineFast), every(10*minute, sec, 120, latencyLine(900)),
		every(0, 10*sec, 30, lineHeartbeat), every(20*minute, 10*sec, 30, lineHeartbeat),
	)
	slices.SortStableFunc(lines, func(a, b jline) int { return int(a.at - b.at) })
	want := map[string]int{}
	for _, ev := range run(c, NewRules(lib, Options{}), entries(lines)) {
		want[ev.Signature]++
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		shuffled := slices.Clone(lines)
		// Swap neighbours up to 5 s apart.
		for i := range shuffled {
			j := i + rng.IntN(4)
			if j < len(shuffled) && shuffled[j].at-shuffled[i].at <= 5*sec {
				shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
			}
		}
		got := map[string]int{}
		for _, ev := range run(c, NewRules(lib, Options{}), entries(shuffled)) {
			got[ev.Signature]++
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round %d: derived events per rule (-in order +jittered):\n%s", round, diff)
		}
	}
}

// stormJournal is a few hours of several hosts with every rule firing and
// clearing, in journal order.
func stormJournal() []jline {
	var lines []jline
	for h, host := range []string{"node01", "node02", "node03"} {
		off := time.Duration(h) * 7 * sec
		parts := [][]jline{
			every(off, 10*sec, 90, lineTimeout), every(off+40*minute, 20*sec, 60, lineTimeout),
			every(off, 30*sec, 40, lineElected),
			every(off, 2*sec, 5400, lineFast), every(off+30*minute, 3*sec, 200, latencyLine(650)), every(off+2*time.Hour, sec, 50, latencyLine(1200)),
			every(off, 90*sec, 40, lineCompact),
			every(off, 10*sec, 40, lineHeartbeat), every(off+401*sec, 0, 1, lineRegister), every(off+50*minute, 10*sec, 60, lineHeartbeat),
			every(off+10*minute, 2*minute, 5, lineCrash), every(off+90*minute, 3*minute, 4, lineCrash),
		}
		for _, p := range parts {
			for i := range p {
				p[i].host = host
			}
			lines = append(lines, p...)
		}
	}
	slices.SortStableFunc(lines, func(a, b jline) int { return int(a.at - b.at) })
	return lines
}

// TestRulesStateRestart: feeding a journal in pieces, with the state saved
// and restored into a fresh Rules between pieces (a daemon restart), gives
// exactly the derived events of one pass: none lost, none repeated.
func TestRulesStateRestart(t *testing.T) {
	c, lib := rulesLib(t)
	es := entries(stormJournal())
	want := run(c, NewRules(lib, Options{}), es)
	perRule := map[string]int{}
	for _, ev := range want {
		perRule[ev.Signature]++
	}
	for _, r := range lib.Rules {
		if perRule[r.ID] < 3 {
			t.Errorf("the test journal gives %d events of %s, want at least 3 (one per host)", perRule[r.ID], r.ID)
		}
	}
	for _, chunk := range []int{1, 7, 100, 1000, 5000} {
		t.Run(fmt.Sprintf("restart every %d entries", chunk), func(t *testing.T) {
			es, want := es, want
			if chunk == 1 {
				// A restart after every entry: over the first hour only.
				n := slices.IndexFunc(es, func(e record.Entry) bool { return e.Time.Sub(t0) > time.Hour })
				es = es[:n]
				want = run(c, NewRules(lib, Options{}), es)
			}
			checkRestarts(t, c, lib, es, chunk, want, nil)
		})
	}
}

// TestRulesStateRoundTrip: saved state restores to the same state, and
// stays valid JSON with the rules' ids.
func TestRulesStateRoundTrip(t *testing.T) {
	c, lib := rulesLib(t)
	r := NewRules(lib, Options{})
	es := entries(stormJournal())
	run(c, r, es[:len(es)/2])
	a := saveRules(t, r)
	checkRoundTrip(t, lib, a)
	var doc struct {
		Rules []struct {
			ID     string
			Groups []json.RawMessage
		}
	}
	if err := json.Unmarshal(a, &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	groups := 0
	for _, rj := range doc.Rules {
		ids = append(ids, rj.ID)
		groups += len(rj.Groups)
	}
	want := []string{"unit.crash_loop", "chainfire.election_storm", "chainfire.leader_flapping", "chainfire.write_latency_p99", "flaredb.compaction_storm", "flaredb.pd_unreachable"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("rules in the state (-want +got):\n%s", diff)
	}
	if groups != r.Groups() || groups == 0 {
		t.Errorf("state holds %d groups, Rules %d", groups, r.Groups())
	}
}

// TestRulesStateChanges: state of a changed or removed rule is dropped;
// malformed state is an error and changes nothing.
func TestRulesStateChanges(t *testing.T) {
	c, lib := rulesLib(t)
	r := NewRules(lib, Options{})
	run(c, r, entries(every(0, 10*sec, 2, lineTimeout)))
	state := saveRules(t, r)
	// The same library: the third timeout completes the storm.
	same := restoreRules(t, lib, state)
	third := entries([]jline{{20 * sec, lineTimeout, ""}})
	if got := len(run(c, same, third)); got != 1 {
		t.Errorf("restored state: %d derived events, want 1", got)
	}
	// A longer window is another rule: its state is dropped.
	changed := *lib
	changed.Rules = slices.Clone(lib.Rules)
	storm := *lib.LookupRule("chainfire.election_storm")
	storm.Window *= 2
	changed.Rules[slices.Index(lib.Rules, lib.LookupRule("chainfire.election_storm"))] = &storm
	other := NewRules(&changed, Options{})
	if err := other.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	if got := len(run(c, other, third)); got != 0 {
		t.Errorf("state of a changed rule: %d derived events, want 0 (state dropped)", got)
	}
	for _, bad := range []string{"", "{", `{"version":99,"rules":[]}`, `{"version":1,"rules":[],"extra":1}`,
		`{"version":1,"rules":[{"id":"chainfire.election_storm","def":"` + ruleDef(lib, "chainfire.election_storm") + `","groups":[{"host":"a","hwm":1,"times":[2,1],"cursors":["x","y"]}]}]}`} {
		r := NewRules(lib, Options{})
		run(c, r, entries(every(0, 10*sec, 2, lineTimeout)))
		if err := r.UnmarshalState([]byte(bad)); err == nil {
			t.Errorf("UnmarshalState(%q): no error", bad)
		}
		if got := len(run(c, r, third)); got != 1 {
			t.Errorf("after UnmarshalState(%q) failed: %d derived events, want 1 (state kept)", bad, got)
		}
	}
}

// ruleDef is the digest of a rule's definition, as its saved state names it.
func ruleDef(lib *patterns.Library, id string) string {
	for _, cr := range NewRules(lib, Options{}).rules {
		if cr.rule.ID == id {
			return cr.def
		}
	}
	return ""
}
