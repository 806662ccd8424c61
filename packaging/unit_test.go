package packaging_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/config"
)

const unitPath = "systemd/cflogd.service"

// unitFile maps "Section.Key" to its values in file order.
type unitFile map[string][]string

func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

// credentials are the LoadCredential= names of the unit and the
// configuration keys that read them.
var credentials = map[string]string{
	"loki-token":         "bearer_token_file",
	"loki-password":      "basic_auth_password_file",
	"loki-key":           "key_file",
	"alertmanager-token": "bearer_token_file",
	"slack-url":          "url_file",
	"webhook-url":        "url_file",
	"webhook-secret":     "secret_file",
}

// TestUnitDirectives checks the settings the unit must have.
func TestUnitDirectives(t *testing.T) {
	u := parseUnit(t, unitPath)
	want := map[string][]string{
		"Service.Type":                    {"notify"},
		"Service.ExecStart":               {"/usr/bin/cflogd run --config " + config.DefaultPath},
		"Service.ExecReload":              {"/bin/kill -HUP $MAINPID"},
		"Service.WatchdogSec":             {"30s"},
		"Service.Restart":                 {"on-failure"},
		"Service.User":                    {"cflogd"},
		"Service.SupplementaryGroups":     {"systemd-journal"},
		"Service.StateDirectory":          {strings.TrimPrefix(config.Default.StateDir, "/var/lib/")},
		"Service.ConfigurationDirectory":  {strings.Split(strings.TrimPrefix(config.DefaultPath, "/etc/"), "/")[0]},
		"Service.ProtectSystem":           {"strict"},
		"Service.ProtectHome":             {"yes"},
		"Service.PrivateTmp":              {"yes"},
		"Service.NoNewPrivileges":         {"yes"},
		"Service.CapabilityBoundingSet":   {""},
		"Service.RestrictAddressFamilies": {"AF_UNIX AF_INET AF_INET6"},
		"Service.SystemCallFilter":        {"@system-service", "~@privileged @resources"},
		"Service.SystemCallArchitectures": {"native"},
		"Service.MemoryMax":               {"256M"},
		"Service.ProtectKernelTunables":   {"yes"},
		"Service.ProtectKernelModules":    {"yes"},
		"Service.ProtectKernelLogs":       {"yes"},
		"Service.ProtectControlGroups":    {"yes"},
		"Service.LockPersonality":         {"yes"},
		"Service.MemoryDenyWriteExecute":  {"yes"},
		"Service.RestrictNamespaces":      {"yes"},
		"Install.WantedBy":                {"multi-user.target"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, u[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}

	// Every credential is loaded, has a blank default so the unit starts
	// without it, and is documented in the unit and docs/packaging.md.
	unitText, _ := os.ReadFile(unitPath)
	doc, err := os.ReadFile("../docs/packaging.md")
	if err != nil {
		t.Fatal(err)
	}
	var loaded, defaults []string
	for _, lc := range u["Service.LoadCredential"] {
		name, path, _ := strings.Cut(lc, ":")
		loaded = append(loaded, name)
		if path != "/etc/centra-cloud/cflogd/credentials/"+name {
			t.Errorf("LoadCredential=%s: want the file /etc/centra-cloud/cflogd/credentials/%s", lc, name)
		}
	}
	for _, sc := range u["Service.SetCredential"] {
		name, val, _ := strings.Cut(sc, ":")
		defaults = append(defaults, name)
		if val != `\n` {
			t.Errorf("SetCredential=%s: want a blank default (\\n)", sc)
		}
	}
	var names []string
	for n := range credentials {
		names = append(names, n)
	}
	slices.Sort(names)
	slices.Sort(loaded)
	slices.Sort(defaults)
	if diff := cmp.Diff(names, loaded); diff != "" {
		t.Errorf("LoadCredential names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(names, defaults); diff != "" {
		t.Errorf("SetCredential names (-want +got):\n%s", diff)
	}
	for n, key := range credentials {
		row := regexp.MustCompile(`(?m)^#\s+` + regexp.QuoteMeta(n) + `\s.*\b` + key + `\b`)
		if !row.Match(unitText) {
			t.Errorf("the unit's header does not document credential %s (%s)", n, key)
		}
		if !bytes.Contains(doc, []byte("`"+n+"`")) {
			t.Errorf("docs/packaging.md does not document credential %s", n)
		}
	}
}

// verifyCopy writes the unit with ExecStart pointing at the built binary
// (systemd-analyze verify checks that it is executable) and returns its path.
func verifyCopy(t *testing.T) string {
	t.Helper()
	bin := cflogdBinary(t)
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "ExecStart=/usr/bin/cflogd ", "ExecStart="+bin+" ", 1)
	if text == string(data) {
		t.Fatal("no ExecStart=/usr/bin/cflogd line")
	}
	p := filepath.Join(t.TempDir(), "cflogd.service")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnitVerify runs systemd-analyze verify on the unit. It works without
// systemd as PID 1. --man=no: the man page Documentation= names is installed
// by the package, not here (scripts/test-packaging.sh verifies the installed
// unit with it).
func TestUnitVerify(t *testing.T) {
	sa := needTool(t, "systemd-analyze", "systemd")
	p := verifyCopy(t)
	var stderr bytes.Buffer
	cmd := exec.Command(sa, "verify", "--man=no", p)
	cmd.Dir = filepath.Dir(p)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v", err)
	}
	// verify exits 0 on unknown keys and bad values ("ignoring"): any
	// message about the unit is a failure.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.Contains(line, "cflogd") {
			t.Errorf("systemd-analyze verify: %s", line)
		} else if line != "" {
			t.Logf("systemd-analyze verify (other unit): %s", line)
		}
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for cflogd\.service: (\d+\.\d+) (\w+)`)

// TestUnitSecurity runs systemd-analyze security --offline=true on the unit
// and checks that the exposure level is the one docs/packaging.md records.
func TestUnitSecurity(t *testing.T) {
	sa := needTool(t, "systemd-analyze", "systemd")
	p := verifyCopy(t)
	out := run(t, sa, "security", "--offline=true", "--no-pager", p)
	m := exposureRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(m[1], 64)
	if level > 2.0 {
		t.Errorf("exposure level %s %s, want 2.0 or less:\n%s", m[1], m[2], out)
	}
	doc, err := os.ReadFile("../docs/packaging.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "exposure level " + m[1] + " " + m[2]; !bytes.Contains(doc, []byte(want)) {
		t.Errorf("docs/packaging.md does not record %q", want)
	}
}
