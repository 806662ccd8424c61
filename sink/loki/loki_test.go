package loki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/httpclient"
	"github.com/centra-cloud/cflogd/sink/retry"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)

func event(i int, sig string, sev record.Severity) record.Event {
	return record.Event{
		Time:        record.Time{Time: t0.Add(time.Duration(i) * time.Millisecond)},
		Host:        "node01",
		Unit:        "chainfire.service",
		Signature:   sig,
		Severity:    sev,
		Summary:     fmt.Sprintf("event %d", i),
		Runbook:     "https://git.example/runbook#x",
		Fields:      map[string]any{"n": i},
		Message:     fmt.Sprintf("WARN chainfire: line %d <&>", i),
		Fingerprint: "9f86d081884c7d65",
	}
}

func events(n int) []record.Event {
	evs := make([]record.Event, n)
	for i := range evs {
		evs[i] = event(i, "chainfire.rocksdb_stall", record.Error)
	}
	return evs
}

// request is what the test server received.
type request struct {
	Header http.Header
	Path   string
	Push   push.PushRequest
	Code   int // the answer
}

func (r request) entries() int {
	n := 0
	for _, s := range r.Push.Streams {
		n += len(s.Entries)
	}
	return n
}

// server is a Loki stand-in whose answers the test scripts.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(n int, r request) (code int, header map[string]string, body string)
}

