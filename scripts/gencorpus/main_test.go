package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var shapes = map[string]shape{"text": shapeText, "json": shapeJSON, "journald": shapeJournald}

func gen(t *testing.T, o options) (string, stats) {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	st, err := generate(o)
	if err != nil {
		t.Fatal(err)
	}
	return o.dir, st
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeterministic checks that the same flags give byte-identical files
// and another seed other ones.
func TestDeterministic(t *testing.T) {
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			a, _ := gen(t, options{n: 3000, shape: sh, seed: 20250601})
			b, _ := gen(t, options{n: 3000, shape: sh, seed: 20250601})
			c, _ := gen(t, options{n: 3000, shape: sh, seed: 1})
			for _, f := range []string{corpusFile, fullFile, minFile} {
				if !bytes.Equal(read(t, a, f), read(t, b, f)) {
					t.Errorf("%s differs between two runs with the same flags", f)
				}
				if bytes.Equal(read(t, a, f), read(t, c, f)) {
					t.Errorf("%s is the same with another seed", f)
				}
			}
		})
	}
}

// entry is one journal entry of an export file, its fields in order.
type entry struct {
	keys []string
	m    map[string]string
}

var fieldName = regexp.MustCompile(`^(__)?[A-Z_][A-Z0-9_]*$`)

// parseExport reads a journal export file (text fields only): entries
// separated by one blank line, each line KEY=VALUE.
func parseExport(t *testing.T, data []byte) []entry {
	t.Helper()
	var out []entry
	cur := entry{m: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			if len(cur.keys) == 0 {
				t.Fatalf("line %d: empty entry", n)
			}
			out = append(out, cur)
			cur = entry{m: map[string]string{}}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !fieldName.MatchString(k) {
			t.Fatalf("line %d: not KEY=VALUE with a journal field name: %q", n, line)
		}
		if _, dup := cur.m[k]; dup {
			t.Fatalf("line %d: field %s twice in an entry", n, k)
		}
		cur.keys = append(cur.keys, k)
		cur.m[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cur.keys) != 0 {
		t.Fatalf("the last entry is not followed by a blank line")
	}
	return out
}

func unitOf(e entry) string {
	if e.m["SYSLOG_IDENTIFIER"] == "kernel" {
		return "kernel"
	}
	switch u := e.m["_SYSTEMD_UNIT"]; u {
	case "ssh.service":
		return "sshd"
	case "cron.service", "chainfire.service", "flaredb.service":
		return strings.TrimSuffix(u, ".service")
	}
	return ""
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", what, got, want, tol)
	} else {
		t.Logf("%s = %.4f (want %.4f ± %.4f)", what, got, want, tol)
	}
}

var latency = regexp.MustCompile(`latency=(\d+)ms`)

