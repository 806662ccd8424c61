package scan

import (
	"fmt"
	"io"
	"time"

	"github.com/centra-cloud/cflogd/scan/report"
)

// progress shows a line on stderr ("\r"-updated) while a scan runs for longer
// than a delay, when stderr is a terminal. It is driven by the scan's
// consumer (update after each batch), so it needs no goroutine.
type progress struct {
	w       io.Writer
	enabled bool
	now     func() time.Time
	start   time.Time
	after   time.Duration
	last    time.Time
	shown   bool
}

// progressEvery is the least time between two updates of the line.
const progressEvery = 200 * time.Millisecond

func newProgress(w io.Writer, enabled bool, after time.Duration, now func() time.Time) *progress {
	return &progress{w: w, enabled: enabled, now: now, start: now(), after: after}
}

// update redraws the line if it is due.
func (p *progress) update(entries, events uint64) {
	if !p.enabled {
		return
	}
	t := p.now()
	elapsed := t.Sub(p.start)
	if elapsed < p.after || (p.shown && t.Sub(p.last) < progressEvery) {
		return
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(entries) / s
	}
	fmt.Fprintf(p.w, "\r\x1b[Kscanning: %s entries read (%s/s)", report.FormatCount(entries), report.FormatCount(uint64(rate)))
	if events > 0 {
		fmt.Fprintf(p.w, ", %s events", report.FormatCount(events))
	}
	p.shown, p.last = true, t
}

// clear removes the line if it was shown.
func (p *progress) clear() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}
