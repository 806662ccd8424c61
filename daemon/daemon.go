package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/state"
	"github.com/centra-cloud/cflogd/tail"
)

type nowFunc = func() time.Time

// DefaultCoalesce is Options.Coalesce when it is zero: a journal written
// entry by entry is read about ten times a second rather than once per
// entry, which costs far less CPU for at most 100 ms more delay.
const DefaultCoalesce = 100 * time.Millisecond

// GapSignature is the signature of the event that reports journal entries
// lost to rotation before cflogd read them.
const GapSignature = "cflogd.journal_gap"

// Options configure a Daemon.
type Options struct {
	// Config is the loaded configuration.
	Config *config.Config
	// Log is cflogd's own log.
	Log zerolog.Logger
	// Version is reported in cflogd_build_info.
	Version string
	// Stdout receives the stdout sink's events; default os.Stdout.
	Stdout io.Writer
	// Notify sends a state to the service manager (READY=1, WATCHDOG=1,
	// STOPPING=1); default sd_notify through $NOTIFY_SOCKET.
	Notify func(state string)
	// Watchdog is the service manager's watchdog interval; 0 reads
	// $WATCHDOG_USEC, and none means no watchdog pings.
	Watchdog time.Duration
	// WaitTimeout bounds each wait for new journal entries; default 250ms.
	WaitTimeout time.Duration
	// Coalesce is how long the reader lets new entries gather after the
	// journal changed before it reads them; default DefaultCoalesce.
	// Negative reads at once.
	Coalesce time.Duration
	// Now is the clock of notification grouping; default time.Now.
	Now func() time.Time
}

// Daemon is cflogd run.
type Daemon struct {
	cfg        *config.Config
	log        zerolog.Logger
	opts       Options
	m          *metrics
	sinks      *sinks
	tracker    *tracker
	cls        atomic.Pointer[classify.Classifier]
	rulesMu    sync.Mutex // serialises the consumer's use of rules with Reload
	reloadMu   sync.Mutex // serialises Reload
	rules      *ruleRunner
	currentLib *patterns.Library // guarded by rulesMu after Run started
	replay     replay            // entries after a restart that only feed the rules
	lastMark   mark              // the last batch handed to the tracker, if the rules saw nothing after it

	hostname string
	self     selfID

	// Reader state for metrics, health and the watchdog.
	lastBeat  atomic.Int64 // unix nanoseconds of the reader loop's last heartbeat
	newest    atomic.Int64 // unix microseconds of the newest entry read
	atEnd     atomic.Bool
	ready     atomic.Bool
	stopping  atomic.Bool
	readyOnce sync.Once

	// stateHealth is used by the checkpoints, which run one at a time.
	stateHealth stateHealth

	// Consumer-side state, used by the goroutine that runs consume.
	unitCount map[string]float64
	readCtx   context.Context // Run's ctx: dispatch stops waiting when it ends
}

// selfID identifies cflogd's own entries.
type selfID struct {
	pid  int
	boot string
	unit string
}

// New checks what the daemon needs before it runs: the pattern library and
// the sinks. Run does the rest.
func New(opts Options) (*Daemon, error) {
	cfg := opts.Config
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Notify == nil {
		opts.Notify = sdNotify
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = DefaultCoalesce
	}
	d := &Daemon{cfg: cfg, log: opts.Log, opts: opts, m: newMetrics(opts.Version), unitCount: map[string]float64{}}
	d.hostname, _ = os.Hostname()
	d.self = ownIdentity()
	lib, err := d.loadPatterns()
	d.recordReload(lib, err)
	if err != nil {
		return nil, err
	}
	d.cls.Store(classify.New(lib, classify.Options{RunbookBase: cfg.RunbookBase}))
	d.rules = newRuleRunner(lib, cfg.RunbookBase)
	d.currentLib = lib
	d.sinks, err = buildSinks(cfg, cfg.QueueSize, opts.Stdout, opts.Log, d.ack, d.m, opts.Now)
	if err != nil {
		return nil, err
	}
	d.tracker = newTracker(cfg.QueueSize, len(d.sinks.durable))
	d.m.reg.MustRegister(d.sinks.stats)
	d.m.gauge("cflogd_queue_depth", "Batches of read entries waiting for the durable sinks.", func() float64 { return float64(d.tracker.depth()) })
	d.m.gauge("cflogd_queue_capacity", "Batches that may wait before the reader stops (queue_size).", func() float64 { return float64(cfg.QueueSize) })
	d.m.gauge("cflogd_journal_lag_seconds", "Now minus the newest entry read, while the reader is behind; 0 once it has read everything.", d.lag)
	d.m.gauge("cflogd_cursor_age_seconds", "How long the oldest entry read but not yet covered by the saved cursor has been waiting; 0 when the cursor is current.", d.cursorAge)
	return d, nil
}

