package testpeer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// AlertmanagerInstall installs the Alertmanager binary StartAlertmanager
// runs. Newer tags do not build from the module proxy.
const AlertmanagerInstall = "go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1"

// Alertmanager is a running Prometheus Alertmanager without clustering,
// routing every alert to a receiver that notifies nobody.
type Alertmanager struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
}

const minimalAlertmanagerConfig = `route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
`

// StartAlertmanager starts alertmanager on loopback with its storage in a
// temporary directory and waits until /-/ready answers.
func StartAlertmanager(tb testing.TB) *Alertmanager {
	tb.Helper()
	bin := findBinary(tb, "alertmanager", AlertmanagerInstall)
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(minimalAlertmanagerConfig), 0o600); err != nil {
		tb.Fatal(err)
	}
	_, port := launch(tb, "alertmanager", bin,
		func(port int) []string {
			return []string{
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(port),
				"--cluster.listen-address=",
				"--storage.path=" + filepath.Join(dir, "data"),
				"--config.file=" + cfg,
				"--log.level=warn",
			}
		},
		func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/-/ready", port) })
	return &Alertmanager{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// Alert is the part of an Alertmanager v2 gettable alert the tests look at.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alerts returns the alerts Alertmanager holds (GET /api/v2/alerts).
func (a *Alertmanager) Alerts(tb testing.TB) []Alert {
	tb.Helper()
	resp, err := http.Get(a.URL + "/api/v2/alerts")
	if err != nil {
		tb.Fatalf("get alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("get alerts: status %s", resp.Status)
	}
	var alerts []Alert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		tb.Fatalf("get alerts: decode: %v", err)
	}
	return alerts
}

// WaitAlerts polls until at least n alerts are present or the timeout
// passes, and returns the last result.
func (a *Alertmanager) WaitAlerts(tb testing.TB, n int, timeout time.Duration) []Alert {
	tb.Helper()
	var alerts []Alert
	Poll(timeout, func() bool {
		alerts = a.Alerts(tb)
		return len(alerts) >= n
	})
	return alerts
}
