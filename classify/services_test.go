package classify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// TestSiteService: a service added in a site pattern file is classified
// like a built-in one, its unit inferred from its crate for text lines.
func TestSiteService(t *testing.T) {
	dir := t.TempDir()
	site := `services:
  - {name: etcd, crates: [etcd_server]}
signatures:
  - {id: site.etcd_slow, units: [etcd], summary: slow, severity: warning, anchor: log-analysis, match: apply request took too long}
`
	if err := os.WriteFile(filepath.Join(dir, "etcd.yaml"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := patterns.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	c := New(lib, Options{})
	for _, e := range []record.Entry{
		{Message: "WARN etcd_server: apply request took too long", Priority: record.NoPriority},
		{Message: "apply request took too long", Unit: "etcd.service", Priority: 4},
	} {
		ev, ok := c.Classify(&e)
		if !ok || ev.Signature != "site.etcd_slow" || ev.Unit != "etcd.service" {
			t.Errorf("Classify(%q) = %s in %s, %v; want site.etcd_slow in etcd.service", e.Message, ev.Signature, ev.Unit, ok)
		}
	}
	// service.panic (units: all) applies to the new service too.
	e := record.Entry{Message: "thread 'main' panicked at src/main.rs:1:2:", Unit: "etcd.service", Priority: 3}
	if ev, ok := c.Classify(&e); !ok || ev.Signature != "service.panic" {
		t.Errorf("panic in etcd.service: %s, %v", ev.Signature, ok)
	}
}
