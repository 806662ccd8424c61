// Package config reads cflogd.toml, the daemon's configuration: strict TOML
// where every key has a default (an empty file is a valid configuration),
// unknown keys and bad values are errors naming the key and its line, and
// every secret can come from a `*_file` key instead (systemd's
// LoadCredential=).
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// DefaultPath is where cflogd run looks for its configuration.
const DefaultPath = "/etc/centra-cloud/cflogd.toml"

// Config is the whole configuration. The toml tags name the keys, for the
// decoder (decode.go) and the generated reference (see Reference), and the
// doc tags describe them (code is written 'quoted' there and rendered as
// Markdown code). Each [[sink]] table is its sink package's Config.
type Config struct {
	// Units are the systemd units whose entries are classified.
	// Nil (the default) means the units of the pattern library's services.
	Units []string `toml:"units" default:"the units of the pattern library's services" doc:"Units whose entries are classified (their '_SYSTEMD_UNIT', or one of their services' 'identifiers' as 'SYSLOG_IDENTIFIER'); '[]' reads every unit."`
	// StateDir holds the cursor, the notification logs and window state.
	StateDir string `toml:"state_dir" type:"path" doc:"Absolute path of the saved cursor ('cursor.json') and the notification logs ('notify-<sink>.json'); created 0700 with files 0600, and locked against a second cflogd."`
	// RunbookBase starts every runbook link.
	RunbookBase string `toml:"runbook_base" doc:"Start of every runbook link in the events."`
	// Listen is the address of /metrics, /healthz and /readyz; empty turns
	// the HTTP server off.
	Listen string `toml:"listen" doc:"Address of '/metrics', '/healthz' and '/readyz'; loopback unless set (e.g. '0.0.0.0:9958' for a Prometheus on another host, then firewall it); '\"\"' turns the HTTP server off."`
	// LogLevel is the least level of cflogd's own log: debug, info, warn or
	// error.
	LogLevel string `toml:"log_level" doc:"Least level of cflogd's own log: 'debug', 'info', 'warn' or 'error' (JSON to stderr, console format on a terminal)."`
	// CheckpointInterval is how often the cursor is saved while entries
	// flow; it bounds the duplicates after a crash.
	CheckpointInterval time.Duration `toml:"checkpoint_interval" doc:"How often the cursor is saved while entries flow; bounds the duplicates after a crash."`
	// QueueSize is how many batches of read entries (up to 512 each) may
	// wait for the durable sinks before the reader stops.
	QueueSize int `toml:"queue_size" doc:"Batches of read entries (up to 512 each, counted only when they hold events) that may wait for the durable sinks before the reader stops."`
	// ShutdownTimeout bounds the flush and checkpoint on SIGTERM.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout" doc:"Time to deliver and checkpoint after SIGTERM; what is not delivered by then is read again at the next start."`

	// Journal is the [journal] table.
	Journal Journal `toml:"journal"`
	// Patterns is the [patterns] table.
	Patterns Patterns `toml:"patterns"`
	// Sinks are the [[sink]] tables in file order.
	Sinks []SinkConfig `toml:"sink"`
	// SinkLines are the lines of their [[sink]] headers, for messages.
	SinkLines []int `toml:"-"`
}

// SinkConfig is one [[sink]] table decoded into the Config of the sink
// package its type names: loki.Config, alertmanager.Config, slack.Config,
// webhook.Config or stdout.Config (see sinkTypes).
type SinkConfig interface {
	// Validate checks the fields that depend on each other.
	Validate() error
}

