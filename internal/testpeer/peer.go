// Package testpeer starts real servers that cflogd talks to, for tests:
// VictoriaLogs (a Loki push protocol receiver), Prometheus Alertmanager, a
// recording HTTP server and a throw-away PKI for TLS and mTLS tests; and it
// holds the one poll helper, Eventually. Each peer listens on 127.0.0.1 on a
// free port, keeps its data in a temporary directory and is killed in
// t.Cleanup.
//
// A peer's binary is looked up on PATH and in $(go env GOPATH)/bin. When it is
// missing the test is skipped, unless the environment variable CI is set: then
// it fails, so CI cannot pass without running the integration tests. The
// install commands are in the error message.
package testpeer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// findBinary returns the path of name, or skips (fails when CI is set).
func findBinary(tb testing.TB, name, install string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gb := os.Getenv("GOBIN"); gb != "" {
		dirs = append(dirs, gb)
	}
	for _, d := range filepath.SplitList(cmp.Or(os.Getenv("GOPATH"), goEnvPath())) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found on PATH or in GOBIN/GOPATH/bin; install it with: %s", name, install)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + " (CI is set, so this fails instead of skipping)")
		return ""
	}
	tb.Skip(msg)
	return ""
}

// goEnvPath returns $(go env GOPATH), asked once.
var goEnvPath = sync.OnceValue(func() string {
	out, _ := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "env", "GOPATH").Output()
	return string(bytes.TrimSpace(out))
})

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a peer that starts later (StartVictoriaLogsAt) or a listen address.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a started peer.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    *Buffer
	exited chan struct{}
}

// start runs bin with args, its output kept for failure messages, and kills
// it in tb.Cleanup.
func start(tb testing.TB, name, bin string, args ...string) *process {
	tb.Helper()
	p := &process{name: name, out: &Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			tb.Errorf("%s (pid %d) did not exit after kill", name, p.cmd.Process.Pid)
		}
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, p.out.Tail(4096))
		}
	})
	return p
}

// errExited says the peer process ended while it was awaited.
var errExited = errors.New("process exited")

// waitHTTP polls url until it answers 200, the process exits or the
// deadline passes.
func (p *process) waitHTTP(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("wait for %s: %w (%v)", p.name, errExited, p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("wait for %s at %s: %w", p.name, url, ctx.Err())
		case <-tick.C:
		}
	}
}

// launch starts a peer on a free port, retrying with a new port when the
// process exits early (a port race with another test).
func launch(tb testing.TB, name, bin string, args func(port int) []string, ready func(port int) string) (*process, int) {
	tb.Helper()
	var last error
	for range 3 {
		port := FreePort(tb)
		p := start(tb, name, bin, args(port)...)
		err := p.waitHTTP(ready(port), 60*time.Second)
		if err == nil {
			return p, port
		}
		last = err
		if !errors.Is(err, errExited) {
			break
		}
		tb.Logf("%s exited early, retrying on another port:\n%s", name, p.out.Tail(2048))
	}
	tb.Fatalf("start %s: %v", name, last)
	return nil, 0
}
