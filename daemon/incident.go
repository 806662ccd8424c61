package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/centra-cloud/cflogd/record"
)

// A crash of a service reaches the journal as several entries within a
// second: the kernel's OOM-killer line, systemd's "killed by the OOM
// killer", "Main process exited", "Failed with result 'oom-kill'", systemd-
// coredump's report, "Scheduled restart job". Each is an event of its own
// (in scan, Loki and Alertmanager), but a person is told once: the
// notification sinks (Slack, webhook) group the lifecycle events of one
// service on one host, and the message says what happened in one line,
// "chainfire.service on node01 was OOM-killed and restarted (restart 5)".

// lifecyclePrefix starts the ids of the service lifecycle signatures and
// of the crash loop rule.
const lifecyclePrefix = "unit."

// notifyGroup is the group an event is notified in: its host and
// signature, or for a lifecycle event its host and unit.
func notifyGroup(ev *record.Event) groupKey {
	if strings.HasPrefix(ev.Signature, lifecyclePrefix) {
		return groupKey{ev.Host, lifecyclePrefix + "* " + ev.Unit}
	}
	return groupKey{ev.Host, ev.Signature}
}

// isLifecycleGroup reports whether a group holds lifecycle events.
func isLifecycleGroup(k groupKey) bool { return strings.HasPrefix(k.Signature, lifecyclePrefix+"* ") }

// withIncident returns a lifecycle group's events for a message: a copy in
// which the headline (the most severe event, the latest of those) comes
// last, carries the newest time and says in one sentence what happened to
// the service; the group's events are not changed.
func withIncident(events []record.Event) []record.Event {
	if len(events) == 0 {
		return events
	}
	out := append([]record.Event(nil), events...)
	head := 0
	for i := range out {
		if out[i].Severity > out[head].Severity || (out[i].Severity == out[head].Severity && !out[i].Time.Before(out[head].Time.Time)) {
			head = i
		}
	}
	h := out[head]
	h.Summary = incidentSummary(out)
	// The headline is the message's newest event, which the sinks lead
	// with.
	last := h.Time
	for i := range out {
		if out[i].Time.After(last.Time) {
			last = out[i].Time
		}
	}
	h.Time = last
	out = append(out[:head], out[head+1:]...)
	return append(out, h)
}

// incidentSummary says in one sentence what the lifecycle events of one
// service tell: "chainfire.service on node01 was OOM-killed and restarted
// (restart 5)".
func incidentSummary(events []record.Event) string {
	var what []string
	add := func(s string) {
		if !slices.Contains(what, s) {
			what = append(what, s)
		}
	}
	restarts, restarted := int64(0), false
	loop := ""
	for i := range events {
		ev := &events[i]
		switch ev.Signature {
		case "unit.oom_killed":
			add("was OOM-killed")
		case "unit.core_dumped":
			if sig, ok := ev.Fields["signal"].(string); ok && sig != "" {
				add("dumped core (" + sig + ")")
			} else {
				add("dumped core")
			}
		case "unit.watchdog_timeout":
			add("hit its watchdog timeout")
		case "unit.start_failed":
			add("failed to start")
		case "unit.restart_scheduled":
			restarted = true
			if n, ok := ev.Fields["restarts"].(int64); ok && n > restarts {
				restarts = n
			}
		case "unit.crash_loop":
			loop = ev.Summary
		}
	}
	if len(what) == 0 {
		// A crash says more than the result systemd gives the unit for it
		// ("Failed with result 'exit-code'"): that is told only alone.
		for i := range events {
			ev := &events[i]
			if ev.Signature != "unit.process_exited" {
				continue
			}
			code, _ := ev.Fields["exit_code"].(string)
			if code == "" {
				add("crashed")
			} else {
				add(fmt.Sprintf("crashed (code=%s, status=%v)", code, ev.Fields["exit_status"]))
			}
		}
		for i := range events {
			ev := &events[i]
			if ev.Signature != "unit.failed" || len(what) > 0 {
				continue
			}
			if r, ok := ev.Fields["result"].(string); ok && r != "" {
				add("failed (result " + r + ")")
			} else {
				add("failed")
			}
		}
	}
	h := events[len(events)-1]
	s := h.Unit + " on " + h.Host
	switch {
	case len(what) > 0:
		s += " " + strings.Join(what, ", ")
		if restarted {
			s += " and restarted"
		}
	case restarted:
		s += " was restarted"
	default:
		s += ": " + h.Summary
	}
	if restarts > 0 {
		s += fmt.Sprintf(" (restart %d)", restarts)
	}
	if loop != "" {
		s += "; " + loop
	}
	return s
}
