package daemon

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

// TestInsecureSkipVerifyWarns checks that a sink with insecure_skip_verify
// is logged as a warning, naming the sink, when the sinks are built at
// start, and that sinks which verify certificates (the default) are not.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	cfg := config.Default
	const u = "https://peer.example/x"
	lk, am, sl, wh := loki.Default, alertmanager.Default, slack.Default, webhook.Default
	lk.URL, am.URL, sl.URL, wh.URL = u, u, u, u
	lki, ami, sli, whi := lk, am, sl, wh
	lki.Name, ami.Name, sli.Name, whi.Name = "loki-insecure", "alertmanager-insecure", "slack-insecure", "webhook-insecure"
	lki.HTTP.InsecureSkipVerify, ami.HTTP.InsecureSkipVerify, sli.HTTP.InsecureSkipVerify, whi.HTTP.InsecureSkipVerify = true, true, true, true
	cfg.Sinks = []config.SinkConfig{lk, lki, am, ami, sl, sli, wh, whi}
	var buf strings.Builder
	if _, err := buildSinks(&cfg, 1, io.Discard, zerolog.New(&buf), func(int, uint64) {}, newMetrics("test"), nil); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct{ Level, Sink, Message string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if strings.Contains(rec.Message, "insecure_skip_verify") {
			if rec.Level != "warn" {
				t.Errorf("insecure_skip_verify logged at %s, want warn: %s", rec.Level, line)
			}
			warned = append(warned, rec.Sink)
		}
	}
	want := []string{"loki-insecure", "alertmanager-insecure", "slack-insecure", "webhook-insecure"}
	if diff := cmp.Diff(want, warned); diff != "" {
		t.Errorf("sinks warned about (-want +got):\n%s", diff)
	}
}
