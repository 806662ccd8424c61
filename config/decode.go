package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
)

// decoder walks the decoded TOML tree, filling a Config and collecting
// every problem with its line.
type decoder struct {
	file, dir string
	pos       map[string]int
	errs      ErrorList
}

func (d *decoder) errAt(key, msg string) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lineOf(key), Key: key, Msg: msg})
}

// hasErrUnder reports whether an error was reported for key or a key in it.
func (d *decoder) hasErrUnder(key string) bool {
	for _, e := range d.errs {
		if e.Key == key || strings.HasPrefix(e.Key, key+".") {
			return true
		}
	}
	return false
}

// lineOf returns the line of key, else of its closest parent that has one.
func (d *decoder) lineOf(key string) int {
	for k := key; k != ""; {
		if l, ok := d.pos[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int { return a.Line - b.Line })
	return d.errs
}

// decode parses data into c. Syntax errors stop it; value errors are
// collected.
func (d *decoder) decode(data string, c *Config) error {
	var raw map[string]any
	if _, err := toml.Decode(data, &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if secretKey(pe.LastKey) {
				// The parser quotes what it found: the secret, typed without quotes.
				msg = quotedText.ReplaceAllStringFunc(msg, func(q string) string {
					if strings.Trim(q, `"'`) == pe.LastKey {
						return q
					}
					return `"` + redact.Mask + `"`
				}) + " (the value is not shown: it may be a secret)"
			}
			return ErrorList{{File: d.file, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}}
		}
		return ErrorList{{File: d.file, Msg: err.Error()}}
	}
	d.pos = positions(data)
	for _, k := range d.ordered(raw, "") {
		v := raw[k]
		switch k {
		case "units":
			d.strings(k, v, &c.Units)
		case "state_dir":
			d.str(k, v, &c.StateDir)
		case "runbook_base":
			d.str(k, v, &c.RunbookBase)
		case "listen":
			d.str(k, v, &c.Listen)
		case "log_level":
			var s string
			if d.str(k, v, &s) {
				switch s {
				case "debug", "info", "warn", "error":
					c.LogLevel = s
				default:
					d.errAt(k, fmt.Sprintf("want debug, info, warn or error, not %q", s))
				}
			}
		case "checkpoint_interval":
			d.duration(k, v, &c.CheckpointInterval)
		case "queue_size":
			d.integer(k, v, &c.QueueSize)
		case "shutdown_timeout":
			d.duration(k, v, &c.ShutdownTimeout)
		case "journal":
			d.journal(k, v, &c.Journal)
		case "patterns":
			d.patterns(k, v, &c.Patterns)
		case "sink":
			tables, ok := v.([]map[string]any)
			if !ok {
				d.errAt(k, "must be an array of tables: write [[sink]]")
				continue
			}
			for i, t := range tables {
				key := fmt.Sprintf("sink[%d]", i)
				if s, ok := d.sink(key, t); ok {
					c.Sinks = append(c.Sinks, s)
				}
			}
		default:
			d.unknown(k)
		}
	}
	return d.result()
}

