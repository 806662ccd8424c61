package classify

import "testing"

func TestTemplate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Lease expired, id=1234567890123456", "Lease expired, id=<num>"},
		{"Clock skew detected, offset=350ms, peer=node2", "Clock skew detected, offset=<dur>, peer=node2"},
		{"Stepped down as leader, term=8, new_leader=node2", "Stepped down as leader, term=<num>, new_leader=node2"},
		{"WAL fsync took 350ms, threshold=100ms", "WAL fsync took <dur>, threshold=<dur>"},
		{"Failed to bind listener, addr=0.0.0.0:2379, error=Address already in use (os error 98)",
			"Failed to bind listener, addr=<addr>, error=Address already in use (os error <num>)"},
		{"Failed to send message, peer=node3:2380, error=Broken pipe (os error 32)",
			"Failed to send message, peer=<addr>, error=Broken pipe (os error <num>)"},
		{"dial [fd00::13]:2380 failed", "dial <addr> failed"},
		{"peer 10.0.0.12 is gone", "peer <ip> is gone"},
		{"Store is down, store_id=3, down_secs=120", "Store is down, store_id=<num>, down_secs=<num>"},
		{"thread 'tokio-runtime-worker' panicked at 'called `Option::unwrap()` on a `None` value', chainfire-raft/src/log.rs:412:17",
			"thread <str> panicked at <str>, <path>"},
		{`open "/var/lib/chainfire/LOCK": permission denied`, "open <str>: permission denied"},
		{"open /var/lib/chainfire/LOCK failed", "open <path> failed"},
		{"key=/registry/pods/default/web-1", "key=<path>"},
		{"request 3f1c2b9a-4d5e-4f60-a1b2-c3d4e5f60718 failed", "request <uuid> failed"},
		{"boot 3f1c2b9a4d5e4f60a1b2c3d4e5f60718", "boot <hex>"},
		{"ptr 0x7ffd1234", "ptr <hex>"},
		{"ttl=30s, took 1.5s", "ttl=<dur>, took <dur>"},
		{"approx_size=144MiB", "approx_size=<num>MiB"},
		{"offset -5 bytes", "offset <num> bytes"},
		{"don't panic", "don't panic"},
		{"and/or", "and/or"},
		{"node2 ext4 sha256 deadbeef", "node2 ext4 sha256 deadbeef"},
		{"version 1.2.3", "version <num>.<num>"},
		{"", ""},
		{"héllo 5 wörld", "héllo <num> wörld"},
		{"unterminated \"quote 5", "unterminated \"quote <num>"},
	}
	for _, tt := range tests {
		if got := Template(tt.in); got != tt.want {
			t.Errorf("Template(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestTemplateStable: a template is a fixed point (masking twice changes
// nothing) for the cases above that contain no placeholder-like text.
func TestTemplateStable(t *testing.T) {
	for _, l := range sampleLines {
		once := Template(l)
		if twice := Template(once); twice != once {
			t.Errorf("Template not idempotent on %q:\n once %q\ntwice %q", l, once, twice)
		}
	}
}
