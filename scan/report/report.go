package report

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/record"
)

// UnclassifiedID is the signature whose events are also listed by template.
const UnclassifiedID = "service.unclassified"

// Bounds that keep a report's memory independent of the number of events.
const (
	templateCapacity = 1000 // distinct unclassified templates tracked
	stringCapacity   = 32   // distinct values tracked per string field
	intDistinctCap   = 64   // distinct values tracked per integer field
	unitsCap         = 8    // distinct units listed per signature
	sampleMaxBytes   = 4096 // a sample message is cut here before rendering
)

// Options configure a Report.
type Options struct {
	// Since and Until are the window asked for; zero means open on that side
	// (the table then spans the first to the last entry read).
	Since, Until time.Time
	// MinSeverity: events below it are counted but not reported.
	MinSeverity record.Severity
	// Home maps a signature's or rule's id to the one unit it is for
	// (patterns.Library.HomeUnits): the table names the units of its
	// events only when they are others.
	Home map[string]string
}

// Report aggregates a stream of events in bounded memory. It is not safe for
// concurrent use.
type Report struct {
	opts Options
	tl   timeline
	sigs map[string]*sigStats
	list []*sigStats // in order of first event, for rescaling histograms

	templates    *topK
	unclassified uint64

	entries               uint64
	firstEntry, lastEntry time.Time
	hosts                 hostTally // entries (EntryOn) and reported events per host

	bySeverity [record.Critical + 1]uint64 // reported events
	below      uint64                      // events under MinSeverity

	derived     []derivedRow // reported derived events, the first derivedCapacity
	derivedN    uint64       // reported derived events in all
	derivedRuns map[string]string

	life lifecycleTally // restarts, crashes and OOM kills per service
}

// derivedCapacity is how many derived events the table lists one by one.
const derivedCapacity = 100

// derivedRow is one derived event as the table lists it.
type derivedRow struct {
	at       time.Time
	severity record.Severity
	rule     string
	host     string
	summary  string
}

// New returns an empty report.
func New(opts Options) *Report {
	return &Report{
		opts:      opts,
		tl:        newTimeline(opts.Since, opts.Until),
		sigs:      make(map[string]*sigStats),
		templates: newTopK(templateCapacity),
	}
}

// Entry counts one entry read, at time t.
func (r *Report) Entry(t time.Time) {
	r.entries++
	if t.IsZero() {
		return
	}
	if r.firstEntry.IsZero() || t.Before(r.firstEntry) {
		r.firstEntry = t
	}
	if t.After(r.lastEntry) {
		r.lastEntry = t
	}
}

// Entries returns the number of entries counted.
func (r *Report) Entries() uint64 { return r.entries }

// Reportable reports whether an event of severity s is at or above the
// report's minimum severity.
func (r *Report) Reportable(s record.Severity) bool { return s >= r.opts.MinSeverity }

// Add aggregates one event. Unclassified events count towards the template
// list whatever their severity; every event below MinSeverity is otherwise
// only counted. Lifecycle events (unit.*) are also counted per service,
// whatever their severity. Derived events (rules over time) are listed one
// by one, the first derivedCapacity of them, above the signatures.
func (r *Report) Add(ev *record.Event) {
	r.life.add(ev)
	if r.Reportable(ev.Severity) {
		r.hosts.event(ev.Host)
	}
	if ev.Derived {
		r.addDerived(ev)
		return
	}
	if ev.Signature == UnclassifiedID {
		r.unclassified++
		tmpl, _ := ev.Fields["template"].(string)
		r.templates.add(ev.Unit, clip(cmp.Or(tmpl, ev.Message), sampleMaxBytes))
	}
	if !r.Reportable(ev.Severity) {
		r.below++
		return
	}
	if ev.Severity >= 0 && int(ev.Severity) < len(r.bySeverity) {
		r.bySeverity[ev.Severity]++
	}
	s := r.sigs[ev.Signature]
	if s == nil {
		s = &sigStats{id: ev.Signature, fields: make(map[string]*fieldStats)}
		r.sigs[ev.Signature] = s
		r.list = append(r.list, s)
	}
	s.add(ev)
	if t := ev.Time.Time; !t.IsZero() {
		i := r.tl.index(t, func(f func(*histogram)) {
			for _, s := range r.list {
				f(&s.hist)
			}
		})
		s.hist[i]++
	}
}

