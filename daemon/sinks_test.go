package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/internal/testpeer"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/webhook"
	"github.com/centra-cloud/cflogd/state"
)

// bodies returns the bodies of the requests rec received.
func bodies(rec *testpeer.Recorder) [][]byte {
	var out [][]byte
	for _, r := range rec.Requests() {
		out = append(out, r.Body)
	}
	return out
}

// TestRunAllSinks wires every sink type to real or recording peers: Loki
// (VictoriaLogs) and Alertmanager must have every event before the cursor
// moves; Slack and the webhook get one grouped notification for a burst,
// and not again after a restart that reads the same entries.
func TestRunAllSinks(t *testing.T) {
	vl := testpeer.StartVictoriaLogs(t)
	am := testpeer.StartAlertmanager(t)
	sl := testpeer.NewRecorder(t, nil)
	wh := testpeer.NewRecorder(t, nil)
	jdir := t.TempDir()
	stateDir := filepath.Join(t.TempDir(), "state")
	base := time.Now().Add(-10 * time.Second)
	var entries [][3]string
	for i := range 10 {
		entries = append(entries, [3]string{"chainfire.service", fmt.Sprintf("WARN raft{node_id=1 term=%d}: chainfire_raft: election timeout, no heartbeat from leader", 7+i), "1234"})
	}
	entries = append(entries, [3]string{"chainfire.service", "WARN chainfire_storage: RocksDB stall detected, duration=2000ms", "1234"})
	writeJournal(t, jdir, "a.journal", base, entries)

	cfg := config.Default
	cfg.StateDir = stateDir
	cfg.Listen = ""
	cfg.Journal.Directory = jdir
	cfg.Journal.InitialPosition = config.Position{Head: true}
	cfg.CheckpointInterval = 50 * time.Millisecond
	lk := loki.Default
	lk.URL, lk.BatchWait = vl.LokiPushURL()+"?disable_message_parsing=1", 50*time.Millisecond
	ams := alertmanager.Default
	ams.URL = am.URL
	sls := slack.Default
	sls.URL, sls.Grouping.GroupWait = redact.Secret(sl.URL+"/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"), 300*time.Millisecond
	whs := webhook.Default
	whs.URL, whs.Secret, whs.Grouping.GroupWait = redact.Secret(wh.URL+"/hook"), "hmac-key", 300*time.Millisecond
	cfg.Sinks = []config.SinkConfig{lk, ams, sls, whs}

	run := func(until func() bool) {
		t.Helper()
		d, err := New(Options{Config: &cfg, Log: zerolog.Nop(), Notify: func(string) {}})
		if err != nil {
			t.Fatal(err)
		}
		stop := runDaemon(t, d)
		testpeer.Eventually(t, 10*time.Second, until, "the sinks")
		stop()
	}
	run(func() bool {
		// 11 events and the election storm the rules derive from the burst.
		return len(sl.Requests()) >= 3 && len(wh.Requests()) >= 3 && len(am.Alerts(t)) >= 3 && len(vl.Query(t, `{job="cflogd"}`)) >= 12
	})
	var texts []string
	for _, b := range bodies(sl) {
		var m slack.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, m.Text[:strings.Index(m.Text, ":")])
	}
	slices.Sort(texts)
	h := hostname(t)
	want := []string{
		"[ERROR] chainfire.election_storm on " + h + " (chainfire.service)",
		"[ERROR] chainfire.rocksdb_stall on " + h + " (chainfire.service)",
		"[WARNING] chainfire.election_timeout on " + h + " (chainfire.service)",
	}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("slack messages (-want +got): one per host and signature:\n%s", diff)
	}
	if !strings.Contains(string(slices.Concat(bodies(sl)...)), "10 events since the last message") {
		t.Errorf("no slack message counts the burst of 10")
	}
	for i, r := range wh.Requests() {
		if got, want := r.Header.Get(webhook.SignatureHeader), webhook.Sign([]byte("hmac-key"), r.Body); got != want {
			t.Errorf("webhook body %d signature %q, want %q", i, got, want)
		}
	}
	var names []string
	for _, a := range am.Alerts(t) {
		names = append(names, a.Labels["alertname"])
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"chainfire.election_storm", "chainfire.election_timeout", "chainfire.rocksdb_stall"}, names); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	dir, err := state.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dir.LoadCursor()
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	if last := base.Add(10 * time.Millisecond).Truncate(time.Microsecond); !c.Time.Equal(last) {
		t.Errorf("cursor at %v, want the last entry (%v)", c.Time, last)
	}

	// A restart that reads the same entries again (as after a crash before
	// the checkpoint): the notification log keeps Slack and the webhook
	// quiet.
	if err := os.Remove(filepath.Join(stateDir, state.CursorFile)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(stateDir, rulesFile))
	slBefore, whBefore := len(sl.Requests()), len(wh.Requests())
	rows := len(vl.Query(t, `{job="cflogd"}`))
	var redelivered time.Time
	run(func() bool {
		// Once Loki has everything again, give a resend twice group_wait.
		if redelivered.IsZero() {
			vl.Flush(t)
			if len(vl.Query(t, `{job="cflogd"}`)) >= 2*rows {
				redelivered = time.Now()
			}
			return false
		}
		return time.Since(redelivered) > 2*sls.Grouping.GroupWait
	})
	if len(sl.Requests()) != slBefore || len(wh.Requests()) != whBefore {
		t.Errorf("after the restart: %d slack and %d webhook messages more, want none", len(sl.Requests())-slBefore, len(wh.Requests())-whBefore)
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDeadSlackWebhookMetric(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no_service", http.StatusNotFound)
	}))
	defer dead.Close()
	cfg := config.Default
	sc := slack.Default
	sc.URL = redact.Secret(dead.URL + "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")
	cfg.Sinks = []config.SinkConfig{sc}
	var logBuf testpeer.Buffer
	clk := &fakeClock{t: t0}
	m := newMetrics("test")
	s, err := buildSinks(&cfg, 1, io.Discard, zerolog.New(&logBuf), func(int, uint64) {}, m, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	n := s.notifiers[0]
	ctx := context.Background()
	for i := range 3 {
		n.Add([]record.Event{stall(clk.t, fmt.Sprint(i), record.Warning)}) // new problems: one message each time
		clk.advance(10 * time.Minute)
		n.flush(ctx, clk.t)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	_, body := get(t, srv.URL)
	for _, want := range []string{`cflogd_sink_dead{sink="slack"} 1`, `cflogd_notifications_total{result="failed",sink="slack"} 3`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(logBuf.String(), `"level":"error"`); n != 1 {
		t.Errorf("the dead webhook was logged %d times, want once", n)
	}
	if strings.Contains(logBuf.String(), "XXXXXXXXXXXXXXXXXXXXXXXX") {
		t.Errorf("the log shows the webhook's secret: %s", logBuf.String())
	}
}
