package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centra-cloud/cflogd/internal/testpeer"
)

// The tests in this file are the peer half of the fault-injection suite
// (make chaos): cflogd run follows a journal that keeps growing while its
// Loki-protocol peer (VictoriaLogs) restarts, rate-limits, fails every
// second request or stalls behind a TCP proxy, or while cflogd itself is
// killed with SIGKILL at random points. Each checks from outside that
// every expected event reached the peer, that the back-pressure showed in
// /metrics while the fault lasted, and that cflogd recovered by itself.
//
// With CFLOGD_CHAOS=full they run at full length (429 for 30 s, a 20 s
// stall, 20 kills); otherwise shortened, as part of go test ./....
// TestChaosKill9Random logs its worst-case duplicate count and appends it
// to the file CFLOGD_CHAOS_REPORT names, if any; CFLOGD_CHAOS_SEED repeats
// a run's kill points.

// The journal grows by peerChunkEntries entries (about half of them
// events) every peerChunkEvery.
const (
	peerChunkEntries = 400
	peerChunkEvery   = 400 * time.Millisecond
	// peerQueue is queue_size: batches in flight before the reader stops.
	peerQueue = 2
)

// peerChaosFull reports whether CFLOGD_CHAOS=full asks for full length.
func peerChaosFull() bool { return os.Getenv("CFLOGD_CHAOS") == "full" }

// peerChaosDur returns full at full length, else short.
func peerChaosDur(full, short time.Duration) time.Duration {
	if peerChaosFull() {
		return full
	}
	return short
}

// peerChaosN returns full at full length, else short.
func peerChaosN(full, short int) int {
	if peerChaosFull() {
		return full
	}
	return short
}

// peerMetrics is one scrape of cflogd's /metrics.
type peerMetrics []string

// peerScrape reads /metrics once; nil when cflogd does not answer.
func peerScrape(addr string) peerMetrics {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "cflogd_") {
			lines = append(lines, l)
		}
	}
	return lines
}

var peerSample = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? (\S+)$`)

// value returns the first sample of name whose labels contain labels, or
// -1.
func (m peerMetrics) value(name, labels string) float64 {
	for _, l := range m {
		s := peerSample.FindStringSubmatch(l)
		if s == nil || s[1] != name || !strings.Contains(s[2], labels) {
			continue
		}
		v, _ := strconv.ParseFloat(s[3], 64)
		return v
	}
	return -1
}

// peerSnap is what /metrics and the state directory said at one moment.
type peerSnap struct {
	at                                      time.Time
	sent, failed, retried, depth, age, read float64
	cursor                                  string
}

// peerRig is cflogd run following a growing journal and pushing to one
// Loki URL.
type peerRig struct {
	t        *testing.T
	j        *e2eJournal
	vl       *testpeer.VictoriaLogs
	listen   string
	stateDir string
	p        *daemonProc
	chunks   int
}

// newPeerRig writes the first part of the journal and starts cflogd,
// pushing to pushURL with the given request timeout.
func newPeerRig(t *testing.T, vl *testpeer.VictoriaLogs, pushURL string, timeout time.Duration) *peerRig {
	t.Helper()
	bin := buildCflogd(t)
	r := &peerRig{
		t:        t,
		j:        newE2EJournal(t),
		vl:       vl,
		listen:   fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t)),
		stateDir: filepath.Join(t.TempDir(), "state"),
	}
	cfg := writeHeadConfig(t, r.stateDir, r.listen, r.j.dir, fmt.Sprintf(`checkpoint_interval = "500ms"
