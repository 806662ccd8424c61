package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/engine"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/state"
)

// The tests in this file hold the daemon to its guarantees when its state
// files cannot be written or are corrupt, and when its pattern files are
// rewritten while it reloads them.

func TestChaosTrackerRetriesFailedCheckpoint(t *testing.T) {
	tr := newTracker(10, 1)
	ctx := context.Background()
	snap := &ruleSnap{mark: mark{cursor: "c0"}}
	if _, err := tr.begin(ctx, mark{cursor: "c0"}, nil, snap, func() {}); err != nil {
		t.Fatal(err)
	}
	tr.ack(0, 0)
	m, changed, s := tr.checkpoint()
	if !changed || m.cursor != "c0" || s != snap {
		t.Fatalf("checkpoint = %q %v %p, want c0, changed, the snapshot", m.cursor, changed, s)
	}
	// The write failed (a full disk): nothing new is read, yet the next
	// checkpoint offers the same position and snapshot again.
	tr.retry(true, s)
	m, changed, s = tr.checkpoint()
	if !changed || m.cursor != "c0" || s != snap {
		t.Fatalf("checkpoint after a failed write = %q %v %p, want c0 again with the snapshot", m.cursor, changed, s)
	}
	if _, changed, s := tr.checkpoint(); changed || s != nil {
		t.Errorf("checkpoint after a successful write: changed %v, snapshot %p; want nothing new", changed, s)
	}
	// Only the snapshot failed: it alone is offered again.
	tr.retry(false, snap)
	if _, changed, s := tr.checkpoint(); changed || s != snap {
		t.Errorf("checkpoint after a failed snapshot: changed %v, snapshot %p; want the snapshot only", changed, s)
	}
}

func TestChaosCorruptNotifyLog(t *testing.T) {
	clk := &fakeClock{t: t0}
	good := func() []byte {
		n := NewNotifier("slack", defaultTiming, nil, zerolog.Nop(), clk.now)
		n.Add([]record.Event{electionTimeout(t0), stall(t0, "a", record.Warning)})
		b, _, err := n.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	tests := map[string][]byte{
		"empty":          nil,
		"null":           []byte("null"),
		"null group":     []byte(`{"version":1,"groups":[null]}`),
		"null alert":     []byte(`{"version":1,"groups":[{"host":"node01","signature":"chainfire.election_timeout","count":1,"alerts":{"fp":null}}]}`),
		"no alerts":      []byte(`{"version":1,"groups":[{"host":"node01","signature":"chainfire.election_timeout","count":3}]}`),
		"binary":         {0xff, 0x00, 0xfe, 0x01},
		"wrong types":    []byte(`{"version":1,"groups":{"a":1}}`),
		"future version": []byte(`{"version":2,"groups":[]}`),
	}
	for i := 1; i < len(good); i += max(1, len(good)/40) {
		tests[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			n := NewNotifier("slack", defaultTiming, nil, zerolog.Nop(), clk.now)
			err := n.UnmarshalState(b)
			// Whether it is used or refused, the notifier works on.
			n.Add([]record.Event{electionTimeout(t0.Add(time.Hour))})
			msgs, _ := n.due(t0.Add(defaultTiming.GroupWait))
			if err == nil && len(msgs) == 0 {
				t.Errorf("a usable log and a new event, yet no message due")
			}
		})
	}
}

// electionEntry is a chainfire election timeout at t.
func electionEntry(t time.Time, i int) record.Entry {
	return record.Entry{
		Time: t, Host: "node01", Unit: "chainfire.service", Identifier: "chainfire", Priority: 4,
		Message: "WARN chainfire_raft: election timeout, no heartbeat from leader",
		Cursor:  fmt.Sprintf("s=0123456789abcdef0123456789abcdef;i=%x", i+1),
	}
}

