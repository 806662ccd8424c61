package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The soak's targets.
const (
	// rssSlopeLimit is the largest RSS growth after the warm-up that counts
	// as flat, in MiB per hour.
	rssSlopeLimit = 5.0
	// rssRiseLimit applies instead when the fit window is shorter than
	// slopeMinWindow: such a run cannot resolve a few MiB/h (the Go heap's
	// sawtooth and the journal pages move RSS by MiB within seconds), so
	// it only catches gross leaks: the fitted rise across the window must
	// stay below this many MiB.
	rssRiseLimit   = 8.0
	slopeMinWindow = 30 * time.Minute
	// goroutineGrowthLimit is how many goroutines the end of the run may
	// have over the start of the fit window (medians of 5 samples each).
	goroutineGrowthLimit = 10
	// p99Limit is the delivery latency 99% of events must beat (a bucket
	// bound of cflogd_event_delivery_seconds, so the test is exact).
	p99Limit = 2.0
	// feedShare is the least share of the asked rate the feeder must reach
	// for the run to count.
	feedShare = 0.9
	// userHZ is the unit of utime and stime in /proc/PID/stat.
	userHZ = 100
)

// check is one line of the verdict.
type check struct {
	name, measured, target string
	pass                   bool
}

type reportOpts struct {
	samples, dir, scan, feedLog, out string
	feedStart, feedEnd               float64
	rate                             int
	duration, warmup                 time.Duration
	corpus, command, commit          string
	daemonExit                       int
}

func reportMain(args []string, stdout io.Writer) (bool, error) {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	var o reportOpts
	fs.StringVar(&o.samples, "samples", "", "the samples `file` of soak watch")
	fs.StringVar(&o.dir, "dir", "", "the `directory` soak finish wrote")
	fs.StringVar(&o.scan, "scan", "", "`cflogd scan --output jsonl --min-severity info` over the journal, as a file")
	fs.StringVar(&o.feedLog, "feed-log", "", "benchfeed's stderr")
	fs.StringVar(&o.out, "out", "", "also write the Markdown summary to `file`")
	fs.Float64Var(&o.feedStart, "feed-start", 0, "Unix time the feed started")
	fs.Float64Var(&o.feedEnd, "feed-end", 0, "Unix time the feed ended")
	fs.IntVar(&o.rate, "rate", 5000, "entries per second asked of the feeder")
	fs.DurationVar(&o.duration, "duration", time.Hour, "the feed's duration")
	fs.DurationVar(&o.warmup, "warmup", 0, "leave this much of the start out of the RSS and goroutine fits (default: a quarter of the run, 30s to 10m)")
	fs.StringVar(&o.corpus, "corpus", "", "what was fed, for the summary")
	fs.StringVar(&o.command, "command", "scripts/soak.sh", "the command, for the summary")
	fs.StringVar(&o.commit, "commit", "", "the commit, for the summary")
	fs.IntVar(&o.daemonExit, "daemon-exit", -1, "the daemon's exit status after SIGTERM")
	fs.Parse(args)
	if o.warmup == 0 {
		o.warmup = min(max(o.duration/4, 30*time.Second), 10*time.Minute)
	}
	text, pass, err := report(o)
	if err != nil {
		return false, err
	}
	fmt.Fprint(stdout, text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return false, err
		}
	}
	return pass, nil
}

