package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const page = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 18
# TYPE cflogd_event_delivery_seconds histogram
cflogd_event_delivery_seconds_bucket{le="1"} 50
cflogd_event_delivery_seconds_bucket{le="0.5"} 10
cflogd_event_delivery_seconds_bucket{le="2"} 99
cflogd_event_delivery_seconds_bucket{le="+Inf"} 100
cflogd_event_delivery_seconds_sum 61.5
cflogd_event_delivery_seconds_count 100
cflogd_sink_sent_total{sink="loki",type="loki"} 7
cflogd_sink_sent_total{sink="webhook",type="webhook"} 3
cflogd_events_total{severity="error",signature="a.b"} 2
cflogd_events_total{severity="warning",signature="a.b"} 1
cflogd_events_total{severity="info",signature="c.d"} 4
`

func TestMetrics(t *testing.T) {
	m := parseMetrics(page)
	got := map[string]any{
		"goroutines": m.sum("go_goroutines"),
		"loki":       m.sum("cflogd_sink_sent_total", `sink="loki"`),
		"all sent":   m.sum("cflogd_sink_sent_total"),
		"by sig":     m.byLabel("cflogd_events_total", "signature"),
		"histogram":  m.histogram("cflogd_event_delivery_seconds"),
	}
	want := map[string]any{
		"goroutines": 18.0,
		"loki":       7.0,
		"all sent":   10.0,
		"by sig":     map[string]float64{"a.b": 3, "c.d": 4},
		"histogram":  []bucket{{0.5, 10}, {1, 50}, {2, 99}, {math.Inf(1), 100}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed metrics (-want +got):\n%s", diff)
	}
}

func TestQuantile(t *testing.T) {
	b := []bucket{{0.5, 10}, {1, 50}, {2, 99}, {inf, 100}}
	for _, tc := range []struct {
		name    string
		q, want float64
	}{
		{"in the first bucket", 0.05, 0.25},
		{"on a bound", 0.5, 1},
		{"interpolated", 0.745, 1.5},
		{"in +Inf: the highest finite bound", 0.999, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.q, b); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if got := within(2, b); got != 0.99 {
		t.Errorf("within(2) = %v, want 0.99", got)
	}
	if got := quantile(0.99, nil); !math.IsNaN(got) {
		t.Errorf("quantile without observations = %v, want NaN", got)
	}
}

func TestSlope(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"rising", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{"noisy but level", []float64{0, 1, 2, 3}, []float64{4, 6, 4, 6}, 0.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slope(tc.x, tc.y); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("slope = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompareEvents(t *testing.T) {
	dir := t.TempDir()
	scan := `{"signature":"a","cursor":"c1"}
{"signature":"a","cursor":"c2"}
{"signature":"b","cursor":"c3"}
{"signature":"r","cursor":"c3","derived":true}
`
	// c2 of a is missing, c1 of a twice, b's c9 was never expected.
	vl := "a\tc1\na\tc1\nb\tc3\nb\tc9\nr\tc3\n"
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d, err := compareEvents(write("scan.jsonl", scan), write("vl.tsv", vl))
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ Scan, VL, Missing, Extra, Dups, Derived int64 }
	got := map[string]counts{"total": {d.scan, d.vl, d.missing, d.extra, d.dups, d.derivedScan}}
	for s, c := range d.bySig {
		got[s] = counts{c.scan, c.vl, c.missing, c.extra, c.dups, 0}
	}
	want := map[string]counts{
		"total": {4, 5, 1, 1, 1, 1},
		"a":     {2, 2, 1, 0, 1, 0},
		"b":     {1, 2, 0, 1, 0, 0},
		"r":     {1, 1, 0, 0, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("comparison (-want +got):\n%s", diff)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestWindows(t *testing.T) {
	// 20 minutes sampled every minute; 1,000 deliveries a minute, all
	// within 1 s except in minutes 10-12, where 100 a minute took 2.5 s.
	var feed []sample
	var fast, slow float64
	for i := range 21 {
		feed = append(feed, sample{T: float64(60 * i), Alive: true, Scraped: true, UTime: int64(60 * i), STime: int64(30 * i),
			Load1: float64(i % 2), QueueDepth: float64(i), RSS: 1024 * int64(i),
			Buckets: []bucket{{1, fast}, {2, fast}, {2.5, fast + slow}, {inf, fast + slow}}})
		if i >= 10 && i < 12 {
			fast, slow = fast+900, slow+100
		} else {
			fast += 1000
		}
	}
	got := splitWindows(feed, 0, 5*time.Minute)
	// Each window spans 6 samples (its ends shared with the neighbours):
	// load 0,1,0,1,0,1; queue and RSS rise with the sample number.
	want := []windowStat{
		{at: 0, span: 300, n: 5000, p99: 0.99, share: 1, cpu: 1.5, load: 0.5, peak: 1, queue: 5, rss: 5},
		{at: 5 * time.Minute, span: 300, n: 5000, p99: 0.99, share: 1, cpu: 1.5, load: 0.5, peak: 1, queue: 10, rss: 10},
		// 4,800 within 2 s; the 4,950th lies 150 of 200 into (2, 2.5].
		{at: 10 * time.Minute, span: 300, n: 5000, p99: 2.375, share: 0.96, cpu: 1.5, load: 0.5, peak: 1, queue: 15, rss: 15},
		{at: 15 * time.Minute, span: 300, n: 5000, p99: 0.99, share: 1, cpu: 1.5, load: 0.5, peak: 1, queue: 20, rss: 20},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(windowStat{}), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
}