func TestChaosCorruptRulesState(t *testing.T) {
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	feed := func(eng *engine.Engine, from time.Time, n int) []record.Event {
		var out []record.Event
		for i := range n {
			e := electionEntry(from.Add(time.Duration(i)*10*time.Second), i)
			for _, ev := range eng.Process([]record.Entry{e}, nil) {
				if ev.Derived {
					out = append(out, ev)
				}
			}
		}
		return out
	}
	// A valid state with an election storm going on.
	eng := engine.New(lib, engine.Options{})
	if got := feed(eng, t0, 4); len(got) != 1 {
		t.Fatalf("storm: %d derived events, want 1", len(got))
	}
	windows, err := eng.MarshalRules()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	snap := &ruleSnap{mark: mark{cursor: "s=0123456789abcdef0123456789abcdef;i=4", time: t0.Add(30 * time.Second)}, windows: windows}
	dir, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if err := saveSnap(dir, snap); err != nil {
		t.Fatal(err)
	}
	good, err := dir.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":         nil,
		"null":          []byte("null"),
		"null windows":  []byte(`{"version":1,"cursor":"s=1;i=1","windows":null}`),
		"empty windows": []byte(`{"version":1,"cursor":"s=1;i=1","windows":{}}`),
		"binary":        bytes.Repeat([]byte{0x00, 0xff}, 100),
		"huge":          append([]byte(`{"version":1,"cursor":"`), bytes.Repeat([]byte("a"), 4<<20)...),
	}
	for i := 1; i < len(good); i += max(1, len(good)/40) {
		tests[fmt.Sprintf("truncated at %d", i)] = good[:i]
		flipped := bytes.Clone(good)
		flipped[i] ^= 0x55
		tests[fmt.Sprintf("byte %d flipped", i)] = flipped
		digit := bytes.Clone(good)
		if c := digit[i]; c >= '0' && c <= '9' {
			digit[i] = '9' - (c - '0')
			tests[fmt.Sprintf("digit %d changed", i)] = digit
		}
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if err := dir.WriteFile(rulesFile, b); err != nil {
				t.Fatal(err)
			}
			eng := engine.New(lib, engine.Options{})
			if _, err := loadRules(dir, eng); err != nil {
				// The daemon logs it and starts the rules afresh.
				eng.ResetRules()
			}
			// Either way the rules work on: a storm an hour later fires.
			if got := feed(eng, t0.Add(time.Hour), 3); len(got) != 1 {
				t.Errorf("storm after loading: %d derived events, want 1", len(got))
			}
		})
	}
}

// The site pattern versions of the reload test: two files each, three
// signatures in all, distributed differently, so that a library mixing the
// files of two versions, or holding a prefix of a file, has another set.
var siteVersions = []map[string][]string{
	{"f1.yaml": {"site.a_alpha:alpha"}, "f2.yaml": {"site.a_beta:beta", "site.a_gamma:gamma"}},
	{"f1.yaml": {"site.b_alpha:alpha", "site.b_gamma:gamma"}, "f2.yaml": {"site.b_beta:beta"}},
}

// siteFile renders the signatures "id:match" as a pattern file, each
// signature as one chunk; bad makes the last signature invalid.
func siteFile(sigs []string, bad bool) [][]byte {
	chunks := [][]byte{[]byte("signatures:\n")}
	for i, s := range sigs {
		id, match, _ := strings.Cut(s, ":")
		sev := "warning"
		if bad && i == len(sigs)-1 {
			sev = "loud"
		}
		chunks = append(chunks, fmt.Appendf(nil, "  - id: %s\n    units: [chainfire]\n    summary: \"site %s\"\n    severity: %s\n    anchor: log-analysis\n    match: 'site %s marker'\n", id, match, sev, match))
	}
	return chunks
}

// writeInPlace rewrites a file the way a careless tool does: truncate, then
// write it chunk by chunk with a pause between them.
func writeInPlace(t *testing.T, path string, chunks [][]byte, pause time.Duration) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	for i, c := range chunks {
		if i > 0 {
			time.Sleep(pause) // the careless writer's pace
		}
		if _, err := f.Write(c); err != nil {
			t.Error(err)
		}
	}
}

