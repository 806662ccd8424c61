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
	"slices"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/sink/httpclient"
)

// DefaultPath is where cflogd run looks for its configuration.
const DefaultPath = "/etc/centra-cloud/cflogd.toml"

// Config is the whole configuration. Field comments name the TOML keys.
type Config struct {
	// Units are the systemd units whose entries are classified (units).
	Units []string
	// StateDir holds the cursor, the notification logs and window state
	// (state_dir).
	StateDir string
	// RunbookBase starts every runbook link (runbook_base).
	RunbookBase string
	// Listen is the address of /metrics, /healthz and /readyz; empty turns
	// the HTTP server off (listen).
	Listen string
	// LogLevel is the least level of cflogd's own log: debug, info, warn or
	// error (log_level).
	LogLevel string
	// CheckpointInterval is how often the cursor is saved while entries
	// flow; it bounds the duplicates after a crash (checkpoint_interval).
	CheckpointInterval time.Duration
	// QueueSize is how many batches of read entries (up to 512 each) may
	// wait for the durable sinks before the reader stops (queue_size).
	QueueSize int
	// ShutdownTimeout bounds the flush and checkpoint on SIGTERM
	// (shutdown_timeout).
	ShutdownTimeout time.Duration

	Journal  Journal
	Patterns Patterns
	// Sinks are the [[sink]] tables in file order.
	Sinks []Sink
}

// Journal is the [journal] table.
type Journal struct {
	// Directory reads the journal files of a directory instead of the
	// local journal (directory).
	Directory string
	// Files reads these journal files (files).
	Files []string
	// InitialPosition is where reading starts when no cursor is saved
	// (initial_position).
	InitialPosition Position
}

