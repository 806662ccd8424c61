package main

import (
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// bootFlag is --boot with an optional value, as journalctl's -b: alone it
// means the current boot ("0"); else a boot ID, an offset (0 current, -1 the
// one before, 1 the first), or "all" (no boot filter).
type bootFlag struct {
	set   bool
	value string
}

// bootValue matches what --boot accepts as its value; group 2 is an ID.
var bootValue = regexp.MustCompile(`^(all|[+-]?[0-9]+|([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}))$`)

func (b *bootFlag) String() string {
	if b == nil {
		return ""
	}
	return b.value
}

// IsBoolFlag lets the flag package accept --boot without a value;
// expandBoot joins a following ID or offset into --boot=VALUE first.
func (b *bootFlag) IsBoolFlag() bool { return true }

func (b *bootFlag) Set(s string) error {
	switch s {
	case "true", "":
		b.set, b.value = true, "0"
		return nil
	case "false":
		b.set, b.value = false, ""
		return nil
	}
	m := bootValue.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("want a boot ID (32 hex digits), an offset such as 0 or -1, or all")
	}
	if m[2] != "" { // an ID: sd-id128 form, lower case without dashes
		s = strings.ToLower(strings.ReplaceAll(m[2], "-", ""))
	}
	b.set, b.value = true, s
	return nil
}

// expandBoot rewrites "--boot VALUE" into "--boot=VALUE" when VALUE is a boot
// ID, an offset or "all", so that --boot works with and without a value. It
// walks args as the flag package will, skipping the values of flags that
// take one.
func expandBoot(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		out = append(out, arg)
		if arg == "--" || len(arg) < 2 || arg[0] != '-' {
			out = append(out, args[i+1:]...)
			break
		}
		name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if _, ok := flagValue(f).(*bootFlag); ok {
			if i+1 < len(args) && bootValue.MatchString(args[i+1]) {
				out[len(out)-1] = arg + "=" + args[i+1]
				i++
			}
			continue
		}
		if isBool(f) {
			continue
		}
		if i+1 < len(args) { // the flag's value
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// aliasValue is the Value of a short flag: the long flag's own Value, so
// that both spellings set the same variable.
type aliasValue struct {
	flag.Value
	long string
}

// IsBoolFlag lets the alias of a boolean flag go without a value too.
func (v aliasValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// alias defines -short as another name of --long, as journalctl spells it
// (-u for --unit, -S for --since). Help lists it beside --long. Defining
// an alias of a flag that does not exist is a programming error.
func alias(fs *flag.FlagSet, short, long string) {
	f := fs.Lookup(long)
	if f == nil {
		panic("alias -" + short + " of undefined flag --" + long)
	}
	fs.Var(aliasValue{Value: f.Value, long: long}, short, "same as --"+long)
}

// aliasOf returns the long name f is an alias of, or "".
func aliasOf(f *flag.Flag) string {
	if a, ok := f.Value.(aliasValue); ok {
		return a.long
	}
	return ""
}

// flagValue returns f's Value, looking through an alias.
func flagValue(f *flag.Flag) flag.Value {
	if a, ok := f.Value.(aliasValue); ok {
		return a.Value
	}
	return f.Value
}

// aliases maps each long flag of fs to its short aliases.
func aliases(fs *flag.FlagSet) map[string][]string {
	m := map[string][]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if long := aliasOf(f); long != "" {
			m[long] = append(m[long], f.Name)
		}
	})
	return m
}

// isBool reports whether f takes no value.
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// dashes spells a flag name as a user types it: -u, --unit.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// choiceValue is a flag Value whose words are listed by help and shell
// completion (and checked by the command): --output's formats, --unit's
// units, the severities.
type choiceValue struct {
	flag.Value
	words []string
}

// Choices returns the words the flag takes.
func (c choiceValue) Choices() []string { return c.words }

// withChoices gives v the words shell completion offers for it.
func withChoices(v flag.Value, words ...string) flag.Value {
	return choiceValue{Value: v, words: words}
}

// textValue is a plain string flag Value (flag's own is unexported).
type textValue string

func (t *textValue) String() string {
	if t == nil {
		return ""
	}
	return string(*t)
}

func (t *textValue) Set(s string) error { *t = textValue(s); return nil }

// stringFlag defines a string flag with completion words.
func stringFlag(fs *flag.FlagSet, p *string, name, value, usage string, words ...string) {
	*p = value
	fs.Var(withChoices((*textValue)(p), words...), name, usage)
}

// severityWords are the severities as completion offers them.
var severityWords = []string{"info", "warning", "error", "critical"}

// serviceWords are the units as completion offers them: the built-in
// services' names and aliases.
func serviceWords() []string {
	var words []string
	for _, s := range patterns.BuiltinServices() {
		words = append(words, s.Name)
		words = append(words, s.Aliases...)
	}
	return words
}

// parseSeverity parses a severity as a person types it: cflogd's names
// (info, warning, error, critical, also warn and crit) and journalctl's
// priority names and numbers (emerg, alert, crit: critical; err: error;
// warning: warning; notice, info, debug: info; 0-7 likewise), in any case.
// Unlike record.ParseSeverity, which reads pattern and configuration
// files, it is meant for flags such as --min-severity (-p) and --fail-on.
func parseSeverity(s string) (record.Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "emerg", "emergency", "alert", "0", "1", "2":
		return record.Critical, nil
	case "error", "err", "3":
		return record.Error, nil
	case "warning", "warn", "4":
		return record.Warning, nil
	case "info", "notice", "debug", "5", "6", "7":
		return record.Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning, error or critical, journalctl's emerg, alert, crit, err, notice or debug, or a priority 0-7)", s)
}

// priorityFlag is explain's --priority: a journal PRIORITY as a number
// (0-7) or journalctl's name for it (emerg ... debug, in any case); -1 none.
type priorityFlag int

// priorityNames are journalctl's names of the priorities 0-7.
var priorityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func (p *priorityFlag) String() string {
	if p == nil {
		return "-1"
	}
	return strconv.Itoa(int(*p))
}

func (p *priorityFlag) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := slices.Index(priorityNames, s); i >= 0 {
		*p = priorityFlag(i)
		return nil
	}
	switch s {
	case "warn":
		*p = 4
		return nil
	case "error":
		*p = 3
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > 7 {
		return fmt.Errorf("want 0 to 7, journalctl's name of one (emerg, alert, crit, err, warning, notice, info, debug), or -1 for none")
	}
	*p = priorityFlag(n)
	return nil
}

// unknownFlag walks args as the flag package parses them and returns the
// first flag fs does not define, as typed ("--sinse"), or "". -h and
// -help are left to the flag package (help).
func unknownFlag(fs *flag.FlagSet, args []string) string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || len(arg) < 2 || arg[0] != '-' {
			return ""
		}
		name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			return "" // bad syntax: the flag package says so
		}
		name, _, hasValue := strings.Cut(name, "=")
		f := fs.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				return ""
			}
			typed, _, _ := strings.Cut(arg, "=")
			return typed
		}
		if !hasValue && !isBool(f) {
			i++ // the flag's value
		}
	}
	return ""
}