queue_size = %d`, peerQueue), fmt.Sprintf(`[[sink]]
type = "loki"
url = %q
batch_wait = "200ms"
retry_max = "1s"
timeout = %q`, pushURL, timeout))
	r.grow()
	r.p = startDaemon(t, bin, cfg)
	return r
}

// grow appends one chunk to the journal.
func (r *peerRig) grow() {
	r.t.Helper()
	r.chunks++
	r.j.write(r.t, fmt.Sprintf("c%04d.journal", r.chunks), peerChunkEntries)
}

// feed grows the journal by one chunk every peerChunkEvery for d, calling
// each after every chunk.
func (r *peerRig) feed(d time.Duration, each func()) {
	r.t.Helper()
	end := time.Now().Add(d)
	next := time.Now()
	for time.Now().Before(end) {
		r.grow()
		if each != nil {
			each()
		}
		next = next.Add(peerChunkEvery)
		time.Sleep(time.Until(next)) // the journal's growth rate, not a wait for a condition
	}
}

func (r *peerRig) snap() peerSnap {
	r.t.Helper()
	m := peerScrape(r.listen)
	return peerSnap{
		at:      time.Now(),
		sent:    m.value("cflogd_sink_sent_total", `sink="loki"`),
		failed:  m.value("cflogd_sink_failed_total", `sink="loki"`),
		retried: m.value("cflogd_sink_retried_total", `sink="loki"`),
		depth:   m.value("cflogd_queue_depth", ""),
		age:     m.value("cflogd_cursor_age_seconds", ""),
		read:    m.value("cflogd_journal_lines_read_total", `unit="chainfire.service"`),
		cursor:  readCursor(r.t, r.stateDir),
	}
}

// peerOutage is what /metrics showed while the peer accepted nothing.
type peerOutage struct {
	before    peerSnap // as the fault began
	firstFail peerSnap // the first with a failed request
	settled   peerSnap // the first well after the queue filled up
	end       peerSnap // as the fault ended
	maxDepth  float64
}

// outage grows the journal for d while the peer accepts nothing, and
// records the metrics.
func (r *peerRig) outage(d time.Duration) peerOutage {
	r.t.Helper()
	o := peerOutage{before: r.snap()}
	var full time.Time
	r.feed(d, func() {
		s := r.snap()
		o.maxDepth = max(o.maxDepth, s.depth)
		if o.firstFail.at.IsZero() && s.failed > o.before.failed {
			o.firstFail = s
		}
		if full.IsZero() && s.depth == peerQueue {
			full = s.at
		}
		// Settled: the reader stopped a while ago, and the checkpoint of
		// what was accepted before the fault was written (the interval
		// is 500ms).
		if o.settled.at.IsZero() && !full.IsZero() &&
			s.at.Sub(o.before.at) > 1500*time.Millisecond && s.at.Sub(full) > time.Second {
			o.settled = s
		}
	})
	o.end = r.snap()
	return o
}

// check asserts the back-pressure of an outage: requests failed and were
// retried, nothing was accepted after the first failure, the queue filled
// up and stopped the reader, the cursor stayed where it was and its age
// grew with the outage.
func (o peerOutage) check(t *testing.T, what string, minRetries float64) {
	t.Helper()
	if o.firstFail.at.IsZero() {
		t.Errorf("%s: cflogd_sink_failed_total stayed at %v", what, o.before.failed)
		return
	}
	if n := o.end.retried - o.before.retried; n < minRetries {
		t.Errorf("%s: %v retries, want at least %v", what, n, minRetries)
	}
	if o.end.sent != o.firstFail.sent {
		t.Errorf("%s: cflogd_sink_sent_total went from %v to %v after the first failure", what, o.firstFail.sent, o.end.sent)
	}
	if o.maxDepth != peerQueue {
		t.Errorf("%s: cflogd_queue_depth reached %v, want the queue_size %d", what, o.maxDepth, peerQueue)
	}
	if o.settled.at.IsZero() {
		t.Errorf("%s: the queue never stayed full long enough to check the reader", what)
	} else {
		if o.end.read != o.settled.read {
			t.Errorf("%s: the reader went on with a full queue: %v chainfire lines read, then %v", what, o.settled.read, o.end.read)
		}
		if o.end.cursor != o.settled.cursor {
			t.Errorf("%s: the saved cursor moved while the peer accepted nothing: %s, then %s", what, o.settled.cursor, o.end.cursor)
		}
	}
	if want := o.end.at.Sub(o.firstFail.at).Seconds(); o.end.age < want {
		t.Errorf("%s: cflogd_cursor_age_seconds %v at the end, want at least %.1f (since the first failure)", what, o.end.age, want)
	}
	t.Logf("%s: %v failed, %v retried, queue depth up to %v of %d, cursor age %.1fs at the end",
		what, o.end.failed-o.before.failed, o.end.retried-o.before.retried, o.maxDepth, peerQueue, o.end.age)
}

// recovery grows the journal for d after a fault ended and returns how long
// the first accepted push took, waiting past d if needed.
func (r *peerRig) recovery(d, timeout time.Duration, o peerSnap) time.Duration {
	r.t.Helper()
	start := time.Now()
	var took time.Duration
	r.feed(d, func() {
		if took == 0 && r.snap().sent > o.sent {
			took = time.Since(start)
		}
	})
	if took == 0 {
		testpeer.Eventually(r.t, timeout, func() bool { return r.snap().sent > o.sent }, "a push accepted after the fault")
		took = time.Since(start)
	}
	return took
}

// finish waits until every expected event reached VictoriaLogs and the
// cursor is at the end of the journal, with the same cflogd process that
// saw the faults; it checks that nothing was lost or delivered twice and
// that the failed requests were all retried, and stops cflogd. It returns
// the expected events and the last metrics.
func (r *peerRig) finish() (map[string]string, peerSnap) {
	r.t.Helper()
	t := r.t
	stopped := time.Now()
	want, order := expectedEvents(t, r.j.dir)
	waitDelivered(t, r.vl, want, 90*time.Second, nil)
	var s peerSnap
	testpeer.Eventually(t, 30*time.Second, func() bool {
		s = r.snap()
		return order[s.cursor] == len(order)-1 && s.depth == 0 && s.age == 0
	}, "the cursor at the end of the journal and an empty queue")
	t.Logf("caught up %.1fs after the journal stopped growing", time.Since(stopped).Seconds())
	select {
	case <-r.p.done:
		t.Fatalf("cflogd exited: %v", r.p.err)
	default:
	}
	if s.sent != float64(len(want)) {
		t.Errorf("cflogd_sink_sent_total %v, want %d (each event once)", s.sent, len(want))
	}
	if s.failed != s.retried {
		t.Errorf("%v requests failed but %v were retried; want every failure retried", s.failed, s.retried)
	}
	r.p.term(t)
	counts, gaps := delivered(t, r.vl)
	checkNoLoss(t, want, counts)
	for k, n := range counts {
		if n > 1 {
			t.Errorf("event %s delivered %d times without a crash", k, n)
		}
	}
	if len(gaps) != 0 {
		t.Errorf("%d gap events, want none: %v", len(gaps), gaps)
	}
	return want, s
}

func TestChaosPeerRestart(t *testing.T) {
	vl := testpeer.StartRestartableVictoriaLogs(t)
	r := newPeerRig(t, vl.VictoriaLogs, vl.LokiPushURL()+"?disable_message_parsing=1", 5*time.Second)
	down, up := peerChaosDur(6*time.Second, 3*time.Second), peerChaosDur(5*time.Second, 1500*time.Millisecond)
	r.feed(up, nil)
	testpeer.Eventually(t, 15*time.Second, func() bool { return r.snap().sent > 0 }, "the first push")
	for i := range 3 {
		vl.Stop(t)
		o := r.outage(down)
		o.check(t, fmt.Sprintf("peer down %d", i+1), 2)
		vl.Start(t)
		took := r.recovery(up, 15*time.Second, o.end)
		t.Logf("peer down %d for %v: first push accepted %.2fs after it came back", i+1, down, took.Seconds())
	}
	want, s := r.finish()
	t.Logf("%d events delivered once across 3 peer restarts; %v requests failed and were retried", len(want), s.failed)
}

// newFaultRig is a peer rig pushing through a fault proxy, past its first
// push.
func newFaultRig(t *testing.T) (*testpeer.FaultProxy, *peerRig) {
	vl := testpeer.StartVictoriaLogs(t)
	proxy := testpeer.NewFaultProxy(t, vl.URL)
	r := newPeerRig(t, vl, proxy.URL+"/insert/loki/api/v1/push?disable_message_parsing=1", 5*time.Second)
	r.firstPush()
	return proxy, r
}

// firstPush feeds the journal for a second and waits for the first push.
func (r *peerRig) firstPush() {
	r.feed(time.Second, nil)
	testpeer.Eventually(r.t, 15*time.Second, func() bool { return r.snap().sent > 0 }, "the first push")
}

func TestChaosPeer429(t *testing.T) {
	proxy, r := newFaultRig(t)
	fault := peerChaosDur(30*time.Second, 5*time.Second)
	proxy.Set(testpeer.Fault{Code: http.StatusTooManyRequests})
	o := r.outage(fault)
	proxy.Set(testpeer.Fault{})
	o.check(t, "429", 3)
	took := r.recovery(peerChaosDur(5*time.Second, 2*time.Second), 15*time.Second, o.end)
	_, s := r.finish()
	c := proxy.Counts()
	if s.failed != float64(c.Faulted) {
		t.Errorf("cflogd_sink_failed_total %v, want the %d requests answered 429", s.failed, c.Faulted)
	}
	t.Logf("429 for %v: %d requests answered 429, first push accepted %.2fs after the fault", fault, c.Faulted, took.Seconds())
}

func TestChaosPeer500(t *testing.T) {
	proxy, r := newFaultRig(t)
	fault := peerChaosDur(30*time.Second, 5*time.Second)
	before, cBefore := r.snap(), proxy.Counts()
	proxy.Set(testpeer.Fault{Code: http.StatusInternalServerError, Every: 2})
	var maxDepth float64
	r.feed(fault, func() { maxDepth = max(maxDepth, r.snap().depth) })
	end, cEnd := r.snap(), proxy.Counts()
	proxy.Set(testpeer.Fault{})

	faulted, passed := cEnd.Faulted-cBefore.Faulted, cEnd.Passed-cBefore.Passed
	if faulted < 3 || passed < 3 {
		t.Errorf("during the fault %d requests answered 500 and %d passed, want at least 3 of each", faulted, passed)
	}
	if end.sent <= before.sent {
		t.Errorf("nothing accepted while every second request failed: cflogd_sink_sent_total %v, then %v", before.sent, end.sent)
	}
	// Every failure shows and is retried: the counters move with the
	// proxy's (a request may be between the two at the scrape).
	if got := end.failed - before.failed; got < float64(faulted-1) || got > float64(faulted) {
		t.Errorf("cflogd_sink_failed_total rose by %v during the fault, want the %d answered 500", got, faulted)
	}
	if got := end.retried - before.retried; got < float64(faulted-1) {
		t.Errorf("cflogd_sink_retried_total rose by %v during the fault, want %d", got, faulted)
	}
	_, s := r.finish()
	c := proxy.Counts()
	if s.failed != float64(c.Faulted) {
		t.Errorf("cflogd_sink_failed_total %v, want the %d requests answered 500", s.failed, c.Faulted)
	}
	t.Logf("500 for every second request for %v: %d failed, %d passed, %v events accepted meanwhile, queue depth up to %v",
		fault, faulted, passed, end.sent-before.sent, maxDepth)
}

func TestChaosPeerStall(t *testing.T) {
	vl := testpeer.StartVictoriaLogs(t)
	proxy := testpeer.NewTCPProxy(t, strings.TrimPrefix(vl.URL, "http://"))
	// The request timeout is the default (10s) at full length; shortened,
	// a 2s timeout still makes the stall outlast it twice.
	timeout := peerChaosDur(10*time.Second, 2*time.Second)
	r := newPeerRig(t, vl, "http://"+proxy.Addr+"/insert/loki/api/v1/push?disable_message_parsing=1", timeout)
	r.firstPush()
	stall := peerChaosDur(20*time.Second, 5*time.Second)
	proxy.Stall(true)
	o := r.outage(stall)
	proxy.Stall(false)
	o.check(t, "stall", 1)
	if c := proxy.Counts(); c.Stalled < 2 {
		t.Errorf("%d connections stalled, want at least 2 (the first attempt and a retry)", c.Stalled)
	}
	took := r.recovery(peerChaosDur(5*time.Second, 2*time.Second), timeout+15*time.Second, o.end)
	_, s := r.finish()
	t.Logf("stall for %v with a %v request timeout: %d connections stalled, %v requests failed, first push accepted %.2fs after the stall",
		stall, timeout, proxy.Counts().Stalled, s.failed, took.Seconds())
}

// peerSampler scrapes cflogd_sink_sent_total every 100ms.
type peerSampler struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	samples []peerSentAt
}

// peerSentAt is cflogd_sink_sent_total at a moment.
type peerSentAt struct {
	at   time.Time
	sent float64
}

func startPeerSampler(addr string) *peerSampler {
	s := &peerSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			at := time.Now()
			if v := peerScrape(addr).value("cflogd_sink_sent_total", `sink="loki"`); v >= 0 {
				s.mu.Lock()
				s.samples = append(s.samples, peerSentAt{at, v})
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// end stops the sampler and returns its samples.
func (s *peerSampler) end() []peerSentAt {
	close(s.stop)
	<-s.done
	return s.samples
}

// sentBy returns the newest sample taken at or before t (0 before the
// first: the count starts at 0 with the process).
func sentBy(samples []peerSentAt, t time.Time) float64 {
	v := 0.0
	for _, s := range samples {
		if s.at.After(t) {
			break
		}
		v = s.sent
	}
	return v
}

// settledCounts is delivered once VictoriaLogs stopped changing: a push
// that was in flight when cflogd was killed may still be ingested.
func settledCounts(t *testing.T, vl *testpeer.VictoriaLogs) map[string]int {
	t.Helper()
	prev := -1
	deadline := time.Now().Add(15 * time.Second)
	for {
		counts, _ := delivered(t, vl)
		n := 0
		for _, c := range counts {
			n += c
		}
		if n == prev {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("VictoriaLogs still changing 15s after cflogd was killed")
		}
		prev = n
		time.Sleep(300 * time.Millisecond) // the ingestion of a last push, bounded by the deadline
	}
}

func TestChaosKill9Random(t *testing.T) {
	bin := buildCflogd(t)
	vl := testpeer.StartVictoriaLogs(t)
	j := newE2EJournal(t)
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	stateDir := filepath.Join(t.TempDir(), "state")
	// The default checkpoint_interval and the Loki sink's default
	// batch_wait (1s) and retries: the duplicates a default installation
	// sees.
	const interval = 2 * time.Second
	cfg := writeHeadConfig(t, stateDir, listen, j.dir, fmt.Sprintf(`checkpoint_interval = %q`, interval), fmt.Sprintf(`[[sink]]
