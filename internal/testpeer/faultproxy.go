package testpeer

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Fault is what a FaultProxy does with the requests it receives.
type Fault struct {
	// Code is the status answered instead of passing a request on; 0
	// passes every request.
	Code int
	// Every answers Code to every Every-th request counted from the Set
	// (the 2nd, 4th, ... for 2) and passes the others; 0 and 1 answer
	// Code to all of them.
	Every int
}

// ProxyCounts counts what a FaultProxy did with its requests.
type ProxyCounts struct {
	// Passed counts requests handed to the target.
	Passed int
	// Faulted counts requests answered with a Fault's Code.
	Faulted int
}

// FaultProxy is an HTTP reverse proxy on 127.0.0.1 in front of a peer that
// answers a status of the test's choosing instead of passing requests on:
// a peer that rate-limits (429) or fails now and then (500). The fault is
// answered without a Retry-After header and without a body from the peer,
// as Loki answers when it rate-limits.
type FaultProxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:PORT; paths and
	// queries are passed on to the target as they are.
	URL string

	srv    *httptest.Server
	mu     sync.Mutex
	fault  Fault
	n      int // requests since the last Set
	counts ProxyCounts
}

// NewFaultProxy starts a proxy to target (a base URL such as
// VictoriaLogs.URL) that passes every request until Set says otherwise. It
// is closed in tb.Cleanup.
func NewFaultProxy(tb testing.TB, target string) *FaultProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("parse proxy target %q: %v", target, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a peer that is down answers 502
	p := &FaultProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := p.decide(); code != 0 {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			io.WriteString(w, http.StatusText(code)+" (injected by testpeer.FaultProxy)\n")
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// decide counts a request and returns the status to answer, or 0 to pass
// it on.
func (p *FaultProxy) decide() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	f := p.fault
	if f.Code != 0 && (f.Every <= 1 || p.n%f.Every == 0) {
		p.counts.Faulted++
		return f.Code
	}
	p.counts.Passed++
	return 0
}

// Set switches the proxy to f from the next request on; Fault{} passes
// everything again.
func (p *FaultProxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.n = f, 0
}

// Counts returns what the proxy did so far.
func (p *FaultProxy) Counts() ProxyCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// TCPCounts counts a TCPProxy's connections.
type TCPCounts struct {
	// Conns counts the connections accepted.
	Conns int
	// Stalled counts the connections that were stalled, from the start or
	// at their next request.
	Stalled int
}

// TCPProxy is a TCP proxy on 127.0.0.1 in front of a peer that can stall:
// while stalled it accepts connections and reads what the client sends but
// never forwards it and never answers, like a peer behind a black hole. A
// connection that was open before the stall stalls as soon as the client
// sends on it again, and its connection to the target is closed, so a
// half-sent request is never completed later. A stalled connection stays
// stalled after Stall(false) until the client gives up on it; new
// connections pass again.
type TCPProxy struct {
	// Addr is the proxy's address, 127.0.0.1:PORT.
	Addr string

	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu      sync.Mutex
	stalled bool
	closed  bool
	conns   map[net.Conn]struct{}
	counts  TCPCounts
}

// NewTCPProxy starts a proxy to target (host:port) that passes every
// connection. It is closed in tb.Cleanup.
func NewTCPProxy(tb testing.TB, target string) *TCPProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for tcp proxy: %v", err)
	}
	p := &TCPProxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Stall switches stalling on or off.
func (p *TCPProxy) Stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = on
}

// Counts returns the connections so far.
func (p *TCPProxy) Counts() TCPCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *TCPProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// track registers a connection to close with the proxy; false when the
// proxy is closed already.
func (p *TCPProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *TCPProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

func (p *TCPProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !p.track(c) {
			continue
		}
		p.mu.Lock()
		p.counts.Conns++
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c)
	}
}

// stallNow reports whether a connection must stall now, counting it.
func (p *TCPProxy) stallNow() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.counts.Stalled++
	}
	return p.stalled
}

// serve relays one client connection until either side closes it, or
// swallows it once it stalls.
func (p *TCPProxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	if p.stallNow() {
		io.Copy(io.Discard, client)
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	// The answers: target to client, until the target closes (then the
	// client's connection closes with it, unless it is stalled).
	stalled := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(client, up)
		select {
		case <-stalled:
		default:
			client.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if p.stallNow() {
				close(stalled)
				up.Close()
				io.Copy(io.Discard, client)
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
