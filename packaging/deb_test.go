package packaging_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// nfpmConfig is the part of nfpm's configuration the tests look at.
type nfpmConfig struct {
	Name     string   `yaml:"name"`
	Version  string   `yaml:"version"`
	Depends  []string `yaml:"depends"`
	Contents []struct {
		Src      string `yaml:"src"`
		Dst      string `yaml:"dst"`
		Type     string `yaml:"type"`
		Expand   bool   `yaml:"expand"`
		FileInfo struct {
			Mode int `yaml:"mode"`
		} `yaml:"file_info"`
	} `yaml:"contents"`
	Scripts map[string]string `yaml:"scripts"`
}

// TestNfpmConfig checks packaging/deb/nfpm.yaml: every source exists (or is
// made by build.sh), the package holds what the issue and docs promise, and
// the maintainer scripts are valid sh.
func TestNfpmConfig(t *testing.T) {
	data, err := os.ReadFile("deb/nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c nfpmConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("decode nfpm.yaml: %v", err)
	}
	if !slices.Contains(c.Depends, "libsystemd0") {
		t.Errorf("depends %v lacks libsystemd0", c.Depends)
	}
	dsts := map[string]string{}
	for _, f := range c.Contents {
		if strings.Contains(f.Src, "${") != f.Expand {
			t.Errorf("%s: expand must be true exactly when src names a variable", f.Src)
		}
		dsts[f.Dst] = f.Type
		if strings.Contains(f.Src, "${CFLOGD_BUILD}") {
			continue // made by build.sh
		}
		m, err := filepath.Glob(filepath.Join("..", f.Src))
		if err != nil || len(m) == 0 {
			t.Errorf("src %s matches no file", f.Src)
		}
	}
	want := map[string]string{
		"/usr/bin/cflogd":                                "",
		"/lib/systemd/system/cflogd.service":             "",
		"/etc/centra-cloud/cflogd.toml":                  "config|noreplace",
		"/usr/share/man/man1/cflogd.1.gz":                "",
		"/usr/share/cflogd/patterns.d/":                  "",
		"/usr/share/doc/cflogd/examples/sample.export":   "",
		"/usr/share/cflogd/loki/rules.yaml":              "",
		"/usr/share/cflogd/prometheus/cflogd.rules.yaml": "",
		"/usr/share/cflogd/grafana/cflogd.json":          "",
	}
	for dst, typ := range want {
		got, ok := dsts[dst]
		if !ok {
			t.Errorf("the package lacks %s", dst)
		} else if got != typ {
			t.Errorf("%s: type %q, want %q", dst, got, typ)
		}
	}
	// The unit's ExecStart runs the packaged binary.
	u := parseUnit(t, unitPath)
	if exec := u["Service.ExecStart"]; len(exec) != 1 || !strings.HasPrefix(exec[0], "/usr/bin/cflogd ") {
		t.Errorf("ExecStart=%v does not run /usr/bin/cflogd", exec)
	}
	if diff := cmp.Diff([]string{"postinstall", "postremove", "preremove"}, sortedKeys(c.Scripts)); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
	for _, s := range c.Scripts {
		p := filepath.Join("..", s)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("script %s: %v", s, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("script %s is not executable", s)
		}
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestMaintainerScripts checks what the maintainer scripts promise: the
// postinst creates the user in systemd-journal and never enables or starts
// the service; prerm stops it on remove; postrm removes user and state on
// purge. (scripts/test-packaging.sh runs them for real with dpkg.)
func TestMaintainerScripts(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("deb", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	postinst, prerm, postrm := read("postinst"), read("prerm"), read("postrm")
	tests := []struct {
		script, text, want string
		present            bool
	}{
		{"postinst", postinst, "useradd --system", true},
		{"postinst", postinst, "usermod --append --groups systemd-journal cflogd", true},
		{"postinst", postinst, "install -d -o cflogd -g cflogd -m 0700 /var/lib/cflogd", true},
		{"postinst", postinst, "systemctl enable", false},
		{"postinst", postinst, "systemctl start", false},
		{"postinst", postinst, "systemctl try-restart cflogd.service", true},
		{"prerm", prerm, "systemctl stop cflogd.service", true},
		{"postrm", postrm, "userdel cflogd", true},
		{"postrm", postrm, "rm -rf /var/lib/cflogd", true},
	}
	for _, tt := range tests {
		t.Run(tt.script+" "+tt.want, func(t *testing.T) {
			if got := strings.Contains(tt.text, tt.want); got != tt.present {
				t.Errorf("%s contains %q: %v, want %v", tt.script, tt.want, got, tt.present)
			}
		})
	}
}

// TestDebVersion checks how git describe becomes a Debian version, and that
// dpkg orders the results as releases are ordered.
func TestDebVersion(t *testing.T) {
	tests := []struct{ describe, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-rc1", "1.2.3~rc1"},
		{"v1.2.3-5-g8c30f35", "1.2.3+5.g8c30f35"},
		{"v1.2.3-5-g8c30f35-dirty", "1.2.3+5.g8c30f35.dirty"},
		{"v1.2.3-rc1-2-gabc1234", "1.2.3~rc1+2.gabc1234"},
		{"8c30f35", "0.0.0~git83.8c30f35"},
		{"8c30f35-dirty", "0.0.0~git83.8c30f35.dirty"},
		{"v2.0_beta", "2.0.beta"},
	}
	for _, tt := range tests {
		t.Run(tt.describe, func(t *testing.T) {
			out, err := exec.Command("deb/version.sh", tt.describe, "83").Output()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(bytes.TrimSpace(out))); diff != "" {
				t.Errorf("version.sh %s (-want +got):\n%s", tt.describe, diff)
			}
		})
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg to compare versions")
	}
	// Each is older than the next.
	order := []string{"0.0.0~git83.8c30f35", "1.2.3~rc1", "1.2.3~rc1+2.gabc1234", "1.2.3", "1.2.3+5.g8c30f35", "1.2.3+5.g8c30f35.dirty", "1.2.4"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command("dpkg", "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("dpkg does not order %s before %s", order[i-1], order[i])
		}
	}
}
