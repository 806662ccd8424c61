package packaging_test

// A small parser for the subset of LogQL and PromQL that the rule files and
// the dashboard use. It is not a full implementation of either language: it
// knows enough to find every stream or series selector, every label a query
// groups or filters by, and every function, so the tests can check them
// against what cflogd really emits. An expression it does not understand is
// an error, so a new construct fails loudly rather than passing unchecked.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

type lang int

const (
	logQL lang = iota
	promQL
)

func (l lang) String() string {
	if l == logQL {
		return "LogQL"
	}
	return "PromQL"
}

// matcher is one label matcher of a selector.
type matcher struct{ name, op, value string }

// selector is a LogQL stream selector or a PromQL series selector.
type selector struct {
	metric   string // PromQL only
	matchers []matcher
}

// query is what the parser found in one expression.
type query struct {
	selectors []selector
	// grouped are the labels of by/without/on/ignoring/group_left/right.
	grouped []string
	// filtered are labels a LogQL pipeline filters on or formats with.
	filtered []string
	// extracted are labels a LogQL pipeline adds: json params, label_format.
	extracted []string
	// jsonAll is set by a bare `| json`, which extracts every field.
	jsonAll   bool
	functions []string
}

type qtoken struct {
	kind string // ident, num, str, op, range, eof
	text string
	pos  int
}

var (
	aggregations = map[string]bool{"sum": true, "count": true, "min": true, "max": true, "avg": true, "stddev": true,
		"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "group": true}
	logRangeFuncs = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true,
		"absent_over_time": true}
	promFuncs = map[string]bool{"rate": true, "irate": true, "increase": true, "delta": true, "absent": true,
		"histogram_quantile": true, "max_over_time": true, "min_over_time": true, "avg_over_time": true,
		"sum_over_time": true, "count_over_time": true, "clamp_min": true, "clamp_max": true, "abs": true,
		"time": true, "timestamp": true, "vector": true, "scalar": true, "changes": true, "resets": true}
	keywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true}
	// durationRE is a range: a duration or a Grafana variable ($__auto, $__rate_interval).
	durationRE = regexp.MustCompile(`^(?:(?:\d+(?:ms|s|m|h|d|w|y))+|\$\{?__\w+\}?)$`)
)

func lex(s string) ([]qtoken, error) {
	var toks []qtoken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad string at %d: %v", i, err)
			}
			toks = append(toks, qtoken{"str", v, i})
			i = j + 1
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated range at %d", i)
			}
			r := strings.TrimSpace(s[i+1 : i+j])
			if !durationRE.MatchString(r) {
				return nil, fmt.Errorf("bad range [%s] at %d", r, i)
			}
			toks = append(toks, qtoken{"range", r, i})
			i += j + 1
		case unicode.IsLetter(rune(c)) || c == '_' || c == ':':
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == ':') {
				j++
			}
			toks = append(toks, qtoken{"ident", s[i:j], i})
			i = j
		case unicode.IsDigit(rune(c)) || c == '.' && i+1 < len(s) && unicode.IsDigit(rune(s[i+1])):
			j := i
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == '.' || s[j] == 'e') {
				j++
			}
			toks = append(toks, qtoken{"num", s[i:j], i})
			i = j
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "|=", "|~", "!=", "!~", "=~", "==", ">=", "<=":
				toks = append(toks, qtoken{"op", two, i})
				i += 2
				continue
			}
			if !strings.ContainsRune("{}(),|=<>+-*/%^", rune(c)) {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			toks = append(toks, qtoken{"op", string(c), i})
			i++
		}
	}
	return append(toks, qtoken{"eof", "", len(s)}), nil
}

type qparser struct {
	lang lang
	toks []qtoken
	i    int
	q    query
}

// parseQuery parses expr in language l.
func parseQuery(l lang, expr string) (*query, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", l, err)
	}
	p := &qparser{lang: l, toks: toks}
	if err := p.expr(0); err != nil {
		return nil, fmt.Errorf("%v: %w", l, err)
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, fmt.Errorf("%v: unexpected %q at %d", l, t.text, t.pos)
	}
	return &p.q, nil
}

func (p *qparser) peek() qtoken { return p.toks[p.i] }
func (p *qparser) next() qtoken { t := p.toks[p.i]; p.i++; return t }

func (p *qparser) expect(kind, text string) error {
	t := p.next()
	if t.kind != kind || text != "" && t.text != text {
		want := text
		if want == "" {
			want = kind
		}
		return fmt.Errorf("want %s, got %q at %d", want, t.text, t.pos)
	}
	return nil
}