// Handler serves /metrics, /healthz and /readyz.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if d.healthy() {
			io.WriteString(w, "ok\n")
			return
		}
		http.Error(w, "reader loop stalled", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case d.stopping.Load():
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case !d.ready.Load():
			http.Error(w, "starting: journal not open yet", http.StatusServiceUnavailable)
		default:
			io.WriteString(w, "ready\n")
		}
	})
	return mux
}

// stallAfter is how long the reader loop may be silent before /healthz
// fails and the watchdog stops being fed.
const stallAfter = 30 * time.Second

// healthy reports whether the reader loop is alive: it beat recently, or
// it waits for the durable sinks on purpose.
func (d *Daemon) healthy() bool {
	if !d.ready.Load() {
		return true // starting
	}
	last := time.Unix(0, d.lastBeat.Load())
	return time.Since(last) < stallAfter || d.tracker.blocked()
}

func (d *Daemon) lag() float64 {
	if d.atEnd.Load() {
		return 0
	}
	n := d.newest.Load()
	if n == 0 {
		return 0
	}
	return max(time.Since(time.UnixMicro(n)).Seconds(), 0)
}

func (d *Daemon) cursorAge() float64 {
	if t := d.tracker.oldestRead(); !t.IsZero() {
		return time.Since(t).Seconds()
	}
	return 0
}

// Pattern files are read as a snapshot, and read again patternSettle after
// the first read began: only when both agree is the library used. A file
// caught while it is being rewritten in place (truncated, then written), or
// a directory caught between the rewrites of two files, is read again, up
// to patternAttempts times; then the load fails and the previous library
// stays. Writers that replace files atomically (rename) never need this.
const (
	patternSettle   = 50 * time.Millisecond
	patternAttempts = 10
)

// errPatternsChanging is returned when the pattern files kept changing.
var errPatternsChanging = errors.New("the pattern files kept changing while they were read")

// loadPatterns loads the built-in library and the configured directories
// that exist, from a snapshot of their files that stayed the same for
// patternSettle.
func (d *Daemon) loadPatterns() (*patterns.Library, error) {
	var dirs []string
	for _, dir := range d.cfg.Patterns.Dirs {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			d.log.Debug().Str("dir", dir).Msg("pattern directory does not exist, skipping it")
			continue
		}
		dirs = append(dirs, dir)
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		snap, err := patterns.ReadSnapshot(dirs)
		if err != nil {
			return nil, fmt.Errorf("load patterns: %w", err)
		}
		lib, err := snap.Load()
		if len(dirs) > 0 {
			time.Sleep(time.Until(start.Add(patternSettle))) // the settle time, not a wait for a condition
			again, rerr := patterns.ReadSnapshot(dirs)
			if rerr != nil || !again.Equal(snap) {
				if attempt == patternAttempts {
					return nil, fmt.Errorf("load patterns from %s: %w (%d attempts)", strings.Join(dirs, ", "), errPatternsChanging, attempt)
				}
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("load patterns: %w", err)
		}
		return lib, nil
	}
}

