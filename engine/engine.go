// Package engine turns journal entries into events, the one path that both
// cflogd scan and cflogd run read through: it classifies each entry (a
// classifier panic costs that entry alone, which becomes a
// cflogd.internal_error event), feeds the rules over time in reading order
// (windows, clock steps) and gives back the events and the derived events in
// the order the entries were read.
package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// InternalErrorSignature is the signature of the event that stands for an
// entry the classifier failed on.
const InternalErrorSignature = "cflogd.internal_error"

// maxFailureLogs is how many failed entries are logged one by one; after
// that, one in every failureLogEvery.
const (
	maxFailureLogs  = 10
	failureLogEvery = 1000
)

// Options configure an Engine.
type Options struct {
	// RunbookBase starts the runbook links (empty: record.DefaultRunbookBase).
	RunbookBase string
	// Ignore, when set, drops an entry before it is classified (the daemon's
	// own log lines).
	Ignore func(*record.Entry) bool
	// Log receives a record for each entry the classifier failed on.
	Log zerolog.Logger
}

// Engine classifies entries and derives events over time. Process, Replay
// and Replace may be called from different goroutines; the classifier and
// the rules always change together, between two calls.
type Engine struct {
	opts Options
	lib  *patterns.Library // the library in use, guarded by mu

	mu    sync.Mutex // guards cls (for writers), rules and dirty
	cls   atomic.Pointer[classify.Classifier]
	rules *classify.Rules
	dirty bool // the windows changed since the last MarshalRules

	failures atomic.Uint64

	// matchInto is classify.Classifier.MatchInto; tests put a failing one
	// in its place.
	matchInto func(*classify.Classifier, *record.Entry, *classify.Match) bool
}

// New returns an Engine for the signatures and rules of lib.
func New(lib *patterns.Library, opts Options) *Engine {
	e := &Engine{opts: opts, matchInto: (*classify.Classifier).MatchInto}
	e.cls.Store(e.classifier(lib))
	e.rules, e.lib = classify.NewRules(lib, e.classifyOptions()), lib
	return e
}

func (e *Engine) classifyOptions() classify.Options {
	return classify.Options{RunbookBase: e.opts.RunbookBase}
}

func (e *Engine) classifier(lib *patterns.Library) *classify.Classifier {
	return classify.New(lib, e.classifyOptions())
}

// Replace switches to the signatures and rules of lib, keeping the windows
// of the rules that did not change. The error says the windows could not be
// carried over; the new library is in use all the same.
func (e *Engine) Replace(lib *patterns.Library) error {
	cls := e.classifier(lib)
	next := classify.NewRules(lib, e.classifyOptions())
	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := e.rules.MarshalState()
	if err == nil {
		err = next.UnmarshalState(b)
	}
	e.cls.Store(cls)
	e.rules, e.lib, e.dirty = next, lib, true
	return err
}

// Library returns the library in use.
func (e *Engine) Library() *patterns.Library {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lib
}

// ResetRules empties the windows of every rule over time.
func (e *Engine) ResetRules() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules, e.dirty = classify.NewRules(e.lib, e.classifyOptions()), true
}

// Failures is how many entries the classifier failed on so far.
func (e *Engine) Failures() uint64 { return e.failures.Load() }

// HasRules reports whether the library has rules over time.
func (e *Engine) HasRules() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rules.Len() > 0
}

// Process classifies entries, in order, and appends to out their events,
// each followed by the derived events it made fire.
func (e *Engine) Process(entries []record.Entry, out []record.Event) []record.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var m classify.Match
	for i := range entries {
		if e.match(e.cls.Load(), &entries[i], &m) {
			out = e.derive(&m, out)
		}
	}
	return out
}

// Replay feeds entries to the rules over time only: their events, derived
// ones too, were delivered before (the daemon after a restart).
func (e *Engine) Replay(entries []record.Entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var m classify.Match
	for i := range entries {
		if e.match(e.cls.Load(), &entries[i], &m) && e.rules.Wants(m.Signature) {
			e.dirty = true
			e.rules.Feed(&m, nil)
		}
	}
}

// RulesChanged reports whether the windows changed since the last
// MarshalRules.
func (e *Engine) RulesChanged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dirty
}

// MarshalRules returns the windows of the rules over time, as of the last
// entry processed.
func (e *Engine) MarshalRules() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := e.rules.MarshalState()
	if err != nil {
		return nil, fmt.Errorf("encode rule windows: %w", err)
	}
	e.dirty = false
	return b, nil
}

// UnmarshalRules restores windows that MarshalRules returned.
func (e *Engine) UnmarshalRules(b []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rules.UnmarshalState(b)
}

// derive appends m's event and the events it makes the rules derive.
// The caller holds mu.
func (e *Engine) derive(m *classify.Match, out []record.Event) []record.Event {
	if m.HasEvent {
		out = append(out, m.Event)
	}
	if e.rules.Wants(m.Signature) {
		e.dirty = true
		out = e.rules.Feed(m, out)
	}
	return out
}

// match classifies one entry into m. An entry the classifier panics on
// becomes an internal error event; an ignored entry, or one no signature
// took, gives false.
func (e *Engine) match(cls *classify.Classifier, entry *record.Entry, m *classify.Match) (ok bool) {
	if e.opts.Ignore != nil && e.opts.Ignore(entry) {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			*m = classify.Match{Signature: InternalErrorSignature, HasEvent: true, Event: e.failed(entry, r)}
			ok = true
		}
	}()
	return e.matchInto(cls, entry, m)
}

// failed counts and logs an entry the classifier panicked on and returns
// the event that stands for it.
func (e *Engine) failed(entry *record.Entry, r any) record.Event {
	n := e.failures.Add(1)
	if n <= maxFailureLogs || n%failureLogEvery == 0 {
		e.opts.Log.Error().Str("cursor", entry.Cursor).Str("unit", entry.Unit).
			Uint64("failures", n).Str("panic", fmt.Sprint(r)).Bytes("stack", debug.Stack()).
			Msg("classifier failed on an entry; reading goes on")
	}
	summary := fmt.Sprintf("cflogd could not classify an entry of %s: %v", entry.Unit, r)
	return record.Event{
		Time:        record.Time{Time: entry.Time},
		Host:        entry.Host,
		Unit:        entry.Unit,
		Signature:   InternalErrorSignature,
		Severity:    record.Error,
		Summary:     summary,
		Fields:      map[string]any{"panic": fmt.Sprint(r)},
		Message:     entry.Message,
		Target:      entry.Target,
		Priority:    entry.Priority,
		PID:         entry.PID,
		BootID:      entry.BootID,
		Cursor:      entry.Cursor,
		Fingerprint: fmt.Sprintf("%016x", xxhash.Sum64String(InternalErrorSignature+"\x00"+entry.Host+"\x00"+entry.Unit)),
	}
}

// ReadFunc reads batches of entries and calls fn for each, in reading
// order; it stops with fn's first error.
type ReadFunc func(ctx context.Context, fn func([]record.Entry) error) error

// ConsumeFunc takes one batch: its entries and, in order, their events and
// derived events.
type ConsumeFunc func(entries []record.Entry, events []record.Event) error
