package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

func explainCommand() *command {
	return &command{
		name:     "explain",
		synopsis: "show how a log line classifies, and which other signatures matched",
		usage:    "cflogd explain [--unit U] [--priority N] [--target T] [--field NAME=VALUE]... [--patterns DIR]... [--output text|json] LINE...|-",
		help: `
Classifies one log line (the arguments joined by spaces) or, with -, every
line of standard input, and shows the normalised line (body, unit, level,
target), the signature that wins with its severity, fields, summary and
runbook link, and every other signature that matched: shadowed by the
winner, not fired (a threshold did not hold) or excluded (another unit or
level).

Without --unit the unit is inferred from the tracing target (chainfire_*,
flaredb_*, pd_*); a line with neither is tried only against the signatures
for all three services. --priority and --target stand for the PRIORITY and
TARGET fields of a journal entry (tracing-journald lines), and --field for
any other field: F_DURATION=1s is the event field duration as
tracing-journald writes it, MESSAGE_ID=... or _PID=1 a journal field (as
systemd writes about a unit); PRIORITY and TARGET may be given this way
too:

    cflogd explain --field F_DURATION=1s --field PRIORITY=4 "RocksDB stall detected"

A line of tracing's JSON formatter is understood as it is. The output
names the shape the line was read in (text, tracing JSON,
tracing-journald fields) and where each field came from.

Exit status: 0 explained (also when no signature matched), 2 usage or
pattern error.`,
		run: (*app).explain,
	}
}

type explainFlags struct {
	fs          *flag.FlagSet
	unit        string
	priority    priorityFlag
	target      string
	patterns    stringList
	output      string
	runbookBase string
	fields      stringList
}

func newExplainFlags(a *app) *explainFlags {
	f := &explainFlags{fs: flag.NewFlagSet("explain", flag.ContinueOnError)}
	fs := f.fs
	stringFlag(fs, &f.unit, "unit", "", "the line's `UNIT` (chainfire, flaredb, placement-driver or pd); default: from the target", serviceWords()...)
	f.priority = -1
	fs.Var(withChoices(&f.priority, priorityNames...), "priority", "the entry's PRIORITY `N` (0-7, or journalctl's name: emerg ... err, warning ... debug); -1: none")
	fs.StringVar(&f.target, "target", "", "the entry's TARGET field: the tracing target `NAME` (tracing-journald lines)")
	fs.Var(&f.fields, "field", "a journal field `NAME=VALUE` of the entry (F_DURATION=1s, MESSAGE_ID=..., PRIORITY=4); repeatable")
	fs.Var(&f.patterns, "patterns", "also load the pattern files (*.yaml) in `DIR`; repeatable"+a.sitePatternsNote())
	stringFlag(fs, &f.output, "output", "text", "output `FORMAT`: text, or json (one object per line)", "text", "json")
	fs.StringVar(&f.runbookBase, "runbook-base", record.DefaultRunbookBase, "`URL` the runbook links start with")
	alias(fs, "u", "unit")
	alias(fs, "o", "output")
	return f
}

func (a *app) explain(_ context.Context, args []string) int {
	c := explainCommand()
	f := newExplainFlags(a)
	if code, ok := a.parseFlags(c, f.fs, args); !ok {
		return code
	}
	if f.output != "text" && f.output != "json" {
		return a.usageError(c, "--output %q: want text or json", f.output)
	}
	if f.fs.NArg() == 0 {
		return a.usageError(c, "missing LINE (or - to read lines from standard input)")
	}
	// The entry's journal fields as pattern files' entry: examples write
	// them; classify.EntryOf sorts them into the entry (later wins).
	var given []record.Field
	if f.priority >= 0 {
		given = append(given, record.Field{Name: "PRIORITY", Value: strconv.Itoa(int(f.priority))})
	}
	if f.target != "" {
		given = append(given, record.Field{Name: "TARGET", Value: f.target})
	}
	for _, kv := range f.fields {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || name == "MESSAGE" {
			return a.usageError(c, "--field %q: want NAME=VALUE (the message is the LINE)", kv)
		}
		if p, err := strconv.Atoi(value); name == "PRIORITY" && (err != nil || p < 0 || p > 7) {
			return a.usageError(c, "--field %s: want a PRIORITY from 0 to 7", kv)
		}
		given = append(given, record.Field{Name: name, Value: value})
	}
	dirs := a.patternDirs(f.patterns)
	lib, code := a.loadPatterns(c, dirs)
	if lib == nil {
		return code
	}
	unit := ""
	if f.unit != "" {
		var err error
		if unit, err = lib.Services.ParseUnit(f.unit); err != nil {
			return a.usageError(c, "--unit: %v", err)
		}
	}
	cls := classify.New(lib, classify.Options{RunbookBase: f.runbookBase})

	w := bufio.NewWriter(a.stdout)
	explainLine := func(line string, first bool) error {
		e := classify.EntryOf(append(slices.Clip(given), record.Field{Name: "MESSAGE", Value: line}))
		if unit != "" {
			e.Unit = unit
		}
		x := cls.Explain(&e)
		if f.output == "json" {
			out := explainJSON(&x)
			out.Patterns = append([]string{"built-in"}, dirs...)
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			w.Write(b)
			return w.WriteByte('\n')
		}
		if !first {
			w.WriteByte('\n')
		} else {
			fmt.Fprintf(w, "%-11s %s\n", "patterns", strings.Join(append([]string{"built-in"}, dirs...), " + "))
		}
		writeExplanation(w, &x)
		return nil
	}
	var err error
	if f.fs.NArg() == 1 && f.fs.Arg(0) == "-" {
		sc := bufio.NewScanner(a.stdin)
		sc.Buffer(make([]byte, 0, 64<<10), tail.MaxFieldSize)
		for n := 0; sc.Scan() && err == nil; n++ {
			err = explainLine(strings.TrimSuffix(sc.Text(), "\r"), n == 0)
		}
		if err == nil {
			if err = sc.Err(); err != nil {
				err = fmt.Errorf("read standard input: %w", err)
			}
		}
	} else {
		err = explainLine(strings.Join(f.fs.Args(), " "), true)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return a.failure(c, err)
	}
	return exitOK
}