func newServer(t *testing.T, answer func(n int, r request) (int, map[string]string, string)) *server {
	t.Helper()
	s := &server{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		body, err := io.ReadAll(hr.Body)
		if err != nil {
			return
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, "snappy: "+err.Error(), 400)
			return
		}
		var r request
		if err := r.Push.Unmarshal(raw); err != nil {
			http.Error(w, "proto: "+err.Error(), 400)
			return
		}
		r.Header, r.Path = hr.Header.Clone(), hr.URL.RequestURI()
		s.mu.Lock()
		n := len(s.reqs) + 1
		code, hdr, msg := 204, map[string]string(nil), ""
		if s.answer != nil {
			code, hdr, msg = s.answer(n, r)
		}
		r.Code = code
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
		if code == -1 { // slow: outlive the client's timeout
			select {
			case <-hr.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, msg)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

func fastRetry() retry.Policy {
	return retry.Policy{Min: time.Millisecond, Max: 4 * time.Millisecond, MaxRetryAfter: 30 * time.Millisecond}
}

func newSink(t *testing.T, cfg Config) (*Sink, *testpeer.Buffer) {
	t.Helper()
	logs := &testpeer.Buffer{}
	cfg.Log = zerolog.New(logs)
	if cfg.Retry == (retry.Policy{}) {
		cfg.Retry = fastRetry()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, logs
}

func TestPushRequest(t *testing.T) {
	srv := newServer(t, nil)
	s, _ := newSink(t, Config{
		URL:    srv.URL + "/loki/api/v1/push",
		Tenant: "team-a",
		Labels: map[string]string{"cluster": "prod", "zone": `a"b`},
		HTTP:   httpclient.Config{BearerToken: "tok"},
	})
	evs := []record.Event{
		event(3, "chainfire.rocksdb_stall", record.Error),
		event(1, "chainfire.rocksdb_stall", record.Error),
		event(2, "flaredb.raft_election", record.Warning),
		event(0, "chainfire.rocksdb_stall", record.Error),
		event(4, "x.debug", record.Info),
	}
	evs[2].Unit, evs[2].Host = "flaredb.service", "node02"
	evs[4].Unit = "" // empty label values are left out
	// A message that looks like labels must not become one.
	evs[0].Message = `level=error job="evil" {host="x"}`
	if err := s.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	hdr := map[string]string{}
	for _, k := range []string{"Content-Type", "X-Scope-Orgid", "Authorization"} {
		hdr[k] = r.Header.Get(k)
	}
	if diff := cmp.Diff(map[string]string{"Content-Type": "application/x-protobuf", "X-Scope-Orgid": "team-a", "Authorization": "Bearer tok"}, hdr); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if r.Path != "/loki/api/v1/push" {
		t.Errorf("path = %q", r.Path)
	}
	type gotEntry struct {
		TS   time.Time
		Line string
	}
	line := func(e record.Event) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(e)
		return strings.TrimSpace(b.String())
	}
	want := map[string][]gotEntry{
		`{cluster="prod", host="node01", job="cflogd", severity="error", signature="chainfire.rocksdb_stall", unit="chainfire.service", zone="a\"b"}`: {
			{evs[3].Time.Time, line(evs[3])}, {evs[1].Time.Time, line(evs[1])}, {evs[0].Time.Time, line(evs[0])},
		},
		`{cluster="prod", host="node02", job="cflogd", severity="warning", signature="flaredb.raft_election", unit="flaredb.service", zone="a\"b"}`: {
			{evs[2].Time.Time, line(evs[2])},
		},
		`{cluster="prod", host="node01", job="cflogd", severity="info", signature="x.debug", zone="a\"b"}`: {
			{evs[4].Time.Time, line(evs[4])},
		},
	}
	got := map[string][]gotEntry{}
	var order []string
	for _, st := range r.Push.Streams {
		order = append(order, st.Labels)
		for _, e := range st.Entries {
			got[st.Labels] = append(got[st.Labels], gotEntry{e.Timestamp.UTC(), e.Line})
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] > order[i] {
			t.Errorf("streams not in label order: %q", order)
		}
	}
	if !strings.Contains(line(evs[1]), `"message":"WARN chainfire: line 1 <&>"`) {
		t.Errorf("line escapes HTML: %s", line(evs[1]))
	}
	if diff := cmp.Diff(retry.Counts{Sent: 5}, s.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestMinSeverity(t *testing.T) {
	srv := newServer(t, nil)
	s, _ := newSink(t, Config{URL: srv.URL, MinSeverity: record.Error})
	evs := []record.Event{event(0, "a", record.Info), event(1, "b", record.Warning), event(2, "c", record.Error), event(3, "d", record.Critical)}
	if err := s.Send(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for _, r := range srv.requests() {
		for _, st := range r.Push.Streams {
			var e record.Event
			for _, en := range st.Entries {
				json.Unmarshal([]byte(en.Line), &e)
				sigs = append(sigs, e.Signature)
			}
		}
	}
	slices.Sort(sigs)
	if diff := cmp.Diff([]string{"c", "d"}, sigs); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	// Nothing at or above the minimum: no request at all.
	before := len(srv.requests())
	if err := s.Send(context.Background(), evs[:2]); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.requests()); n != before {
		t.Errorf("%d requests for events below min_severity", n-before)
	}
}

func TestStatusHandling(t *testing.T) {
	type answer struct {
		code int
		hdr  map[string]string
		body string
	}
	seq := func(as ...answer) func(int, request) (int, map[string]string, string) {
		return func(n int, _ request) (int, map[string]string, string) {
			if n <= len(as) {
				return as[n-1].code, as[n-1].hdr, as[n-1].body
			}
			return 204, nil, ""
		}
	}
	tests := []struct {
		name      string
		answer    func(int, request) (int, map[string]string, string)
		policy    retry.Policy
		timeout   time.Duration
		n         int
		wantCalls int
		wantErr   error
		wantStats retry.Counts
		wantLog   string
		wantLines int // accepted exactly once each
	}{
		{"204", seq(), retry.Policy{}, 0, 3, 1, nil, retry.Counts{Sent: 3}, "", 3},
		{"200", seq(answer{200, nil, ""}), retry.Policy{}, 0, 3, 1, nil, retry.Counts{Sent: 3}, "", 3},
		{"400 dropped", seq(answer{400, nil, "entry too far behind"}), retry.Policy{}, 0, 3, 1, ErrDropped, retry.Counts{Failed: 1, Dropped: 3}, "may have accepted part", 0},
		{"401 dropped", seq(answer{401, nil, "no org id"}), retry.Policy{}, 0, 3, 1, ErrDropped, retry.Counts{Failed: 1, Dropped: 3}, "no org id", 0},
		{"429 retried", seq(answer{429, nil, ""}), retry.Policy{}, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, `"wait_ms":`, 3},
		{"429 retry-after honoured", seq(answer{429, map[string]string{"Retry-After": "1"}, ""}), retry.Policy{}, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, `"wait_ms":30`, 3},
		{"503 retry-after date", seq(answer{503, map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, ""}), retry.Policy{}, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, `"wait_ms":30`, 3},
		{"500 then 503 retried", seq(answer{500, nil, ""}, answer{503, nil, ""}), retry.Policy{}, 0, 3, 3, nil, retry.Counts{Sent: 3, Failed: 2, Retried: 2}, "", 3},
		{"slow retried", seq(answer{-1, nil, ""}), retry.Policy{}, 500 * time.Millisecond, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, "Client.Timeout", 3},
		{"gives up", seq(answer{503, nil, ""}, answer{503, nil, ""}, answer{503, nil, ""}), retry.Policy{Min: time.Millisecond, MaxAttempts: 3}, 0, 2, 3, retry.ErrGaveUp, retry.Counts{Failed: 3, Retried: 2, Dropped: 2}, "", 0},
		{"413 splits", func(_ int, r request) (int, map[string]string, string) {
			if r.entries() > 2 {
				return 413, nil, "too large"
			}
			return 204, nil, ""
		}, retry.Policy{}, 0, 8, 7, nil, retry.Counts{Sent: 8, Failed: 3}, "splitting", 8},
		{"413 single entry dropped", func(_ int, r request) (int, map[string]string, string) {
			for _, st := range r.Push.Streams {
				for _, e := range st.Entries {
					if strings.Contains(e.Line, `"n":2`) {
						return 413, nil, "too large"
					}
				}
			}
			return 204, nil, ""
		}, retry.Policy{}, 0, 4, 5, ErrDropped, retry.Counts{Sent: 3, Failed: 3, Dropped: 1}, "drop entry too large", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.answer)
			p := tt.policy
			if p == (retry.Policy{}) {
				p = fastRetry()
			}
			s, logs := newSink(t, Config{URL: srv.URL + "/loki/api/v1/push", Retry: p, HTTP: httpclient.Config{Timeout: tt.timeout}})
			err := s.Send(context.Background(), events(tt.n))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Send() = %v, want %v", err, tt.wantErr)
			}
			if n := len(srv.requests()); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantStats, s.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log does not contain %q:\n%s", tt.wantLog, logs)
			}
			// Accepted entries were accepted exactly once.
			accepted := map[string]int{}
			for _, r := range srv.requests() {
				if r.Code/100 != 2 {
					continue
				}
				for _, st := range r.Push.Streams {
					for _, e := range st.Entries {
						accepted[e.Line]++
						if accepted[e.Line] > 1 {
							t.Errorf("entry accepted twice: %s", e.Line)
						}
					}
				}
			}
			if len(accepted) != tt.wantLines {
				t.Errorf("%d distinct entries accepted, want %d", len(accepted), tt.wantLines)
			}
		})
	}
}

