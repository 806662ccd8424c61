package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/daemon"
)

func checkCommand() *command {
	return &command{
		name:     "check",
		synopsis: "validate pattern files and run every signature's examples, or validate a configuration",
		usage:    "cflogd check [--patterns DIR]... | cflogd check --config FILE",
		help: `
Loads the built-in signature library and the pattern files (*.yaml) of each
--patterns directory, then classifies every example and near miss of every
signature, and runs every example of every rule over time (a timestamped
sequence of lines and the derived events it must give).

With --config, checks a daemon configuration as cflogd run loads it
instead: every key and value, the secret files, each sink built (CA and
client certificate files read), the pattern files of its directories, and
at least one [[sink]]. It prints every problem as file:line: message, or
one line naming the file, its sinks and its pattern directories.

Exit status: 0 all good; 1 an example, near miss or rule example failed
(each printed as file:line:col: what went wrong); 2 a pattern file or the
configuration has errors (each printed as file:line:col: message).`,
		run: (*app).check,
	}
}

type checkFlags struct {
	fs       *flag.FlagSet
	patterns stringList
	config   string
}

func newCheckFlags() *checkFlags {
	f := &checkFlags{fs: flag.NewFlagSet("check", flag.ContinueOnError)}
	f.fs.Var(&f.patterns, "patterns", "also load the pattern files (*.yaml) in `DIR`; repeatable")
	f.fs.StringVar(&f.config, "config", "", "check the daemon configuration `FILE` instead")
	return f
}

func (a *app) check(_ context.Context, args []string) int {
	c := checkCommand()
	f := newCheckFlags()
	if code, ok := a.parseNoArgs(c, f.fs, args); !ok {
		return code
	}
	if f.config != "" {
		if len(f.patterns) > 0 {
			return a.usageError(c, "--config checks the pattern directories the file names; leave out --patterns")
		}
		return a.checkConfig(c, f.config)
	}
	lib, code := a.loadPatterns(c, f.patterns)
	if lib == nil {
		return code
	}
	cls := classify.New(lib, classify.Options{})
	failures := append(cls.CheckExamples(), cls.CheckRuleExamples()...)
	for _, fail := range failures {
		fmt.Fprintln(a.stderr, fail.Error()) // file:line:col: signature: message
	}
	examples, nearMisses, ruleExamples := 0, 0, 0
	for _, s := range lib.Signatures {
		examples += len(s.Examples)
		nearMisses += len(s.NearMisses)
	}
	for _, r := range lib.Rules {
		ruleExamples += len(r.Examples)
	}
	status := "ok"
	if n := len(failures); n == 1 {
		status = "1 failure"
	} else if n > 1 {
		status = fmt.Sprintf("%d failures", n)
	}
	fmt.Fprintf(a.stdout, "%d signatures, %d examples, %d near misses, %d rules, %d rule examples: %s\n",
		len(lib.Signatures), examples, nearMisses, len(lib.Rules), ruleExamples, status)
	if len(failures) > 0 {
		return exitFound
	}
	return exitOK
}

// checkConfig loads a configuration as run does, builds its sinks and loads
// its pattern directories, printing every problem.
func (a *app) checkConfig(c *command, path string) int {
	cfg, _, err := loadConfig(path, true)
	if err != nil {
		fmt.Fprintln(a.stderr, err) // an ErrorList: one file:line: message a line
		return exitUsage
	}
	code := exitOK
	var sinks []string
	for i, sc := range cfg.Sinks {
		sinks = append(sinks, fmt.Sprintf("%s (%s)", config.SinkName(sc), config.SinkType(sc)))
		if err := daemon.CheckSink(sc); err != nil {
			fmt.Fprintln(a.stderr, &config.Error{File: path, Line: cfg.SinkLines[i], Key: fmt.Sprintf("sink[%d]", i), Msg: err.Error()})
			code = exitUsage
		}
	}
	var dirs, shown []string
	for _, dir := range cfg.Patterns.Dirs {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			shown = append(shown, dir+" (missing: skipped)")
			continue
		}
		dirs, shown = append(dirs, dir), append(shown, dir)
	}
	if lib, _ := a.loadPatterns(c, dirs); lib == nil {
		code = exitUsage
	}
	if code == exitOK {
		fmt.Fprintf(a.stdout, "%s: ok: sinks %s; pattern dirs %s\n", path, strings.Join(sinks, ", "), cmp.Or(strings.Join(shown, ", "), "none"))
	}
	return code
}
