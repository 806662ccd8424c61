package packaging_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/centra-cloud/cflogd/record"
)

// ruleFile is a Prometheus or Loki ruler rule file.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T, path string) ruleFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(rf.Groups) == 0 {
		t.Fatalf("%s has no rule groups", path)
	}
	return rf
}

// severities are the values cflogd's severity label takes.
var severities = []string{record.Info.String(), record.Warning.String(), record.Error.String(), record.Critical.String()}

// alternatives splits a matcher value into the literal values it stands
// for: itself for = and !=, the |-separated alternatives of a regexp that
// is only literal alternatives for =~ and !~. ok is false for a regexp with
// other syntax or a Grafana variable, which cannot be checked.
func alternatives(m matcher) (vals []string, ok bool) {
	if m.op == "=" || m.op == "!=" {
		return []string{m.value}, true
	}
	if strings.Contains(m.value, "$") {
		return nil, false
	}
	for _, alt := range strings.Split(m.value, "|") {
		lit := strings.ReplaceAll(alt, `\.`, ".")
		if regexp.QuoteMeta(lit) != strings.ReplaceAll(lit, ".", `\.`) {
			return nil, false
		}
		vals = append(vals, lit)
	}
	return vals, true
}

// checkLogQL returns the problems of a LogQL query over cflogd's events.
func checkLogQL(f facts, expr string) []error {
	q, err := parseQuery(logQL, expr)
	if err != nil {
		return []error{err}
	}
	var errs []error
	known := slices.Clone(f.lokiLabels)
	known = append(known, q.extracted...)
	knownLabel := func(l string) bool {
		return slices.Contains(known, l) || q.jsonAll && (slices.Contains(f.eventFields, l) || strings.HasPrefix(l, "fields_"))
	}
	if len(q.selectors) == 0 {
		errs = append(errs, fmt.Errorf("no stream selector"))
	}
	for _, s := range q.selectors {
		job := false
		for _, m := range s.matchers {
			if !slices.Contains(f.lokiLabels, m.name) {
				errs = append(errs, fmt.Errorf("stream label %q: cflogd's streams have %v", m.name, f.lokiLabels))
				continue
			}
			vals, ok := alternatives(m)
			if !ok {
				continue
			}
			for _, v := range vals {
				switch m.name {
				case "job":
					job = job || m.op == "=" && v == "cflogd"
				case "signature":
					if !f.signatures[v] {
						errs = append(errs, fmt.Errorf("signature %q is not in the library", v))
					}
				case "severity":
					if !slices.Contains(severities, v) {
						errs = append(errs, fmt.Errorf("severity %q: want one of %v", v, severities))
					}
				}
			}
		}
		if !job {
			errs = append(errs, fmt.Errorf(`selector without job="cflogd"`))
		}
	}
	for _, l := range append(slices.Clone(q.grouped), q.filtered...) {
		if !knownLabel(l) {
			errs = append(errs, fmt.Errorf("label %q is neither a stream label nor extracted by the pipeline", l))
		}
	}
	return errs
}

// promLabels are the labels Prometheus adds to every scraped series.
var promLabels = []string{"job", "instance"}

// checkPromQL returns the problems of a PromQL query over cflogd's metrics.
func checkPromQL(f facts, expr string) []error {
	q, err := parseQuery(promQL, expr)
	if err != nil {
		return []error{err}
	}
	var errs []error
	inExpr := slices.Clone(promLabels)
	for _, s := range q.selectors {
		labels, ok := f.metrics[s.metric]
		if s.metric == "up" {
			ok = true
		}
		if !ok {
			errs = append(errs, fmt.Errorf("metric %s is not registered by the daemon", s.metric))
			continue
		}
		inExpr = append(inExpr, labels...)
		for _, m := range s.matchers {
			if !slices.Contains(labels, m.name) && !slices.Contains(promLabels, m.name) {
				errs = append(errs, fmt.Errorf("metric %s has no label %q (it has %v)", s.metric, m.name, labels))
			}
			if vals, ok := alternatives(m); ok && m.name == "signature" {
				for _, v := range vals {
					if !f.signatures[v] {
						errs = append(errs, fmt.Errorf("signature %q is not in the library", v))
					}
				}
			}
		}
	}
	for _, l := range q.grouped {
		if !slices.Contains(inExpr, l) {
			errs = append(errs, fmt.Errorf("label %q is on none of the metrics of the expression", l))
		}
	}
	if len(q.selectors) == 0 {
		errs = append(errs, fmt.Errorf("no metric"))
	}
	return errs
}

