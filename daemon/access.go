package daemon

import (
	"context"
	"time"

	"github.com/centra-cloud/cflogd/tail"
)

// sd-journal skips the journal files it cannot open, so a daemon without
// permission would follow an empty journal and call itself ready. It checks
// access itself: it is not ready (no READY=1, /readyz 503) until it can read
// the journal, and a journal it loses access to shows in /readyz and in
// cflogd_journal_files_unreadable.

// DefaultAccessCheck is Options.AccessCheck when it is zero.
const DefaultAccessCheck = 5 * time.Second

// blindLogEvery is how often the daemon repeats that it cannot read the
// journal while it waits for access.
const blindLogEvery = time.Minute

// checkAccess checks that the journal files can be opened, records what it
// found for /readyz and the metric, and logs when that changed.
func (d *Daemon) checkAccess() tail.Access {
	acc := tail.CheckAccess(d.cfg.Journal.Directory, d.cfg.Journal.Files)
	d.unreadable.Store(int64(len(acc.Unreadable)))
	msg := ""
	if err := acc.Err(); err != nil {
		msg = err.Error()
	}
	prev := d.accessMsg.Swap(&msg)
	if prev != nil && *prev == msg {
		return acc
	}
	switch {
	case acc.Blind():
		d.log.Error().Err(acc.Err()).Msg("cannot read the journal (run cflogd as root, or as a member of the systemd-journal or adm group): not ready; retrying")
	case msg != "":
		d.log.Warn().Err(acc.Err()).Msg("some journal files cannot be read; following the rest")
	case prev != nil && *prev != "":
		d.log.Info().Int("files", len(acc.Files)).Msg("every journal file is readable again")
	}
	return acc
}

// accessProblem is the last access check's complaint, "" when there was none.
func (d *Daemon) accessProblem() string {
	if p := d.accessMsg.Load(); p != nil {
		return *p
	}
	return ""
}

// waitReadable returns once the journal can be read (some file readable,
// or none found yet: a journal that starts empty is not a blind one), or
// ctx's error.
func (d *Daemon) waitReadable(ctx context.Context) error {
	lastLog := time.Now()
	for {
		if acc := d.checkAccess(); !acc.Blind() {
			return nil
		}
		if time.Since(lastLog) >= blindLogEvery {
			lastLog = time.Now()
			d.log.Error().Str("err", d.accessProblem()).Msg("still cannot read the journal: not ready; retrying")
		}
		if !tail.SleepCtx(ctx, d.opts.AccessCheck) {
			return ctx.Err()
		}
	}
}

// watchAccess checks access while the reader follows the journal.
func (d *Daemon) watchAccess(ctx context.Context) {
	for tail.SleepCtx(ctx, d.opts.AccessCheck) {
		d.checkAccess()
	}
}