type = "loki"
url = %q`, vl.LokiPushURL()+"?disable_message_parsing=1"))

	kills := peerChaosN(20, 5)
	// Runs end at random between 0.5s and maxRun, some before their
	// first checkpoint, some while they catch up after a restart.
	maxRun := peerChaosDur(6*time.Second, 4*time.Second)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CFLOGD_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CFLOGD_CHAOS_SEED: %v", err)
		}
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d (CFLOGD_CHAOS_SEED=%d repeats these kill points)", seed, seed)

	chunks := 0
	grow := func() {
		chunks++
		j.write(t, fmt.Sprintf("c%04d.journal", chunks), peerChunkEntries)
	}
	// feedUntil grows the journal at its rate until the deadline.
	feedUntil := func(deadline time.Time) {
		next := time.Now()
		for {
			next = next.Add(peerChunkEvery)
			if next.After(deadline) {
				time.Sleep(time.Until(deadline)) // the random kill point
				return
			}
			time.Sleep(time.Until(next)) // the journal's growth rate
			grow()
		}
	}

	// One record per kill: how long the process ran, the cursor it left,
	// the events in VictoriaLogs after it died and its sent counter over
	// time.
	type killRec struct {
		ran     time.Duration
		at      time.Time
		saved   string
		counts  map[string]int
		samples []peerSentAt
	}
	var recs []killRec
	grow()
	for range kills {
		p := startDaemon(t, bin, cfg)
		sampler := startPeerSampler(listen)
		ran := 500*time.Millisecond + time.Duration(rng.Int64N(int64(maxRun-500*time.Millisecond)))
		started := time.Now()
		feedUntil(started.Add(ran))
		samples := sampler.end()
		p.kill9(t)
		rec := killRec{ran: time.Since(started), at: time.Now(), saved: readCursor(t, stateDir), samples: samples}
		rec.counts = settledCounts(t, vl)
		recs = append(recs, rec)
		if rng.IntN(2) == 0 {
			grow() // the journal grows while cflogd is down
		}
	}
	p := startDaemon(t, bin, cfg)
	feedUntil(time.Now().Add(time.Second))
	want, order := expectedEvents(t, j.dir)
	waitDelivered(t, vl, want, 90*time.Second, nil)
	testpeer.Eventually(t, 30*time.Second, func() bool { return order[readCursor(t, stateDir)] == len(order)-1 }, "the cursor at the end of the journal")
	p.term(t)
	final, gaps := delivered(t, vl)
	checkNoLoss(t, want, final)
	if len(gaps) != 0 {
		t.Errorf("%d gap events, want none: %v", len(gaps), gaps)
	}

	pos := func(cursor string) int {
		if cursor == "" {
			return -1
		}
		at, ok := order[cursor]
		if !ok {
			t.Fatalf("saved cursor %q is not an entry of the journal", cursor)
		}
		return at
	}
	// A run's deliveries past the cursor it left are delivered again by
	// the runs after it: those are the duplicates it caused. They must be
	// what it delivered within about one checkpoint interval before it
	// was killed, and every re-delivery lies after the saved cursor.
	const slack = 500 * time.Millisecond // a late checkpoint tick and the cursor file's write
	prev, prevSaved := map[string]int{}, -1
	worst, sum := 0, 0
	var worstRan time.Duration
	for i, rec := range recs {
		saved := pos(rec.saved)
		made, uncovered := 0, 0
		for k, n := range rec.counts {
			d := n - prev[k]
			if d <= 0 {
				continue
			}
			made += d
			at := order[want[k]]
			if at > saved {
				uncovered += d
			}
			if prev[k] > 0 && at <= prevSaved {
				t.Errorf("run %d delivered event %s (entry %d) again, though the cursor saved before it covers entry %d", i+1, k, at, prevSaved)
			}
		}
		bound := made - int(sentBy(rec.samples, rec.at.Add(-interval-slack)))
		if uncovered > bound {
			t.Errorf("run %d (killed after %v): %d deliveries past its saved cursor, more than the %d it made in the last checkpoint interval (%v)",
				i+1, rec.ran.Round(time.Millisecond), uncovered, bound, interval)
		}
		if uncovered > worst {
			worst, worstRan = uncovered, rec.ran
		}
		sum += uncovered
		prev, prevSaved = rec.counts, saved
	}
	for k, n := range final {
		if d := n - prev[k]; d > 0 && prev[k] > 0 && order[want[k]] <= prevSaved {
			t.Errorf("the last run delivered event %s again, though the saved cursor covers it", k)
		}
	}
	extra := 0
	for _, n := range final {
		extra += n - 1
	}
	if extra != sum {
		t.Errorf("%d duplicate deliveries in VictoriaLogs, but the kills left %d deliveries past a saved cursor", extra, sum)
	}
	rate := float64(peerChunkEntries) / peerChunkEvery.Seconds()
	line := fmt.Sprintf("chaos kill9: worst-case duplicates %d (checkpoint interval %v, journal growing %.0f entries/s, %d events; %d kills, %d duplicates in all; worst after a run of %v)",
		worst, interval, rate, len(want), kills, extra, worstRan.Round(time.Millisecond))
	t.Log(line)
	if path := os.Getenv("CFLOGD_CHAOS_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			_, err = fmt.Fprintln(f, line)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Errorf("write CFLOGD_CHAOS_REPORT: %v", err)
		}
	}
}