func report(o reportOpts) (string, bool, error) {
	all, err := readSamples(o.samples)
	if err != nil {
		return "", false, err
	}
	var feed []sample // samples taken while the journal grew
	for _, s := range all {
		if s.T >= o.feedStart && s.T <= o.feedEnd {
			feed = append(feed, s)
		}
	}
	if len(feed) < 3 {
		return "", false, fmt.Errorf("only %d samples during the feed", len(feed))
	}
	var st finishState
	if err := readJSON(filepath.Join(o.dir, finishFile), &st); err != nil {
		return "", false, err
	}
	var hook hookCounts
	if err := readJSON(filepath.Join(o.dir, hookFile), &hook); err != nil {
		return "", false, err
	}
	mtext, err := os.ReadFile(filepath.Join(o.dir, metricsFile))
	if err != nil {
		return "", false, err
	}
	final := parseMetrics(string(mtext))

	var checks []check
	var notes []string
	feedSecs := o.feedEnd - o.feedStart
	fitFrom := o.feedStart + o.warmup.Seconds()

	// Feed.
	fed, fedRate := feedFigures(o.feedLog)
	checks = append(checks, check{"feed",
		fmt.Sprintf("%s entries in %s (%s/s)", thousands(fed), (time.Duration(feedSecs) * time.Second).String(), thousands(int64(math.Round(fedRate)))),
		fmt.Sprintf("≥ %.0f%% of %s/s", feedShare*100, thousands(int64(o.rate))),
		fedRate >= feedShare*float64(o.rate)})

	// RSS after the warm-up.
	var hx, rss, anon, file, heap []float64
	var rssAll []float64
	for _, s := range feed {
		if !s.Alive {
			continue
		}
		rssAll = append(rssAll, mib(s.RSS))
		if s.T >= fitFrom {
			h := (s.T - o.feedStart) / 3600
			hx = append(hx, h)
			rss = append(rss, mib(s.RSS))
			anon = append(anon, mib(s.Anon))
			file = append(file, mib(s.File))
			if s.Scraped {
				heap = append(heap, s.HeapInuse/(1<<20))
			}
		}
	}
	if len(hx) < 3 {
		return "", false, fmt.Errorf("only %d samples after the warm-up of %v", len(hx), o.warmup)
	}
	fitHours := hx[len(hx)-1] - hx[0]
	rssSlope := slope(hx, rss)
	rise := rssSlope * fitHours
	rssTarget := fmt.Sprintf("slope < %g MiB/h", rssSlopeLimit)
	rssPass := rssSlope < rssSlopeLimit
	if time.Duration(fitHours*float64(time.Hour)) < slopeMinWindow {
		rssTarget = fmt.Sprintf("fitted rise < %g MiB (fit window < %v: too short for %g MiB/h)", rssRiseLimit, slopeMinWindow, rssSlopeLimit)
		rssPass = rise < rssRiseLimit
	}
	checks = append(checks, check{"RSS (VmRSS)",
		fmt.Sprintf("slope %+.2f MiB/h (rise %+.1f MiB) over %s after a %v warm-up; at start %.1f, after warm-up %.1f, end %.1f, max %.1f MiB",
			rssSlope, rise, hoursText(fitHours), o.warmup, rssAll[0], rss[0], rss[len(rss)-1], slices.Max(rssAll)),
		rssTarget, rssPass})
	heapSlope := math.NaN()
	if len(heap) == len(hx) {
		heapSlope = slope(hx, heap)
	}
	notes = append(notes, fmt.Sprintf("Memory after the warm-up: anonymous %+.2f MiB/h (%.1f → %.1f MiB), file-backed journal pages %+.2f MiB/h (%.1f → %.1f MiB, max %.1f), Go heap in use %+.2f MiB/h.",
		slope(hx, anon), anon[0], anon[len(anon)-1], slope(hx, file), file[0], file[len(file)-1], slices.Max(file), heapSlope))

	// Goroutines.
	var gAll, gFit []float64
	for _, s := range feed {
		if s.Scraped {
			gAll = append(gAll, s.Goroutines)
			if s.T >= fitFrom {
				gFit = append(gFit, s.Goroutines)
			}
		}
	}
	if len(gFit) < 2 {
		return "", false, fmt.Errorf("only %d metrics scrapes after the warm-up", len(gFit))
	}
	gRef, gEnd := median(head(gFit, 5)), median(tail(gFit, 5))
	checks = append(checks, check{"goroutines",
		fmt.Sprintf("first %.0f, after warm-up %.0f, last %.0f, max %.0f (medians of 5 samples: %.0f → %.0f)",
			gAll[0], gFit[0], gAll[len(gAll)-1], slices.Max(gAll), gRef, gEnd),
		fmt.Sprintf("end − after warm-up ≤ %d", goroutineGrowthLimit),
		gEnd-gRef <= goroutineGrowthLimit})

	// Delivery latency: the whole run from the final histogram, and, for
	// runs of 10 minutes or more, every 5-minute window from the samples.
	hist := final.histogram("cflogd_event_delivery_seconds")
	share := within(p99Limit, hist)
	lat := fmt.Sprintf("p99 %.2f s, p50 %.2f s over %s events (%.2f%% within %g s)",
		quantile(0.99, hist), quantile(0.5, hist), thousands(int64(total(hist))), share*100, p99Limit)
	latPass := share >= 0.99
	// Runs of 10 minutes or more are also shown per 5 minutes: a latency
	// or memory that creeps up shows there, and a window slowed by the
	// machine's other work shows its load. The verdict is the whole run's.
	var ws []windowStat
	if feedSecs >= 600 {
		ws = splitWindows(feed, o.feedStart, 5*time.Minute)
	}
	if len(ws) > 1 {
		worst := ws[0]
		for _, w := range ws {
			if w.share < worst.share {
				worst = w
			}
		}
		lat += fmt.Sprintf("; per 5 minutes p99 %.2f s first, %.2f s last, worst %.2f s at +%v (load average %.1f there)",
			ws[0].p99, ws[len(ws)-1].p99, worst.p99, worst.at, worst.load)
	}
	checks = append(checks, check{"delivery latency (journal → VictoriaLogs)", lat,
		fmt.Sprintf("p99 < %g s over the run (≥ 99%% in the ≤ %g s buckets)", p99Limit, p99Limit), latPass})

	// Delivered against expected.
	d, err := compareEvents(o.scan, filepath.Join(o.dir, vlFile))
	if err != nil {
		return "", false, err
	}
	dropped := final.sum("cflogd_sink_dropped_total", `sink="loki"`)
	checks = append(checks, check{"delivered",
		fmt.Sprintf("%s at VictoriaLogs, %s expected (`cflogd scan` of the same journal afterwards), per signature and cursor: %d missing, %d extra, %d duplicates; %s derived events on both sides; Loki sink dropped %.0f",
			thousands(d.vl), thousands(d.scan), d.missing, d.extra, d.dups, thousands(d.derivedScan), dropped),
		"equal, per signature and cursor",
		d.scan > 0 && d.vl == d.scan && d.missing == 0 && d.extra == 0 && d.dups == 0 && d.badRow == 0 && dropped == 0})

	// Webhook.
	whSent := final.sum("cflogd_sink_sent_total", `sink="webhook"`)
	whFailed := final.sum("cflogd_sink_failed_total", `sink="webhook"`)
	whDropped := final.sum("cflogd_sink_dropped_total", `sink="webhook"`)
	notifs := final.sum("cflogd_notifications_total", `sink="webhook"`, `result="sent"`)
	checks = append(checks, check{"webhook",
		fmt.Sprintf("%s notifications (%s POSTs) with %s events received; the sink counted %s events sent, %.0f failed requests, %.0f dropped; %d bad bodies",
			thousands(int64(notifs)), thousands(hook.Posts), thousands(hook.Events), thousands(int64(whSent)), whFailed, whDropped, hook.Bad),
		"received = sent > 0, no failures",
		hook.Events > 0 && float64(hook.Events) == whSent && whFailed == 0 && whDropped == 0 && hook.Bad == 0})

	// The daemon itself.
	dead := 0
	for _, s := range feed {
		if !s.Alive {
			dead++
		}
	}
	checks = append(checks, check{"daemon",
		fmt.Sprintf("alive in %d of %d samples; caught up %.1f s after the feed ended (drained %v); exit status %d on SIGTERM",
			len(feed)-dead, len(feed), st.DrainSeconds, st.Drained, o.daemonExit),
		"alive, drained, exit 0", dead == 0 && st.Drained && o.daemonExit == 0})

	// CPU over the feed.
	first, last := firstAlive(feed), lastAlive(feed)
	dt := last.T - first.T
	user := float64(last.UTime-first.UTime) / userHZ / dt * 100
	sys := float64(last.STime-first.STime) / userHZ / dt * 100
	notes = slices.Insert(notes, 0, fmt.Sprintf("CPU: %.2f%% of one core on average over %s (user %.2f%%, system %.2f%%).",
		user+sys, hoursText(dt/3600), user, sys))

	pass := true
	for _, c := range checks {
		pass = pass && c.pass
	}
	var b strings.Builder
	verdict := map[bool]string{true: "PASS", false: "FAIL"}
	fmt.Fprintf(&b, "### Soak: %v at %s entries/s, %s (%s)\n\n", o.duration, thousands(int64(o.rate)), verdict[pass],
		time.Unix(int64(o.feedStart), 0).UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "`%s`", o.command)
	if o.commit != "" {
		fmt.Fprintf(&b, " at %s", o.commit)
	}
	fmt.Fprintf(&b, "; fed %s through systemd-journal-remote; sinks: Loki (VictoriaLogs) and a webhook receiver.\n", o.corpus)
	fmt.Fprintf(&b, "Machine: %s.\n\n", loadNote(feed))
	b.WriteString("| check | measured | target | result |\n|---|---|---|---|\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.name, c.measured, c.target, verdict[c.pass])
	}
	b.WriteString("\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	if len(ws) > 1 {
		b.WriteString("\nPer 5 minutes:\n\n")
		b.WriteString(windowTable(ws))
	}
	b.WriteString("\n")
	b.WriteString(d.table(final, hook))
	return b.String(), pass, nil
}

