package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// The lifecycle lines: what happened to each service in the window, from
// systemd's, systemd-coredump's and the kernel's messages about it (the
// unit.* signatures and the unit.crash_loop rule), one line per service
// (and host, in a fleet) above the tables:
//
//	lifecycle  chainfire.service on node01: 3 crashes (1 OOM kill, 1 core dump), 3 restarts; crash loop at 12:04:00
//
// They count every lifecycle event whatever the minimum severity: a
// restart is a warning, but a count of restarts is what a person reading
// the report asks first.

// Lifecycle signature and rule ids the lines count.
const (
	sigProcessExited   = "unit.process_exited"
	sigOOMKilled       = "unit.oom_killed"
	sigCoreDumped      = "unit.core_dumped"
	sigRestart         = "unit.restart_scheduled"
	sigStartFailed     = "unit.start_failed"
	sigWatchdogTimeout = "unit.watchdog_timeout"
	ruleCrashLoop      = "unit.crash_loop"
)

const (
	// oomGap: unit.oom_killed events of one service on one host less than
	// oomGap apart are one OOM kill. One kill reaches the journal as up to
	// four events within milliseconds: the kernel's "oom-kill:..." and
	// "Killed process N" lines, systemd's "A process of this unit has been
	// killed by the OOM killer" (fe6faa94) and its "Failed with result
	// 'oom-kill'". Counting by time rather than only systemd's fe6faa94
	// message counts an OOM kill whichever of them the scan read (the
	// kernel's lines alone in `journalctl -k` output, systemd's alone in
	// `journalctl -u` output), and needs no look at the message text. A
	// service restarted after an OOM kill (RestartSec=100ms by default)
	// takes longer than this to fill its memory again.
	oomGap = 5 * time.Second
	// lifecycleCap bounds the services (unit and host) counted one by one;
	// past it, the lines say how many more there were.
	lifecycleCap = 256
	// oomRecent is how many recent OOM kills a line of a kill is compared
	// with: the journal of one host is in time order but for clock steps.
	oomRecent = 4
	// crashLoopsShown is how many crash loop times a line lists.
	crashLoopsShown = 3
)

// lifecycleKey is one service on one host.
type lifecycleKey struct{ host, unit string }

// lifecycleStats is what happened to one service on one host.
type lifecycleStats struct {
	crashes, ooms, coreDumps, watchdogs, startFailures uint64
	restarts                                           uint64
	maxCounter                                         int64       // the highest N_RESTARTS seen
	oomTimes                                           []time.Time // the latest OOM kills' line times, at most oomRecent
	loops                                              []time.Time // crash loops, the first crashLoopsShown
	nLoops                                             uint64
}

// lifecycleTally counts lifecycle events per service and host.
type lifecycleTally struct {
	by   map[lifecycleKey]*lifecycleStats
	more map[lifecycleKey]struct{} // past lifecycleCap, counted only as present
}

// add counts ev if it is a lifecycle event.
func (l *lifecycleTally) add(ev *record.Event) {
	switch ev.Signature {
	case sigProcessExited, sigOOMKilled, sigCoreDumped, sigRestart, sigStartFailed, sigWatchdogTimeout, ruleCrashLoop:
	default:
		return
	}
	k := lifecycleKey{ev.Host, ev.Unit}
	s := l.by[k]
	if s == nil {
		if len(l.by) >= lifecycleCap {
			if l.more == nil {
				l.more = map[lifecycleKey]struct{}{}
			}
			if len(l.more) < lifecycleCap {
				l.more[lifecycleKey{strings.Clone(k.host), strings.Clone(k.unit)}] = struct{}{}
			}
			return
		}
		if l.by == nil {
			l.by = make(map[lifecycleKey]*lifecycleStats)
		}
		s = &lifecycleStats{}
		l.by[lifecycleKey{strings.Clone(k.host), strings.Clone(k.unit)}] = s
	}
	t := ev.Time.Time
	switch ev.Signature {
	case sigProcessExited:
		s.crashes++
	case sigOOMKilled:
		// One OOM kill, many lines (see oomGap). A line without a time
		// counts as a kill only when none was counted yet.
		if t.IsZero() {
			if s.ooms == 0 {
				s.ooms++
			}
			break
		}
		i := slices.IndexFunc(s.oomTimes, func(k time.Time) bool { return t.Sub(k).Abs() < oomGap })
		if i < 0 {
			s.ooms++
			if len(s.oomTimes) == oomRecent {
				s.oomTimes = s.oomTimes[1:]
			}
			s.oomTimes = append(s.oomTimes, t)
			break
		}
		// The kill's time is its latest line's, so that a chain of lines
		// each within oomGap of the one before stays one kill.
		if t.After(s.oomTimes[i]) {
			s.oomTimes[i] = t
		}
	case sigCoreDumped:
		s.coreDumps++
	case sigWatchdogTimeout:
		s.watchdogs++
	case sigStartFailed:
		s.startFailures++
	case sigRestart:
		s.restarts++
		if n, ok := ev.Fields["restarts"].(int64); ok && n > s.maxCounter { // an integer field
			s.maxCounter = n
		}
	case ruleCrashLoop:
		s.nLoops++
		if len(s.loops) < crashLoopsShown {
			s.loops = append(s.loops, t)
		}
	}
}

