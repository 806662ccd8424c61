package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func ev(at time.Duration, sig string, sev record.Severity, unit, msg string, fields map[string]any) record.Event {
	return record.Event{
		Time:      record.Time{Time: t0.Add(at)},
		Host:      "node01",
		Unit:      unit,
		Signature: sig,
		Severity:  sev,
		Runbook:   "https://git.example/centra-cloud/blob/main/docs/ops/troubleshooting.md#" + strings.ReplaceAll(sig, ".", "-"),
		Fields:    fields,
		Message:   msg,
	}
}

// fixture is a fixed set of events: stalls (mixed severities), slow requests
// with latencies, peer failures with addresses, a TLS problem in two units,
// info events and unclassified lines.
func fixture() []record.Event {
	var evs []record.Event
	const cf, fd, pd = "chainfire.service", "flaredb.service", "placement-driver.service"
	for i := range 12 {
		d := 500 + 250*i
		sev := record.Warning
		if d >= 1000 {
			sev = record.Error
		}
		evs = append(evs, ev(time.Duration(5+i)*time.Minute, "chainfire.rocksdb_stall", sev, cf,
			fmt.Sprintf("WARN chainfire_storage: RocksDB stall detected, duration=%dms", d),
			map[string]any{"duration_ms": int64(d)}))
	}
	for i := range 200 {
		lat := 100 + (i*37)%450
		evs = append(evs, ev(time.Duration(i*18)*time.Second, "chainfire.slow_request", record.Warning, cf,
			fmt.Sprintf("\x1b[33m WARN\x1b[0m chainfire_api: Handled put request, latency=%dms", lat),
			map[string]any{"op": "put", "latency_ms": float64(lat) + 0.5}))
	}
	for i := range 30 {
		addr := []string{"node2:2380", "node3:2380", "node2:2380"}[i%3]
		host, port, _ := strings.Cut(addr, ":")
		evs = append(evs, ev(40*time.Minute+time.Duration(i)*10*time.Second, "chainfire.peer_unreachable", record.Error, cf,
			"ERROR raft{node_id=1 term=7}: chainfire_raft: Failed to connect to peer, addr="+addr,
			map[string]any{"addr": addr, "peer_host": host, "peer_port": int64(2380 + len(port) - 4)}))
	}
	evs = append(evs,
		ev(50*time.Minute, "tls.certificate_expired", record.Critical, fd,
			"ERROR flaredb_server: tls handshake: certificate has expired "+strings.Repeat("x", 200),
			nil),
		ev(51*time.Minute, "tls.certificate_expired", record.Critical, pd,
			"ERROR pd_server: certificate expired", nil),
		ev(2*time.Minute, "flaredb.pd_registered", record.Info, fd,
			"INFO flaredb_server: Registered with PD, store_id=1", map[string]any{"store_id": int64(1)}),
	)
	for i := range 7 {
		evs = append(evs, ev(time.Duration(i)*time.Minute, "chainfire.leader_elected", record.Info, cf,
			"INFO chainfire_raft: Leader elected, term=3", map[string]any{"term": int64(3 + i)}))
	}
	for i := range 25 {
		tmpl, sev, unit := "Raft log compaction took <num>ms", record.Info, cf
		switch {
		case i%5 == 0:
			tmpl, sev, unit = "failed to open <path>: permission denied", record.Warning, fd
		case i%7 == 0:
			tmpl = "unexpected message from <addr>"
		}
		evs = append(evs, ev(time.Duration(i)*time.Minute, UnclassifiedID, sev, unit, "WARN x: "+tmpl,
			map[string]any{"target": "chainfire_raft", "template": tmpl}))
	}
	return evs
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		style Style
		head  Header
		evs   []record.Event
	}{
		{
			name:  "window",
			opts:  Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home},
			style: Style{Width: 100, Location: time.UTC},
			head:  Header{Units: patterns.BuiltinServices().Units(), Source: "local journal", Elapsed: 1234 * time.Millisecond},
			evs:   fixture(),
		},
		{
			name:  "open-color-info",
			opts:  Options{MinSeverity: record.Info, Home: home},
			style: Style{Color: true, Width: 80, Location: time.FixedZone("CET", 3600)},
			head:  Header{Source: "text input (-)"},
			evs:   fixture(),
		},
		{
			name:  "empty-open-end",
			opts:  Options{Since: t0, MinSeverity: record.Error, Home: home},
			style: Style{Location: time.UTC},
			head:  Header{Units: []string{"flaredb.service"}, Source: "local journal, boot -1", Elapsed: 300 * time.Microsecond},
		},
		{
			name:  "empty",
			opts:  Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home},
			style: Style{Location: time.UTC},
			head:  Header{Units: []string{"chainfire.service"}, Source: "journal files a.journal"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.opts)
			if !strings.HasPrefix(tt.name, "empty") {
				// entries before and after the events, as a scan reads them
				r.Entry(t0.Add(-30 * time.Second))
				for i := range tt.evs {
					r.Entry(tt.evs[i].Time.Time)
					r.Add(&tt.evs[i])
				}
				r.Entry(t0.Add(59 * time.Minute))
			}
			var buf bytes.Buffer
			if err := r.Render(&buf, tt.head, tt.style); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name+".golden"), buf.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestReportAggregates(t *testing.T) {
	r := New(Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home})
	evs := fixture()
	for i := range evs {
		r.Add(&evs[i])
	}
	type agg struct {
		Count       uint64
		Max         record.Severity
		First, Last time.Time
	}
	got := map[string]agg{}
	for id, s := range r.sigs {
		got[id] = agg{s.count, s.maxSeverity, s.first, s.last}
	}
	want := map[string]agg{
		"chainfire.rocksdb_stall":    {12, record.Error, t0.Add(5 * time.Minute), t0.Add(16 * time.Minute)},
		"chainfire.slow_request":     {200, record.Warning, t0, t0.Add(199 * 18 * time.Second)},
		"chainfire.peer_unreachable": {30, record.Error, t0.Add(40 * time.Minute), t0.Add(40*time.Minute + 290*time.Second)},
		"tls.certificate_expired":    {2, record.Critical, t0.Add(50 * time.Minute), t0.Add(51 * time.Minute)},
		UnclassifiedID:               {5, record.Warning, t0, t0.Add(20 * time.Minute)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("aggregates (-want +got):\n%s", diff)
	}
	if r.unclassified != 25 {
		t.Errorf("unclassified = %d, want 25 (all, whatever their severity)", r.unclassified)
	}
	if r.below != 7+1+20 {
		t.Errorf("below = %d, want 28", r.below)
	}
	// The stall sample is the first line at the highest severity.
	if got, want := r.sigs["chainfire.rocksdb_stall"].sample, "WARN chainfire_storage: RocksDB stall detected, duration=1000ms"; got != want {
		t.Errorf("sample = %q, want %q", got, want)
	}
	var total uint64
	for _, c := range r.sigs["chainfire.slow_request"].hist {
		total += c
	}
	if total != 200 {
		t.Errorf("histogram total = %d, want 200", total)
	}
}

