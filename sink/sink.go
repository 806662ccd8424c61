// Package sink delivers classified events to where people and systems read
// them. Each backend is a subpackage (sink/stdout, and later sink/loki,
// sink/webhook, sink/slack, sink/alertmanager) whose constructor returns a
// concrete type; the router holds them as Sinks.
package sink

import (
	"context"

	"github.com/centra-cloud/cflogd/record"
)

// Sink delivers events to one destination.
type Sink interface {
	// Send delivers events in order. A nil error means every event was
	// accepted; the sink does not keep a reference to events.
	Send(ctx context.Context, events []record.Event) error
}
