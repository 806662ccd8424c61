package packaging_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNixParse checks that the NixOS module and the package derivation
// parse (nix-instantiate --parse, from Debian's nix-bin).
func TestNixParse(t *testing.T) {
	ni := needTool(t, "nix-instantiate", "nix-bin")
	files, err := filepath.Glob("nix/*.nix")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nix/module.nix", "nix/package.nix"}, files); diff != "" {
		t.Errorf("nix files (-want +got):\n%s", diff)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			out, err := exec.Command(ni, "--parse", f).CombinedOutput()
			if err != nil {
				t.Errorf("nix-instantiate --parse %s: %v\n%s", f, err, out)
			}
		})
	}
}

var (
	nixKeyRE  = regexp.MustCompile(`^\s*([A-Za-z]+) = (.*);$`)
	nixListRE = regexp.MustCompile(`^\s*([A-Za-z]+) = \[$`)
)

// nixServiceConfig reads the serviceConfig attribute set of the module:
// each key to its values (a list gives several).
func nixServiceConfig(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("nix/module.nix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() && strings.TrimSpace(sc.Text()) != "serviceConfig = {" {
	}
	out := map[string][]string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "};" {
			return out
		}
		if m := nixListRE.FindStringSubmatch(line); m != nil {
			for sc.Scan() && strings.TrimSpace(sc.Text()) != "];" {
				out[m[1]] = append(out[m[1]], nixValue(t, strings.TrimSpace(sc.Text())))
			}
			continue
		}
		if m := nixKeyRE.FindStringSubmatch(line); m != nil {
			out[m[1]] = []string{nixValue(t, m[2])}
		}
	}
	t.Fatal("no serviceConfig = { ... }; in nix/module.nix")
	return nil
}

// nixValue turns a Nix literal into the unit-file spelling.
func nixValue(t *testing.T, v string) string {
	t.Helper()
	switch {
	case v == "true":
		return "yes"
	case v == "false":
		return "no"
	case strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`):
		return v[1 : len(v)-1]
	case strings.HasPrefix(v, "[ ") && strings.HasSuffix(v, " ]"):
		var vals []string
		for _, s := range strings.Fields(v[2 : len(v)-2]) {
			vals = append(vals, strings.Trim(s, `"`))
		}
		return strings.Join(vals, " ")
	}
	return v // a number or an expression
}

// TestNixModuleMatchesUnit checks that the NixOS module's serviceConfig has
// the same settings as the Debian unit, so hardening added to one is added
// to the other. The differences are deliberate: NixOS uses a dynamic user
// and passes only the credentials that are configured.
func TestNixModuleMatchesUnit(t *testing.T) {
	nix := nixServiceConfig(t)
	unit := parseUnit(t, unitPath)
	onlyUnit := []string{"User", "Group", "SetCredential"}
	onlyNix := []string{"DynamicUser"}
	differ := []string{"ExecStart", "ExecReload", "LoadCredential"} // store paths, configured credentials
	for k, uv := range unit {
		key, ok := strings.CutPrefix(k, "Service.")
		if !ok || slices.Contains(onlyUnit, key) {
			continue
		}
		nv, ok := nix[key]
		if !ok {
			t.Errorf("the unit sets %s=%s, the NixOS module does not", key, strings.Join(uv, " "))
			continue
		}
		if slices.Contains(differ, key) {
			continue
		}
		if len(nv) > 1 && len(uv) == 1 {
			nv = []string{strings.Join(nv, " ")}
		}
		if diff := cmp.Diff(uv, nv); diff != "" {
			t.Errorf("%s: unit (-) and NixOS module (+) differ:\n%s", key, diff)
		}
	}
	for key := range nix {
		if _, ok := unit["Service."+key]; !ok && !slices.Contains(onlyNix, key) {
			t.Errorf("the NixOS module sets %s, the unit does not", key)
		}
	}
}

// TestNixDocSnippetsParse checks that every ```nix block of the README and
// docs/packaging.md parses, so the examples people copy are valid Nix.
func TestNixDocSnippetsParse(t *testing.T) {
	ni := needTool(t, "nix-instantiate", "nix-bin")
	blocks := 0
	for _, doc := range []string{"../README.md", "../docs/packaging.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range nixBlocks(string(text)) {
			blocks++
			t.Run(filepath.Base(doc)+"#"+strconv.Itoa(i+1), func(t *testing.T) {
				cmd := exec.Command(ni, "--parse", "-E", block)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("nix-instantiate --parse of the nix block %d of %s: %v\n%s\n%s", i+1, doc, err, out, block)
				}
			})
		}
	}
	if blocks < 2 {
		t.Errorf("%d nix blocks in the README and docs/packaging.md, want the NixOS examples in both", blocks)
	}
}

// nixBlocks returns the bodies of the fenced ```nix blocks of a Markdown text.
func nixBlocks(md string) []string {
	var out []string
	var cur []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```nix":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			out = append(out, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return out
}
