package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/retry"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

func parse(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return Parse(filepath.Join(t.TempDir(), "cflogd.toml"), []byte(text))
}

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := parse(t, text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, text := range []string{"", "\n# only a comment\n"} {
		got := mustParse(t, text)
		if diff := cmp.Diff(Default, *got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", text, diff)
		}
	}
}

func TestDefaults(t *testing.T) {
	want := Config{
		StateDir:           "/var/lib/cflogd",
		RunbookBase:        "https://git.example/centra-cloud/blob/main/",
		Listen:             "127.0.0.1:9958",
		LogLevel:           "info",
		CheckpointInterval: 2 * time.Second,
		QueueSize:          128,
		ShutdownTimeout:    10 * time.Second,
		Journal:            Journal{InitialPosition: Position{LookBack: time.Hour}, Reader: "native", FieldPrefix: "F"},
		Patterns:           Patterns{Dirs: []string{"/etc/centra-cloud/cflogd/patterns.d"}},
	}
	if diff := cmp.Diff(want, Default); diff != "" {
		t.Errorf("Default (-want +got):\n%s", diff)
	}
}

// ignoreLog compares sink configurations without their loggers.
var ignoreLog = cmpopts.IgnoreTypes(zerolog.Logger{})

func TestSinkDefaults(t *testing.T) {
	const u = "http://l:3100/loki/api/v1/push"
	http := httpclient.Config{Timeout: 10 * time.Second}
	backoff := retry.Policy{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	notify := retry.Policy{Min: 500 * time.Millisecond, Max: 30 * time.Second, MaxAttempts: 10}
	grouping := sink.Grouping{GroupWait: 10 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, ResolveTimeout: 5 * time.Minute}
	tests := []struct {
		typ  string
		want SinkConfig
	}{
		{"stdout", stdout.Config{Name: "stdout", MinSeverity: record.Info}},
		{"loki", loki.Config{Name: "loki", URL: u, MinSeverity: record.Info, HTTP: http, BatchSize: 1 << 20, BatchWait: time.Second,
			Retry: retry.Policy{Min: 500 * time.Millisecond, Max: 30 * time.Second, MaxRetryAfter: 5 * time.Minute}}},
		{"slack", slack.Config{Name: "slack", URL: u, MinSeverity: record.Warning, Grouping: grouping, HTTP: http, Retry: notify}},
		{"webhook", webhook.Config{Name: "webhook", URL: u, MinSeverity: record.Warning, MaxEvents: 100, Grouping: grouping, HTTP: http, Retry: notify}},
		{"alertmanager", alertmanager.Config{Name: "alertmanager", URL: u, MinSeverity: record.Warning, ResolveTimeout: 5 * time.Minute, MaxAlerts: 100,
			HTTP: http, Retry: retry.Policy{Min: backoff.Min, Max: backoff.Max, MaxRetryAfter: 5 * time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			text := "[[sink]]\ntype = \"" + tt.typ + "\"\n"
			if tt.typ != "stdout" {
				text += "url = \"" + u + "\"\n"
			}
			got := mustParse(t, text)
			if diff := cmp.Diff([]SinkConfig{tt.want}, got.Sinks, ignoreLog); diff != "" {
				t.Errorf("sinks (-want +got):\n%s", diff)
			}
			if typ := SinkType(got.Sinks[0]); typ != tt.typ {
				t.Errorf("SinkType = %q, want %q", typ, tt.typ)
			}
		})
	}
}

func TestEveryKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("slack-url", "https://hooks.slack.com/services/T000/B000/abcdef1234567890\n")
	write("token", "s3cr3t-token\n")
	write("hmac", "hmac-key")
	write("pw", "pa55\n")
	text := `
units = ["chainfire.service"]
state_dir = "/tmp/cflogd-state"
runbook_base = "https://wiki.example/"
listen = "127.0.0.1:19958"
log_level = "debug"
checkpoint_interval = "5s"
queue_size = 32
shutdown_timeout = "20s"

[journal]
directory = "/var/log/journal/remote"
initial_position = "head"
reader = "sdjournal"
field_prefix = ""

[patterns]
dirs = ["/etc/a", "/etc/b"]

[[sink]]
type = "loki"
name = "loki-main"
url = "https://loki.example:3100/loki/api/v1/push"
min_severity = "warning"
tenant = "ops"
labels = { cluster = "prod" }
bearer_token_file = "token"
ca_file = "/etc/ca.pem"
cert_file = "/etc/cert.pem"
key_file = "/etc/key.pem"
server_name = "loki"
timeout = "3s"
retry_min = "1s"
retry_max = "1m"
batch_size = "512KiB"
batch_wait = "2s"

[[sink]]
type = "slack"
url_file = "slack-url"
min_severity = "error"
group_wait = "30s"
group_interval = "10m"
repeat_interval = "1d"
resolve_timeout = "15m"
max_attempts = 3

[[sink]]
type = "webhook"
url = "https://hooks.example/x"
secret_file = "hmac"
host = "node01"
max_events = 10
basic_auth_user = "u"
basic_auth_password_file = "pw"
headers = { X-Team = "storage" }
insecure_skip_verify = true

[[sink]]
type = "alertmanager"
url = "http://am:9093"
resolve_timeout = "10m"
generator_url = "https://grafana.example/d/cflogd"
max_alerts = 50

[[sink]]
type = "stdout"
min_severity = "critical"
`
	got, err := Parse(filepath.Join(dir, "cflogd.toml"), []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	lk := loki.Default
	lk.Name, lk.URL, lk.MinSeverity = "loki-main", "https://loki.example:3100/loki/api/v1/push", record.Warning
	lk.Tenant, lk.Labels = "ops", map[string]string{"cluster": "prod"}
	lk.HTTP = httpclient.Config{Timeout: 3 * time.Second, BearerToken: "s3cr3t-token", CAFile: "/etc/ca.pem",
		CertFile: "/etc/cert.pem", KeyFile: "/etc/key.pem", ServerName: "loki"}
	lk.Retry.Min, lk.Retry.Max, lk.BatchSize, lk.BatchWait = time.Second, time.Minute, 512<<10, 2*time.Second
	sl := slack.Default
	sl.URL, sl.MinSeverity = "https://hooks.slack.com/services/T000/B000/abcdef1234567890", record.Error
	sl.Grouping = sink.Grouping{GroupWait: 30 * time.Second, GroupInterval: 10 * time.Minute, RepeatInterval: 24 * time.Hour, ResolveTimeout: 15 * time.Minute}
	sl.Retry.MaxAttempts = 3
	wh := webhook.Default
	wh.URL, wh.Secret, wh.Host, wh.MaxEvents = "https://hooks.example/x", "hmac-key", "node01", 10
	wh.HTTP.BasicAuthUser, wh.HTTP.BasicAuthPassword, wh.HTTP.Headers, wh.HTTP.InsecureSkipVerify = "u", "pa55", map[string]string{"X-Team": "storage"}, true
	am := alertmanager.Default
	am.URL, am.ResolveTimeout, am.GeneratorURL, am.MaxAlerts = "http://am:9093", 10*time.Minute, "https://grafana.example/d/cflogd", 50
	so := stdout.Default
	so.MinSeverity = record.Critical
	want := Config{
		Units:              []string{"chainfire.service"},
		StateDir:           "/tmp/cflogd-state",
		RunbookBase:        "https://wiki.example/",
		Listen:             "127.0.0.1:19958",
		LogLevel:           "debug",
		CheckpointInterval: 5 * time.Second,
		QueueSize:          32,
		ShutdownTimeout:    20 * time.Second,
		Journal:            Journal{Directory: "/var/log/journal/remote", InitialPosition: Position{Head: true}, Reader: "sdjournal", FieldPrefix: ""},
		Patterns:           Patterns{Dirs: []string{"/etc/a", "/etc/b"}},
		Sinks:              []SinkConfig{lk, sl, wh, am, so},
		SinkLines:          []int{20, 38, 48, 59, 66},
	}
	if diff := cmp.Diff(want, *got, ignoreLog); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // each error's text after the file name
	}{
		{"unknown top-level key", "units = []\nstate_dri = \"/x\"\n", []string{":2: state_dri: unknown key"}},
		{"unknown table key", "[journal]\ndirectory = \"/x\"\ninitial_postion = \"1h\"\n", []string{":3: journal.initial_postion: unknown key"}},
		{"unknown table", "[jornal]\ndirectory = \"/x\"\n", []string{":1: jornal: unknown key"}},
		{"bad duration", "checkpoint_interval = \"5 seconds\"\n",
			[]string{`:1: checkpoint_interval: bad duration "5 seconds" (want e.g. "10s", "5m", "4h")`}},
		{"wrong type", "\n\nqueue_size = \"big\"\n", []string{`:3: queue_size: must be an integer, not a string ("big")`}},
		{"bad field prefix", "[journal]\nfield_prefix = \"f-\"\n",
			[]string{`:2: journal.field_prefix: "f-": want upper-case letters, digits and _ (as journal field names)`}},
		{"bad reader", "[journal]\nreader = \"fast\"\n",
			[]string{`:2: journal.reader: "fast": want "native" or "sdjournal"`}},
		{"bad position", "[journal]\ninitial_position = \"yesterday\"\n",
			[]string{`:2: journal.initial_position: want "head", "tail" or a positive look-back such as "1h", not "yesterday"`}},
		{"several at once", "units = \"chainfire\"\nlisten = \"nope\"\n[journal]\nfiles = [1]\n",
			[]string{`:1: units: must be an array of strings, not a string ("chainfire")`,
				`:2: listen: want host:port, e.g. 127.0.0.1:9958: address nope: missing port in address`,
				`:4: journal.files: must be an array of strings, not an array whose element 0 is an integer (1)`}},
		{"sink without type", "[[sink]]\nurl = \"http://x\"\n", []string{":1: sink[0]: type is required: loki, alertmanager, slack, webhook or stdout"}},
		{"unknown sink type", "[[sink]]\ntype = \"kafka\"\n", []string{`:2: sink[0].type: unknown sink type "kafka": want loki, alertmanager, slack, webhook or stdout`}},
		{"key of another sink type", "[[sink]]\ntype = \"loki\"\nurl = \"http://l\"\ngroup_wait = \"1s\"\n",
			[]string{":4: sink[0].group_wait: does not apply to a loki sink"}},
		{"unknown sink key", "[[sink]]\ntype = \"stdout\"\n\n[[sink]]\ntype = \"slack\"\nurl = \"https://h/x\"\nchanel = \"#ops\"\n",
			[]string{":7: sink[1].chanel: unknown key"}},
		{"bad severity", "[[sink]]\ntype = \"stdout\"\nmin_severity = \"loud\"\n", []string{`:3: sink[0].min_severity: unknown severity "loud" (want info, warning, error or critical)`}},
		{"bad size", "[[sink]]\ntype = \"loki\"\nurl = \"http://l\"\nbatch_size = \"1 lot\"\n",
			[]string{`:4: sink[0].batch_size: bad size "1 lot" (want e.g. "1MiB", "512KiB" or a number of bytes)`}},
		{"missing url", "[[sink]]\ntype = \"webhook\"\n", []string{":1: sink[0]: url is required"}},
		{"header value with a line break", "[[sink]]\ntype = \"webhook\"\nurl = \"http://h\"\nheaders = { X-Token = \"s3cret\\r\\nX-Evil: 1\" }\n",
			[]string{":1: sink[0]: header X-Token: the value has a line break or another control character"}},
		{"bad header name", "[[sink]]\ntype = \"webhook\"\nurl = \"http://h\"\nheaders = { \"X Token\" = \"v\" }\n",
			[]string{`:1: sink[0]: header name "X Token" is not valid`}},
		{"duplicate names", "[[sink]]\ntype = \"stdout\"\n[[sink]]\ntype = \"stdout\"\n",
			[]string{`:3: sink[1].name: sink name "stdout" is already used by sink[0]; give each sink its own name`}},
		{"both secret spellings", "[[sink]]\ntype = \"slack\"\nurl = \"https://h/x\"\nurl_file = \"/nonexistent\"\n",
			[]string{":4: sink[0].url_file: set either url or url_file, not both"}},
		{"missing secret file", "[[sink]]\ntype = \"slack\"\nurl_file = \"/nonexistent/slack-url\"\n",
			[]string{":3: sink[0].url_file: read secret: file not found: /nonexistent/slack-url"}},
		{"repeat below group interval", "[[sink]]\ntype = \"slack\"\nurl = \"https://h/x\"\ngroup_interval = \"1h\"\nrepeat_interval = \"5m\"\n",
			[]string{":1: sink[0]: repeat_interval must be at least group_interval"}},
		{"syntax error", "units = [\"a\"\nstate_dir = 1\n", nil},
		{"array element", "units = [\"a\", 1]\n", []string{`:1: units: must be an array of strings, not an array whose element 1 is an integer (1)`}},
		{"table value", "[[sink]]\ntype = \"loki\"\nurl = \"http://l\"\nlabels = { a = 1 }\n", []string{`:4: sink[0].labels: must be a table of strings, not a table whose a is an integer (1)`}},
		{"negative duration", "[[sink]]\ntype = \"slack\"\nurl = \"https://h/x\"\ngroup_wait = \"-1s\"\n", []string{`:4: sink[0].group_wait: must not be negative: "-1s"`}},
		{"several in one sink", "[[sink]]\ntype = \"loki\"\nurl = \"http://l\"\nbatch_size = true\nbatch_wait = \"soon\"\ntenant = 1\n",
			[]string{`:4: sink[0].batch_size: bad size "true" (want e.g. "1MiB", "512KiB" or a number of bytes)`,
				`:5: sink[0].batch_wait: bad duration "soon" (want e.g. "10s", "5m", "4h")`, `:6: sink[0].tenant: must be a string, not an integer (1)`}},
		{"sink not a table", "sink = 1\n", []string{":1: sink: must be an array of tables: write [[sink]]"}},
		{"journal not a table", "journal = \"x\"\n", []string{`:1: journal: must be a table, not a string ("x")`}},
		{"listen port not a number", "listen = \"localhost:http\"\n", []string{`:1: listen: want host:port with a port number, e.g. 127.0.0.1:9958, not "localhost:http"`}},
		{"state dir relative", "state_dir = \"state\"\n", []string{`:1: state_dir: must be an absolute path, not "state"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.text)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse error = %v, want an ErrorList", err)
			}
			if tt.want == nil { // syntax: a line is named
				if len(list) != 1 || list[0].Line == 0 {
					t.Fatalf("syntax error = %v, want one error with a line", err)
				}
				return
			}
			var got []string
			for _, e := range list {
				got = append(got, strings.TrimPrefix(e.Error(), e.File))
			}
			if diff := cmp.Diff(sortByLine(tt.want), got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// sortByLine orders expected messages as ErrorList does (by line, stable).
func sortByLine(msgs []string) []string {
	out := append([]string(nil), msgs...)
	line := func(s string) int {
		n := 0
		for _, c := range strings.TrimPrefix(s, ":") {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && line(out[j]) < line(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	cred := filepath.Join(dir, "creds")
	if err := os.Mkdir(cred, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cred, "am-pw"), []byte("hunter2\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cred, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("relative to the config file, newline trimmed", func(t *testing.T) {
		c, err := Parse(filepath.Join(dir, "cflogd.toml"), []byte("[[sink]]\ntype = \"alertmanager\"\nurl = \"http://am:9093\"\nbasic_auth_user = \"cflogd\"\nbasic_auth_password_file = \"creds/am-pw\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Sinks[0].(alertmanager.Config).HTTP.BasicAuthPassword; got != "hunter2" {
			t.Errorf("password = %q, want hunter2", string(got))
		}
	})
	t.Run("empty file", func(t *testing.T) {
		_, err := Parse(filepath.Join(dir, "cflogd.toml"), []byte("[[sink]]\ntype = \"loki\"\nurl = \"http://l\"\nbearer_token_file = \""+filepath.Join(cred, "empty")+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), ":4: sink[0].bearer_token_file: secret file") {
			t.Errorf("error = %v, want the empty secret file named at line 4", err)
		}
	})
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "url")
	secret := "T0KEN5ecretValue99"
	if err := os.WriteFile(f, []byte("ftp://user:"+secret+"@hooks.example/services/"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(filepath.Join(dir, "c.toml"), []byte("[[sink]]\ntype = \"slack\"\nurl_file = \"url\"\n"))
	if err == nil {
		t.Fatal("Parse: no error for an ftp URL")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the secret: %v", err)
	}
	c := mustParse(t, "[[sink]]\ntype = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/"+secret+"\"\n")
	for _, s := range []string{redact.Secret(secret).String(), strings.ReplaceAll(strings.ReplaceAll(stringOf(c), "\n", " "), "\t", " ")} {
		if strings.Contains(s, secret) {
			t.Errorf("printed config leaks the secret: %s", s)
		}
	}
}

func stringOf(c *Config) string { return strings.TrimSpace(strings.ReplaceAll(sprint(c), "  ", " ")) }

func TestParseHelpers(t *testing.T) {
	durations := map[string]time.Duration{"10s": 10 * time.Second, "5m": 5 * time.Minute, "2d": 48 * time.Hour, "1h30m": 90 * time.Minute}
	for s, want := range durations {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	sizes := map[string]int{"1MiB": 1 << 20, "512KiB": 512 << 10, "1MB": 1e6, "100": 100, "100B": 100, "1.5MiB": 3 << 19}
	for s, want := range sizes {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "MiB", "1XB", "-1", "0", "1.2.3MiB", "1..MiB", "1.MiB", ".5MiB", "1e3", "0x10"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q): no error", s)
		}
	}
	for s, want := range map[string]Position{"head": {Head: true}, "tail": {Tail: true}, "30m": {LookBack: 30 * time.Minute}} {
		got, err := ParsePosition(s)
		if err != nil || got != want {
			t.Errorf("ParsePosition(%q) = %+v, %v", s, got, err)
		}
		if got.String() != s {
			t.Errorf("Position(%q).String() = %q", s, got.String())
		}
	}
}
