package tail

import (
	"context"
	"os"
	"testing"
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
		noCursor bool
	}{{"cursor", false}, {"nocursor", true}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{Directory: dir, Units: []string{"chainfire.service", "flaredb.service"}, NoCursor: bc.noCursor}
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
