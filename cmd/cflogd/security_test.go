package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// The test in this file plants secrets in a configuration, runs every
// command over it against peers that fail and echo what they were sent,
// and greps everything cflogd printed or served for the secrets.

// plantedSecrets are the secrets of the test configuration.
var plantedSecrets = map[string]string{
	"loki bearer token":            "lokiBearerS3cretQ7x",
	"loki URL password":            "lokiUrlPassS3cretW3x",
	"loki header":                  "hdrApiKeyS3cretR1x",
	"alertmanager password":        "amPassw0rdS3cretZ4x",
	"alertmanager URL query token": "amQueryS3cretN6x",
	"webhook URL token":            "whUrlTok3nS3cretK8x",
	"webhook URL query":            "whQueryS3cretM2x",
	"webhook HMAC secret":          "hmacKeyS3cretP5x",
	"slack URL token":              "slackTok3nS3cretX9x",
}

// secretForms returns each secret as it could be printed: raw, escaped
// for a URL query or path, and the basic-auth header of the password.
func secretForms() map[string]string {
	forms := map[string]string{}
	for what, s := range plantedSecrets {
		forms[s] = what
		forms[url.QueryEscape(s)] = what + " (query-escaped)"
		forms[url.PathEscape(s)] = what + " (path-escaped)"
	}
	forms[base64.StdEncoding.EncodeToString([]byte("cflogd:"+plantedSecrets["alertmanager password"]))] = "alertmanager basic auth header"
	return forms
}

// checkNoSecret fails the test for every planted secret in output.
func checkNoSecret(t *testing.T, what, output string) {
	t.Helper()
	for form, name := range secretForms() {
		if i := strings.Index(output, form); i >= 0 {
			lo, hi := max(0, i-200), min(len(output), i+len(form)+100)
			t.Errorf("%s shows the %s: …%s…", what, name, output[lo:hi])
		}
	}
}

// echoPeer answers every request with status and a body quoting the
// request's URL and headers, as a careless or hostile server would, and
// records what it received.
type echoPeer struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []string // URL and headers of each request
	count int
}

func newEchoPeer(t *testing.T, status int, tls bool) *echoPeer {
	p := &echoPeer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.String())
		for k, vs := range r.Header {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		p.mu.Lock()
		p.seen = append(p.seen, b.String())
		p.count++
		p.mu.Unlock()
		http.Error(w, "refused: you sent\n"+b.String(), status)
	})
	if tls {
		p.Server = httptest.NewTLSServer(h)
	} else {
		p.Server = httptest.NewServer(h)
	}
	t.Cleanup(p.Close)
	return p
}

func (p *echoPeer) received() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.seen, "")
}

