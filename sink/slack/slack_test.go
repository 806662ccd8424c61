package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func event(i int, sig string, sev record.Severity) record.Event {
	return record.Event{
		Time:      record.Time{Time: t0.Add(time.Duration(i) * time.Second)},
		Host:      "node01",
		Unit:      "chainfire.service",
		Signature: sig,
		Severity:  sev,
		Summary:   fmt.Sprintf("RocksDB write stall of %d ms", 1000+i),
		Runbook:   "https://git.example/centra-cloud/blob/main/docs/ops/troubleshooting.md#issue-high-write-latency",
		Fields:    map[string]any{"duration_ms": 1000 + i},
		Message:   fmt.Sprintf("WARN chainfire_storage: RocksDB stall detected, duration=%dms", 1000+i),
	}
}

const slackPath = "/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"

func newSink(t *testing.T, url string, cfg Config) (*Sink, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer // written only from the Send goroutine
	cfg.URL = redact.Secret(url)
	cfg.Log = zerolog.New(&logs)
	if cfg.Retry.Min == 0 {
		cfg.Retry.Min, cfg.Retry.Max, cfg.Retry.MaxRetryAfter = time.Millisecond, 4*time.Millisecond, 30*time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, &logs
}

func TestRender(t *testing.T) {
	evs := []record.Event{event(0, "chainfire.rocksdb_stall", record.Warning), event(2, "chainfire.rocksdb_stall", record.Error), event(1, "chainfire.rocksdb_stall", record.Warning)}
	want := Message{
		Text: "[ERROR] chainfire.rocksdb_stall on node01 (chainfire.service): RocksDB write stall of 1002 ms — 3 events since the last message",
		Blocks: []Block{
			{Type: "section", Text: &Text{Type: "mrkdwn", Text: ":red_circle: *ERROR* `chainfire.rocksdb_stall`\nRocksDB write stall of 1002 ms", Verbatim: true}},
			{Type: "section", Fields: []Text{
				{Type: "mrkdwn", Text: "*Host*\nnode01", Verbatim: true},
				{Type: "mrkdwn", Text: "*Unit*\nchainfire.service", Verbatim: true},
				{Type: "mrkdwn", Text: "*Severity*\nerror", Verbatim: true},
				{Type: "mrkdwn", Text: "*Count*\n3 events since the last message", Verbatim: true},
			}},
			{Type: "section", Text: &Text{Type: "mrkdwn", Text: "```WARN chainfire_storage: RocksDB stall detected, duration=1002ms```", Verbatim: true}},
			{Type: "context", Elements: []Element{{Type: "mrkdwn", Text: "duration_ms=1002", Verbatim: true}}},
			{Type: "actions", Elements: []Element{{Type: "button", Text: Text{Type: "plain_text", Text: "Runbook"}, URL: evs[0].Runbook}}},
		},
	}
	if diff := cmp.Diff(want, Render(evs)); diff != "" {
		t.Errorf("Render (-want +got):\n%s", diff)
	}
	t.Run("no runbook button without an http(s) runbook", func(t *testing.T) {
		ev := event(0, "x", record.Error)
		ev.Runbook = "javascript:alert(1)"
		for _, b := range Render([]record.Event{ev}).Blocks {
			if b.Type == "actions" {
				t.Errorf("actions block for runbook %q", ev.Runbook)
			}
		}
	})
}

// TestEscaping posts a line that tries to ping the channel and plant a
// link; the body Slack receives must carry them escaped only.
func TestEscaping(t *testing.T) {
	rec := testpeer.NewRecorder(t, nil)
	s, _ := newSink(t, rec.URL+slackPath, Config{})
	ev := event(0, "chainfire.rocksdb_stall", record.Error)
	ev.Message = "ERROR boom <!channel> <!here> <@U123> see <https://x|y> & `code` ```"
	ev.Summary = "stall <!channel> <https://evil|click>"
	ev.Fields = map[string]any{"peer": "<!everyone>", "url": "<https://x|y>"}
	ev.Host = "node<!here>"
	if err := s.Send(context.Background(), []record.Event{ev}); err != nil {
		t.Fatal(err)
	}
	reqs := rec.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	body := string(reqs[0].Body)
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://x|y>", "<https://evil", "\\u003c", "`code`"} {
		if strings.Contains(body, bad) {
			t.Errorf("body contains %q unescaped:\n%s", bad, body)
		}
	}
	for _, good := range []string{"&lt;!channel&gt;", "&lt;https://x|y&gt;", "&amp;", "&lt;!everyone&gt;", "node&lt;!here&gt;"} {
		if !strings.Contains(body, good) {
			t.Errorf("body lacks %q:\n%s", good, body)
		}
	}
	var m Message
	if err := json.Unmarshal(reqs[0].Body, &m); err != nil {
		t.Fatal(err)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain", 100, "plain"},
		{"a<b>&c", 100, "a&lt;b&gt;&amp;c"},
		{"exactly10!", 10, "exactly10!"},
		{"<<<<<", 13, "&lt;&lt;…"}, // no half entity
		{"ééééé", 8, "éé…"},        // no half character
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := escape(tt.in, tt.limit)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("escape(%q, %d) (-want +got):\n%s", tt.in, tt.limit, diff)
			}
			if len(got) > tt.limit {
				t.Errorf("escape(%q, %d) is %d bytes", tt.in, tt.limit, len(got))
			}
		})
	}
}