func (d *Daemon) recordReload(lib *patterns.Library, err error) {
	if err != nil {
		d.m.reloadOK.Set(0)
		return
	}
	d.m.reloadOK.Set(1)
	d.m.reloadTime.SetToCurrentTime()
	d.m.signatures.Set(float64(len(lib.Signatures)))
}

// Reload loads the pattern files again (SIGHUP). On an error the previous
// library stays in use and the error, naming every problem, is returned.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	lib, err := d.loadPatterns()
	d.recordReload(lib, err)
	if err != nil {
		d.log.Error().Err(err).Msg("reload patterns failed; keeping the previous set")
		return err
	}
	// The classifier and the rules change together, between two batches:
	// consume takes both under rulesMu.
	cls := classify.New(lib, classify.Options{RunbookBase: d.cfg.RunbookBase})
	d.rulesMu.Lock()
	d.cls.Store(cls)
	err = d.rules.replace(lib, d.cfg.RunbookBase)
	d.currentLib = lib
	d.rulesMu.Unlock()
	if err != nil {
		d.log.Warn().Err(err).Msg("rule windows could not be carried over; the rules start afresh")
	}
	d.log.Info().Int("signatures", len(lib.Signatures)).Msg("reloaded patterns")
	return nil
}

// ack is called by durable sink i when it is done with batch seq.
func (d *Daemon) ack(i int, seq uint64) {
	times := d.tracker.ack(i, seq)
	if len(times) == 0 {
		return
	}
	now := time.Now()
	for _, t := range times {
		d.m.delivery.Observe(now.Sub(t).Seconds())
	}
}

