package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// testApp is an app with a fixed clock (2026-11-26 10:30 UTC), no terminal and
// an empty environment.
func testApp(stdin string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(stdin), &stdout, &stderr)
	a.now = func() time.Time { return time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC) }
	a.loc = time.UTC
	a.getenv = func(string) string { return "" }
	a.isTerminal = func(io.Writer) bool { return false }
	a.termWidth = func(io.Writer) int { return 0 }
	a.workers = 2
	a.hostname = "testhost"
	a.sitePatterns = nil // not the machine's /etc
	return a, &stdout, &stderr
}

func TestExpandBoot(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--boot"}, []string{"--boot"}},
		{[]string{"--boot", "--unit", "chainfire"}, []string{"--boot", "--unit", "chainfire"}},
		{[]string{"--boot", "-1"}, []string{"--boot=-1"}},
		{[]string{"-boot", "0"}, []string{"-boot=0"}},
		{[]string{"--boot", "+2", "--since", "1h"}, []string{"--boot=+2", "--since", "1h"}},
		{[]string{"--boot", "5c0ffee05c0ffee05c0ffee05c0ffee0"}, []string{"--boot=5c0ffee05c0ffee05c0ffee05c0ffee0"}},
		{[]string{"--boot", "all"}, []string{"--boot=all"}},
		{[]string{"--boot=-1"}, []string{"--boot=-1"}},
		// A value of another flag is not taken for a boot.
		{[]string{"--since", "-1", "--boot"}, []string{"--since", "-1", "--boot"}},
		{[]string{"--unit", "--boot", "-1"}, []string{"--unit", "--boot", "-1"}},
		// "-1h" is not a boot offset.
		{[]string{"--boot", "-1h"}, []string{"--boot", "-1h"}},
		{[]string{"--no-color", "--boot", "-1"}, []string{"--no-color", "--boot=-1"}},
		{[]string{"--", "--boot", "-1"}, []string{"--", "--boot", "-1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a, _, _ := testApp("")
			got := expandBoot(newScanFlags(a).fs, tt.args)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("expandBoot (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanConfig(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	type view struct {
		Since, Until, ReportUntil time.Time
		Units                     []string
		UnitsGiven                bool
		Boot                      string
		Output                    string
		Min, FailOn               record.Severity
		Source                    string
		HeaderUnits               []string
	}
	all := patterns.BuiltinServices().Units()
	tests := []struct {
		name string
		args []string
		want view
	}{
		{"defaults", nil, view{
			Since: now.Add(-time.Hour), ReportUntil: now, Units: all, Output: "table", Min: record.Warning,
			Source: "local journal", HeaderUnits: all,
		}},
		{"since until units", []string{"--since", "2026-11-26 10:00", "--until", "now", "--unit", "chainfire", "--unit=flaredb.service"}, view{
			Since: now.Add(-30 * time.Minute), Until: now, ReportUntil: now,
			Units: []string{"chainfire.service", "flaredb.service"}, UnitsGiven: true, Output: "table", Min: record.Warning,
			Source: "local journal", HeaderUnits: []string{"chainfire.service", "flaredb.service"},
		}},
		{"boot alone: no default window", []string{"--boot"}, view{
			Units: all, Boot: "0", Output: "table", Min: record.Warning, Source: "local journal, boot current", HeaderUnits: all,
		}},
		{"boot offset", []string{"--boot", "-1", "--output", "jsonl"}, view{
			Units: all, Boot: "-1", Output: "jsonl", Min: record.Warning, Source: "local journal, boot -1", HeaderUnits: all,
		}},
		{"boot id uuid form", []string{"--boot=5C0FFEE0-5c0f-fee0-5c0f-fee05c0ffee0"}, view{
			Units: all, Boot: "5c0ffee05c0ffee05c0ffee05c0ffee0", Output: "table", Min: record.Warning,
			Source: "local journal, boot 5c0ffee05c0ffee05c0ffee05c0ffee0", HeaderUnits: all,
		}},
		{"boot all", []string{"--boot", "all"}, view{
			Units: all, Output: "table", Min: record.Warning, Source: "local journal, boot all", HeaderUnits: all,
		}},
		{"files: no default window", []string{"--file", "a.journal", "--file", "b.journal", "--fail-on", "error"}, view{
			Units: all, Output: "table", Min: record.Warning, FailOn: record.Error,
			Source: "journal files a.journal, b.journal", HeaderUnits: all,
		}},
		{"directory with since", []string{"--directory", "/var/log/journal", "--since", "2h", "--min-severity", "info"}, view{
			Since: now.Add(-2 * time.Hour), Units: all, Output: "table", Min: record.Info,
			Source: "journal directory /var/log/journal", HeaderUnits: all,
		}},
		{"input stdin: units inferred", []string{"--input", "-", "--output", "json"}, view{
			Units: all, Output: "json", Min: record.Warning, Source: "standard input",
		}},
		{"input with unit", []string{"--input", "x.txt", "--unit", "pd"}, view{
			Units: []string{"placement-driver.service"}, UnitsGiven: true, Output: "table", Min: record.Warning,
			Source: "input x.txt", HeaderUnits: []string{"placement-driver.service"},
		}},
		{"unit all and list", []string{"--unit", "all", "--unit", "chainfire,flaredb"}, view{
			Since: now.Add(-time.Hour), ReportUntil: now, Units: all, UnitsGiven: true, Output: "table", Min: record.Warning,
			Source: "local journal", HeaderUnits: all,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, _ := testApp("")
			f := newScanFlags(a)
			f.fs.SetOutput(&bytes.Buffer{})
			if err := f.fs.Parse(expandBoot(f.fs, tt.args)); err != nil {
				t.Fatal(err)
			}
			cfg, err := a.scanConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			got := view{cfg.Since, cfg.Until, cfg.ReportUntil, cfg.Units, cfg.UnitsGiven, cfg.Boot, cfg.Output,
				cfg.MinSeverity, cfg.FailOn, cfg.SourceLabel, cfg.HeaderUnits}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown flag", []string{"--bogus"}, "unknown flag --bogus\n"},
		{"bad since", []string{"--since", "soon"}, `--since: invalid time specification "soon"`},
		{"bad until", []string{"--until", "2026-13-01"}, "--until: invalid time specification"},
		{"until before since", []string{"--since", "today", "--until", "yesterday"}, "is before --since"},
		{"bad output", []string{"--output", "xml"}, `--output "xml": want table, json or jsonl`},
		{"bad reader", []string{"--reader", "sd"}, `--reader "sd": want native or sdjournal`},
		{"bad severity", []string{"--min-severity", "loud"}, `--min-severity: unknown severity "loud"`},
		{"bad fail-on", []string{"--fail-on", "x"}, `--fail-on: unknown severity "x"`},
		{"bad unit", []string{"--unit", "sshd"}, `--unit: unknown unit "sshd"`},
		{"bad boot", []string{"--boot=xyz"}, `"xyz" for -boot: want a boot ID`},
		{"input and file", []string{"--input", "-", "--file", "x"}, "--input cannot be combined"},
		{"input and boot", []string{"--input", "-", "--boot"}, "--boot needs a journal"},
		{"file and directory", []string{"--file", "x", "--directory", "d"}, "cannot be combined"},
		{"argument", []string{"extra"}, `unexpected argument "extra"`},
		{"boot then junk", []string{"--boot", "junk"}, `unexpected argument "junk"`},
		{"missing value", []string{"--since"}, "flag needs an argument: -since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, stderr := testApp("")
			code := a.main(t.Context(), append([]string{"scan"}, tt.args...))
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if !strings.Contains(stderr.String(), "Run 'cflogd scan -h' for usage.") {
				t.Errorf("stderr = %q, want a usage hint", stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"help"}, exitOK, "Commands:\n  scan", ""},
		{[]string{"-h"}, exitOK, "Usage: cflogd <command>", ""},
		{[]string{"--help"}, exitOK, "Usage: cflogd <command>", ""},
		{nil, exitUsage, "", "Usage: cflogd <command>"},
		{[]string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{[]string{"run", "-h"}, exitOK, "Usage: cflogd run [--config FILE]", ""},
		{[]string{"run", "--config", "/nonexistent/cflogd.toml"}, exitUsage, "", "read config"},
		{[]string{"help", "scan"}, exitOK, "  -b, --boot [ID]\n", ""},
		{[]string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{[]string{"scan", "-h"}, exitOK, "Usage: cflogd scan", ""},
		{[]string{"scan", "--help"}, exitOK, "  -S, --since TIME\n", ""},
		{[]string{"check", "-h"}, exitOK, "  --patterns DIR\n", ""},
		{[]string{"explain", "-h"}, exitOK, "Usage: cflogd explain", ""},
		{[]string{"version", "-h"}, exitOK, "Usage: cflogd version", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a, stdout, stderr := testApp("")
			code := a.main(t.Context(), tt.args)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.out)
			}
			if !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.err)
			}
		})
	}
}

func TestScanHelpListsEveryFlag(t *testing.T) {
	a, stdout, _ := testApp("")
	if code := a.main(t.Context(), []string{"scan", "-h"}); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, flag := range []string{"--since TIME", "--until TIME", "--unit UNIT", "--boot [ID]", "--file FILE", "--directory DIR",
		"--input FILE", "--output FORMAT", "--min-severity SEVERITY", "--fail-on SEVERITY", "--patterns DIR",
		"--runbook-base URL", "--no-color\n"} {
		if !strings.Contains(stdout.String(), " "+flag) {
			t.Errorf("scan -h does not list %q:\n%s", flag, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	a, stdout, _ := testApp("")
	if code := a.main(t.Context(), []string{"version"}); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || lines[0] != "cflogd dev" || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go1.") {
		t.Errorf("version output = %q", stdout)
	}
	a, _, stderr := testApp("")
	if code := a.main(t.Context(), []string{"version", "extra"}); code != exitUsage {
		t.Errorf("version extra: exit code %d, want %d (%s)", code, exitUsage, stderr)
	}
}
