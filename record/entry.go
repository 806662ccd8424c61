package record

import (
	"strings"
	"time"
)

// Entry is one journal entry, reduced to the fields cflogd uses.
type Entry struct {
	// Time is the entry's realtime timestamp (__REALTIME_TIMESTAMP).
	Time time.Time
	// Host is _HOSTNAME.
	Host string
	// Unit is the systemd unit the entry belongs to, e.g. "chainfire.service":
	// _SYSTEMD_UNIT, or SYSLOG_IDENTIFIER + ".service" when that names one of
	// the watched services; empty when unknown (text input without --unit).
	Unit string
	// Identifier is SYSLOG_IDENTIFIER.
	Identifier string
	// Message is MESSAGE, as bytes decoded to a string (it may hold invalid
	// UTF-8 or NUL bytes; consumers must cope).
	Message string
	// Priority is PRIORITY (0-7), or -1 when the entry has none.
	Priority int
	// Target is the TARGET field that tracing-journald writes, or "".
	Target string
	// PID is _PID, or 0.
	PID int
	// BootID is _BOOT_ID.
	BootID string
	// Cursor is the journal cursor of the entry; empty for text input.
	Cursor string
	// Fields are the event's structured fields as tracing-journald writes
	// them (F_DURATION=1s): the name without the prefix, in lower case
	// ("duration"), in the order read; nil when the entry has none.
	Fields []Field
	// Journal are the other journal fields classification asks for by name
	// (MESSAGE_ID, UNIT_RESULT, N_RESTARTS, ...), named as in the journal;
	// nil when the entry has none.
	Journal []Field
}

// Field is one named field of an entry.
type Field struct {
	Name, Value string
}

// Lookup returns the value of the last field named name (ASCII case
// ignored): a later field wins, as a later JSON key does.
func Lookup(fields []Field, name string) (string, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		if strings.EqualFold(fields[i].Name, name) {
			return fields[i].Value, true
		}
	}
	return "", false
}

// NoPriority is Entry.Priority when the entry carries no PRIORITY field.
const NoPriority = -1
