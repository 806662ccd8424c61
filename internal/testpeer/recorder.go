package testpeer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Recorded is one request a Recorder received, and what it answered.
type Recorded struct {
	Header http.Header
	Path   string // request URI: path and query
	Body   []byte
	Code   int
}

// Answer is a Recorder's reply. Code Slow makes the server hang until the
// client gives up (or 30 s pass), to test client timeouts.
type Answer struct {
	Code   int
	Header map[string]string
	Body   string
}

// Slow is the Answer.Code of a reply that never comes in time.
const Slow = -1

// Recorder is an httptest server on 127.0.0.1 that records every request
// and answers as a test scripts it.
type Recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []Recorded
}

// Script answers the n-th request (from 1) in order; past its end, 200.
func Script(answers ...Answer) func(n int, r Recorded) Answer {
	return func(n int, _ Recorded) Answer {
		if n <= len(answers) {
			return answers[n-1]
		}
		return Answer{Code: 200}
	}
}

// NewRecorder starts a recorder that answers with answer (nil: always 200)
// and is closed in tb.Cleanup.
func NewRecorder(tb testing.TB, answer func(n int, r Recorded) Answer) *Recorder {
	tb.Helper()
	if answer == nil {
		answer = Script()
	}
	rec := &Recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		body, err := io.ReadAll(hr.Body)
		if err != nil {
			return
		}
		r := Recorded{Header: hr.Header.Clone(), Path: hr.URL.RequestURI(), Body: body}
		rec.mu.Lock()
		a := answer(len(rec.reqs)+1, r)
		r.Code = a.Code
		rec.reqs = append(rec.reqs, r)
		rec.mu.Unlock()
		if a.Code == Slow {
			select {
			case <-hr.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		}
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.Code)
		io.WriteString(w, a.Body)
	}))
	tb.Cleanup(rec.Close)
	return rec
}

// Requests returns the requests received so far.
func (r *Recorder) Requests() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.reqs...)
}
