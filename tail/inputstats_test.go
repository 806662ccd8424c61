package tail

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestInputStats checks that ReadInput says what the input spans and how
// many entries it left out, by window and by unit.
func TestInputStats(t *testing.T) {
	in := []byte(`{"__REALTIME_TIMESTAMP":"1795687200000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":"a"}
{"__REALTIME_TIMESTAMP":"1795687260000000","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"b"}
{"__REALTIME_TIMESTAMP":"1795687270000000","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"c"}
{"__REALTIME_TIMESTAMP":"1795687320000000","SYSLOG_IDENTIFIER":"cron","MESSAGE":"d"}
{"__REALTIME_TIMESTAMP":"1795690800000000","_SYSTEMD_UNIT":"chainfire.service","MESSAGE":"e"}
`)
	var st InputStats
	got, _ := readInputAll(t, in, InputOptions{
		Units: []string{"chainfire.service"},
		Until: time.UnixMicro(1795687800000000),
		Stats: &st,
	})
	if len(got) != 1 {
		t.Errorf("%d entries, want 1", len(got))
	}
	want := InputStats{
		First: time.UnixMicro(1795687200000000), Last: time.UnixMicro(1795690800000000),
		OutsideWindow: 1, OtherUnits: 3, OtherUnitNames: map[string]int{"ssh.service": 2, "cron": 1},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}
