package classify

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// RuleExampleStart is the time a rule example's offsets ("at: 90s") count from.
var RuleExampleStart = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// RuleExampleHost is the host of a rule example's lines that name none.
const RuleExampleHost = "example"

// RuleExampleEntries expands a rule example into the journal entries it
// stands for, in the order written: each at RuleExampleStart plus its
// offset, of its unit (default: the first unit of the rule's signature) and
// host (default RuleExampleHost), with the cursor "example:N" (N counts the
// entries from 1).
func RuleExampleEntries(lib *patterns.Library, r *patterns.Rule, ex patterns.RuleExample) []record.Entry {
	unit := ""
	if s := lib.Lookup(r.Signature); s != nil && len(s.Units) > 0 {
		unit = s.Units[0]
	}
	var out []record.Entry
	for _, l := range ex.Lines {
		times := max(l.Times, 1)
		for k := range times {
			e := record.Entry{Message: l.Line, Priority: record.NoPriority}
			if l.Entry != nil {
				e = EntryOf(l.Entry)
			}
			e.Time = RuleExampleStart.Add(l.At + time.Duration(k)*l.Every)
			e.Host, e.Unit = cmp.Or(l.Host, RuleExampleHost), cmp.Or(l.Unit, unit)
			e.Cursor = "example:" + strconv.Itoa(len(out)+1)
			out = append(out, e)
		}
	}
	return out
}

// CheckRuleExamples runs every rule's examples: each through the classifier
// and a fresh Rules holding only that rule, in the order written. An example
// fails when the derived events it gives differ from its expect list: their
// number, times, and where given, counts and hosts.
func (c *Classifier) CheckRuleExamples() []ExampleFailure {
	var out []ExampleFailure
	for _, r := range c.lib.Rules {
		for _, ex := range r.Examples {
			if msg := c.checkRuleExample(r, ex); msg != "" {
				out = append(out, ExampleFailure{Pos: ex.Pos, Signature: r.ID, Msg: msg})
			}
		}
	}
	return out
}

func (c *Classifier) checkRuleExample(r *patterns.Rule, ex patterns.RuleExample) string {
	// The library's clock step, as the daemon and scan have it.
	rules := newRules(c.lib, []*patterns.Rule{r}, Options{RunbookBase: c.base, ClockStep: DefaultClockStep(c.lib.Rules)})
	entries := RuleExampleEntries(c.lib, r, ex)
	var got []record.Event
	read := 0
	for i := range entries {
		m, ok := c.Match(&entries[i])
		if !ok {
			continue
		}
		if rules.Wants(m.Signature) {
			read++
		}
		got = rules.Feed(&m, got)
	}
	ok := len(got) == len(ex.Expect)
	for i := 0; ok && i < len(got); i++ {
		want := ex.Expect[i]
		g := got[i]
		if !g.Time.Equal(RuleExampleStart.Add(want.At)) ||
			(want.Count != 0 && g.Count != want.Count) ||
			(want.Host != "" && g.Host != want.Host) {
			ok = false
		}
	}
	if ok {
		return ""
	}
	name := ""
	if ex.Name != "" {
		name = " " + strconv.Quote(ex.Name)
	}
	var wants, gots []string
	for _, w := range ex.Expect {
		s := "at " + patterns.FormatDuration(w.At)
		if w.Count != 0 {
			s += " count " + strconv.Itoa(w.Count)
		}
		if w.Host != "" {
			s += " host " + w.Host
		}
		wants = append(wants, s)
	}
	for _, g := range got {
		gots = append(gots, fmt.Sprintf("at %s count %d host %s (%s to %s)", patterns.FormatDuration(g.Time.Sub(RuleExampleStart)), g.Count, g.Host,
			strings.Replace(g.FirstCursor, "example:", "entry ", 1), strings.Replace(g.LastCursor, "example:", "entry ", 1)))
	}
	return fmt.Sprintf("example%s: expected derived events [%s], got [%s] (%d of %d entries read by the rule)",
		name, strings.Join(wants, "; "), strings.Join(gots, "; "), read, len(entries))
}