// Run follows the journal until ctx ends, then flushes the sinks and saves
// the cursor within the configured shutdown timeout. It returns nil after a
// clean shutdown, or the error that stopped it.
func (d *Daemon) Run(ctx context.Context) error {
	dir, err := state.Open(d.cfg.StateDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	fopts, saved := d.followOptions(dir)
	d.loadNotifyState(dir)
	d.resumeRules(dir, &fopts, saved)

	var srv *http.Server
	if d.cfg.Listen != "" {
		ln, err := net.Listen("tcp", d.cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", d.cfg.Listen, err)
		}
		srv = &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		d.log.Info().Str("listen", ln.Addr().String()).Msg("serving /metrics, /healthz and /readyz")
	}

	// The sinks outlive ctx: after it ends they get shutdown_timeout to
	// deliver what was read.
	sinkCtx, cancelSinks := context.WithCancel(context.Background())
	defer cancelSinks()
	var wg sync.WaitGroup
	sinkErr := make(chan error, len(d.sinks.durable))
	for i, s := range d.sinks.durable {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(sinkCtx); err != nil && !errors.Is(err, context.Canceled) {
				sinkErr <- fmt.Errorf("sink %s: %w", d.sinks.names[i], err)
			}
		}()
	}
	notifyCtx, cancelNotify := context.WithCancel(context.Background())
	var nwg sync.WaitGroup
	for _, n := range d.sinks.notifiers {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			n.Run(notifyCtx)
		}()
	}
	// Checkpoints while running.
	ckCtx, cancelCk := context.WithCancel(context.Background())
	ckDone := make(chan struct{})
	go func() {
		defer close(ckDone)
		t := time.NewTicker(d.cfg.CheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-ckCtx.Done():
				return
			case <-t.C:
				d.checkpoint(dir)
			}
		}
	}()
	wdCtx, cancelWd := context.WithCancel(context.Background())
	go d.watchdog(wdCtx)

	d.log.Info().Str("start", describeStart(fopts)).Strs("units", d.cfg.Units).Int("sinks", len(d.cfg.Sinks)).Msg("following the journal")
	d.readCtx = ctx
	readErr := tail.Follow(ctx, fopts, d.consume)
	if errors.Is(readErr, context.Canceled) && ctx.Err() != nil {
		readErr = nil
	}

	// Shut down: the reader stopped; deliver what was read, checkpoint.
	d.stopping.Store(true)
	d.finalSnapshot()
	d.opts.Notify("STOPPING=1")
	cancelWd()
	d.log.Info().Msg("stopping: flushing sinks and saving the cursor")
	deadline := time.Now().Add(d.cfg.ShutdownTimeout - min(time.Second, d.cfg.ShutdownTimeout/4))
	for _, s := range d.sinks.durable {
		s.close()
	}
	flushed := make(chan struct{})
	go func() {
		wg.Wait()
		close(flushed)
	}()
	select {
	case <-flushed:
	case <-time.After(time.Until(deadline)):
		d.log.Warn().Int("batches", d.tracker.depth()).Msg("sinks did not finish in time; the undelivered entries will be read again at the next start")
		cancelSinks()
		<-flushed
	}
	cancelNotify()
	nwg.Wait()
	cancelCk()
	<-ckDone
	d.checkpoint(dir)
	for _, c := range d.sinks.closers {
		c()
	}
	close(sinkErr)
	var errs []error
	if readErr != nil {
		errs = append(errs, fmt.Errorf("follow journal: %w", readErr))
	}
	for err := range sinkErr {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// resumeRules restores the rule windows. They are as of a position at or
// before the saved cursor: reading then starts there, and the entries up
// to the saved cursor only feed the rules.
func (d *Daemon) resumeRules(dir *state.Dir, fopts *tail.FollowOptions, saved state.Cursor) {
	d.rulesMu.Lock()
	defer d.rulesMu.Unlock()
	at, err := d.rules.load(dir)
	switch {
	case err != nil:
		d.log.Error().Err(err).Msg("cannot use the saved rule windows; the rules start afresh")
		d.rules = newRuleRunner(d.currentLib, d.cfg.RunbookBase)
	case at == "":
	case fopts.AfterCursor == "":
		d.log.Info().Msg("rule windows saved without a usable cursor; the rules start afresh")
		d.rules = newRuleRunner(d.currentLib, d.cfg.RunbookBase)
	case at != fopts.AfterCursor:
		fopts.AfterCursor = at
		d.replay = replay{until: saved.Cursor, time: saved.Time}
	}
}

// finalSnapshot hands the tracker the rule windows as of the last batch
// read, so that a clean stop saves them with the last cursor and the next
// start needs no replay.
func (d *Daemon) finalSnapshot() {
	d.rulesMu.Lock()
	defer d.rulesMu.Unlock()
	if d.lastMark.cursor == "" {
		return
	}
	snap, err := d.rules.snapshot(d.lastMark, 0, time.Now())
	if err != nil {
		d.log.Error().Err(err).Msg("snapshot rule windows")
		return
	}
	if snap != nil {
		d.tracker.skip(d.lastMark, snap)
	}
}

// followOptions says where to start: after the saved cursor, or at the
// configured initial position.
func (d *Daemon) followOptions(dir *state.Dir) (tail.FollowOptions, state.Cursor) {
	o := tail.FollowOptions{
		Directory: d.cfg.Journal.Directory,
		Files:     d.cfg.Journal.Files,
		Reader:    d.cfg.Journal.Reader,
		OnFallback: func(err error) {
			d.log.Warn().Err(err).Msg("native journal reader handing over to sd-journal for the rest of the run")
		},
		Units:       d.cfg.Units,
		WaitTimeout: d.opts.WaitTimeout,
		Coalesce:    d.opts.Coalesce,
		Heartbeat:   d.heartbeat,
	}
	c, err := dir.LoadCursor()
	switch {
	case err == nil:
		o.AfterCursor = c.Cursor
		return o, c
	case errors.Is(err, state.ErrNoCursor):
		d.log.Info().Str("initial_position", d.cfg.Journal.InitialPosition.String()).Msg("no saved cursor")
	default:
		d.log.Error().Err(err).Str("initial_position", d.cfg.Journal.InitialPosition.String()).
			Msg("cannot use the saved cursor; starting at the initial position instead")
	}
	p := d.cfg.Journal.InitialPosition
	switch {
	case p.Head:
		o.Start = tail.StartHead
	case p.Tail:
		o.Start = tail.StartTail
	default:
		o.Start = tail.StartSince
		o.Since = time.Now().Add(-p.LookBack)
	}
	return o, state.Cursor{}
}

func describeStart(o tail.FollowOptions) string {
	switch {
	case o.AfterCursor != "":
		return "after the saved cursor"
	case o.Start == tail.StartHead:
		return "head"
	case o.Start == tail.StartTail:
		return "tail"
	}
	return "since " + o.Since.Format(time.RFC3339)
}

// heartbeat is called from the reader loop.
func (d *Daemon) heartbeat() {
	d.lastBeat.Store(time.Now().UnixNano())
	d.readyOnce.Do(func() {
		d.ready.Store(true)
		d.opts.Notify("READY=1")
		d.log.Info().Msg("journal open, sinks configured: ready")
	})
}

// watchdog feeds systemd's watchdog while the reader loop is alive.
func (d *Daemon) watchdog(ctx context.Context) {
	iv := d.opts.Watchdog
	if iv == 0 {
		iv = watchdogInterval()
	}
	if iv <= 0 {
		return
	}
	t := time.NewTicker(iv / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			last := time.Unix(0, d.lastBeat.Load())
			if !d.ready.Load() || time.Since(last) < iv || d.tracker.blocked() {
				d.opts.Notify("WATCHDOG=1")
			} else {
				d.log.Error().Dur("silent", time.Since(last)).Msg("reader loop stalled; not feeding the watchdog")
			}
		}
	}
}

