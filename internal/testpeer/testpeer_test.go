package testpeer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVictoriaLogs(t *testing.T) {
	v := StartVictoriaLogs(t)
	if rows := v.WaitRows(t, "*", 0, time.Second); len(rows) != 0 {
		t.Errorf("fresh VictoriaLogs has %d rows, want 0: %v", len(rows), rows)
	}
}

func TestAlertmanager(t *testing.T) {
	a := StartAlertmanager(t)
	if alerts := a.Alerts(t); len(alerts) != 0 {
		t.Errorf("fresh Alertmanager has %d alerts, want 0: %v", len(alerts), alerts)
	}
}

func TestPKI(t *testing.T) {
	p := NewPKI(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = p.ServerTLS(true)
	srv.StartTLS()
	defer srv.Close()

	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(p.ClientCertFile, p.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     *tls.Config
		wantErr bool
	}{
		{"mtls", &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}, false},
		{"no client cert", &tls.Config{RootCAs: pool}, true},
		{"unknown ca", &tls.Config{Certificates: []tls.Certificate{cert}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: tt.tls}, Timeout: 5 * time.Second}
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("GET over %s: err = %v, want error %v", tt.name, err, tt.wantErr)
			}
		})
	}
}

// recordTB records Fatal and Skip instead of stopping the test.
type recordTB struct {
	testing.TB
	fatal, skip []string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Fatal(args ...any) { r.fatal = append(r.fatal, fmt.Sprint(args...)) }
func (r *recordTB) Skip(args ...any)  { r.skip = append(r.skip, fmt.Sprint(args...)) }

func TestFindBinaryMissing(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("GOBIN", "")
	t.Setenv("GOPATH", empty)
	tests := []struct {
		ci                  string
		wantFatal, wantSkip int
	}{
		{"", 0, 1},
		{"true", 1, 0},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordTB{TB: t}
			if got := findBinary(r, "victoria-logs", VictoriaLogsInstall); got != "" {
				t.Errorf("findBinary = %q, want \"\"", got)
			}
			if len(r.fatal) != tt.wantFatal || len(r.skip) != tt.wantSkip {
				t.Errorf("fatal %q, skip %q; want %d fatal, %d skip", r.fatal, r.skip, tt.wantFatal, tt.wantSkip)
			}
			for _, m := range append(r.fatal, r.skip...) {
				if !strings.Contains(m, VictoriaLogsInstall) {
					t.Errorf("message %q does not say how to install", m)
				}
			}
		})
	}
	t.Run("found in GOPATH/bin", func(t *testing.T) {
		gp := t.TempDir()
		bin := filepath.Join(gp, "bin", "victoria-logs")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("GOPATH", gp)
		t.Setenv("CI", "1")
		r := &recordTB{TB: t}
		if got := findBinary(r, "victoria-logs", VictoriaLogsInstall); got != bin || len(r.fatal) != 0 {
			t.Errorf("findBinary = %q (fatal %q), want %q", got, r.fatal, bin)
		}
	})
}