// Patterns is the [patterns] table.
type Patterns struct {
	// Dirs hold pattern files that add to or replace the built-in library
	// (dirs). A directory that does not exist is skipped.
	Dirs []string
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

// Sink types.
const (
	TypeLoki         = "loki"
	TypeWebhook      = "webhook"
	TypeSlack        = "slack"
	TypeAlertmanager = "alertmanager"
	TypeStdout       = "stdout"
)

// Sink is one [[sink]] table. Which keys apply depends on Type.
type Sink struct {
	// Type is loki, webhook, slack, alertmanager or stdout (type).
	Type string
	// Name identifies the sink in logs, metrics and the notification log;
	// default the type. Names must be unique (name).
	Name string
	// Line is the line of the [[sink]] header, for messages.
	Line int
	// URL is the endpoint (url or url_file).
	URL redact.Secret
	// MinSeverity is the least severe event sent (min_severity); default
	// info for loki and stdout, warning for the others.
	MinSeverity patterns.Severity
	// HTTP is the client part: timeout, bearer_token(_file),
	// basic_auth_user, basic_auth_password(_file), headers, ca_file,
	// cert_file, key_file, server_name, insecure_skip_verify.
	HTTP httpclient.Config
	// RetryMin and RetryMax bound the backoff (retry_min, retry_max);
	// MaxAttempts limits the attempts of the notification sinks
	// (max_attempts). The durable sinks retry until delivered.
	RetryMin, RetryMax time.Duration
	MaxAttempts        int

	// Loki: tenant, labels, batch_size, batch_wait.
	Tenant    string
	Labels    map[string]string
	BatchSize int
	BatchWait time.Duration

	// Webhook: secret(_file), host, max_events.
	Secret    redact.Secret
	Host      string
	MaxEvents int

	// Alertmanager: generator_url, max_alerts; resolve_timeout also for
	// the notification grouping of slack and webhook.
	GeneratorURL   string
	MaxAlerts      int
	ResolveTimeout time.Duration

	// Slack and webhook notification grouping: group_wait, group_interval,
	// repeat_interval.
	GroupWait, GroupInterval, RepeatInterval time.Duration
}

// Durable reports whether the cursor waits for this sink (loki and
// alertmanager): the journal position is saved only behind what it accepted.
func (s Sink) Durable() bool { return s.Type == TypeLoki || s.Type == TypeAlertmanager }

// Notifies reports whether the sink gets grouped notifications (slack and
// webhook).
func (s Sink) Notifies() bool { return s.Type == TypeSlack || s.Type == TypeWebhook }

// Default is the configuration of an empty file.
var Default = Config{
	Units:              []string{"chainfire.service", "flaredb.service", "placement-driver.service"},
	StateDir:           "/var/lib/cflogd",
	RunbookBase:        classify.DefaultRunbookBase,
	Listen:             "127.0.0.1:9958",
	LogLevel:           "info",
	CheckpointInterval: 2 * time.Second,
	QueueSize:          128,
	ShutdownTimeout:    10 * time.Second,
	Journal:            Journal{InitialPosition: Position{LookBack: time.Hour}},
	Patterns:           Patterns{Dirs: []string{"/etc/centra-cloud/cflogd/patterns.d"}},
}

// DefaultSink holds the defaults of a [[sink]] of type t.
func DefaultSink(t string) Sink {
	s := Sink{Type: t, Name: t, MinSeverity: patterns.Warning}
	switch t {
	case TypeLoki:
		s.MinSeverity = patterns.Info
		s.BatchSize = 1 << 20
		s.BatchWait = time.Second
	case TypeStdout:
		s.MinSeverity = patterns.Info
	case TypeSlack, TypeWebhook:
		s.GroupWait = 10 * time.Second
		s.GroupInterval = 5 * time.Minute
		s.RepeatInterval = 4 * time.Hour
		s.ResolveTimeout = 5 * time.Minute
		s.MaxAttempts = 10
		if t == TypeWebhook {
			s.MaxEvents = 100
		}
	case TypeAlertmanager:
		s.ResolveTimeout = 5 * time.Minute
		s.MaxAlerts = 100
	}
	if t != TypeStdout {
		s.HTTP.Timeout = httpclient.DefaultTimeout
		s.RetryMin = 500 * time.Millisecond
		s.RetryMax = 30 * time.Second
	}
	return s
}

// clone returns a deep copy of c, so Default is never shared.
func (c Config) clone() Config {
	c.Units = slices.Clone(c.Units)
	c.Journal.Files = slices.Clone(c.Journal.Files)
	c.Patterns.Dirs = slices.Clone(c.Patterns.Dirs)
	c.Sinks = slices.Clone(c.Sinks)
	return c
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
	c := Default.clone()
	if err := d.decode(string(data), &c); err != nil && len(d.errs) == 0 {
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
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			d.errAt("listen", fmt.Sprintf("want host:port, e.g. 127.0.0.1:9958: %v", err))
		}
	}
	if c.Journal.Directory != "" && len(c.Journal.Files) > 0 {
		d.errAt("journal.files", "set either journal.directory or journal.files, not both")
	}
	if c.CheckpointInterval <= 0 {
		d.errAt("checkpoint_interval", "must be positive")
	}
	if c.QueueSize <= 0 {
		d.errAt("queue_size", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		d.errAt("shutdown_timeout", "must be positive")
	}
	names := map[string]int{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		key := fmt.Sprintf("sink[%d]", i)
		if j, dup := names[s.Name]; dup {
			d.errAt(key+".name", fmt.Sprintf("sink name %q is already used by sink[%d]; give each sink its own name", s.Name, j))
		}
		names[s.Name] = i
		if d.hasErrUnder(key) {
			continue // its own checks would repeat what failed to decode
		}
		if err := s.check(); err != nil {
			for _, e := range splitJoined(err) {
				d.errAt(key, e.Error())
			}
		}
		if s.Notifies() {
			if s.GroupInterval <= 0 {
				d.errAt(key+".group_interval", "must be positive")
			}
			if s.RepeatInterval < s.GroupInterval {
				d.errAt(key+".repeat_interval", "must be at least group_interval")
			}
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

// ParseSize parses a byte size: "1MiB", "512KiB", "1MB", "100B" or a plain
// number of bytes.
func ParseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult := map[string]float64{
		"": 1, "B": 1,
		"KB": 1e3, "MB": 1e6, "GB": 1e9,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
		"k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
	}[unit]
	var v float64
	if _, err := fmt.Sscanf(num, "%g", &v); err != nil || mult == 0 || num == "" {
		return 0, fmt.Errorf("bad size %q (want e.g. \"1MiB\", \"512KiB\" or a number of bytes)", s)
	}
	n := v * mult
	if n < 1 || n > 1<<40 {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return int(n), nil
}

// errNotFound marks a missing *_file.
var errNotFound = errors.New("file not found")
