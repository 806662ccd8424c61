package testpeer

import (
	"fmt"
	"testing"
	"time"
)

// Poll calls cond until it returns true or timeout passes, and reports
// whether it did. The interval grows from 1 ms to 100 ms.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait) // poll interval, bounded by the deadline
	}
}

// Eventually fails the test when cond does not return true within timeout;
// the message (format and args) says what was awaited.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	if !Poll(timeout, cond) {
		tb.Fatalf("timed out after %v waiting for %s", timeout, fmt.Sprintf(format, args...))
	}
}
