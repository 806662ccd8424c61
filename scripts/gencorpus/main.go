// Command gencorpus writes the benchmark corpus: a deterministic stream of
// journal entries as the nodes of a busy centra-cloud cluster produce them,
// about 35 % chainfire, 35 % flaredb and 30 % sshd, kernel and cron entries
// that cflogd must filter out. 2 % of the service entries are warnings or
// errors, about 10 % of the "Handled ..." lines are slow (latency >= 100 ms),
// and timestamps start at 2025-06-01T00:00:00Z and advance 1 µs to 80 ms
// per entry (2M entries span about 22 hours).
//
//	go run ./scripts/gencorpus -n 2000000 -o /tmp/corpus [-shape text|json|journald] [-seed N]
//
// It writes, in the output directory:
//
//   - corpus.txt: one MESSAGE per line, in journal order;
//   - export-full.txt: journal export format with the ~20 fields journald
//     stores per entry (systemd-journal-remote turns it into a journal);
//   - export-min.txt: the same entries with only the fields cflogd reads.
//
// The shape says how the services log (the other units are the same in
// every shape):
//
//   - text: "WARN chainfire_storage: RocksDB stall detected, duration=2000ms"
//     on stdout, PRIORITY from the level (the runbook's form);
//   - json: tracing-subscriber's JSON formatter on stdout, the event's fields
//     as keys of "fields", durations as Rust prints them ("2s"), raft events
//     with "span" and "spans";
//   - journald: tracing-journald: MESSAGE holds only the message, the level
//     is in PRIORITY (ERROR 3, WARN 4, INFO 5), TARGET, CODE_FILE,
//     CODE_LINE, and the event's fields as F_DURATION=2s, F_PEER=store2, ...
//
// The same flags give byte-identical files: the generator carries its own
// random number generator (splitmix64), so the output does not depend on
// the Go version either. The mix is that of the former gen_corpus.py, so
// the figures in BENCHMARKS.md stay comparable; the bytes are not.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	o := options{}
	flag.IntVar(&o.n, "n", 2000000, "number of journal `entries`")
	flag.StringVar(&o.dir, "o", "/tmp/corpus", "output `directory` (created)")
	shape := flag.String("shape", "text", "how the services log: text, json or journald")
	flag.Uint64Var(&o.seed, "seed", 20250601, "random `seed`")
	flag.Parse()
	var err error
	if o.shape, err = parseShape(*shape); err == nil {
		if o.n < 0 {
			err = fmt.Errorf("-n %d: want 0 or more entries", o.n)
		}
	}
	if err == nil {
		var st stats
		start := time.Now()
		st, err = generate(o)
		if err == nil {
			fmt.Fprintf(os.Stderr, "gencorpus: %d entries (%s shape) in %s in %.1fs: %s\n",
				o.n, *shape, o.dir, time.Since(start).Seconds(), st)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

// shape is how the services write their events.
type shape int

const (
	shapeText shape = iota
	shapeJSON
	shapeJournald
)

func parseShape(s string) (shape, error) {
	switch s {
	case "text":
		return shapeText, nil
	case "json":
		return shapeJSON, nil
	case "journald":
		return shapeJournald, nil
	}
	return 0, fmt.Errorf("unknown shape %q (want text, json or journald)", s)
}

type options struct {
	n     int
	dir   string
	shape shape
	seed  uint64
}

// stats counts what was generated, for the summary line and the tests.
type stats struct {
	units   map[string]int // chainfire, flaredb, sshd, kernel, cron
	bad     int            // service entries at WARN or ERROR
	handled int            // "Handled ..." lines
	slow    int            // of which latency >= 100 ms
}

func (s stats) String() string {
	svc := s.units["chainfire"] + s.units["flaredb"]
	return fmt.Sprintf("chainfire %d, flaredb %d, sshd %d, kernel %d, cron %d; %d warnings/errors (%.2f %% of service entries); %d of %d Handled lines slow",
		s.units["chainfire"], s.units["flaredb"], s.units["sshd"], s.units["kernel"], s.units["cron"],
		s.bad, 100*float64(s.bad)/math.Max(1, float64(svc)), s.slow, s.handled)
}

// The corpus files.
const (
	corpusFile = "corpus.txt"
	fullFile   = "export-full.txt"
	minFile    = "export-min.txt"
)

// generate writes the three files of o into o.dir.
func generate(o options) (stats, error) {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return stats{}, err
	}
	var files [3]*os.File
	var ws [3]*bufio.Writer
	for i, name := range []string{corpusFile, fullFile, minFile} {
		f, err := os.Create(filepath.Join(o.dir, name))
		if err != nil {
			for _, f := range files[:i] {
				f.Close()
			}
			return stats{}, err
		}
		files[i] = f
		ws[i] = bufio.NewWriterSize(f, 1<<22)
	}
	st := write(o, ws[0], ws[1], ws[2])
	var errs []error
	for i := range files {
		errs = append(errs, ws[i].Flush(), files[i].Close())
	}
	return st, errors.Join(errs...)
}

// rng is splitmix64: small, fast, and the same everywhere.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// f returns a float in [0, 1).
func (r *rng) f() float64 { return float64(r.next()>>11) / (1 << 53) }

// ri returns an int in [a, b], both included.
func (r *rng) ri(a, b int) int {
	hi, _ := bits.Mul64(r.next(), uint64(b-a+1))
	return a + int(hi)
}

func (r *rng) pick(s []string) string { return s[r.ri(0, len(s)-1)] }

func (r *rng) hex128() string {
	return fmt.Sprintf("%016x%016x", r.next(), r.next())
}

// Levels of the service events, with the PRIORITY journald's stdout
// transport gets from the text (the corpus sets it from the level) and the
// one tracing-journald gives.
type level int

const (
	lInfo level = iota
	lWarn
	lError
)

var (
	levelText     = [...]string{lInfo: "INFO", lWarn: "WARN", lError: "ERROR"}
	levelPriority = [...]string{lInfo: "6", lWarn: "4", lError: "3"}
	levelJournald = [...]string{lInfo: "5", lWarn: "4", lError: "3"}
)

type kind int

const (
	kStr kind = iota
	kInt
	kBool
	kDur // a duration: ms holds it in milliseconds
)

// field is one structured field of an event; v is how the text shape
// writes it.
type field struct {
	k    string
	v    string
	kind kind
	ms   int
}

// event is one service event: in the text shape
// "LEVEL target: msg, k=v, k=v" + suffix.
type event struct {
	lvl    level
	target string
	msg    string
	fields []field
	suffix string
	// span is the raft span's term (node_id 1) on raft targets, else 0.
	span int
}

// g holds the generator's state while it writes.
type g struct {
	r    rng
	e    event
	st   stats
	term int // the current Raft term, for span context
}

func (g *g) ev(lvl level, target, msg string) *event {
	g.e = event{lvl: lvl, target: target, msg: msg, fields: g.e.fields[:0]}
	if strings.HasSuffix(target, "_raft") {
		g.e.span = g.term
	}
	return &g.e
}

func (e *event) s(k, v string) *event {
	e.fields = append(e.fields, field{k: k, v: v})
	return e
}

func (e *event) i(k string, v int) *event {
	e.fields = append(e.fields, field{k: k, v: strconv.Itoa(v), kind: kInt})
	return e
}

func (e *event) b(k, v string) *event {
	e.fields = append(e.fields, field{k: k, v: v, kind: kBool})
	return e
}

// ms is a duration written "<n>ms" in the text shape.
func (e *event) ms(k string, ms int) *event {
	e.fields = append(e.fields, field{k: k, v: strconv.Itoa(ms) + "ms", kind: kDur, ms: ms})
	return e
}

// sec is a duration written "<n>s" in the text shape.
func (e *event) sec(k string, s int) *event {
	e.fields = append(e.fields, field{k: k, v: strconv.Itoa(s) + "s", kind: kDur, ms: s * 1000})
	return e
}

func (e *event) tail(s string) *event {
	e.suffix = s
	return e
}

var (
	peersCF = []string{"node2:2380", "node3:2380", "10.0.0.12:2380", "10.0.0.13:2380"}
	stores  = []string{"store2", "store3", "store4"}
	keys    = []string{"/registry/pods/default/web-", "/registry/leases/kube-node-lease/node", "/config/cluster/",
		"/locks/job-", "/services/endpoints/api-", "/flare/meta/region/"}
	tables = []string{"orders", "users", "events", "metrics_1m", "sessions", "inventory"}
)

func (g *g) key() string { return g.r.pick(keys) + strconv.Itoa(g.r.ri(1, 5000)) }

func (g *g) prefix() string {
	k := g.r.pick(keys)
	return k[:strings.LastIndexByte(k, '/')+1]
}

// lat is a request latency in ms: about 10 % >= 100 ms.
func (g *g) lat() int {
	g.st.handled++
	if g.r.f() < 0.10 {
		g.st.slow++
		return g.r.ri(100, 2500)
	}
	if g.r.f() < 0.85 {
		return g.r.ri(1, 99)
	}
	return g.r.ri(1, 20)
}

func (g *g) cfHandled() {
	r := &g.r
	switch r.pick([]string{"put", "get", "get", "range", "delete", "txn", "put", "get"}) {
	case "put":
		g.ev(lInfo, "chainfire_api", "Handled put request").ms("latency", g.lat()).s("key", g.key()).i("value_len", r.ri(16, 65536))
	case "get":
		g.ev(lInfo, "chainfire_api", "Handled get request").s("key", g.key()).ms("latency", g.lat()).i("revision", r.ri(100000, 9000000))
	case "range":
		g.ev(lInfo, "chainfire_api", "Handled range request").s("prefix", g.prefix()).i("keys", r.ri(0, 5000)).ms("latency", g.lat())
	case "delete":
		g.ev(lInfo, "chainfire_api", "Handled delete request").ms("latency", g.lat()).i("deleted", r.ri(0, 3))
	default:
		g.ev(lInfo, "chainfire_api", "Handled txn request").i("ops", r.ri(1, 16)).b("succeeded", r.pick([]string{"true", "true", "false"})).ms("latency", g.lat())
	}
}

func (g *g) cfInfo() {
	r := &g.r
	switch x := r.f(); {
	case x < 0.45:
		g.cfHandled()
	case x < 0.62:
		g.ev(lInfo, "chainfire_storage", "Committed entry").i("index", r.ri(1, 50_000_000)).i("term", r.ri(1, 40))
	case x < 0.72:
		g.ev(lInfo, "chainfire_raft", "Appended entries").s("from", "node"+strconv.Itoa(r.ri(2, 5))).i("count", r.ri(1, 64)).i("last_index", r.ri(1, 50_000_000))
	case x < 0.80:
		g.ev(lInfo, "chainfire_raft", "Sent heartbeat").i("term", r.ri(1, 40)).i("peers", r.ri(2, 4)).i("commit", r.ri(1, 50_000_000))
	case x < 0.85:
		g.ev(lInfo, "chainfire_watch", "Dispatched events").i("watch_id", r.ri(1, 100000)).i("count", r.ri(1, 200))
	case x < 0.89:
		g.ev(lInfo, "chainfire_lease", "Granted lease").i("id", r.ri(1e15, 1e16)).sec("ttl", []int{10, 15, 30, 60, 600}[r.ri(0, 4)])
	case x < 0.92:
		g.ev(lInfo, "chainfire_network", "Accepted connection").s("peer", fmt.Sprintf("10.0.%d.%d:%d", r.ri(0, 9), r.ri(2, 254), r.ri(32768, 60999)))
	case x < 0.95:
		g.ev(lInfo, "chainfire_storage", "Flushed memtable").s("cf", r.pick([]string{"default", "raft", "lease"})).i("bytes", r.ri(1e6, 64e6)).ms("duration", r.ri(5, 400))
	case x < 0.975:
		g.ev(lInfo, "chainfire_server", "Compacted revision").i("rev", r.ri(1e5, 1e7)).i("removed", r.ri(0, 100000))
	case x < 0.999:
		g.ev(lInfo, "chainfire_api", "Watch stream opened").i("watch_id", r.ri(1, 100000)).s("key", g.key())
	default:
		if r.f() < 0.5 {
			g.term++
			g.ev(lInfo, "chainfire_raft", "Leader elected").i("term", r.ri(1, 40)).s("leader", "node"+strconv.Itoa(r.ri(1, 3)))
		} else {
			g.ev(lInfo, "chainfire_raft", "Applied snapshot").i("index", r.ri(1000, 5_000_000)).i("size", r.ri(1e6, 1e9))
		}
	}
}

func (g *g) fdHandled() {
	r := &g.r
	switch r.pick([]string{"query", "query", "get", "scan", "batch_put", "get"}) {
	case "query":
		g.ev(lInfo, "flaredb_service", "Handled query").s("table", r.pick(tables)).i("rows", r.ri(0, 10000)).ms("latency", g.lat())
	case "get":
		g.ev(lInfo, "flaredb_service", "Handled get request").i("region_id", r.ri(1, 20000)).ms("latency", g.lat())
	case "scan":
		g.ev(lInfo, "flaredb_service", "Handled scan request").i("region_id", r.ri(1, 20000)).i("rows", r.ri(0, 100000)).ms("latency", g.lat())
	default:
		g.ev(lInfo, "flaredb_service", "Handled batch_put request").i("keys", r.ri(1, 1024)).i("bytes", r.ri(100, 4e6)).ms("latency", g.lat())
	}
}

func (g *g) fdInfo() {
	r := &g.r
	switch x := r.f(); {
	case x < 0.45:
		g.fdHandled()
	case x < 0.60:
		g.ev(lInfo, "flaredb_raft", "Applied entries").i("region_id", r.ri(1, 20000)).i("index", r.ri(1, 50_000_000)).i("count", r.ri(1, 128))
	case x < 0.70:
		g.ev(lInfo, "flaredb_raft", "Proposed command").i("region_id", r.ri(1, 20000)).i("term", r.ri(1, 40)).s("cmd", r.pick([]string{"Put", "Delete", "BatchPut", "AdminSplitCheck"}))
	case x < 0.78:
		g.ev(lInfo, "flaredb_pd_client", "Sent store heartbeat").i("store_id", 1).i("regions", r.ri(100, 20000)).i("used_bytes", r.ri(1e9, 1e12))
	case x < 0.84:
		g.ev(lInfo, "flaredb_coprocessor", "Executed DAG request").i("region_id", r.ri(1, 20000)).i("scanned", r.ri(0, 1e6)).ms("duration", r.ri(1, 900))
	case x < 0.89:
		g.ev(lInfo, "flaredb_storage", "Compaction finished").i("level", r.ri(0, 6)).i("input_files", r.ri(1, 30)).ms("duration", r.ri(10, 9000))
	case x < 0.93:
		g.ev(lInfo, "flaredb_storage", "Flushed memtable").s("cf", r.pick([]string{"default", "write", "lock", "raft"})).i("bytes", r.ri(1e6, 128e6))
	case x < 0.96:
		g.ev(lInfo, "flaredb_gc", "GC worker advanced safe point").i("safe_point", r.ri(1e17, 1e18))
	case x < 0.999:
		g.ev(lInfo, "flaredb_pd_client", "Region heartbeat sent").i("region_id", r.ri(1, 20000)).s("leader", "store"+strconv.Itoa(r.ri(1, 4))).s("approx_size", strconv.Itoa(r.ri(1, 144))+"MiB")
	default:
		switch y := r.f(); {
		case y < 0.3:
			g.ev(lInfo, "flaredb_pd_client", "Registered with PD").i("store_id", r.ri(1, 4))
		case y < 0.6:
			g.ev(lInfo, "flaredb_raft", "Applied snapshot").i("index", r.ri(1000, 5_000_000)).i("region_id", r.ri(1, 20000))
		default:
			g.ev(lInfo, "flaredb_region", "Region split").i("region_id", r.ri(1, 20000)).i("new_region_id", r.ri(20000, 40000))
		}
	}
}

func (g *g) cfBad() {
	r := &g.r
	switch x := r.f(); {
	case x < 0.20:
		g.ev(lWarn, "chainfire_raft", "Election timeout, no heartbeat from leader").i("term", r.ri(1, 40)).ms("elapsed", r.ri(1000, 5000))
	case x < 0.33:
		g.ev(lWarn, "chainfire_storage", "RocksDB stall detected").ms("duration", r.ri(200, 20000))
	case x < 0.48:
		g.ev(lError, "chainfire_network", "Failed to connect to peer").s("addr", r.pick(peersCF)).s("error", "Connection refused (os error 111)")
	case x < 0.55:
		g.ev(lError, "chainfire_network", "TLS handshake failed").s("peer", r.pick(peersCF)).s("error", "tls: bad certificate")
	case x < 0.61:
		g.ev(lError, "chainfire_network", "Failed to connect to peer").s("addr", r.pick(peersCF)).s("error", "certificate verify failed: unable to get local issuer certificate")
	case x < 0.71:
		g.ev(lWarn, "chainfire_api", "Request failed").s("method", r.pick([]string{"put", "get", "range", "txn"})).s("error", "context deadline exceeded")
	case x < 0.74:
		g.ev(lError, "chainfire_storage", "corrupted log entry").i("index", r.ri(1, 50_000_000)).tail(", crc mismatch")
	case x < 0.80:
		g.ev(lWarn, "chainfire_raft", "no leader elected for "+strconv.Itoa(r.ri(1000, 10000))+"ms").i("term", r.ri(1, 40))
	case x < 0.84:
		g.term++
		g.ev(lWarn, "chainfire_raft", "Stepped down as leader").i("term", r.ri(1, 40)).s("new_leader", "node"+strconv.Itoa(r.ri(2, 3)))
	case x < 0.89:
		g.ev(lWarn, "chainfire_storage", "WAL fsync took "+strconv.Itoa(r.ri(100, 3000))+"ms").ms("threshold", 100)
	case x < 0.92:
		g.ev(lWarn, "chainfire_lease", "Lease expired").i("id", r.ri(1e15, 1e16))
	case x < 0.95:
		g.ev(lWarn, "chainfire_raft", "Clock skew detected").ms("offset", r.ri(50, 2000)).s("peer", "node"+strconv.Itoa(r.ri(2, 3)))
	case x < 0.97:
		g.ev(lError, "chainfire_api", "Request timed out after "+strconv.Itoa(r.ri(1000, 30000))+"ms").s("method", "txn")
	case x < 0.98:
		g.ev(lError, "chainfire_network", "Failed to send message").s("peer", r.pick(peersCF)).s("error", "Broken pipe (os error 32)")
	case x < 0.99:
		g.ev(lError, "chainfire_server", "Failed to bind listener").s("addr", "0.0.0.0:2379").s("error", "Address already in use (os error 98)")
	default:
		g.ev(lError, "chainfire_server", fmt.Sprintf("thread 'tokio-runtime-worker' panicked at 'called `Option::unwrap()` on a `None` value', chainfire-raft/src/log.rs:%d:%d", r.ri(10, 900), r.ri(5, 60)))
	}
}

func (g *g) fdBad() {
	r := &g.r
	switch x := r.f(); {
	case x < 0.20:
		g.ev(lWarn, "flaredb_pd_client", "Heartbeat to PD failed, retrying...").i("attempt", r.ri(1, 10))
	case x < 0.33:
		g.ev(lWarn, "flaredb_storage", "Compaction is slow").sec("duration", r.ri(30, 600)).i("level", r.ri(0, 6))
	case x < 0.48:
		g.ev(lError, "flaredb_raft", "Failed to replicate log").s("peer", r.pick(stores)).i("region_id", r.ri(1, 20000))
	case x < 0.55:
		g.ev(lError, "flaredb_pd_client", "Failed to connect to PD").s("endpoint", "pd"+strconv.Itoa(r.ri(1, 3))+":2379").s("error", "tls: bad certificate")
	case x < 0.61:
		g.ev(lError, "flaredb_service", "gRPC call failed").s("peer", r.pick(stores)).s("error", "certificate verify failed")
	case x < 0.71:
		g.ev(lWarn, "flaredb_service", "Request failed").i("region_id", r.ri(1, 20000)).s("error", "context deadline exceeded")
	case x < 0.74:
		g.ev(lError, "flaredb_raft", "corrupted log entry").i("region_id", r.ri(1, 20000)).i("index", r.ri(1, 50_000_000))
	case x < 0.80:
		g.ev(lWarn, "flaredb_raft", "no leader elected").i("region_id", r.ri(1, 20000)).i("term", r.ri(1, 40))
	case x < 0.86:
		g.ev(lWarn, "flaredb_pd_client", "Store is down").i("store_id", r.ri(2, 4)).i("down_secs", r.ri(30, 3600))
	case x < 0.91:
		g.ev(lError, "flaredb_pd_client", "Failed to connect to PD").s("endpoint", "pd"+strconv.Itoa(r.ri(1, 3))+":2379").s("error", "Connection refused (os error 111)")
	case x < 0.94:
		g.ev(lWarn, "flaredb_raft", "Clock skew detected").ms("offset", r.ri(50, 2000)).s("peer", r.pick(stores))
	case x < 0.97:
		g.ev(lError, "flaredb_storage", "IO error: No space left on device (os error 28)").s("path", fmt.Sprintf("/var/lib/flaredb/db/%06d.sst", r.ri(1, 999999)))
	case x < 0.98:
		g.ev(lError, "flaredb_service", "Too many open files (os error 24), accepting connection")
	case x < 0.99:
		g.ev(lError, "flaredb_storage", "memory allocation failed: out of memory").i("requested", r.ri(1e6, 1e9))
	default:
		g.ev(lError, "flaredb_service", fmt.Sprintf("thread 'grpc-server-%d' panicked at 'index out of bounds: the len is %d but the index is %d', flaredb-server/src/service.rs:%d:%d",
			r.ri(0, 7), r.ri(1, 9), r.ri(10, 99), r.ri(10, 900), r.ri(5, 60)))
	}
}

// The other units: PRIORITY and MESSAGE.

func (g *g) sshd() (string, string) {
	r := &g.r
	x := r.f()
	ip := fmt.Sprintf("%d.%d.%d.%d", []int{10, 203, 198, 192}[r.ri(0, 3)], r.ri(0, 255), r.ri(0, 255), r.ri(1, 254))
	port := r.ri(1024, 65535)
	switch {
	case x < 0.30:
		return "6", fmt.Sprintf("Invalid user %s from %s port %d", r.pick([]string{"admin", "test", "oracle", "ubuntu", "git", "postgres"}), ip, port)
	case x < 0.55:
		return "6", fmt.Sprintf("Connection closed by invalid user admin %s port %d [preauth]", ip, port)
	case x < 0.65:
		return "6", fmt.Sprintf("Accepted publickey for deploy from %s port %d ssh2: ED25519 SHA256:%s", ip, port, (r.hex128() + r.hex128())[:43])
	case x < 0.75:
		return "6", "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)"
	case x < 0.85:
		return "6", fmt.Sprintf("Received disconnect from %s port %d:11: Bye Bye [preauth]", ip, port)
	case x < 0.95:
		return "6", fmt.Sprintf("Disconnected from authenticating user root %s port %d [preauth]", ip, port)
	case x < 0.99:
		return "6", "pam_unix(sshd:session): session closed for user deploy"
	}
	return "3", fmt.Sprintf("error: connect_to 127.0.0.1 port %d: failed. channel %d: open failed: connect failed: Connection refused", []int{2379, 8080, 5432}[r.ri(0, 2)], r.ri(0, 9))
}

func (g *g) kernel() (string, string) {
	r := &g.r
	switch x := r.f(); {
	case x < 0.60:
		return "4", fmt.Sprintf("[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%d.%d.%d.%d DST=10.0.0.11 LEN=%d TOS=0x00 PREC=0x00 TTL=%d ID=%d PROTO=TCP SPT=%d DPT=%d WINDOW=%d RES=0x00 SYN URGP=0",
			r.ri(1, 223), r.ri(0, 255), r.ri(0, 255), r.ri(1, 254), []int{40, 44, 52, 60}[r.ri(0, 3)], r.ri(30, 250), r.ri(0, 65535), r.ri(1024, 65535),
			[]int{22, 23, 3389, 2380, 6379, 445}[r.ri(0, 5)], []int{1024, 29200, 65535}[r.ri(0, 2)])
	case x < 0.75:
		return "6", fmt.Sprintf("audit: type=1400 audit(%d.%03d:%d): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.lxd\" name=\"/proc/%d/mountinfo\" pid=%d comm=\"lxd\" requested_mask=\"r\" denied_mask=\"r\"",
			r.ri(1.7e9, 1.8e9), r.ri(0, 999), r.ri(100, 99999), r.ri(1, 40000), r.ri(1, 40000))
	case x < 0.85:
		return "6", fmt.Sprintf("EXT4-fs (vda1): re-mounted %s. Quota mode: none.", r.hex128()[:8])
	case x < 0.93:
		return "4", fmt.Sprintf("TCP: request_sock_TCP: Possible SYN flooding on port %d. Sending cookies.  Check SNMP counters.", []int{2379, 2380, 20160}[r.ri(0, 2)])
	}
	return "6", fmt.Sprintf("virtio_net virtio0 eth0: link up, rx queue %d", r.ri(0, 3))
}

func (g *g) cron() (string, string) {
	switch x := g.r.f(); {
	case x < 0.4:
		return "6", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
	case x < 0.8:
		return "6", "pam_unix(cron:session): session closed for user root"
	case x < 0.9:
		return "6", "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
	}
	return "6", "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)"
}

// Journal fields that do not change.
const (
	bootID    = "3f1c2b9a4d5e4f60a1b2c3d4e5f60718"
	machineID = "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b"
	hostname  = "node1"
)

type kv struct{ k, v string }

func join(fields []kv) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.k)
		b.WriteByte('=')
		b.WriteString(f.v)
		b.WriteByte('\n')
	}
	return b.String()
}