func TestTimelineOpen(t *testing.T) {
	// Events over a day, out of order, must land in the right sparkline
	// buckets with bounded memory.
	r := New(Options{MinSeverity: record.Info, Home: home})
	base := t0.Add(-3 * time.Hour)
	add := func(at time.Duration) {
		e := ev(0, "x.y", record.Warning, "chainfire.service", "m", nil)
		e.Time.Time = base.Add(at)
		r.Entry(e.Time.Time)
		r.Add(&e)
	}
	add(12*time.Hour + 10*time.Minute) // first event in the middle
	for h := range 24 {
		for range h + 1 {
			add(time.Duration(h)*time.Hour + 30*time.Minute)
		}
	}
	add(0)
	add(24*time.Hour - time.Second)
	from, to := r.window()
	got := r.tl.rebucket(&r.sigs["x.y"].hist, from, to, 24)
	want := make([]uint64, 24)
	for h := range 24 {
		want[h] = uint64(h + 1)
	}
	want[12]++
	want[0]++
	want[23]++
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rebucket (-want +got):\n%s", diff)
	}
}

func TestTimelineFixed(t *testing.T) {
	tl := newTimeline(t0, t0.Add(24*time.Minute))
	var h histogram
	for m := range 24 {
		for range m {
			h[tl.index(t0.Add(time.Duration(m)*time.Minute+30*time.Second), nil)]++
		}
	}
	got := tl.rebucket(&h, t0, t0.Add(24*time.Minute), 24)
	want := make([]uint64, 24)
	for m := range want {
		want[m] = uint64(m)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rebucket (-want +got):\n%s", diff)
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		in   []uint64
		want string
	}{
		{[]uint64{0, 0, 0}, "▁▁▁"},
		{[]uint64{0, 1, 0}, "▁█▁"},
		{[]uint64{1, 2, 3, 4, 5, 6, 7}, "▂▃▄▅▆▇█"},
		{[]uint64{1, 1000}, "▂█"},
		{[]uint64{0, 500, 1000}, "▁▅█"},
		{nil, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			if got := Sparkline(tt.in); got != tt.want {
				t.Errorf("Sparkline(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTopK(t *testing.T) {
	tk := newTopK(3)
	for i, k := range []string{"a", "b", "a", "c", "a", "b", "d", "a"} {
		_ = i
		tk.add("u", k)
	}
	got := tk.top(2)
	if got[0].value != "a" || got[0].count != 4 || got[0].over != 0 {
		t.Errorf("top[0] = %+v, want a ×4 exact", got[0])
	}
	if tk.distinct() != 3 {
		t.Errorf("distinct = %d, want 3 (capacity)", tk.distinct())
	}
	// Many distinct keys never grow the counters past capacity, and a
	// frequent key survives.
	tk = newTopK(10)
	for i := range 10000 {
		tk.add("u", fmt.Sprint(i))
		tk.add("u", "hot")
	}
	if tk.distinct() != 10 {
		t.Errorf("distinct = %d, want 10", tk.distinct())
	}
	if top := tk.top(1)[0]; top.value != "hot" || top.count != 10000 {
		t.Errorf("top = %+v, want hot ×10000", top)
	}
}

func TestSanitizeTruncate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[33m WARN\x1b[0m x", " WARN x"},
		{"a\tb\nc\x00d\x7f", "a b c d "},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"osc \x1b]0;title\x07 after", "osc  after"},
		{"trailing esc \x1b", "trailing esc "},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := truncate(strings.Repeat("é", 30), 25), strings.Repeat("é", 24)+"…"; got != want {
		t.Errorf("truncate = %q, want %q", got, want)
	}
	if got := truncate("short", 25); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
}

func TestFormatting(t *testing.T) {
	got := []string{
		fmtNum(2000), fmtNum(15.5), fmtNum(0.25), fmtNum(1.234567), fmtNum(0), fmtNum(123.6), fmtNum(0.0009),
		fmtSpan(time.Hour), fmtSpan(90 * time.Minute), fmtSpan(50 * time.Hour), fmtSpan(45 * time.Second), fmtSpan(61 * time.Second),
		commas(0), commas(999), commas(1000), commas(1234567),
	}
	want := []string{
		"2000", "15.5", "0.25", "1.23", "0", "124", "0.0009",
		"1h", "1h30m", "2d2h", "45s", "1m1s",
		"0", "999", "1,000", "1,234,567",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formatting (-want +got):\n%s", diff)
	}
}

func TestClip(t *testing.T) {
	s := strings.Repeat("€", 10) // 3 bytes each
	for n := range 31 {
		got := clip(s, n)
		if len(got) > n || len(got)%3 != 0 {
			t.Errorf("clip(%d) = %q (len %d)", n, got, len(got))
		}
	}
}

func TestTimelineExtremes(t *testing.T) {
	// Times far apart (bad input: year 1 and year 2262) must not overflow.
	r := New(Options{MinSeverity: record.Info, Home: home})
	for _, at := range []time.Time{t0, time.Unix(0, -1<<62), time.Unix(0, 1<<62), {}, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), t0} {
		e := ev(0, "x.y", record.Warning, "chainfire.service", "m", nil)
		e.Time.Time = at
		r.Entry(at)
		r.Add(&e)
	}
	from, to := r.window()
	got := r.tl.rebucket(&r.sigs["x.y"].hist, from, to, 24)
	var total uint64
	for _, c := range got {
		total += c
	}
	if total != 5 { // the zero time is not on the timeline
		t.Errorf("rebucketed %d events, want 5: %v", total, got)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
}

// home is Options.Home for the built-in library, as scan gives it.
var home = func() map[string]string {
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		panic(err)
	}
	return lib.HomeUnits()
}()
