package classify

import "testing"

// BenchmarkMatchCorpus is BenchmarkClassifyCorpus with Match (what scan and
// the daemon call when rules over time are on): it also builds the fields of
// matches that do not fire, such as healthy "Handled ... request" lines.
func BenchmarkMatchCorpus(b *testing.B) {
	entries := loadCorpus(b)
	c := New(builtin(b), Options{})
	b.ResetTimer()
	cpu0 := cpuTime()
	matches := 0
	for range b.N {
		for i := range entries {
			if _, ok := c.Match(&entries[i]); ok {
				matches++
			}
		}
	}
	b.StopTimer()
	reportRate(b, len(entries)*b.N, cpuTime()-cpu0)
	b.ReportMetric(float64(matches)/float64(b.N), "matches")
}
