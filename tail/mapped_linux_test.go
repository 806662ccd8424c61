//go:build linux

package tail

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/centra-cloud/cflogd/internal/testjournal"
)

// journalRSS sums the resident kB of this process's journal file mappings.
func journalRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	var sum int64
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 5 && bytes.Contains(f[0], []byte("-")) && !bytes.HasSuffix(f[0], []byte(":")) {
			in = len(f) >= 6 && isJournalPath(f[5])
			continue
		}
		if in && len(f) >= 2 && string(f[0]) == "Rss:" {
			n, _ := strconv.ParseInt(string(f[1]), 10, 64)
			sum += n
		}
	}
	return sum
}

func TestDropJournalPages(t *testing.T) {
	skipWithoutJournal(t)
	dir := t.TempDir()
	testjournal.Write(t, dir, "a.journal", followExport(0, 3000))
	r := startFollow(t, FollowOptions{Directory: dir, Units: []string{"chainfire.service"}, MaxMapped: -1})
	r.waitFor(t, 3000)
	before := journalRSS(t)
	if before == 0 {
		t.Fatal("no resident journal pages while following")
	}
	dropJournalPages()
	after := journalRSS(t)
	if after*4 > before {
		t.Errorf("journal pages resident: %d kB before, %d kB after dropping", before, after)
	}
	// The reader still works: the pages fault in again.
	testjournal.Write(t, dir, "b.journal", followExport(3000, 3010))
	if got := r.waitFor(t, 3010); len(got) != 3010 || got[3009] != "msg3009" {
		t.Errorf("after dropping pages: %d messages, last %q", len(got), got[len(got)-1])
	}
}
