package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/internal/timeparse"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/scan"
	"github.com/centra-cloud/cflogd/tail"
)

// defaultSince is the window scan reads from the local journal when no
// window, boot or other source is given.
const defaultSince = "1h"

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

With -f (--follow), scan follows the journal from its end (or --since) and
prints each event as it is classified, one line each (coloured on a
terminal); Ctrl-C (SIGINT) stops it and prints the report of what it saw.

Over the journals of several hosts, the table says which hosts had each
signature and how many entries and events each host gave; --host keeps
only some hosts' entries.

A journal file that cannot be opened (permissions) is named on stderr and
the rest is read; when none can be, scan fails (exit 3) rather than report
a quiet journal.

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
	hosts       stringList
	inputHost   string
	follow      bool
	noColor     bool
	fieldPrefix string
	reader      string
}

func newScanFlags(a *app) *scanFlags {
	f := &scanFlags{fs: flag.NewFlagSet("scan", flag.ContinueOnError)}
	fs := f.fs
	fs.StringVar(&f.since, "since", "", "read entries at or after `TIME`\n(default 1h when reading the local journal without --until or --boot)")
	fs.StringVar(&f.until, "until", "", "read entries at or before `TIME`")
	fs.Var(withChoices(&f.units, append(serviceWords(), "all")...), "unit", "read `UNIT` (chainfire, flaredb, placement-driver or pd, or the .service name);\nrepeatable; default the three services. With --input: the unit of text lines")
	fs.Var(&f.boot, "boot", "only entries of the current boot, or of boot ID, or offset (-1: the one before)")
	fs.Var(&f.files, "file", "read the journal `FILE` instead of the local journal; repeatable")
	fs.StringVar(&f.directory, "directory", "", "read the journal files in `DIR` instead of the local journal")
	fs.StringVar(&f.input, "input", "", "read journalctl output (-o cat, short, json or export) from `FILE`, - for stdin")
	stringFlag(fs, &f.output, "output", "table", "output `FORMAT`: table (for a person), json (one array) or jsonl (one event per line)", "table", "json", "jsonl")
	stringFlag(fs, &f.minSeverity, "min-severity", "warning", "report events of at least `SEVERITY`: info, warning, error, critical\n(any case; also journalctl's priorities: emerg, alert, crit, err, notice, debug, 0-7)", severityWords...)
	stringFlag(fs, &f.failOn, "fail-on", "", "exit 1 when an event of at least `SEVERITY` is found, reported or not (default never);\nthe names --min-severity takes", severityWords...)
	fs.Var(&f.patterns, "patterns", "also load the pattern files (*.yaml) in `DIR`; repeatable"+a.sitePatternsNote())
	fs.StringVar(&f.runbookBase, "runbook-base", record.DefaultRunbookBase, "`URL` the runbook links start with")
	fs.Var(&f.hosts, "host", "only entries of `HOST` (_HOSTNAME); repeatable. It used to mean --input-host:\nwith --input and no --input-host, a single --host also names the host of entries that name none")
	fs.StringVar(&f.inputHost, "input-host", "", "with --input: the `HOST` of entries that name none (default this machine's name)")
	fs.BoolVar(&f.follow, "follow", false, "follow the journal as journalctl -f: print each event as it is classified, from the\njournal's end (or --since); Ctrl-C (SIGINT) stops and prints the report of what was seen")
	fs.StringVar(&f.fieldPrefix, "field-prefix", "F", "the services' tracing-journald field `PREFIX` (F: F_DURATION is the field duration; \"\": none)")
	stringFlag(fs, &f.reader, "reader", tail.ReaderNative, "journal `READER`: native (reads the files' format, sd-journal decides where to start)\nor sdjournal (every entry through libsystemd's sd-journal)", tail.ReaderNative, tail.ReaderSDJournal)
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the table (also: NO_COLOR set in the environment)")
	// journalctl's short flags, where they mean the same.
	alias(fs, "S", "since")
	alias(fs, "U", "until")
	alias(fs, "u", "unit")
	alias(fs, "b", "boot")
	alias(fs, "D", "directory")
	alias(fs, "o", "output")
	alias(fs, "p", "min-severity")
	alias(fs, "f", "follow")
	return f
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
	if code, ok := a.parseNoArgs(c, f.fs, expandBoot(f.fs, args)); !ok {
		return code
	}
	cfg, err := a.scanConfig(f)
	if err != nil {
		return a.usageError(c, "%v", err)
	}
	return a.runScan(ctx, cfg)
}

// scanCommandConfig is a scan as the flags give it: what package scan runs,
// and what the command does around it.
type scanCommandConfig struct {
	scan.Config
	patternDirs  []string
	unitArgs     []string // --unit as given
	noColor      bool
	localJournal bool
}