// ordered returns the keys of a table in file order.
func (d *decoder) ordered(m map[string]any, prefix string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := d.lineOf(prefix+a) - d.lineOf(prefix+b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

func (d *decoder) unknown(key string) {
	d.errAt(key, "unknown key")
}

func (d *decoder) table(key string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		d.errAt(key, fmt.Sprintf("must be a table, not %s", d.kind(key, v)))
	}
	return m, ok
}

func (d *decoder) journal(key string, v any, j *Journal) {
	m, ok := d.table(key, v)
	if !ok {
		return
	}
	for _, k := range d.ordered(m, key+".") {
		kk := key + "." + k
		switch k {
		case "directory":
			d.str(kk, m[k], &j.Directory)
		case "files":
			d.strings(kk, m[k], &j.Files)
		case "initial_position":
			var s string
			if d.str(kk, m[k], &s) {
				p, err := ParsePosition(s)
				if err != nil {
					d.errAt(kk, err.Error())
				} else {
					j.InitialPosition = p
				}
			}
		case "reader":
			var s string
			if d.str(kk, m[k], &s) {
				if s != "native" && s != "sdjournal" {
					d.errAt(kk, fmt.Sprintf("%q: want \"native\" or \"sdjournal\"", s))
				} else {
					j.Reader = s
				}
			}
		default:
			d.unknown(kk)
		}
	}
}

func (d *decoder) patterns(key string, v any, p *Patterns) {
	m, ok := d.table(key, v)
	if !ok {
		return
	}
	for _, k := range d.ordered(m, key+".") {
		kk := key + "." + k
		switch k {
		case "dirs":
			d.strings(kk, m[k], &p.Dirs)
		default:
			d.unknown(kk)
		}
	}
}

// sinkKeys lists the keys each sink type takes besides type and name.
var sinkKeys = func() map[string][]string {
	common := []string{"min_severity"}
	http := []string{"url", "url_file", "timeout", "bearer_token", "bearer_token_file", "basic_auth_user",
		"basic_auth_password", "basic_auth_password_file", "headers", "ca_file", "cert_file", "key_file",
		"server_name", "insecure_skip_verify", "retry_min", "retry_max"}
	group := []string{"group_wait", "group_interval", "repeat_interval", "resolve_timeout", "max_attempts"}
	join := func(parts ...[]string) []string { return slices.Concat(parts...) }
	return map[string][]string{
		TypeStdout:       common,
		TypeLoki:         join(common, http, []string{"tenant", "labels", "batch_size", "batch_wait"}),
		TypeSlack:        join(common, http, group),
		TypeWebhook:      join(common, http, group, []string{"secret", "secret_file", "host", "max_events"}),
		TypeAlertmanager: join(common, http, []string{"resolve_timeout", "generator_url", "max_alerts"}),
	}
}()

func (d *decoder) sink(key string, m map[string]any) (Sink, bool) {
	var typ string
	if v, ok := m["type"]; !ok {
		d.errAt(key, "type is required: loki, webhook, slack, alertmanager or stdout")
		return Sink{}, false
	} else if !d.str(key+".type", v, &typ) {
		return Sink{}, false
	}
	allowed, ok := sinkKeys[typ]
	if !ok {
		d.errAt(key+".type", fmt.Sprintf("unknown sink type %q: want loki, webhook, slack, alertmanager or stdout", typ))
		return Sink{}, false
	}
	s := DefaultSink(typ)
	s.Line = d.lineOf(key)
	for _, k := range d.ordered(m, key+".") {
		kk := key + "." + k
		v := m[k]
		if k == "type" {
			continue
		}
		if k != "name" && !slices.Contains(allowed, k) {
			if isSinkKey(k) {
				d.errAt(kk, fmt.Sprintf("does not apply to a %s sink", typ))
			} else {
				d.unknown(kk)
			}
			continue
		}
		switch k {
		case "name":
			var n string
			if d.str(kk, v, &n) {
				if n == "" || strings.ContainsAny(n, "/\\ \t\n") {
					d.errAt(kk, fmt.Sprintf("want a non-empty name without spaces or slashes, not %q", n))
				} else {
					s.Name = n
				}
			}
		case "min_severity":
			var str string
			if d.str(kk, v, &str) {
				sev, err := record.ParseSeverity(str)
				if err != nil {
					d.errAt(kk, err.Error())
				} else {
					s.MinSeverity = sev
				}
			}
		case "url", "url_file":
			d.secret(key, m, k, "url", &s.URL)
		case "timeout":
			d.duration(kk, v, &s.HTTP.Timeout)
		case "bearer_token", "bearer_token_file":
			d.secret(key, m, k, "bearer_token", &s.HTTP.BearerToken)
		case "basic_auth_user":
			d.str(kk, v, &s.HTTP.BasicAuthUser)
		case "basic_auth_password", "basic_auth_password_file":
			d.secret(key, m, k, "basic_auth_password", &s.HTTP.BasicAuthPassword)
		case "headers":
			d.strmap(kk, v, &s.HTTP.Headers)
		case "ca_file":
			d.path(kk, v, &s.HTTP.CAFile)
		case "cert_file":
			d.path(kk, v, &s.HTTP.CertFile)
		case "key_file":
			d.path(kk, v, &s.HTTP.KeyFile)
		case "server_name":
			d.str(kk, v, &s.HTTP.ServerName)
		case "insecure_skip_verify":
			d.boolean(kk, v, &s.HTTP.InsecureSkipVerify)
		case "retry_min":
			d.duration(kk, v, &s.RetryMin)
		case "retry_max":
			d.duration(kk, v, &s.RetryMax)
		case "max_attempts":
			d.integer(kk, v, &s.MaxAttempts)
		case "tenant":
			d.str(kk, v, &s.Tenant)
		case "labels":
			d.strmap(kk, v, &s.Labels)
		case "batch_size":
			d.size(kk, v, &s.BatchSize)
		case "batch_wait":
			d.duration(kk, v, &s.BatchWait)
		case "secret", "secret_file":
			d.secret(key, m, k, "secret", &s.Secret)
		case "host":
			d.str(kk, v, &s.Host)
		case "max_events":
			d.integer(kk, v, &s.MaxEvents)
		case "generator_url":
			d.str(kk, v, &s.GeneratorURL)
		case "max_alerts":
			d.integer(kk, v, &s.MaxAlerts)
		case "resolve_timeout":
			d.duration(kk, v, &s.ResolveTimeout)
		case "group_wait":
			d.duration(kk, v, &s.GroupWait)
		case "group_interval":
			d.duration(kk, v, &s.GroupInterval)
		case "repeat_interval":
			d.duration(kk, v, &s.RepeatInterval)
		}
	}
	return s, true
}

func isSinkKey(k string) bool {
	for _, keys := range sinkKeys {
		if slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

// secret reads key or key_file of table m into dst; k is the spelling
// being decoded, so that a table with both is reported once.
func (d *decoder) secret(table string, m map[string]any, k, key string, dst *redact.Secret) {
	v, hasV := m[key]
	f, hasF := m[key+"_file"]
	if hasV && hasF && k == key {
		return // reported for key_file
	}
	switch {
	case hasV && hasF:
		d.errAt(table+"."+key+"_file", fmt.Sprintf("set either %s or %s_file, not both", key, key))
	case hasV:
		var s string
		if d.str(table+"."+key, v, &s) {
			*dst = redact.Secret(s)
		}
	case hasF:
		kk := table + "." + key + "_file"
		var p string
		if !d.path(kk, f, &p) {
			return
		}
		b, err := readSecretFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%w: %s", errNotFound, p)
			}
			d.errAt(kk, fmt.Sprintf("read secret: %v", err))
			return
		}
		s := strings.TrimRight(string(b), "\r\n")
		if strings.TrimSpace(s) == "" {
			d.errAt(kk, fmt.Sprintf("secret file %s is empty", p))
			return
		}
		*dst = redact.Secret(s)
	}
}

// maxSecretFile bounds what a *_file key reads: secrets are short, and a
// path such as /dev/zero must not exhaust the memory.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret file: a regular file (so that a FIFO or a
// device cannot block or flood the start) of at most maxSecretFile bytes.
func readSecretFile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d KiB", p, maxSecretFile>>10)
	}
	return b, nil
}

