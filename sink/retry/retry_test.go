package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDelay(t *testing.T) {
	p := Policy{Min: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{70, 500 * time.Millisecond, time.Second},
		{1000, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := p.Delay(tt.n)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("Delay(%d) = %v, want in [%v, %v]", tt.n, d, tt.lo, tt.hi)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Errorf("Delay(%d) has no jitter: %d distinct values in 200", tt.n, len(seen))
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	type result struct {
		D  time.Duration
		OK bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"", result{0, false}},
		{"0", result{0, true}},
		{" 7 ", result{7 * time.Second, true}},
		{"-3", result{0, false}},
		{"soon", result{0, false}},
		{"Thu, 26 Nov 2026 10:00:30 GMT", result{30 * time.Second, true}},
		{"Thu, 26 Nov 2026 09:00:00 GMT", result{0, true}},
		{"99999999999999", result{365 * 24 * time.Hour, true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, ok := ParseRetryAfter(tt.in, now)
			if diff := cmp.Diff(tt.want, result{d, ok}); diff != "" {
				t.Errorf("ParseRetryAfter(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"network", errors.New("connection refused"), true},
		{"400", &StatusError{Code: 400}, false},
		{"401", &StatusError{Code: 401}, false},
		{"413", &StatusError{Code: 413}, false},
		{"429", &StatusError{Code: 429}, true},
		{"500", fmt.Errorf("push: %w", &StatusError{Code: 500}), true},
		{"503", &StatusError{Code: 503}, true},
		{"permanent", Permanent(errors.New("bad config")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	now := time.Now()
	resp := func(code int, body string, ra string) *http.Response {
		h := http.Header{}
		if ra != "" {
			h.Set("Retry-After", ra)
		}
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name string
		resp *http.Response
		want error
	}{
		{"204", resp(204, "", ""), nil},
		{"400", resp(400, "entry out of order\n  for stream {a=\"b\"}\x00", ""), &StatusError{Code: 400, Body: `entry out of order for stream {a="b"}`}},
		{"429", resp(429, "", "2"), &StatusError{Code: 429, RetryAfter: 2 * time.Second}},
		{"long", resp(500, strings.Repeat("x", 2000), ""), &StatusError{Code: 500, Body: strings.Repeat("x", maxBody)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckResponse(tt.resp, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckResponse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDo(t *testing.T) {
	p := Policy{Min: time.Millisecond, Max: 2 * time.Millisecond, MaxRetryAfter: 20 * time.Millisecond}
	type call struct {
		Attempt int
		Wait    time.Duration
	}
	tests := []struct {
		name      string
		policy    Policy
		errs      []error // returned by successive attempts; nil after the list
		wantCalls int
		wantErr   error
		wantWaits []time.Duration // checked when not nil
	}{
		{"first try", p, nil, 1, nil, []time.Duration{}},
		{"retry 503 then ok", p, []error{&StatusError{Code: 503}, errors.New("refused")}, 3, nil, nil},
		{"400 is permanent", p, []error{&StatusError{Code: 400}}, 1, &StatusError{Code: 400}, []time.Duration{}},
		{"retry-after honoured", p, []error{&StatusError{Code: 429, RetryAfter: 5 * time.Millisecond}}, 2, nil, []time.Duration{5 * time.Millisecond}},
		{"retry-after capped", p, []error{&StatusError{Code: 503, RetryAfter: time.Hour}}, 2, nil, []time.Duration{20 * time.Millisecond}},
		{"gives up", Policy{Min: time.Millisecond, MaxAttempts: 3}, []error{&StatusError{Code: 500}, &StatusError{Code: 500}, &StatusError{Code: 500}, nil}, 3, ErrGaveUp, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var waits []time.Duration
			err := Do(context.Background(), tt.policy, func(_ int, _ error, w time.Duration) { waits = append(waits, w) }, func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr) && cmp.Diff(tt.wantErr, err) != "":
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantWaits != nil {
				if waits == nil {
					waits = []time.Duration{}
				}
				if diff := cmp.Diff(tt.wantWaits, waits); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
		})
	}

	t.Run("context ends the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			done <- Do(ctx, Policy{Min: time.Hour, Max: time.Hour}, func(int, error, time.Duration) { cancel() }, func(context.Context) error {
				return &StatusError{Code: 503}
			})
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Do did not return after cancel")
		}
	})
}

func TestStats(t *testing.T) {
	var s Stats
	s.AddSent(3)
	s.AddFailed(2)
	s.AddRetried(1)
	s.AddDropped(4)
	if diff := cmp.Diff(Counts{Sent: 3, Failed: 2, Retried: 1, Dropped: 4}, s.Snapshot()); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}