// serviceHeaders returns the fixed fields of a service's entries, full and
// minimal. tracing-journald writes through the native protocol
// (_TRANSPORT=journal, no stream id, no syslog facility).
func serviceHeaders(r *rng, name string, pid, uid int, sh shape) (string, string) {
	inv, sid := r.hex128(), r.hex128()
	transport := "stdout"
	if sh == shapeJournald {
		transport = "journal"
	}
	full := []kv{{"_BOOT_ID", bootID}, {"_MACHINE_ID", machineID}, {"_HOSTNAME", hostname}, {"_TRANSPORT", transport}}
	if sh != shapeJournald {
		full = append(full, kv{"SYSLOG_FACILITY", "3"})
	}
	full = append(full, []kv{{"SYSLOG_IDENTIFIER", name}, {"_PID", strconv.Itoa(pid)}, {"_UID", strconv.Itoa(uid)}, {"_GID", strconv.Itoa(uid)},
		{"_COMM", name}, {"_EXE", "/usr/bin/" + name}, {"_CMDLINE", fmt.Sprintf("/usr/bin/%s --config /etc/%s/config.toml", name, name)},
		{"_CAP_EFFECTIVE", "0"}, {"_SYSTEMD_CGROUP", "/system.slice/" + name + ".service"}, {"_SYSTEMD_UNIT", name + ".service"},
		{"_SYSTEMD_SLICE", "system.slice"}, {"_SYSTEMD_INVOCATION_ID", inv}}...)
	if sh != shapeJournald {
		full = append(full, kv{"_STREAM_ID", sid})
	}
	mini := []kv{{"_BOOT_ID", bootID}, {"_HOSTNAME", hostname}, {"SYSLOG_IDENTIFIER", name}, {"_PID", strconv.Itoa(pid)}, {"_SYSTEMD_UNIT", name + ".service"}}
	return join(full), join(mini)
}