// TestDistribution checks, on a small corpus of each shape, the mix of
// gen_corpus.py that BENCHMARKS.md was measured on, the timestamps, and
// that the three files hold the same entries.
func TestDistribution(t *testing.T) {
	const n = 30000
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			dir, st := gen(t, options{n: n, shape: sh, seed: 20250601})
			full := parseExport(t, read(t, dir, fullFile))
			mini := parseExport(t, read(t, dir, minFile))
			lines := strings.Split(strings.TrimSuffix(string(read(t, dir, corpusFile)), "\n"), "\n")
			if len(full) != n || len(mini) != n || len(lines) != n {
				t.Fatalf("%d full, %d min entries, %d corpus lines; want %d each", len(full), len(mini), len(lines), n)
			}
			units := map[string]int{}
			bad, handled, slow := 0, 0, 0
			rt, mono := int64(startRealtime), int64(0)
			for i, e := range full {
				for _, k := range []string{"__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "_BOOT_ID", "_HOSTNAME", "SYSLOG_IDENTIFIER", "PRIORITY", "MESSAGE"} {
					if _, ok := e.m[k]; !ok {
						t.Fatalf("entry %d has no %s: %v", i, k, e.keys)
					}
				}
				u := unitOf(e)
				if u == "" {
					t.Fatalf("entry %d: unknown unit: %v", i, e.m)
				}
				units[u]++
				r, _ := strconv.ParseInt(e.m["__REALTIME_TIMESTAMP"], 10, 64)
				m, _ := strconv.ParseInt(e.m["__MONOTONIC_TIMESTAMP"], 10, 64)
				if d := r - rt; d < 1 || d > 80000 {
					t.Fatalf("entry %d: realtime advances %d µs, want 1-80000", i, d)
				}
				if i > 0 && m-mono != r-rt {
					t.Fatalf("entry %d: monotonic advances %d µs, realtime %d", i, m-mono, r-rt)
				}
				rt, mono = r, m
				if lines[i] != e.m["MESSAGE"] {
					t.Fatalf("corpus line %d %q, MESSAGE %q", i+1, lines[i], e.m["MESSAGE"])
				}
				me := mini[i]
				for _, k := range []string{"__REALTIME_TIMESTAMP", "PRIORITY", "MESSAGE", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_PID"} {
					if me.m[k] != e.m[k] {
						t.Fatalf("entry %d: %s %q in export-min, %q in export-full", i, k, me.m[k], e.m[k])
					}
				}
				if len(me.keys) >= len(e.keys) {
					t.Fatalf("entry %d: export-min has %d fields, export-full %d", i, len(me.keys), len(e.keys))
				}
				if u != "chainfire" && u != "flaredb" {
					continue
				}
				if p, _ := strconv.Atoi(e.m["PRIORITY"]); p <= 4 {
					bad++
				}
				msg, lat := e.m["MESSAGE"], ""
				switch sh {
				case shapeText:
					if strings.Contains(msg, " Handled ") {
						handled++
						if m := latency.FindStringSubmatch(msg); m != nil {
							lat = m[1] + "ms"
						}
					}
				case shapeJSON:
					var v struct {
						Fields map[string]any
					}
					if err := json.Unmarshal([]byte(msg), &v); err != nil {
						t.Fatalf("entry %d: %v: %s", i, err, msg)
					}
					if m, _ := v.Fields["message"].(string); strings.HasPrefix(m, "Handled ") {
						handled++
						lat, _ = v.Fields["latency"].(string)
					}
				case shapeJournald:
					if strings.HasPrefix(msg, "Handled ") {
						handled++
						lat = e.m["F_LATENCY"]
					}
				}
				if lat != "" {
					d, err := time.ParseDuration(lat)
					if err != nil {
						t.Fatalf("entry %d: latency %q: %v", i, lat, err)
					}
					if d >= 100*time.Millisecond {
						slow++
					}
				}
			}
			for u, want := range map[string]float64{"chainfire": 0.35, "flaredb": 0.35, "sshd": 0.30 * 0.45, "kernel": 0.30 * 0.35, "cron": 0.30 * 0.20} {
				within(t, u+" share", float64(units[u])/n, want, 0.015)
				if st.units[u] != units[u] {
					t.Errorf("stats: %d %s entries, the export has %d", st.units[u], u, units[u])
				}
			}
			svc := float64(units["chainfire"] + units["flaredb"])
			within(t, "warning/error share of service entries", float64(bad)/svc, 0.02, 0.004)
			within(t, "Handled share of service entries", float64(handled)/svc, 0.45*0.98, 0.02)
			within(t, "slow share of Handled lines", float64(slow)/float64(handled), 0.10, 0.015)
			if st.bad != bad || st.handled != handled || st.slow != slow {
				t.Errorf("stats %+v; the export has %d bad, %d handled, %d slow", st, bad, handled, slow)
			}
		})
	}
}

