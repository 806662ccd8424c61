package report

import (
	"strings"
	"time"
)

// fineBuckets is the resolution every signature's occurrences are counted
// at; the sparkline rebuckets them. Even, so that a timeline can double.
const fineBuckets = 240

// SparkBuckets is the number of characters of a sparkline.
const SparkBuckets = 24

// timeline maps timestamps to fineBuckets equal buckets shared by every
// signature of a report. A fixed timeline covers a window known in advance;
// an open one starts at the first timestamp and doubles its bucket width
// (merging bucket pairs of every histogram) whenever a timestamp falls
// outside, so memory stays fineBuckets counters per signature.
type timeline struct {
	start int64 // unix nanoseconds of bucket 0
	width int64 // nanoseconds per bucket, > 0
	init  bool
}

// histogram is one signature's occurrences on the report's timeline.
type histogram [fineBuckets]uint64

// newTimeline returns a timeline covering [since, until) when both are set,
// else an open one.
func newTimeline(since, until time.Time) timeline {
	if since.IsZero() || until.IsZero() || !until.After(since) {
		return timeline{}
	}
	span := timelineNS(until) - timelineNS(since)
	if span <= 0 {
		return timeline{}
	}
	return timeline{start: timelineNS(since), width: max(1, (span+fineBuckets-1)/fineBuckets), init: true}
}

// The timeline covers at most [timelineMin, timelineMax]; times outside
// count at the nearest end. This keeps every bucket computation within
// int64 (the span is under 2^62 ns, so fineBuckets*width stays under 2^63).
var (
	timelineMinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	timelineMaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timelineNS returns t in Unix nanoseconds, clamped to the timeline's range
// (t.UnixNano is undefined outside the years 1678-2262).
func timelineNS(t time.Time) int64 {
	switch {
	case t.Before(timelineMinTime):
		t = timelineMinTime
	case t.After(timelineMaxTime):
		t = timelineMaxTime
	}
	return t.UnixNano()
}

// index returns the bucket of t, first growing the timeline (and rescaling
// hists) until it covers t.
func (tl *timeline) index(t time.Time, hists func(func(*histogram))) int {
	ns := timelineNS(t)
	if !tl.init {
		const initialWidth = int64(time.Second)
		tl.start = ns - ns%initialWidth
		tl.width = initialWidth
		tl.init = true
	}
	// ns-start can exceed int64 when start went far back; as uint64 it is
	// exact whenever ns >= start.
	for ns < tl.start || (uint64(ns)-uint64(tl.start))/uint64(tl.width) >= fineBuckets {
		down := ns < tl.start
		hists(func(h *histogram) { h.double(down) })
		if down {
			tl.start -= fineBuckets * tl.width
		}
		tl.width *= 2
	}
	return int((uint64(ns) - uint64(tl.start)) / uint64(tl.width))
}

// double merges bucket pairs. The merged buckets go to the lower half when the
// timeline grows forward and to the upper half when it grows back in time.
func (h *histogram) double(down bool) {
	var out histogram
	base := 0
	if down {
		base = fineBuckets / 2
	}
	for i, c := range h {
		out[base+i/2] += c
	}
	*h = out
}

// rebucket spreads the histogram over n buckets covering [from, to]: each
// fine bucket goes wholly to the output bucket holding its middle (clamped to
// the first or last), so counts stay whole.
func (tl *timeline) rebucket(h *histogram, from, to time.Time, n int) []uint64 {
	out := make([]uint64, n)
	if !tl.init {
		return out
	}
	lo, hi := float64(timelineNS(from)), float64(timelineNS(to))
	span := hi - lo
	for i, c := range h {
		if c == 0 {
			continue
		}
		mid := float64(tl.start) + (float64(i)+0.5)*float64(tl.width)
		j := 0
		if span > 0 {
			j = int((mid - lo) / span * float64(n))
		}
		out[min(max(j, 0), n-1)] += c
	}
	return out
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws counts as block characters scaled to the largest count:
// an empty bucket is ▁, any occurrence at least ▂, the largest █.
func Sparkline(counts []uint64) string {
	var peak uint64
	for _, c := range counts {
		peak = max(peak, c)
	}
	var b strings.Builder
	for _, c := range counts {
		level := 0
		if c > 0 {
			// ceil(c*7/peak) in 1..7
			level = int((c*7 + peak - 1) / peak)
			if c > (1<<64-1)/7 { // avoid overflow for absurd counts
				level = int(float64(c) / float64(peak) * 7)
			}
			level = min(max(level, 1), 7)
		}
		b.WriteRune(sparkRunes[level])
	}
	return b.String()
}
