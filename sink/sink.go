// Package sink delivers classified events to where people and systems read
// them. Each backend is a subpackage (sink/loki, sink/alertmanager,
// sink/slack, sink/webhook, sink/stdout) that owns its [[sink]] table of
// cflogd.toml: a Config with its keys, a Default and Validate, and New
// building the sink. This package holds what the notification sinks share.
package sink

import (
	"cmp"
	"errors"
	"time"
)

// Grouping is how a notification sink (slack, webhook) groups events per
// host and signature, like an Alertmanager route; the daemon's notifier
// applies it. Zero fields take DefaultGrouping's.
type Grouping struct {
	// GroupWait delays the first message of a new group.
	GroupWait time.Duration `toml:"group_wait" doc:"The first message of a new group (per host and signature) waits this long, so that a burst becomes one message."`
	// GroupInterval is the least time between two messages of a group.
	GroupInterval time.Duration `toml:"group_interval" doc:"At most one message per group this often: an update when a new problem (fingerprint) joined the group or the severity rose, with the count since the last message."`
	// RepeatInterval is how often an unchanged problem is notified again.
	RepeatInterval time.Duration `toml:"repeat_interval" doc:"An ongoing problem that did not change is notified again this often; at least 'group_interval'."`
	// ResolveTimeout ends a problem after this long without an event.
	ResolveTimeout time.Duration `toml:"resolve_timeout" doc:"A group with no event for this long has ended; when it comes back it is new."`
}

// DefaultGrouping is Alertmanager's grouping, with a shorter group_wait.
var DefaultGrouping = Grouping{GroupWait: 10 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, ResolveTimeout: 5 * time.Minute}

// WithDefaults returns g with its zero fields taken from DefaultGrouping.
func (g Grouping) WithDefaults() Grouping {
	d := DefaultGrouping
	return Grouping{cmp.Or(g.GroupWait, d.GroupWait), cmp.Or(g.GroupInterval, d.GroupInterval),
		cmp.Or(g.RepeatInterval, d.RepeatInterval), cmp.Or(g.ResolveTimeout, d.ResolveTimeout)}
}

// Validate checks the intervals against each other.
func (g Grouping) Validate() error {
	g = g.WithDefaults()
	if g.GroupWait < 0 || g.GroupInterval < 0 || g.RepeatInterval < 0 || g.ResolveTimeout < 0 {
		return errors.New("group_wait, group_interval, repeat_interval and resolve_timeout must not be negative")
	}
	if g.RepeatInterval < g.GroupInterval {
		return errors.New("repeat_interval must be at least group_interval")
	}
	return nil
}
