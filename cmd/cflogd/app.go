package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
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
	// sitePatterns are the pattern directories run loads by default
	// (config.Default), which scan and explain load too when they exist.
	sitePatterns []string
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
		sitePatterns:  config.Default.Patterns.Dirs,
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
	return []*command{scanCommand(), checkCommand(), explainCommand(), runCommand(), versionCommand(), completionCommand()}
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
			fmt.Fprintf(a.stderr, "cflogd help: unknown command %q%s\n", rest[0], commandSuggestion(rest[0]))
			return exitUsage
		}
		a.printUsage(a.stdout)
		return exitOK
	case "--version", "-version":
		name = "version"
	}
	c := findCommand(name)
	if c == nil {
		what := "command"
		if strings.HasPrefix(name, "-") {
			what = "flag"
		}
		fmt.Fprintf(a.stderr, "cflogd: unknown %s %q%s\n\n", what, name, commandSuggestion(name))
		a.printUsage(a.stderr)
		return exitUsage
	}
	return c.run(a, ctx, rest)
}

// commandSuggestion returns " (did you mean scan?)" for a mistyped
// command, or "".
func commandSuggestion(typed string) string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if strings.HasPrefix(typed, "-") {
		// A flag before any command: one of a command's, or --version.
		if s := suggest(strings.TrimLeft(typed, "-"), []string{"version", "help"}); s != "" {
			return " (did you mean --" + s + "?)"
		}
		return " (flags come after the command: cflogd scan " + typed + ")"
	}
	return didYouMean(suggest(typed, append(names, "help")))
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
		return newExplainFlags(a).fs
	case "run":
		return newRunFlags().fs
	}
	return flag.NewFlagSet(c.name, flag.ContinueOnError)
}

func (a *app) printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("cflogd classifies the journal of chainfire, flaredb and placement-driver\nagainst the troubleshooting runbook's signatures.\n\nUsage: cflogd <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "help", "show this help, or a command's: cflogd help scan, cflogd scan -h")

	io.WriteString(w, b.String())
}

// printCommandUsage writes the command's usage with every flag; a flag's
// short aliases come before it ("-u, --unit UNIT").
func (a *app) printCommandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n", c.usage, strings.TrimSpace(c.help))
	short := aliases(fs)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if aliasOf(f) != "" {
			return
		}
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		placeholder, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(*bootFlag); ok {
			placeholder = "[ID]"
		} else if isBool(f) {
			placeholder = ""
		}
		name := ""
		for _, s := range short[f.Name] {
			name += "-" + s + ", "
		}
		name += "--" + f.Name
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
	if typed := unknownFlag(fs, args); typed != "" {
		return a.usageError(c, "unknown flag %s%s", typed, flagSuggestion(fs, typed)), false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printCommandUsage(a.stdout, c, fs)
			return exitOK, false
		}
		return a.usageError(c, "%v", err), false
	}
	return 0, true
}

// parseNoArgs is parseFlags for a command that takes no arguments.
func (a *app) parseNoArgs(c *command, fs *flag.FlagSet, args []string) (code int, ok bool) {
	if code, ok := a.parseFlags(c, fs, args); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		return a.usageError(c, "unexpected argument %q", fs.Arg(0)), false
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

// failure reports a runtime failure of c as one line on stderr, "cflogd
// scan: what failed (what to do)", never as a log record, and returns
// exitFailure.
func (a *app) failure(c *command, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.stderr, "cflogd %s: interrupted\n", c.name)
		return exitFailure
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	fmt.Fprintf(a.stderr, "cflogd %s: %s%s\n", c.name, msg, hint(err))
	return exitFailure
}

// hint says what to do about err, as " (...)", when something can be said.
func hint(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return " (check the path)"
	case errors.Is(err, fs.ErrPermission):
		return " (run as root, or as a member of the systemd-journal or adm group)"
	case errors.Is(err, syscall.EPIPE):
		return " (the reader of the output went away)"
	case errors.Is(err, syscall.ENOSPC):
		return " (the disk is full)"
	}
	return ""
}
