package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/internal/report"
	"github.com/centra-cloud/cflogd/internal/timeparse"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	stdoutsink "github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/tail"
)

// defaultSince is the window scan reads from the local journal when no
// window, boot or other source is given.
const defaultSince = "1h"

// maxSkipLogs is how many skipped input entries are logged one by one.
const maxSkipLogs = 10

func scanCommand() *command {
	return &command{
		name:     "scan",
		synopsis: "report the signatures found in a window of the journal",
		usage:    "cflogd scan [--since T] [--until T] [--unit U]... [--boot [ID]] [--file F]... [--directory D] [--input FILE|-] [--output table|json|jsonl] [flags]",
		help: `
Reads journal entries of the chosen units, classifies them and reports the
events: as a table for a person (default), or as JSON events.

Without --since, --until, --boot or a source, scan reads the last hour of
chainfire, flaredb and placement-driver in the local journal. --file,
--directory and --input read everything unless --since/--until narrow it.

Times (--since, --until) take what journalctl takes: 1h, 30m, 2d, 90s (in
the past), -1h, +1h, "2 days ago", now, today, yesterday, tomorrow,
2026-11-26, "2026-11-26 10:00", "2026-11-26 10:00:00", RFC 3339, @UNIXTIME.
Zone-less times are local.

Exit status: 0 done, 1 an event at or above --fail-on was found, 2 usage or
pattern error, 3 the journal or input could not be read, or output failed.`,
		run: (*app).scan,
	}
}

// scanFlags are the flags of scan, as parsed.
type scanFlags struct {
	fs          *flag.FlagSet
	since       string
	until       string
	units       stringList
	boot        bootFlag
	files       stringList
	directory   string
	input       string
	output      string
	minSeverity string
	failOn      string
	patterns    stringList
	runbookBase string
	host        string
	noColor     bool
	threads     int
}

func newScanFlags(a *app) *scanFlags {
	f := &scanFlags{fs: flag.NewFlagSet("scan", flag.ContinueOnError)}
	fs := f.fs
	fs.StringVar(&f.since, "since", "", "read entries at or after `TIME`\n(default 1h when reading the local journal without --until or --boot)")
	fs.StringVar(&f.until, "until", "", "read entries at or before `TIME`")
	fs.Var(&f.units, "unit", "read `UNIT` (chainfire, flaredb, placement-driver or pd, or the .service name);\nrepeatable; default the three services. With --input: the unit of text lines")
	fs.Var(&f.boot, "boot", "only entries of the current boot, or of boot ID, or offset (-1: the one before)")
	fs.Var(&f.files, "file", "read the journal `FILE` instead of the local journal; repeatable")
	fs.StringVar(&f.directory, "directory", "", "read the journal files in `DIR` instead of the local journal")
	fs.StringVar(&f.input, "input", "", "read journalctl output (-o cat, short, json or export) from `FILE`, - for stdin")
	fs.StringVar(&f.output, "output", "table", "output `FORMAT`: table (for a person), json (one array) or jsonl (one event per line)")
	fs.StringVar(&f.minSeverity, "min-severity", "warning", "report events of at least `SEVERITY`: info, warning, error, critical")
	fs.StringVar(&f.failOn, "fail-on", "", "exit 1 when an event of at least `SEVERITY` is found, reported or not (default never)")
	fs.Var(&f.patterns, "patterns", "also load the pattern files (*.yaml) in `DIR`; repeatable")
	fs.StringVar(&f.runbookBase, "runbook-base", record.DefaultRunbookBase, "`URL` the runbook links start with")
	fs.StringVar(&f.host, "host", "", "with --input: the `HOST` of entries that name none (default this machine's name)")
	fs.IntVar(&f.threads, "threads", 0, "`N` threads reading the journal (0: 2 on machines with 4 or more CPUs, else 1)")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the table (also: NO_COLOR set in the environment)")
	return f
}