// TestQueryCheckers shows that the checkers catch what they are for.
func TestQueryCheckers(t *testing.T) {
	f := loadFacts(t)
	tests := []struct {
		lang lang
		expr string
		want []string // substrings of the problems, in order; none: valid
	}{
		{logQL, `count(sum by (host) (count_over_time({job="cflogd", signature="chainfire.election_storm"}[2m]))) >= 2`, nil},
		{logQL, `sum by (signature) (count_over_time({job="cflogd", host=~"$host"}[$__auto]))`, nil},
		{logQL, `{job="cflogd", severity=~"critical|error"} | json | line_format "{{.summary}} {{.fields_duration_ms}}"`, nil},
		{logQL, `{job="cflogd"} | json summary="summary" | line_format "{{.summary}}"`, nil},
		{logQL, `{job="cflogd", node="n1"}`, []string{`stream label "node"`}},
		{logQL, `{job="cflogd", signature=~"chainfire\\.election_storm|chainfire\\.bogus"}`, []string{`signature "chainfire.bogus"`}},
		{logQL, `{job="cflogd", severity="fatal"}`, []string{`severity "fatal"`}},
		{logQL, `{host="n1"}`, []string{`without job="cflogd"`}},
		{logQL, `sum by (node) (count_over_time({job="cflogd"}[5m]))`, []string{`label "node"`}},
		{logQL, `{job="cflogd"} | line_format "{{.summary}}"`, []string{`label "summary"`}},
		{logQL, `count_over_time({job="cflogd"})`, []string{"want a range"}},
		{logQL, `frobnicate({job="cflogd"}[5m])`, []string{"unexpected"}},
		{promQL, `sum by (instance, sink) (rate(cflogd_sink_failed_total[5m])) > 0`, nil},
		{promQL, `histogram_quantile(0.99, sum by (le) (rate(cflogd_event_delivery_seconds_bucket[$__rate_interval])))`, nil},
		{promQL, `up{job="cflogd"} == 0`, nil},
		{promQL, `cflogd_queue_depth / cflogd_queue_capacity`, nil},
		{promQL, `cflogd_journal_lag > 60`, []string{"metric cflogd_journal_lag is not registered"}},
		{promQL, `cflogd_sink_failed_total{unit="x"}`, []string{`no label "unit"`}},
		{promQL, `sum by (signature) (cflogd_sink_failed_total)`, []string{`label "signature"`}},
		{promQL, `frobnicate(cflogd_sink_failed_total)`, []string{"unknown function"}},
		{promQL, `cflogd_events_total{signature="unit.crash_loop"} unless cflogd_events_total offset 15m`, nil},
		{promQL, `cflogd_events_total offset 15`, []string{"want a duration"}},
		{promQL, `cflogd_events_total{signature="unit.bogus"}`, []string{`signature "unit.bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.lang.String()+" "+tt.expr, func(t *testing.T) {
			var errs []error
			if tt.lang == logQL {
				errs = checkLogQL(f, tt.expr)
			} else {
				errs = checkPromQL(f, tt.expr)
			}
			var got []string
			for i, e := range errs {
				if i < len(tt.want) && strings.Contains(e.Error(), tt.want[i]) {
					got = append(got, tt.want[i])
				} else {
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// checkRule checks what every alerting rule needs: a name, a severity
// label, annotations that are valid templates, and runbook links into the
// runbook sections the library knows.
func checkRule(t *testing.T, f facts, r rule) {
	t.Helper()
	if !regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`).MatchString(r.Alert) {
		t.Errorf("alert name %q: want CamelCase", r.Alert)
	}
	if r.For != "" {
		if _, err := time.ParseDuration(r.For); err != nil {
			t.Errorf("for: %v", err)
		}
	}
	if s := r.Labels["severity"]; !slices.Contains([]string{"info", "warning", "critical"}, s) {
		t.Errorf("labels.severity %q: want info, warning or critical", s)
	}
	if r.Annotations["summary"] == "" {
		t.Errorf("no summary annotation")
	}
	funcs := template.FuncMap{"humanize": fmt.Sprint, "humanizeDuration": fmt.Sprint}
	for k, v := range r.Annotations {
		tmpl, err := template.New(k).Funcs(funcs).Parse(v)
		if err != nil {
			t.Errorf("annotation %s: %v", k, err)
			continue
		}
		var b strings.Builder
		data := map[string]any{"Labels": map[string]string{}, "Value": 2.0}
		if err := tmpl.Execute(&b, data); err != nil {
			t.Errorf("annotation %s: %v", k, err)
		}
	}
	if u, ok := r.Annotations["runbook_url"]; ok {
		anchor, found := strings.CutPrefix(u, record.DefaultRunbookBase+"docs/ops/troubleshooting.md#")
		if !found || !f.anchors[anchor] {
			t.Errorf("runbook_url %s: want %sdocs/ops/troubleshooting.md# and an anchor of the library", u, record.DefaultRunbookBase)
		}
	}
}

// Prometheus' templates use $labels and $value; make them plain fields for
// text/template.
var promTemplateVars = strings.NewReplacer("$labels", ".Labels", "$value", ".Value")

// TestLokiRules loads packaging/loki/rules.yaml and checks every expression
// against the labels and signatures cflogd emits.
func TestLokiRules(t *testing.T) {
	f := loadFacts(t)
	rf := loadRules(t, "loki/rules.yaml")
	got := map[string]*query{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				for _, err := range checkLogQL(f, r.Expr) {
					t.Errorf("expr: %v\n%s", err, r.Expr)
				}
				r.Annotations = rewriteTemplates(r.Annotations)
				checkRule(t, f, r)
				got[r.Alert], _ = parseQuery(logQL, r.Expr)
			})
		}
	}
	// What the file is for: cluster-wide views.
	want := map[string][]matcher{
		"ChainfireElectionStormMultiNode":             {{"signature", "=", "chainfire.election_storm"}, {"signature", "=", "chainfire.election_timeout"}},
		"FlaredbPlacementDriverUnreachableMultiStore": {{"signature", "=", "flaredb.pd_unreachable"}},
		"CflogdCriticalEvent":                         {{"severity", "=", "critical"}, {"signature", "!=", "unit.crash_loop"}},
		"ServiceCrashLoop":                            {{"signature", "=", "unit.crash_loop"}},
		"ServiceCrashingMultiNode":                    {{"signature", "=", "unit.process_exited"}},
	}
	for alert, ms := range want {
		q := got[alert]
		if q == nil {
			t.Errorf("no alert %s", alert)
			continue
		}
		for _, m := range ms {
			if !slices.ContainsFunc(q.selectors, func(s selector) bool { return slices.Contains(s.matchers, m) }) {
				t.Errorf("%s does not select %s%s%q", alert, m.name, m.op, m.value)
			}
		}
	}
	// The multi-node alerts count hosts.
	for _, alert := range []string{"ChainfireElectionStormMultiNode", "FlaredbPlacementDriverUnreachableMultiStore", "ServiceCrashingMultiNode"} {
		if q := got[alert]; q != nil && (!slices.Contains(q.grouped, "host") || !slices.Contains(q.functions, "count")) {
			t.Errorf("%s does not count hosts", alert)
		}
	}
}