// consume classifies a batch and hands its events to the sinks. It runs
// on one goroutine; blocking here stops the reader.
func (d *Daemon) consume(b tail.FollowBatch) error {
	d.atEnd.Store(b.AtEnd)
	var events []record.Event
	if b.Gap != nil {
		events = append(events, d.gapEvent(b.Gap))
	}
	if len(b.Entries) == 0 && len(events) == 0 {
		return nil
	}
	clear(d.unitCount)
	d.rulesMu.Lock()
	cls := d.cls.Load() // under rulesMu: the same library as the rules
	if d.rules.active() {
		events = d.classifyWithRules(cls, b.Entries, events)
	} else {
		for i := range b.Entries {
			e := &b.Entries[i]
			d.unitCount[e.Unit]++
			if d.replay.covers(e) || d.isSelf(e) {
				continue
			}
			if ev, ok := cls.Classify(e); ok {
				events = append(events, ev)
			}
		}
	}
	for u, n := range d.unitCount {
		d.m.linesRead.WithLabelValues(u).Add(n)
	}
	for i := range events {
		d.m.events.WithLabelValues(events[i].Signature, events[i].Severity.String()).Inc()
	}
	var m mark
	m.read = time.Now()
	if n := len(b.Entries); n > 0 {
		last := &b.Entries[n-1]
		m.cursor, m.time = last.Cursor, last.Time
		if us := last.Time.UnixMicro(); us > d.newest.Load() {
			d.newest.Store(us)
		}
	} else {
		m.cursor = b.Gap.Resume // a gap with nothing after it yet
	}
	if d.replay.until != "" {
		d.rulesMu.Unlock()
		return nil // all of it was delivered before the restart
	}
	snap, err := d.rules.snapshot(m, d.cfg.CheckpointInterval, m.read)
	d.rulesMu.Unlock()
	if err != nil {
		d.log.Error().Err(err).Msg("snapshot rule windows")
	}
	d.lastMark = mark{} // the rules are past it until dispatch is done
	if err := d.dispatch(m, events, snap); err != nil {
		return err
	}
	d.lastMark = m
	return nil
}

