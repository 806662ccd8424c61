package main

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// series is one line of the Prometheus text exposition.
type series struct {
	name   string
	labels string // the text between the braces, empty without labels
	value  float64
}

// metricSet is a parsed /metrics page.
type metricSet []series

// parseMetrics parses the Prometheus text format as client_golang writes
// it: comments, then `name{labels} value` or `name value` lines.
func parseMetrics(text string) metricSet {
	var out metricSet
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		key := strings.TrimSpace(line[:sp])
		s := series{name: key, value: v}
		if i := strings.IndexByte(key, '{'); i >= 0 && strings.HasSuffix(key, "}") {
			s.name, s.labels = key[:i], key[i+1:len(key)-1]
		}
		out = append(out, s)
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

func hasPairs(labels string, pairs []string) bool {
	for _, p := range pairs {
		found := false
		for l := range strings.SplitSeq(labels, ",") {
			if strings.TrimSpace(l) == p {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// labelValue returns the value of label in a label list, "" if absent.
// Values with commas or escaped quotes do not occur in cflogd's metrics'
// labels that soak reads (le, sink, signature, unit).
func labelValue(labels, label string) string {
	for l := range strings.SplitSeq(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && k == label {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

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