// Journal is the [journal] table.
type Journal struct {
	// Directory reads the journal files of a directory instead of the
	// local journal.
	Directory string `toml:"directory" type:"path" doc:"Empty: the local journal (the system and runtime journals of this machine); else a directory of journal files, e.g. one that 'systemd-journal-remote' writes."`
	// Files reads these journal files.
	Files []string `toml:"files" doc:"Explicit journal files to read instead (not with 'directory')."`
	// InitialPosition is where reading starts when no cursor is saved.
	InitialPosition Position `toml:"initial_position" doc:"Where to start when no cursor is saved (the first start, or an unusable cursor file, which is logged): 'head' (the oldest entry), 'tail' (only new entries) or a look-back such as '1h', '30m', '2d'."`
	// FieldPrefix is the prefix tracing-journald gives the event's fields.
	FieldPrefix string `toml:"field_prefix" doc:"The prefix the services' tracing-journald layer gives their events' fields (its 'with_field_prefix', 'F' by default: 'F_DURATION=2s' is the field 'duration'); '\"\"' for a layer set to no prefix, whose every field that is not one of journald's own is an event field. Upper-case letters, digits and '_'."`
	// Reader is how followed entries are read: "native" or "sdjournal".
	Reader string `toml:"reader" doc:"How the daemon reads the entries it follows: 'native' reads the journal files' format directly, with sd-journal (libsystemd) still deciding where reading starts and reading what the native reader does not (compressed fields; a file it cannot read makes it hand over to sd-journal for the rest of the run, logged once); 'sdjournal' reads every entry through sd-journal, at about twice the CPU (BENCHMARKS.md)."`
}

// Patterns is the [patterns] table.
type Patterns struct {
	// Dirs hold pattern files that add to or replace the built-in library.
	// A directory that does not exist is skipped.
	Dirs []string `toml:"dirs" doc:"Directories of pattern files that add signatures or replace built-in ones by id (docs/patterns.md); a directory that does not exist is skipped; reloaded on SIGHUP."`
}

// Position is [journal] initial_position: "head", "tail" or a look-back
// such as "1h".
type Position struct {
	// Head starts at the oldest entry.
	Head bool
	// Tail starts after the newest entry.
	Tail bool
	// LookBack starts this long before now (when neither Head nor Tail).
	LookBack time.Duration
}

// String formats the position as it is written in the file.
func (p Position) String() string {
	switch {
	case p.Head:
		return "head"
	case p.Tail:
		return "tail"
	}
	return formatDuration(p.LookBack)
}

// ParsePosition parses "head", "tail" or a duration.
func ParsePosition(s string) (Position, error) {
	switch s {
	case "head":
		return Position{Head: true}, nil
	case "tail":
		return Position{Tail: true}, nil
	}
	d, err := ParseDuration(s)
	if err != nil || d <= 0 {
		return Position{}, fmt.Errorf("want \"head\", \"tail\" or a positive look-back such as \"1h\", not %q", s)
	}
	return Position{LookBack: d}, nil
}

// UnmarshalText parses the position as ParsePosition does.
func (p *Position) UnmarshalText(b []byte) (err error) {
	*p, err = ParsePosition(string(b))
	return err
}

// Default is the configuration of an empty file.
var Default = Config{
	StateDir:           "/var/lib/cflogd",
	RunbookBase:        record.DefaultRunbookBase,
	Listen:             "127.0.0.1:9958",
	LogLevel:           "info",
	CheckpointInterval: 2 * time.Second,
	QueueSize:          128,
	ShutdownTimeout:    10 * time.Second,
	Journal:            Journal{InitialPosition: Position{LookBack: time.Hour}, Reader: "native", FieldPrefix: "F"},
	Patterns:           Patterns{Dirs: []string{"/etc/centra-cloud/cflogd/patterns.d"}},
}

