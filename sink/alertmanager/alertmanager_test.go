package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

func event(at time.Time, sig string, sev record.Severity) record.Event {
	return record.Event{
		Time:      record.Time{Time: at},
		Host:      "node01",
		Unit:      "chainfire.service",
		Signature: sig,
		Severity:  sev,
		Summary:   "summary at " + at.Format(time.TimeOnly),
		Runbook:   "https://git.example/runbook#" + sig,
		Message:   "line at " + at.Format(time.TimeOnly),
	}
}

func newSink(t *testing.T, cfg Config) (*Sink, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer // written only from the Send goroutine
	cfg.Log = zerolog.New(&logs)
	if cfg.Retry == (retry.Policy{}) {
		cfg.Retry = retry.Policy{Min: time.Millisecond, Max: 4 * time.Millisecond, MaxRetryAfter: 30 * time.Millisecond}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, &logs
}

func TestAlerts(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s, _ := newSink(t, Config{URL: "http://am:9093", ResolveTimeout: 5 * time.Minute, GeneratorURL: "https://cflogd.example/"})
	first := []record.Event{
		event(now.Add(-3*time.Minute), "chainfire.rocksdb_stall", record.Error),
		event(now.Add(-1*time.Minute), "chainfire.rocksdb_stall", record.Error),
		event(now.Add(-2*time.Minute), "flaredb.raft_election", record.Warning),
		event(now.Add(-2*time.Minute), "chainfire.rocksdb_stall", record.Error),
		event(now, "x.info", record.Info), // below min_severity
	}
	first[2].Unit = ""
	want := []Alert{
		{
			Labels:       map[string]string{"alertname": "chainfire.rocksdb_stall", "severity": "error", "host": "node01", "unit": "chainfire.service"},
			Annotations:  map[string]string{"summary": first[1].Summary, "description": first[1].Message, "runbook_url": first[1].Runbook},
			StartsAt:     now.Add(-3 * time.Minute),
			EndsAt:       now.Add(4 * time.Minute),
			GeneratorURL: "https://cflogd.example/",
		},
		{
			Labels:       map[string]string{"alertname": "flaredb.raft_election", "severity": "warning", "host": "node01"},
			Annotations:  map[string]string{"summary": first[2].Summary, "description": first[2].Message, "runbook_url": first[2].Runbook},
			StartsAt:     now.Add(-2 * time.Minute),
			EndsAt:       now.Add(3 * time.Minute),
			GeneratorURL: "https://cflogd.example/",
		},
	}
	if diff := cmp.Diff(want, s.Alerts(first)); diff != "" {
		t.Errorf("first Alerts (-want +got):\n%s", diff)
	}
	// The problem goes on: the alert keeps its start and ends later.
	later := event(now.Add(time.Minute), "chainfire.rocksdb_stall", record.Error)
	got := s.Alerts([]record.Event{later})
	if diff := cmp.Diff([]time.Time{now.Add(-3 * time.Minute), now.Add(6 * time.Minute)}, []time.Time{got[0].StartsAt, got[0].EndsAt}); diff != "" {
		t.Errorf("continued alert startsAt, endsAt (-want +got):\n%s", diff)
	}
	// After it ended, the same signature is a new problem with a new start.
	again := event(now.Add(20*time.Minute), "chainfire.rocksdb_stall", record.Error)
	got = s.Alerts([]record.Event{again})
	if diff := cmp.Diff([]time.Time{now.Add(20 * time.Minute), now.Add(25 * time.Minute)}, []time.Time{got[0].StartsAt, got[0].EndsAt}); diff != "" {
		t.Errorf("new alert startsAt, endsAt (-want +got):\n%s", diff)
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://am:9093", "http://am:9093/api/v2/alerts"},
		{"http://am:9093/", "http://am:9093/api/v2/alerts"},
		{"https://h/alertmanager", "https://h/alertmanager/api/v2/alerts"},
		{"https://h/am/api/v2/alerts", "https://h/am/api/v2/alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, _ := newSink(t, Config{URL: tt.in})
			if s.url != tt.want {
				t.Errorf("url = %q, want %q", s.url, tt.want)
			}
		})
	}
}

