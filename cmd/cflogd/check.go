package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/centra-cloud/cflogd/classify"
)

func checkCommand() *command {
	return &command{
		name:     "check",
		synopsis: "validate pattern files and run every signature's examples",
		usage:    "cflogd check [--patterns DIR]...",
		help: `
Loads the built-in signature library and the pattern files (*.yaml) of each
--patterns directory, then classifies every example and near miss of every
signature, and runs every example of every rule over time (a timestamped
sequence of lines and the derived events it must give).

Exit status: 0 all good; 1 an example, near miss or rule example failed
(each printed as file:line:col: what went wrong); 2 a pattern file has
errors (each printed as file:line:col: message).`,
		run: (*app).check,
	}
}

type checkFlags struct {
	fs       *flag.FlagSet
	patterns stringList
}

func newCheckFlags() *checkFlags {
	f := &checkFlags{fs: flag.NewFlagSet("check", flag.ContinueOnError)}
	f.fs.Var(&f.patterns, "patterns", "also load the pattern files (*.yaml) in `DIR`; repeatable")
	return f
}

func (a *app) check(_ context.Context, args []string) int {
	c := checkCommand()
	f := newCheckFlags()
	if code, ok := a.parseFlags(c, f.fs, args); !ok {
		return code
	}
	if f.fs.NArg() > 0 {
		return a.usageError(c, "unexpected argument %q", f.fs.Arg(0))
	}
	lib, code := a.loadPatterns(c, f.patterns)
	if lib == nil {
		return code
	}
	cls := classify.New(lib, classify.Options{})
	failures := append(cls.CheckExamples(), cls.CheckRuleExamples()...)
	for _, fail := range failures {
		fmt.Fprintln(a.stderr, formatFailure(fail))
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
	if len(failures) > 0 {
		status = fmt.Sprintf("%d %s", len(failures), plural(len(failures), "failure", "failures"))
	}
	fmt.Fprintf(a.stdout, "%d signatures, %d examples, %d near misses, %d rules, %d rule examples: %s\n",
		len(lib.Signatures), examples, nearMisses, len(lib.Rules), ruleExamples, status)
	if len(failures) > 0 {
		return exitFound
	}
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatFailure prints a failure as file:line:col: signature: message.
func formatFailure(f classify.ExampleFailure) string { return f.Error() }
