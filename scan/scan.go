// Package scan is cflogd scan: it reads a window of the journal (or
// journalctl's output), runs the entries through the engine and reports the
// events, as a table for a person or as JSON.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/engine"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/scan/report"
	stdoutsink "github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/tail"
)

// maxSkipLogs is how many skipped input entries are logged one by one.
const maxSkipLogs = 10

// Config is a validated scan.
type Config struct {
	Since, Until time.Time // zero: open
	ReportUntil  time.Time // the table's end when Until is open
	// Units are the units read (Input: JSON and export entries of others
	// are dropped); UnitsGiven says the user named them.
	Units      []string
	UnitsGiven bool
	Boot       string
	// FieldPrefix is the services' tracing-journald field prefix ("F":
	// F_DURATION is the field duration; "": no prefix).
	FieldPrefix string
	// Reader is the journal reader: tail.ReaderNative (also when empty)
	// or tail.ReaderSDJournal.
	Reader    string
	Files     []string
	Directory string
	// Input is a file of journalctl output, "-" for Env.Stdin.
	Input string
	// Output is "table", "json" or "jsonl".
	Output      string
	MinSeverity record.Severity
	FailOn      record.Severity // 0: never
	RunbookBase string
	// Host is the host of input entries that name none.
	Host string
	// Hosts, when not empty, keeps only the entries of these hosts
	// (_HOSTNAME, or Host for input entries that name none).
	Hosts []string
	// Follow follows the journal from its end (or Since) until ctx ends,
	// printing each event as it comes, then writes the report (Output
	// "table") of what it saw. It reads a journal, not Input, and takes no
	// Until or Boot.
	Follow bool
	// SourceLabel and HeaderUnits are what the table's header says was read.
	SourceLabel string
	HeaderUnits []string
	// PatternDirs are the pattern directories loaded over the built-in
	// library, for the header.
	PatternDirs []string
}

// Env is what a scan touches of the outside world.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Now            func() time.Time
	Location       *time.Location
	Log            zerolog.Logger
	// Color and Width style the table (Width 0: 120 columns).
	Color bool
	Width int
	// Progress shows a progress line on Stderr after ProgressAfter.
	Progress      bool
	ProgressAfter time.Duration
	// Workers classify in parallel (at least 1).
	Workers int
	// Warn, if set, reports a problem the scan goes on despite (journal
	// files it cannot read); default a line on Stderr.
	Warn func(error)
}

// ErrOutput wraps a failure to write the report or the events.
var ErrOutput = errors.New("write output")

// Result is what a finished scan found.
type Result struct {
	// Found reports an event at or above Config.FailOn.
	Found bool
}

// Run scans with the signatures and rules of lib. An error is a read
// failure (the report of what was read is written all the same, when
// anything was) or, wrapping ErrOutput, a failure to write.
func Run(ctx context.Context, cfg *Config, lib *patterns.Library, env Env) (Result, error) {
	eng := engine.New(lib, engine.Options{RunbookBase: cfg.RunbookBase, Log: env.Log})

	// Bad input is skipped and the scan goes on; the first few skips are
	// logged when it ends (not while the progress line is up).
	var skipMu sync.Mutex
	var skipErrs []error
	skips := 0
	files, err := checkAccess(cfg, env)
	if err != nil {
		return Result{}, err
	}
	if cfg.Follow {
		return follow(ctx, cfg, eng, files, env)
	}
	var inStats tail.InputStats
	read, closeInput, err := reader(cfg, files, env, eng.HasRules(), lib.JournalFields(), lib.Services.Identifiers(), &inStats, func(err error) {
		skipMu.Lock()
		defer skipMu.Unlock()
		if skips++; skips <= maxSkipLogs {
			skipErrs = append(skipErrs, err)
		}
	})
	if err != nil {
		return Result{}, err
	}
	defer closeInput()
	read = filterHosts(read, cfg.Hosts)

	rep := report.New(report.Options{Since: cfg.Since, Until: cfg.ReportUntil, MinSeverity: cfg.MinSeverity, Home: lib.HomeUnits()})
	var out *stdoutsink.Writer
	switch cfg.Output {
	case "jsonl":
		out = stdoutsink.New(env.Stdout, stdoutsink.Lines)
	case "json":
		out = stdoutsink.New(env.Stdout, stdoutsink.Array)
	}

	start := env.Now()
	prog := newProgress(env.Stderr, env.Progress, env.ProgressAfter, env.Now)
	var res Result
	var events uint64
	handle := func(ev *record.Event) error {
		if cfg.FailOn != 0 && ev.Severity >= cfg.FailOn {
			res.Found = true
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
		return outputErr(out.Write(ev))
	}
	// Events come in journal order, each followed by the derived events it
	// made fire.
	consume := func(entries []record.Entry, evs []record.Event) error {
		for i := range entries {
			rep.EntryOn(entries[i].Time, entries[i].Host)
		}
		for i := range evs {
			if err := handle(&evs[i]); err != nil {
				return err
			}
		}
		prog.update(rep.Entries(), events)
		return nil
	}
	scanErr := eng.Run(ctx, max(env.Workers, 1), read, consume)
	prog.clear()
	skipMu.Lock()
	for _, err := range skipErrs {
		env.Log.Warn().Err(err).Msg("skipped malformed input entry")
	}
	if skips > maxSkipLogs {
		env.Log.Warn().Int("entries", skips).Msg("skipped malformed input entries in all")
	}
	skipMu.Unlock()

	input := report.Input{
		First: inStats.First, Last: inStats.Last,
		OutsideWindow: inStats.OutsideWindow, OtherUnits: inStats.OtherUnits, OtherUnitNames: inStats.OtherUnitNames,
	}
	var outErr error
	switch {
	case out != nil:
		outErr = out.Close()
		if note := rep.InputNote(input, env.Location); note != "" {
			fmt.Fprintf(env.Stderr, "cflogd scan: %s\n", note)
		}
	case scanErr != nil && rep.Entries() == 0:
		// Nothing was read: the error says it all.
	default:
		outErr = rep.Render(env.Stdout, report.Header{
			Units:    cfg.HeaderUnits,
			Source:   cfg.SourceLabel,
			Patterns: cfg.PatternDirs,
			Input:    input,
			Elapsed:  env.Now().Sub(start),
		}, report.Style{Color: env.Color, Width: env.Width, Location: env.Location})
	}
	if scanErr != nil {
		return res, scanErr
	}
	return res, outputErr(outErr)
}

// outputErr wraps a failure to write in ErrOutput; nil stays nil.
func outputErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrOutput, err)
}

