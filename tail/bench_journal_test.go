package tail

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/record"
	"github.com/cespare/xxhash/v2"
)

// BenchmarkReadJournal reads the benchmark corpus journal (scripts/gencorpus;
// see BENCHMARKS.md) in CFLOGD_BENCH_JOURNAL_DIR with the two unit
// matches and reports entries per second and the largest anonymous and
// file-backed (the mapped journal files) resident memory seen. Variants:
// with or without cursors, and with a
// simulated classifier that keeps fn busy for 730 ns per entry (1.37M
// lines/s per core, the prefiltered classifier measured before the engine).
func BenchmarkReadJournal(b *testing.B) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		b.Skip("CFLOGD_BENCH_JOURNAL_DIR not set (a directory of corpus journal files)")
	}
	for _, bc := range []struct {
		name     string
		noCursor bool
		work     time.Duration
	}{
		{"cursor", false, 0},
		{"nocursor", true, 0},
		{"cursor,work", false, 730 * time.Nanosecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{Directory: dir, Units: []string{"chainfire.service", "flaredb.service"}, NoCursor: bc.noCursor}
			var n, batches int
			var anon, file int64
			for b.Loop() {
				n = 0
				err := ReadJournal(context.Background(), opts, func(batch []record.Entry) error {
					n += len(batch)
					if batches++; batches%256 == 0 {
						a, f := rss(b)
						anon, file = max(anon, a), max(file, f)
					}
					if bc.work > 0 {
						spin(time.Duration(len(batch)) * bc.work)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "entries")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(anon)/(1<<20), "MiB-anon")
			b.ReportMetric(float64(file)/(1<<20), "MiB-file")
		})
	}
}

var spun uint64

// spin keeps the CPU busy for about d.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
		for range 100 {
			spun++
		}
	}
}

// rss returns RssAnon and RssFile of this process in bytes.
func rss(tb testing.TB) (anon, file int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "RssAnon":
			anon = kb << 10
		case "RssFile":
			file = kb << 10
		}
	}
	return anon, file
}

// TestReadJournalCorpus checks on the benchmark corpus that scan's native
// reader gives the entries sd-journal gives, without handing over.
func TestReadJournalCorpus(t *testing.T) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		t.Skip("CFLOGD_BENCH_JOURNAL_DIR not set (a directory of corpus journal files)")
	}
	var sums [2]uint64
	var counts [2]int
	for i, r := range []string{ReaderNative, ReaderSDJournal} {
		h := xxhash.New()
		opts := Options{Directory: dir, Units: []string{"chainfire.service", "flaredb.service"}, Reader: r,
			OnFallback: func(err error) { t.Errorf("native reader handed over to sd-journal: %v", err) }}
		err := ReadJournal(context.Background(), opts, func(batch []record.Entry) error {
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
		t.Errorf("native: %d entries, hash %x; sd-journal: %d entries, hash %x", counts[0], sums[0], counts[1], sums[1])
	}
}

// BenchmarkReadInput reads the text corpus (CFLOGD_CORPUS, as journalctl
// -o cat) and, when CFLOGD_BENCH_EXPORT names one, an export-format corpus
// (e.g. /tmp/corpus/export-min.txt) with the two units of
// BenchmarkReadJournal, and reports entries per second.
func BenchmarkReadInput(b *testing.B) {
	for _, bc := range []struct{ name, env string }{{"cat", "CFLOGD_CORPUS"}, {"export", "CFLOGD_BENCH_EXPORT"}} {
		b.Run(bc.name, func(b *testing.B) {
			path := os.Getenv(bc.env)
			if path == "" {
				b.Skipf("%s not set", bc.env)
			}
			var n int
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				n = 0
				err = ReadInput(context.Background(), f, InputOptions{Units: []string{"chainfire.service", "flaredb.service"}, Host: "node1"}, func(batch []record.Entry) error {
					n += len(batch)
					return nil
				})
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