// scanConfig is a validated scan.
type scanConfig struct {
	since, until time.Time // zero: open
	reportUntil  time.Time // the table's end when until is open
	units        []string  // the units read (--input: JSON and export entries of others are dropped)
	unitsGiven   bool
	boot         string
	rules        bool // the library has rules over time: read cursors for them
	files        []string
	directory    string
	input        string
	output       string
	minSeverity  record.Severity
	failOn       record.Severity // 0: never
	patternDirs  []string
	runbookBase  string
	host         string
	noColor      bool
	threads      int
	localJournal bool
	sourceLabel  string
	headerUnits  []string
}

func (a *app) scan(ctx context.Context, args []string) int {
	// A scan allocates short-lived strings for every entry while keeping
	// only a few MiB of aggregates: collecting garbage less often takes the
	// collector off the reader's critical path (about 15% of the wall time
	// on the benchmark journal) for about 10 MiB more heap. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	c := scanCommand()
	f := newScanFlags(a)
	if code, ok := a.parseFlags(c, f.fs, expandBoot(f.fs, args)); !ok {
		return code
	}
	if f.fs.NArg() > 0 {
		return a.usageError(c, "unexpected argument %q", f.fs.Arg(0))
	}
	cfg, err := a.scanConfig(f)
	if err != nil {
		return a.usageError(c, "%v", err)
	}
	return a.runScan(ctx, cfg)
}

