package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/centra-cloud/cflogd/engine"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/state"
)

// rulesFile holds the windows of the rules over time as of one journal
// position, at or before the saved cursor.
const rulesFile = "rules.json"

// ruleSnap is the windows of the rules over time as of the entry at mark.
//
// Checkpoints: now and then (every checkpoint interval) the consumer takes a
// snapshot of the windows as of the end of a batch; it travels with that
// batch through the tracker and is saved once the cursor has passed it. At
// the next start, reading resumes after the snapshot's position, and the
// entries up to the saved cursor feed only the rules (their events were
// delivered already): the windows come out as if cflogd had never stopped.
type ruleSnap struct {
	mark    mark
	windows []byte
}

// snapshot returns the windows as of m when they changed and the last
// snapshot is older than every; else nil. It runs on the consumer
// goroutine.
func (d *Daemon) snapshot(m mark, every time.Duration, now time.Time) (*ruleSnap, error) {
	if !d.eng.RulesChanged() || now.Sub(d.lastSnap) < every || m.cursor == "" {
		return nil, nil
	}
	w, err := d.eng.MarshalRules()
	if err != nil {
		return nil, err
	}
	d.lastSnap = now
	return &ruleSnap{mark: m, windows: w}, nil
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
func loadRules(dir *state.Dir, eng *engine.Engine) (cursor string, err error) {
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
	if err := eng.UnmarshalRules(st.Windows); err != nil {
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

// prefix returns how many of the entries, from the first, it covers.
func (rp *replay) prefix(entries []record.Entry) int {
	n := 0
	for n < len(entries) && rp.covers(&entries[n]) {
		n++
	}
	return n
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