// otherHeaders returns the fixed fields of an sshd, kernel or cron entry.
func otherHeaders(unit string, pid int) (string, string) {
	if unit == "kernel" {
		return join([]kv{{"_BOOT_ID", bootID}, {"_MACHINE_ID", machineID}, {"_HOSTNAME", hostname}, {"_TRANSPORT", "kernel"},
				{"SYSLOG_FACILITY", "0"}, {"SYSLOG_IDENTIFIER", "kernel"}}),
			join([]kv{{"_BOOT_ID", bootID}, {"_HOSTNAME", hostname}, {"SYSLOG_IDENTIFIER", "kernel"}})
	}
	su, ident, comm, exe, fac, cmd, inv := "ssh.service", "sshd", "sshd", "/usr/sbin/sshd", "4", "sshd: [accepted]", strings.Repeat("5", 32)
	if unit == "cron" {
		su, ident, comm, exe, fac, cmd, inv = "cron.service", "CRON", "cron", "/usr/sbin/cron", "10", "/usr/sbin/CRON -f", strings.Repeat("c", 32)
	}
	p := strconv.Itoa(pid)
	full := []kv{{"_BOOT_ID", bootID}, {"_MACHINE_ID", machineID}, {"_HOSTNAME", hostname}, {"_TRANSPORT", "syslog"}, {"SYSLOG_FACILITY", fac},
		{"SYSLOG_IDENTIFIER", ident}, {"SYSLOG_PID", p}, {"_PID", p}, {"_UID", "0"}, {"_GID", "0"}, {"_COMM", comm}, {"_EXE", exe},
		{"_CMDLINE", cmd}, {"_CAP_EFFECTIVE", "1ffffffffff"}, {"_SYSTEMD_CGROUP", "/system.slice/" + su}, {"_SYSTEMD_UNIT", su},
		{"_SYSTEMD_SLICE", "system.slice"}, {"_SYSTEMD_INVOCATION_ID", inv}}
	mini := []kv{{"_BOOT_ID", bootID}, {"_HOSTNAME", hostname}, {"SYSLOG_IDENTIFIER", ident}, {"_PID", p}, {"_SYSTEMD_UNIT", su}}
	return join(full), join(mini)
}