// siteIDs returns the ids of the site signatures in lib.
func siteIDs(lib *patterns.Library) []string {
	var ids []string
	for _, s := range lib.Signatures {
		if strings.HasPrefix(s.ID, "site.") {
			ids = append(ids, s.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// reloadDaemon is a daemon with a stdout sink whose pattern directory is
// patDir, after writing the files of version (file name: signatures) there.
func reloadDaemon(t *testing.T, patDir string, version map[string][]string) *Daemon {
	t.Helper()
	for name, sigs := range version {
		writeInPlace(t, filepath.Join(patDir, name), siteFile(sigs, false), 0)
	}
	cfg := config.Default
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Patterns.Dirs = []string{patDir}
	cfg.Sinks = []config.SinkConfig{stdout.Default}
	d, err := New(Options{Config: &cfg, Log: zerolog.Nop(), Stdout: &testpeer.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestChaosReloadNeverHalfLoaded: while a writer replaces the two pattern
// files by rename, one after the other, every reload uses whole files, each
// as one of its versions, or keeps the previous library (a broken version).
// Files of two versions may be combined: the writer can pause between its
// files for longer than the settle time (docs/patterns.md says what a
// reload promises).
func TestChaosReloadNeverHalfLoaded(t *testing.T) {
	patDir := t.TempDir()
	d := reloadDaemon(t, patDir, siteVersions[0])
	// Every combination of a whole f1 and a whole f2.
	var wantSets [][]string
	for _, v1 := range siteVersions {
		for _, v2 := range siteVersions {
			var ids []string
			for _, s := range slices.Concat(v1["f1.yaml"], v2["f2.yaml"]) {
				id, _, _ := strings.Cut(s, ":")
				ids = append(ids, id)
			}
			slices.Sort(ids)
			wantSets = append(wantSets, ids)
		}
	}

	// A writer cycles through the versions and a broken one, replacing
	// the two files by rename, one after the other. It ends before the
	// test does, however the test ends.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	tmp := t.TempDir()
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := siteVersions[i%2]
			bad := i%3 == 2
			for _, name := range []string{"f1.yaml", "f2.yaml"} {
				replaceFile(t, tmp, filepath.Join(patDir, name), siteFile(v[name], bad && name == "f2.yaml"))
			}
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond) // the writer's pace
		}
	})
	var ok, failed int
	for end := time.Now().Add(chaosShort(2*time.Second, 10*time.Second)); time.Now().Before(end); {
		err := d.Reload()
		if err != nil {
			failed++
		} else {
			ok++
		}
		got := siteIDs(d.eng.Library())
		if !slices.ContainsFunc(wantSets, func(w []string) bool { return slices.Equal(w, got) }) {
			t.Fatalf("library in use after a reload (err %v) has the site signatures %q; want whole files: %q", err, got, wantSets)
		}
	}
	t.Logf("%d reloads used, %d kept the previous set", ok, failed)
	if ok == 0 || failed == 0 {
		t.Errorf("%d reloads used, %d failed: the writer's pace does not test both", ok, failed)
	}
}

// TestReloadUsesQuietFiles: a file rewritten in place (truncated, then
// written) is used once it stayed the same for the settle time.
func TestReloadUsesQuietFiles(t *testing.T) {
	patDir := t.TempDir()
	d := reloadDaemon(t, patDir, siteVersions[0])
	for name, sigs := range siteVersions[1] {
		writeInPlace(t, filepath.Join(patDir, name), siteFile(sigs, false), 0)
	}
	if err := d.Reload(); err != nil {
		t.Fatalf("Reload of quiet files: %v", err)
	}
	if diff := cmp.Diff([]string{"site.b_alpha", "site.b_beta", "site.b_gamma"}, siteIDs(d.eng.Library())); diff != "" {
		t.Errorf("site signatures after the reload (-want +got):\n%s", diff)
	}
}

// replaceFile writes chunks into a file in tmp and renames it to path, as
// configuration management tools install files.
func replaceFile(t *testing.T, tmp, path string, chunks [][]byte) {
	f := filepath.Join(tmp, filepath.Base(path))
	if err := os.WriteFile(f, slices.Concat(chunks...), 0o600); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(f, path); err != nil {
		t.Error(err)
	}
}

func TestChaosReloadGivesUpOnFilesThatKeepChanging(t *testing.T) {
	patDir := t.TempDir()
	path := filepath.Join(patDir, "f1.yaml")
	writeInPlace(t, path, siteFile(siteVersions[0]["f1.yaml"], false), 0)
	d := reloadDaemon(t, patDir, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	defer func() {
		close(stop)
		<-done
	}()
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond): // faster than patternSettle
			}
			writeInPlace(t, path, siteFile([]string{fmt.Sprintf("site.v%d:alpha", i)}, false), 0)
		}
	}()
	err := d.Reload()
	switch {
	case err == nil:
		t.Errorf("Reload while the files change every 5 ms succeeded, want errPatternsChanging naming the directory")
	case errors.Is(err, errPatternsChanging):
		if !strings.Contains(err.Error(), patDir) {
			t.Errorf("Reload = %v, want the directory named", err)
		}
	default:
		// On a loaded machine the writer can stall for longer than the
		// settle time between its truncate and its write: both snapshots
		// then agree on an empty file, which is a load error. What matters
		// is that the reload fails and the library stays.
		t.Logf("Reload while the files change: %v (the writer stalled for the settle time)", err)
	}
	if diff := cmp.Diff([]string{"site.a_alpha"}, siteIDs(d.eng.Library())); diff != "" {
		t.Errorf("library after the failed reload (-want +got):\n%s", diff)
	}
}

// chaosShort returns short, or full when CFLOGD_CHAOS=full.
func chaosShort(short, full time.Duration) time.Duration {
	if os.Getenv("CFLOGD_CHAOS") == "full" {
		return full
	}
	return short
}

func TestChaosNotifyLogFromLongAgo(t *testing.T) {
	// A group whose next look is long past (a log saved long ago, or a
	// damaged one with zero times) must not cost a step per missed tick.
	timing := defaultTiming
	timing.GroupInterval = time.Millisecond
	n := NewNotifier("slack", timing, nil, zerolog.Nop(), nil)
	if err := n.UnmarshalState([]byte(`{"version":1,"groups":[{"host":"node01","signature":"chainfire.election_timeout","count":2,"alerts":{"fp":{}}}]}`)); err != nil {
		t.Fatal(err)
	}
	done := make(chan []message, 1)
	go func() {
		msgs, _ := n.due(t0)
		done <- msgs
	}()
	select {
	case msgs := <-done:
		if len(msgs) != 1 || msgs[0].count != 2 {
			t.Errorf("due = %+v, want the group's first message with its 2 events", msgs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("due did not return within 10 s for a group whose next look is at year 1")
	}
}
