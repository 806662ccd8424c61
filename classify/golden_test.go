package classify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden classifies testdata/*.input (one message per line, as text
// input without --unit: the unit comes from the target; '#' lines are
// comments) with the shipped library and compares the events, one JSON
// object per line, with testdata/*.golden. The event's cursor names the
// input line. Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	c := New(builtin(t), Options{})
	inputs, err := filepath.Glob("testdata/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			sc := bufio.NewScanner(bytes.NewReader(data))
			base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				e := record.Entry{Message: line, Priority: record.NoPriority, Host: "node01", Time: base.Add(time.Duration(n) * time.Second),
					Cursor: fmt.Sprintf("%s:%d", filepath.Base(in), n)}
				ev, ok := c.Classify(&e)
				if !ok {
					continue
				}
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				out.Write(b)
				out.WriteByte('\n')
			}
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(out.String(), "\n")); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
