// Package stdout writes events as JSON: one object per line (the form Loki
// lines, webhook bodies and scan --output jsonl share), or one JSON array
// written as the events come.
package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// Format says how events are framed.
type Format int

// Formats.
const (
	// Lines writes one JSON object per line.
	Lines Format = iota
	// Array writes one JSON array, an element per line; Close ends it.
	Array
)

// Writer writes events to an io.Writer. It buffers: call Flush or Close.
// It is not safe for concurrent use.
type Writer struct {
	w      *bufio.Writer
	format Format
	buf    bytes.Buffer
	enc    *json.Encoder
	n      int
	closed bool
}

// New returns a Writer of events to w in the given format.
func New(w io.Writer, format Format) *Writer {
	sw := &Writer{w: bufio.NewWriterSize(w, 64<<10), format: format}
	sw.enc = json.NewEncoder(&sw.buf)
	sw.enc.SetEscapeHTML(false)
	return sw
}

// Write writes one event.
func (w *Writer) Write(ev *record.Event) error {
	w.buf.Reset()
	if err := w.enc.Encode(ev); err != nil {
		return fmt.Errorf("encode event %s: %w", ev.Signature, err)
	}
	b := w.buf.Bytes()
	if w.format == Array {
		sep := ",\n"
		if w.n == 0 {
			sep = "[\n"
		}
		if _, err := w.w.WriteString(sep); err != nil {
			return fmt.Errorf("write event: %w", err)
		}
		b = b[:len(b)-1] // the encoder's newline; the next separator adds it
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	w.n++
	return nil
}

// Send writes events and flushes them.
func (w *Writer) Send(_ context.Context, events []record.Event) error {
	for i := range events {
		if err := w.Write(&events[i]); err != nil {
			return err
		}
	}
	return w.Flush()
}

// Flush writes buffered events to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

// Close ends an array (an empty one when no event was written) and flushes.
// It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.format == Array && !w.closed {
		w.closed = true
		end := "\n]\n"
		if w.n == 0 {
			end = "[]\n"
		}
		if _, err := w.w.WriteString(end); err != nil {
			return fmt.Errorf("write events: %w", err)
		}
	}
	return w.Flush()
}

// Config configures the stdout sink: a [[sink]] table of cflogd.toml with
// type = "stdout".
type Config struct {
	// Name identifies the sink in logs and metrics; default "stdout".
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// MinSeverity is the least severe event written; default info.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// Log receives write errors; the zero Logger discards them.
	Log zerolog.Logger `toml:"-"`
}

// Default is the configuration of a [[sink]] table that sets only type.
var Default = Config{Name: "stdout", MinSeverity: record.Info}

// Validate checks the configuration; every value is valid.
func (c Config) Validate() error { return nil }

// Sink writes the events at or above its MinSeverity as JSON lines. It is
// safe for concurrent use.
type Sink struct {
	cfg   Config
	mu    sync.Mutex
	w     *Writer
	stats retry.Stats
}

// NewSink returns a sink writing to w.
func NewSink(w io.Writer, cfg Config) *Sink { return &Sink{cfg: cfg, w: New(w, Lines)} }

// Send writes the events at or above MinSeverity and flushes them. An
// event that cannot be encoded is dropped and logged; a write error is
// returned.
func (s *Sink) Send(_ context.Context, events []record.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range events {
		if events[i].Severity < s.cfg.MinSeverity {
			continue
		}
		if err := s.w.Write(&events[i]); err != nil {
			s.stats.AddDropped(1)
			s.cfg.Log.Error().Err(err).Str("sink", s.cfg.Name).Msg("write event to stdout")
			continue
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		s.stats.AddFailed(1)
		s.cfg.Log.Error().Err(err).Str("sink", s.cfg.Name).Msg("write events to stdout")
		return err
	}
	s.stats.AddSent(n)
	return nil
}

// Stats returns the delivery counters: Sent counts events.
func (s *Sink) Stats() retry.Counts { return s.stats.Snapshot() }

// Close does nothing: the sink does not own its writer.
func (s *Sink) Close() {}
