package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/centra-cloud/cflogd/classify"
	"github.com/centra-cloud/cflogd/record"
)

// Header describes the scan a report covers.
type Header struct {
	// Units the scan read; empty for input with the unit inferred per line.
	Units []string
	// Source says what was read: "local journal", "journal files ...", ...
	Source string
	// Elapsed is how long the scan took.
	Elapsed time.Duration
	// Patterns are the pattern directories loaded over the built-in
	// signatures (none: the built-in ones alone).
	Patterns []string
	// Input is what an --input file held besides the entries read.
	Input Input
}

// Input is what journalctl output held besides the entries read: its span
// and the entries left out.
type Input struct {
	// First and Last are its earliest and latest entry times, in the
	// window or not (zero: none known).
	First, Last time.Time
	// OutsideWindow counts the entries outside the window.
	OutsideWindow int
	// OtherUnits counts the entries of other units, by unit in
	// OtherUnitNames.
	OtherUnits     int
	OtherUnitNames map[string]int
}

// InputNote says, for output without a header, that the window missed
// the whole input and what the input spans; "" when it did not.
func (r *Report) InputNote(in Input, loc *time.Location) string {
	if r.entries > 0 || in.First.IsZero() || in.OutsideWindow == 0 {
		return ""
	}
	return "no entries in the window; the input spans " + fmtRange(in.First, in.Last, cmp.Or(loc, time.Local))
}

// fmtRange formats first – last for the header, the date once when both
// fall on one day.
func fmtRange(first, last time.Time, loc *time.Location) string {
	first, last = first.In(loc), last.In(loc)
	layout := "2006-01-02 15:04:05 MST"
	if first.Year() == last.Year() && first.YearDay() == last.YearDay() {
		layout = "15:04:05 MST"
	}
	return first.Format("2006-01-02 15:04:05") + " – " + last.Format(layout)
}

// otherUnits describes the entries of other units left out: "170 (ssh.service 170)".
func (in Input) otherUnits() string {
	byUnit := in.OtherUnitNames
	units := slices.SortedFunc(maps.Keys(byUnit), func(a, b string) int {
		return cmp.Or(byUnit[b]-byUnit[a], strings.Compare(a, b))
	})
	var parts []string
	for i, u := range units {
		if i == 3 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, sanitize(u)+" "+commas(uint64(byUnit[u])))
	}
	s := commas(uint64(in.OtherUnits)) + " " + plural(uint64(in.OtherUnits), "entry", "entries") + " of other units"
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// Style says how to draw the table.
type Style struct {
	// Color adds ANSI colours to severities.
	Color bool
	// Width is the line width to fit samples into (default 120).
	Width int
	// Location for timestamps (default time.Local).
	Location *time.Location
}

// MaxTemplates is the number of unclassified templates the table lists.
const MaxTemplates = 10

const (
	colorReset = "\x1b[0m"
	colorRed   = "\x1b[31m"
	colorBold  = "\x1b[1;31m"
	colorYell  = "\x1b[33m"
)