// writeExplanation prints an explanation for a person.
func writeExplanation(w io.Writer, x *classify.Explanation) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-11s %s\n", label, fmt.Sprintf(format, args...))
	}
	l := &x.Line
	row("line", "%s", quoteControl(l.Message))
	row("shape", "%s", l.Shape)
	row("body", "%s", quoteControl(l.Body))
	row("unit", "%s", cmp.Or(l.Unit, "none (not given, not inferred from the target)"))
	level := strings.ToUpper(l.Level.String())
	switch {
	case l.Level == record.LevelNone:
		level = "none"
	case l.LevelFromText && l.Shape == classify.ShapeJSON:
		level += " (from the JSON level)"
	case l.LevelFromText:
		level += " (from the text)"
	default:
		level += " (from PRIORITY)"
	}
	row("level", "%s", level)
	row("target", "%s", cmp.Or(l.Target, "none"))
	if x.Winner == nil {
		row("signature", "none: no signature matched")
	} else {
		row("signature", "%s (%s)", x.Winner.ID, x.Winner.Pos)
		row("severity", "%s", x.Winner.Severity)
		// Where each field came from says something only when the entry
		// had structured fields.
		sources := x.Winner.Sources
		if l.Shape == classify.ShapeText {
			sources = nil
		}
		row("fields", "%s", cmp.Or(classify.FormatFields(x.Winner.Fields, sources), "none"))
		if len(x.Winner.FieldErrors) > 0 {
			row("bad fields", "%s", formatFieldErrors(x.Winner.FieldErrors))
		}
	}
	if ev := x.Event; ev != nil {
		row("summary", "%s", ev.Summary)
		row("runbook", "%s", ev.Runbook)
		row("fingerprint", "%s", ev.Fingerprint)
	}
	list := func(label string, ms []classify.SignatureMatch) {
		for _, m := range ms {
			text := fmt.Sprintf("%s (%s)", m.ID, m.Pos)
			if len(m.Fields) > 0 {
				text += " " + classify.FormatFields(m.Fields, nil)
			}
			if m.Reason != "" {
				text += ": " + m.Reason
			}
			row(label, "%s", text)
		}
	}
	list("shadowed", x.Shadowed)
	list("not fired", x.NotFired)
	list("excluded", x.Excluded)
}

func formatFieldErrors(f map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, k+": "+f[k])
	}
	return strings.Join(parts, "; ")
}

// quoteControl shows control characters (ANSI codes included) as Go escapes
// so that a line never drives the terminal.
func quoteControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// explanationJSON is the --output json form of an explanation.
type explanationJSON struct {
	// Patterns are the signature sources: "built-in", then directories.
	Patterns      []string      `json:"patterns"`
	Line          string        `json:"line"`
	Shape         string        `json:"shape"`
	Body          string        `json:"body"`
	Unit          string        `json:"unit"`
	Level         string        `json:"level"`
	LevelFromText bool          `json:"level_from_text"`
	Target        string        `json:"target"`
	Signature     *matchJSON    `json:"signature"`
	Event         *record.Event `json:"event"`
	Shadowed      []matchJSON   `json:"shadowed"`
	NotFired      []matchJSON   `json:"not_fired"`
	Excluded      []matchJSON   `json:"excluded"`
}

type matchJSON struct {
	ID          string            `json:"id"`
	Pos         string            `json:"pos"`
	Severity    record.Severity   `json:"severity"`
	Fields      map[string]any    `json:"fields"`
	Sources     map[string]string `json:"sources,omitempty"`
	FieldErrors map[string]string `json:"field_errors,omitempty"`
	Reason      string            `json:"reason,omitempty"`
}

func toMatchJSON(m classify.SignatureMatch) matchJSON {
	return matchJSON{ID: m.ID, Pos: m.Pos.String(), Severity: m.Severity, Fields: m.Fields, Sources: m.Sources, FieldErrors: m.FieldErrors, Reason: m.Reason}
}

func explainJSON(x *classify.Explanation) explanationJSON {
	out := explanationJSON{
		Line: x.Line.Message, Shape: x.Line.Shape.String(), Body: x.Line.Body, Unit: x.Line.Unit, Level: x.Line.Level.String(),
		LevelFromText: x.Line.LevelFromText, Target: x.Line.Target, Event: x.Event,
		Shadowed: []matchJSON{}, NotFired: []matchJSON{}, Excluded: []matchJSON{},
	}
	if x.Winner != nil {
		m := toMatchJSON(*x.Winner)
		out.Signature = &m
	}
	for _, m := range x.Shadowed {
		out.Shadowed = append(out.Shadowed, toMatchJSON(m))
	}
	for _, m := range x.NotFired {
		out.NotFired = append(out.NotFired, toMatchJSON(m))
	}
	for _, m := range x.Excluded {
		out.Excluded = append(out.Excluded, toMatchJSON(m))
	}
	return out
}