// runScan loads the patterns and runs the scan.
func (a *app) runScan(ctx context.Context, cfg *scanCommandConfig) int {
	c := scanCommand()
	log := a.logger(cfg.noColor)
	lib, code := a.loadPatterns(c, cfg.patternDirs)
	if lib == nil {
		return code
	}
	if err := cfg.resolveUnits(lib.Services); err != nil {
		return a.usageError(c, "%v", err)
	}
	width := 0
	if a.isTerminal(a.stdout) {
		width = a.termWidth(a.stdout)
	}
	workers := a.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	res, err := scan.Run(ctx, &cfg.Config, lib, scan.Env{
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr,
		Now: a.now, Location: a.loc, Log: log,
		Color: a.useColor(a.stdout, cfg.noColor), Width: width,
		Progress: a.isTerminal(a.stderr), ProgressAfter: a.progressAfter,
		Workers: workers,
		Warn: func(err error) {
			fmt.Fprintf(a.stderr, "cflogd %s: %s%s\n", c.name, strings.Join(strings.Fields(err.Error()), " "), hint(err))
		},
	})
	switch {
	case err != nil:
		return a.failure(c, err)
	case res.Found:
		return exitFound
	}
	return exitOK
}

// scanConfig validates the flags.
func (a *app) scanConfig(f *scanFlags) (*scanCommandConfig, error) {
	cfg := &scanCommandConfig{
		Config: scan.Config{
			Files:       f.files,
			Directory:   f.directory,
			Input:       f.input,
			Output:      f.output,
			RunbookBase: f.runbookBase,
			Host:        f.inputHost,
			Hosts:       f.hosts,
			FieldPrefix: f.fieldPrefix,
			Reader:      f.reader,
		},
		patternDirs: a.patternDirs(f.patterns),
		noColor:     f.noColor,
	}
	cfg.PatternDirs = cfg.patternDirs
	if cfg.Host == "" && cfg.Input != "" && len(f.hosts) == 1 {
		// --host used to mean --input-host: such a command line still
		// reads its input as that host's (and keeps only its entries).
		cfg.Host = f.hosts[0]
	}
	cfg.Host = cmp.Or(cfg.Host, a.hostname)
	switch f.output {
	case "table", "json", "jsonl":
	default:
		return nil, fmt.Errorf("--output %q: want table, json or jsonl", f.output)
	}
	if f.reader != tail.ReaderNative && f.reader != tail.ReaderSDJournal {
		return nil, fmt.Errorf("--reader %q: want %s or %s", f.reader, tail.ReaderNative, tail.ReaderSDJournal)
	}
	var err error
	if cfg.MinSeverity, err = parseSeverity(f.minSeverity); err != nil {
		return nil, fmt.Errorf("--min-severity: %w", err)
	}
	if f.failOn != "" {
		if cfg.FailOn, err = parseSeverity(f.failOn); err != nil {
			return nil, fmt.Errorf("--fail-on: %w", err)
		}
	}
	if cfg.Input != "" && (len(cfg.Files) > 0 || cfg.Directory != "") {
		return nil, errors.New("--input cannot be combined with --file or --directory")
	}
	if f.inputHost != "" && cfg.Input == "" {
		return nil, errors.New("--input-host only applies to --input")
	}
	if f.follow {
		switch {
		case cfg.Input != "":
			return nil, errors.New("--follow needs a journal, not --input")
		case f.until != "":
			return nil, errors.New("--follow cannot be combined with --until")
		case f.boot.set:
			return nil, errors.New("--follow cannot be combined with --boot")
		case f.output == "json":
			return nil, errors.New("--follow prints events as they come: use --output table or jsonl, not json")
		}
		cfg.Follow = true
	}
	if cfg.Input != "" && f.boot.set {
		return nil, errors.New("--boot needs a journal, not --input")
	}
	if len(cfg.Files) > 0 && cfg.Directory != "" {
		return nil, errors.New("--file and --directory cannot be combined")
	}
	if f.boot.set && f.boot.value != "all" {
		cfg.Boot = f.boot.value
	}
	// The units are checked against the built-in services here and against
	// the loaded library's in runScan: a site file may add or rename one.
	cfg.unitArgs = f.units
	if cfg.Units, err = patterns.BuiltinServices().ParseUnits(f.units); err != nil {
		cfg.Units = nil
	}
	cfg.UnitsGiven = len(f.units) > 0
	cfg.localJournal = cfg.Input == "" && len(cfg.Files) == 0 && cfg.Directory == ""

	now := a.now()
	since := f.since
	if since == "" && f.until == "" && !f.boot.set && cfg.localJournal && !f.follow {
		since = defaultSince
	}
	if since != "" {
		if cfg.Since, err = timeparse.Parse(since, now, a.loc); err != nil {
			return nil, fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if cfg.Until, err = timeparse.Parse(f.until, now, a.loc); err != nil {
			return nil, fmt.Errorf("--until: %w", err)
		}
	}
	stamp := func(t time.Time) string { return t.In(a.loc).Format("2006-01-02 15:04:05 MST") }
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && cfg.Until.Before(cfg.Since) {
		return nil, fmt.Errorf("--until %s is before --since %s", stamp(cfg.Until), stamp(cfg.Since))
	}
	if f.since != "" && cfg.Since.After(now) {
		// "--since 10:00" at 06:43 is today's 10:00, which has not come.
		return nil, fmt.Errorf("--since %s is in the future: it is %s, now is %s", f.since, stamp(cfg.Since), stamp(now))
	}
	cfg.ReportUntil = cfg.Until
	if cfg.ReportUntil.IsZero() && cfg.localJournal && !cfg.Since.IsZero() && !f.boot.set && !f.follow {
		cfg.ReportUntil = now
	}

	switch {
	case cfg.Input == "-":
		cfg.SourceLabel = "standard input"
	case cfg.Input != "":
		cfg.SourceLabel = "input " + cfg.Input
	case len(cfg.Files) > 0:
		cfg.SourceLabel = "journal files " + strings.Join(cfg.Files, ", ")
	case cfg.Directory != "":
		cfg.SourceLabel = "journal directory " + cfg.Directory
	default:
		cfg.SourceLabel = "local journal"
	}
	if f.boot.set {
		b := f.boot.value
		if b == "0" {
			b = "current"
		}
		cfg.SourceLabel += ", boot " + b
	}
	if !cfg.UnitsGiven {
		// For --input, JSON and export entries of other units are dropped;
		// text lines keep their unit open (inferred from the target).
		cfg.Units = patterns.BuiltinServices().Units()
	}
	if cfg.Input == "" || cfg.UnitsGiven {
		cfg.HeaderUnits = cfg.Units
	}
	return cfg, nil
}

// resolveUnits names the units to read with the library's services, which
// a site file may have added to or renamed.
func (cfg *scanCommandConfig) resolveUnits(ss patterns.Services) error {
	units, err := ss.ParseUnits(cfg.unitArgs)
	if err != nil {
		return fmt.Errorf("--unit: %w", err)
	}
	if len(units) == 0 {
		units = ss.Units()
	}
	cfg.Units = units
	if cfg.Input == "" || cfg.UnitsGiven {
		cfg.HeaderUnits = units
	}
	return nil
}

// sitePatternsNote is what the help of --patterns says of the site's
// directories.
func (a *app) sitePatternsNote() string {
	if len(a.sitePatterns) == 0 {
		return ""
	}
	return ".\nFirst, as run does: the site's " + strings.Join(a.sitePatterns, ", ") + ", when it exists"
}

// patternDirs returns the site's pattern directories that exist (those run
// loads by default: scan and explain classify as run does), then the
// --patterns directories given (each once).
func (a *app) patternDirs(given []string) []string {
	var dirs []string
	for _, d := range a.sitePatterns {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			dirs = append(dirs, d)
		}
	}
	for _, d := range given {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// loadPatterns loads the built-in library and dirs, as the user named them.
// On errors it prints each (a pattern file's as file:line:col: msg) and
// returns a nil library with exitUsage.
func (a *app) loadPatterns(c *command, dirs []string) (*patterns.Library, int) {
	for _, d := range dirs {
		st, err := os.Stat(d)
		var pe *fs.PathError
		switch {
		case errors.As(err, &pe):
			fmt.Fprintf(a.stderr, "cflogd %s: pattern directory %s: %v (--patterns takes a directory of *.yaml files)\n", c.name, d, pe.Err)
			return nil, exitUsage
		case err != nil:
			fmt.Fprintf(a.stderr, "cflogd %s: pattern directory %s: %v\n", c.name, d, err)
			return nil, exitUsage
		case !st.IsDir():
			fmt.Fprintf(a.stderr, "cflogd %s: pattern directory %s is not a directory (--patterns takes a directory of *.yaml files)\n", c.name, d)
			return nil, exitUsage
		}
	}
	lib, err := patterns.Load(dirs)
	if err != nil {
		var list *patterns.ErrorList
		if errors.As(err, &list) {
			for _, e := range *list {
				fmt.Fprintln(a.stderr, e.Error())
			}
		} else {
			fmt.Fprintf(a.stderr, "cflogd %s: load patterns: %s\n", c.name, strings.Join(strings.Fields(err.Error()), " "))
		}
		return nil, exitUsage
	}
	return lib, exitOK
}