// suggest returns the word of words closest to typed, if it is close
// enough to be what was meant (a typo: one or two edits, a swap of two
// letters counting as one, or an unambiguous start of a word), else "".
func suggest(typed string, words []string) string {
	best, bestD := "", 0
	for _, w := range words {
		d := editDistance(strings.ToLower(typed), w)
		// On a tie, a word typed is the start of wins: --unti is --until.
		if best == "" || d < bestD || d == bestD && strings.HasPrefix(w, typed) && !strings.HasPrefix(best, typed) {
			best, bestD = w, d
		}
	}
	limit := 1
	if len(typed) > 4 {
		limit = 2
	}
	if best != "" && bestD <= limit && bestD < len(typed) {
		return best
	}
	if len(typed) >= 3 {
		var starts []string
		for _, w := range words {
			if strings.HasPrefix(w, typed) {
				starts = append(starts, w)
			}
		}
		if len(starts) == 1 {
			return starts[0]
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// flagSuggestion returns " (did you mean --since?)" for a mistyped flag
// of fs, or "".
func flagSuggestion(fs *flag.FlagSet, typed string) string {
	name := strings.TrimLeft(typed, "-")
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 {
			names = append(names, f.Name)
		}
	})
	if s := suggest(name, names); s != "" {
		return " (did you mean " + dashes(s) + "?)"
	}
	return ""
}
