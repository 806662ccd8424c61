package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files finish writes into its directory.
const (
	metricsFile = "metrics.txt" // the daemon's /metrics once it has delivered everything
	hookFile    = "hook.json"   // hookCounts at the same moment
	vlFile      = "vl.tsv"      // signature TAB cursor of every event VictoriaLogs holds
	finishFile  = "finish.json" // finishState
)

// finishState records how the end of the run went.
type finishState struct {
	Drained      bool    `json:"drained"`       // lag, queue and cursor age reached 0 and reading stopped
	DrainSeconds float64 `json:"drain_seconds"` // from the end of the feed
	HookSettled  bool    `json:"hook_settled"`  // the receiver's events equal the sink's sent count
	VLSettled    bool    `json:"vl_settled"`    // VictoriaLogs holds as many events as the sink sent
}

func finishMain(args []string) error {
	fs := flag.NewFlagSet("finish", flag.ExitOnError)
	metricsURL := fs.String("metrics", "", "the daemon's /metrics URL")
	hookURL := fs.String("hook", "", "the receiver's /counts URL")
	vlURL := fs.String("vl", "", "VictoriaLogs' base URL")
	dir := fs.String("dir", ".", "write the results into `dir`")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up waiting for the daemon to catch up after this long")
	fs.Parse(args)
	if *metricsURL == "" || *hookURL == "" || *vlURL == "" {
		return errors.New("finish needs -metrics, -hook and -vl")
	}
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	var st finishState
	start := time.Now()

	// Drained: nothing lagging, queued or unsaved, and the read count has
	// not moved for 3 s (the feed has ended, so nothing new arrives).
	stable, last := 0, -1.0
	for deadline := start.Add(*timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		text, err := fetch(ctx, client, *metricsURL)
		if err != nil {
			stable = 0
			continue
		}
		m := parseMetrics(text)
		lines := m.sum("cflogd_journal_lines_read_total")
		idle := m.sum("cflogd_journal_lag_seconds") == 0 && m.sum("cflogd_queue_depth") == 0 &&
			m.sum("cflogd_cursor_age_seconds") == 0 && lines == last
		last = lines
		if !idle {
			stable = 0
			continue
		}
		if stable++; stable >= 6 {
			st.Drained = true
			break
		}
	}
	st.DrainSeconds = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "soak: daemon drained=%v after %.1fs\n", st.Drained, st.DrainSeconds)

	// A consistent picture of the webhook: the receiver's count before and
	// after the scrape equal, and equal to what the sink says it sent (a
	// notification may still be under way right after the feed).
	var metrics string
	var hook hookCounts
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		h1, err1 := getHook(ctx, client, *hookURL)
		text, err2 := fetch(ctx, client, *metricsURL)
		h2, err3 := getHook(ctx, client, *hookURL)
		if err := errors.Join(err1, err2, err3); err != nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("read the final metrics: %w", err)
			}
			continue
		}
		metrics, hook = text, h2
		sent := parseMetrics(text).sum("cflogd_sink_sent_total", `sink="webhook"`)
		if h1.Events == h2.Events && float64(h2.Events) == sent {
			st.HookSettled = true
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, metricsFile), []byte(metrics), 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(*dir, hookFile), hook); err != nil {
		return err
	}

	// VictoriaLogs: make everything searchable, wait until it holds what
	// the Loki sink delivered, then list every event.
	lokiSent := parseMetrics(metrics).sum("cflogd_sink_sent_total", `sink="loki"`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		if _, err := fetch(ctx, client, *vlURL+"/internal/force_flush"); err != nil {
			return fmt.Errorf("flush victorialogs: %w", err)
		}
		n, err := vlCount(ctx, client, *vlURL)
		if err != nil {
			return err
		}
		if float64(n) >= lokiSent {
			st.VLSettled = float64(n) == lokiSent
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if err := vlExport(ctx, *vlURL, filepath.Join(*dir, vlFile)); err != nil {
		return err
	}
	return writeJSON(filepath.Join(*dir, finishFile), st)
}

func getHook(ctx context.Context, client *http.Client, u string) (hookCounts, error) {
	var h hookCounts
	text, err := fetch(ctx, client, u)
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal([]byte(text), &h)
}

// vlQuery posts a LogsQL query and calls fn with each result row.
func vlQuery(ctx context.Context, client *http.Client, base, query string, fn func(row map[string]string) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/select/logsql/query",
		strings.NewReader(url.Values{"query": {query}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("query victorialogs %q: %w", query, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("query victorialogs %q: status %s", query, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("query victorialogs %q: decode %q: %w", query, sc.Text(), err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("query victorialogs %q: read: %w", query, err)
	}
	return nil
}

// vlCount returns how many cflogd events VictoriaLogs holds.
func vlCount(ctx context.Context, client *http.Client, base string) (int64, error) {
	var n int64
	err := vlQuery(ctx, client, base, `{job="cflogd"} | stats count() as n`, func(row map[string]string) error {
		_, err := fmt.Sscan(row["n"], &n)
		return err
	})
	return n, err
}

// vlExport writes the signature and cursor of every event in VictoriaLogs.
func vlExport(ctx context.Context, base, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	client := &http.Client{Timeout: 30 * time.Minute}
	err = vlQuery(ctx, client, base, `{job="cflogd"} | unpack_json from _msg fields (cursor) | fields signature, cursor`,
		func(row map[string]string) error {
			_, err := fmt.Fprintf(w, "%s\t%s\n", row["signature"], row["cursor"])
			return err
		})
	if err := errors.Join(err, w.Flush(), f.Close()); err != nil {
		return fmt.Errorf("export victorialogs events: %w", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
