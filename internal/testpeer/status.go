package testpeer

import (
	"time"

	"github.com/centra-cloud/cflogd/sink/retry"
)

// StatusCase is a case of a batch sink's status handling test: how the
// receiver answers, and what a Send of N items then gives.
type StatusCase struct {
	Name      string
	Answer    func(int, Recorded) Answer
	Policy    retry.Policy
	Timeout   time.Duration
	Max       int // items a request; 0 for the sink's default
	N         int
	WantCalls int
	WantErr   error
	WantStats retry.Counts
	WantLog   string
}

// StatusCases are the cases the batch sinks share: 200, 4xx dropped (400
// logged as drop400), 429 and 5xx retried, a slow answer, attempts running
// out.
func StatusCases(drop400 string) []StatusCase {
	A := func(code int, header ...string) Answer { return Reply(code, "", header...) }
	none := retry.Policy{}
	return []StatusCase{
		{"200", nil, none, 0, 0, 3, 1, nil, retry.Counts{Sent: 3}, ""},
		{"400 dropped", Script(A(400)), none, 0, 0, 3, 1, retry.ErrDropped, retry.Counts{Failed: 1, Dropped: 3}, drop400},
		{"401 dropped", Script(A(401)), none, 0, 0, 3, 1, retry.ErrDropped, retry.Counts{Failed: 1, Dropped: 3}, "401"},
		{"429 retried", Script(A(429)), none, 0, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, `"wait_ms":`},
		{"429 retry-after honoured", Script(A(429, "Retry-After", "1")), none, 0, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, `"wait_ms":30`},
		{"500 and 503 retried", Script(A(500), A(503)), none, 0, 0, 3, 3, nil, retry.Counts{Sent: 3, Failed: 2, Retried: 2}, ""},
		{"slow retried", Script(A(Slow)), none, 500 * time.Millisecond, 0, 3, 2, nil, retry.Counts{Sent: 3, Failed: 1, Retried: 1}, "Client.Timeout"},
		{"gives up", Script(A(503), A(503)), retry.Policy{Min: time.Millisecond, MaxAttempts: 2}, 0, 0, 3, 2, retry.ErrGaveUp, retry.Counts{Failed: 2, Retried: 1, Dropped: 3}, ""},
	}
}
