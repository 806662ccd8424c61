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

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
)

// DefaultPath is where cflogd run looks for its configuration.
const DefaultPath = "/etc/centra-cloud/cflogd.toml"

// Config is the whole configuration. The toml tags name the keys and the
// doc tags describe them for the generated reference (see Reference; code is
// written 'quoted' there and rendered as Markdown code); the decoder itself
// is decode.go.
type Config struct {
	// Units are the systemd units whose entries are classified.
	// Nil (the default) means the units of the pattern library's services.
	Units []string `toml:"units" default:"the units of the pattern library's services" doc:"Units whose entries are classified (their '_SYSTEMD_UNIT', or 'SYSLOG_IDENTIFIER' without '.service'); '[]' reads every unit."`
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
	Sinks []Sink `toml:"sink"`
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

// Sink types.
const (
	TypeLoki         = "loki"
	TypeWebhook      = "webhook"
	TypeSlack        = "slack"
	TypeAlertmanager = "alertmanager"
	TypeStdout       = "stdout"
)

// Sink is one [[sink]] table. Which keys apply depends on Type (sinkKeys in
// decode.go); the defaults depend on it too (DefaultSink).
type Sink struct {
	// Type is loki, webhook, slack, alertmanager or stdout.
	Type string `toml:"type" default:"(required)" doc:"'loki', 'alertmanager', 'slack', 'webhook' or 'stdout'."`
	// Name identifies the sink in logs, metrics and the notification log.
	Name string `toml:"name" default:"the type" doc:"Name of the sink in logs, metrics and its notification log file; must be unique, so set it when two sinks have one type."`
	// Line is the line of the [[sink]] header, for messages.
	Line int `toml:"-"`
	// URL is the endpoint.
	URL redact.Secret `toml:"url" default:"(required)" doc:"The endpoint: Loki's push URL, Alertmanager's base URL (alerts go to '<url>/api/v2/alerts'), the Slack or webhook URL. A URL with a token belongs in 'url_file'."`
	// MinSeverity is the least severe event sent.
	MinSeverity record.Severity `toml:"min_severity" doc:"Least severe event the sink gets: 'info', 'warning', 'error' or 'critical'."`
	// HTTP is the client part: timeout, authentication, headers and TLS.
	HTTP httpclient.Config `toml:",inline"`
	// RetryMin is the first backoff after a failed request.
	RetryMin time.Duration `toml:"retry_min" doc:"First wait after a network error, 429 or 5xx; the wait doubles up to 'retry_max', with jitter, and 'Retry-After' is honoured."`
	// RetryMax caps the backoff.
	RetryMax time.Duration `toml:"retry_max" doc:"Longest wait between attempts. Loki and Alertmanager are retried until they accept (the journal waits), the notification sinks up to 'max_attempts'."`
	// MaxAttempts limits the attempts of the notification sinks; the
	// durable sinks retry until delivered.
	MaxAttempts int `toml:"max_attempts" doc:"Attempts per message before it is given up."`

	// Tenant is Loki's X-Scope-OrgID.
	Tenant string `toml:"tenant" doc:"Sent as 'X-Scope-OrgID'; empty sends none."`
	// Labels are static Loki stream labels.
	Labels map[string]string `toml:"labels" doc:"Static stream labels added to 'job=\"cflogd\"', 'host', 'unit', 'severity' and 'signature', e.g. '{ cluster = \"prod\" }'."`
	// BatchSize is the size of a Loki push.
	BatchSize int `toml:"batch_size" type:"size" doc:"Push when the batch's lines reach this size."`
	// BatchWait bounds how long an event waits in a Loki batch.
	BatchWait time.Duration `toml:"batch_wait" doc:"Push at the latest this long after the batch's first event."`

	// Secret is the webhook's HMAC key.
	Secret redact.Secret `toml:"secret" doc:"Key of the 'X-Cflogd-Signature: sha256=<hex HMAC-SHA256 of the body>' header; none sends no signature."`
	// Host is the webhook body's host.
	Host string `toml:"host" default:"the events' host" doc:"The 'host' of the webhook body."`
	// MaxEvents is the most events in one webhook request.
	MaxEvents int `toml:"max_events" doc:"Events per request."`

	// GeneratorURL is the alerts' generatorURL.
	GeneratorURL string `toml:"generator_url" doc:"The alerts' 'generatorURL', e.g. a Grafana dashboard."`
	// MaxAlerts is the most alerts in one Alertmanager request.
	MaxAlerts int `toml:"max_alerts" doc:"Alerts per request."`
	// ResolveTimeout is how long a problem lasts after its last event.
	ResolveTimeout time.Duration `toml:"resolve_timeout" doc:"How long a problem lasts after its last event: an alert's 'endsAt' is its last event plus this; a Slack or webhook group with no event for this long has ended, and when it comes back it is new."`

	// GroupWait delays the first notification of a new group.
	GroupWait time.Duration `toml:"group_wait" doc:"The first message of a new group (per host and signature) waits this long, so that a burst becomes one message."`
	// GroupInterval is the least time between two notifications of a group.
	GroupInterval time.Duration `toml:"group_interval" doc:"At most one message per group this often: an update when a new problem (fingerprint) joined the group or the severity rose, with the count since the last message."`
	// RepeatInterval is how often an unchanged problem is notified again.
	RepeatInterval time.Duration `toml:"repeat_interval" doc:"An ongoing problem that did not change is notified again this often; at least 'group_interval'."`
}

// httpKeys documents the keys of Sink.HTTP for the reference: an
// httpclient.Config carries no tags, so this type mirrors it field by field
// (TestHTTPKeysMirrorClient checks that it does).
type httpKeys struct {
	Timeout            time.Duration     `toml:"timeout" doc:"One request, from connecting to the last byte of the answer."`
	BearerToken        redact.Secret     `toml:"bearer_token" doc:"Sent as 'Authorization: Bearer <token>'; not with basic auth."`
	BasicAuthUser      string            `toml:"basic_auth_user" doc:"User of basic authentication."`
	BasicAuthPassword  redact.Secret     `toml:"basic_auth_password" doc:"Password of basic authentication (needs 'basic_auth_user')."`
	Headers            map[string]string `toml:"headers" doc:"Extra request headers, e.g. '{ X-Team = \"storage\" }'; never logged."`
	CAFile             string            `toml:"ca_file" default:"the system roots" doc:"PEM bundle of the CAs that sign the server's certificate."`
	CertFile           string            `toml:"cert_file" doc:"Client certificate (PEM) for mTLS, with 'key_file'; both are re-read when they change."`
	KeyFile            string            `toml:"key_file" doc:"Client key (PEM) for mTLS, with 'cert_file'."`
	ServerName         string            `toml:"server_name" default:"the URL's host" doc:"Name the server certificate is checked for."`
	InsecureSkipVerify bool              `toml:"insecure_skip_verify" doc:"Turns certificate verification off; logged as a warning at start. Never in production."`
	UserAgent          string            `toml:"-"`
}

// Durable reports whether the cursor waits for this sink (loki and
// alertmanager): the journal position is saved only behind what it accepted.
func (s Sink) Durable() bool { return s.Type == TypeLoki || s.Type == TypeAlertmanager }

// Notifies reports whether the sink gets grouped notifications (slack and
// webhook).
func (s Sink) Notifies() bool { return s.Type == TypeSlack || s.Type == TypeWebhook }

// Default is the configuration of an empty file.
var Default = Config{
	StateDir:           "/var/lib/cflogd",
	RunbookBase:        record.DefaultRunbookBase,
	Listen:             "127.0.0.1:9958",
	LogLevel:           "info",
	CheckpointInterval: 2 * time.Second,
	QueueSize:          128,
	ShutdownTimeout:    10 * time.Second,
	Journal:            Journal{InitialPosition: Position{LookBack: time.Hour}, Reader: "native"},
	Patterns:           Patterns{Dirs: []string{"/etc/centra-cloud/cflogd/patterns.d"}},
}

// DefaultSink holds the defaults of a [[sink]] of type t.
func DefaultSink(t string) Sink {
	s := Sink{Type: t, Name: t, MinSeverity: record.Warning}
	switch t {
	case TypeLoki:
		s.MinSeverity = record.Info
		s.BatchSize = 1 << 20
		s.BatchWait = time.Second
	case TypeStdout:
		s.MinSeverity = record.Info
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