// Render writes the table: a header, the signatures by severity then count,
// the most frequent unclassified templates and a one-line summary.
func (r *Report) Render(w io.Writer, h Header, st Style) error {
	if st.Width <= 0 {
		st.Width = 120
	}
	st.Location = cmp.Or(st.Location, time.Local)
	bw := bufio.NewWriter(w)
	from, to := r.window()
	stamp := stampLayout(from.In(st.Location), to.In(st.Location))

	// Header.
	switch {
	case from.IsZero() && r.entries > 0:
		fmt.Fprintf(bw, "window   (the entries carry no timestamps)\n")
	case from.IsZero():
		fmt.Fprintf(bw, "window   (no entries)\n")
	case r.entries == 0 && r.opts.Until.IsZero():
		fmt.Fprintf(bw, "window   from %s (no entries)\n", from.In(st.Location).Format("2006-01-02 15:04:05 MST"))
	default:
		how := ""
		if r.opts.Since.IsZero() || r.opts.Until.IsZero() {
			how = ", first to last entry read"
		}
		fmt.Fprintf(bw, "window   %s – %s (%s%s)\n",
			from.In(st.Location).Format("2006-01-02 15:04:05"),
			to.In(st.Location).Format("2006-01-02 15:04:05 MST"), fmtSpan(to.Sub(from)), how)
	}
	units := "inferred from each line"
	if len(h.Units) > 0 {
		units = sanitize(strings.Join(h.Units, ", "))
	}
	fmt.Fprintf(bw, "units    %s\n", units)
	if h.Source != "" {
		fmt.Fprintf(bw, "source   %s\n", sanitize(h.Source))
	}
	patterns := "built-in"
	if len(h.Patterns) > 0 {
		patterns = "built-in + " + sanitize(strings.Join(h.Patterns, ", "))
	}
	fmt.Fprintf(bw, "patterns %s\n", patterns)
	if r.InputNote(h.Input, st.Location) != "" {
		fmt.Fprintf(bw, "input    spans %s; the window holds none of it\n", fmtRange(h.Input.First, h.Input.Last, st.Location))
	}
	if h.Input.OtherUnits > 0 {
		fmt.Fprintf(bw, "skipped  %s\n", h.Input.otherUnits())
	}
	// Derived events are counted among the events, and said to be: "5
	// derived" beside them read as if they were left out.
	all := r.reported() + r.derivedN
	fmt.Fprintf(bw, "read     %s %s, %s %s at %s or above", commas(r.entries), plural(r.entries, "entry", "entries"),
		commas(all), plural(all, "event", "events"), r.opts.MinSeverity)
	if r.derivedN > 0 {
		fmt.Fprintf(bw, " (%s of them derived)", commas(r.derivedN))
	}
	if r.below > 0 {
		fmt.Fprintf(bw, "; %s below %s not shown", commas(r.below), r.opts.MinSeverity)
	}
	fmt.Fprintln(bw)
	fleet := r.hosts.many()
	if fleet {
		r.renderHosts(bw)
	}

	// What happened to the services: crashes and restarts before the
	// events that tell of them.
	r.life.render(bw, fleet, stamp, st.Location)

	// Derived events (rules over time), first: a storm matters more than
	// its lines.
	if len(r.derived) > 0 {
		r.renderDerived(bw, stamp, st)
	}

	// Signatures.
	sigs := slices.Clone(r.list)
	slices.SortFunc(sigs, func(a, b *sigStats) int {
		return cmp.Or(cmp.Compare(b.maxSeverity, a.maxSeverity), cmp.Compare(b.count, a.count), strings.Compare(a.id, b.id))
	})
	if len(sigs) > 0 {
		countW, idW := len("COUNT"), len("SIGNATURE")
		for _, s := range sigs {
			countW = max(countW, len(commas(s.count)))
			idW = max(idW, utf8.RuneCountInString(s.id))
		}
		stampW := len(stamp)
		indent := strings.Repeat(" ", countW+2+len("critical")+2)
		fmt.Fprintf(bw, "\n%*s  %-8s  %-*s  %-*s  %-*s  %s\n", countW, "COUNT", "SEVERITY", idW, "SIGNATURE",
			stampW, "FIRST", stampW, "LAST", "OCCURRENCES")
		for _, s := range sigs {
			sev := fmt.Sprintf("%-8s", s.maxSeverity)
			if st.Color {
				sev = colorize(s.maxSeverity, sev)
			}
			spark := "(no timestamps)"
			if !s.first.IsZero() {
				spark = Sparkline(r.tl.rebucket(&s.hist, from, to, SparkBuckets))
			}
			fmt.Fprintf(bw, "%*s  %s  %-*s  %-*s  %-*s  %s\n", countW, commas(s.count), sev, idW, sanitize(s.id),
				stampW, fmtStamp(s.first, stamp, st.Location), stampW, fmtStamp(s.last, stamp, st.Location), spark)
			detail := func(label, text string) {
				fmt.Fprintf(bw, "%s%-8s %s\n", indent, label, text)
			}
			if split := s.severitySplit(); split != "" {
				detail("severity", split)
			}
			if h := s.hostList(); fleet && h != "" {
				detail("hosts", h)
			}
			if u := s.unitList(r.opts.Home); u != "" {
				detail("units", u)
			}
			detail("sample", truncate(strings.TrimSpace(sanitize(s.sample)), st.Width-len(indent)-9))
			if f := s.fieldSummary(); f != "" {
				detail("fields", f)
			}
			if s.runbook != "" {
				detail("runbook", sanitize(s.runbook))
			}
		}
	}

	// Unclassified templates.
	if r.unclassified > 0 {
		top := r.templates.top(MaxTemplates)
		more := ""
		if r.templates.distinct() >= templateCapacity {
			more = " or more"
		}
		fmt.Fprintf(bw, "\nunclassified WARN/ERROR lines: %s in %d%s %s; the most frequent:\n",
			commas(r.unclassified), r.templates.distinct(), more,
			plural(uint64(r.templates.distinct()), "template", "templates"))
		countW, unitW := len("COUNT"), len("UNIT")
		for _, it := range top {
			countW = max(countW, utf8.RuneCountInString(approx(it)))
			unitW = max(unitW, utf8.RuneCountInString(shortUnit(it.unit)))
		}
		fmt.Fprintf(bw, "%*s  %-*s  %s\n", countW, "COUNT", unitW, "UNIT", "TEMPLATE")
		for _, it := range top {
			prefix := countW + 2 + unitW + 2
			fmt.Fprintf(bw, "%*s  %-*s  %s\n", countW, approx(it), unitW, sanitize(shortUnit(it.unit)),
				truncate(sanitize(it.value), st.Width-prefix))
		}
	}

	// Summary.
	fmt.Fprintf(bw, "\n%s\n", r.summary(h.Elapsed))
	return bw.Flush()
}