// startRealtime is 2025-06-01T00:00:00Z in microseconds.
const startRealtime = 1748736000_000000

// write generates o.n entries into the three writers. Write errors stick in
// the bufio.Writers and come back from Flush.
func write(o options, txt, full, mini *bufio.Writer) stats {
	g := &g{r: rng{s: o.seed}, term: 7}
	g.st.units = map[string]int{}
	type hdr struct{ full, mini string }
	cf, fd := hdr{}, hdr{}
	cf.full, cf.mini = serviceHeaders(&g.r, "chainfire", 1234, 998, o.shape)
	fd.full, fd.mini = serviceHeaders(&g.r, "flaredb", 1301, 997, o.shape)
	kern := hdr{}
	kern.full, kern.mini = otherHeaders("kernel", 0)
	sshPID := 20000
	ssh := hdr{}
	ssh.full, ssh.mini = otherHeaders("sshd", sshPID)

	rt, mono := int64(startRealtime), int64(3_600_000_000)
	var buf []byte // the service entry's own fields, full
	var bufMin []byte
	var msg []byte
	for range o.n {
		d := int64(g.r.ri(1, 80_000)) // 1 µs to 80 ms: 2M entries span about 22 h
		rt += d
		mono += d
		var h hdr
		var pri string
		service := false
		x := g.r.f()
		switch {
		case x < 0.70:
			service = true
			unit, bad := "chainfire", g.r.f() < 0.02
			h = cf
			if x >= 0.35 {
				unit, h = "flaredb", fd
			}
			switch {
			case unit == "chainfire" && bad:
				g.cfBad()
			case unit == "chainfire":
				g.cfInfo()
			case bad:
				g.fdBad()
			default:
				g.fdInfo()
			}
			if bad {
				g.st.bad++
			}
			g.st.units[unit]++
		default:
			var unit string
			switch y := g.r.f(); {
			case y < 0.45:
				unit = "sshd"
				if g.r.f() < 0.05 {
					sshPID = g.r.ri(20000, 400000)
					ssh.full, ssh.mini = otherHeaders("sshd", sshPID)
				}
				h = ssh
				p, m := g.sshd()
				pri, msg = p, append(msg[:0], m...)
			case y < 0.80:
				unit, h = "kernel", kern
				p, m := g.kernel()
				pri, msg = p, append(msg[:0], m...)
			default:
				unit = "cron"
				h.full, h.mini = otherHeaders("cron", g.r.ri(400000, 900000))
				p, m := g.cron()
				pri, msg = p, append(msg[:0], m...)
			}
			g.st.units[unit]++
		}
		buf, bufMin = buf[:0], bufMin[:0]
		if service {
			e := &g.e
			switch o.shape {
			case shapeText:
				pri, msg = levelPriority[e.lvl], appendText(msg[:0], e)
			case shapeJSON:
				pri, msg = levelPriority[e.lvl], appendJSON(msg[:0], e, rt)
			case shapeJournald:
				pri, msg = levelJournald[e.lvl], appendMessage(msg[:0], e)
				buf, bufMin = appendJournald(buf, bufMin, e)
			}
		}
		ts := "__REALTIME_TIMESTAMP=" + strconv.FormatInt(rt, 10) + "\n__MONOTONIC_TIMESTAMP=" + strconv.FormatInt(mono, 10) + "\n"
		for _, w := range []struct {
			w   *bufio.Writer
			h   string
			own []byte
		}{{full, h.full, buf}, {mini, h.mini, bufMin}} {
			w.w.WriteString(ts)
			w.w.WriteString(w.h)
			w.w.Write(w.own)
			w.w.WriteString("PRIORITY=")
			w.w.WriteString(pri)
			w.w.WriteString("\nMESSAGE=")
			w.w.Write(msg)
			w.w.WriteString("\n\n")
		}
		txt.Write(msg)
		txt.WriteByte('\n')
	}
	return g.st
}