// windowStat describes one stretch of the feed.
type windowStat struct {
	at         time.Duration // start, from the start of the feed
	span       float64       // seconds
	n          float64       // deliveries
	p99, share float64       // delivery p99 and share within p99Limit
	cpu        float64       // the daemon's CPU, percent of one core
	load, peak float64       // 1-minute load average: mean and max of the samples
	queue      float64       // most batches waiting for the durable sinks
	rss        float64       // VmRSS at its end, MiB
}

// splitWindows cuts the feed into windows of length w (a last one under
// half of w is merged into its predecessor) and describes each.
func splitWindows(feed []sample, start float64, w time.Duration) []windowStat {
	var ss []sample
	for _, s := range feed {
		if s.Alive && s.Scraped && len(s.Buckets) > 0 {
			ss = append(ss, s)
		}
	}
	var out []windowStat
	for from := 0; from < len(ss)-1; {
		to := from + 1
		for to < len(ss)-1 && ss[to].T-ss[from].T < w.Seconds() {
			to++
		}
		if rest := ss[len(ss)-1].T - ss[to].T; rest > 0 && rest < w.Seconds()/2 {
			to = len(ss) - 1
		}
		a, b := ss[from], ss[to]
		d := subBuckets(b.Buckets, a.Buckets)
		ws := windowStat{
			at:    time.Duration(a.T-start) * time.Second,
			span:  b.T - a.T,
			n:     total(d),
			p99:   quantile(0.99, d),
			share: within(p99Limit, d),
			cpu:   float64((b.UTime+b.STime)-(a.UTime+a.STime)) / userHZ / (b.T - a.T) * 100,
			rss:   mib(b.RSS),
		}
		for _, s := range ss[from : to+1] {
			ws.load += s.Load1
			ws.peak = max(ws.peak, s.Load1)
			ws.queue = max(ws.queue, s.QueueDepth)
		}
		ws.load /= float64(to - from + 1)
		out = append(out, ws)
		from = to
	}
	return out
}

