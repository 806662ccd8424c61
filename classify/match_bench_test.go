package classify

import "testing"

// BenchmarkMatchCorpus is BenchmarkClassifyCorpus with Match (what scan and
// the daemon call when rules over time are on): it also builds the fields of
// matches that do not fire, such as healthy "Handled ... request" lines.
func BenchmarkMatchCorpus(b *testing.B) {
	entries := loadCorpus(b)
	c := New(builtin(b), Options{})
	benchEntries(b, entries, c.Match, "matches")
}
