package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestSketchQuantiles(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"uniform 0-1000ms": func() float64 { return rnd.Float64() * 1000 },
		"lognormal":        func() float64 { return math.Exp(rnd.NormFloat64()*2 + 3) },
		"integers 1-600":   func() float64 { return float64(1 + rnd.IntN(600)) },
		"tiny µs values":   func() float64 { return 0.0001 + rnd.Float64()*0.01 },
		"wide range":       func() float64 { return math.Pow(10, rnd.Float64()*12-3) },
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var s Sketch
			vals := make([]float64, 20000)
			for i := range vals {
				vals[i] = gen()
				s.Add(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(vals, q)
				got := s.Quantile(q)
				if rel := math.Abs(got-want) / want; rel > 0.01 {
					t.Errorf("Quantile(%v) = %v, want %v (relative error %.4f > 1%%)", q, got, want, rel)
				}
			}
			if s.Min() != vals[0] || s.Max() != vals[len(vals)-1] {
				t.Errorf("min/max = %v/%v, want %v/%v", s.Min(), s.Max(), vals[0], vals[len(vals)-1])
			}
			if s.Count() != uint64(len(vals)) {
				t.Errorf("Count = %d, want %d", s.Count(), len(vals))
			}
		})
	}
}

func TestSketchEdges(t *testing.T) {
	var empty Sketch
	if got := empty.Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
	tests := []struct {
		name   string
		values []float64
		q      float64
		want   float64
	}{
		{"single", []float64{2000}, 0.5, 2000},
		{"single p99", []float64{15}, 0.99, 15},
		{"zeros", []float64{0, 0, 0, 5}, 0.5, 0},
		{"zero then large", []float64{0, 5}, 1, 5},
		{"ignores NaN and Inf", []float64{math.NaN(), 7, math.Inf(1), math.Inf(-1)}, 0.5, 7},
		{"huge clamped to max", []float64{1e30, 1e30}, 0.5, 1e30},
		{"two values", []float64{100, 500}, 0.5, 100},
		{"two values p99", []float64{100, 500}, 0.99, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Sketch
			for _, v := range tt.values {
				s.Add(v)
			}
			got := s.Quantile(tt.q)
			if math.Abs(got-tt.want) > tt.want*0.01 {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestSketchBounded(t *testing.T) {
	var s Sketch
	for _, v := range []float64{1e-300, 1e-12, 1e-9, 1, 1e9, 1e19, 1e300, math.MaxFloat64} {
		s.Add(v)
	}
	if max := (maxExp - minExp + 1) * subBuckets; len(s.counts) > max {
		t.Errorf("len(counts) = %d, want at most %d", len(s.counts), max)
	}
	if s.Max() != math.MaxFloat64 {
		t.Errorf("Max = %v", s.Max())
	}
	if got := s.Quantile(1); got != math.MaxFloat64 {
		t.Errorf("Quantile(1) = %v, want MaxFloat64", got)
	}
}

func BenchmarkSketchAdd(b *testing.B) {
	var s Sketch
	for i := 0; b.Loop(); i++ {
		s.Add(float64(i%5000) + 0.5)
	}
}

func TestSketchExactWhenSmall(t *testing.T) {
	var s Sketch
	for _, v := range []float64{2000, 500, 1500} {
		s.Add(v)
	}
	got := []float64{s.Quantile(0.5), s.Quantile(0.99), s.Quantile(0)}
	want := []float64{1500, 2000, 500}
	if !slices.Equal(got, want) {
		t.Errorf("quantiles = %v, want %v", got, want)
	}
	for i := range exactValues {
		s.Add(float64(i))
	}
	if s.exact != nil {
		t.Errorf("exact values kept beyond %d", exactValues)
	}
}
