package tail

import (
	"context"
	"os"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// BenchmarkReadJournal reads the benchmark corpus journal (see
// ../shared/bench/README.md) in CFLOGD_BENCH_JOURNAL_DIR with the two unit
// matches and reports entries per second.
func BenchmarkReadJournal(b *testing.B) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		b.Skip("CFLOGD_BENCH_JOURNAL_DIR not set (a directory of corpus journal files)")
	}
	for _, bc := range []struct {
		name     string
		parallel int
		noCursor bool
	}{
		{"threads=1", 1, false},
		{"threads=1/nocursor", 1, true},
		{"threads=2", 2, false},
		{"threads=2/nocursor", 2, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{Directory: dir, Units: []string{"chainfire.service", "flaredb.service"}, NoCursor: bc.noCursor, Parallel: bc.parallel}
			var n int
			for b.Loop() {
				n = 0
				err := ReadJournal(context.Background(), opts, func(batch []Entry) error {
					n += len(batch)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "entries")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// TestReadJournalCorpus checks on the benchmark corpus that reading on two
// threads gives the entries of reading on one, without falling back.
func TestReadJournalCorpus(t *testing.T) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		t.Skip("CFLOGD_BENCH_JOURNAL_DIR not set (a directory of corpus journal files)")
	}
	var sums [2]uint64
	var counts [2]int
	before := fallbacks.Load()
	for i, p := range []int{1, 2} {
		h := xxhash.New()
		opts := Options{Directory: dir, Units: []string{"chainfire.service", "flaredb.service"}, Parallel: p}
		err := ReadJournal(context.Background(), opts, func(batch []Entry) error {
			for _, e := range batch {
				h.WriteString(e.Cursor)
				h.WriteString(e.Unit)
				h.WriteString(e.Message)
			}
			counts[i] += len(batch)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = h.Sum64()
	}
	if sums[0] != sums[1] || counts[0] != counts[1] {
		t.Errorf("one thread: %d entries, hash %x; two: %d entries, hash %x", counts[0], sums[0], counts[1], sums[1])
	}
	if n := fallbacks.Load() - before; n != 0 {
		t.Errorf("%d fallbacks to one thread, want none on a journal in time order", n)
	}
}
