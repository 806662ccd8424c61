package patterns

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnitOf(t *testing.T) {
	tests := map[string]string{
		"chainfire_raft": "chainfire.service", "chainfire": "chainfire.service", "chainfire::raft": "chainfire.service",
		"flaredb_pd_client": "flaredb.service", "pd_server": "placement-driver.service",
		"placement_driver::sched": "placement-driver.service", "chainfirex": "", "pdx": "", "": "", "sshd": "",
	}
	for in, want := range tests {
		if got := BuiltinServices().UnitOf(in); got != want {
			t.Errorf("UnitOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseUnits(t *testing.T) {
	ss := BuiltinServices()
	tests := []struct {
		in   []string
		want []string
		err  string
	}{
		{[]string{"pd"}, []string{"placement-driver.service"}, ""},
		{[]string{"pd.service", "placement-driver"}, []string{"placement-driver.service"}, ""},
		{[]string{"flaredb, chainfire.service", "all"}, []string{"flaredb.service", "chainfire.service", "placement-driver.service"}, ""},
		{[]string{"sshd"}, nil, `unknown unit "sshd" (want chainfire, flaredb, placement-driver (or pd), their .service names, or all)`},
	}
	for _, tt := range tests {
		got, err := ss.ParseUnits(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseUnits(%q): error %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !cmp.Equal(tt.want, got) {
			t.Errorf("ParseUnits(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestSiteServices: a site file adds a fourth service and renames a unit;
// every signature, built-in or not, and the library's table follow it.
func TestSiteServices(t *testing.T) {
	dir := t.TempDir()
	site := `services:
  - name: etcd
    aliases: [kv]
    crates: [etcd, etcd_server]
  - name: chainfire
    unit: chainfire-node.service
signatures:
  - id: site.etcd_slow
    units: [kv]
    summary: slow
    severity: warning
    anchor: log-analysis
    match: 'apply request took too long'
    examples:
      - {line: "WARN etcd_server: apply request took too long", unit: etcd}
`
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chainfire-node.service", "flaredb.service", "placement-driver.service", "etcd.service"}
	if diff := cmp.Diff(want, lib.Services.Units()); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, lib.Lookup("service.panic").Units); diff != "" {
		t.Errorf("units: all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"chainfire-node.service"}, lib.Lookup("chainfire.no_leader").Units); diff != "" {
		t.Errorf("chainfire.no_leader units (-want +got):\n%s", diff)
	}
	s := lib.Lookup("site.etcd_slow")
	if diff := cmp.Diff([]string{"etcd.service"}, s.Units); diff != "" {
		t.Errorf("site.etcd_slow units (-want +got):\n%s", diff)
	}
	if s.Examples[0].Unit != "etcd.service" {
		t.Errorf("example unit %q, want etcd.service", s.Examples[0].Unit)
	}
	if got := lib.Services.UnitOf("etcd_server::apply"); got != "etcd.service" {
		t.Errorf("UnitOf(etcd_server::apply) = %q", got)
	}
	if got := lib.Services.UnitOf("chainfire_raft"); got != "chainfire-node.service" {
		t.Errorf("UnitOf(chainfire_raft) = %q", got)
	}
}

func TestServiceErrors(t *testing.T) {
	tests := []parseCase{
		{"bad values", "services:\n  - name: Etcd\n    unit: etcd\n    crates: [x, 1]\n    color: red\n  - {unit: x.service}\n", []string{
			`t.yaml:2:11: service: name: invalid name "Etcd" (want a lowercase word such as placement-driver)`,
			`t.yaml:3:11: service: unit: invalid unit "etcd" (want a systemd service unit such as Etcd.service)`,
			`t.yaml:5:5: service: unknown key "color" (known: aliases, crates, identifiers, name, unit)`,
			"t.yaml:6:5: service: missing key name",
		}},
		{"clashes", "services:\n  - {name: etcd, aliases: [pd]}\n  - {name: kv, crates: [flaredb]}\n  - {name: etcd}\n", []string{
			"t.yaml:2:5: service etcd: pd names service placement-driver too (defined at patterns.d/00-services.yaml:15:5)",
			"t.yaml:3:5: service kv: crate flaredb is service flaredb's too (defined at patterns.d/00-services.yaml:11:5)",
			"t.yaml:4:5: duplicate service etcd (first defined at t.yaml:2:5)",
		}},
	}
	checkParseCases(t, tests)
}
