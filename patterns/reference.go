package patterns

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reference returns the Markdown reference of lib: every signature in match
// order with its units, severity, thresholds, fields, runbook anchor,
// summary and example lines, then the rules over time. docs/signatures.md
// is Reference of the built-in library (go test ./patterns -run
// TestSignaturesDoc -update rewrites it).
func Reference(lib *Library) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# The signature library\n\n")
	w("<!-- Generated from the pattern files by `go test ./patterns -run TestSignaturesDoc -update`; do not edit. -->\n\n")
	w("The library that ships in `patterns.d/` and is compiled into the binary: %d signatures and %d rules over time, from %s. ",
		len(lib.Signatures), len(lib.Rules), codeList(lib.Files))
	w("Ids, severities, field names and runbook anchors are a public interface (Loki queries, silences and dashboards " +
		"use them); they do not change without a migration note. How to write pattern files, and how a site adds or " +
		"replaces signatures, is in [patterns.md](patterns.md).\n\n")
	names := make([]string, len(lib.Services))
	for i, s := range lib.Services {
		names[i] = s.Name
	}
	w("An event links to `<runbook_base>docs/ops/troubleshooting.md#<anchor>`. Units are systemd units "+
		"(`chainfire` is `chainfire.service`; the services are declared in `patterns.d/00-services.yaml`); `all` means %s. "+
		"Entries of other units never give events.\n\n", strings.Join(names[:len(names)-1], ", ")+" and "+names[len(names)-1])
	w("## What the regexes see\n\n")
	w("A signature's regex runs on the message body, after cflogd has removed the timestamp, ANSI colour codes, the level, " +
		"span context and the tracing target, and it ignores letter case unless the signature is case-sensitive. " +
		"So the same event classifies the same in each shape the services log in:\n\n")
	for _, s := range []string{
		"the runbook form: `WARN chainfire_storage: RocksDB stall detected, duration=2000ms`",
		"tracing-subscriber's Full format, with a timestamp and the level padded to five characters, with or without ANSI colours",
		"span context before the target: `WARN raft{node_id=1 term=7}: chainfire_raft: Election timeout, no heartbeat from leader`",
		"the event's fields after the message, as tracing prints them: `RocksDB stall detected duration=2s`",
		"tracing-subscriber's JSON: `{\"timestamp\":…,\"level\":\"WARN\",\"fields\":{\"message\":\"RocksDB stall detected\",\"duration\":\"2s\"},\"target\":\"chainfire_storage\"}`",
		"tracing-journald: `MESSAGE=RocksDB stall detected`, the level in `PRIORITY`, `TARGET`, the fields as `F_DURATION=2s`",
		"Rust panics, before and after Rust 1.73",
	} {
		w("- %s\n", s)
	}
	w("\nFields come from the message body or from the event's own structured fields (JSON `fields`, journal `F_*`) by name; " +
		"span values never become fields. Durations (`2000ms`, `1.5s`, `250µs`, a bare number of milliseconds) become " +
		"milliseconds. Thresholds are inclusive.\n\n")

	w("## Signatures\n\n")
	w("In match order: the first signature whose regex matches a line decides it, and a line gives at most one event.\n\n")
	w("| # | id | units | severity | fields | anchor |\n|---|---|---|---|---|---|\n")
	for i, s := range lib.Signatures {
		var fields []string
		for _, f := range s.Fields {
			for _, n := range []string{f.Name, f.HostName, f.PortName} {
				if n != "" {
					fields = append(fields, "`"+n+"`")
				}
			}
		}
		w("| %d | [`%s`](#%s) | %s | %s | %s | `%s` |\n", i+1, s.ID, slug(s.ID), units(lib.Services, s.Units),
			strings.ReplaceAll(severity(s), "|", `\|`), strings.Join(fields, ", "), s.Anchor)
	}
	for _, s := range lib.Signatures {
		w("\n### %s\n\n", s.ID)
		w("- units: %s\n", units(lib.Services, s.Units))
		w("- severity: %s\n", severity(s))
		if len(s.Levels) > 0 {
			w("- only lines at level %s\n", codeList(s.Levels))
		}
		for _, c := range s.FireWhen {
			w("- fires only when %s\n", code(c.Text))
		}
		if s.Match == nil {
			w("- match: none, a fallback: every line its levels allow that no earlier signature matched\n")
		} else {
			cs := ""
			if s.CaseSensitive {
				cs = " (case-sensitive)"
			}
			w("- match%s: %s\n", cs, code(s.MatchText))
		}
		if len(s.Fields) > 0 {
			w("- fields:\n")
			for _, f := range s.Fields {
				w("  - `%s`: %s\n", f.Name, fieldType(f))
			}
		}
		if len(s.GroupBy) > 0 {
			w("- grouped by %s\n", codeList(s.GroupBy))
		}
		w("- runbook: `#%s`\n", s.Anchor)
		w("- summary: %s\n", code(s.Summary))
		w("- defined in `%s`\n", s.Pos.File)
		if len(s.Examples) > 0 {
			w("\nExamples:\n\n")
			for _, e := range s.Examples {
				w("- %s%s\n", code(e.Line), example(s, e))
			}
		}
		if len(s.NearMisses) > 0 {
			w("\nNot matched:\n\n")
			for _, n := range s.NearMisses {
				unit := ""
				if n.Unit != "" {
					unit = " (" + short(n.Unit) + ")"
				}
				w("- %s%s\n", code(n.Line), unit)
			}
		}
	}

	w("\n## Rules over time\n\n")
	w("Derived events computed per host (and per group) from the events of one signature within a window of journal " +
		"time, so that `cflogd scan` over a past window and the daemon give the same answer.\n\n")
	w("| id | counts | fires when | window | severity | anchor |\n|---|---|---|---|---|---|\n")
	for _, r := range lib.Rules {
		w("| [`%s`](#%s) | %s | %s | %s | %s | `%s` |\n", r.ID, slug(r.ID), counts(r), fires(r), r.WindowText, r.Severity, r.Anchor)
	}
	for _, r := range lib.Rules {
		w("\n### %s\n\n", r.ID)
		w("- kind: %s\n", r.Kind)
		w("- counts: %s\n", counts(r))
		w("- fires when: %s\n", fires(r))
		switch r.Kind {
		case CountRule, QuantileRule:
			w("- window: %s", r.WindowText)
			if r.Kind == QuantileRule && r.Step != 0 {
				w(", sliding in steps of %s", FormatDuration(r.Step))
			}
			if r.ClearAfter != r.Window {
				w("; fires again after the condition stayed false for %s", FormatDuration(r.ClearAfter))
			}
			w("\n")
			if r.Kind == QuantileRule && r.MinCount > 1 {
				w("- needs at least %d values in the window\n", r.MinCount)
			}
		case PersistRule:
			w("- for: %s, with no gap longer than %s\n", r.WindowText, FormatDuration(r.MaxGap))
		}
		if len(r.GroupBy) > 0 {
			w("- grouped by host and %s\n", codeList(r.GroupBy))
		}
		w("- severity: %s\n", r.Severity)
		w("- runbook: `#%s`\n", r.Anchor)
		w("- summary: %s\n", code(r.Summary))
		w("- defined in `%s`\n", r.Pos.File)
	}
	return b.String()
}

