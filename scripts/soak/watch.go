package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sample is one observation of the daemon, a line of the samples file.
type sample struct {
	T          float64  `json:"t"`           // Unix seconds
	Alive      bool     `json:"alive"`       // /proc/PID could be read
	UTime      int64    `json:"utime"`       // clock ticks (USER_HZ)
	STime      int64    `json:"stime"`       // clock ticks
	RSS        int64    `json:"rss_kib"`     // VmRSS
	Anon       int64    `json:"anon_kib"`    // RssAnon
	File       int64    `json:"file_kib"`    // RssFile
	Scraped    bool     `json:"scraped"`     // /metrics answered
	Goroutines float64  `json:"goroutines"`  // go_goroutines
	HeapInuse  float64  `json:"heap_inuse"`  // go_memstats_heap_inuse_bytes
	Buckets    []bucket `json:"buckets"`     // cflogd_event_delivery_seconds, cumulative
	Lines      float64  `json:"lines"`       // cflogd_journal_lines_read_total, all units
	Events     float64  `json:"events"`      // cflogd_events_total
	LokiSent   float64  `json:"loki_sent"`   // cflogd_sink_sent_total{sink="loki"}
	QueueDepth float64  `json:"queue_depth"` // cflogd_queue_depth
	Lag        float64  `json:"lag"`         // cflogd_journal_lag_seconds
	HookPosts  int64    `json:"hook_posts"`  // webhook requests received so far
	HookEvents int64    `json:"hook_events"` // events in them
	Load1      float64  `json:"load1"`       // /proc/loadavg, 1 minute
	Load5      float64  `json:"load5"`       // /proc/loadavg, 5 minutes
	Running    int      `json:"running"`     // /proc/loadavg, runnable tasks
	Cores      int      `json:"cores"`       // CPUs this process may use (for the load note)
}

// hookCounts is what the webhook receiver got.
type hookCounts struct {
	Posts       int64            `json:"posts"`
	Events      int64            `json:"events"`
	Bad         int64            `json:"bad"` // requests that were not a cflogd webhook body
	BySignature map[string]int64 `json:"by_signature"`
}

// receiver counts webhook bodies: {"version":"1","host":…,"events":[…]}.
type receiver struct {
	mu sync.Mutex
	c  hookCounts
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodPost && req.URL.Path == "/hook":
		var body struct {
			Version string `json:"version"`
			Events  []struct {
				Signature string `json:"signature"`
			} `json:"events"`
		}
		err := json.NewDecoder(io.LimitReader(req.Body, 64<<20)).Decode(&body)
		r.mu.Lock()
		if err != nil || body.Version != "1" || len(body.Events) == 0 {
			r.c.Bad++
		} else {
			r.c.Posts++
			r.c.Events += int64(len(body.Events))
			for _, e := range body.Events {
				r.c.BySignature[e.Signature]++
			}
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case req.Method == http.MethodGet && req.URL.Path == "/counts":
		r.mu.Lock()
		b, _ := json.Marshal(r.c)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	default:
		http.NotFound(w, req)
	}
}

func (r *receiver) counts() hookCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c
}

func watchMain(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	pid := fs.Int("pid", 0, "the daemon's process id")
	metricsURL := fs.String("metrics", "", "the daemon's /metrics URL")
	listen := fs.String("listen", "127.0.0.1:0", "address of the webhook receiver")
	samplesPath := fs.String("samples", "samples.jsonl", "append samples to this `file`")
	every := fs.Duration("every", 5*time.Second, "sample this often")
	fs.Parse(args)
	if *pid == 0 || *metricsURL == "" {
		return errors.New("watch needs -pid and -metrics")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	recv := &receiver{c: hookCounts{BySignature: map[string]int64{}}}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	f, err := os.OpenFile(*samplesPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open samples: %w", err)
	}
	defer f.Close()
	client := &http.Client{Timeout: *every}
	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		s := takeSample(ctx, client, *pid, *metricsURL, recv.counts())
		b, _ := json.Marshal(s)
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("write sample: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// takeSample reads the daemon's /proc files and /metrics.
func takeSample(ctx context.Context, client *http.Client, pid int, metricsURL string, hc hookCounts) sample {
	s := sample{T: float64(time.Now().UnixNano()) / 1e9, HookPosts: hc.Posts, HookEvents: hc.Events}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The fields after the command name (in parentheses, may hold
		// spaces): state is field 3, utime 14, stime 15.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) > 12 {
				s.UTime, _ = strconv.ParseInt(f[11], 10, 64)
				s.STime, _ = strconv.ParseInt(f[12], 10, 64)
				s.Alive = true
			}
		}
	}
	if st, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(st)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "VmRSS":
				s.RSS = n
			case "RssAnon":
				s.Anon = n
			case "RssFile":
				s.File = n
			}
		}
		st.Close()
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(la))
		if len(f) >= 4 {
			s.Load1, _ = strconv.ParseFloat(f[0], 64)
			s.Load5, _ = strconv.ParseFloat(f[1], 64)
			r, _, _ := strings.Cut(f[3], "/")
			s.Running, _ = strconv.Atoi(r)
		}
	}
	s.Cores = runtime.NumCPU()
	if text, err := fetch(ctx, client, metricsURL); err == nil {
		m := parseMetrics(text)
		if m.has("go_goroutines") {
			s.Scraped = true
			s.Goroutines = m.sum("go_goroutines")
			s.HeapInuse = m.sum("go_memstats_heap_inuse_bytes")
			s.Buckets = jsonBuckets(m.histogram("cflogd_event_delivery_seconds"))
			s.Lines = m.sum("cflogd_journal_lines_read_total")
			s.Events = m.sum("cflogd_events_total")
			s.LokiSent = m.sum("cflogd_sink_sent_total", `sink="loki"`)
			s.QueueDepth = m.sum("cflogd_queue_depth")
			s.Lag = m.sum("cflogd_journal_lag_seconds")
		}
	}
	return s
}

// fetch GETs url and returns the body of a 200 answer.
func fetch(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get %s: status %s", url, resp.Status)
	}
	return string(b), nil
}
