package packaging_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/centra-cloud/cflogd/daemon"
	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// facts are what cflogd emits, read from its code so the tests fail when
// the code and the packaging files drift apart.
type facts struct {
	// lokiLabels are the stream labels of the loki sink (eventLabels in
	// sink/loki/loki.go).
	lokiLabels []string
	// eventFields are the JSON keys of record.Event, which `| json`
	// extracts (fields.x becomes fields_x).
	eventFields []string
	// signatures are the ids of the built-in library (signatures and rules
	// over time) and of the events the daemon makes itself.
	signatures map[string]bool
	// anchors are the runbook anchors the library links to.
	anchors map[string]bool
	// metrics maps each metric the daemon registers to its labels.
	metrics map[string][]string
}

var (
	factsOnce sync.Once
	factsVal  facts
	factsErr  error
)

func loadFacts(tb testing.TB) facts {
	tb.Helper()
	factsOnce.Do(func() { factsVal, factsErr = readFacts() })
	if factsErr != nil {
		tb.Fatal(factsErr)
	}
	return factsVal
}

func readFacts() (facts, error) {
	var f facts
	var err error
	if f.lokiLabels, err = stringSliceVar("../sink/loki/loki.go", "eventLabels"); err != nil {
		return f, err
	}
	t := reflect.TypeOf(record.Event{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			f.eventFields = append(f.eventFields, name)
		}
	}
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		return f, err
	}
	f.signatures = map[string]bool{daemon.GapSignature: true}
	f.anchors = map[string]bool{}
	for _, s := range lib.Signatures {
		f.signatures[s.ID] = true
		f.anchors[s.Anchor] = true
	}
	for _, r := range lib.Rules {
		f.signatures[r.ID] = true
		f.anchors[r.Anchor] = true
	}
	f.metrics, err = daemonMetrics("../daemon")
	return f, err
}

// stringSliceVar returns the elements of `var name = []string{...}` in a Go
// file.
func stringSliceVar(file, name string) ([]string, error) {
	af, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	found := false
	ast.Inspect(af, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
			return true
		}
		found = true
		out = stringList(vs.Values[0])
		return false
	})
	if !found || len(out) == 0 {
		return nil, &missingError{file, "var " + name + " = []string{...}"}
	}
	return out, nil
}

type missingError struct{ file, what string }

func (e *missingError) Error() string { return "no " + e.what + " in " + e.file }

// stringList returns the string literals of a []string{...} literal.
func stringList(e ast.Expr) []string {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var out []string
	for _, el := range cl.Elts {
		if s, ok := stringLit(el); ok {
			out = append(out, s)
		}
	}
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// daemonMetrics finds the Prometheus metrics registered in the daemon's
// code and their labels: New{Counter,Gauge,Histogram}[Vec] (of prometheus
// or promauto) with Opts{Name: ...} and a label list, prometheus.NewDesc(name,
// help, labels, ...), and the daemon's gauge(name, ...) and counter(name,
// ...) helpers. A histogram also exports name_bucket (with le), name_sum and
// name_count.
func daemonMetrics(dir string) (map[string][]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	metrics := map[string][]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.SelectorExpr:
				fn = f.Sel.Name
			case *ast.Ident:
				fn = f.Name
			}
			if fn == "" || len(call.Args) == 0 {
				return true
			}
			switch {
			case fn == "NewDesc" && len(call.Args) >= 3:
				if name, ok := stringLit(call.Args[0]); ok {
					metrics[name] = stringList(call.Args[2])
				}
			case fn == "gauge" || fn == "counter":
				if name, ok := stringLit(call.Args[0]); ok {
					metrics[name] = nil
				}
			case strings.HasPrefix(fn, "New") && (strings.Contains(fn, "Counter") || strings.Contains(fn, "Gauge") || strings.Contains(fn, "Histogram")):
				name, labels := optsName(call.Args[0])
				if name == "" {
					return true
				}
				if strings.HasSuffix(fn, "Vec") && len(call.Args) > 1 {
					labels = append(labels, stringList(call.Args[1])...)
				}
				metrics[name] = labels
				if strings.Contains(fn, "Histogram") {
					metrics[name+"_bucket"] = append(slices.Clone(labels), "le")
					metrics[name+"_sum"] = labels
					metrics[name+"_count"] = labels
				}
			}
			return true
		})
	}
	if len(metrics) == 0 {
		return nil, &missingError{dir, "Prometheus metrics"}
	}
	return metrics, nil
}

// optsName returns the Name of a prometheus.*Opts literal and the keys of
// its ConstLabels.
func optsName(e ast.Expr) (string, []string) {
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return "", nil
	}
	var name string
	var labels []string
	for _, el := range cl.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		switch {
		case key != nil && key.Name == "Name":
			name, _ = stringLit(kv.Value)
		case key != nil && key.Name == "ConstLabels":
			if m, ok := kv.Value.(*ast.CompositeLit); ok {
				for _, el := range m.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if s, ok := stringLit(kv.Key); ok {
							labels = append(labels, s)
						}
					}
				}
			}
		}
	}
	return name, labels
}

// TestFacts checks that reading the facts from the code finds what the
// packaging files rely on, so a refactoring that hides them from this
// reader fails here rather than silently weakening the other tests.
func TestFacts(t *testing.T) {
	f := loadFacts(t)
	for _, l := range []string{"job", "host", "unit", "severity", "signature"} {
		if !slices.Contains(f.lokiLabels, l) {
			t.Errorf("loki labels %v lack %s", f.lokiLabels, l)
		}
	}
	for _, s := range []string{"chainfire.election_storm", "chainfire.election_timeout", "flaredb.pd_unreachable", "cflogd.journal_gap"} {
		if !f.signatures[s] {
			t.Errorf("signature %s not found", s)
		}
	}
	wantMetrics := map[string][]string{
		"cflogd_journal_lag_seconds":             nil,
		"cflogd_sink_failed_total":               {"sink", "type"},
		"cflogd_patterns_last_reload_successful": nil,
		"cflogd_events_total":                    {"signature", "severity"},
		"cflogd_event_delivery_seconds_bucket":   {"le"},
		"cflogd_build_info":                      {"version"},
	}
	for name, labels := range wantMetrics {
		got, ok := f.metrics[name]
		if !ok {
			t.Errorf("metric %s not found in daemon/", name)
			continue
		}
		for _, l := range labels {
			if !slices.Contains(got, l) {
				t.Errorf("metric %s: labels %v lack %s", name, got, l)
			}
		}
	}
	if !slices.Contains(f.eventFields, "runbook") || !slices.Contains(f.eventFields, "summary") {
		t.Errorf("event JSON fields %v lack runbook or summary", f.eventFields)
	}
}
