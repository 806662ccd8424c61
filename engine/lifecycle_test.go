package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

// lifecycleCase is one line of testdata/lifecycle/expected.jsonl: an entry
// of lifecycle.export (systemd 252's and the kernel's messages about the
// services, and the same about other units) and the event it must give.
type lifecycleCase struct {
	N         int            `json:"n"`
	Host      string         `json:"host"`
	Realtime  int64          `json:"realtime_usec"`
	Unit      string         `json:"unit"`
	Signature string         `json:"signature"`
	Severity  string         `json:"severity"`
	Fields    map[string]any `json:"fields"`
	Message   string         `json:"message"`
}

// derivedCase is one line of testdata/lifecycle/derived.jsonl.
type derivedCase struct {
	Host      string `json:"host"`
	Unit      string `json:"unit"`
	Signature string `json:"signature"`
	Severity  string `json:"severity"`
	Realtime  int64  `json:"realtime_usec"`
	Fires     bool   `json:"fires"`
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// caseKey finds an entry's case: its host, time and message.
func caseKey(host string, usec int64, msg string) string {
	return fmt.Sprintf("%s %d %s", host, usec, msg)
}

// TestLifecycle reads the lifecycle fixture as scan and run do (the
// journal readers match what journalctl -u shows, and the kernel's OOM
// lines) and checks every event, every entry that must give none, and the
// crash loop: fired where three unclean exits fall within ten minutes,
// quiet where the third comes a second too late.
func TestLifecycle(t *testing.T) {
	lib := library(t)
	cases := readJSONL[lifecycleCase](t, "../testdata/lifecycle/expected.jsonl")
	byKey := map[string]lifecycleCase{}
	for _, c := range cases {
		byKey[caseKey(c.Host, c.Realtime, c.Message)] = c
	}
	reads := readEntries(t, "../testdata/lifecycle/lifecycle.export", lib.Services.Units(), tail.FieldSelect{Journal: lib.JournalFields()})
	for how, entries := range reads {
		t.Run(how, func(t *testing.T) {
			e := New(lib, Options{})
			seen := map[int]bool{}
			var derived []record.Event
			for _, en := range entries {
				msg, _, _ := strings.Cut(en.Message, "\n")
				c, ok := byKey[caseKey(en.Host, en.Time.UnixMicro(), msg)]
				if !ok {
					c, ok = byKey[caseKey(en.Host, en.Time.UnixMicro(), en.Message)]
				}
				if !ok {
					t.Errorf("read an entry the fixture does not list: %s %s %s %q", en.Host, en.Time.Format(time.RFC3339), en.Unit, en.Message)
					continue
				}
				seen[c.N] = true
				evs := e.Process([]record.Entry{en}, nil)
				for _, ev := range evs {
					if ev.Derived {
						derived = append(derived, ev)
					}
				}
				if diff := verdictDiff(evs, c.Signature, c.Severity, c.Unit, c.Fields); diff != "" {
					t.Errorf("entry %d (%s, %q):\n%s", c.N, en.Unit, en.Message, diff)
				}
			}
			for _, c := range cases {
				if c.Signature != "" && !seen[c.N] {
					t.Errorf("entry %d (%s %s: %q) was not read; it gives %s", c.N, c.Host, c.Unit, c.Message, c.Signature)
				}
			}
			t.Logf("%d entries read, %d of the fixture's %d seen, %d derived", len(entries), len(seen), len(cases), len(derived))
			type fired struct{ Host, Unit, Signature, Severity string }
			var want, got []fired
			for _, d := range readJSONL[derivedCase](t, "../testdata/lifecycle/derived.jsonl") {
				if d.Fires {
					want = append(want, fired{d.Host, d.Unit, d.Signature, d.Severity})
				}
			}
			for _, ev := range derived {
				if strings.HasPrefix(ev.Signature, "unit.") {
					got = append(got, fired{ev.Host, ev.Unit, ev.Signature, ev.Severity.String()})
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("derived events (-want +got):\n%s", diff)
			}
		})
	}
}