// scanConfig validates the flags.
func (a *app) scanConfig(f *scanFlags) (*scanConfig, error) {
	cfg := &scanConfig{
		files:       f.files,
		directory:   f.directory,
		input:       f.input,
		output:      f.output,
		patternDirs: f.patterns,
		runbookBase: f.runbookBase,
		host:        f.host,
		noColor:     f.noColor,
	}
	if cfg.host == "" {
		cfg.host = a.hostname
	}
	switch f.output {
	case "table", "json", "jsonl":
	default:
		return nil, fmt.Errorf("--output %q: want table, json or jsonl", f.output)
	}
	var err error
	if cfg.minSeverity, err = record.ParseSeverity(f.minSeverity); err != nil {
		return nil, fmt.Errorf("--min-severity: %w", err)
	}
	if f.failOn != "" {
		if cfg.failOn, err = record.ParseSeverity(f.failOn); err != nil {
			return nil, fmt.Errorf("--fail-on: %w", err)
		}
	}
	if cfg.input != "" && (len(cfg.files) > 0 || cfg.directory != "") {
		return nil, errors.New("--input cannot be combined with --file or --directory")
	}
	if f.host != "" && cfg.input == "" {
		return nil, errors.New("--host only applies to --input")
	}
	if cfg.input != "" && f.boot.set {
		return nil, errors.New("--boot needs a journal, not --input")
	}
	if len(cfg.files) > 0 && cfg.directory != "" {
		return nil, errors.New("--file and --directory cannot be combined")
	}
	if f.threads < 0 {
		return nil, fmt.Errorf("--threads %d: want 0 (automatic) or more", f.threads)
	}
	cfg.threads = f.threads
	if f.boot.set && f.boot.value != "all" {
		cfg.boot = f.boot.value
	}
	cfg.units, err = parseUnits(f.units)
	if err != nil {
		return nil, fmt.Errorf("--unit: %w", err)
	}
	cfg.unitsGiven = len(cfg.units) > 0
	cfg.localJournal = cfg.input == "" && len(cfg.files) == 0 && cfg.directory == ""

	now := a.now()
	since := f.since
	if since == "" && f.until == "" && !f.boot.set && cfg.localJournal {
		since = defaultSince
	}
	if since != "" {
		if cfg.since, err = timeparse.Parse(since, now, a.loc); err != nil {
			return nil, fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if cfg.until, err = timeparse.Parse(f.until, now, a.loc); err != nil {
			return nil, fmt.Errorf("--until: %w", err)
		}
	}
	if !cfg.since.IsZero() && !cfg.until.IsZero() && cfg.until.Before(cfg.since) {
		return nil, fmt.Errorf("--until %s is before --since %s", cfg.until.Format(time.RFC3339), cfg.since.Format(time.RFC3339))
	}
	cfg.reportUntil = cfg.until
	if cfg.reportUntil.IsZero() && cfg.localJournal && !cfg.since.IsZero() && !f.boot.set {
		cfg.reportUntil = now
	}

	switch {
	case cfg.input == "-":
		cfg.sourceLabel = "standard input"
	case cfg.input != "":
		cfg.sourceLabel = "input " + cfg.input
	case len(cfg.files) > 0:
		cfg.sourceLabel = "journal files " + strings.Join(cfg.files, ", ")
	case cfg.directory != "":
		cfg.sourceLabel = "journal directory " + cfg.directory
	default:
		cfg.sourceLabel = "local journal"
	}
	if f.boot.set {
		b := f.boot.value
		if b == "0" {
			b = "current"
		}
		cfg.sourceLabel += ", boot " + b
	}
	if !cfg.unitsGiven {
		// For --input, JSON and export entries of other units are dropped;
		// text lines keep their unit open (inferred from the target).
		cfg.units = append([]string(nil), patterns.AllUnits...)
	}
	if cfg.input == "" || cfg.unitsGiven {
		cfg.headerUnits = cfg.units
	}
	return cfg, nil
}

// reader returns the function that reads the configured source.
func (a *app) reader(cfg *scanConfig, skipped func(error)) (func(ctx context.Context, fn func([]record.Entry) error) error, func(), error) {
	if cfg.input == "" {
		opts := tail.Options{
			Directory: cfg.directory,
			Files:     cfg.files,
			Units:     cfg.units,
			Since:     cfg.since,
			Until:     cfg.until,
			Boot:      cfg.boot,
			Parallel:  cfg.threads,
			// The table shows no cursors, and formatting one per entry
			// costs about a tenth of the reader's time; but rules over
			// time read a clock step back from the cursors' monotonic
			// time, and scan must derive what the daemon derives.
			NoCursor: cfg.output == "table" && !cfg.rules,
		}
		return func(ctx context.Context, fn func([]record.Entry) error) error {
			return tail.ReadJournal(ctx, opts, fn)
		}, func() {}, nil
	}
	var r io.Reader = a.stdin
	closeFn := func() {}
	if cfg.input != "-" {
		f, err := os.Open(cfg.input)
		if err != nil {
			return nil, nil, fmt.Errorf("open input: %w", err)
		}
		r, closeFn = f, func() { f.Close() }
	}
	opts := tail.InputOptions{
		Host:     cfg.host,
		Since:    cfg.since,
		Until:    cfg.until,
		Location: a.loc,
		Now:      a.now,
		OnSkip:   skipped,
	}
	opts.Units = cfg.units
	if cfg.unitsGiven && len(cfg.units) == 1 {
		opts.Unit = cfg.units[0]
	}
	return func(ctx context.Context, fn func([]record.Entry) error) error {
		return tail.ReadInput(ctx, r, opts, fn)
	}, closeFn, nil
}

func (a *app) runScan(ctx context.Context, cfg *scanConfig) int {
	log := a.logger(cfg.noColor)
	lib, code := a.loadPatterns(cfg.patternDirs)
	if lib == nil {
		return code
	}
	cls := classify.New(lib, classify.Options{RunbookBase: cfg.runbookBase})
	cfg.rules = len(lib.Rules) > 0

	// Bad input is skipped and the scan goes on; the first few skips are
	// logged when it ends (not while the progress line is up).
	var skipMu sync.Mutex
	var skipErrs []error
	skips := 0
	read, closeInput, err := a.reader(cfg, func(err error) {
		skipMu.Lock()
		defer skipMu.Unlock()
		if skips++; skips <= maxSkipLogs {
			skipErrs = append(skipErrs, err)
		}
	})
	if err != nil {
		log.Error().Err(err).Msg("scan failed")
		return exitFailure
	}
	defer closeInput()

	rep := report.New(report.Options{Since: cfg.since, Until: cfg.reportUntil, MinSeverity: cfg.minSeverity})
	var out *stdoutsink.Writer
	switch cfg.output {
	case "jsonl":
		out = stdoutsink.New(a.stdout, stdoutsink.Lines)
	case "json":
		out = stdoutsink.New(a.stdout, stdoutsink.Array)
	}

	start := a.now()
	prog := newProgress(a.stderr, a.isTerminal(a.stderr), a.progressAfter, a.now)
	found := false
	var events uint64
	handle := func(ev *record.Event) error {
		if cfg.failOn != 0 && ev.Severity >= cfg.failOn {
			found = true
		}
		if !rep.Reportable(ev.Severity) {
			if out == nil {
				rep.Add(ev) // counted, and unclassified templates listed
			}
			return nil
		}
		events++
		if out == nil {
			rep.Add(ev)
			return nil
		}
		return out.Write(ev)
	}
	// Rules over time read the matches in journal order; their derived
	// events follow the event that made them fire.
	rules := classify.NewRules(lib, classify.Options{RunbookBase: cfg.runbookBase})
	var derived []record.Event
	consume := func(entries []record.Entry, ms []classify.Match) error {
		for i := range entries {
			rep.Entry(entries[i].Time)
		}
		for i := range ms {
			m := &ms[i]
			if m.HasEvent {
				if err := handle(&m.Event); err != nil {
					return err
				}
			}
			if !rules.Wants(m.Signature) {
				continue
			}
			derived = rules.Feed(m, derived[:0])
			for k := range derived {
				if err := handle(&derived[k]); err != nil {
					return err
				}
			}
		}
		prog.update(rep.Entries(), events)
		return nil
	}
	p := pipeline{workers: a.workers, classify: cls.MatchInto, keep: func(m *classify.Match) bool { return rules.Wants(m.Signature) }, log: &log}
	if p.workers <= 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	scanErr := p.run(ctx, read, consume)
	prog.clear()
	skipMu.Lock()
	for _, err := range skipErrs {
		log.Warn().Err(err).Msg("skipped malformed input entry")
	}
	if skips > maxSkipLogs {
		log.Warn().Int("entries", skips).Msg("skipped malformed input entries in all")
	}
	skipMu.Unlock()

	var outErr error
	switch {
	case out != nil:
		outErr = out.Close()
	case scanErr != nil && rep.Entries() == 0:
		// Nothing was read: the error says it all.
	default:
		width := 120
		if a.isTerminal(a.stdout) {
			if w := a.termWidth(a.stdout); w > 0 {
				width = w
			}
		}
		outErr = rep.Render(a.stdout, report.Header{
			Units:   cfg.headerUnits,
			Source:  cfg.sourceLabel,
			Elapsed: a.now().Sub(start),
		}, report.Style{Color: a.useColor(a.stdout, cfg.noColor), Width: width, Location: a.loc})
	}
	switch {
	case scanErr != nil:
		logScanError(&log, scanErr)
		return exitFailure
	case outErr != nil:
		log.Error().Err(outErr).Msg("write output")
		return exitFailure
	case found:
		return exitFound
	}
	return exitOK
}

func logScanError(log *zerolog.Logger, err error) {
	if errors.Is(err, context.Canceled) {
		log.Error().Msg("scan interrupted")
		return
	}
	log.Error().Err(err).Msg("scan failed")
}

// loadPatterns loads the built-in library and dirs. On errors it prints each
// as file:line:col: msg and returns a nil library with exitUsage.
func (a *app) loadPatterns(dirs []string) (*patterns.Library, int) {
	lib, err := patterns.Load(dirs)
	if err != nil {
		var list *patterns.ErrorList
		if errors.As(err, &list) {
			for _, e := range *list {
				fmt.Fprintln(a.stderr, e.Error())
			}
		} else {
			fmt.Fprintf(a.stderr, "cflogd: load patterns: %v\n", err)
		}
		return nil, exitUsage
	}
	return lib, exitOK
}
