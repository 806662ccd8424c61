package testpeer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// VictoriaLogsInstall installs the VictoriaLogs binary StartVictoriaLogs runs.
const VictoriaLogsInstall = "go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1"

// VictoriaLogs is a running VictoriaLogs server. It accepts Loki pushes at
// LokiPushURL, answering 204 where Loki would answer 400 for bad entries, so
// it checks the protocol and the data, not Loki's error handling.
type VictoriaLogs struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
}

// StartVictoriaLogs starts victoria-logs with its storage in a temporary
// directory and waits until /health answers.
func StartVictoriaLogs(tb testing.TB) *VictoriaLogs {
	tb.Helper()
	bin := findBinary(tb, "victoria-logs", VictoriaLogsInstall)
	dir := tb.TempDir()
	_, port := launch(tb, "victoria-logs", bin,
		func(port int) []string { return victoriaLogsArgs(port, dir) },
		func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/health", port) })
	return &VictoriaLogs{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// victoriaLogsArgs are the arguments of victoria-logs on port with its
// storage in dir.
func victoriaLogsArgs(port int, dir string) []string {
	return []string{"-httpListenAddr=127.0.0.1:" + strconv.Itoa(port), "-storageDataPath=" + dir, "-loggerLevel=WARN"}
}

// startVictoriaLogsAt starts victoria-logs on port with its storage in dir
// and waits until /health answers.
func startVictoriaLogsAt(tb testing.TB, port int, dir string) (*VictoriaLogs, *process) {
	tb.Helper()
	bin := findBinary(tb, "victoria-logs", VictoriaLogsInstall)
	p := start(tb, "victoria-logs", bin, victoriaLogsArgs(port, dir)...)
	v := &VictoriaLogs{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if err := p.waitHTTP(v.URL+"/health", 60*time.Second); err != nil {
		tb.Fatalf("start victoria-logs on port %d: %v", port, err)
	}
	return v, p
}

// StartVictoriaLogsAt starts victoria-logs on a given port with its
// storage in dir, for tests where the peer is down at first. It is killed
// in tb.Cleanup.
func StartVictoriaLogsAt(tb testing.TB, port int, dir string) *VictoriaLogs {
	tb.Helper()
	v, _ := startVictoriaLogsAt(tb, port, dir)
	return v
}

// LokiPushURL is the Loki push endpoint.
func (v *VictoriaLogs) LokiPushURL() string { return v.URL + "/insert/loki/api/v1/push" }

// Flush makes everything ingested so far searchable.
func (v *VictoriaLogs) Flush(tb testing.TB) {
	tb.Helper()
	resp, err := http.Get(v.URL + "/internal/force_flush")
	if err != nil {
		tb.Fatalf("force flush: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("force flush: status %s", resp.Status)
	}
}

// Query runs a LogsQL query over all time and returns the rows, each a map
// of field name to value (_msg, _time, _stream and the stream fields).
func (v *VictoriaLogs) Query(tb testing.TB, query string) []map[string]string {
	tb.Helper()
	resp, err := http.PostForm(v.URL+"/select/logsql/query", url.Values{"query": {query}})
	if err != nil {
		tb.Fatalf("query %q: %v", query, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("query %q: status %s", query, resp.Status)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			tb.Fatalf("query %q: decode row %q: %v", query, sc.Text(), err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("query %q: read: %v", query, err)
	}
	return rows
}

// WaitRows flushes and queries until the query returns at least n rows or
// the timeout passes, and returns the last result.
func (v *VictoriaLogs) WaitRows(tb testing.TB, query string, n int, timeout time.Duration) []map[string]string {
	tb.Helper()
	var rows []map[string]string
	Poll(timeout, func() bool {
		v.Flush(tb)
		rows = v.Query(tb, query)
		return len(rows) >= n
	})
	return rows
}
