package config

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/stdout"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

// sinkTypes are the [[sink]] types, in the order the reference lists them,
// each with the defaults of its sink package's Config.
var sinkTypes = []sinkType{
	{"loki", loki.Default},
	{"alertmanager", alertmanager.Default},
	{"slack", slack.Default},
	{"webhook", webhook.Default},
	{"stdout", stdout.Default},
}

type sinkType struct {
	name string
	def  SinkConfig
}

// SinkType returns the type of a [[sink]] table's configuration: "loki",
// "alertmanager", "slack", "webhook" or "stdout".
func SinkType(s SinkConfig) string {
	for _, t := range sinkTypes {
		if reflect.TypeOf(t.def) == reflect.TypeOf(s) {
			return t.name
		}
	}
	panic(fmt.Sprintf("config: %T is not a sink configuration", s))
}

// SinkName returns the name key of a [[sink]] table's configuration.
func SinkName(s SinkConfig) string { return reflect.ValueOf(s).FieldByName("Name").String() }

// typeList is "loki, alertmanager, slack, webhook or stdout".
func typeList() string {
	names := sinkTypeNames()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// field is one key of a table: the struct field its value goes to.
type field struct {
	reflect.StructField
	index []int // from the table's struct, through inline fields
	file  bool  // the key is <secret>_file: a file holding the secret
}

// name is the key.
func (f field) name() string {
	n, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if f.file {
		n += "_file"
	}
	return n
}

// secret reports whether the value must never be shown: a redact.Secret or
// a field tagged secret:"true". Such a key also has a <key>_file form.
func (f field) secret() bool {
	return f.Type == reflect.TypeFor[redact.Secret]() || f.Tag.Get("secret") == "true"
}

// fields lists the keys of a table's struct type, in field order: each
// field tagged toml, those of a field tagged `toml:",inline"` (less the one
// its omit tag names) and the _file form of each secret.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := field{StructField: t.Field(i), index: []int{i}}
		switch name, opt, _ := strings.Cut(f.Tag.Get("toml"), ","); {
		case name == "-":
		case opt == "inline":
			for _, sub := range fields(f.Type) {
				if sub.name() != f.Tag.Get("omit") {
					sub.index = append([]int{i}, sub.index...)
					out = append(out, sub)
				}
			}
		case name == "":
			panic("config: field " + t.Name() + "." + f.Name + " has no toml tag")
		default:
			out = append(out, f)
			if f.secret() {
				out = append(out, field{f.StructField, f.index, true})
			}
		}
	}
	return out
}

func lookup(fs []field, key string) (field, bool) {
	i := slices.IndexFunc(fs, func(f field) bool { return f.name() == key })
	if i < 0 {
		return field{}, false
	}
	return fs[i], true
}

// decoder fills a Config from a TOML document key by key, so that one bad
// value does not hide the next, and collects every problem with its line.
// The TOML library decodes each value into its field (UnmarshalText for
// durations, sizes, severities and positions); the keys of a table are
// checked against its struct's fields. MetaData.Undecoded cannot tell
// unknown keys here: it names a key of a [[sink]] table "sink.key" for
// every element, so a key one sink type takes would hide the same key given
// to a sink type that does not.
type decoder struct {
	file, dir string
	md        toml.MetaData
	pos       map[string]int
	errs      ErrorList
	sinkLines []int
}

func (d *decoder) errAt(key, msg string) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lineOf(key), Key: key, Msg: msg})
}

// hasErrUnder reports whether an error was reported for key or a key in it.
func (d *decoder) hasErrUnder(key string) bool {
	return slices.ContainsFunc(d.errs, func(e *Error) bool { return e.Key == key || strings.HasPrefix(e.Key, key+".") })
}

// lineOf returns the line of key, else of its closest parent that has one.
func (d *decoder) lineOf(key string) int {
	for k := key; k != ""; {
		if l, ok := d.pos[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int { return a.Line - b.Line })
	return d.errs
}

// decode parses data into c. A syntax error stops it and is returned;
// problems with keys and values are collected.
func (d *decoder) decode(data string, c *Config) error {
	var top map[string]toml.Primitive
	md, err := toml.Decode(data, &top)
	if err != nil {
		return d.syntaxError(err)
	}
	d.md, d.pos = md, positions(data)
	d.table("", top, reflect.ValueOf(c).Elem(), "")
	c.SinkLines = d.sinkLines
	return nil
}

// syntaxError positions a TOML syntax error, masking what the parser
// quotes when the key may hold a secret.
func (d *decoder) syntaxError(err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return ErrorList{{File: d.file, Msg: err.Error()}}
	}
	msg := pe.Message
	if secretKey(pe.LastKey) {
		// The parser quotes what it found: the secret, typed without quotes.
		msg = quotedText.ReplaceAllStringFunc(msg, func(q string) string {
			if strings.Trim(q, `"'`) == pe.LastKey {
				return q
			}
			return `"` + redact.Mask + `"`
		}) + " (the value is not shown: it may be a secret)"
	}
	return ErrorList{{File: d.file, Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}}
}