func (r *Report) addDerived(ev *record.Event) {
	if !r.Reportable(ev.Severity) {
		r.below++
		return
	}
	r.derivedN++
	if r.derivedRuns == nil {
		r.derivedRuns = map[string]string{}
	}
	if _, ok := r.derivedRuns[ev.Signature]; !ok && len(r.derivedRuns) < derivedCapacity {
		r.derivedRuns[strings.Clone(ev.Signature)] = strings.Clone(ev.Runbook)
	}
	if len(r.derived) < derivedCapacity {
		r.derived = append(r.derived, derivedRow{at: ev.Time.Time, severity: ev.Severity, rule: strings.Clone(ev.Signature),
			host: strings.Clone(ev.Host), summary: strings.Clone(clip(ev.Summary, sampleMaxBytes))})
	}
}

// sigStats is the aggregate of one signature's reported events.
type sigStats struct {
	id          string
	count       uint64
	bySeverity  [record.Critical + 1]uint64
	maxSeverity record.Severity
	first, last time.Time
	hist        histogram
	sample      string
	runbook     string
	units       []string
	moreUnits   bool
	hosts       *topK // events per host
	fields      map[string]*fieldStats
}

func (s *sigStats) add(ev *record.Event) {
	s.count++
	if ev.Severity >= 0 && int(ev.Severity) < len(s.bySeverity) {
		s.bySeverity[ev.Severity]++
	}
	if s.count == 1 || ev.Severity > s.maxSeverity {
		s.maxSeverity = ev.Severity
		// Clone: the event's strings may share memory with the reader's batch.
		s.sample = strings.Clone(clip(ev.Message, sampleMaxBytes))
		s.runbook = strings.Clone(ev.Runbook)
	}
	if t := ev.Time.Time; !t.IsZero() {
		if s.first.IsZero() || t.Before(s.first) {
			s.first = t
		}
		if t.After(s.last) {
			s.last = t
		}
	}
	if ev.Host != "" {
		if s.hosts == nil {
			s.hosts = newTopK(sigHostsCap)
		}
		s.hosts.add("", ev.Host)
	}
	if ev.Unit != "" && !slices.Contains(s.units, ev.Unit) {
		if len(s.units) < unitsCap {
			s.units = append(s.units, strings.Clone(ev.Unit))
			slices.Sort(s.units)
		} else {
			s.moreUnits = true
		}
	}
	for name, v := range ev.Fields {
		if name == "template" {
			continue
		}
		f := s.fields[name]
		if f == nil {
			f = &fieldStats{name: name}
			s.fields[name] = f
		}
		f.add(v)
	}
}

// fieldStats summarises one field's values: numbers in milliseconds (and
// other fractional numbers) in a quantile sketch, integers as a range with
// their distinct values, strings as their most frequent values.
type fieldStats struct {
	name    string
	sketch  *Sketch
	ints    *intStats
	strings *topK
	nstr    uint64
}

type intStats struct {
	n        uint64
	min, max int64
	distinct map[int64]struct{}
	overflow bool // more than intDistinctCap distinct values
}

// add files one value; an event's fields are what classify gives: strings,
// int64 and float64 (derived events' are not summarised).
func (f *fieldStats) add(v any) {
	switch v := v.(type) {
	case string:
		f.addString(v)
	case int64:
		f.addNumber(float64(v), v, true)
	case float64:
		whole := v == math.Trunc(v) && math.Abs(v) < 1<<53
		f.addNumber(v, int64(v), whole)
	}
}

func (f *fieldStats) addString(v string) {
	if f.strings == nil {
		f.strings = newTopK(stringCapacity)
	}
	f.nstr++
	f.strings.add("", clip(v, 256))
}

// addNumber files x under the sketch for *_ms fields and fractional values,
// else under the integer range.
func (f *fieldStats) addNumber(x float64, i int64, whole bool) {
	if strings.HasSuffix(f.name, "_ms") || !whole || f.sketch != nil {
		if f.sketch == nil {
			f.sketch = &Sketch{}
		}
		f.sketch.Add(x)
		return
	}
	s := f.ints
	if s == nil {
		s = &intStats{min: i, max: i, distinct: make(map[int64]struct{})}
		f.ints = s
	}
	s.n++
	s.min, s.max = min(s.min, i), max(s.max, i)
	if _, ok := s.distinct[i]; !ok {
		if len(s.distinct) < intDistinctCap {
			s.distinct[i] = struct{}{}
		} else {
			s.overflow = true
		}
	}
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}
