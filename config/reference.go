package config

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/record"
)

// refKey is one key of the reference.
type refKey struct {
	name    string // the TOML key
	file    bool   // a secret: name_file reads it from a file
	typ     string // what the value is: string, duration, secret, …
	def     string // the default, rendered; for a sink key, per type in defs
	defs    map[string]string
	doc     string // what it does, with 'code' already rendered as Markdown
	section string // "" (top level), "journal", "patterns" or "sink"
	types   []string
}

// names returns the key and, for a secret, its _file variant.
func (k refKey) names() []string {
	if k.file {
		return []string{k.name, k.name + "_file"}
	}
	return []string{k.name}
}

// httpSinkTypes are the sink types that send HTTP requests.
var httpSinkTypes = []string{"loki", "alertmanager", "slack", "webhook"}

// sinkTypeNames are the sink types in the order the reference lists them.
func sinkTypeNames() []string {
	names := make([]string, len(sinkTypes))
	for i, t := range sinkTypes {
		names[i] = t.name
	}
	return names
}

// sinkIntro says what each sink type is for, above its keys.
var sinkIntro = map[string]string{
	"loki": "Every event as a JSON line in a stream labelled 'job=\"cflogd\"', 'host', 'unit', 'severity' and 'signature' " +
		"(plus 'labels'). Durable: the saved cursor waits for it, and it is retried until it accepts.",
	"alertmanager": "One alert per signature, severity, host and unit, posted to '<url>/api/v2/alerts'; Alertmanager's routing, " +
		"grouping and silences apply. Durable, like loki.",
	"slack": "Notifications grouped per host and signature, like Alertmanager's groups, saved in " +
		"'state_dir/notify-<name>.json' so that a restart neither repeats nor forgets one. Not durable: the cursor does " +
		"not wait for it. Slack answering 404, 410, 403 or 'no_service' means the webhook is dead: logged once, " +
		"'cflogd_sink_dead' is set, and the daemon keeps running.",
	"webhook": "The same grouped notifications as slack, as a JSON body with the events, signed when 'secret' is set.",
	"stdout":  "The events as JSON lines on standard output, for debugging; only the keys every sink takes.",
}

// sinkExamples are complete [[sink]] tables, one per type (a test parses
// them).
var sinkExamples = map[string]string{
	"loki": `[[sink]]
type = "loki"
url = "https://loki.example:3100/loki/api/v1/push"
tenant = "centra"
labels = { cluster = "prod" }
bearer_token_file = "/run/credentials/cflogd.service/loki-token"
ca_file = "/etc/centra-cloud/pki/ca.pem"
`,
	"alertmanager": `[[sink]]
type = "alertmanager"
url = "http://alertmanager.example:9093"
min_severity = "error"
generator_url = "https://grafana.example/d/cflogd"
`,
	"slack": `[[sink]]
type = "slack"
url_file = "/run/credentials/cflogd.service/slack-url"
min_severity = "warning"
group_wait = "30s"
`,
	"webhook": `[[sink]]
type = "webhook"
url_file = "/run/credentials/cflogd.service/webhook-url"
secret_file = "/run/credentials/cflogd.service/webhook-secret"
min_severity = "error"
`,
	"stdout": `[[sink]]
type = "stdout"
min_severity = "info"
`,
}

// referenceLegend explains the value types, above the tables.
const referenceLegend = `TOML; every key has a default, but 'cflogd run' wants at least one '[[sink]]' in a file (with no file at
all it writes the events to stdout); 'cflogd check --config FILE' checks a file as run loads it. Unknown keys, keys that do not
apply to a sink's type and bad values stop cflogd with exit code 2 and one message per problem
naming the key and its line. Types: a *duration* is a Go duration ('250ms', '10s', '5m', '4h') or
days ('2d'); a *size* is '1MiB', '512KiB', '1MB' or a number of bytes; a *path* relative to the
configuration file's directory is taken from there. A *secret* is given inline or, better, with its
'_file' key naming a regular file of at most 64 KiB whose content (without a trailing newline) is
the value; with systemd's 'LoadCredential=' that is '/run/credentials/cflogd.service/NAME'. Secrets
never appear in logs, errors or metrics.`

