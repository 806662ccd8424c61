package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout *regexp.Regexp
		stderr *regexp.Regexp
	}{
		{"builtin", []string{"check"}, exitOK,
			regexp.MustCompile(`^\d+ signatures, \d+ examples, \d+ near misses, \d+ rules, \d+ rule examples: ok\n$`), regexp.MustCompile(`^$`)},
		{"extra dir", []string{"check", "--patterns", "testdata/patterns-extra"}, exitOK,
			regexp.MustCompile(`^\d+ signatures, \d+ examples, \d+ near misses, \d+ rules, \d+ rule examples: ok\n$`), regexp.MustCompile(`^$`)},
		{"failing examples", []string{"check", "--patterns", "testdata/patterns-failing"}, exitFound,
			regexp.MustCompile(`: 2 failures\n$`),
			regexp.MustCompile(`(?s)^testdata/patterns-failing/failing.yaml:10:\d+: site.queue_full: example .*\n` +
				`testdata/patterns-failing/failing.yaml:12:\d+: site.queue_full: near miss .*must not\n$`)},
		{"failing rule examples", []string{"check", "--patterns", "testdata/patterns-failing-rules"}, exitFound,
			regexp.MustCompile(`, \d+ rules, \d+ rule examples: 1 failure\n$`),
			regexp.MustCompile(`^testdata/patterns-failing-rules/rules.yaml:14:9: site.queue_storm: example "two are not a storm": ` +
				`expected derived events \[\], got \[at 10s count 2 .*\] \(2 of 2 entries read by the rule\)\n$`)},
		{"bad rules", []string{"check", "--patterns", "testdata/patterns-bad-rules"}, exitUsage,
			regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/patterns-bad-rules/rules.yaml:4:16: signature: unknown signature id "site.nope"\n` +
				`testdata/patterns-bad-rules/rules.yaml:5:13: window: invalid duration "1 minute" .*\n$`)},
		{"bad files", []string{"check", "--patterns", "testdata/patterns-bad"}, exitUsage,
			regexp.MustCompile(`^$`),
			regexp.MustCompile(`(?m)^testdata/patterns-bad/bad.yaml:5:\d+: severity: .*\n(.*\n)*testdata/patterns-bad/bad.yaml:8:\d+: .*colour`)},
		{"missing dir", []string{"check", "--patterns", "testdata/no-such-dir"}, exitUsage,
			regexp.MustCompile(`^$`), regexp.MustCompile(`no-such-dir`)},
		{"argument", []string{"check", "x"}, exitUsage, regexp.MustCompile(`^$`), regexp.MustCompile(`unexpected argument "x"`)},
		{"config example", []string{"check", "--config", "../../examples/stdout.toml"}, exitOK,
			regexp.MustCompile(`^\.\./\.\./examples/stdout\.toml: ok: sinks stdout \(stdout\); pattern dirs none\n$`),
			regexp.MustCompile(`^$`)},
		{"config example with sinks", []string{"check", "--config", "../../examples/sinks.toml"}, exitOK,
			regexp.MustCompile(`: ok: sinks loki \(loki\), alertmanager \(alertmanager\), on-call \(webhook\); pattern dirs /etc/centra-cloud/cflogd/patterns\.d`),
			regexp.MustCompile(`^$`)},
		{"config with bad values", []string{"check", "--config", "testdata/config/bad-values.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/config/bad-values.toml:2: listen: want host:port, .*\n` +
				`testdata/config/bad-values.toml:3: queue_size: must be an integer, not a string \("many"\)\n` +
				`testdata/config/bad-values.toml:6: journal.initial_postion: unknown key\n$`)},
		{"config without a sink", []string{"check", "--config", "testdata/config/no-sink.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/config/no-sink.toml: no \[\[sink\]\]: name at least one`)},
		{"config with a missing secret file", []string{"check", "--config", "testdata/config/missing-secret.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/config/missing-secret.toml:3: sink\[0\].url_file: read secret: file not found: testdata/config/no-such-credential\n$`)},
		{"config with a missing CA file", []string{"check", "--config", "testdata/config/missing-ca.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/config/missing-ca.toml:3: sink\[0\]: configure loki sink loki: read ca_file: .*no-such-ca.pem.*\n$`)},
		{"config with bad pattern files", []string{"check", "--config", "testdata/config/bad-patterns.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`(?m)^testdata/patterns-bad/bad.yaml:5:\d+: severity: `)},
		{"config with a syntax error", []string{"check", "--config", "testdata/config/syntax.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`^testdata/config/syntax.toml:2: sink.type: .*\n$`)},
		{"config that does not exist", []string{"check", "--config", "testdata/config/none.toml"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`testdata/config/none.toml: no such file`)},
		{"config and patterns", []string{"check", "--config", "x.toml", "--patterns", "d"}, exitUsage, regexp.MustCompile(`^$`),
			regexp.MustCompile(`leave out --patterns`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, stderr := testApp("")
			if code := a.main(t.Context(), tt.args); code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !tt.stdout.MatchString(stdout.String()) {
				t.Errorf("stdout = %q, want match of %s", stdout, tt.stdout)
			}
			if !tt.stderr.MatchString(stderr.String()) {
				t.Errorf("stderr = %q, want match of %s", stderr, tt.stderr)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdin  string
		golden string
	}{
		{"stall", []string{"explain", "WARN", "chainfire_storage:", "RocksDB", "stall", "detected,", "duration=2000ms"}, "", "explain-stall.golden"},
		{"stall json", []string{"explain", "--output", "json", "WARN chainfire_storage: RocksDB stall detected, duration=2000ms"}, "", "explain-stall-json.golden"},
		{"journald shape", []string{"explain", "--unit", "chainfire", "--priority", "4", "--target", "chainfire_storage",
			"RocksDB stall detected, duration=1.5s"}, "", "explain-journald.golden"},
		{"journald fields", []string{"explain", "--unit", "chainfire", "--field", "F_DURATION=1s", "--field", "PRIORITY=4",
			"RocksDB stall detected"}, "", "explain-journald-fields.golden"},
		{"systemd's fields", []string{"explain", "--unit", "chainfire", "--field", "MESSAGE_ID=98e322203f7a4ed290d09fe03c09fe15",
			"--field", "_PID=1", "--field", "EXIT_CODE=killed", "--field", "EXIT_STATUS=9",
			"chainfire.service: Main process exited, code=killed, status=9/KILL"}, "", "explain-lifecycle.golden"},
		{"tracing json", []string{"explain",
			`{"timestamp":"2026-11-26T10:00:00.123456Z","level":"INFO","fields":{"message":"Handled put request","latency":"900ms"},"target":"chainfire_api"}`},
			"", "explain-tracing-json.golden"},
		{"healthy and unclassified from stdin", []string{"explain", "--unit", "chainfire", "-"},
			"INFO chainfire_api: Handled put request, latency=15ms\n\x1b[33m WARN\x1b[0m chainfire_raft: snapshot of 42 MiB took 3s\nhello\n",
			"explain-stdin.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, stderr := testApp(tt.stdin)
			if code := a.main(t.Context(), tt.args); code != exitOK {
				t.Fatalf("exit code = %d; stderr:\n%s", code, stderr)
			}
			// Positions in the shipped pattern files move as they are edited.
			got := yamlPos.ReplaceAllString(stdout.String(), "$1:L:C")
			golden(t, tt.golden, got)
		})
	}
}

var yamlPos = regexp.MustCompile(`(patterns\.d/[\w.-]+\.yaml):\d+:\d+`)

func TestExplainJSONShape(t *testing.T) {
	a, stdout, stderr := testApp("")
	if code := a.main(t.Context(), []string{"explain", "--output", "json", "hello"}); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["signature"] != nil || got["event"] != nil {
		t.Errorf("no match: signature %v, event %v; want null", got["signature"], got["event"])
	}
	for _, k := range []string{"shadowed", "not_fired", "excluded"} {
		if _, ok := got[k].([]any); !ok {
			t.Errorf("%s = %#v, want a list", k, got[k])
		}
	}
}

func TestExplainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"explain"},
		{"explain", "--unit", "sshd", "x"},
		{"explain", "--output", "xml", "x"},
		{"explain", "--priority", "9", "x"},
		{"explain", "--patterns", "testdata/patterns-bad", "x"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			a, _, stderr := testApp("")
			if code := a.main(t.Context(), args); code != exitUsage {
				t.Errorf("exit code = %d, want %d: %s", code, exitUsage, stderr)
			}
		})
	}
}
