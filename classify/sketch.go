package classify

import "math"

// A quantile rule decides exactly and estimates the value it reports.
//
// The decision "the q-quantile is above X" needs no sketch: with n values of
// which b are at or below X, the nearest-rank quantile (the value of rank
// ceil(q*n)) is above X exactly when b < ceil(q*n). So every step of a
// quantile window counts its values and those above X.
//
// The value the derived event reports only matters when it is above X, so the
// sketch covers only values above X: aboveBuckets log-spaced buckets, four per
// doubling, from X to 64*X, and one for everything beyond, with the smallest
// and largest value. A value is reported as its bucket's geometric middle
// (within 9.1 % of the truth), clamped to the smallest and largest value (so
// it is exact when the values above X are all the same). Bucket counts are 16 bits and saturate; the exact
// counts above decide, the buckets only place the reported value.

const (
	bucketsPerDoubling = 4
	aboveDoublings     = 6
	aboveBuckets       = bucketsPerDoubling*aboveDoublings + 1 // the last: beyond 64*X
)

// aboveSketch holds the values above X of one step of a quantile window.
type aboveSketch struct {
	counts   [aboveBuckets]uint16
	min, max float32 // the smallest and largest value, rounded outwards; 0: none yet
}

// aboveBucket returns the bucket of v > x > 0.
func aboveBucket(v, x float64) int {
	i := int(math.Floor(math.Log2(v/x) * bucketsPerDoubling))
	return min(max(i, 0), aboveBuckets-1)
}

// add records v > x.
func (s *aboveSketch) add(v, x float64) {
	i := aboveBucket(v, x)
	if s.counts[i] < math.MaxUint16 {
		s.counts[i]++
	}
	lo, hi := float32(v), float32(v)
	if float64(lo) > v {
		lo = math.Nextafter32(lo, 0)
	}
	if float64(hi) < v {
		hi = math.Nextafter32(hi, math.MaxFloat32)
	}
	if s.max == 0 {
		s.min, s.max = lo, hi
		return
	}
	s.min, s.max = min(s.min, lo), max(s.max, hi)
}

// bucketValue returns the value reported for bucket i of threshold x.
func bucketValue(i int, x float64) float64 {
	return x * math.Exp2((float64(i)+0.5)/bucketsPerDoubling)
}

// quantileRank returns ceil(q*n), the nearest rank of the q-quantile of n
// values, at least 1; q*n a hair above a whole number (0.99*100 in floating
// point) counts as that number.
func quantileRank(q float64, n uint64) uint64 {
	x := q * float64(n)
	r := math.Ceil(x - x*1e-12)
	if r < 1 {
		return 1
	}
	return uint64(r)
}

// estimateAbove returns the value of rank j (1-based) among the values above
// x recorded in sketches, clamped to x and the largest value.
func estimateAbove(sketches []*aboveSketch, j uint64, x float64) float64 {
	var merged [aboveBuckets]uint64
	var top float64
	bottom := math.Inf(1)
	for _, s := range sketches {
		if s == nil || s.max == 0 {
			continue
		}
		for i, c := range s.counts {
			merged[i] += uint64(c)
		}
		top = max(top, float64(s.max))
		bottom = min(bottom, float64(s.min))
	}
	if top == 0 {
		return x
	}
	clamp := func(v float64) float64 { return min(max(v, bottom, x), top) }
	seen := uint64(0)
	for i, c := range merged {
		seen += c
		if seen >= j && c > 0 {
			if i == aboveBuckets-1 {
				return top
			}
			return clamp(bucketValue(i, x))
		}
	}
	return top
}