// render writes a line per service (and host when fleet), by unit then
// host; nothing when no lifecycle event was counted.
func (l *lifecycleTally) render(w io.Writer, fleet bool, stamp string, loc *time.Location) {
	if len(l.by) == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(l.by), func(a, b lifecycleKey) int {
		return cmp.Or(strings.Compare(a.unit, b.unit), strings.Compare(a.host, b.host))
	})
	// A single host's name is in the hosts of the whole scan already; in
	// a fleet, each line names its host.
	fleet = fleet || slices.ContainsFunc(keys, func(k lifecycleKey) bool { return k.host != keys[0].host })
	fmt.Fprintln(w)
	for _, k := range keys {
		name := cmp.Or(k.unit, "(no unit)")
		if fleet && k.host != "" {
			name += " on " + k.host
		}
		fmt.Fprintf(w, "lifecycle  %s: %s\n", sanitize(name), l.by[k].describe(stamp, loc))
	}
	if n := len(l.more); n > 0 {
		more := strconv.Itoa(n)
		if n >= lifecycleCap {
			more += " or more"
		}
		fmt.Fprintf(w, "lifecycle  +%s more services with restarts or crashes\n", more)
	}
}

// describe says what happened: "3 crashes (1 OOM kill, 1 core dump), 3
// restarts; crash loop at 12:04:00".
func (s *lifecycleStats) describe(stamp string, loc *time.Location) string {
	count := func(n uint64, one, many string) string { return commas(n) + " " + plural(n, one, many) }
	var how []string
	if s.ooms > 0 {
		how = append(how, count(s.ooms, "OOM kill", "OOM kills"))
	}
	if s.coreDumps > 0 {
		how = append(how, count(s.coreDumps, "core dump", "core dumps"))
	}
	if s.watchdogs > 0 {
		how = append(how, count(s.watchdogs, "watchdog timeout", "watchdog timeouts"))
	}
	var parts []string
	switch {
	case s.crashes > 0 && len(how) > 0:
		parts = append(parts, count(s.crashes, "crash", "crashes")+" ("+strings.Join(how, ", ")+")")
	case s.crashes > 0:
		parts = append(parts, count(s.crashes, "crash", "crashes"))
	default:
		// An OOM kill of another process of the unit (OOMPolicy=continue),
		// say, or the scan began after the main process exited.
		parts = append(parts, how...)
	}
	if s.restarts > 0 {
		r := count(s.restarts, "restart", "restarts")
		// The counter tells of restarts before the window when it is
		// higher than the restarts seen in it.
		if uint64(s.maxCounter) > s.restarts {
			r += " (restart counter at " + strconv.FormatInt(s.maxCounter, 10) + ")"
		}
		parts = append(parts, r)
	}
	if s.startFailures > 0 {
		parts = append(parts, count(s.startFailures, "failed start", "failed starts"))
	}
	out := strings.Join(parts, ", ")
	if s.nLoops > 0 {
		times := make([]string, len(s.loops))
		for i, t := range s.loops {
			times[i] = fmtStamp(t, stamp, loc)
		}
		if rest := s.nLoops - uint64(len(s.loops)); rest > 0 {
			times = append(times, "+"+commas(rest)+" more")
		}
		if out != "" {
			out += "; "
		}
		out += plural(s.nLoops, "crash loop", "crash loops") + " at " + strings.Join(times, ", ")
	}
	return out
}