// precedence of binary operators (PromQL's, which LogQL shares).
func precedence(t qtoken) int {
	switch {
	case t.kind == "ident" && t.text == "or":
		return 1
	case t.kind == "ident" && (t.text == "and" || t.text == "unless"):
		return 2
	case t.kind == "op" && (t.text == "==" || t.text == "!=" || t.text == ">=" || t.text == "<=" || t.text == ">" || t.text == "<"):
		return 3
	case t.kind == "op" && (t.text == "+" || t.text == "-"):
		return 4
	case t.kind == "op" && (t.text == "*" || t.text == "/" || t.text == "%"):
		return 5
	case t.kind == "op" && t.text == "^":
		return 6
	}
	return 0
}

func (p *qparser) expr(minPrec int) error {
	if err := p.unary(); err != nil {
		return err
	}
	for {
		prec := precedence(p.peek())
		if prec == 0 || prec <= minPrec {
			return nil
		}
		p.next()
		if t := p.peek(); t.kind == "ident" && t.text == "bool" {
			p.next()
		}
		for {
			t := p.peek()
			if t.kind != "ident" || !(t.text == "on" || t.text == "ignoring" || t.text == "group_left" || t.text == "group_right") {
				break
			}
			p.next()
			if p.peek().text == "(" {
				if err := p.labelList(); err != nil {
					return err
				}
			}
		}
		if err := p.expr(prec); err != nil {
			return err
		}
	}
}

// labelList reads "(a, b)" into grouped.
func (p *qparser) labelList() error {
	if err := p.expect("op", "("); err != nil {
		return err
	}
	for p.peek().text != ")" {
		t := p.next()
		if t.kind != "ident" {
			return fmt.Errorf("want a label name, got %q at %d", t.text, t.pos)
		}
		p.q.grouped = append(p.q.grouped, t.text)
		if p.peek().text == "," {
			p.next()
		}
	}
	p.next()
	return nil
}

func (p *qparser) grouping() error {
	if t := p.peek(); t.kind == "ident" && (t.text == "by" || t.text == "without") {
		p.next()
		return p.labelList()
	}
	return nil
}

func (p *qparser) unary() error {
	t := p.peek()
	switch {
	case t.kind == "op" && t.text == "-":
		p.next()
		return p.unary()
	case t.kind == "num" || t.kind == "str":
		p.next()
		return nil
	case t.kind == "op" && t.text == "(":
		p.next()
		if err := p.expr(0); err != nil {
			return err
		}
		return p.expect("op", ")")
	case t.kind == "op" && t.text == "{":
		if p.lang != logQL {
			return fmt.Errorf("selector without a metric name at %d", t.pos)
		}
		return p.logQuery(false)
	case t.kind == "ident" && aggregations[t.text]:
		p.next()
		p.q.functions = append(p.q.functions, t.text)
		if err := p.grouping(); err != nil {
			return err
		}
		if err := p.args(); err != nil {
			return err
		}
		return p.grouping()
	case t.kind == "ident" && p.lang == logQL && logRangeFuncs[t.text]:
		p.next()
		p.q.functions = append(p.q.functions, t.text)
		if err := p.expect("op", "("); err != nil {
			return err
		}
		if err := p.logQuery(true); err != nil {
			return err
		}
		if err := p.expect("op", ")"); err != nil {
			return err
		}
		return p.grouping()
	case t.kind == "ident" && p.lang == promQL && promFuncs[t.text]:
		p.next()
		p.q.functions = append(p.q.functions, t.text)
		return p.args()
	case t.kind == "ident" && p.lang == promQL && !keywords[t.text]:
		p.next()
		if p.peek().text == "(" {
			return fmt.Errorf("unknown function %s at %d", t.text, t.pos)
		}
		s := selector{metric: t.text}
		if p.peek().text == "{" {
			m, err := p.matchers()
			if err != nil {
				return err
			}
			s.matchers = m
		}
		p.q.selectors = append(p.q.selectors, s)
		if p.peek().kind == "range" {
			p.next()
		}
		if t := p.peek(); t.kind == "ident" && t.text == "offset" {
			p.next()
			return p.duration()
		}
		return nil
	}
	return fmt.Errorf("unexpected %q at %d", t.text, t.pos)
}

