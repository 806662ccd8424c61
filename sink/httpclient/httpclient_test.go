package httpclient

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/sink/retry"
)

func get(t *testing.T, c *Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestAuthAndHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
	}))
	defer srv.Close()
	tests := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{"none", Config{}, map[string]string{"Authorization": "", "User-Agent": "cflogd"}},
		{"bearer", Config{BearerToken: "tok"}, map[string]string{"Authorization": "Bearer tok", "User-Agent": "cflogd"}},
		{"basic", Config{BasicAuthUser: "u", BasicAuthPassword: "p"}, map[string]string{"Authorization": "Basic dTpw", "User-Agent": "cflogd"}},
		{"headers", Config{UserAgent: "x/1", Headers: map[string]string{"X-Scope-OrgID": "t1"}}, map[string]string{"Authorization": "", "User-Agent": "x/1", "X-Scope-Orgid": "t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := get(t, c, srv.URL); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			have := map[string]string{}
			for k := range tt.want {
				have[k] = got.Get(k)
			}
			if diff := cmp.Diff(tt.want, have); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"ok", Config{BearerToken: "x", CertFile: "c", KeyFile: "k"}, nil},
		{"both auths", Config{BearerToken: "x", BasicAuthUser: "u"}, []string{"mutually exclusive"}},
		{"password only", Config{BasicAuthPassword: "p"}, []string{"without user"}},
		{"cert without key", Config{CertFile: "c"}, []string{"set together"}},
		{"all", Config{BearerToken: "x", BasicAuthPassword: "p", KeyFile: "k", Timeout: -1}, []string{"mutually exclusive", "without user", "set together", "negative timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testpeer.CheckErrorLines(t, tt.cfg.Validate(), tt.want)
		})
	}
}

func TestTLS(t *testing.T) {
	pki := testpeer.NewPKI(t)
	var mu sync.Mutex
	var cns []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(r.TLS.PeerCertificates) > 0 {
			cns = append(cns, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	})
	mtls := httptest.NewUnstartedServer(handler)
	mtls.TLS = pki.ServerTLS(true)
	mtls.StartTLS()
	defer mtls.Close()
	plain := httptest.NewUnstartedServer(handler)
	plain.TLS = pki.ServerTLS(false)
	plain.StartTLS()
	defer plain.Close()

	tests := []struct {
		name    string
		cfg     Config
		url     string
		wantErr bool
	}{
		{"mtls", Config{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}, mtls.URL, false},
		{"mtls without client cert", Config{CAFile: pki.CAFile}, mtls.URL, true},
		{"unknown ca", Config{}, plain.URL, true},
		{"ca file", Config{CAFile: pki.CAFile}, plain.URL, false},
		{"insecure skip verify", Config{InsecureSkipVerify: true}, plain.URL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = get(t, c, tt.url)
			if (err != nil) != tt.wantErr {
				t.Errorf("GET: err = %v, want error %v", err, tt.wantErr)
			}
		})
	}

	t.Run("rotated client certificate", func(t *testing.T) {
		c, err := New(Config{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := get(t, c, mtls.URL); err != nil {
			t.Fatal(err)
		}
		pki.IssueClient(t, "cflogd-rotated")
		// Make the new files' modification time differ even on coarse clocks.
		future := time.Now().Add(time.Minute)
		os.Chtimes(pki.ClientCertFile, future, future)
		os.Chtimes(pki.ClientKeyFile, future, future)
		c.CloseIdleConnections()
		if _, err := get(t, c, mtls.URL); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if n := len(cns); n < 2 || cns[n-1] != "cflogd-rotated" {
			t.Errorf("client certificates seen = %q, want the last to be cflogd-rotated", cns)
		}
	})

	t.Run("bad files", func(t *testing.T) {
		for _, cfg := range []Config{
			{CAFile: pki.ClientKeyFile},
			{CAFile: "/nonexistent/ca.pem"},
			{CertFile: pki.CAFile, KeyFile: pki.ClientKeyFile},
		} {
			if _, err := New(cfg); err == nil {
				t.Errorf("New(%+v) = nil error", cfg)
			}
		}
	})
}

func TestErrorsHaveNoSecrets(t *testing.T) {
	// A port nothing listens on, and a server that answers too slowly.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	const token, password = "BEARERSECRET123", "PASSWORDSECRET456"
	for _, base := range []string{"http://" + closed, slow.URL} {
		u := strings.Replace(base, "http://", "http://admin:"+password+"@", 1) + "/services/T1/B2/PATHSECRET789?token=QUERYSECRET0"
		for _, cfg := range []Config{{BearerToken: token, Timeout: 200 * time.Millisecond}, {BasicAuthUser: "admin", BasicAuthPassword: password, Timeout: 200 * time.Millisecond}} {
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = get(t, c, u)
			if err == nil {
				t.Fatalf("GET %s succeeded", base)
			}
			for _, s := range []string{token, password, "PATHSECRET789", "QUERYSECRET0"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains secret %q", err, s)
				}
			}
			if base == slow.URL {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("slow server: err = %v, want a timeout", err)
				}
			}
		}
	}
}

// TestRetryLog: a retry is logged with the wait in milliseconds (wait_ms,
// an integer) and the URL's host readable (a connection refused names it).
func TestRetryLog(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // refused from now on
	c, err := New(Config{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	var st retry.Stats
	p := retry.Policy{MaxAttempts: 2, Min: 5 * time.Millisecond, Max: 5 * time.Millisecond}
	_ = c.PostRetry(t.Context(), p, &st, &log, Request{URL: srv.URL + "/push", Body: []byte("x")})
	out := buf.String()
	if !regexp.MustCompile(`"wait_ms":\d+[,}]`).MatchString(out) || strings.Contains(out, `"wait":`) {
		t.Errorf("retry log %s: want an integer wait_ms", out)
	}
	if !strings.Contains(out, strings.TrimPrefix(srv.URL, "http://")) {
		t.Errorf("retry log %s does not name the host", out)
	}
}