func rewriteTemplates(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = promTemplateVars.Replace(v)
	}
	return out
}

// TestPrometheusRules loads packaging/prometheus/cflogd.rules.yaml and checks
// every expression against the metrics the daemon registers.
func TestPrometheusRules(t *testing.T) {
	f := loadFacts(t)
	rf := loadRules(t, "prometheus/cflogd.rules.yaml")
	used := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				for _, err := range checkPromQL(f, r.Expr) {
					t.Errorf("expr: %v\n%s", err, r.Expr)
				}
				r.Annotations = rewriteTemplates(r.Annotations)
				checkRule(t, f, r)
				if q, err := parseQuery(promQL, r.Expr); err == nil {
					for _, s := range q.selectors {
						used[s.metric] = r.Alert
						for _, m := range s.matchers {
							if m.name == "signature" && m.op == "=" {
								used[s.metric+"{signature="+m.value+"}"] = r.Alert
							}
						}
					}
				}
			})
		}
	}
	for _, m := range []string{"up", "cflogd_journal_lag_seconds", "cflogd_sink_failed_total", "cflogd_patterns_last_reload_successful",
		"cflogd_events_total{signature=unit.crash_loop}"} {
		if used[m] == "" {
			t.Errorf("no alert on %s", m)
		}
	}
}

