package testpeer

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// upstream is a server that answers 204 and counts the requests that
// reached it.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func post(t *testing.T, c *http.Client, url string) (int, error) {
	t.Helper()
	resp, err := c.Post(url, "text/plain", strings.NewReader("line"))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestFaultProxy(t *testing.T) {
	tests := []struct {
		name      string
		fault     Fault
		want      []int
		wantCount ProxyCounts
	}{
		{"pass", Fault{}, []int{204, 204, 204, 204}, ProxyCounts{Passed: 4}},
		{"429 always", Fault{Code: 429}, []int{429, 429, 429, 429}, ProxyCounts{Faulted: 4}},
		{"500 every second", Fault{Code: 500, Every: 2}, []int{204, 500, 204, 500, 204}, ProxyCounts{Passed: 3, Faulted: 2}},
		{"503 every third", Fault{Code: 503, Every: 3}, []int{204, 204, 503, 204}, ProxyCounts{Passed: 3, Faulted: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, reached := upstream(t)
			p := NewFaultProxy(t, up.URL)
			p.Set(tt.fault)
			var got []int
			for range tt.want {
				code, err := post(t, http.DefaultClient, p.URL+"/insert/loki/api/v1/push?x=1")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCount, p.Counts()); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if int(reached.Load()) != tt.wantCount.Passed {
				t.Errorf("%d requests reached the target, want %d", reached.Load(), tt.wantCount.Passed)
			}
		})
	}
}

func TestFaultProxyNoRetryAfter(t *testing.T) {
	up, _ := upstream(t)
	p := NewFaultProxy(t, up.URL)
	p.Set(Fault{Code: 429})
	resp, err := http.Post(p.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q, want none", ra)
	}
	p.Set(Fault{})
	if code, err := post(t, http.DefaultClient, p.URL); err != nil || code != 204 {
		t.Errorf("after Set(Fault{}): %d, %v; want 204", code, err)
	}
}

func TestTCPProxyStall(t *testing.T) {
	up, reached := upstream(t)
	p := NewTCPProxy(t, up.Listener.Addr().String())
	url := "http://" + p.Addr + "/push"
	// One client with keep-alive, so the stall must catch a connection
	// that was open before it.
	c := &http.Client{Timeout: 300 * time.Millisecond}
	defer c.CloseIdleConnections()

	if code, err := post(t, c, url); err != nil || code != 204 {
		t.Fatalf("passing: %d, %v; want 204", code, err)
	}
	p.Stall(true)
	for i := range 2 {
		_, err := post(t, c, url)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("stalled request %d: err = %v, want a timeout", i, err)
		}
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d requests reached the target, want only the one before the stall", n)
	}
	p.Stall(false)
	if code, err := post(t, c, url); err != nil || code != 204 {
		t.Errorf("after the stall: %d, %v; want 204", code, err)
	}
	got := p.Counts()
	if got.Stalled != 2 || got.Conns != 3 {
		t.Errorf("counts %+v, want 3 connections (kept alive, then a new one per timeout) of which 2 stalled", got)
	}
	if n := reached.Load(); n != 2 {
		t.Errorf("%d requests reached the target, want 2", n)
	}
}

func TestTCPProxyCloseEndsStalled(t *testing.T) {
	up, _ := upstream(t)
	p := NewTCPProxy(t, up.Listener.Addr().String())
	p.Stall(true)
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("stalled connection answered or closed early: %v", err)
	case <-time.After(200 * time.Millisecond): // a stall shows as nothing happening
	}
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Logf("read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left the stalled connection open")
	}
}
