package daemon

import (
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify sends a state to systemd when it started us with Type=notify;
// otherwise it does nothing.
func sdNotify(state string) { sd.SdNotify(false, state) }

// watchdogInterval returns WatchdogSec= of the unit, or 0.
func watchdogInterval() time.Duration {
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}