// ordered returns the keys of a table in file order.
func (d *decoder) ordered(t map[string]toml.Primitive, prefix string) []string {
	keys := slices.Sorted(maps.Keys(t))
	slices.SortStableFunc(keys, func(a, b string) int { return d.lineOf(prefix+a) - d.lineOf(prefix+b) })
	return keys
}

// table decodes the keys of table t (named prefix, "" at the top) into the
// struct dst; sinkType is the type of a [[sink]] table.
func (d *decoder) table(prefix string, t map[string]toml.Primitive, dst reflect.Value, sinkType string) {
	fs := fields(dst.Type())
	dot := prefix
	if prefix != "" {
		dot += "."
	}
	for _, k := range d.ordered(t, dot) {
		key := dot + k
		f, ok := lookup(fs, k)
		switch {
		case sinkType != "" && k == "type":
		case !ok && sinkType != "" && d.sinkKey(k):
			d.errAt(key, fmt.Sprintf("does not apply to a %s sink", sinkType))
		case !ok:
			d.errAt(key, "unknown key")
		case f.Type == reflect.TypeFor[[]SinkConfig]():
			d.sinks(key, t[k], dst.FieldByIndex(f.index))
		case f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
			var sub map[string]toml.Primitive
			if d.value(key, t[k], &sub) {
				d.table(key, sub, dst.FieldByIndex(f.index), "")
			}
		default:
			d.key(key, t, f, dst.FieldByIndex(f.index))
		}
	}
}

// sinkKey reports whether some sink type takes key.
func (d *decoder) sinkKey(key string) bool {
	return slices.ContainsFunc(sinkTypes, func(t sinkType) bool {
		_, ok := lookup(fields(reflect.TypeOf(t.def)), key)
		return ok
	})
}

// sinks decodes the [[sink]] tables, each into the configuration of its
// type, starting from that type's defaults.
func (d *decoder) sinks(key string, p toml.Primitive, dst reflect.Value) {
	var tables []map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(p, &tables); err != nil {
		d.errAt(key, "must be an array of tables: write [[sink]]")
		return
	}
	for i, t := range tables {
		key := fmt.Sprintf("%s[%d]", key, i)
		var typ string
		if _, ok := t["type"]; !ok {
			d.errAt(key, "type is required: "+typeList())
			continue
		}
		if !d.value(key+".type", t["type"], &typ) {
			continue
		}
		j := slices.IndexFunc(sinkTypes, func(s sinkType) bool { return s.name == typ })
		if j < 0 {
			d.errAt(key+".type", fmt.Sprintf("unknown sink type %q: want %s", typ, typeList()))
			continue
		}
		c := reflect.New(reflect.TypeOf(sinkTypes[j].def)).Elem()
		c.Set(reflect.ValueOf(sinkTypes[j].def))
		d.table(key, t, c, typ)
		dst.Set(reflect.Append(dst, c))
		d.sinkLines = append(d.sinkLines, d.lineOf(key))
	}
}

// key decodes the value of t's key f into dst: a *_file path relative to
// the configuration's directory (for a secret, the file's content), a
// duration or a size through their UnmarshalText, anything else as the
// library does.
func (d *decoder) key(key string, t map[string]toml.Primitive, f field, dst reflect.Value) {
	p := t[f.name()]
	v := reflect.New(dst.Type()) // a fresh value: a failed decode leaves dst alone
	ok := false
	var path string
	switch _, both := t[f.name()+"_file"]; {
	case f.secret() && !f.file && both:
		return // reported for the _file key
	case strings.HasSuffix(f.name(), "_file"):
		ok = d.value(key, p, &path) && d.readFile(key, t, f, d.path(path), v.Elem())
	default:
		ok = d.value(key, p, textOf(v.Interface(), f))
	}
	if ok {
		dst.Set(v.Elem())
	}
}

// textOf returns the destination to decode a value of field f into: p, or
// for a duration or a size, p as the type whose UnmarshalText reads it.
func textOf(p any, f field) any {
	switch x := p.(type) {
	case *time.Duration:
		return (*duration)(x)
	case *int:
		if f.Tag.Get("type") == "size" {
			return (*size)(x)
		}
	}
	return p
}

