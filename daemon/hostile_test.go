package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	lokisink "github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/slack"
)

// hostileLines are journal entries whose messages try to become labels,
// mentions and links: label syntax, Slack control sequences, a markdown
// link, an OSC 8 terminal hyperlink, unit- and signature-looking text,
// invalid UTF-8 and a line far over the event's message limit. Each
// carries a marker ("mk1", …) that must reach Loki, so none is lost.
var hostileLines = []struct{ unit, msg string }{
	{"chainfire.service", `ERROR chainfire_storage: RocksDB stall detected, duration=2000ms mk1 {signature="evil.sig", job="evil", host="evilhost"} unit=evil.service <!channel> @here <https://evil.example/a|click> [click](https://evil.example/b)`},
	{"chainfire.service", `ERROR chainfire_server: mk2 thread '<!channel>' panicked at 'boom <https://evil.example/p|x>', <@U0EVIL>/src/main.rs:1:1`},
	{"flaredb.service", `ERROR flaredb_raft: mk3 Failed to replicate log, peer=<!here>|<https://evil.example/r|x>, signature=service.disk_full`},
	{"chainfire.service", `ERROR chainfire_server: mk4 <!everyone> <@U0ABC> <#C0ABC> _SYSTEMD_UNIT=evil.service severity=critical https://evil.example/u`},
	{"chainfire.service", "ERROR chainfire_storage: RocksDB stall detected, duration=2100ms mk5 \xff\xfe <!channel> \x1b]8;;https://evil.example/osc\x07link\x1b]8;;\x07 \xc3"},
	{"chainfire.service", "ERROR chainfire_storage: RocksDB stall detected, duration=2200ms mk6 " + strings.Repeat("<!channel> <https://evil.example/h|x> ", 10000)},
	{"flaredb.service", `ERROR flaredb_storage: mk7 IO error: No space left on device (os error 28), path=/var/<!channel>/<https://evil.example/d|x>`},
}

const hostileHost = "node01"

// writeHostileJournal writes hostileLines into a journal file with
// systemd-journal-remote.
func writeHostileJournal(t *testing.T, dir string) {
	t.Helper()
	base := time.Now().Add(-time.Minute)
	var b []byte
	for i, l := range hostileLines {
		b = testjournal.Entry(b, base.Add(time.Duration(i)*time.Millisecond), time.Second+time.Duration(i)*time.Microsecond, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
			"_HOSTNAME", hostileHost, "_SYSTEMD_UNIT", l.unit, "_PID", "4242", "PRIORITY", "3", "MESSAGE", l.msg)
	}
	testjournal.Write(t, dir, "hostile.journal", b)
}

// lokiLabel matches one name="value" pair of a stream's labels.
var lokiLabel = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*")`)