// path reads a file path; a relative one is taken relative to the
// configuration file's directory.
func (d *decoder) path(key string, v any, dst *string) bool {
	var s string
	if !d.str(key, v, &s) {
		return false
	}
	if s != "" && !filepath.IsAbs(s) && d.dir != "" {
		s = filepath.Join(d.dir, s)
	}
	*dst = s
	return true
}

func (d *decoder) str(key string, v any, dst *string) bool {
	s, ok := v.(string)
	if !ok {
		d.errAt(key, fmt.Sprintf("must be a string, not %s", d.kind(key, v)))
		return false
	}
	*dst = s
	return true
}

func (d *decoder) strings(key string, v any, dst *[]string) {
	arr, ok := v.([]any)
	if !ok {
		d.errAt(key, fmt.Sprintf("must be an array of strings, not %s", d.kind(key, v)))
		return
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			d.errAt(key, fmt.Sprintf("element %d must be a string, not %s", i, d.kind(key, e)))
			return
		}
		out = append(out, s)
	}
	*dst = out
}

func (d *decoder) strmap(key string, v any, dst *map[string]string) {
	m, ok := d.table(key, v)
	if !ok {
		return
	}
	out := make(map[string]string, len(m))
	for _, k := range d.ordered(m, key+".") {
		var s string
		if !d.str(key+"."+k, m[k], &s) {
			continue
		}
		if key == "headers" || strings.HasSuffix(key, ".headers") {
			if !validHeaderName(k) {
				d.errAt(key+"."+k, "not a valid HTTP header name")
				continue
			}
			if !validHeaderValue(s) {
				// The value is not shown: a header may hold a secret.
				d.errAt(key+"."+k, "header value has a line break or another control character")
				continue
			}
		}
		out[k] = s
	}
	*dst = out
}