// checkAccess checks that the journal can be read: sd-journal skips the
// files it cannot open, and a scan that read nothing because it could not
// must not say that all is quiet. Nothing readable is an error (wrapping
// tail.ErrBlind); some files unreadable are named through Env.Warn and the scan
// reads the rest, of which it returns the files when Config.Files named
// them.
func checkAccess(cfg *Config, env Env) ([]string, error) {
	if cfg.Input != "" {
		return nil, nil
	}
	acc := tail.CheckAccess(cfg.Directory, cfg.Files)
	err := acc.Err()
	switch {
	case err == nil:
		return cfg.Files, nil
	case acc.Blind():
		return nil, err
	}
	if env.Warn != nil {
		env.Warn(err)
	} else {
		fmt.Fprintf(env.Stderr, "cflogd scan: %v\n", err)
	}
	cfg.SourceLabel += fmt.Sprintf(" (%d of %d files unreadable)", len(acc.Unreadable), len(acc.Files))
	if len(cfg.Files) > 0 {
		return acc.Readable(), nil
	}
	return nil, nil
}

// reader returns the function that reads the configured source (files, when
// not empty, instead of Config.Files). rules says the library has rules over
// time, which read cursors; journal names the journal fields classification
// reads; ids are the services' identifiers (tail.Options.Identifiers);
// stats gets what an input held besides.
func reader(cfg *Config, files []string, env Env, rules bool, journal []string, ids map[string]string, stats *tail.InputStats, skipped func(error)) (engine.ReadFunc, func(), error) {
	fields := tail.SelectFields(cfg.FieldPrefix, journal)
	if cfg.Input == "" {
		opts := tail.Options{
			Directory:   cfg.Directory,
			Files:       files,
			Units:       cfg.Units,
			Identifiers: ids,
			Since:       cfg.Since,
			Until:       cfg.Until,
			Boot:        cfg.Boot,
			Fields:      fields,
			Reader:      cfg.Reader,
			OnFallback: func(err error) {
				env.Log.Warn().Err(err).Msg("native journal reader: reading on through sd-journal")
			},
			// The table shows no cursors, and formatting one per entry
			// costs about a tenth of the reader's time; but rules over
			// time read a clock step back from the cursors' monotonic
			// time, and scan must derive what the daemon derives.
			NoCursor: cfg.Output == "table" && !rules,
		}
		return func(ctx context.Context, fn func([]record.Entry) error) error {
			return tail.ReadJournal(ctx, opts, fn)
		}, func() {}, nil
	}
	var r = env.Stdin
	closeFn := func() {}
	if cfg.Input != "-" {
		f, err := os.Open(cfg.Input)
		if err != nil {
			return nil, nil, err // "open NAME: why", with the name given
		}
		r, closeFn = f, func() { f.Close() }
	}
	opts := tail.InputOptions{
		Stats:       stats,
		Host:        cfg.Host,
		Since:       cfg.Since,
		Until:       cfg.Until,
		Location:    env.Location,
		Now:         env.Now,
		OnSkip:      skipped,
		Units:       cfg.Units,
		Identifiers: ids,
		Fields:      fields,
	}
	if cfg.UnitsGiven && len(cfg.Units) == 1 {
		opts.Unit = cfg.Units[0]
	}
	return func(ctx context.Context, fn func([]record.Entry) error) error {
		return tail.ReadInput(ctx, r, opts, fn)
	}, closeFn, nil
}

// filterHosts keeps only the entries of hosts (all when it is empty). The
// rules over time see what is kept, as if the journal held nothing else.
func filterHosts(read engine.ReadFunc, hosts []string) engine.ReadFunc {
	if len(hosts) == 0 {
		return read
	}
	keep := hostFilter(hosts)
	return func(ctx context.Context, fn func([]record.Entry) error) error {
		return read(ctx, func(batch []record.Entry) error {
			if batch = keep(batch); len(batch) == 0 {
				return nil
			}
			return fn(batch)
		})
	}
}

// hostFilter returns what keeps, in place, the entries of a batch whose
// host is one of hosts (all of them when hosts is empty).
func hostFilter(hosts []string) func([]record.Entry) []record.Entry {
	if len(hosts) == 0 {
		return func(b []record.Entry) []record.Entry { return b }
	}
	keep := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		keep[h] = true
	}
	return func(batch []record.Entry) []record.Entry {
		out := batch[:0]
		for i := range batch {
			if keep[batch[i].Host] {
				out = append(out, batch[i])
			}
		}
		clear(batch[len(out):])
		return out
	}
}
