package main

import (
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// series is one sample of a /metrics page.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// metricSet is a parsed /metrics page.
type metricSet []series

// parseMetrics parses the Prometheus text format with the Prometheus
// library's parser. A histogram becomes its name_bucket (with le),
// name_count and name_sum samples, as the text shows them. A page that does
// not parse gives the samples before the error (the soak reads a live page
// and goes on).
func parseMetrics(text string) metricSet {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, _ := p.TextToMetricFamilies(strings.NewReader(text))
	var out metricSet
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			add := func(name string, v float64, extra ...string) {
				ls := labels
				if len(extra) == 2 {
					ls = maps.Clone(labels)
					ls[extra[0]] = extra[1]
				}
				out = append(out, series{name: name, labels: ls, value: v})
			}
			switch {
			case m.Counter != nil:
				add(name, m.GetCounter().GetValue())
			case m.Gauge != nil:
				add(name, m.GetGauge().GetValue())
			case m.Untyped != nil:
				add(name, m.GetUntyped().GetValue())
			case m.Histogram != nil:
				h := m.GetHistogram()
				inf := false
				for _, b := range h.GetBucket() {
					le := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					if math.IsInf(b.GetUpperBound(), 1) {
						le, inf = "+Inf", true
					}
					add(name+"_bucket", float64(b.GetCumulativeCount()), "le", le)
				}
				if !inf {
					add(name+"_bucket", float64(h.GetSampleCount()), "le", "+Inf")
				}
				add(name+"_count", float64(h.GetSampleCount()))
				add(name+"_sum", h.GetSampleSum())
			}
		}
	}
	return out
}

// sum adds the values of the series called name whose labels contain every
// one of the given `label="value"` pairs.
func (m metricSet) sum(name string, pairs ...string) float64 {
	t := 0.0
	for _, s := range m {
		if s.name == name && hasPairs(s.labels, pairs) {
			t += s.value
		}
	}
	return t
}

// has reports whether a series called name exists.
func (m metricSet) has(name string) bool {
	for _, s := range m {
		if s.name == name {
			return true
		}
	}
	return false
}

// byLabel sums the series called name per value of label.
func (m metricSet) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m {
		if s.name == name {
			out[labelValue(s.labels, label)] += s.value
		}
	}
	return out
}

// hasPairs reports whether labels hold every `label="value"` pair.
func hasPairs(labels map[string]string, pairs []string) bool {
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		if got, ok := labels[k]; !ok || got != strings.Trim(v, `"`) {
			return false
		}
	}
	return true
}

// labelValue returns the value of label, "" if absent.
func labelValue(labels map[string]string, label string) string { return labels[label] }

// bucket is one cumulative histogram bucket.
type bucket struct {
	LE    float64 `json:"le"` // +Inf as math.Inf(1); JSON holds it as 1e308
	Count float64 `json:"n"`
}

// histogram returns the cumulative buckets of a histogram, in le order.
func (m metricSet) histogram(name string) []bucket {
	var out []bucket
	for _, s := range m {
		if s.name != name+"_bucket" {
			continue
		}
		le := labelValue(s.labels, "le")
		v := math.Inf(1)
		if le != "+Inf" {
			var err error
			if v, err = strconv.ParseFloat(le, 64); err != nil {
				continue
			}
		}
		out = append(out, bucket{LE: v, Count: s.value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LE < out[j].LE })
	return out
}

// inf is how +Inf is kept in the samples file (JSON has no infinity).
const inf = 1e308

// jsonBuckets replaces +Inf by inf for encoding.
func jsonBuckets(b []bucket) []bucket {
	out := make([]bucket, len(b))
	for i, x := range b {
		if math.IsInf(x.LE, 1) {
			x.LE = inf
		}
		out[i] = x
	}
	return out
}

// subBuckets returns a - b bucket by bucket (the observations between two
// scrapes); b may be nil.
func subBuckets(a, b []bucket) []bucket {
	out := make([]bucket, len(a))
	for i, x := range a {
		if i < len(b) && b[i].LE == x.LE {
			x.Count -= b[i].Count
		}
		out[i] = x
	}
	return out
}

// total is the count of the +Inf bucket.
func total(b []bucket) float64 {
	if len(b) == 0 {
		return 0
	}
	return b[len(b)-1].Count
}

// quantile estimates the q-quantile like Prometheus' histogram_quantile:
// linear within the bucket that holds it, the first bucket starting at 0,
// and the highest finite bound when it falls into +Inf. NaN without
// observations.
func quantile(q float64, b []bucket) float64 {
	n := total(b)
	if n == 0 {
		return math.NaN()
	}
	want := q * n
	prevLE, prevN := 0.0, 0.0
	for _, x := range b {
		if x.Count >= want {
			if x.LE >= inf {
				return prevLE
			}
			if x.Count == prevN {
				return x.LE
			}
			return prevLE + (x.LE-prevLE)*(want-prevN)/(x.Count-prevN)
		}
		prevLE, prevN = x.LE, x.Count
	}
	return prevLE
}

// within returns the share of observations at or below the bucket bound le
// (which must be a bucket bound), NaN without observations.
func within(le float64, b []bucket) float64 {
	n := total(b)
	if n == 0 {
		return math.NaN()
	}
	for _, x := range b {
		if x.LE == le {
			return x.Count / n
		}
	}
	return math.NaN()
}

// slope is the least-squares slope of y over x, NaN with fewer than two
// distinct x.
func slope(x, y []float64) float64 {
	if len(x) < 2 || len(x) != len(y) {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}