// Reference returns the Markdown reference of every configuration key, with
// its type, default and meaning, generated from the configuration types'
// tags and defaults (Default and each sink package's Default). Its headings start at level (3 gives
// "###").
func Reference(level int) string {
	keys := referenceKeys()
	h := func(extra int, title string) string { return strings.Repeat("#", level+extra) + " " + title + "\n\n" }
	var b strings.Builder
	b.WriteString(renderCode(referenceLegend) + "\n\n")
	for _, sec := range []struct{ name, title string }{{"", "Top level"}, {"journal", "`[journal]`"}, {"patterns", "`[patterns]`"}} {
		b.WriteString(h(0, sec.title))
		writeTable(&b, filterKeys(keys, func(k refKey) bool { return k.section == sec.name }), nil)
	}
	sinkTypes := sinkTypeNames()
	b.WriteString(h(0, "`[[sink]]`"))
	b.WriteString("One table per sink; `type` is required. Keys every sink takes:\n\n")
	sinkKeys := filterKeys(keys, func(k refKey) bool { return k.section == "sink" })
	common := filterKeys(sinkKeys, func(k refKey) bool { return slices.Equal(k.types, sinkTypes) })
	writeTable(&b, common, sinkTypes)
	b.WriteString("Keys of the HTTP sinks (" + codeList(httpSinkTypes) + "):\n\n")
	http := filterKeys(sinkKeys, func(k refKey) bool { return slices.Equal(k.types, httpSinkTypes) })
	writeTable(&b, http, httpSinkTypes)
	for _, t := range sinkTypes {
		b.WriteString(h(1, "`"+t+"`"))
		b.WriteString(renderCode(sinkIntro[t]) + "\n\n")
		own := filterKeys(sinkKeys, func(k refKey) bool {
			return slices.Contains(k.types, t) && !slices.Equal(k.types, sinkTypes) && !slices.Equal(k.types, httpSinkTypes)
		})
		if len(own) > 0 {
			writeTable(&b, own, []string{t})
		}
		b.WriteString("```toml\n" + sinkExamples[t] + "```\n\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// referenceKeys lists every key: the top-level and table keys from
// Config, the [[sink]] keys from each sink package's Config, each with the
// types that take it.
func referenceKeys() []refKey {
	var keys []refKey
	def := reflect.ValueOf(Default)
	for _, f := range fields(reflect.TypeFor[Config]()) {
		switch {
		case f.file:
		case f.Type == reflect.TypeFor[[]SinkConfig]():
			keys = append(keys, sinkRefKeys()...)
		case f.Type == reflect.TypeFor[Journal]() || f.Type == reflect.TypeFor[Patterns]():
			for _, sub := range fields(f.Type) {
				keys = append(keys, fieldKey(sub.StructField, f.name(), []reflect.Value{def.FieldByIndex(f.index).FieldByIndex(sub.index)}, nil))
			}
		default:
			keys = append(keys, fieldKey(f.StructField, "", []reflect.Value{def.FieldByIndex(f.index)}, nil))
		}
	}
	return keys
}

// sinkRefKeys lists the [[sink]] keys, type first, each with the types that
// take it: a key is the same in two types when its name and doc are.
func sinkRefKeys() []refKey {
	keys := []refKey{{name: "type", typ: "string", def: "(required)", section: "sink", types: sinkTypeNames(),
		doc: strings.Replace(codeList(sinkTypeNames()), " and ", " or ", 1) + "."}}
	type same struct {
		f     reflect.StructField
		vals  []reflect.Value
		types []string
	}
	var order []string
	byKey := map[string]*same{}
	for _, t := range sinkTypes {
		def := reflect.ValueOf(t.def)
		for _, f := range fields(def.Type()) {
			id := f.name() + "\x00" + f.Tag.Get("doc")
			if f.file {
				continue
			}
			if byKey[id] == nil {
				order = append(order, id)
				byKey[id] = &same{f: f.StructField}
			}
			k := byKey[id]
			k.vals, k.types = append(k.vals, def.FieldByIndex(f.index)), append(k.types, t.name)
		}
	}
	for _, id := range order {
		k := byKey[id]
		keys = append(keys, fieldKey(k.f, "sink", k.vals, k.types))
	}
	return keys
}

// fieldKey builds the key of struct field f; vals are its defaults, one
// per type in types (or one for a table key).
func fieldKey(f reflect.StructField, section string, vals []reflect.Value, types []string) refKey {
	k := refKey{
		name:    field{StructField: f}.name(),
		typ:     f.Tag.Get("type"),
		doc:     renderCode(f.Tag.Get("doc")),
		section: section,
		types:   types,
	}
	if k.name == "" || k.doc == "" {
		panic("config: field " + f.Name + " has no toml or doc tag")
	}
	k.file = field{StructField: f}.secret()
	if k.file {
		k.typ = "secret"
	} else if k.typ == "" {
		k.typ = refTypeName(f.Type, k.name)
	}
	// Group the types by default value, in order.
	var order []string
	byVal := map[string][]string{}
	k.defs = map[string]string{}
	for i, v := range vals {
		s := f.Tag.Get("default") // what the code fills in, said in words
		if s == "" {
			s = formatDefault(v, k.typ)
		}
		if _, seen := byVal[s]; !seen {
			order = append(order, s)
		}
		if types != nil {
			byVal[s] = append(byVal[s], types[i])
			k.defs[types[i]] = s
		}
	}
	if len(order) == 1 {
		k.def = order[0]
		return k
	}
	parts := make([]string, len(order))
	for i, s := range order {
		parts[i] = s + " for " + strings.Join(byVal[s], ", ")
	}
	k.def = strings.Join(parts, "; ")
	return k
}

// refTypeName names the type of a key's value.
func refTypeName(t reflect.Type, key string) string {
	switch t {
	case reflect.TypeFor[redact.Secret]():
		return "secret"
	case reflect.TypeFor[time.Duration]():
		return "duration"
	case reflect.TypeFor[record.Severity]():
		return "severity"
	case reflect.TypeFor[Position]():
		return "`head`, `tail` or a duration"
	case reflect.TypeFor[[]string]():
		return "list of strings"
	case reflect.TypeFor[map[string]string]():
		return "table of strings"
	}
	switch t.Kind() {
	case reflect.String:
		if strings.HasSuffix(key, "_file") {
			return "path"
		}
		return "string"
	case reflect.Int:
		return "integer"
	case reflect.Bool:
		return "boolean"
	}
	panic(fmt.Sprintf("config: no reference type name for %v (%s)", t, key))
}

// formatDefault writes a default value as it would be written in the file.
func formatDefault(v reflect.Value, typ string) string {
	code := func(s string) string { return "`" + s + "`" }
	switch x := v.Interface().(type) {
	case redact.Secret:
		if x == "" {
			return "none"
		}
		return code(strconv.Quote(redact.Mask))
	case time.Duration:
		return code(strconv.Quote(formatDuration(x)))
	case record.Severity, Position:
		return code(strconv.Quote(fmt.Sprint(x)))
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return code("[" + strings.Join(q, ", ") + "]")
	case map[string]string:
		if len(x) == 0 {
			return code("{}")
		}
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			kv = append(kv, k+" = "+strconv.Quote(x[k]))
		}
		return code("{ " + strings.Join(kv, ", ") + " }")
	case string:
		if x == "" && (typ == "path" || strings.HasSuffix(typ, "paths")) {
			return "none"
		}
		return code(strconv.Quote(x))
	case int:
		if typ == "size" {
			return code(strconv.Quote(formatSize(x)))
		}
		return code(strconv.Itoa(x))
	case bool:
		return code(strconv.FormatBool(x))
	}
	panic(fmt.Sprintf("config: no default format for %T", v.Interface()))
}

// formatSize writes a byte count the way ParseSize reads it.
func formatSize(n int) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n)
}

