package testpeer

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/sink/retry"
)

// Reply is an Answer with a status code, a body and header name, value pairs.
func Reply(code int, body string, header ...string) Answer {
	a := Answer{Code: code, Body: body, Header: map[string]string{}}
	for i := 0; i+1 < len(header); i += 2 {
		a.Header[header[i]] = header[i+1]
	}
	return a
}

// ClosedURL is the http URL of a local port nothing listens on.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	return "http://127.0.0.1:" + strconv.Itoa(FreePort(tb))
}

// CheckErrorLines checks that err (a Validate's joined errors) has one line
// per want, each containing its want.
func CheckErrorLines(tb testing.TB, err error, want []string) {
	tb.Helper()
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
	}
	if len(got) != len(want) {
		tb.Fatalf("Validate() = %v, want %d errors %q", err, len(want), want)
	}
	for i := range got {
		if !strings.Contains(got[i], want[i]) {
			tb.Errorf("error %d = %q, want %q in it", i, got[i], want[i])
		}
	}
}

// CheckNoSecrets fails the test for each secret one of texts contains.
func CheckNoSecrets(tb testing.TB, texts []string, secrets ...string) {
	tb.Helper()
	for _, text := range texts {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				tb.Errorf("secret %q leaked: %s", sec, text)
			}
		}
	}
}

// CheckDelivery checks a sink's requests, stats and log after a Send, and
// that each accepted item (by key, from the answered 2xx requests) was
// accepted once and that the stats count them as sent.
func CheckDelivery(tb testing.TB, rec *Recorder, calls int, stats, want retry.Counts, log, wantLog string, keys func(Recorded) []string) {
	tb.Helper()
	if n := len(rec.Requests()); n != calls {
		tb.Errorf("%d requests, want %d", n, calls)
	}
	if diff := cmp.Diff(want, stats); diff != "" {
		tb.Errorf("stats (-want +got):\n%s", diff)
	}
	if !strings.Contains(log, wantLog) {
		tb.Errorf("log does not contain %q:\n%s", wantLog, log)
	}
	if keys == nil {
		return
	}
	accepted := map[string]int{}
	for _, r := range rec.Requests() {
		if r.Code/100 == 2 {
			for _, k := range keys(r) {
				accepted[k]++
			}
		}
	}
	for k, n := range accepted {
		if n != 1 {
			tb.Errorf("%s accepted %d times", k, n)
		}
	}
	if int64(len(accepted)) != want.Sent {
		tb.Errorf("%d items accepted, stats say %d", len(accepted), want.Sent)
	}
}
