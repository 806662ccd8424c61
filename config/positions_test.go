package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPositions(t *testing.T) {
	text := `# comment
units = [
  "a.service", # inline comment with = sign
  "b.service",
]
"state_dir" = """
/var/lib/x
"""

[journal]
directory = "/x" # [not a table]

[[sink]]
type = "loki"
labels = { a = "1" }

[[sink]]
type = "webhook"
[sink.headers]
X-A = "b"
`
	want := map[string]int{
		"units": 2, "state_dir": 6, "journal": 10, "journal.directory": 11,
		"sink[0]": 13, "sink[0].type": 14, "sink[0].labels": 15,
		"sink[1]": 17, "sink[1].type": 18, "sink[1].headers": 19, "sink[1].headers.X-A": 20,
	}
	if diff := cmp.Diff(want, positions(text)); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	d := &decoder{pos: want}
	for key, line := range map[string]int{"sink[0].labels.a": 15, "sink[1].nope": 17, "journal.x": 10, "missing": 0} {
		if got := d.lineOf(key); got != line {
			t.Errorf("lineOf(%q) = %d, want %d", key, got, line)
		}
	}
}
