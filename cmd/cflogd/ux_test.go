package main

import (
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/record"
)

// The tests in this file are issue 14's points, as a new user types them.

// parseScan parses scan's flags as the command does and returns the config.
func parseScan(t *testing.T, args []string) (*scanCommandConfig, error) {
	t.Helper()
	a, _, _ := testApp("")
	c := scanCommand()
	f := newScanFlags(a)
	if code, ok := a.parseFlags(c, f.fs, expandBoot(f.fs, args)); !ok {
		t.Fatalf("parse %q: exit %d", args, code)
	}
	return a.scanConfig(f)
}

func TestShortFlagsAreTheLongOnes(t *testing.T) {
	tests := []struct{ short, long []string }{
		{[]string{"-u", "chainfire"}, []string{"--unit", "chainfire"}},
		{[]string{"-u", "chainfire", "-u", "pd"}, []string{"--unit", "chainfire", "--unit", "pd"}},
		{[]string{"-S", "2026-11-26 10:00"}, []string{"--since", "2026-11-26 10:00"}},
		{[]string{"-S", "2h", "-U", "1h"}, []string{"--since", "2h", "--until", "1h"}},
		{[]string{"-b"}, []string{"--boot"}},
		{[]string{"-b", "-1"}, []string{"--boot", "-1"}},
		{[]string{"-D", "/var/log/journal"}, []string{"--directory", "/var/log/journal"}},
		{[]string{"-o", "json"}, []string{"--output", "json"}},
		{[]string{"-o", "jsonl"}, []string{"--output", "jsonl"}},
		{[]string{"-o", "table"}, []string{"--output", "table"}},
		{[]string{"-p", "err"}, []string{"--min-severity", "error"}},
		{[]string{"-p", "3"}, []string{"--min-severity", "error"}},
		{[]string{"-p", "warning"}, []string{"--min-severity", "warning"}},
		{[]string{"-p", "notice"}, []string{"--min-severity", "info"}},
		{[]string{"-p", "emerg"}, []string{"--min-severity", "critical"}},
		{[]string{"-p", "0"}, []string{"--min-severity", "critical"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.short, " "), func(t *testing.T) {
			want, err := parseScan(t, tt.long)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseScan(t, tt.short)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(scanCommandConfig{})); diff != "" {
				t.Errorf("%q is not %q (-want +got):\n%s", tt.short, tt.long, diff)
			}
		})
	}
	t.Run("explain", func(t *testing.T) {
		run := func(args ...string) string {
			a, stdout, stderr := testApp("")
			if code := a.main(t.Context(), append([]string{"explain"}, args...)); code != exitOK {
				t.Fatalf("explain %q: exit %d: %s", args, code, stderr)
			}
			return stdout.String()
		}
		line := "RocksDB stall detected, duration=2000ms"
		if diff := cmp.Diff(run("--unit", "chainfire", "--output", "json", line), run("-u", "chainfire", "-o", "json", line)); diff != "" {
			t.Errorf("-u/-o differ from --unit/--output (-long +short):\n%s", diff)
		}
		if diff := cmp.Diff(run("--priority", "3", line), run("--priority", "ERR", line)); diff != "" {
			t.Errorf("--priority ERR differs from 3 (-want +got):\n%s", diff)
		}
	})
}

