// Package retry decides whether a failed delivery is tried again and when:
// capped exponential backoff with jitter, Retry-After, the HTTP status classes
// all sinks share (429 and 5xx and network errors are retried, other 4xx are
// permanent), and the delivery counters every sink keeps.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// Policy says how often and how long a sink retries; its keys are those of
// the sink's [[sink]] table in cflogd.toml.
type Policy struct {
	// Min is the delay before the first retry.
	Min time.Duration `toml:"retry_min" doc:"First wait after a network error, 429 or 5xx; the wait doubles up to 'retry_max', with jitter, and 'Retry-After' is honoured."`
	// Max caps the exponentially growing delay.
	Max time.Duration `toml:"retry_max" doc:"Longest wait between attempts. Loki and Alertmanager are retried until they accept (the journal waits), the notification sinks up to 'max_attempts'."`
	// MaxAttempts is the number of attempts before giving up; 0 means retry
	// until the context is done (the durable sinks' back-pressure).
	MaxAttempts int `toml:"max_attempts" doc:"Attempts per message before it is given up."`
	// MaxRetryAfter caps a server's Retry-After, so a bad header cannot stall
	// a sink for days.
	MaxRetryAfter time.Duration `toml:"-"`
}

// DefaultPolicy is the policy of a sink whose configuration leaves it out.
var DefaultPolicy = Policy{Min: 500 * time.Millisecond, Max: 30 * time.Second, MaxRetryAfter: 5 * time.Minute}

// WithDefaults returns p with zero durations taken from DefaultPolicy.
func (p Policy) WithDefaults() Policy {
	if p.Min <= 0 {
		p.Min = DefaultPolicy.Min
	}
	if p.Max <= 0 {
		p.Max = DefaultPolicy.Max
	}
	if p.Max < p.Min {
		p.Max = p.Min
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultPolicy.MaxRetryAfter
	}
	return p
}

// Delay returns the jittered wait before retry number n (1 for the first
// retry): Min·2^(n-1) capped at Max, then drawn uniformly from its upper
// half ("equal jitter"), so waits grow but many agents do not retry in step.
func (p Policy) Delay(n int) time.Duration {
	p = p.WithDefaults()
	d := p.Max
	if n < 1 {
		n = 1
	}
	if n <= 62 {
		if v := p.Min << (n - 1); v > 0 && v < p.Max && v>>(n-1) == p.Min {
			d = v
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// StatusError is a response outside 2xx.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the start of the response body on one line, for the log.
	Body string
	// RetryAfter is the server's Retry-After, or 0.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("server answered %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// maxBody is how much of an error response is read and kept.
const maxBody = 512

// CheckResponse returns nil for a 2xx response, else a *StatusError with the
// start of the body and the parsed Retry-After. It drains and closes the body
// either way, so the connection can be reused.
func CheckResponse(resp *http.Response, now time.Time) error {
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	e := &StatusError{Code: resp.StatusCode, Body: oneLine(string(b))}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		e.RetryAfter = d
	}
	return e
}

// oneLine folds a body into one printable line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// ParseRetryAfter parses a Retry-After value: delay seconds or an HTTP date.
// A date in the past gives 0; an empty or malformed value gives false.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// Permanent marks err as not retryable.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// Retryable reports whether err is worth another attempt: 429, 5xx and
// transport errors (refused connections, timeouts) are; other statuses and
// errors marked Permanent are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var p *permanent
	if errors.As(err, &p) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	return true
}

// ErrDropped is wrapped by every sink's error for items it gave up on (a
// permanent rejection, an item too large on its own, or attempts used up).
// Retrying them cannot help, so a checkpoint may pass them. Each sink
// package re-exports it as its own ErrDropped.
var ErrDropped = errors.New("dropped")

// ErrGaveUp is wrapped by Do's error when MaxAttempts were used up.
var ErrGaveUp = errors.New("gave up")

// Do calls fn until it succeeds, fails permanently, the attempts are used
// up or ctx is done. Between attempts it waits the server's Retry-After if
// the error carries one (capped at MaxRetryAfter), else Delay. onRetry, if
// not nil, is called before each wait. The last error is returned; when ctx
// ends the wait, ctx's error is joined to it.
func Do(ctx context.Context, p Policy, onRetry func(attempt int, err error, wait time.Duration), fn func(context.Context) error) error {
	p = p.WithDefaults()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		if !Retryable(err) {
			return err
		}
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt, err)
		}
		wait := p.Delay(attempt)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			wait = min(se.RetryAfter, p.MaxRetryAfter)
		}
		if onRetry != nil {
			onRetry(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// Stats counts a sink's deliveries. Its methods are safe for concurrent use.
type Stats struct {
	sent, failed, retried, dropped atomic.Int64
}

// Counts is a snapshot of Stats.
type Counts struct {
	// Sent counts items (Loki entries, events, alerts, messages) the
	// receiver accepted.
	Sent int64
	// Failed counts requests that did not succeed, retried or not.
	Failed int64
	// Retried counts requests that were tried again.
	Retried int64
	// Dropped counts items given up on: rejected permanently, too large,
	// or out of attempts.
	Dropped int64
}

// AddSent adds n accepted items.
func (s *Stats) AddSent(n int) { s.sent.Add(int64(n)) }

// AddFailed adds n failed requests.
func (s *Stats) AddFailed(n int) { s.failed.Add(int64(n)) }

// AddRetried adds n retried requests.
func (s *Stats) AddRetried(n int) { s.retried.Add(int64(n)) }

// AddDropped adds n dropped items.
func (s *Stats) AddDropped(n int) { s.dropped.Add(int64(n)) }

// Snapshot returns the current counts.
func (s *Stats) Snapshot() Counts {
	return Counts{Sent: s.sent.Load(), Failed: s.failed.Load(), Retried: s.retried.Load(), Dropped: s.dropped.Load()}
}