// TestSecretsNeverPrinted runs `cflogd run` at debug level with secrets in
// every place a configuration holds them (bearer token and header, basic
// auth password, URL userinfo, query and path tokens, the HMAC key; inline
// and from *_file), against peers that answer 500, 503 and 400 echoing the
// request, one over TLS with insecure_skip_verify, and one that is not
// there. No secret may appear in its log, /metrics, /healthz, /readyz or
// the state files; nor in what `cflogd check`, `explain` and `scan` print,
// nor in the configuration errors of a file with a bad value next to a
// secret.
func TestSecretsNeverPrinted(t *testing.T) {
	bin := buildCflogd(t)
	s := plantedSecrets
	loki := newEchoPeer(t, http.StatusInternalServerError, false)
	lokiTLS := newEchoPeer(t, http.StatusServiceUnavailable, true)
	slack := newEchoPeer(t, http.StatusInternalServerError, false)
	hook := newEchoPeer(t, http.StatusBadRequest, false)
	amPort := testpeer.FreePort(t) // nothing listens there

	creds := t.TempDir()
	for name, v := range map[string]string{"loki-token": s["loki bearer token"], "webhook-secret": s["webhook HMAC secret"],
		"slack-url": slack.URL + "/services/T0AAAAAAA/B0BBBBBBB/" + s["slack URL token"]} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lokiURL, _ := url.Parse(loki.URL)
	lokiURL.User = url.UserPassword("cflogd", s["loki URL password"])
	j := newE2EJournal(t)
	j.write(t, "a.journal", 40)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	stateDir := filepath.Join(t.TempDir(), "state")
	sinks := fmt.Sprintf(`
[[sink]]
type = "loki"
url = %q
bearer_token_file = %q
headers = { X-Api-Key = %q }
batch_wait = "50ms"
retry_min = "50ms"
retry_max = "200ms"

[[sink]]
type = "loki"
name = "loki-tls"
url = %q
insecure_skip_verify = true
batch_wait = "50ms"
retry_min = "50ms"
retry_max = "200ms"

[[sink]]
type = "alertmanager"
url = "http://127.0.0.1:%d/am?token=%s"
basic_auth_user = "cflogd"
basic_auth_password = %q
retry_min = "50ms"
retry_max = "200ms"

[[sink]]
type = "slack"
url_file = %q
group_wait = "100ms"
group_interval = "1s"
retry_min = "50ms"
retry_max = "100ms"
max_attempts = 2

[[sink]]
type = "webhook"
url = "%s/hooks/%s?sig=%s"
secret_file = %q
group_wait = "100ms"
group_interval = "1s"
retry_min = "50ms"
retry_max = "100ms"
max_attempts = 2
`, lokiURL.String(), filepath.Join(creds, "loki-token"), s["loki header"],
		lokiTLS.URL,
		amPort, s["alertmanager URL query token"], s["alertmanager password"],
		filepath.Join(creds, "slack-url"),
		hook.URL, s["webhook URL token"], s["webhook URL query"], filepath.Join(creds, "webhook-secret"))
	cfgText := fmt.Sprintf(`
state_dir = %q
listen = %q
log_level = "debug"
shutdown_timeout = "2s"
[journal]
directory = %q
initial_position = "head"
`, stateDir, listen, j.dir) + sinks
	cfg := writeConfig(t, t.TempDir(), cfgText)

	p := startDaemon(t, bin, cfg)
	failed := func(sink string) bool { return metric(t, listen, "cflogd_sink_failed_total", `sink="`+sink+`"`) > 0 }
	notifyFailed := func(sink string) bool {
		return metric(t, listen, "cflogd_notifications_total", `result="failed",sink="`+sink+`"`) > 0
	}
	testpeer.Eventually(t, 30*time.Second, func() bool {
		return failed("loki") && failed("loki-tls") && failed("alertmanager") && notifyFailed("slack") && notifyFailed("webhook")
	}, "every sink to fail")
	var served strings.Builder
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&served, "%s:\n%s\n", path, b)
	}
	p.term(t)
	log := p.out.String()

	// The secrets were in use: the peers received them, and echoed them.
	for what, peer := range map[string]*echoPeer{"loki bearer token": loki, "loki header": loki, "slack URL token": slack, "webhook URL token": hook, "webhook URL query": hook} {
		if !strings.Contains(peer.received(), s[what]) {
			t.Errorf("the %s never reached its peer; the test would prove nothing", what)
		}
	}
	// The failures were logged, so the log was exercised.
	for _, want := range []string{`"sink":"loki"`, `"sink":"loki-tls"`, `"sink":"alertmanager"`, `"sink":"slack"`, `"sink":"webhook"`, "insecure_skip_verify"} {
		if !strings.Contains(log, want) {
			t.Errorf("the daemon's log lacks %s", want)
		}
	}
	checkNoSecret(t, "the daemon's log", log)
	checkNoSecret(t, "the HTTP endpoints", served.String())
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(stateDir, e.Name()))
		checkNoSecret(t, "state file "+e.Name(), string(b))
	}

	// Configuration errors: a bad value next to each secret, and a secret
	// typed without quotes.
	for name, text := range map[string]string{
		"bad value beside the secrets": strings.Replace(cfgText, `batch_wait = "50ms"`, `batch_wait = "soon"`, 1) +
			"\n[[sink]]\ntype = \"webhook\"\nurl = \"" + s["webhook URL token"] + "\"\nsecret = \"" + s["webhook HMAC secret"] + "\"\nmax_events = -1\n",
		"unquoted secret": "[[sink]]\ntype = \"loki\"\nurl = \"http://l/\"\nbearer_token = " + s["loki bearer token"] + "\n",
		"unquoted header": "[[sink]]\ntype = \"loki\"\nurl = \"http://l/\"\nheaders = { X-Api-Key = " + s["loki header"] + " }\n",
		"token and password": "[[sink]]\ntype = \"alertmanager\"\nurl = \"http://a/?token=" + s["alertmanager URL query token"] +
			"\"\nbearer_token = \"" + s["loki bearer token"] + "\"\nbasic_auth_password = \"" + s["alertmanager password"] + "\"\n",
	} {
		out, code := runCflogd(t, bin, "run", "--config", writeConfig(t, t.TempDir(), text))
		if code != exitUsage || !strings.Contains(out, "cflogd.toml:") {
			t.Errorf("%s: exit %d, want %d with a message naming the file and line:\n%s", name, code, exitUsage, out)
		}
		checkNoSecret(t, "the configuration error ("+name+")", out)
	}

	// The other commands do not read the configuration; their output is
	// checked too, so that this stays true.
	logLine := firstLine(log, `"level":"error"`)
	for _, args := range [][]string{
		{"check"},
		{"explain", "--unit", "chainfire", logLine},
		{"explain", "--output", "json", "--unit", "chainfire", "WARN chainfire_storage: RocksDB stall detected, duration=2000ms"},
		{"scan", "--directory", j.dir, "--since", "2h", "--min-severity", "info"},
		{"scan", "--directory", j.dir, "--since", "2h", "--output", "json"},
		{"scan", "--directory", j.dir, "--since", "2h", "--output", "jsonl"},
	} {
		out, code := runCflogd(t, bin, args...)
		if code != exitOK {
			t.Errorf("cflogd %s: exit %d:\n%s", strings.Join(args, " "), code, out)
		}
		checkNoSecret(t, "cflogd "+args[0], out)
	}
}

// runCflogd runs the binary and returns its combined output and exit code.
func runCflogd(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("run cflogd %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// firstLine returns the first line of s that contains sub, or sub.
func firstLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return sub
}