// renderDerived lists the derived events in time order, then the runbook
// link of each rule.
func (r *Report) renderDerived(bw io.Writer, stamp string, st Style) {
	rows := slices.Clone(r.derived)
	slices.SortStableFunc(rows, func(a, b derivedRow) int { return a.at.Compare(b.at) })
	ruleW, hostW := len("RULE"), len("HOST")
	for _, d := range rows {
		ruleW = max(ruleW, utf8.RuneCountInString(sanitize(d.rule)))
		hostW = max(hostW, utf8.RuneCountInString(sanitize(d.host)))
	}
	stampW := max(len(stamp), len("TIME"))
	more := ""
	if r.derivedN > uint64(len(rows)) {
		more = fmt.Sprintf(", the first %d listed", len(rows))
	}
	fmt.Fprintf(bw, "\nderived events (rules over time): %s%s\n", commas(r.derivedN), more)
	fmt.Fprintf(bw, "%-*s  %-8s  %-*s  %-*s  %s\n", stampW, "TIME", "SEVERITY", ruleW, "RULE", hostW, "HOST", "SUMMARY")
	prefix := stampW + 2 + 8 + 2 + ruleW + 2 + hostW + 2
	for _, d := range rows {
		sev := fmt.Sprintf("%-8s", d.severity)
		if st.Color {
			sev = colorize(d.severity, sev)
		}
		// The summary has priority over the width: it wraps in its
		// column rather than losing its numbers at the end.
		lines := wrap(sanitize(d.summary), max(st.Width-prefix, 20), maxSummaryLines)
		fmt.Fprintf(bw, "%-*s  %s  %-*s  %-*s  %s\n", stampW, fmtStamp(d.at, stamp, st.Location), sev, ruleW, sanitize(d.rule),
			hostW, sanitize(d.host), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(bw, "%*s%s\n", prefix, "", l)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.derivedRuns)) {
		if link := r.derivedRuns[id]; link != "" {
			fmt.Fprintf(bw, "%*s%-8s %s: %s\n", stampW+2, "", "runbook", sanitize(id), sanitize(link))
		}
	}
}

// window returns the span the table covers: the window asked for, with an
// open side replaced by the first or last entry read.
func (r *Report) window() (from, to time.Time) {
	from, to = r.opts.Since, r.opts.Until
	if from.IsZero() {
		from = r.firstEntry
	}
	if to.IsZero() {
		to = r.lastEntry
	}
	if from.IsZero() && !to.IsZero() {
		from = to
	}
	if to.IsZero() && !from.IsZero() {
		to = from
	}
	return from, to
}

