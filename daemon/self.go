package daemon

import (
	"os"
	"strings"

	"github.com/centra-cloud/cflogd/record"
)

// cflogd's own identity, so that its own log lines are not classified.

// selfID identifies cflogd's own entries.
type selfID struct {
	pid  int
	boot string
	unit string
}

// isSelf reports whether an entry is cflogd's own log line.
func (d *Daemon) isSelf(e *record.Entry) bool {
	if d.self.unit != "" && e.Unit == d.self.unit {
		return true
	}
	return e.PID == d.self.pid && d.self.boot != "" && e.BootID == d.self.boot && e.Host == d.hostname
}

// ownIdentity finds cflogd's PID, boot ID and systemd unit.
func ownIdentity() selfID {
	id := selfID{pid: os.Getpid()}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id.boot = strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		id.unit = unitOfCgroup(string(b))
	}
	return id
}

// unitOfCgroup returns the .service unit a /proc/self/cgroup places the
// process in, or "".
func unitOfCgroup(s string) string {
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, seg := range strings.Split(parts[2], "/") {
			if strings.HasSuffix(seg, ".service") && !strings.HasPrefix(seg, "user@") {
				return seg
			}
		}
	}
	return ""
}
