package testpeer

import (
	"syscall"
	"testing"
	"time"
)

// RestartableVictoriaLogs is a VictoriaLogs that a test stops and starts
// again on one port with one data directory, while a client keeps pushing
// to the same URL.
type RestartableVictoriaLogs struct {
	*VictoriaLogs
	port int
	dir  string
	p    *process
}

// StartRestartableVictoriaLogs starts victoria-logs on a free port with its
// storage in a temporary directory.
func StartRestartableVictoriaLogs(tb testing.TB) *RestartableVictoriaLogs {
	tb.Helper()
	v := &RestartableVictoriaLogs{port: FreePort(tb), dir: tb.TempDir()}
	v.Start(tb)
	return v
}

// Start starts the stopped server again and waits until it answers.
func (v *RestartableVictoriaLogs) Start(tb testing.TB) {
	tb.Helper()
	v.VictoriaLogs, v.p = startVictoriaLogsAt(tb, v.port, v.dir)
}

// Stop stops the server with SIGTERM and waits until it exited. It is not
// killed with SIGKILL: VictoriaLogs keeps the rows it acknowledged in
// memory for a few seconds (pushed, flushed for search, then killed with
// SIGKILL, 50 of 50 rows were gone after the restart), so a SIGKILL would
// lose what the client was told is stored, which no client can make up for.
func (v *RestartableVictoriaLogs) Stop(tb testing.TB) {
	tb.Helper()
	v.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.p.exited:
	case <-time.After(30 * time.Second):
		tb.Fatalf("victoria-logs did not exit within 30s of SIGTERM")
	}
}