// readFile sets dst to path, or for a secret's _file key to the file's
// content.
func (d *decoder) readFile(key string, t map[string]toml.Primitive, f field, path string, dst reflect.Value) bool {
	if !f.file {
		dst.SetString(path)
		return true
	}
	plain := strings.TrimSuffix(f.name(), "_file")
	if _, both := t[plain]; both {
		d.errAt(key, fmt.Sprintf("set either %s or %s, not both", plain, f.name()))
		return false
	}
	b, err := readSecretFile(path)
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("%w: %s", errNotFound, path)
	}
	s := strings.TrimRight(string(b), "\r\n")
	switch {
	case err != nil:
		d.errAt(key, fmt.Sprintf("read secret: %v", err))
	case strings.TrimSpace(s) == "":
		d.errAt(key, fmt.Sprintf("secret file %s is empty", path))
	default:
		dst.SetString(s)
		return true
	}
	return false
}

// value decodes p into dst, reporting a value of the wrong type or one
// dst's UnmarshalText rejects.
func (d *decoder) value(key string, p toml.Primitive, dst any) bool {
	var raw any
	_ = d.md.PrimitiveDecode(p, &raw)
	err := d.md.PrimitiveDecode(p, dst)
	if _, table := raw.(map[string]any); err == nil && !table && reflect.TypeOf(dst).Elem().Kind() == reflect.Map {
		err = errors.New("not a table") // the library leaves the map alone
	}
	var pe toml.ParseError
	switch {
	case err == nil:
		return true
	case errors.As(err, &pe):
		d.errAt(key, pe.Message) // from UnmarshalText: ours, without a secret
	default:
		d.errAt(key, fmt.Sprintf("must be %s, not %s", want(dst), d.kind(key, raw)))
	}
	return false
}

// want names what a destination takes.
func want(dst any) string {
	switch dst.(type) {
	case *size:
		return `a size such as "1MiB" or a number of bytes`
	case encoding.TextUnmarshaler, *string, *redact.Secret:
		return "a string"
	case *bool:
		return "true or false"
	case *int:
		return "an integer"
	case *[]string:
		return "an array of strings"
	case *map[string]string:
		return "a table of strings"
	}
	return "a table"
}

// duration is a time.Duration as the file writes it (see ParseDuration).
type duration time.Duration

func (v *duration) UnmarshalText(b []byte) error {
	t, err := ParseDuration(string(b))
	if err == nil && t < 0 {
		err = fmt.Errorf("must not be negative: %q", b)
	}
	*v = duration(t)
	return err
}

// size is a byte count as the file writes it (see ParseSize).
type size int

func (v *size) UnmarshalText(b []byte) error {
	n, err := ParseSize(string(b))
	*v = size(n)
	return err
}

// maxSecretFile bounds what a *_file key reads: secrets are short, and a
// path such as /dev/zero must not exhaust the memory.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret file: a regular file (so that a FIFO or a
// device cannot block or flood the start) of at most maxSecretFile bytes.
func readSecretFile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d KiB", p, maxSecretFile>>10)
	}
	return b, nil
}

// path takes a relative path relative to the configuration file's
// directory.
func (d *decoder) path(s string) string {
	if s != "" && !filepath.IsAbs(s) && d.dir != "" {
		return filepath.Join(d.dir, s)
	}
	return s
}

// quotedText matches the "…" and '…' parts of a TOML parse error message.
var quotedText = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// secretKey reports whether the value of key (e.g. "sink[0].url" or the
// parser's "sink.headers.Authorization") may be a secret that no message
// may quote: the secret keys and every request header.
func secretKey(key string) bool {
	parts := strings.Split(key, ".")
	if slices.Contains(parts, "headers") {
		return true
	}
	switch parts[len(parts)-1] {
	case "url", "bearer_token", "basic_auth_password", "secret":
		return true
	}
	return false
}

// kind names the type of the value v of key for a message; it quotes a
// string only when the key cannot hold a secret.
func (d *decoder) kind(key string, v any) string {
	if _, ok := v.(string); ok && secretKey(key) {
		return "a string"
	}
	return typeName(v)
}

// typeName names a decoded TOML value's type for messages; for an array or
// a table, with its first element that is not a string.
func typeName(v any) string {
	switch x := v.(type) {
	case string:
		return "a string (" + strconv.Quote(x) + ")"
	case int64:
		return "an integer (" + strconv.FormatInt(x, 10) + ")"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any:
		if i := slices.IndexFunc(x, notString); i >= 0 {
			return fmt.Sprintf("an array whose element %d is %s", i, typeName(x[i]))
		}
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if notString(x[k]) {
				return fmt.Sprintf("a table whose %s is %s", k, typeName(x[k]))
			}
		}
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

func notString(v any) bool { _, ok := v.(string); return !ok }
