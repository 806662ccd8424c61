package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Exit codes, as product.md defines them.
const (
	exitOK      = 0 // done
	exitFound   = 1 // scan: an event at or above --fail-on; check: an example failed
	exitUsage   = 2 // usage, configuration or pattern error
	exitFailure = 3 // runtime failure: journal unreadable, write failed
)

// app holds what a command touches of the outside world, so that tests run
// commands in-process with fixed time, terminal and environment.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	loc            *time.Location
	getenv         func(string) string
	// isTerminal reports whether w is a terminal; termWidth its width (0: unknown).
	isTerminal func(w io.Writer) bool
	termWidth  func(w io.Writer) int
	// progressAfter is how long a scan runs before it shows progress.
	progressAfter time.Duration
	// workers classifying in parallel (0: GOMAXPROCS).
	workers int
	// hostname is the host of text input lines ("": the machine's name).
	hostname string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		stdin:         stdin,
		stdout:        stdout,
		stderr:        stderr,
		now:           time.Now,
		loc:           time.Local,
		getenv:        os.Getenv,
		isTerminal:    isTerminal,
		termWidth:     termWidth,
		progressAfter: time.Second,
	}
}

// run runs cflogd with args (without the program name) and returns the exit
// code; the in-process entry point of the tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).main(context.Background(), args)
}

// command is one subcommand.
type command struct {
	name     string
	synopsis string // one line for the command list
	usage    string // "cflogd scan [flags]"
	help     string // paragraphs after the usage line
	run      func(a *app, ctx context.Context, args []string) int
}

func commands() []*command {
	return []*command{scanCommand(), checkCommand(), explainCommand(), runCommand(), versionCommand()}
}

func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.printUsage(a.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if name == "help" && len(rest) > 0 {
			if c := findCommand(rest[0]); c != nil {
				a.printCommandUsage(a.stdout, c, c.flags(a))
				return exitOK
			}
			fmt.Fprintf(a.stderr, "cflogd help: unknown command %q\n", rest[0])
			return exitUsage
		}
		a.printUsage(a.stdout)
		return exitOK
	}
	c := findCommand(name)
	if c == nil {
		fmt.Fprintf(a.stderr, "cflogd: unknown command %q\n\n", name)
		a.printUsage(a.stderr)
		return exitUsage
	}
	return c.run(a, ctx, rest)
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// flags returns the command's flag set, for help: its run function builds
// the same set.
func (c *command) flags(a *app) *flag.FlagSet {
	switch c.name {
	case "scan":
		return newScanFlags(a).fs
	case "check":
		return newCheckFlags().fs
	case "explain":
		return newExplainFlags().fs
	case "run":
		return newRunFlags().fs
	}
	return flag.NewFlagSet(c.name, flag.ContinueOnError)
}

func (a *app) printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("cflogd classifies the journal of chainfire, flaredb and placement-driver\nagainst the troubleshooting runbook's signatures.\n\nUsage: cflogd <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.synopsis)
	}
	b.WriteString("  help     show this help, or a command's: cflogd help scan, cflogd scan -h\n")
	io.WriteString(w, b.String())
}

// printCommandUsage writes the command's usage with every flag.
func (a *app) printCommandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n", c.usage, strings.TrimSpace(c.help))
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		placeholder, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(*bootFlag); ok {
			placeholder = "[ID]"
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			if _, isBoot := f.Value.(*bootFlag); !isBoot {
				placeholder = ""
			}
		}
		name := "--" + f.Name
		if placeholder != "" {
			name += " " + placeholder
		}
		fmt.Fprintf(&b, "  %s\n", name)
		for _, line := range strings.Split(usage, "\n") {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		if def := f.DefValue; def != "" && def != "false" && def != "[]" {
			fmt.Fprintf(&b, "        (default %s)\n", def)
		}
	})
	io.WriteString(w, b.String())
}

// parseFlags parses args into fs. On -h it prints the usage to stdout; on an
// error a message and a hint to stderr. ok is false when the command must
// return code.
func (a *app) parseFlags(c *command, fs *flag.FlagSet, args []string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printCommandUsage(a.stdout, c, fs)
			return exitOK, false
		}
		return a.usageError(c, "%v", err), false
	}
	return 0, true
}

// usageError reports a usage problem and returns exitUsage.
func (a *app) usageError(c *command, format string, args ...any) int {
	fmt.Fprintf(a.stderr, "cflogd %s: %s\nRun 'cflogd %s -h' for usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// logger returns cflogd's own logger on stderr: console format on a
// terminal, JSON otherwise.
func (a *app) logger(noColor bool) zerolog.Logger {
	if a.isTerminal(a.stderr) {
		cw := zerolog.ConsoleWriter{Out: a.stderr, NoColor: noColor || a.getenv("NO_COLOR") != "", TimeFormat: "15:04:05"}
		return zerolog.New(cw).With().Timestamp().Logger()
	}
	return zerolog.New(a.stderr).With().Timestamp().Logger()
}

// useColor reports whether output to w may carry ANSI colours.
func (a *app) useColor(w io.Writer, noColor bool) bool {
	return !noColor && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb" && a.isTerminal(w)
}