func TestGrouping(t *testing.T) {
	rec := testpeer.NewRecorder(t, nil)
	s, _ := newSink(t, rec.URL+slackPath, Config{})
	evs := []record.Event{
		event(0, "a", record.Warning),
		event(1, "b", record.Critical),
		event(2, "a", record.Warning),
		event(3, "info.only", record.Info),
		event(4, "a", record.Warning),
	}
	evs[4].Host = "node02"
	if err := s.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rec.Requests() {
		var m Message
		json.Unmarshal(r.Body, &m)
		got = append(got, m.Text)
	}
	want := []string{
		"[WARNING] a on node01 (chainfire.service): RocksDB write stall of 1002 ms — 2 events since the last message",
		"[CRITICAL] b on node01 (chainfire.service): RocksDB write stall of 1001 ms — 1 event since the last message",
		"[WARNING] a on node02 (chainfire.service): RocksDB write stall of 1004 ms — 1 event since the last message",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(retry.Counts{Sent: 3}, s.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestStatusHandling(t *testing.T) {
	A := testpeer.Reply
	tests := []struct {
		name      string
		answers   []testpeer.Answer
		timeout   time.Duration
		wantCalls int
		wantErrs  []error
		wantStats retry.Counts
		wantLog   string
	}{
		{"200 ok", []testpeer.Answer{A(200, "ok")}, 0, 1, nil, retry.Counts{Sent: 1}, ""},
		{"400 invalid_payload dropped", []testpeer.Answer{A(400, "invalid_payload")}, 0, 1, []error{ErrDropped}, retry.Counts{Failed: 1, Dropped: 1}, "drop slack message"},
		{"401 dropped", []testpeer.Answer{A(401, "")}, 0, 1, []error{ErrDropped}, retry.Counts{Failed: 1, Dropped: 1}, "401"},
		{"413 dropped", []testpeer.Answer{A(413, "")}, 0, 1, []error{ErrDropped}, retry.Counts{Failed: 1, Dropped: 1}, "413"},
		{"403 invalid_token dead", []testpeer.Answer{A(403, "invalid_token")}, 0, 1, []error{ErrDeadWebhook, ErrDropped}, retry.Counts{Failed: 1, Dropped: 1}, "slack webhook is dead"},
		{"404 no_service dead", []testpeer.Answer{A(404, "no_service")}, 0, 1, []error{ErrDeadWebhook}, retry.Counts{Failed: 1, Dropped: 1}, "no_service"},
		{"404 channel_not_found dead", []testpeer.Answer{A(404, "channel_not_found")}, 0, 1, []error{ErrDeadWebhook}, retry.Counts{Failed: 1, Dropped: 1}, ""},
		{"410 dead", []testpeer.Answer{A(410, "channel_is_archived")}, 0, 1, []error{ErrDeadWebhook}, retry.Counts{Failed: 1, Dropped: 1}, ""},
		{"400 no_service body dead", []testpeer.Answer{A(400, "no_service")}, 0, 1, []error{ErrDeadWebhook}, retry.Counts{Failed: 1, Dropped: 1}, ""},
		{"429 retried", []testpeer.Answer{A(429, "")}, 0, 2, nil, retry.Counts{Sent: 1, Failed: 1, Retried: 1}, `"wait_ms":`},
		{"429 retry-after honoured", []testpeer.Answer{A(429, "", "Retry-After", "1")}, 0, 2, nil, retry.Counts{Sent: 1, Failed: 1, Retried: 1}, `"wait_ms":30`},
		{"500 and 503 retried", []testpeer.Answer{A(500, "rollup_error"), A(503, "")}, 0, 3, nil, retry.Counts{Sent: 1, Failed: 2, Retried: 2}, ""},
		{"slow retried", []testpeer.Answer{A(testpeer.Slow, "")}, 500 * time.Millisecond, 2, nil, retry.Counts{Sent: 1, Failed: 1, Retried: 1}, "Client.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testpeer.NewRecorder(t, testpeer.Script(tt.answers...))
			s, logs := newSink(t, rec.URL+slackPath, Config{HTTP: httpclient.Config{Timeout: tt.timeout}})
			err := s.Send(context.Background(), []record.Event{event(0, "a", record.Error)})
			if len(tt.wantErrs) == 0 && err != nil {
				t.Errorf("Send() = %v, want nil", err)
			}
			for _, w := range tt.wantErrs {
				if !errors.Is(err, w) {
					t.Errorf("Send() = %v, want errors.Is %v", err, w)
				}
			}
			if errors.Is(err, ErrDeadWebhook) && !slices.Contains(tt.wantErrs, ErrDeadWebhook) {
				t.Errorf("Send() = %v: dead, but the webhook is not", err)
			}
			testpeer.CheckDelivery(t, rec, tt.wantCalls, s.Stats(), tt.wantStats, logs.String(), tt.wantLog, nil)
		})
	}
}

// TestDeadLoggedOnce: a dead webhook is logged once, a Send stops at the
// first message, and a later success is logged as recovery.
func TestDeadLoggedOnce(t *testing.T) {
	rec := testpeer.NewRecorder(t, testpeer.Script(
		testpeer.Answer{Code: 404, Body: "no_service"},
		testpeer.Answer{Code: 404, Body: "no_service"},
		testpeer.Answer{Code: 200, Body: "ok"},
	))
	s, logs := newSink(t, rec.URL+slackPath, Config{})
	two := []record.Event{event(0, "a", record.Error), event(1, "b", record.Error)}
	for range 2 {
		if err := s.Send(context.Background(), two); !errors.Is(err, ErrDeadWebhook) {
			t.Fatalf("Send() = %v, want ErrDeadWebhook", err)
		}
	}
	if n := len(rec.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (one per Send: it stops at a dead webhook)", n)
	}
	if err := s.Send(context.Background(), two[:1]); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	if n := strings.Count(logs.String(), "slack webhook is dead"); n != 1 {
		t.Errorf("dead webhook logged %d times, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "works again") {
		t.Errorf("recovery not logged:\n%s", logs)
	}
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const token = "XXXXXXXXXXXXXXXXXXXXXXXX"
	echo := testpeer.NewRecorder(t, func(_ int, r testpeer.Recorded) testpeer.Answer {
		return testpeer.Answer{Code: 404, Body: "no_service for " + r.Path}
	})
	for _, base := range []string{echo.URL, testpeer.ClosedURL(t)} {
		s, logs := newSink(t, base+slackPath, Config{Retry: retry.Policy{Min: time.Millisecond, MaxAttempts: 2}})
		err := s.Send(context.Background(), []record.Event{event(0, "a", record.Error)})
		if err == nil {
			t.Fatalf("Send to %s succeeded", base)
		}
		testpeer.CheckNoSecrets(t, []string{err.Error(), logs.String(), fmt.Sprintf("%v %+v %#v", s.cfg, s.cfg, s.cfg)}, token)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "url is required") {
		t.Errorf("empty config: %v", err)
	}
	err := (Config{URL: "hooks.slack.com" + slackPath}).Validate()
	if err == nil || strings.Contains(err.Error(), "XXXXXXXX") {
		t.Errorf("bad url: %v (must fail without showing the token)", err)
	}
}
