//go:build unix

package classify

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) the process has used: the
// benchmarks report it next to wall time because the machines they run on
// are shared and wall time there measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