// duration reads a duration outside brackets (after offset), which the
// lexer splits into adjacent numbers and identifiers: 15m, 1h30m.
func (p *qparser) duration() error {
	start := p.peek()
	d, end := "", start.pos
	for t := p.peek(); (t.kind == "num" || t.kind == "ident") && t.pos == end; t = p.peek() {
		d += t.text
		end = t.pos + len(t.text)
		p.next()
	}
	if !durationRE.MatchString(d) {
		return fmt.Errorf("want a duration, got %q at %d", d, start.pos)
	}
	return nil
}

// args reads a parenthesised, comma-separated list of expressions.
func (p *qparser) args() error {
	if err := p.expect("op", "("); err != nil {
		return err
	}
	for p.peek().text != ")" {
		if err := p.expr(0); err != nil {
			return err
		}
		if p.peek().text == "," {
			p.next()
		} else if p.peek().text != ")" {
			return fmt.Errorf("want , or ), got %q at %d", p.peek().text, p.peek().pos)
		}
	}
	p.next()
	return nil
}

func (p *qparser) matchers() ([]matcher, error) {
	if err := p.expect("op", "{"); err != nil {
		return nil, err
	}
	var ms []matcher
	for p.peek().text != "}" {
		name := p.next()
		op := p.next()
		val := p.next()
		if name.kind != "ident" || op.kind != "op" || !(op.text == "=" || op.text == "!=" || op.text == "=~" || op.text == "!~") || val.kind != "str" {
			return nil, fmt.Errorf("bad matcher at %d", name.pos)
		}
		ms = append(ms, matcher{name.text, op.text, val.text})
		if p.peek().text == "," {
			p.next()
		}
	}
	p.next()
	return ms, nil
}

// logQuery reads a stream selector and its pipeline, and the range when
// ranged.
func (p *qparser) logQuery(ranged bool) error {
	ms, err := p.matchers()
	if err != nil {
		return err
	}
	p.q.selectors = append(p.q.selectors, selector{matchers: ms})
	for {
		t := p.peek()
		switch {
		case t.kind == "op" && (t.text == "|=" || t.text == "!=" || t.text == "|~" || t.text == "!~"):
			p.next()
			if err := p.expect("str", ""); err != nil {
				return err
			}
		case t.kind == "op" && t.text == "|":
			p.next()
			if err := p.stage(); err != nil {
				return err
			}
		case t.kind == "range" && ranged:
			p.next()
			return nil
		default:
			if ranged {
				return fmt.Errorf("want a range after the log query, got %q at %d", t.text, t.pos)
			}
			return nil
		}
	}
}

var templateFieldRE = regexp.MustCompile(`\{\{[^}]*?\.(\w+)[^}]*\}\}`)

func (p *qparser) stage() error {
	t := p.next()
	if t.kind != "ident" {
		return fmt.Errorf("want a pipeline stage, got %q at %d", t.text, t.pos)
	}
	switch t.text {
	case "json", "logfmt":
		if p.peek().kind != "ident" || p.toks[p.i+1].text != "=" {
			p.q.jsonAll = p.q.jsonAll || t.text == "json"
			return nil
		}
		for p.peek().kind == "ident" && p.toks[p.i+1].text == "=" {
			name := p.next()
			p.next()
			if err := p.expect("str", ""); err != nil {
				return err
			}
			p.q.extracted = append(p.q.extracted, name.text)
			if p.peek().text == "," {
				p.next()
			}
		}
		return nil
	case "line_format":
		s := p.next()
		if s.kind != "str" {
			return fmt.Errorf("line_format wants a string at %d", s.pos)
		}
		for _, m := range templateFieldRE.FindAllStringSubmatch(s.text, -1) {
			p.q.filtered = append(p.q.filtered, m[1])
		}
		return nil
	case "label_format":
		for p.peek().kind == "ident" && p.toks[p.i+1].text == "=" {
			name := p.next()
			p.next()
			v := p.next()
			if v.kind == "ident" {
				p.q.filtered = append(p.q.filtered, v.text)
			}
			p.q.extracted = append(p.q.extracted, name.text)
			if p.peek().text == "," {
				p.next()
			}
		}
		return nil
	}
	// A label filter: name op value.
	op := p.next()
	val := p.next()
	if op.kind != "op" || val.kind != "str" && val.kind != "num" {
		return fmt.Errorf("unknown pipeline stage %s at %d", t.text, t.pos)
	}
	p.q.filtered = append(p.q.filtered, t.text)
	return nil
}