func TestStatusHandling(t *testing.T) {
	A := func(code int, kv ...string) testpeer.Answer { return testpeer.Reply(code, "", kv...) }
	tests := append(testpeer.StatusCases("drop alerts Alertmanager rejected"),
		testpeer.StatusCase{Name: "max alerts", Max: 2, N: 5, WantCalls: 3, WantStats: retry.Counts{Sent: 5}},
		testpeer.StatusCase{Name: "413 splits", Answer: func(_ int, r testpeer.Recorded) testpeer.Answer {
			var as []Alert
			json.Unmarshal(r.Body, &as)
			if len(as) > 1 {
				return A(413)
			}
			return A(200)
		}, N: 4, WantCalls: 7, WantStats: retry.Counts{Sent: 4, Failed: 3}, WantLog: "splitting"},
		testpeer.StatusCase{Name: "413 single alert dropped", Answer: testpeer.Script(A(413)), N: 1, WantCalls: 1, WantErr: ErrDropped, WantStats: retry.Counts{Failed: 1, Dropped: 1}, WantLog: "413"},
	)
	now := time.Now()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := testpeer.NewRecorder(t, tt.Answer)
			s, logs := newSink(t, Config{URL: rec.URL, Retry: tt.Policy, MaxAlerts: tt.Max, HTTP: httpclient.Config{Timeout: tt.Timeout}})
			var evs []record.Event
			for i := range tt.N {
				evs = append(evs, event(now, fmt.Sprintf("sig.%d", i), record.Error))
			}
			err := s.Send(context.Background(), evs)
			if tt.WantErr == nil && err != nil || tt.WantErr != nil && !errors.Is(err, tt.WantErr) {
				t.Errorf("Send() = %v, want %v", err, tt.WantErr)
			}
			for _, r := range rec.Requests() {
				if r.Path != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("request to %s with Content-Type %q", r.Path, r.Header.Get("Content-Type"))
				}
			}
			testpeer.CheckDelivery(t, rec, tt.WantCalls, s.Stats(), tt.WantStats, logs.String(), tt.WantLog, func(r testpeer.Recorded) (names []string) {
				var as []Alert
				json.Unmarshal(r.Body, &as)
				for _, a := range as {
					names = append(names, a.Labels["alertname"])
				}
				return names
			})
		})
	}
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const password, query = "PASSWORDSECRET456", "QUERYSECRET789"
	echo := testpeer.NewRecorder(t, func(_ int, r testpeer.Recorded) testpeer.Answer {
		return testpeer.Answer{Code: 401, Body: fmt.Sprintf("denied %s %s", r.Path, r.Header.Get("Authorization"))}
	})
	for _, base := range []string{echo.URL, testpeer.ClosedURL(t)} {
		u := strings.Replace(base, "http://", "http://am:"+password+"@", 1) + "/?token=" + query
		s, logs := newSink(t, Config{URL: u, HTTP: httpclient.Config{BasicAuthUser: "am", BasicAuthPassword: password}, Retry: retry.Policy{Min: time.Millisecond, MaxAttempts: 2}})
		err := s.Send(context.Background(), []record.Event{event(time.Now(), "a", record.Error)})
		if err == nil {
			t.Fatalf("Send to %s succeeded", base)
		}
		testpeer.CheckNoSecrets(t, []string{err.Error(), logs.String()}, password, query, "YW06UEFTU1dPUkRTRUNSRVQ0NTY")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"ok", Config{URL: "http://am:9093"}, nil},
		{"no url", Config{}, []string{"url is required"}},
		{"all", Config{URL: "am:9093", GeneratorURL: "relative", ResolveTimeout: -1, MaxAlerts: -1}, []string{"not an http(s) URL", "generator_url", "negative resolve_timeout", "negative max_alerts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testpeer.CheckErrorLines(t, tt.cfg.Validate(), tt.want)
		})
	}
}

// TestAlertmanager posts to a real Alertmanager and reads the alert back.
func TestAlertmanager(t *testing.T) {
	am := testpeer.StartAlertmanager(t)
	s, _ := newSink(t, Config{URL: am.URL, ResolveTimeout: 10 * time.Minute})
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := event(now.Add(-time.Minute), "chainfire.rocksdb_stall", record.Error)
	ev.Message = `WARN chainfire_storage: RocksDB stall detected, duration=2000ms <!channel> "q"`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Send(ctx, []record.Event{ev}); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Labels, Annotations map[string]string
		StartsAt, EndsAt    time.Time
		State               string
	}
	check := func(wantEnd time.Time) {
		t.Helper()
		alerts := am.WaitAlerts(t, 1, 10*time.Second)
		var got []seen
		for _, a := range alerts {
			got = append(got, seen{a.Labels, a.Annotations, a.StartsAt.UTC(), a.EndsAt.UTC(), a.Status.State})
		}
		want := []seen{{
			Labels:      map[string]string{"alertname": "chainfire.rocksdb_stall", "severity": "error", "host": "node01", "unit": "chainfire.service"},
			Annotations: map[string]string{"summary": ev.Summary, "description": defang(ev.Message), "runbook_url": ev.Runbook},
			StartsAt:    ev.Time.Time,
			EndsAt:      wantEnd,
			State:       "active",
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("alerts in Alertmanager (-want +got):\n%s", diff)
		}
	}
	check(ev.Time.Add(10 * time.Minute))

	// The problem continues: the re-posted alert keeps its start and ends later.
	later := ev
	later.Time = record.Time{Time: now}
	if err := s.Send(ctx, []record.Event{later}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if as := am.Alerts(t); len(as) == 1 && as[0].EndsAt.Equal(now.Add(10*time.Minute)) {
			break
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
	check(now.Add(10 * time.Minute))
}

func TestAnnotationsNeverMentionOrLink(t *testing.T) {
	s, _ := newSink(t, Config{URL: "http://am:9093", ResolveTimeout: time.Minute})
	tests := []struct{ name, line, want string }{
		{"plain", "RocksDB stall detected, duration=1200ms", "RocksDB stall detected, duration=1200ms"},
		{"slack channel", "stall <!channel> wake up", "stall <\u2060!channel> wake up"},
		{"slack link", "see <https://evil.example|runbook>", "see <\u2060https://evil.example|runbook>"},
		{"slack user", "ping <@U0123>", "ping <\u2060@\u2060U0123>"},
		{"at here", "@here @channel", "@\u2060here @\u2060channel"},
		{"markdown link", "[runbook](https://evil.example)", "[runbook]\u2060(https://evil.example)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(time.Now(), "chainfire.rocksdb_stall", record.Error)
			ev.Message, ev.Summary = tt.line, "summary: "+tt.line
			alerts := s.Alerts([]record.Event{ev})
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(alerts))
			}
			got := map[string]string{"summary": alerts[0].Annotations["summary"], "description": alerts[0].Annotations["description"]}
			want := map[string]string{"summary": "summary: " + tt.want, "description": tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			// Removing the joiners gives the line back as it was logged.
			if back := strings.ReplaceAll(got["description"], "\u2060", ""); back != tt.line {
				t.Errorf("description without joiners %q, want %q", back, tt.line)
			}
		})
	}
}
