package packaging_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/internal/manpage"
)

// TestManPage renders cflogd(1) from the help of the built binary and
// compares it with packaging/man/cflogd.1, so the man page states exactly the
// commands and flags cflogd has.
func TestManPage(t *testing.T) {
	bin := cflogdBinary(t)
	ov, err := manpage.ParseOverview(run(t, bin, "help"))
	if err != nil {
		t.Fatal(err)
	}
	page := manpage.Page{Overview: ov}
	for _, e := range ov.Commands {
		if e.Name == "help" {
			continue
		}
		c, err := manpage.ParseCommand(e.Name, run(t, bin, "help", e.Name))
		if err != nil {
			t.Fatal(err)
		}
		page.Commands = append(page.Commands, c)
	}
	if len(page.Commands) < 5 {
		t.Fatalf("help lists %d commands, want run, scan, check, explain and version", len(page.Commands))
	}
	out := manpage.Render(page)
	golden(t, "man/cflogd.1", []byte(out))

	if p, err := exec.LookPath("groff"); err == nil {
		// groff -ww warns about anything malformed.
		cmd := exec.Command(p, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff: %v\n%s", err, stderr.String())
		}
	}
}

// conffileHeader starts the configuration file the Debian package installs.
const conffileHeader = `# /etc/centra-cloud/cflogd.toml, as the cflogd package installs it.
#
# Every setting below is commented out ("#key = value"), so cflogd runs with
# its defaults, which are the values shown, and no sinks. Uncomment and edit,
# add at least one [[sink]], then enable the service, which the package
# leaves disabled:
#     systemctl enable --now cflogd
# A mistake stops it with a message naming the key and its line:
#     journalctl -u cflogd
# Put secrets in /etc/centra-cloud/cflogd/credentials/NAME (root, 0600); the
# service sees them in /run/credentials/cflogd.service/NAME (see cflogd(1),
# /usr/share/doc/cflogd/packaging.md). The example with every sink filled in:
# /usr/share/doc/cflogd/examples/cflogd.toml.
#
`

// commentOut comments out every setting of a TOML example: a line that is
// neither blank nor a comment gets a leading "#".
func commentOut(src string) string {
	var b strings.Builder
	b.WriteString(conffileHeader)
	for _, line := range strings.SplitAfter(src, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString("#")
		}
		b.WriteString(line)
	}
	return b.String()
}

// TestConffile checks that packaging/deb/cflogd.toml, the conffile of the
// Debian package, is packaging/cflogd.toml with every setting commented out,
// and that it loads as the defaults.
func TestConffile(t *testing.T) {
	src, err := os.ReadFile("cflogd.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := commentOut(string(src))
	golden(t, "deb/cflogd.toml", []byte(out))

	got, err := config.Parse("deb/cflogd.toml", []byte(out))
	if err != nil {
		t.Fatalf("parse the conffile: %v", err)
	}
	if diff := cmp.Diff(config.Default, *got); diff != "" {
		t.Errorf("the conffile does not load as config.Default (-want +got):\n%s", diff)
	}

	// Every top-level default is shown with its default value.
	for _, want := range []string{
		`#units = ["chainfire.service", "flaredb.service", "placement-driver.service"]`,
		`#state_dir = "` + config.Default.StateDir + `"`,
		`#listen = "` + config.Default.Listen + `"`,
		`#runbook_base = "` + config.Default.RunbookBase + `"`,
		`#initial_position = "` + config.Default.Journal.InitialPosition.String() + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("conffile lacks %q", want)
		}
	}
}

// TestCompletion compares the shell completion scripts the Debian package
// installs with what the built binary generates (cflogd completion), so
// they name exactly the commands and flags cflogd has.
func TestCompletion(t *testing.T) {
	bin := cflogdBinary(t)
	for _, c := range []struct{ shell, path string }{
		{"bash", "completion/cflogd.bash"},
		{"zsh", "completion/_cflogd"},
	} {
		golden(t, c.path, []byte(run(t, bin, "completion", c.shell)))
	}
}
