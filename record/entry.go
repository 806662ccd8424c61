package record

import (
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
	// them, in the order read: the journal fields whose name starts with
	// the reader's field prefix ("F_" by default), with the prefix removed
	// and the name lower-cased (F_DURATION=2s gives {"duration", "2s"}).
	// With no prefix configured, every field a client sent that is not one
	// of journald's or tracing-journald's own (MESSAGE, PRIORITY, TARGET,
	// CODE_*, SYSLOG_*, SPAN_*, ...). A name may repeat: tracing-journald
	// 0.3 writes span fields with the same prefix. Values are cut at
	// MaxFieldValue bytes and may hold any bytes. Nil when there are none,
	// and for entries that are not the service's own (lifecycle entries).
	Fields []Field
	// Journal holds other journal fields by their journal name, verbatim:
	// those the reader was asked for, and, on an entry about a service
	// rather than from it (systemd's, systemd-coredump's, journald's or the
	// kernel's; see the tail package), the fields that matched it and the
	// lifecycle fields (MESSAGE_ID, UNIT_RESULT, EXIT_CODE, ...). Only the
	// first occurrence of a name is kept; values are cut at MaxFieldValue
	// bytes. Nil when there are none.
	Journal []Field
}

// Field is one named field of an entry.
type Field struct {
	Name, Value string
}

// MaxFieldValue is the most bytes of a value in Entry.Fields or
// Entry.Journal: the readers cut longer values to it.
const MaxFieldValue = 64 << 10

// Lookup returns the value of the last field named name: a later field
// wins. Journal field names are compared exactly, as journald keeps them
// (upper case).
func Lookup(fields []Field, name string) (string, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		if fields[i].Name == name {
			return fields[i].Value, true
		}
	}
	return "", false
}

// NoPriority is Entry.Priority when the entry carries no PRIORITY field.
const NoPriority = -1
