package report

import (
	"math"
	"slices"
)

// subBuckets is the number of linear sub-buckets per power of two. A value is
// reported as the middle of its bucket, so the relative error of a quantile is
// at most 1/(2*subBuckets*0.5) = 1/subBuckets / 2, about 0.8 %.
const subBuckets = 64

// The exponent range the sketch resolves; smaller positive values count as
// zero, larger ones fall in the top bucket (max stays exact). This bounds a
// sketch to (maxExp-minExp)*subBuckets counters (about 48 KiB).
const (
	minExp = -30 // 2^-31 ≈ 4.7e-10
	maxExp = 64  // 2^64 ≈ 1.8e19
)

// exactValues is how many values a sketch keeps as they are: quantiles of
// up to that many values are exact, which is what a person reading "p50 1500"
// for three stalls expects.
const exactValues = 64

// Sketch estimates quantiles of a stream of non-negative numbers in bounded
// memory: a log-linear histogram (as HdrHistogram) whose buckets are 1/64 of a
// power of two wide. Min, max and count are exact, and so are the
// quantiles of the first exactValues values.
type Sketch struct {
	exact  []float64 // the values, while n <= exactValues
	counts []uint64  // counts[i] is the bucket of key offset+i
	offset int
	zero   uint64 // values <= 0 or below 2^minExp
	n      uint64
	min    float64
	max    float64
}

// Add records v. NaN and infinities are ignored.
func (s *Sketch) Add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n++
	if s.n <= exactValues {
		s.exact = append(s.exact, v)
	} else {
		s.exact = nil
	}
	if v <= 0 {
		s.zero++
		return
	}
	k, ok := sketchKey(v)
	if !ok {
		s.zero++
		return
	}
	switch {
	case len(s.counts) == 0:
		s.offset = k
		s.counts = make([]uint64, 1, 16)
	case k < s.offset:
		grown := make([]uint64, len(s.counts)+s.offset-k)
		copy(grown[s.offset-k:], s.counts)
		s.counts, s.offset = grown, k
	case k-s.offset >= len(s.counts):
		s.counts = append(s.counts, make([]uint64, k-s.offset-len(s.counts)+1)...)
	}
	s.counts[k-s.offset]++
}

// sketchKey returns the bucket key of v > 0; false when v is too small to
// resolve.
func sketchKey(v float64) (int, bool) {
	frac, exp := math.Frexp(v) // v = frac * 2^exp, frac in [0.5, 1)
	if exp < minExp {
		return 0, false
	}
	if exp > maxExp {
		exp, frac = maxExp, math.Nextafter(1, 0)
	}
	return exp*subBuckets + int((frac-0.5)*2*subBuckets), true
}

// sketchValue returns the middle of bucket k.
func sketchValue(k int) float64 {
	exp := k / subBuckets
	sub := k % subBuckets
	if sub < 0 {
		sub += subBuckets
		exp--
	}
	lo := math.Ldexp(0.5+float64(sub)/(2*subBuckets), exp)
	hi := math.Ldexp(0.5+float64(sub+1)/(2*subBuckets), exp)
	return (lo + hi) / 2
}

// Count returns how many values were added.
func (s *Sketch) Count() uint64 { return s.n }

// Min returns the smallest value added (0 when empty).
func (s *Sketch) Min() float64 { return s.min }

// Max returns the largest value added (0 when empty).
func (s *Sketch) Max() float64 { return s.max }

// Quantile returns an estimate of the q-quantile (0 <= q <= 1) by the nearest
// rank: the smallest value with at least q of the values at or below it. The
// estimate is within 1 % of that value and within [Min, Max].
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	if rank < 1 {
		rank = 1
	}
	if rank >= s.n {
		return s.max
	}
	if s.exact != nil {
		sorted := slices.Clone(s.exact)
		slices.Sort(sorted)
		return sorted[rank-1]
	}
	clamp := func(v float64) float64 { return math.Min(math.Max(v, s.min), s.max) }
	seen := s.zero
	if seen >= rank {
		return clamp(0)
	}
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return clamp(sketchValue(s.offset + i))
		}
	}
	return s.max
}