// appendText writes e as the runbook form: "WARN target: msg, k=v" + suffix.
func appendText(b []byte, e *event) []byte {
	b = append(b, levelText[e.lvl]...)
	b = append(b, ' ')
	b = append(b, e.target...)
	b = append(b, ": "...)
	b = append(b, e.msg...)
	for _, f := range e.fields {
		b = append(b, ", "...)
		b = append(b, f.k...)
		b = append(b, '=')
		b = append(b, f.v...)
	}
	return append(b, e.suffix...)
}

// appendMessage writes the message alone, as a tracing event's message
// field holds it.
func appendMessage(b []byte, e *event) []byte {
	b = append(b, e.msg...)
	return append(b, e.suffix...)
}

// debugDuration formats ms as Rust's Debug for Duration prints it: "900ms",
// "2s", "1.5s".
func debugDuration(b []byte, ms int) []byte {
	if ms < 1000 {
		b = strconv.AppendInt(b, int64(ms), 10)
		return append(b, "ms"...)
	}
	b = strconv.AppendInt(b, int64(ms/1000), 10)
	if frac := ms % 1000; frac != 0 {
		s := fmt.Sprintf("%03d", frac)
		b = append(b, '.')
		b = append(b, strings.TrimRight(s, "0")...)
	}
	return append(b, 's')
}