// validHeaderName reports whether k is an HTTP token (RFC 9110, 5.6.2).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue reports whether v has no control character but tab, so
// it cannot split a request into more headers.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func (d *decoder) duration(key string, v any, dst *time.Duration) {
	var s string
	if !d.str(key, v, &s) {
		return
	}
	t, err := ParseDuration(s)
	if err != nil {
		d.errAt(key, err.Error())
		return
	}
	if t < 0 {
		d.errAt(key, fmt.Sprintf("must not be negative: %q", s))
		return
	}
	*dst = t
}

func (d *decoder) integer(key string, v any, dst *int) {
	n, ok := v.(int64)
	if !ok {
		d.errAt(key, fmt.Sprintf("must be an integer, not %s", d.kind(key, v)))
		return
	}
	if n < 0 || n > 1<<31 {
		d.errAt(key, fmt.Sprintf("out of range: %d", n))
		return
	}
	*dst = int(n)
}

func (d *decoder) size(key string, v any, dst *int) {
	switch x := v.(type) {
	case int64:
		if x <= 0 || x > 1<<40 {
			d.errAt(key, fmt.Sprintf("out of range: %d", x))
			return
		}
		*dst = int(x)
	case string:
		n, err := ParseSize(x)
		if err != nil {
			d.errAt(key, err.Error())
			return
		}
		*dst = n
	default:
		d.errAt(key, fmt.Sprintf("must be a size such as \"1MiB\" or a number of bytes, not %s", d.kind(key, v)))
	}
}

func (d *decoder) boolean(key string, v any, dst *bool) {
	b, ok := v.(bool)
	if !ok {
		d.errAt(key, fmt.Sprintf("must be true or false, not %s", d.kind(key, v)))
		return
	}
	*dst = b
}

// quotedText matches the "…" and '…' parts of a TOML parse error message.
var quotedText = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// secretKey reports whether the value of key (e.g. "sink[0].url" or the
// parser's "sink.headers.Authorization") may be a secret that no message
// may quote: the secret keys and every request header.
func secretKey(key string) bool {
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if p == "headers" {
			return true
		}
	}
	switch parts[len(parts)-1] {
	case "url", "bearer_token", "basic_auth_password", "secret":
		return true
	}
	return false
}

// kind names the type of the value v of key for a message; it quotes a
// string only when the key cannot hold a secret.
func (d *decoder) kind(key string, v any) string {
	if _, ok := v.(string); ok && secretKey(key) {
		return "a string"
	}
	return typeName(v)
}

// typeName names a decoded TOML value's type for messages.
func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return "a string (" + strconv.Quote(x) + ")"
	case int64:
		return "an integer (" + strconv.FormatInt(x, 10) + ")"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