// slug is the GitHub anchor of a "### id" heading.
func slug(id string) string { return strings.ReplaceAll(id, ".", "") }

// short is a unit's service name: chainfire for chainfire.service.
func short(u string) string { return strings.TrimSuffix(u, ".service") }

// units names a signature's units: "all" when they are all the library's.
func units(ss Services, us []string) string {
	if slices.Equal(us, ss.Units()) {
		return "all"
	}
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = short(u)
	}
	return strings.Join(s, ", ")
}

// severity is the base severity and what raises it: "warning; error when
// `duration_ms >= 1000`".
func severity(s *Signature) string {
	var out string
	if s.LevelSeverity != nil {
		lv := slices.Sorted(maps.Keys(s.LevelSeverity))
		var parts []string
		for _, l := range lv {
			parts = append(parts, fmt.Sprintf("%s for %s lines", s.LevelSeverity[l], strings.ToUpper(l.String())))
		}
		out = strings.Join(parts, ", ")
	} else {
		out = s.Severity.String()
	}
	for _, r := range s.Raise {
		out += fmt.Sprintf("; %s when %s", r.Severity, code(r.When.Text))
	}
	return out
}

func fieldType(f Field) string {
	switch f.Source {
	case FromTarget:
		return "string, the line's tracing target"
	case FromTemplate:
		return "string, the message with its variable parts (numbers, ids, addresses, paths, quoted strings) masked"
	}
	switch f.Type {
	case Integer:
		return "integer"
	case Duration:
		return "number, a duration in milliseconds (an integer when whole)"
	case HostPort:
		s := "string, host:port"
		if f.HostName != "" {
			s += fmt.Sprintf("; also `%s` (string, the host)", f.HostName)
		}
		if f.PortName != "" {
			s += fmt.Sprintf(" and `%s` (integer, the port)", f.PortName)
		}
		return s
	}
	return "string"
}

// example says what an example line gives besides its line: its unit when
// not the signature's first, its fields and its severity.
func example(s *Signature, e Example) string {
	var parts []string
	if e.Unit != "" && len(s.Units) > 0 && e.Unit != s.Units[0] {
		parts = append(parts, "unit "+short(e.Unit))
	}
	if e.Fields != nil {
		if len(e.Fields) == 0 {
			parts = append(parts, "no fields")
		} else {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
				kv = append(kv, fmt.Sprintf("%s=%v", k, e.Fields[k]))
			}
			parts = append(parts, code(strings.Join(kv, " ")))
		}
	}
	if e.Severity != 0 {
		parts = append(parts, e.Severity.String())
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func counts(r *Rule) string {
	if r.Kind == QuantileRule {
		return fmt.Sprintf("`%s` of every `%s` match (fired or not)", r.Field, r.Signature)
	}
	s := fmt.Sprintf("`%s` events", r.Signature)
	if len(r.ClearedBy) > 0 { // persist rules only
		s += ", cleared by " + codeList(r.ClearedBy)
	}
	return s
}

func fires(r *Rule) string {
	switch r.Kind {
	case CountRule:
		return fmt.Sprintf("%d or more within %s", r.Count, r.WindowText)
	case QuantileRule:
		q := strconv.FormatFloat(r.Quantile*100, 'f', -1, 64)
		return fmt.Sprintf("their p%s over %s is above %s", q, r.WindowText, strconv.FormatFloat(r.Above, 'f', -1, 64))
	case PersistRule:
		s := fmt.Sprintf("they keep coming for %s", r.WindowText)
		if len(r.ClearedBy) > 0 {
			s += " with no " + codeList(r.ClearedBy) + " in between"
		}
		return s
	}
	return r.Kind.String()
}

// FormatDuration writes d as pattern files and their examples do: 30s,
// 10m, 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func codeList[T any](ss []T) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + fmt.Sprint(s) + "`"
	}
	return strings.Join(out, ", ")
}

// code writes s as a Markdown code span: control characters (ANSI escapes)
// are shown as \e or \xNN, and the fence is longer than any run of
// backticks inside.
func code(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == 0x1b:
			b.WriteString(`\e`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
