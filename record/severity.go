package record

import "fmt"

// Severity orders how urgently a person must act on an event.
type Severity int

// The severities, in increasing order.
const (
	Info Severity = iota + 1
	Warning
	Error
	Critical
)

var severityNames = [...]string{Info: "info", Warning: "warning", Error: "error", Critical: "critical"}

// String returns the severity's name as it appears in events and files.
func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// severityByName are the names ParseSeverity takes.
var severityByName = map[string]Severity{"info": Info, "warning": Warning, "warn": Warning, "error": Error, "critical": Critical, "crit": Critical}

// ParseSeverity parses "info", "warning", "error" or "critical" (also "warn"
// and "crit").
func ParseSeverity(s string) (Severity, error) {
	if v, ok := severityByName[s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning, error or critical)", s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Level is the log level of a line, from its text or else from PRIORITY.
type Level int

// Levels, in increasing order of importance. LevelNone means none was found.
const (
	LevelNone Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// levelByName are the names ParseLevel takes.
var levelByName = map[string]Level{"trace": LevelTrace, "debug": LevelDebug, "info": LevelInfo, "warn": LevelWarn, "warning": LevelWarn, "error": LevelError}

// ParseLevel parses a log level name: trace, debug, info, warn (or warning), error.
func ParseLevel(s string) (Level, error) {
	if l, ok := levelByName[s]; ok {
		return l, nil
	}
	return LevelNone, fmt.Errorf("unknown level %q (want trace, debug, info, warn or error)", s)
}

var levelNames = [...]string{LevelNone: "none", LevelTrace: "trace", LevelDebug: "debug", LevelInfo: "info", LevelWarn: "warn", LevelError: "error"}

// String returns the level's name as written in pattern files.
func (l Level) String() string {
	if l < LevelNone || l > LevelError {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}
