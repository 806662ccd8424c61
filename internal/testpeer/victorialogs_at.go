package testpeer

import "testing"

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a peer that starts later (StartVictoriaLogsAt).
func FreePort(tb testing.TB) int {
	tb.Helper()
	return freePort(tb)
}

// StartVictoriaLogsAt starts victoria-logs on a given port with its
// storage in dir, for tests where the peer is down at first or restarts
// with its data. It is killed in tb.Cleanup or by the returned stop.
func StartVictoriaLogsAt(tb testing.TB, port int, dir string) (v *VictoriaLogs, stop func()) {
	tb.Helper()
	v, p := startVictoriaLogsAt(tb, port, dir)
	return v, func() {
		p.cmd.Process.Kill()
		<-p.exited
	}
}