// classifyWithRules classifies entries and feeds the rules over time,
// appending the events and the derived events.
func (d *Daemon) classifyWithRules(cls *classify.Classifier, entries []record.Entry, events []record.Event) []record.Event {
	r := d.rules
	for i := range entries {
		e := &entries[i]
		d.unitCount[e.Unit]++
		replayed := d.replay.covers(e)
		if d.isSelf(e) {
			continue
		}
		m, ok := cls.Match(e)
		if !ok {
			continue
		}
		if replayed {
			r.feed(&m, nil) // delivered before the restart, derived events too
			continue
		}
		if m.HasEvent {
			events = append(events, m.Event)
		}
		events = r.feed(&m, events)
	}
	return events
}

// dispatch hands one batch's events to every sink; it blocks while the
// durable sinks' queue is full.
func (d *Daemon) dispatch(m mark, events []record.Event, snap *ruleSnap) error {
	ctx := d.readCtx
	if len(events) == 0 {
		d.tracker.skip(m, snap)
		return nil
	}
	var times []time.Time
	if len(d.sinks.durable) > 0 {
		times = make([]time.Time, len(events))
		for i := range events {
			times[i] = events[i].Time.Time
		}
	}
	seq, err := d.tracker.begin(ctx, m, times, snap, d.heartbeat)
	if err != nil {
		return err
	}
	for _, s := range d.sinks.durable {
		if err := s.add(ctx, seq, events); err != nil {
			return err
		}
	}
	for _, s := range d.sinks.stdout {
		s.send(events)
	}
	for _, n := range d.sinks.notifiers {
		n.Add(events)
	}
	return nil
}

// isSelf reports whether an entry is cflogd's own log line.
func (d *Daemon) isSelf(e *record.Entry) bool {
	if d.self.unit != "" && e.Unit == d.self.unit {
		return true
	}
	return e.PID == d.self.pid && d.self.boot != "" && e.BootID == d.self.boot && e.Host == d.hostname
}

// ownIdentity finds cflogd's PID, boot ID and systemd unit.
func ownIdentity() selfID {
	id := selfID{pid: os.Getpid()}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		id.boot = strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		id.unit = unitOfCgroup(string(b))
	}
	return id
}

// unitOfCgroup returns the .service unit a /proc/self/cgroup places the
// process in, or "".
func unitOfCgroup(s string) string {
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, seg := range strings.Split(parts[2], "/") {
			if strings.HasSuffix(seg, ".service") && !strings.HasPrefix(seg, "user@") {
				return seg
			}
		}
	}
	return ""
}

// gapEvent reports entries lost to rotation.
func (d *Daemon) gapEvent(g *tail.Gap) record.Event {
	d.m.gaps.Inc()
	fields := map[string]any{
		"saved_cursor":  g.Cursor,
		"resume_cursor": g.Resume,
	}
	var summary string
	span := ""
	if !g.Time.IsZero() && !g.ResumeTime.IsZero() {
		fields["from"] = record.Time{Time: g.Time}
		fields["to"] = record.Time{Time: g.ResumeTime}
		fields["gap_seconds"] = g.ResumeTime.Sub(g.Time).Seconds()
		span = fmt.Sprintf(" between %s and %s", g.Time.UTC().Format(time.RFC3339), g.ResumeTime.UTC().Format(time.RFC3339))
	}
	if g.Lost >= 0 {
		fields["lost_entries"] = g.Lost
		d.m.lost.Add(float64(g.Lost))
		summary = fmt.Sprintf("%d journal entries%s were rotated away before cflogd read them", g.Lost, span)
	} else {
		summary = fmt.Sprintf("journal entries%s were rotated away before cflogd read them (how many is unknown)", span)
	}
	t := g.ResumeTime
	if t.IsZero() {
		t = time.Now()
	}
	ev := record.Event{
		Time:        record.Time{Time: t},
		Host:        d.hostname,
		Unit:        "cflogd.service",
		Signature:   GapSignature,
		Severity:    record.Warning,
		Summary:     summary,
		Fields:      fields,
		Message:     summary,
		Priority:    4,
		Cursor:      g.Resume,
		Fingerprint: fmt.Sprintf("%016x", xxhash.Sum64String(GapSignature+"\x00"+d.hostname)),
	}
	d.log.Warn().Str("cursor", g.Cursor).Int64("lost", g.Lost).Msg(summary)
	return ev
}