// Error is one problem of a configuration file.
type Error struct {
	// File and Line locate the key; Line is 0 when unknown.
	File string
	Line int
	// Key is the dotted key, e.g. "sink[1].group_wait".
	Key string
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList holds every problem of a configuration file, in line order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Load reads and checks the configuration file at path. Problems come back
// as an ErrorList naming each key and line; a file that cannot be read is a
// plain error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and checks a configuration; name is the file name used in
// errors, and relative *_file paths are taken relative to its directory.
func Parse(name string, data []byte) (*Config, error) {
	d := &decoder{file: name, dir: filepath.Dir(name)}
	c := Default
	if err := d.decode(string(data), &c); err != nil {
		return nil, err // a syntax error: nothing was decoded
	}
	if err := c.validate(d); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the fields that depend on each other and on the sinks'
// own rules.
func (c *Config) Validate() error {
	return c.validate(&decoder{file: "config"})
}

func (c *Config) validate(d *decoder) error {
	if c.StateDir == "" {
		d.errAt("state_dir", "must not be empty")
	} else if !filepath.IsAbs(c.StateDir) {
		d.errAt("state_dir", fmt.Sprintf("must be an absolute path, not %q", c.StateDir))
	}
	if c.Listen != "" && !d.hasErrUnder("listen") {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil {
			d.errAt("listen", fmt.Sprintf("want host:port, e.g. 127.0.0.1:9958: %v", err))
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			d.errAt("listen", fmt.Sprintf("want host:port with a port number, e.g. 127.0.0.1:9958, not %q", c.Listen))
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		d.errAt("log_level", fmt.Sprintf("want debug, info, warn or error, not %q", c.LogLevel))
	}
	if strings.TrimFunc(c.Journal.FieldPrefix, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' }) != "" {
		d.errAt("journal.field_prefix", fmt.Sprintf("%q: want upper-case letters, digits and _ (as journal field names)", c.Journal.FieldPrefix))
	}
	if c.Journal.Reader != "native" && c.Journal.Reader != "sdjournal" {
		d.errAt("journal.reader", fmt.Sprintf("%q: want \"native\" or \"sdjournal\"", c.Journal.Reader))
	}
	if c.Journal.Directory != "" && len(c.Journal.Files) > 0 {
		d.errAt("journal.files", "set either journal.directory or journal.files, not both")
	}
	for _, f := range []struct {
		key string
		v   int64
	}{{"checkpoint_interval", int64(c.CheckpointInterval)}, {"queue_size", int64(c.QueueSize)}, {"shutdown_timeout", int64(c.ShutdownTimeout)}} {
		if f.v <= 0 && !d.hasErrUnder(f.key) {
			d.errAt(f.key, "must be positive")
		}
	}
	names := map[string]int{}
	for i, s := range c.Sinks {
		key := fmt.Sprintf("sink[%d]", i)
		name := SinkName(s)
		if j, dup := names[name]; dup {
			d.errAt(key+".name", fmt.Sprintf("sink name %q is already used by sink[%d]; give each sink its own name", name, j))
		} else if name == "" || strings.ContainsAny(name, "/\\ \t\n") {
			d.errAt(key+".name", fmt.Sprintf("want a non-empty name without spaces or slashes, not %q", name))
		}
		names[name] = i
		if d.hasErrUnder(key) {
			continue // its own checks would repeat what failed to decode
		}
		for _, e := range splitJoined(s.Validate()) {
			d.errAt(key, e.Error())
		}
	}
	return d.result()
}

// splitJoined undoes errors.Join, so each problem gets its own line.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// ParseDuration parses a Go duration ("10s", "5m", "1h30m") or a number of
// days ("2d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn") {
		d, err := time.ParseDuration(n + "h")
		if err != nil {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return d * 24, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. \"10s\", \"5m\", \"4h\")", s)
	}
	return d, nil
}

// formatDuration writes d without zero units: 1h, 90m, 10s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// sizeText is a byte size: a decimal number and an optional unit.
var sizeText = regexp.MustCompile(`^(\d+(?:\.\d+)?) *([A-Za-z]*)$`)

// sizeUnits are the units ParseSize knows.
var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	"k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
}

// ParseSize parses a byte size: "1MiB", "1.5MiB", "512KiB", "1MB", "100B"
// or a plain number of bytes.
func ParseSize(s string) (int, error) {
	m := sizeText.FindStringSubmatch(strings.TrimSpace(s))
	mult, ok := 0.0, false
	if m != nil {
		mult, ok = sizeUnits[m[2]]
	}
	if !ok {
		return 0, fmt.Errorf("bad size %q (want e.g. \"1MiB\", \"512KiB\" or a number of bytes)", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64) // the pattern admits only numbers
	n := v * mult
	if n < 1 || n > 1<<40 {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return int(n), nil
}

// errNotFound marks a missing *_file.
var errNotFound = errors.New("file not found")