func TestSeverityWords(t *testing.T) {
	tests := []struct {
		in   string
		want record.Severity
	}{
		{"info", record.Info}, {"INFO", record.Info}, {"notice", record.Info}, {"debug", record.Info},
		{"6", record.Info}, {"7", record.Info}, {"5", record.Info},
		{"warning", record.Warning}, {"Warning", record.Warning}, {"warn", record.Warning}, {"WARN", record.Warning}, {"4", record.Warning},
		{"error", record.Error}, {"err", record.Error}, {"ERR", record.Error}, {"3", record.Error},
		{"critical", record.Critical}, {"CRITICAL", record.Critical}, {"crit", record.Critical},
		{"emerg", record.Critical}, {"alert", record.Critical}, {"0", record.Critical}, {"2", record.Critical},
	}
	for _, tt := range tests {
		for _, fl := range []string{"--min-severity", "--fail-on", "-p"} {
			t.Run(fl+" "+tt.in, func(t *testing.T) {
				cfg, err := parseScan(t, []string{fl, tt.in})
				if err != nil {
					t.Fatal(err)
				}
				got := cfg.MinSeverity
				if fl == "--fail-on" {
					got = cfg.FailOn
				}
				if got != tt.want {
					t.Errorf("%s %s = %v, want %v", fl, tt.in, got, tt.want)
				}
			})
		}
	}
	for _, bad := range []string{"loud", "8", "-1", ""} {
		if _, err := parseSeverity(bad); err == nil {
			t.Errorf("parseSeverity(%q) succeeded, want an error", bad)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		args []string
		want string // the first line of stderr
	}{
		{[]string{"scan", "--sinse", "1h"}, "cflogd scan: unknown flag --sinse (did you mean --since?)"},
		{[]string{"scan", "--unti=now"}, "cflogd scan: unknown flag --unti (did you mean --until?)"},
		{[]string{"scan", "-S", "1h", "--outptu", "json"}, "cflogd scan: unknown flag --outptu (did you mean --output?)"},
		{[]string{"scan", "--min", "err"}, "cflogd scan: unknown flag --min (did you mean --min-severity?)"},
		{[]string{"scan", "--frobnicate"}, "cflogd scan: unknown flag --frobnicate"},
		{[]string{"explain", "--prority", "3", "x"}, "cflogd explain: unknown flag --prority (did you mean --priority?)"},
		{[]string{"check", "--pattern", "d"}, "cflogd check: unknown flag --pattern (did you mean --patterns?)"},
		{[]string{"scna"}, `cflogd: unknown command "scna" (did you mean scan?)`},
		{[]string{"expalin", "x"}, `cflogd: unknown command "expalin" (did you mean explain?)`},
		{[]string{"chek"}, `cflogd: unknown command "chek" (did you mean check?)`},
		{[]string{"frobnicate"}, `cflogd: unknown command "frobnicate"`},
		{[]string{"--verison"}, `cflogd: unknown flag "--verison" (did you mean --version?)`},
		{[]string{"help", "sacn"}, `cflogd help: unknown command "sacn" (did you mean scan?)`},
		{[]string{"completion", "zhs"}, `cflogd completion: unknown shell "zhs" (want bash or zsh) (did you mean zsh?)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a, stdout, stderr := testApp("")
			if code := a.main(t.Context(), tt.args); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if first != tt.want {
				t.Errorf("stderr starts %q, want %q", first, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}} {
		a, stdout, stderr := testApp("")
		if code := a.main(t.Context(), args); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		if !strings.HasPrefix(stdout.String(), "cflogd dev\ncommit ") {
			t.Errorf("%q: stdout = %q, want the version", args, stdout)
		}
	}
}

// TestHelpListsAliases checks that help shows each short flag beside its
// long one, once.
func TestHelpListsAliases(t *testing.T) {
	a, stdout, _ := testApp("")
	if code := a.main(t.Context(), []string{"scan", "-h"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"  -u, --unit UNIT\n", "  -S, --since TIME\n", "  -U, --until TIME\n", "  -o, --output FORMAT\n",
		"  -p, --min-severity SEVERITY\n", "  -b, --boot [ID]\n", "  -D, --directory DIR\n"} {
		if strings.Count(stdout.String(), want) != 1 {
			t.Errorf("scan -h lists %q %d times, want once:\n%s", want, strings.Count(stdout.String(), want), stdout)
		}
	}
	if strings.Contains(stdout.String(), "same as --") {
		t.Errorf("scan -h lists an alias as a flag of its own:\n%s", stdout)
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

// builtCflogd builds cflogd (without cgo: enough for what these tests run)
// once per test binary.
func builtCflogd(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cflogd-ux")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "cflogd")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", builtBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := builtCflogd(t)
	dir := filepath.Dir(bin)
	// What a user types to try it, then what bash asks the function when
	// TAB is pressed after each of these words.
	script := `source <(cflogd completion bash) && complete -p cflogd
try() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cflogd; echo "$*: ${COMPREPLY[*]}"; }
try cflogd sc
try cflogd scan --sin
try cflogd scan -o ''
try cflogd scan --min-severity e
try cflogd scan -u f
try cflogd explain --output ''
try cflogd completion ''
try cflogd help ex
try cflogd scan --since ''
`
	cmd := exec.Command(bash, "--norc", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	want := `complete -F _cflogd cflogd
cflogd sc: scan
cflogd scan --sin: --since
cflogd scan -o : table json jsonl
cflogd scan --min-severity e: error
cflogd scan -u f: flaredb
cflogd explain --output : text json
cflogd completion : bash zsh
cflogd help ex: explain
cflogd scan --since : 
`
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("bash completion (-want +got):\n%s", diff)
	}
}

func TestCompletionZsh(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh (apt-get install zsh)")
	}
	a, stdout, stderr := testApp("")
	if code := a.main(t.Context(), []string{"completion", "zsh"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f := filepath.Join(t.TempDir(), "_cflogd")
	if err := os.WriteFile(f, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", f).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	for _, want := range []string{"#compdef cflogd\n", "'(-S --since)-S[read entries at or after TIME]:time: '",
		"'*-u[read UNIT (chainfire, flaredb, placement-driver or pd, or the .service name)]:unit:(chainfire flaredb placement-driver pd all)'",
		"'--input[read journalctl output (-o cat, short, json or export) from FILE, - for stdin]:file:_files'"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("zsh completion lacks %q", want)
		}
	}
}

// TestCompletionNamesEveryFlag checks that both scripts name every flag of
// every command, so that they cannot fall behind the flag tables.
func TestCompletionNamesEveryFlag(t *testing.T) {
	for _, sh := range []string{"bash", "zsh"} {
		a, stdout, stderr := testApp("")
		if code := a.main(t.Context(), []string{"completion", sh}); code != exitOK {
			t.Fatalf("%s: exit %d: %s", sh, code, stderr)
		}
		for _, c := range commands() {
			if !strings.Contains(stdout.String(), c.name) {
				t.Errorf("%s completion lacks the command %s", sh, c.name)
			}
			c.flags(a).VisitAll(func(f *flag.Flag) {
				if !strings.Contains(stdout.String(), dashes(f.Name)) {
					t.Errorf("%s completion lacks %s %s", sh, c.name, dashes(f.Name))
				}
			})
		}
	}
}

// TestFailureIsOneLine checks that a command's runtime failure is one line
// on stderr naming the path the user gave, and never a log record.
func TestFailureIsOneLine(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"scan", "--input", "/nope.export"}, exitFailure,
			"cflogd scan: open /nope.export: no such file or directory (check the path)\n"},
		{[]string{"scan", "--input", "/nope.export", "-o", "json"}, exitFailure,
			"cflogd scan: open /nope.export: no such file or directory (check the path)\n"},
		{[]string{"check", "--patterns", "/nonexistent"}, exitUsage,
			"cflogd check: pattern directory /nonexistent: no such file or directory (--patterns takes a directory of *.yaml files)\n"},
		{[]string{"scan", "--patterns", "/nonexistent", "--input", "-"}, exitUsage,
			"cflogd scan: pattern directory /nonexistent: no such file or directory (--patterns takes a directory of *.yaml files)\n"},
		{[]string{"explain", "--patterns", "ux_test.go", "x"}, exitUsage,
			"cflogd explain: pattern directory ux_test.go is not a directory (--patterns takes a directory of *.yaml files)\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a, _, stderr := testApp("")
			if code := a.main(t.Context(), tt.args); code != tt.code {
				t.Errorf("exit code = %d, want %d", code, tt.code)
			}
			if diff := cmp.Diff(tt.want, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("on a terminal", func(t *testing.T) {
		a, _, stderr := testApp("")
		a.isTerminal = func(io.Writer) bool { return true }
		a.main(t.Context(), []string{"scan", "--input", "/nope.export"})
		if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "cflogd scan: open /nope.export:") {
			t.Errorf("stderr = %q, want one line", got)
		}
	})
}

// TestSitePatterns checks that scan and explain load the site's pattern
// directory as run does (when it exists), and say so.
func TestSitePatterns(t *testing.T) {
	site, err := filepath.Abs("testdata/patterns-extra")
	if err != nil {
		t.Fatal(err)
	}
	const line = "WARN chainfire_api: request queue is full, dropping"
	t.Run("scan", func(t *testing.T) {
		a, stdout, stderr := testApp(line + "\n")
		a.sitePatterns = []string{filepath.Join(t.TempDir(), "absent"), site}
		if code := a.main(t.Context(), []string{"scan", "--input", "-", "-u", "chainfire"}); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"patterns built-in + " + site + "\n", "site.queue_full"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("scan without a site directory", func(t *testing.T) {
		a, stdout, _ := testApp(line + "\n")
		a.sitePatterns = []string{filepath.Join(t.TempDir(), "absent")}
		a.main(t.Context(), []string{"scan", "--input", "-", "-u", "chainfire"})
		if !strings.Contains(stdout.String(), "patterns built-in\n") || strings.Contains(stdout.String(), "site.queue_full") {
			t.Errorf("report:\n%s", stdout)
		}
	})
	t.Run("explain", func(t *testing.T) {
		a, stdout, stderr := testApp("")
		a.sitePatterns = []string{site}
		if code := a.main(t.Context(), []string{"explain", "-u", "chainfire", line}); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"patterns    built-in + " + site + "\n", "signature   site.queue_full"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("explain lacks %q:\n%s", want, stdout)
			}
		}
	})
	t.Run("the default is run's", func(t *testing.T) {
		if diff := cmp.Diff(config.Default.Patterns.Dirs, newApp(nil, nil, nil).sitePatterns); diff != "" {
			t.Errorf("scan's site directories are not run's default (-run +scan):\n%s", diff)
		}
	})
}

// TestExplainJSONWithoutTime checks that an explained line, which has no
// time, gives an event without one.
func TestExplainJSONWithoutTime(t *testing.T) {
	a, stdout, _ := testApp("")
	a.main(t.Context(), []string{"explain", "-o", "json", "ERROR chainfire_raft: corrupted log entry"})
	if strings.Contains(stdout.String(), `"time"`) {
		t.Errorf("explain --output json gives a time: %s", stdout)
	}
}

// TestBadWindows: a --since in the future or after --until is a usage
// error naming both times (the clock of testApp is 2026-11-26 10:30 UTC).
func TestBadWindows(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--since", "11:00"}, "cflogd scan: --since 11:00 is in the future: it is 2026-11-26 11:00:00 UTC, now is 2026-11-26 10:30:00 UTC\n"},
		{[]string{"--since", "tomorrow"}, "cflogd scan: --since tomorrow is in the future: it is 2026-11-27 00:00:00 UTC, now is 2026-11-26 10:30:00 UTC\n"},
		{[]string{"-S", "+1h", "--input", "-"}, "cflogd scan: --since +1h is in the future: it is 2026-11-26 11:30:00 UTC, now is 2026-11-26 10:30:00 UTC\n"},
		{[]string{"-S", "10:00", "-U", "09:00"}, "cflogd scan: --until 2026-11-26 09:00:00 UTC is before --since 2026-11-26 10:00:00 UTC\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			a, stdout, stderr := testApp("")
			if code := a.main(t.Context(), append([]string{"scan"}, tt.args...)); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			first, _, _ := strings.Cut(stderr.String(), "Run ")
			if diff := cmp.Diff(tt.want, first); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q", stdout)
			}
		})
	}
	// An --until in the future is fine: the window ends now.
	if _, err := parseScan(t, []string{"--since", "1h", "--until", "+1h"}); err != nil {
		t.Errorf("--until +1h: %v", err)
	}
}

// TestInputWindowMissesTheFile: a window that holds none of --input says
// what the input spans, in the table and on stderr for JSON.
func TestInputWindowMissesTheFile(t *testing.T) {
	const export = `{"__REALTIME_TIMESTAMP":"1795687200000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":"ERROR chainfire_raft: corrupted log entry"}
{"__REALTIME_TIMESTAMP":"1795687260000000","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"Accepted publickey"}
{"__REALTIME_TIMESTAMP":"1795690800000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":"ERROR chainfire_raft: corrupted log entry"}
`
	a, stdout, stderr := testApp(export)
	if code := a.main(t.Context(), []string{"scan", "--input", "-", "-S", "2026-11-25", "-U", "2026-11-25 12:00"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "input    spans 2026-11-26 10:00:00 – 11:00:00 UTC; the window holds none of it\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("no %q in\n%s", want, stdout)
	}
	a, stdout, stderr = testApp(export)
	a.main(t.Context(), []string{"scan", "--input", "-", "-S", "2026-11-25", "-U", "2026-11-25 12:00", "-o", "jsonl"})
	if want := "cflogd scan: no entries in the window; the input spans 2026-11-26 10:00:00 – 11:00:00 UTC\n"; stderr.String() != want || stdout.Len() > 0 {
		t.Errorf("stdout %q, stderr %q, want stderr %q", stdout, stderr, want)
	}
	// The whole file: the other unit's entry is counted, not silently dropped.
	a, stdout, _ = testApp(export)
	a.main(t.Context(), []string{"scan", "--input", "-"})
	if want := "skipped  1 entry of other units (ssh.service 1)\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("no %q in\n%s", want, stdout)
	}
}

// TestQuickstartAsksCflogd: scripts/quickstart.sh decides "no entries" by
// cflogd's own report (which matches SYSLOG_IDENTIFIER too), not by
// journalctl -u; the line it looks for is what a scan of nothing prints.
func TestQuickstartAsksCflogd(t *testing.T) {
	script, err := os.ReadFile("../../scripts/quickstart.sh")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(script), "$(journalctl") {
		t.Errorf("quickstart.sh asks journalctl whether there are entries; cflogd's match differs")
	}
	const want = "^read     0 entries"
	if !strings.Contains(string(script), want) {
		t.Fatalf("quickstart.sh does not look for %q", want)
	}
	a, stdout, _ := testApp("")
	a.main(t.Context(), []string{"scan", "--input", "-"})
	if !strings.Contains(stdout.String(), "\n"+strings.TrimPrefix(want, "^")+",") {
		t.Errorf("a scan of nothing does not print %q:\n%s", want, stdout)
	}
}
