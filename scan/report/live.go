package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/centra-cloud/cflogd/record"
)

const colorDim = "\x1b[2m"

// liveFieldBytes cuts one field's value in a live line.
const liveFieldBytes = 80

// Line formats one event as `cflogd scan --follow` prints it, on one line:
// time, severity, host, signature, summary and the event's fields
// (name=value, by name), cut to st.Width when it is set. Derived events
// (rules over time) are marked.
func Line(ev *record.Event, st Style) string {
	loc := cmp.Or(st.Location, ev.Time.Location())
	stamp := "-"
	if !ev.Time.IsZero() {
		stamp = ev.Time.In(loc).Format("Jan 02 15:04:05")
	}
	sev := fmt.Sprintf("%-8s", ev.Severity)
	sig := sanitize(ev.Signature)
	if ev.Derived {
		sig += " (derived)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s  %s", stamp, sev, sanitize(ev.Host), sig)
	if s := strings.TrimSpace(sanitize(ev.Summary)); s != "" {
		b.WriteString("  ")
		b.WriteString(s)
	}
	if f := liveFields(ev.Fields); f != "" {
		b.WriteString("  ")
		b.WriteString(f)
	}
	line := b.String()
	if st.Width > 0 {
		line = truncate(line, st.Width)
	}
	if !st.Color {
		return line
	}
	// Colour after cutting, so that escapes do not count towards the width:
	// the time dim, the severity as in the table.
	rest := strings.TrimPrefix(line, stamp)
	if len(rest) == len(line) {
		return line
	}
	out := colorDim + stamp + colorReset
	if r := strings.TrimPrefix(rest, "  "+sev); len(r) < len(rest) {
		return out + "  " + colorize(ev.Severity, sev) + r
	}
	return out + rest
}

// liveFields formats fields as name=value, by name; the template of an
// unclassified line is left out (the summary says it).
func liveFields(fields map[string]any) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if name == "template" {
			continue
		}
		var v string
		switch x := fields[name].(type) {
		case string:
			v = x
			if v == "" || strings.ContainsAny(v, " \t\"=") {
				v = strconv.Quote(clip(v, liveFieldBytes))
			}
		case float64:
			v = fmtNum(x)
		default:
			v = fmt.Sprint(x)
		}
		v = clip(v, liveFieldBytes)
		parts = append(parts, sanitize(name)+"="+sanitize(v))
	}
	return strings.Join(parts, " ")
}
