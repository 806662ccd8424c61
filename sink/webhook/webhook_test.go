package webhook

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

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)

func event(i int, sev record.Severity) record.Event {
	return record.Event{
		Time:        record.Time{Time: t0.Add(time.Duration(i) * time.Second)},
		Host:        "node01",
		Unit:        "chainfire.service",
		Signature:   "chainfire.rocksdb_stall",
		Severity:    sev,
		Summary:     fmt.Sprintf("event %d", i),
		Runbook:     "https://git.example/runbook#x",
		Fields:      map[string]any{"n": i},
		Message:     fmt.Sprintf("WARN line %d <&>", i),
		Fingerprint: "9f86d081884c7d65",
	}
}

func events(n int) []record.Event {
	evs := make([]record.Event, n)
	for i := range evs {
		evs[i] = event(i, record.Error)
	}
	return evs
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

func decode(t *testing.T, b []byte) Body {
	t.Helper()
	var body Body
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("decode body %q: %v", b, err)
	}
	return body
}

func TestBody(t *testing.T) {
	rec := testpeer.NewRecorder(t, nil)
	s, _ := newSink(t, Config{
		URL:    redact.Secret(rec.URL + "/hook"),
		Secret: "hmac-key",
		HTTP:   httpclient.Config{Headers: map[string]string{"X-Team": "storage"}},
	})
	evs := []record.Event{event(0, record.Info), event(1, record.Warning), event(2, record.Critical), event(3, record.Error)}
	evs[3].Host = "node02"
	if err := s.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	reqs := rec.Requests()
	type got struct {
		Path, ContentType, Team string
		Version, Host           string
		Summaries               []string
	}
	var have []got
	for _, r := range reqs {
		b := decode(t, r.Body)
		g := got{Path: r.Path, ContentType: r.Header.Get("Content-Type"), Team: r.Header.Get("X-Team"), Version: b.Version, Host: b.Host}
		for _, ev := range b.Events {
			g.Summaries = append(g.Summaries, ev.Summary)
		}
		have = append(have, g)
		if sig := r.Header.Get(SignatureHeader); sig != Sign([]byte("hmac-key"), r.Body) {
			t.Errorf("signature %q does not match the body", sig)
		}
		if !strings.HasPrefix(r.Header.Get(SignatureHeader), "sha256=") || len(r.Header.Get(SignatureHeader)) != 7+64 {
			t.Errorf("signature header %q is not sha256=<64 hex>", r.Header.Get(SignatureHeader))
		}
	}
	want := []got{
		{"/hook", "application/json", "storage", "1", "node01", []string{"event 1", "event 2"}},
		{"/hook", "application/json", "storage", "1", "node02", []string{"event 3"}},
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	// The events are the Event JSON, unchanged.
	var raw map[string]json.RawMessage
	json.Unmarshal(reqs[0].Body, &raw)
	var list []map[string]any
	json.Unmarshal(raw["events"], &list)
	if list[0]["message"] != "WARN line 1 <&>" || list[0]["fingerprint"] != "9f86d081884c7d65" {
		t.Errorf("event JSON altered: %v", list[0])
	}
}

func TestSign(t *testing.T) {
	// Computed with: printf '{"version":"1"}' | openssl dgst -sha256 -hmac key
	const want = "sha256=f3056446fcb321b0e8f8a19bbe1408392d5ac6bb34adcf17507136617c95a99d"
	if got := Sign([]byte("key"), []byte(`{"version":"1"}`)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestNoSignatureWithoutSecret(t *testing.T) {
	rec := testpeer.NewRecorder(t, nil)
	s, _ := newSink(t, Config{URL: redact.Secret(rec.URL)})
	if err := s.Send(context.Background(), events(1)); err != nil {
		t.Fatal(err)
	}
	if h := rec.Requests()[0].Header.Get(SignatureHeader); h != "" {
		t.Errorf("signature header %q without a secret", h)
	}
}

func TestStatusHandling(t *testing.T) {
	A := func(code int, kv ...string) testpeer.Answer { return testpeer.Reply(code, "", kv...) }
	tests := append(testpeer.StatusCases("drop events the webhook rejected"),
		testpeer.StatusCase{Name: "204", Answer: testpeer.Script(A(204)), N: 3, WantCalls: 1, WantStats: retry.Counts{Sent: 3}},
		testpeer.StatusCase{Name: "max events", Max: 2, N: 5, WantCalls: 3, WantStats: retry.Counts{Sent: 5}},
		testpeer.StatusCase{Name: "413 splits", Answer: func(_ int, r testpeer.Recorded) testpeer.Answer {
			var b Body
			json.Unmarshal(r.Body, &b)
			if len(b.Events) > 1 {
				return A(413)
			}
			return A(200)
		}, N: 4, WantCalls: 7, WantStats: retry.Counts{Sent: 4, Failed: 3}, WantLog: "splitting"},
		testpeer.StatusCase{Name: "413 single event dropped", Answer: testpeer.Script(A(413)), N: 1, WantCalls: 1, WantErr: ErrDropped, WantStats: retry.Counts{Failed: 1, Dropped: 1}, WantLog: "413"},
	)
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := testpeer.NewRecorder(t, tt.Answer)
			s, logs := newSink(t, Config{URL: redact.Secret(rec.URL), Retry: tt.Policy, MaxEvents: tt.Max, HTTP: httpclient.Config{Timeout: tt.Timeout}})
			err := s.Send(context.Background(), events(tt.N))
			if tt.WantErr == nil && err != nil || tt.WantErr != nil && !errors.Is(err, tt.WantErr) {
				t.Errorf("Send() = %v, want %v", err, tt.WantErr)
			}
			testpeer.CheckDelivery(t, rec, tt.WantCalls, s.Stats(), tt.WantStats, logs.String(), tt.WantLog, func(r testpeer.Recorded) (summaries []string) {
				for _, ev := range decode(t, r.Body).Events {
					summaries = append(summaries, ev.Summary)
				}
				return summaries
			})
		})
	}
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const (
		pathToken = "PATHSECRET0123456789"
		query     = "QUERYSECRET789"
		token     = "BEARERSECRET123"
	)
	echo := testpeer.NewRecorder(t, func(_ int, r testpeer.Recorded) testpeer.Answer {
		return testpeer.Answer{Code: 403, Body: fmt.Sprintf("forbidden %s %s", r.Path, r.Header.Get("Authorization"))}
	})
	for _, base := range []string{echo.URL, testpeer.ClosedURL(t)} {
		u := base + "/hooks/" + pathToken + "?key=" + query
		s, logs := newSink(t, Config{URL: redact.Secret(u), HTTP: httpclient.Config{BearerToken: token}, Retry: retry.Policy{Min: time.Millisecond, MaxAttempts: 2}})
		err := s.Send(context.Background(), events(1))
		if err == nil {
			t.Fatalf("Send to %s succeeded", base)
		}
		testpeer.CheckNoSecrets(t, []string{err.Error(), logs.String(), fmt.Sprintf("%+v", s.cfg)}, pathToken, query, token)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"ok", Config{URL: "https://h/x"}, nil},
		{"no url", Config{}, []string{"url is required"}},
		{"bad url", Config{URL: "ftp://h/SECRETPATH0123456789"}, []string{`url "ftp://h/xxxxx" is not`}},
		{"all", Config{URL: "h", MaxEvents: -1, HTTP: httpclient.Config{KeyFile: "k"}}, []string{"not an http(s) URL", "negative max_events", "set together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testpeer.CheckErrorLines(t, tt.cfg.Validate(), tt.want)
		})
	}
}
