package scan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/centra-cloud/cflogd/engine"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/scan/report"
	stdoutsink "github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/tail"
)

// follow is Run with Config.Follow: the live view. It follows the journal
// like journalctl -f, from its end (or from Config.Since), prints each
// reportable event as it is classified (a line for a person, or a JSON
// line with Output "jsonl"), derived events included, and when ctx ends
// (SIGINT) writes the report of what it saw and returns without error.
func follow(ctx context.Context, cfg *Config, eng *engine.Engine, files []string, env Env) (Result, error) {
	opts := tail.FollowOptions{
		Directory:   cfg.Directory,
		Files:       files,
		Units:       cfg.Units,
		Identifiers: eng.Library().Services.Identifiers(),
		Fields:      tail.SelectFields(cfg.FieldPrefix, eng.Library().JournalFields()),
		Start:       tail.StartTail,
		Reader:      cfg.Reader,
	}
	from := "from its end"
	if !cfg.Since.IsZero() {
		opts.Start, opts.Since = tail.StartSince, cfg.Since
		from = "from " + cfg.Since.In(env.Location).Format("2006-01-02 15:04:05")
	}
	// The reader calls Heartbeat once it stands where it begins: from then
	// on, every entry written is shown.
	var started sync.Once
	opts.Heartbeat = func() {
		started.Do(func() {
			fmt.Fprintf(env.Stderr, "cflogd scan: following the %s %s; Ctrl-C stops and prints the report\n", cfg.SourceLabel, from)
		})
	}

	rep := report.New(report.Options{Since: cfg.Since, MinSeverity: cfg.MinSeverity, Home: eng.Library().HomeUnits()})
	bw := bufio.NewWriter(env.Stdout)
	var out *stdoutsink.Writer
	if cfg.Output == "jsonl" {
		out = stdoutsink.New(env.Stdout, stdoutsink.Lines)
	}
	style := report.Style{Color: env.Color, Width: env.Width, Location: env.Location}
	keep := hostFilter(cfg.Hosts)
	var res Result
	var evs []record.Event
	start := env.Now()
	err := tail.Follow(ctx, opts, func(b tail.FollowBatch) error {
		entries := keep(b.Entries)
		for i := range entries {
			rep.EntryOn(entries[i].Time, entries[i].Host)
		}
		evs = eng.Process(entries, evs[:0])
		for i := range evs {
			ev := &evs[i]
			if cfg.FailOn != 0 && ev.Severity >= cfg.FailOn {
				res.Found = true
			}
			rep.Add(ev)
			switch {
			case !rep.Reportable(ev.Severity):
			case out != nil:
				if err := out.Write(ev); err != nil {
					return outputErr(err)
				}
			default:
				bw.WriteString(report.Line(ev, style))
				bw.WriteByte('\n')
			}
		}
		// Each batch shows at once.
		if out != nil {
			return outputErr(out.Flush())
		}
		return outputErr(bw.Flush())
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // Ctrl-C: the end a live view has
	}
	if err != nil {
		return res, err
	}
	if out != nil {
		return res, outputErr(out.Close())
	}
	// The report starts on a line of its own after the terminal's "^C".
	fmt.Fprintln(bw)
	err = rep.Render(bw, report.Header{
		Units:    cfg.HeaderUnits,
		Source:   cfg.SourceLabel + ", followed " + from,
		Elapsed:  env.Now().Sub(start),
		Patterns: cfg.PatternDirs,
	}, style)
	if err == nil {
		err = bw.Flush()
	}
	return res, outputErr(err)
}
