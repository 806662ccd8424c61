package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testjournal"
)

// TestScanSiteService: a site's pattern file adds a fourth service, with a
// signature of its own, and renames chainfire's unit; scan reads and
// classifies both with no change to the code.
func TestScanSiteService(t *testing.T) {
	dir := t.TempDir()
	site := `services:
  - name: kvproxy
    unit: kvproxy.service
    identifiers: [kvproxy]
    crates: [kvproxy]
  - name: chainfire
    unit: chainfire-v2.service
    identifiers: [chainfire]
    crates: [chainfire]
signatures:
  - id: kvproxy.backend_down
    units: [kvproxy]
    summary: "Backend {backend} down"
    severity: error
    anchor: log-analysis
    match: 'backend (?P<backend>\S+) is down'
    fields:
      backend: string
    examples:
      - line: "ERROR kvproxy_pool: backend node3:2379 is down"
        fields: {backend: "node3:2379"}
      - line: "ERROR kvproxy_pool: backend node4:2379 is down, retrying"
        fields: {backend: "node4:2379"}
    near_misses:
      - "INFO kvproxy_pool: backend node3:2379 is up"
`
	if err := os.WriteFile(filepath.Join(dir, "50-kvproxy.yaml"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	input := `{"__REALTIME_TIMESTAMP":"1795687200000000","_HOSTNAME":"node01","_SYSTEMD_UNIT":"kvproxy.service","SYSLOG_IDENTIFIER":"kvproxy","PRIORITY":"3","MESSAGE":"ERROR kvproxy_pool: backend node3:2379 is down"}
{"__REALTIME_TIMESTAMP":"1795687201000000","_HOSTNAME":"node01","_SYSTEMD_UNIT":"chainfire-v2.service","SYSLOG_IDENTIFIER":"chainfire","PRIORITY":"4","MESSAGE":"WARN chainfire_storage: RocksDB stall detected, duration=2000ms"}
{"__REALTIME_TIMESTAMP":"1795687202000000","_HOSTNAME":"node01","_SYSTEMD_UNIT":"chainfire.service","SYSLOG_IDENTIFIER":"chainfire-old","PRIORITY":"4","MESSAGE":"WARN chainfire_storage: RocksDB stall detected, duration=3000ms"}
{"__REALTIME_TIMESTAMP":"1795687203000000","_HOSTNAME":"node01","SYSLOG_IDENTIFIER":"chainfire","PRIORITY":"4","MESSAGE":"WARN chainfire_storage: RocksDB stall detected, duration=4000ms"}
`
	a, stdout, stderr := testApp(input)
	code := a.main(t.Context(), []string{"scan", "--patterns", dir, "--input", "-", "-o", "jsonl"})
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	got := stdout.String()
	checkSiteServices(t, "--input", got)
	// The same entries in a journal file, through both readers: the
	// matches and the readers take the site's identifiers too.
	var b []byte
	for _, l := range strings.Split(strings.TrimSpace(input), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		us, _ := strconv.ParseInt(m["__REALTIME_TIMESTAMP"], 10, 64)
		var fields []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k != "__REALTIME_TIMESTAMP" {
				fields = append(fields, k, m[k])
			}
		}
		b = testjournal.Entry(b, time.UnixMicro(us), time.Duration(us%1e9)*time.Microsecond, strings.Repeat("ab", 16), fields...)
	}
	jdir := t.TempDir()
	testjournal.Write(t, jdir, "site.journal", b)
	for _, reader := range []string{"native", "sdjournal"} {
		got := scanOut(t, "--patterns", dir, "--directory", jdir, "--reader", reader, "-o", "jsonl", "--since", "2026-01-01", "--until", "2027-01-01")
		checkSiteServices(t, "--reader "+reader, got)
	}
	// --unit takes the site's service by name.
	a, stdout, stderr = testApp(input)
	if code := a.main(t.Context(), []string{"scan", "--patterns", dir, "--input", "-", "-o", "jsonl", "-u", "kvproxy"}); code != exitOK {
		t.Fatalf("-u kvproxy: exit %d; stderr:\n%s", code, stderr)
	}
	if got := stdout.String(); !strings.Contains(got, "kvproxy.backend_down") || strings.Contains(got, "rocksdb_stall") {
		t.Errorf("-u kvproxy:\n%s", got)
	}
	a, _, stderr = testApp(input)
	if code := a.main(t.Context(), []string{"scan", "--patterns", dir, "--input", "-", "-u", "nosuch"}); code != exitUsage || !strings.Contains(stderr.String(), "nosuch") {
		t.Errorf("-u nosuch: exit %d, stderr %q; want a usage error naming it", code, stderr)
	}
}

// checkSiteServices checks TestScanSiteService's events: the site's
// service, chainfire under its new unit, also by its identifier alone
// (duration_ms 4000), not under the old one (3000).
func checkSiteServices(t *testing.T, how, got string) {
	t.Helper()
	for _, want := range []string{`"unit":"kvproxy.service","signature":"kvproxy.backend_down"`, `"fields":{"backend":"node3:2379"}`,
		`"unit":"chainfire-v2.service","signature":"chainfire.rocksdb_stall"`, `"duration_ms":4000`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s: output lacks %s:\n%s", how, want, got)
		}
	}
	if strings.Contains(got, "3000") {
		t.Errorf("%s: the old chainfire.service unit was read:\n%s", how, got)
	}
}
