package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

func TestHostsPerSignature(t *testing.T) {
	r := New(Options{MinSeverity: record.Warning, Home: home})
	// node1 5 events, node2 4, …, node5 1; node6 only entries.
	for n := 1; n <= 6; n++ {
		host := fmt.Sprintf("node%d", n)
		for i := range 6 - n {
			e := ev(time.Duration(i)*time.Minute, "chainfire.election_timeout", record.Warning, "chainfire.service", "election timeout", nil)
			e.Host = host
			r.EntryOn(e.Time.Time, host)
			r.Add(&e)
		}
		r.EntryOn(t0, host)
	}
	if diff := cmp.Diff("node1 5, node2 4, node3 3, +2 more", r.sigs["chainfire.election_timeout"].hostList()); diff != "" {
		t.Errorf("hostList (-want +got):\n%s", diff)
	}
	var b strings.Builder
	if err := r.Render(&b, Header{}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"hosts    6: node1  6 entries  5 events\n            node2  5 entries  4 events\n",
		"            node6  1 entry    0 events\n",
		"         hosts    node1 5, node2 4, node3 3, +2 more\n",
		"21 entries read from 6 hosts",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