// appendJSONString writes s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSON writes e as tracing-subscriber's JSON formatter does:
// timestamp, level, fields (message first), target, and on raft targets
// the current span and the list of spans.
func appendJSON(b []byte, e *event, rt int64) []byte {
	b = append(b, `{"timestamp":"`...)
	b = time.UnixMicro(rt).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","level":"`...)
	b = append(b, levelText[e.lvl]...)
	b = append(b, `","fields":{"message":`...)
	b = appendJSONString(b, e.msg+e.suffix)
	for _, f := range e.fields {
		b = append(b, ',')
		b = appendJSONString(b, f.k)
		b = append(b, ':')
		switch f.kind {
		case kInt, kBool:
			b = append(b, f.v...)
		case kDur:
			b = append(b, '"')
			b = debugDuration(b, f.ms)
			b = append(b, '"')
		default:
			b = appendJSONString(b, f.v)
		}
	}
	b = append(b, `},"target":`...)
	b = appendJSONString(b, e.target)
	if e.span != 0 {
		span := fmt.Appendf(nil, `{"node_id":1,"term":%d,"name":"raft"}`, e.span)
		b = append(b, `,"span":`...)
		b = append(b, span...)
		b = append(b, `,"spans":[`...)
		b = append(b, span...)
		b = append(b, ']')
	}
	return append(b, '}')
}

