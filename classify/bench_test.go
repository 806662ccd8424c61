package classify

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// corpusPath is the benchmark corpus: CFLOGD_CORPUS, else /tmp/corpus/corpus.txt.
func corpusPath() string {
	if p := os.Getenv("CFLOGD_CORPUS"); p != "" {
		return p
	}
	return "/tmp/corpus/corpus.txt"
}

// loadCorpus reads one message per line. Entries carry no unit, like text
// input without --unit: the unit is inferred from the target.
func loadCorpus(tb testing.TB) []record.Entry {
	tb.Helper()
	data, err := os.ReadFile(corpusPath())
	if err != nil {
		tb.Skipf("no corpus: %v (set CFLOGD_CORPUS)", err)
	}
	s := string(data)
	n := bytes.Count(data, []byte{'\n'})
	entries := make([]record.Entry, 0, n+1)
	t0 := time.Unix(1748736000, 0)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		line := s
		if i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		entries = append(entries, record.Entry{Message: line, Priority: record.NoPriority, Host: "node1", Time: t0})
	}
	return entries
}

// BenchmarkClassifyCorpus classifies the 2M-line benchmark corpus with the
// shipped library on one goroutine and reports lines/s: as shipped, and
// with the literal prefilter, the fast matcher (plain regexp instead) or
// both turned off, to show what each earns.
func BenchmarkClassifyCorpus(b *testing.B) {
	entries := loadCorpus(b)
	lib := builtin(b)
	for _, v := range []struct {
		name            string
		fast, prefilter bool
	}{{"shipped", true, true}, {"no-prefilter", true, false}, {"no-fastmatch", false, true}, {"neither", false, false}} {
		b.Run(v.name, func(b *testing.B) {
			classifyCorpus(b, newClassifier(lib, Options{}, v.fast, v.prefilter), entries)
		})
	}
}

func classifyCorpus(b *testing.B, c *Classifier, entries []record.Entry) {
	benchEntries(b, entries, c.Classify, "events")
}

// benchEntries calls f with every entry b.N times and reports lines/s and,
// as unit, how many f found per pass.
func benchEntries[R any](b *testing.B, entries []record.Entry, f func(*record.Entry) (R, bool), unit string) {
	b.ResetTimer()
	cpu0 := cpuTime()
	found := 0
	for range b.N {
		for i := range entries {
			if _, ok := f(&entries[i]); ok {
				found++
			}
		}
	}
	b.StopTimer()
	reportRate(b, len(entries)*b.N, cpuTime()-cpu0)
	b.ReportMetric(float64(found)/float64(b.N), unit)
}

// BenchmarkClassifySamples classifies the built-in sample lines (always
// available).
func BenchmarkClassifySamples(b *testing.B) {
	c := New(builtin(b), Options{})
	entries := make([]record.Entry, len(sampleLines))
	for i, l := range sampleLines {
		entries[i] = record.Entry{Message: l, Priority: record.NoPriority, Host: "node1"}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for i := range entries {
			c.Classify(&entries[i])
		}
	}
	b.StopTimer()
	reportRate(b, len(entries)*b.N, cpuTime()-cpu0)
}

// reportRate reports lines per second of wall time and of CPU time.
func reportRate(b *testing.B, lines int, cpu time.Duration) {
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
	if cpu > 0 {
		b.ReportMetric(float64(lines)/cpu.Seconds(), "lines/cpu-s")
	}
}