// windowTable renders the windows as Markdown.
func windowTable(ws []windowStat) string {
	var b strings.Builder
	b.WriteString("| window | events | p99 | within 2 s | cflogd CPU | load avg (mean / max) | max queue | RSS at end |\n|---|---|---|---|---|---|---|---|\n")
	for _, w := range ws {
		fmt.Fprintf(&b, "| +%v (%.0fs) | %s | %.2f s | %.2f%% | %.2f%% | %.2f / %.2f | %.0f | %.1f MiB |\n",
			w.at, w.span, thousands(int64(w.n)), w.p99, w.share*100, w.cpu, w.load, w.peak, w.queue, w.rss)
	}
	return b.String()
}

// loadNote describes how busy the machine was during the feed.
func loadNote(feed []sample) string {
	var l1 []float64
	cores := 0
	for _, s := range feed {
		l1 = append(l1, s.Load1)
		cores = max(cores, s.Cores)
	}
	mean := 0.0
	for _, v := range l1 {
		mean += v
	}
	mean /= float64(len(l1))
	return fmt.Sprintf("%d CPUs; 1-minute load average during the feed: mean %.2f, max %.2f (the soak itself included)", cores, mean, slices.Max(l1))
}

// eventDiff compares the events scan found with those VictoriaLogs holds.
type eventDiff struct {
	scan, vl             int64
	missing, extra, dups int64
	derivedScan          int64
	bySig                map[string]*sigCounts
	derived              map[string]bool
	badRow               int64 // VictoriaLogs rows without signature and cursor
}

type sigCounts struct {
	scan, vl, missing, extra, dups int64
}