func (r *Report) reported() uint64 {
	var n uint64
	for _, c := range r.bySeverity {
		n += c
	}
	return n
}

// summary is the last line: what was found and read.
func (r *Report) summary(elapsed time.Duration) string {
	var b strings.Builder
	n := r.reported()
	if all := n + r.derivedN; all == 0 {
		fmt.Fprintf(&b, "no events at %s or above", r.opts.MinSeverity)
	} else {
		if r.derivedN > 0 {
			fmt.Fprintf(&b, "%s %s at %s or above: %s derived", commas(all), plural(all, "event", "events"), r.opts.MinSeverity, commas(r.derivedN))
			if n > 0 {
				b.WriteString(", ")
			}
		}
		if n > 0 {
			what := commas(n)
			if r.derivedN == 0 {
				what += " " + plural(n, "event", "events")
			}
			fmt.Fprintf(&b, "%s in %d %s (", what, len(r.list), plural(uint64(len(r.list)), "signature", "signatures"))
			sep := ""
			for sev := record.Critical; sev >= record.Info; sev-- {
				if c := r.bySeverity[sev]; c > 0 {
					fmt.Fprintf(&b, "%s%s %s", sep, commas(c), sev)
					sep = ", "
				}
			}
			b.WriteString(")")
		}
	}
	fmt.Fprintf(&b, "; %s unclassified WARN/ERROR %s; %s %s read",
		commas(r.unclassified), plural(r.unclassified, "line", "lines"), commas(r.entries), plural(r.entries, "entry", "entries"))
	if r.hosts.many() {
		fmt.Fprintf(&b, " from %d hosts", len(r.hosts.byHost))
	}
	switch {
	case elapsed >= time.Second:
		fmt.Fprintf(&b, " in %s", elapsed.Round(10*time.Millisecond))
	case elapsed >= time.Millisecond:
		fmt.Fprintf(&b, " in %s", elapsed.Round(time.Millisecond))
	case elapsed > 0:
		b.WriteString(" in <1ms")
	}
	return b.String()
}

func (s *sigStats) severitySplit() string {
	var parts []string
	for sev := record.Critical; sev >= record.Info; sev-- {
		if c := s.bySeverity[sev]; c > 0 {
			parts = append(parts, commas(c)+" "+sev.String())
		}
	}
	if len(parts) < 2 {
		return ""
	}
	return strings.Join(parts, ", ")
}

// unitList names the units a signature fired in, unless that is the one
// unit it is for (Options.Home).
func (s *sigStats) unitList(home map[string]string) string {
	if len(s.units) == 1 && !s.moreUnits && home[s.id] == s.units[0] {
		return ""
	}
	if len(s.units) == 0 {
		return ""
	}
	out := sanitize(strings.Join(s.units, ", "))
	if s.moreUnits {
		out += ", ..."
	}
	return out
}

// fieldSummary describes every field by name: quantiles, ranges or the most
// frequent values.
func (s *sigStats) fieldSummary() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(s.fields)) {
		f := s.fields[name]
		var desc []string
		if sk := f.sketch; sk != nil && sk.Count() > 0 {
			if sk.Min() == sk.Max() {
				desc = append(desc, fmtNum(sk.Max()))
			} else {
				desc = append(desc, "p50 "+fmtNum(sk.Quantile(0.5))+" p99 "+fmtNum(sk.Quantile(0.99))+" max "+fmtNum(sk.Max()))
			}
		}
		if is := f.ints; is != nil {
			desc = append(desc, is.describe())
		}
		if f.strings != nil {
			desc = append(desc, describeStrings(f.strings))
		}
		parts = append(parts, sanitize(name)+" "+strings.Join(desc, ", "))
	}
	return strings.Join(parts, "; ")
}