// checkpoint saves the cursor the durable sinks are done with, and the
// notification logs. What cannot be written (a full or read-only file
// system) is tried again at the next checkpoint; delivery goes on.
func (d *Daemon) checkpoint(dir *state.Dir) {
	m, changed, snap := d.tracker.checkpoint()
	var failed error
	wrote := false
	if changed {
		err := dir.SaveCursor(state.Cursor{Cursor: m.cursor, Time: m.time, Saved: time.Now()})
		wrote = true
		if err != nil {
			d.m.checkpointErr.Inc()
			failed = fmt.Errorf("save cursor %s: %w", m.cursor, err)
			d.tracker.retry(true, snap)
			snap = nil // it may be past the cursor on disk
		} else {
			d.m.checkpoints.Inc()
			d.m.checkpointAt.SetToCurrentTime()
		}
	}
	if snap != nil {
		// After the cursor: a crash between the two writes leaves windows
		// older than the cursor, which the next start replays up to it.
		wrote = true
		if err := saveSnap(dir, snap); err != nil {
			d.m.checkpointErr.Inc()
			failed = cmp.Or(failed, fmt.Errorf("save rule windows: %w", err))
			d.tracker.retry(false, snap)
		}
	}
	for _, n := range d.sinks.notifiers {
		b, changed, err := n.MarshalState()
		if err != nil {
			d.log.Error().Err(err).Str("sink", n.name).Msg("encode notification log")
			continue
		}
		if !changed {
			continue
		}
		wrote = true
		if err := dir.WriteFile(notifyFile(n.name), b); err != nil {
			d.m.checkpointErr.Inc()
			failed = cmp.Or(failed, fmt.Errorf("save notification log of sink %s: %w", n.name, err))
			n.markDirty()
		}
	}
	if wrote {
		d.stateHealth.report(d.log, dir.Path(), failed)
	}
}

// stateHealth reports state files that cannot be written: loudly at the
// first failure, then at most once per stateReportEvery while it lasts, and
// once when writing works again.
type stateHealth struct {
	failures int       // failed checkpoints in a row
	reported time.Time // when the failure was last logged
}

// stateReportEvery bounds how often a lasting checkpoint failure is logged.
const stateReportEvery = time.Minute

func (h *stateHealth) report(log zerolog.Logger, path string, err error) {
	now := time.Now()
	if err == nil {
		if h.failures > 0 {
			log.Info().Str("state_dir", path).Int("failed_checkpoints", h.failures).
				Msg("state directory writable again: cursor saved")
		}
		h.failures = 0
		return
	}
	h.failures++
	if h.failures > 1 && now.Sub(h.reported) < stateReportEvery {
		return
	}
	h.reported = now
	log.Error().Err(err).Str("state_dir", path).Str("problem", state.Problem(err)).Int("failed_checkpoints", h.failures).
		Msg("cannot checkpoint; events are still delivered, and the cursor is saved as soon as the state directory can be written (a restart before then repeats the events since the last saved cursor)")
}

func notifyFile(sink string) string { return "notify-" + filepath.Base(sink) + ".json" }

// loadNotifyState restores the notification logs.
func (d *Daemon) loadNotifyState(dir *state.Dir) {
	for _, n := range d.sinks.notifiers {
		b, err := dir.ReadFile(notifyFile(n.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = n.UnmarshalState(b)
		}
		if err != nil {
			d.log.Error().Err(err).Str("sink", n.name).Msg("cannot use the notification log; notifications may repeat")
		}
	}
}
