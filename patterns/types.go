// Package patterns loads, validates and orders the signature library: the
// YAML files in patterns.d/ that are embedded in the binary, plus the pattern
// directories a site configures.
package patterns

import (
	"fmt"
	"regexp"

	"github.com/centra-cloud/cflogd/record"
)

// FieldType says how a captured string becomes an event field.
type FieldType int

// Field types.
const (
	// String keeps the capture as it is.
	String FieldType = iota + 1
	// Integer parses a base-10 integer (int64); overflow is an error on the field.
	Integer
	// Duration parses a Rust Debug duration or a bare number of milliseconds
	// into milliseconds (float64; whole numbers are emitted as integers).
	Duration
	// HostPort keeps the capture as a string and also emits its host (string)
	// and port (integer) under the names in Field.HostName and Field.PortName.
	HostPort
)

// Source says where a field's value comes from.
type Source int

// Sources.
const (
	// FromCapture takes the named capture group of the signature's regex.
	FromCapture Source = iota
	// FromTarget takes the line's tracing target.
	FromTarget
	// FromTemplate takes the message with its variable parts masked.
	FromTemplate
)

// Field is one event field a signature emits. A FromCapture field's value
// is the first there is of: the regex's capture named Name (when the regex
// has one and it took part in the match), the event's structured field
// EventField, the journal field JournalField.
type Field struct {
	Name     string
	Type     FieldType
	Source   Source
	HostName string // HostPort only: name of the host field
	PortName string // HostPort only: name of the port field
	// EventField names one of the event's structured fields
	// (record.Entry.Fields: a JSON field, a journal F_* field without its
	// prefix; letter case ignored), or is empty (`field:`).
	EventField string
	// JournalField names a journal field (record.Entry.Journal, as the
	// journal writes it: N_RESTARTS, EXIT_STATUS), or is empty (`journal:`).
	JournalField string
}

// JournalMatch holds when the entry's journal field Field has one of Values
// (exactly).
type JournalMatch struct {
	Field  string
	Values []string
}

// Alternative is one way a signature with `any:` matches: every Journal
// condition holds and Match, when set, matches the message body.
type Alternative struct {
	Pos       Pos
	Match     *regexp.Regexp
	MatchText string
	Journal   []JournalMatch
}

// Op is a comparison operator in a threshold condition.
type Op int

// Operators.
const (
	GE Op = iota + 1 // >=
	GT               // >
	LE               // <=
	LT               // <
	EQ               // ==
	NE               // !=
)

// Condition compares a numeric field with a constant: "latency_ms >= 100".
// A condition on a field the line did not yield is false.
type Condition struct {
	Field string
	Op    Op
	Value float64
	Text  string // as written, for messages
}

// Raise sets the event's severity to Severity when When holds. The highest
// raised severity wins; a raise never lowers the base severity.
type Raise struct {
	When     Condition
	Severity record.Severity
}

// Pos is a position in a pattern file.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Example is a line a signature must classify, with what it must yield.
type Example struct {
	Pos  Pos
	Line string
	// Entry is the example as journal fields (`entry:`), in the order
	// written (MESSAGE, PRIORITY, F_DURATION, MESSAGE_ID, ...), instead of
	// Line; nil when Line is given.
	Entry []record.Field
	// Unit the line belongs to; empty means the signature's first unit.
	Unit string
	// Fields expected exactly (nil: not checked). Values are int64,
	// float64 or string after YAML decoding and normalisation.
	Fields map[string]any
	// Severity expected; 0 means the signature's base severity.
	Severity record.Severity
}

// NearMiss is a line the signature must not match.
type NearMiss struct {
	Pos   Pos
	Line  string
	Entry []record.Field // instead of Line, as in Example
	Unit  string
}

// Signature is one compiled entry of the library.
type Signature struct {
	ID      string
	Pos     Pos      // where it is defined
	Units   []string // units, e.g. "chainfire.service"; `all` expanded to the library's services
	Summary string   // template; {field} is replaced with the field's value
	// Severity is the base severity.
	Severity record.Severity
	// LevelSeverity, when non-nil, maps the line's level to the base severity
	// instead of Severity (service.unclassified: warn->info, error->warning).
	LevelSeverity map[record.Level]record.Severity
	// Levels, when non-empty, restricts the signature to lines of these levels.
	Levels []record.Level
	Anchor string
	// Match is the compiled regex (`match:`) that the message body must
	// match; nil when the signature has none.
	Match *regexp.Regexp
	// MatchText is the regex as written.
	MatchText string
	// Journal are conditions on journal fields (`journal:`) that must all
	// hold, besides Match when it is set.
	Journal []JournalMatch
	// Any are alternatives (`any:`): the entry matches when one of them
	// does. A signature has Match and Journal, or Any.
	Any []Alternative
	// Fallback signatures have no Match, Journal or Any: they match every
	// line their Levels allow that no earlier signature matched.
	Fallback bool
	// CaseSensitive is false unless the file or signature says otherwise; the
	// (?i) flag is already part of Match.
	CaseSensitive bool
	Fields        []Field
	// FireWhen: all must hold for the event to fire.
	FireWhen []Condition
	Raise    []Raise
	GroupBy  []string
	// Before is the id this signature asked to be placed before (`before:`),
	// and BeforePos where it says so; empty when it did not.
	Before     string
	BeforePos  Pos
	Examples   []Example
	NearMisses []NearMiss
}

// Library is an ordered set of signatures: the first match wins.
type Library struct {
	// Services are the services the library knows, in declaration order.
	Services   Services
	Signatures []*Signature
	// Rules are the rules over time (derived events), in load order.
	Rules []*Rule
	// Files lists the files the library was loaded from, in load order.
	Files []string
}