// codeFile is the source file of a target: chainfire_raft is in
// chainfire-raft/src/lib.rs.
func codeFile(target string) string {
	crate, _, _ := strings.Cut(target, "_")
	rest := strings.TrimPrefix(target, crate+"_")
	return crate + "-" + strings.ReplaceAll(rest, "_", "-") + "/src/lib.rs"
}

// codeLine is a stable line number for the event's call site.
func codeLine(e *event) int {
	h := fnv.New32a()
	io.WriteString(h, e.target)
	msg := e.msg
	if i := strings.IndexAny(msg, "0123456789"); i >= 0 {
		msg = msg[:i]
	}
	io.WriteString(h, msg)
	return 20 + int(h.Sum32()%1500)
}

// appendJournald writes the fields tracing-journald adds to an event's
// entry besides PRIORITY and MESSAGE: full the span fields, TARGET,
// CODE_FILE, CODE_LINE and the event's F_ fields; mini TARGET and the F_
// fields.
func appendJournald(full, mini []byte, e *event) ([]byte, []byte) {
	if e.span != 0 {
		full = append(full, "S0_NAME=raft\nS0_CODE_FILE="...)
		full = append(full, codeFile(e.target)...)
		full = fmt.Appendf(full, "\nS0_CODE_LINE=12\nS0_NODE_ID=1\nS0_TERM=%d\n", e.span)
	}
	full = append(full, "TARGET="...)
	full = append(full, e.target...)
	full = append(full, "\nCODE_FILE="...)
	full = append(full, codeFile(e.target)...)
	full = append(full, "\nCODE_LINE="...)
	full = strconv.AppendInt(full, int64(codeLine(e)), 10)
	full = append(full, '\n')
	mini = append(mini, "TARGET="...)
	mini = append(mini, e.target...)
	mini = append(mini, '\n')
	for _, f := range e.fields {
		n := len(full)
		full = append(full, "F_"...)
		full = append(full, strings.ToUpper(f.k)...)
		full = append(full, '=')
		if f.kind == kDur {
			full = debugDuration(full, f.ms)
		} else {
			full = append(full, f.v...)
		}
		full = append(full, '\n')
		mini = append(mini, full[n:]...)
	}
	return full, mini
}
