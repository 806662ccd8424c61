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

	"github.com/centra-cloud/cflogd/record"
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
