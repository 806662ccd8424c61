package main

import (
	"io"
	"os"
	"testing"
)

// BenchmarkScanJournal scans the benchmark journal directory
// (CFLOGD_BENCH_JOURNAL_DIR, e.g. /tmp/corpus/j from scripts/gencorpus; see BENCHMARKS.md)
// into a table and into JSON lines.
func BenchmarkScanJournal(b *testing.B) {
	dir := os.Getenv("CFLOGD_BENCH_JOURNAL_DIR")
	if dir == "" {
		b.Skip("set CFLOGD_BENCH_JOURNAL_DIR to a directory of journal files")
	}
	for _, output := range []string{"table", "jsonl"} {
		b.Run(output, func(b *testing.B) {
			for b.Loop() {
				a := newApp(nil, io.Discard, io.Discard)
				if code := a.main(b.Context(), []string{"scan", "--directory", dir, "--min-severity", "info", "--output", output}); code != exitOK {
					b.Fatalf("exit code %d", code)
				}
			}
		})
	}
}

// BenchmarkScanInput scans the text corpus (CFLOGD_CORPUS, e.g.
// /tmp/corpus/corpus.txt): reading text, classifying and aggregating.
func BenchmarkScanInput(b *testing.B) {
	path := os.Getenv("CFLOGD_CORPUS")
	if path == "" {
		b.Skip("set CFLOGD_CORPUS to a text file of log lines")
	}
	for b.Loop() {
		a := newApp(nil, io.Discard, io.Discard)
		a.hostname = "bench"
		if code := a.main(b.Context(), []string{"scan", "--input", path, "--min-severity", "info"}); code != exitOK {
			b.Fatalf("exit code %d", code)
		}
	}
}