// writeTable writes keys as a Markdown table; a sink key's defaults are
// shown for the given types only.
func writeTable(b *strings.Builder, keys []refKey, types []string) {
	b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	for _, k := range keys {
		def := k.def
		if len(types) == 1 {
			def = k.defs[types[0]] // a type's own table: its default alone
		}
		names := make([]string, 0, 2)
		for _, n := range k.names() {
			names = append(names, "`"+n+"`")
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", strings.Join(names, ", "), k.typ, cell(def), cell(k.doc))
	}
	b.WriteString("\n")
}

// cell escapes the pipes of a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// codeList writes names as `a`, `b` and `c`.
func codeList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func filterKeys(keys []refKey, keep func(refKey) bool) []refKey {
	var out []refKey
	for _, k := range keys {
		if keep(k) {
			out = append(out, k)
		}
	}
	return out
}

// quoted matches 'code' in doc tags: a quote after a space, an opening
// bracket or the start, closed by a quote before a space, punctuation or
// the end (so that the apostrophe of "cflogd's" is left alone).
var quoted = regexp.MustCompile(`(^|[\s(])'([^'\s][^']*?)'([\s),;.:]|$)`)

// renderCode turns 'code' into Markdown `code`.
func renderCode(s string) string {
	for {
		r := quoted.ReplaceAllString(s, "$1`$2`$3")
		if r == s {
			return r
		}
		s = r
	}
}
