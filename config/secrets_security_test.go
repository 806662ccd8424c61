package config

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/loki"
)

// TestConfigErrorsHideSecrets plants a secret next to (or as) a bad value
// and checks that no error message quotes it, while the message still
// names the key and its line.
func TestConfigErrorsHideSecrets(t *testing.T) {
	const secret = "SECRETtokenOnlyLetters"
	head := "[[sink]]\ntype = \"loki\"\nurl = \"http://loki.example/\"\n"
	tests := []struct {
		name, text string
		want       string // in the error: the key and line
	}{
		{"bare token (no quotes)", head + "bearer_token = " + secret + "\n", ":4: sink.bearer_token: expected value"},
		{"bare token with digits", head + "bearer_token = xoxb" + secret + "\n", ":4: sink.bearer_token:"},
		{"bare webhook secret", "[[sink]]\ntype = \"webhook\"\nurl = \"http://h/\"\nsecret = " + secret + "\n", ":4: sink.secret:"},
		{"bare password", head + "basic_auth_user = \"u\"\nbasic_auth_password = true" + secret + "\n", ":5: sink.basic_auth_password:"},
		{"bare URL", "[[sink]]\ntype = \"slack\"\nurl = hooks" + secret + "\n", ":3: sink.url:"},
		{"unterminated token", head + "bearer_token = \"" + secret + "\n", ":4: sink.bearer_token:"},
		{"bad escape in token", head + "bearer_token = \"\\u00" + secret + "\"\n", ":4: sink.bearer_token:"},
		{"bare header value", head + "headers = { Authorization = " + secret + " }\n", ":4: sink.headers.Authorization:"},
		{"header table value", head + "[sink.headers]\nX-Api-Key = " + secret + "\n", ":5: sink.headers.X-Api-Key:"},
		{"headers as a string", head + "headers = \"Authorization: Bearer " + secret + "\"\n", ":4: sink[0].headers: must be a table of strings, not a string"},
		{"token and basic auth", head + "bearer_token = \"" + secret + "\"\nbasic_auth_user = \"u\"\n", "sink[0]: bearer token and basic auth are mutually exclusive"},
		{"password without user", head + "basic_auth_password = \"" + secret + "\"\n", "basic auth password without user"},
		{"token beside a bad value", head + "bearer_token = \"" + secret + "\"\nbatch_size = \"1 lot\"\n", ":5: sink[0].batch_size: bad size"},
		{"token in a URL that does not parse", "[[sink]]\ntype = \"loki\"\nurl = \"http://loki:bad port/" + secret + "\"\n", "is not an http(s) URL"},
		{"token pasted as the URL", "[[sink]]\ntype = \"slack\"\nurl = \"" + secret + "\"\n", "is not an http(s) URL"},
		{"password in a non-http URL", "[[sink]]\ntype = \"webhook\"\nurl = \"ftp://u:" + secret + "@h/x\"\n", "is not an http(s) URL"},
		{"secret in the query", "[[sink]]\ntype = \"loki\"\nurl = \"http://l/?token=" + secret + "\"\nlabels = { \"bad label\" = \"v\" }\n", "label name"},
		{"secret for a stdout sink", "[[sink]]\ntype = \"stdout\"\nbearer_token = \"" + secret + "\"\n", "does not apply to a stdout sink"},
		{"misspelt secret key", head + "bearer_tokn = \"" + secret + "\"\n", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.text)
			if err == nil {
				t.Fatal("Parse: no error")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, secret[:8]) {
				t.Errorf("the error quotes the secret: %s", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
		})
	}
}

// TestSecretFileErrorsHideContent: a secret file with bad content is
// reported by path, never by what it holds.
func TestSecretFileErrorsHideContent(t *testing.T) {
	const secret = "FileSecretOnlyLetters"
	dir := t.TempDir()
	for name, content := range map[string]string{
		"url":     "not a url " + secret,
		"ftp-url": "ftp://user:" + secret + "@hooks.example/services/" + secret,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Parse(filepath.Join(dir, "cflogd.toml"), []byte("[[sink]]\ntype = \"slack\"\nurl_file = \""+name+"\"\n"))
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes the file's secret: %v", name, err)
		}
	}
}

func TestSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"sink[0].url": true, "sink.bearer_token": true, "sink[2].basic_auth_password": true, "sink.secret": true,
		"sink.headers.Authorization": true, "sink[0].headers": true,
		"sink[0].url_file": false, "sink.basic_auth_user": false, "listen": false, "sink[0].labels.cluster": false,
	} {
		if got := secretKey(key); got != want {
			t.Errorf("secretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestSafeDefaults: certificates are verified unless a sink says
// insecure_skip_verify = true, and /metrics listens on loopback unless
// listen is set.
func TestSafeDefaults(t *testing.T) {
	c := mustParse(t, "[[sink]]\ntype = \"loki\"\nurl = \"https://l/\"\n[[sink]]\ntype = \"alertmanager\"\nurl = \"https://a/\"\n"+
		"[[sink]]\ntype = \"slack\"\nurl = \"https://s/\"\n[[sink]]\ntype = \"webhook\"\nurl = \"https://w/\"\n")
	for _, s := range c.Sinks {
		if reflect.ValueOf(s).FieldByName("HTTP").Interface().(httpclient.Config).InsecureSkipVerify {
			t.Errorf("%s sink: insecure_skip_verify is on by default", SinkType(s))
		}
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		t.Fatalf("default listen %q: %v", c.Listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default listen %q is not a loopback address", c.Listen)
	}
	c = mustParse(t, "[[sink]]\ntype = \"loki\"\nurl = \"https://l/\"\ninsecure_skip_verify = true\n")
	if !c.Sinks[0].(loki.Config).HTTP.InsecureSkipVerify {
		t.Errorf("insecure_skip_verify = true did not turn verification off")
	}
}