func (is *intStats) describe() string {
	if is.min == is.max {
		return strconv.FormatInt(is.min, 10)
	}
	if !is.overflow && len(is.distinct) <= 5 {
		vals := slices.Sorted(maps.Keys(is.distinct))
		strs := make([]string, len(vals))
		for i, v := range vals {
			strs[i] = strconv.FormatInt(v, 10)
		}
		return strings.Join(strs, " ")
	}
	distinct := strconv.Itoa(len(is.distinct))
	if is.overflow {
		distinct += "+"
	}
	return fmt.Sprintf("%d–%d (%s distinct)", is.min, is.max, distinct)
}

func describeStrings(t *topK) string {
	top := t.top(3)
	parts := make([]string, 0, len(top)+1)
	for _, it := range top {
		v := truncate(sanitize(it.value), 40)
		if t.distinct() > 1 {
			v += " ×" + commas(it.count)
		}
		parts = append(parts, v)
	}
	if rest := t.distinct() - len(top); rest > 0 {
		more := strconv.Itoa(rest)
		if t.distinct() >= t.capacity {
			more += "+"
		}
		parts = append(parts, more+" more")
	}
	return strings.Join(parts, ", ")
}

func colorize(sev record.Severity, s string) string {
	switch sev {
	case record.Critical:
		return colorBold + s + colorReset
	case record.Error:
		return colorRed + s + colorReset
	case record.Warning:
		return colorYell + s + colorReset
	}
	return s
}

// stampLayout picks the layout of first/last times: the clock alone when the
// window lies within one day.
func stampLayout(from, to time.Time) string {
	if from.IsZero() || (from.Year() == to.Year() && from.YearDay() == to.YearDay()) {
		return "15:04:05"
	}
	if from.Year() == to.Year() {
		return "01-02 15:04:05"
	}
	return "2006-01-02 15:04"
}

func fmtStamp(t time.Time, layout string, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(layout)
}

// fmtSpan formats a duration for people: "1h", "1h30m", "2d4h", "45s".
func fmtSpan(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	hours := d / time.Hour
	d -= hours * time.Hour
	mins := d / time.Minute
	secs := (d - mins*time.Minute) / time.Second
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%dh", hours)
	}
	if mins > 0 && days == 0 {
		fmt.Fprintf(&b, "%dm", mins)
	}
	if secs > 0 && days == 0 && hours == 0 {
		fmt.Fprintf(&b, "%ds", secs)
	}
	if b.Len() == 0 {
		b.WriteString("0s")
	}
	return b.String()
}

// fmtNum formats a measurement with about three significant digits, without
// trailing zeros: 2000, 15.5, 0.25.
func fmtNum(v float64) string {
	a := math.Abs(v)
	var s string
	switch {
	case a >= 100 || a == 0:
		s = strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 3, 64)
	}
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "eE") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// FormatCount formats n with thousands separators: 1,234,567.
func FormatCount(n uint64) string { return commas(n) }

// commas formats n with thousands separators.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// approx is an item's count, marked "≈" when it may overstate.
func approx(it topItem) string {
	if it.over > 0 {
		return "≈" + commas(it.count)
	}
	return commas(it.count)
}

// shortUnit drops ".service".
func shortUnit(u string) string {
	if u == "" {
		return "-"
	}
	return strings.TrimSuffix(u, ".service")
}

// sanitize makes log text safe to print on a terminal: ANSI escape sequences
// are removed (classify.StripANSI), other control characters become spaces
// and invalid UTF-8 becomes U+FFFD.
func sanitize(s string) string {
	s = classify.StripANSI(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte(' ')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// maxSummaryLines is how many lines a derived event's summary may take.
const maxSummaryLines = 4

// wrap breaks s at spaces into lines of at most width runes, at most
// maxLines of them (the last cut with "…"); a word longer than width is cut.
func wrap(s string, width, maxLines int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	lines = append(lines, line)
	if len(lines) > maxLines {
		lines = append(lines[:maxLines-1], strings.Join(lines[maxLines-1:], " "))
	}
	for i, l := range lines {
		lines[i] = truncate(l, width)
	}
	return lines
}

// truncate cuts s to at most n runes, ending in "…" when cut.
func truncate(s string, n int) string {
	n = max(n, 20)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return strings.TrimRight(s[:i], " ") + "…"
}