func TestContextEndsRetries(t *testing.T) {
	srv := newServer(t, func(int, request) (int, map[string]string, string) { return 503, nil, "" })
	s, _ := newSink(t, Config{URL: srv.URL, Retry: retry.Policy{Min: time.Millisecond, Max: 2 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, events(2)) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrDropped) {
			t.Errorf("Send() = %v, want context.Canceled and nothing dropped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return after cancel")
	}
	if got := s.Stats(); got.Dropped != 0 || got.Sent != 0 {
		t.Errorf("stats = %+v, want nothing sent or dropped", got)
	}
}

func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const (
		token    = "BEARERSECRET123"
		password = "PASSWORDSECRET456"
		qtoken   = "QUERYSECRET789"
	)
	// A server that echoes the request's credentials in its error bodies.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprintf(w, "bad credentials %q for %s", r.Header.Get("Authorization"), r.URL.RequestURI())
	}))
	defer echo.Close()

	for _, base := range []string{echo.URL, testpeer.ClosedURL(t)} {
		for _, auth := range []httpclient.Config{{BearerToken: token}, {BasicAuthUser: "u", BasicAuthPassword: password}} {
			u := strings.Replace(base, "http://", "http://u:"+password+"@", 1) + "/loki/api/v1/push?token=" + qtoken
			s, logs := newSink(t, Config{URL: u, HTTP: auth, Retry: retry.Policy{Min: time.Millisecond, MaxAttempts: 2}})
			err := s.Send(context.Background(), events(1))
			if err == nil {
				t.Fatalf("Send to %s succeeded", base)
			}
			testpeer.CheckNoSecrets(t, []string{err.Error(), logs.String()}, token, password, qtoken, "dTpQQVNTV09SRFNFQ1JFVDQ1Ng")
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"ok", Config{URL: "https://loki:3100/loki/api/v1/push"}, nil},
		{"no url", Config{}, []string{"url is required"}},
		{"bad url", Config{URL: "loki:3100"}, []string{"not an http(s) URL"}},
		{"labels", Config{URL: "http://l", Labels: map[string]string{"job": "x", "bad-name": "y"}}, []string{`"bad-name" is not valid`, `"job" is set from each event`}},
		{"sizes", Config{URL: "http://l", BatchSize: -1, BatchWait: -1}, []string{"negative batch_size", "negative batch_wait"}},
		{"http", Config{URL: "http://l", HTTP: httpclient.Config{CertFile: "c"}}, []string{"set together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testpeer.CheckErrorLines(t, tt.cfg.Validate(), tt.want)
		})
	}
}

// TestLicense keeps Loki's AGPL module out: only the Apache-2.0
// github.com/grafana/loki/pkg/push may be required.
func TestLicense(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		for _, w := range f {
			if strings.HasPrefix(w, "github.com/grafana/loki") && w != "github.com/grafana/loki/pkg/push" {
				t.Errorf("go.mod requires %s; only github.com/grafana/loki/pkg/push (Apache-2.0) is allowed", w)
			}
		}
	}
}