// TestGrafanaDashboard loads packaging/grafana/cflogd.json and checks every
// query: Loki ones against cflogd's labels and signatures, Prometheus ones
// against its metrics; the variables they use exist; the table of critical
// events links each row's runbook.
func TestGrafanaDashboard(t *testing.T) {
	f := loadFacts(t)
	data, err := os.ReadFile("grafana/cflogd.json")
	if err != nil {
		t.Fatal(err)
	}
	type datasource struct{ Type, UID string }
	type target struct {
		Datasource datasource
		Expr       string
		RefID      string
	}
	type panel struct {
		Type        string
		Title       string
		Datasource  *datasource
		Targets     []target
		FieldConfig struct {
			Overrides []struct {
				Matcher struct {
					ID      string
					Options any
				}
				Properties []struct {
					ID    string
					Value any
				}
			}
		}
	}
	var dash struct {
		Title      string
		UID        string
		Templating struct {
			List []struct{ Name, Type string }
		}
		Panels []panel
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("decode: %v", err)
	}
	vars := map[string]bool{"__auto": true, "__interval": true, "__rate_interval": true, "__range": true}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
	}
	varRE := regexp.MustCompile(`\$\{?(\w+)`)
	uses := map[string]int{}
	sigs := map[string]bool{} // selected by a Loki query
	var runbookLink bool
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		t.Run(p.Title, func(t *testing.T) {
			if p.Datasource == nil || len(p.Targets) == 0 {
				t.Fatalf("panel without datasource or queries")
			}
			for _, tg := range p.Targets {
				if tg.Datasource != *p.Datasource {
					t.Errorf("target %s: datasource %v, panel's %v", tg.RefID, tg.Datasource, *p.Datasource)
				}
				var errs []error
				switch tg.Datasource.UID {
				case "${loki}":
					errs = checkLogQL(f, tg.Expr)
				case "${prometheus}":
					errs = checkPromQL(f, tg.Expr)
				default:
					t.Errorf("target %s: datasource uid %q: want ${loki} or ${prometheus}", tg.RefID, tg.Datasource.UID)
				}
				uses[tg.Datasource.UID]++
				if q, err := parseQuery(logQL, tg.Expr); err == nil && tg.Datasource.UID == "${loki}" {
					for _, s := range q.selectors {
						for _, m := range s.matchers {
							if m.name == "signature" && m.op == "=" {
								sigs[m.value] = true
							}
						}
					}
				}
				for _, err := range errs {
					t.Errorf("target %s: %v\n%s", tg.RefID, err, tg.Expr)
				}
				for _, m := range varRE.FindAllStringSubmatch(tg.Expr, -1) {
					if !vars[m[1]] {
						t.Errorf("target %s uses undefined variable $%s", tg.RefID, m[1])
					}
				}
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, prop := range o.Properties {
					if o.Matcher.Options == "runbook" && prop.ID == "links" && strings.Contains(fmt.Sprint(prop.Value), "${__value.raw}") {
						runbookLink = true
					}
				}
			}
		})
	}
	if uses["${loki}"] == 0 || uses["${prometheus}"] == 0 {
		t.Errorf("queries per datasource %v: want both Loki (events) and Prometheus (cflogd's health)", uses)
	}
	// The service lifecycle panel.
	for _, sig := range []string{"unit.process_exited", "unit.restart_scheduled", "unit.oom_killed", "unit.core_dumped", "unit.crash_loop"} {
		if !sigs[sig] {
			t.Errorf("no panel counts %s", sig)
		}
	}
	if !runbookLink {
		t.Errorf("no panel links the runbook field (override on field runbook with a ${__value.raw} link)")
	}
}