// compareEvents counts events per signature and per (signature, cursor)
// key in scan's JSON lines and VictoriaLogs' export. A key is hashed with
// FNV-64a; two different events colliding is negligible at these counts.
func compareEvents(scanPath, vlPath string) (*eventDiff, error) {
	type key struct {
		sig      string
		scan, vl int32
	}
	keys := map[uint64]*key{}
	d := &eventDiff{bySig: map[string]*sigCounts{}, derived: map[string]bool{}}
	sig := func(s string) *sigCounts {
		c := d.bySig[s]
		if c == nil {
			c = &sigCounts{}
			d.bySig[s] = c
		}
		return c
	}
	hash := func(s, cursor string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		h.Write([]byte{0})
		h.Write([]byte(cursor))
		return h.Sum64()
	}
	add := func(s, cursor string, fromScan bool) {
		k := hash(s, cursor)
		e := keys[k]
		if e == nil {
			e = &key{sig: s}
			keys[k] = e
		}
		if fromScan {
			e.scan++
			d.scan++
			sig(s).scan++
		} else {
			e.vl++
			d.vl++
			sig(s).vl++
		}
	}

	f, err := os.Open(scanPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev struct {
			Signature string `json:"signature"`
			Cursor    string `json:"cursor"`
			Derived   bool   `json:"derived"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("read scan output: %w", err)
		}
		if ev.Derived {
			d.derived[ev.Signature] = true
			d.derivedScan++
		}
		add(ev.Signature, ev.Cursor, true)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read scan output: %w", err)
	}

	g, err := os.Open(vlPath)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	sc = bufio.NewScanner(g)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		s, cursor, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			d.badRow++
			continue
		}
		add(s, cursor, false)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read victorialogs export: %w", err)
	}

	for _, e := range keys {
		c := sig(e.sig)
		switch {
		case e.vl < e.scan:
			c.missing += int64(e.scan - e.vl)
		case e.vl > e.scan && e.scan == 0:
			c.extra += int64(e.vl)
		case e.vl > e.scan:
			c.dups += int64(e.vl - e.scan)
		}
	}
	for _, c := range d.bySig {
		d.missing += c.missing
		d.extra += c.extra
		d.dups += c.dups
	}
	return d, nil
}

// table renders the per-signature counts.
func (d *eventDiff) table(final metricSet, hook hookCounts) string {
	daemon := final.byLabel("cflogd_events_total", "signature")
	var sigs []string
	for s := range d.bySig {
		sigs = append(sigs, s)
	}
	sort.Strings(sigs)
	var b strings.Builder
	b.WriteString("| signature | expected (scan) | VictoriaLogs | missing | extra / dup | daemon's cflogd_events_total | webhook received |\n|---|---|---|---|---|---|---|\n")
	for _, s := range sigs {
		c := d.bySig[s]
		name := "`" + s + "`"
		if d.derived[s] {
			name += " (derived)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d / %d | %s | %s |\n", name, thousands(c.scan), thousands(c.vl),
			c.missing, c.extra, c.dups, thousands(int64(daemon[s])), thousands(hook.BySignature[s]))
	}
	fmt.Fprintf(&b, "| **total** | %s | %s | %d | %d / %d | %s | %s |\n", thousands(d.scan), thousands(d.vl),
		d.missing, d.extra, d.dups, thousands(int64(final.sum("cflogd_events_total"))), thousands(hook.Events))
	return b.String()
}

var feedLine = regexp.MustCompile(`benchfeed: (\d+) entries in \S+ \((\d+)/s\)`)

// feedFigures reads benchfeed's closing line: entries written and rate.
func feedFigures(path string) (int64, float64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	m := feedLine.FindSubmatch(b)
	if m == nil {
		return 0, 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	r, _ := strconv.ParseFloat(string(m[2]), 64)
	return n, r
}

func readSamples(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s sample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func firstAlive(ss []sample) sample {
	for _, s := range ss {
		if s.Alive {
			return s
		}
	}
	return ss[0]
}

func lastAlive(ss []sample) sample {
	for i := len(ss) - 1; i >= 0; i-- {
		if ss[i].Alive {
			return ss[i]
		}
	}
	return ss[len(ss)-1]
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func head(v []float64, n int) []float64 { return v[:min(n, len(v))] }
func tail(v []float64, n int) []float64 { return v[max(0, len(v)-n):] }

// median of v; v is not changed.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// hoursText formats a span given in hours as a Go duration, to the second.
func hoursText(h float64) string {
	return (time.Duration(h*3600) * time.Second).String()
}

// thousands formats n with commas: 1234567 -> "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