// TestHostileLinesStayData follows a journal of hostileLines with the Loki,
// Alertmanager and Slack sinks and checks that label values come only from
// trusted journal fields (_HOSTNAME, _SYSTEMD_UNIT) and the library
// (signature, severity), that links (runbook, generator URL) come only from
// the library and the configuration, that no Slack text can mention or
// link, and that every line was delivered.
func TestHostileLinesStayData(t *testing.T) {
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{GapSignature: true}
	for _, s := range lib.Signatures {
		ids[s.ID] = true
	}
	for _, r := range lib.Rules {
		ids[r.ID] = true
	}
	units := map[string]bool{"chainfire.service": true, "flaredb.service": true}
	severities := map[string]bool{"info": true, "warning": true, "error": true, "critical": true}

	jdir := t.TempDir()
	writeHostileJournal(t, jdir)
	loki := testpeer.NewRecorder(t, testpeer.Script(testpeer.Answer{Code: 204}))
	am := testpeer.NewRecorder(t, nil)
	sl := testpeer.NewRecorder(t, nil)

	cfg := config.Default
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Listen = ""
	cfg.Journal.Directory = jdir
	cfg.Journal.InitialPosition = config.Position{Head: true}
	cfg.CheckpointInterval = 50 * time.Millisecond
	lk := lokisink.Default
	lk.URL, lk.BatchWait = loki.URL+"/loki/api/v1/push", 50*time.Millisecond
	ams := alertmanager.Default
	ams.URL, ams.MinSeverity = am.URL, record.Info
	sls := slack.Default
	sls.URL, sls.MinSeverity, sls.Grouping.GroupWait = redact.Secret(sl.URL+"/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX"), record.Info, 100*time.Millisecond
	cfg.Sinks = []config.SinkConfig{lk, ams, sls}

	d, err := New(Options{Config: &cfg, Log: zerolog.Nop(), Notify: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDaemon(t, d)

	// Every line's marker in Loki, and every event notified to Slack.
	var streams []push.Stream
	lokiLines := func() string {
		streams = nil
		var all strings.Builder
		for _, r := range loki.Requests() {
			raw, err := snappy.Decode(nil, r.Body)
			if err != nil {
				t.Fatalf("loki body: %v", err)
			}
			var req push.PushRequest
			if err := req.Unmarshal(raw); err != nil {
				t.Fatalf("loki body: %v", err)
			}
			streams = append(streams, req.Streams...)
			for _, s := range req.Streams {
				for _, e := range s.Entries {
					all.WriteString(e.Line + "\n")
				}
			}
		}
		return all.String()
	}
	testpeer.Eventually(t, 10*time.Second, func() bool {
		lines := lokiLines()
		for i := range hostileLines {
			if !strings.Contains(lines, fmt.Sprintf("mk%d", i+1)) {
				return false
			}
		}
		return len(am.Requests()) > 0 && len(sl.Requests()) >= 5
	}, "every line in Loki and the notifications")
	stop()

	t.Run("loki labels", func(t *testing.T) {
		sigs := map[string]bool{}
		for _, s := range streams {
			got := map[string]string{}
			for _, m := range lokiLabel.FindAllStringSubmatch(s.Labels, -1) {
				v, err := strconv.Unquote(m[2])
				if err != nil {
					t.Fatalf("label %s of %s: %v", m[0], s.Labels, err)
				}
				got[m[1]] = v
			}
			if n := len(lokiLabel.FindAllString(s.Labels, -1)); n != strings.Count(s.Labels, "=") {
				t.Errorf("labels %s hold more than name=\"value\" pairs", s.Labels)
			}
			names := slices.Sorted(maps.Keys(got))
			if want := []string{"host", "job", "severity", "signature", "unit"}; !slices.Equal(names, want) {
				t.Errorf("labels %s: names %v, want %v", s.Labels, names, want)
			}
			if got["job"] != "cflogd" || got["host"] != hostileHost || !units[got["unit"]] || !severities[got["severity"]] || !ids[got["signature"]] {
				t.Errorf("labels %s: a value that is not from the journal's trusted fields or the library", s.Labels)
			}
			sigs[got["signature"]] = true
		}
		// The lines were classified as meant, so the fields carrying the
		// hostile text (thread, peer, path, template) were in the events.
		for _, want := range []string{"chainfire.rocksdb_stall", "service.panic", "flaredb.replication_failed", "service.unclassified", "service.disk_full"} {
			if !sigs[want] {
				t.Errorf("no %s stream; got %v", want, sigs)
			}
		}
	})

	t.Run("alertmanager", func(t *testing.T) {
		n := 0
		defer func() {
			if n < 5 {
				t.Errorf("%d alerts, want one per hostile signature", n)
			}
		}()
		for _, r := range am.Requests() {
			var alerts []struct {
				Labels       map[string]string `json:"labels"`
				Annotations  map[string]string `json:"annotations"`
				GeneratorURL string            `json:"generatorURL"`
			}
			if err := json.Unmarshal(r.Body, &alerts); err != nil {
				t.Fatalf("alerts %s: %v", r.Body, err)
			}
			for _, a := range alerts {
				n++
				names := slices.Sorted(maps.Keys(a.Labels))
				if want := []string{"alertname", "host", "severity", "unit"}; !slices.Equal(names, want) {
					t.Errorf("alert labels %v, want names %v", a.Labels, want)
				}
				if !ids[a.Labels["alertname"]] || a.Labels["host"] != hostileHost || !units[a.Labels["unit"]] || !severities[a.Labels["severity"]] {
					t.Errorf("alert labels %v: a value that is not from the journal's trusted fields or the library", a.Labels)
				}
				for k, v := range a.Annotations {
					switch k {
					case "summary", "description":
						for _, markup := range []string{"<!", "<@", "<http", "@here", "@channel", "](http"} {
							if strings.Contains(v, markup) {
								t.Errorf("annotation %s carries %q from a log line: %.200q", k, markup, v)
							}
						}
					case "runbook_url":
						if !strings.HasPrefix(v, record.DefaultRunbookBase) || strings.Contains(v, "evil") {
							t.Errorf("runbook_url %q does not come from the library", v)
						}
					default:
						t.Errorf("unexpected annotation %s=%q", k, v)
					}
				}
				if a.GeneratorURL != "" {
					t.Errorf("generatorURL %q, want the configured (none)", a.GeneratorURL)
				}
			}
		}
	})

	t.Run("slack", func(t *testing.T) {
		escaped := 0
		for _, r := range sl.Requests() {
			escaped += bytes.Count(r.Body, []byte("&lt;!channel&gt;"))
			var msg any
			if err := json.Unmarshal(r.Body, &msg); err != nil {
				t.Fatalf("slack body %s: %v", r.Body, err)
			}
			walkJSON(msg, "", func(path, s string) {
				switch {
				case strings.HasSuffix(path, ".url"):
					if !strings.HasPrefix(s, record.DefaultRunbookBase) || strings.Contains(s, "evil") {
						t.Errorf("%s = %q: a link that is not the runbook", path, s)
					}
				case strings.ContainsAny(s, "<>"):
					t.Errorf("%s = %q: Slack would read < > as a mention or link", path, s)
				}
			})
			walkJSONObjects(msg, func(o map[string]any) {
				if o["type"] == "mrkdwn" && o["verbatim"] != true {
					t.Errorf("mrkdwn text without verbatim (Slack would link bare URLs): %v", o)
				}
			})
		}
		if escaped == 0 {
			t.Errorf("no escaped <!channel> reached Slack: the hostile text was not in the messages")
		}
	})
}

// walkJSON calls fn with the path and value of every string in v.
func walkJSON(v any, path string, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case []any:
		for i, e := range x {
			walkJSON(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case map[string]any:
		for k, e := range x {
			walkJSON(e, path+"."+k, fn)
		}
	}
}

// walkJSONObjects calls fn with every object in v.
func walkJSONObjects(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkJSONObjects(e, fn)
		}
	case map[string]any:
		fn(x)
		for _, e := range x {
			walkJSONObjects(e, fn)
		}
	}
}
