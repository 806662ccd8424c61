package daemon

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/centra-cloud/cflogd/state"
	"github.com/centra-cloud/cflogd/tail"
	"github.com/rs/zerolog"
)

// Checkpoints: the saved cursor, rule windows and notification logs, and
// how a restart resumes from them.

// checkpoint saves the cursor the durable sinks are done with, and the
// notification logs. What cannot be written (a full or read-only file
// system) is tried again at the next checkpoint; delivery goes on.
func (d *Daemon) checkpoint(dir *state.Dir) {
	m, changed, snap := d.tracker.checkpoint()
	var failed error
	wrote := false
	if changed {
		err := dir.SaveCursor(state.Cursor{Cursor: m.cursor, Time: m.time, Saved: time.Now()})
		wrote = true
		if err != nil {
			d.m.checkpointErr.Inc()
			failed = fmt.Errorf("save cursor %s: %w", m.cursor, err)
			d.tracker.retry(true, snap)
			snap = nil // it may be past the cursor on disk
		} else {
			d.m.checkpoints.Inc()
			d.m.checkpointAt.SetToCurrentTime()
		}
	}
	if snap != nil {
		// After the cursor: a crash between the two writes leaves windows
		// older than the cursor, which the next start replays up to it.
		wrote = true
		if err := saveSnap(dir, snap); err != nil {
			d.m.checkpointErr.Inc()
			failed = cmp.Or(failed, fmt.Errorf("save rule windows: %w", err))
			d.tracker.retry(false, snap)
		}
	}
	for _, n := range d.sinks.notifiers {
		b, changed, err := n.MarshalState()
		if err != nil {
			d.log.Error().Err(err).Str("sink", n.name).Msg("encode notification log")
			continue
		}
		if !changed {
			continue
		}
		wrote = true
		if err := dir.WriteFile(notifyFile(n.name), b); err != nil {
			d.m.checkpointErr.Inc()
			failed = cmp.Or(failed, fmt.Errorf("save notification log of sink %s: %w", n.name, err))
			n.markDirty()
		}
	}
	if wrote {
		d.stateHealth.report(d.log, dir.Path(), failed)
	}
}

// stateHealth reports state files that cannot be written: loudly at the
// first failure, then at most once per stateReportEvery while it lasts, and
// once when writing works again.
type stateHealth struct {
	failures int       // failed checkpoints in a row
	reported time.Time // when the failure was last logged
}

// stateReportEvery bounds how often a lasting checkpoint failure is logged.
const stateReportEvery = time.Minute

func (h *stateHealth) report(log zerolog.Logger, path string, err error) {
	now := time.Now()
	if err == nil {
		if h.failures > 0 {
			log.Info().Str("state_dir", path).Int("failed_checkpoints", h.failures).
				Msg("state directory writable again: cursor saved")
		}
		h.failures = 0
		return
	}
	h.failures++
	if h.failures > 1 && now.Sub(h.reported) < stateReportEvery {
		return
	}
	h.reported = now
	log.Error().Err(err).Str("state_dir", path).Str("problem", state.Problem(err)).Int("failed_checkpoints", h.failures).
		Msg("cannot checkpoint; events are still delivered, and the cursor is saved as soon as the state directory can be written (a restart before then repeats the events since the last saved cursor)")
}

func notifyFile(sink string) string { return "notify-" + filepath.Base(sink) + ".json" }

// loadNotifyState restores the notification logs.
func (d *Daemon) loadNotifyState(dir *state.Dir) {
	for _, n := range d.sinks.notifiers {
		b, err := dir.ReadFile(notifyFile(n.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = n.UnmarshalState(b)
		}
		if err != nil {
			d.log.Error().Err(err).Str("sink", n.name).Msg("cannot use the notification log; notifications may repeat")
		}
	}
}

// resumeRules restores the rule windows. They are as of a position at or
// before the saved cursor: reading then starts there, and the entries up
// to the saved cursor only feed the rules.
func (d *Daemon) resumeRules(dir *state.Dir, fopts *tail.FollowOptions, saved state.Cursor) {
	at, err := loadRules(dir, d.eng)
	switch {
	case err != nil:
		d.log.Error().Err(err).Msg("cannot use the saved rule windows; the rules start afresh")
		d.eng.ResetRules()
	case at == "":
	case fopts.AfterCursor == "":
		d.log.Info().Msg("rule windows saved without a usable cursor; the rules start afresh")
		d.eng.ResetRules()
	case at != fopts.AfterCursor:
		fopts.AfterCursor = at
		d.replay = replay{until: saved.Cursor, time: saved.Time}
	}
}

// finalSnapshot hands the tracker the rule windows as of the last batch
// read, so that a clean stop saves them with the last cursor and the next
// start needs no replay.
func (d *Daemon) finalSnapshot() {
	if d.lastMark.cursor == "" {
		return
	}
	snap, err := d.snapshot(d.lastMark, 0, time.Now())
	if err != nil {
		d.log.Error().Err(err).Msg("snapshot rule windows")
		return
	}
	if snap != nil {
		d.tracker.skip(d.lastMark, snap)
	}
}
