package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/engine"
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
	// AccessCheck is how often the daemon checks that it can read the
	// journal files (while it cannot, and while it follows); default
	// DefaultAccessCheck.
	AccessCheck time.Duration
}

// Daemon is cflogd run.
type Daemon struct {
	cfg      *config.Config
	log      zerolog.Logger
	opts     Options
	m        *metrics
	sinks    *sinks
	tracker  *tracker
	eng      *engine.Engine
	reloadMu sync.Mutex // serialises Reload
	replay   replay     // entries after a restart that only feed the rules
	lastMark mark       // the last batch handed to the tracker, if the rules saw nothing after it
	lastSnap time.Time  // when the rule windows were last snapshotted

	hostname string
	self     selfID
	reads    readerInputs // what the journal reader reads, fixed at start
	libUnits bool         // the configuration names no units: the services' are read

	// Reader state for metrics, health and the watchdog.
	lastBeat  atomic.Int64 // unix nanoseconds of the reader loop's last heartbeat
	newest    atomic.Int64 // unix microseconds of the newest entry read
	atEnd     atomic.Bool
	ready     atomic.Bool
	stopping  atomic.Bool
	readyOnce sync.Once

	// Journal access, as the last check found it (see access.go).
	unreadable atomic.Int64
	accessMsg  atomic.Pointer[string]

	// stateHealth is used by the checkpoints, which run one at a time.
	stateHealth stateHealth

	// Consumer-side state, used by the goroutine that runs consume.
	unitCount map[string]float64
	readCtx   context.Context // Run's ctx: dispatch stops waiting when it ends
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
	opts.Coalesce = cmp.Or(opts.Coalesce, DefaultCoalesce)
	if opts.AccessCheck <= 0 {
		opts.AccessCheck = DefaultAccessCheck
	}
	d := &Daemon{cfg: cfg, log: opts.Log, opts: opts, m: newMetrics(opts.Version), unitCount: map[string]float64{}}
	d.hostname, _ = os.Hostname()
	d.self = ownIdentity()
	lib, err := d.loadPatterns()
	d.recordReload(lib, err)
	if err != nil {
		return nil, err
	}
	d.eng = engine.New(lib, engine.Options{RunbookBase: cfg.RunbookBase, Ignore: d.isSelf, Log: opts.Log})
	d.libUnits = d.cfg.Units == nil // the configuration names none: the library's services
	d.reads = d.readerInputsOf(lib)
	d.cfg.Units = d.reads.units
	d.sinks, err = buildSinks(cfg, cfg.QueueSize, opts.Stdout, opts.Log, d.ack, d.m, opts.Now)
	if err != nil {
		return nil, err
	}
	d.tracker = newTracker(cfg.QueueSize, len(d.sinks.durable))
	d.m.reg.MustRegister(d.sinks.stats)
	d.m.gauge("cflogd_queue_depth", "Batches of read entries waiting for the durable sinks.", func() float64 { return float64(d.tracker.depth()) })
	d.m.gauge("cflogd_queue_capacity", "Batches that may wait before the reader stops (queue_size).", func() float64 { return float64(cfg.QueueSize) })
	d.m.gauge("cflogd_journal_lag_seconds", "Now minus the newest entry read, while the reader is behind; 0 once it has read everything.", d.lag)
	d.m.gauge("cflogd_journal_files_unreadable", "Journal files (and directories) that could not be opened for reading at the last check: the reader skips them.",
		func() float64 { return float64(d.unreadable.Load()) })
	d.m.gauge("cflogd_cursor_age_seconds", "How long the oldest entry read but not yet covered by the saved cursor has been waiting; 0 when the cursor is current.", d.cursorAge)
	return d, nil
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
	// Not ready while blind: the reader starts once some journal file can
	// be read, and access is checked again while it follows.
	readErr := d.waitReadable(ctx)
	if readErr == nil {
		accCtx, cancelAcc := context.WithCancel(ctx)
		accDone := make(chan struct{})
		go func() {
			defer close(accDone)
			d.watchAccess(accCtx)
		}()
		readErr = tail.Follow(ctx, fopts, d.consume)
		cancelAcc()
		<-accDone
	}
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
		Identifiers: d.reads.idents,
		Fields:      tail.SelectFields(d.cfg.Journal.FieldPrefix, d.reads.fields),
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
	for i := range b.Entries {
		d.unitCount[b.Entries[i].Unit]++
	}
	entries := b.Entries
	if n := d.replay.prefix(entries); n > 0 {
		d.eng.Replay(entries[:n]) // delivered before the restart, derived events too
		entries = entries[n:]
	}
	events = d.eng.Process(entries, events)
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
		return nil // all of it was delivered before the restart
	}
	snap, err := d.snapshot(m, d.cfg.CheckpointInterval, m.read)
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
