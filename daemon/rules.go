package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/state"
)

// rulesFile holds the windows of the rules over time as of one journal
// position, at or before the saved cursor.
const rulesFile = "rules.json"

// ruleRunner feeds the rules over time (classify.Rules). It belongs to the
// consumer goroutine, except replace, which the caller serialises with it.
//
// Checkpoints: now and then (every checkpoint interval) the consumer takes a
// snapshot of the windows as of the end of a batch; it travels with that
// batch through the tracker and is saved once the cursor has passed it. At
// the next start, reading resumes after the snapshot's position, and the
// entries up to the saved cursor feed only the rules (their events were
// delivered already): the windows come out as if cflogd had never stopped.
type ruleRunner struct {
	rules    *classify.Rules
	dirty    bool
	lastSnap time.Time
}

// ruleSnap is the windows as of the entry at mark.
type ruleSnap struct {
	mark    mark
	windows []byte
}

func newRuleRunner(lib *patterns.Library, base string) *ruleRunner {
	return &ruleRunner{rules: classify.NewRules(lib, classify.Options{RunbookBase: base})}
}

// active reports whether there are rules to feed.
func (r *ruleRunner) active() bool { return r.rules.Len() > 0 }

// feed gives the rules one match and appends the derived events.
func (r *ruleRunner) feed(m *classify.Match, out []record.Event) []record.Event {
	if !r.rules.Wants(m.Signature) {
		return out
	}
	r.dirty = true
	return r.rules.Feed(m, out)
}

// snapshot returns the windows as of m when they changed and the last
// snapshot is older than every; else nil.
func (r *ruleRunner) snapshot(m mark, every time.Duration, now time.Time) (*ruleSnap, error) {
	if !r.dirty || now.Sub(r.lastSnap) < every || m.cursor == "" {
		return nil, nil
	}
	w, err := r.rules.MarshalState()
	if err != nil {
		return nil, fmt.Errorf("encode rule windows: %w", err)
	}
	r.dirty, r.lastSnap = false, now
	return &ruleSnap{mark: m, windows: w}, nil
}

// replace swaps in the rules of a new library, keeping the windows of the
// rules that did not change.
func (r *ruleRunner) replace(lib *patterns.Library, base string) error {
	next := classify.NewRules(lib, classify.Options{RunbookBase: base})
	b, err := r.rules.MarshalState()
	if err == nil {
		err = next.UnmarshalState(b)
	}
	r.rules, r.dirty = next, true
	return err
}

type rulesState struct {
	Version int             `json:"version"`
	Cursor  string          `json:"cursor"`
	Time    time.Time       `json:"time"`
	Windows json.RawMessage `json:"windows"`
}

// saveSnap writes a snapshot.
func saveSnap(dir *state.Dir, s *ruleSnap) error {
	b, err := json.Marshal(rulesState{Version: 1, Cursor: s.mark.cursor, Time: s.mark.time, Windows: s.windows})
	if err != nil {
		return fmt.Errorf("encode rule windows: %w", err)
	}
	return dir.WriteFile(rulesFile, b)
}

// load restores the saved windows and returns their position.
func (r *ruleRunner) load(dir *state.Dir) (cursor string, err error) {
	b, err := dir.ReadFile(rulesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var st rulesState
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("decode %s: %w", rulesFile, err)
	}
	if st.Version != 1 {
		return "", fmt.Errorf("decode %s: unknown version %d", rulesFile, st.Version)
	}
	if err := r.rules.UnmarshalState(st.Windows); err != nil {
		return "", err
	}
	return st.Cursor, nil
}

// replay says which entries, after a restart, feed only the rules: those
// up to the saved cursor (its time bounds the wait, should that entry be
// gone).
type replay struct {
	until string
	time  time.Time
}

// covers reports whether e is one of them; it ends the replay after the
// last one.
func (rp *replay) covers(e *record.Entry) bool {
	if rp.until == "" {
		return false
	}
	if e.Cursor == rp.until {
		rp.until = ""
		return true
	}
	if e.Time.After(rp.time) {
		rp.until = ""
		return false
	}
	return true
}