// TestShapes checks how each shape writes the service events.
func TestShapes(t *testing.T) {
	textLine := regexp.MustCompile(`^(INFO|WARN|ERROR) (chainfire|flaredb)_[a-z_]+: \S`)
	debugDur := regexp.MustCompile(`^[0-9]+(\.[0-9]*[1-9])?(ms|s)$`)
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			dir, _ := gen(t, options{n: 5000, shape: sh, seed: 7})
			spans, fields := 0, 0
			for i, e := range parseExport(t, read(t, dir, fullFile)) {
				u := unitOf(e)
				if u != "chainfire" && u != "flaredb" {
					continue
				}
				msg, pri := e.m["MESSAGE"], e.m["PRIORITY"]
				switch sh {
				case shapeText:
					m := textLine.FindStringSubmatch(msg)
					if m == nil {
						t.Fatalf("entry %d: MESSAGE %q is not LEVEL target: ...", i, msg)
					}
					if want := map[string]string{"INFO": "6", "WARN": "4", "ERROR": "3"}[m[1]]; pri != want {
						t.Errorf("entry %d: PRIORITY %s for %s", i, pri, m[1])
					}
				case shapeJSON:
					var v struct {
						Timestamp string
						Level     string
						Fields    map[string]any
						Target    string
						Span      map[string]any
						Spans     []map[string]any
					}
					if err := json.Unmarshal([]byte(msg), &v); err != nil {
						t.Fatalf("entry %d: %v: %s", i, err, msg)
					}
					rt, _ := strconv.ParseInt(e.m["__REALTIME_TIMESTAMP"], 10, 64)
					if want := time.UnixMicro(rt).UTC().Format("2006-01-02T15:04:05.000000Z"); v.Timestamp != want {
						t.Errorf("entry %d: timestamp %s, want %s", i, v.Timestamp, want)
					}
					if m, _ := v.Fields["message"].(string); m == "" || !strings.HasPrefix(v.Target, u+"_") {
						t.Fatalf("entry %d: no fields.message or target: %s", i, msg)
					}
					if want := map[string]string{"INFO": "6", "WARN": "4", "ERROR": "3"}[v.Level]; pri != want {
						t.Errorf("entry %d: PRIORITY %s for level %q", i, pri, v.Level)
					}
					for _, k := range []string{"duration", "latency", "elapsed", "offset", "ttl"} {
						if d, ok := v.Fields[k]; ok {
							if s, _ := d.(string); !debugDur.MatchString(s) {
								t.Errorf("entry %d: %s %v is not a Debug duration", i, k, d)
							}
						}
					}
					fields += len(v.Fields) - 1
					if v.Span != nil {
						spans++
						if len(v.Spans) != 1 || v.Span["name"] != "raft" {
							t.Errorf("entry %d: span %v, spans %v", i, v.Span, v.Spans)
						}
					}
				case shapeJournald:
					if textLine.MatchString(msg) || strings.Contains(msg, "=") {
						t.Errorf("entry %d: MESSAGE %q is not the message alone", i, msg)
					}
					if pri != "3" && pri != "4" && pri != "5" {
						t.Errorf("entry %d: PRIORITY %s", i, pri)
					}
					if !strings.HasPrefix(e.m["TARGET"], u+"_") || e.m["CODE_FILE"] == "" {
						t.Errorf("entry %d: TARGET %q, CODE_FILE %q", i, e.m["TARGET"], e.m["CODE_FILE"])
					}
					if _, err := strconv.Atoi(e.m["CODE_LINE"]); err != nil {
						t.Errorf("entry %d: CODE_LINE %q", i, e.m["CODE_LINE"])
					}
					for _, k := range e.keys {
						if strings.HasPrefix(k, "F_") {
							fields++
						}
						if strings.HasPrefix(k, "S0_") {
							spans++
						}
					}
					for _, k := range []string{"F_DURATION", "F_LATENCY", "F_ELAPSED", "F_OFFSET", "F_TTL"} {
						if d, ok := e.m[k]; ok && !debugDur.MatchString(d) {
							t.Errorf("entry %d: %s=%s is not a Debug duration", i, k, d)
						}
					}
				}
			}
			if sh != shapeText && (spans == 0 || fields == 0) {
				t.Errorf("%d span, %d event fields: want some of each", spans, fields)
			}
		})
	}
}

func TestDebugDuration(t *testing.T) {
	for ms, want := range map[int]string{0: "0ms", 900: "900ms", 1000: "1s", 1500: "1.5s", 2000: "2s", 1234: "1.234s", 30050: "30.05s"} {
		if got := string(debugDuration(nil, ms)); got != want {
			t.Errorf("debugDuration(%d) = %q, want %q", ms, got, want)
		}
	}
}
