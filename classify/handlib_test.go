package classify

import (
	"regexp"
	"testing"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// handSig is a compact description of a signature for hand-built test
// libraries.
type handSig struct {
	id, units, re, summary, anchor string
	sev                            record.Severity
	fields                         []patterns.Field
	fire                           []patterns.Condition
	raise                          []patterns.Raise
	groupBy                        []string
	examples                       []patterns.Example
}

var (
	cf  = []string{"chainfire.service"}
	fd  = []string{"flaredb.service"}
	pdU = []string{"placement-driver.service"}
)

func unitsOf(s string) []string {
	switch s {
	case "cf":
		return cf
	case "fd":
		return fd
	case "pd":
		return pdU
	}
	return patterns.AllUnits
}

func ge(field string, v float64, text string) patterns.Condition {
	return patterns.Condition{Field: field, Op: patterns.GE, Value: v, Text: text}
}

func intF(name string) patterns.Field { return patterns.Field{Name: name, Type: patterns.Integer} }
func durF(name string) patterns.Field { return patterns.Field{Name: name, Type: patterns.Duration} }
func strF(name string) patterns.Field { return patterns.Field{Name: name, Type: patterns.String} }

const durRE = `[0-9.]+[a-zµμ]*`

// handSigs mirrors signatures.md, in an order that satisfies its ordering
// rules. It stands in for the shipped library in tests that must not depend
// on it.
var handSigs = []handSig{
	{id: "tls.certificate_expired", units: "all", sev: record.Critical, anchor: "issue-tls-handshake-failures",
		re: `certificate (?:has )?expired|invalid peer certificate: Expired`, summary: "TLS certificate expired"},
	{id: "tls.handshake_failed", units: "all", sev: record.Error, anchor: "issue-tls-handshake-failures",
		re: `tls: bad certificate|certificate verify failed|invalid peer certificate`, summary: "TLS handshake failed"},
	{id: "service.panic", units: "all", sev: record.Critical, anchor: "log-analysis",
		re:     `thread '(?P<thread>[^']*)' panicked at (?:'.*', )?(?P<location>[^\s,']+:\d+:\d+)`,
		fields: []patterns.Field{strF("thread"), strF("location")}, summary: "panic in thread {thread} at {location}"},
	{id: "service.disk_full", units: "all", sev: record.Critical, anchor: "issue-region-rebalancing-stuck",
		re: `No space left on device(?:.*?\bpath=(?P<path>\S+))?`, fields: []patterns.Field{strF("path")}, summary: "disk full: {path}"},
	{id: "chainfire.no_leader", units: "cf", sev: record.Error, anchor: "issue-no-leader--leader-election-fails",
		re: `no leader elected`, summary: "no Raft leader"},
	{id: "chainfire.leader_elected", units: "cf", sev: record.Info, anchor: "issue-no-leader--leader-election-fails",
		re: `Leader elected, term=(?P<term>\d+)`, fields: []patterns.Field{intF("term")}, summary: "leader elected for term {term}"},
	{id: "chainfire.election_timeout", units: "cf", sev: record.Warning, anchor: "issue-no-leader--leader-election-fails",
		re: `Election timeout`, summary: "Raft election timeout"},
	{id: "chainfire.peer_unreachable", units: "cf", sev: record.Error, anchor: "issue-node-cannot-join-cluster",
		re:      `Failed to connect to peer, addr=(?P<addr>[^,\s]+)`,
		fields:  []patterns.Field{{Name: "addr", Type: patterns.HostPort, HostName: "peer_host", PortName: "peer_port"}},
		groupBy: []string{"addr"}, summary: "cannot reach peer {addr}"},
	{id: "chainfire.rocksdb_stall", units: "cf", sev: record.Warning, anchor: "issue-high-write-latency",
		re: `\bstall(?:.*?\bduration=(?P<duration_ms>` + durRE + `))?`, fields: []patterns.Field{durF("duration_ms")},
		raise:   []patterns.Raise{{When: ge("duration_ms", 1000, "duration_ms >= 1000"), Severity: record.Error}},
		summary: "RocksDB write stall of {duration_ms} ms"},
	{id: "chainfire.slow_request", units: "cf", sev: record.Warning, anchor: "issue-high-write-latency",
		re:      `Handled (?P<op>\w+) request\b.*?\blatency=(?P<latency_ms>` + durRE + `)`,
		fields:  []patterns.Field{strF("op"), durF("latency_ms")},
		fire:    []patterns.Condition{ge("latency_ms", 100, "latency_ms >= 100")},
		raise:   []patterns.Raise{{When: ge("latency_ms", 500, "latency_ms >= 500"), Severity: record.Error}},
		groupBy: []string{"op"}, summary: "slow {op} request: {latency_ms} ms"},
	{id: "chainfire.connection_error", units: "cf", sev: record.Warning, anchor: "issue-node-cannot-join-cluster",
		re: `connection refused|timeout|unreachable`, summary: "connection error"},
	{id: "chainfire.corrupted_log", units: "cf", sev: record.Critical, anchor: "issue-data-inconsistency-after-crash",
		re: `corrupted log entry`, summary: "corrupted Raft log entry"},
	{id: "chainfire.replication_lag", units: "cf", sev: record.Warning, anchor: "issue-high-write-latency",
		re: `\b(?:lag|lagging|behind)\b|\bcatch(?:ing)?\b.*\bup\b`, summary: "replication lag"},
	{id: "chainfire.member_change", units: "cf", sev: record.Info, anchor: "issue-node-cannot-join-cluster",
		re:     `\b(?:add(?:ed|ing)?|remov(?:e|ed|ing)|promot(?:e|ed|ing))\b.*\b(?:node|member|learner)\b(?:.*?\bnode_id=(?P<node_id>\d+))?`,
		fields: []patterns.Field{intF("node_id")}, summary: "membership change"},
	{id: "flaredb.pd_registered", units: "fd", sev: record.Info, anchor: "issue-store-not-registering-with-pd",
		re: `Registered with PD, store_id=(?P<store_id>\d+)`, fields: []patterns.Field{intF("store_id")}, summary: "store {store_id} registered with PD"},
	{id: "flaredb.pd_register_failed", units: "fd", sev: record.Error, anchor: "issue-store-not-registering-with-pd",
		re: `failed to register with PD`, summary: "store failed to register with PD"},
	{id: "flaredb.pd_heartbeat_failed", units: "fd", sev: record.Warning, anchor: "issue-store-not-registering-with-pd",
		re: `Heartbeat to PD failed`, summary: "heartbeat to PD failed"},
	{id: "flaredb.snapshot_applied", units: "fd", sev: record.Info, anchor: "log-analysis",
		re: `Applied snapshot, index=(?P<index>\d+)`, fields: []patterns.Field{intF("index")}, summary: "snapshot applied at index {index}"},
	{id: "flaredb.replication_failed", units: "fd", sev: record.Error, anchor: "issue-readwrite-timeout",
		re: `Failed to replicate log, peer=(?P<peer>[^,\s]+)`, fields: []patterns.Field{strF("peer")}, groupBy: []string{"peer"},
		summary: "replication to {peer} failed"},
	{id: "flaredb.deadline_exceeded", units: "fd", sev: record.Error, anchor: "issue-readwrite-timeout",
		re: `context deadline exceeded`, summary: "context deadline exceeded"},
	{id: "flaredb.compaction_slow", units: "fd", sev: record.Warning, anchor: "issue-readwrite-timeout",
		re: `Compaction is slow(?:.*?\bduration=(?P<duration_ms>` + durRE + `))?`, fields: []patterns.Field{durF("duration_ms")},
		summary: "slow compaction: {duration_ms} ms"},
	{id: "flaredb.rocksdb_stall", units: "fd", sev: record.Warning, anchor: "issue-readwrite-timeout",
		re: `stall(?:.*?\bduration=(?P<duration_ms>` + durRE + `))?`, fields: []patterns.Field{durF("duration_ms")},
		raise:   []patterns.Raise{{When: ge("duration_ms", 1000, "duration_ms >= 1000"), Severity: record.Error}},
		summary: "RocksDB write stall of {duration_ms} ms"},
	{id: "flaredb.slow_query", units: "fd", sev: record.Warning, anchor: "issue-readwrite-timeout",
		re:      `Handled query\b.*?\brows=(?P<rows>\d+).*?\blatency=(?P<latency_ms>` + durRE + `)`,
		fields:  []patterns.Field{intF("rows"), durF("latency_ms")},
		fire:    []patterns.Condition{ge("latency_ms", 100, "latency_ms >= 100")},
		raise:   []patterns.Raise{{When: ge("latency_ms", 500, "latency_ms >= 500"), Severity: record.Error}},
		summary: "slow query: {latency_ms} ms for {rows} rows"},
	{id: "flaredb.timeout", units: "fd", sev: record.Warning, anchor: "issue-readwrite-timeout",
		re: `slow|timeout|timed out`, summary: "slow operation or timeout"},
	{id: "pd.schedule_failed", units: "pd", sev: record.Warning, anchor: "issue-region-rebalancing-stuck",
		re: `failed to schedule operator`, summary: "failed to schedule operator"},
	{id: "pd.store_registration", units: "pd", sev: record.Info, anchor: "issue-store-not-registering-with-pd",
		re: `regist(?:er|ered|ering|ration)(?:.*?\bstore_id=(?P<store_id>\d+))?`, fields: []patterns.Field{intF("store_id")},
		summary: "store registration"},
}

// handLibrary compiles handSigs (regexes with (?i)) plus the
// service.unclassified fallback.
func handLibrary(tb testing.TB) *patterns.Library {
	tb.Helper()
	lib := &patterns.Library{}
	for _, h := range handSigs {
		s := &patterns.Signature{
			ID: h.id, Units: unitsOf(h.units), Summary: h.summary, Severity: h.sev, Anchor: h.anchor,
			MatchText: h.re, Match: regexp.MustCompile("(?i)" + h.re), Fields: h.fields, FireWhen: h.fire,
			Raise: h.raise, GroupBy: h.groupBy, Examples: h.examples, Pos: patterns.Pos{File: "hand.yaml", Line: len(lib.Signatures) + 1, Col: 1},
		}
		lib.Signatures = append(lib.Signatures, s)
	}
	lib.Signatures = append(lib.Signatures, &patterns.Signature{
		ID: "service.unclassified", Units: patterns.AllUnits, Summary: "unclassified {target}: {template}", Severity: record.Info,
		LevelSeverity: map[record.Level]record.Severity{record.LevelWarn: record.Info, record.LevelError: record.Warning},
		Levels:        []record.Level{record.LevelWarn, record.LevelError}, Anchor: "log-analysis",
		Fields: []patterns.Field{
			{Name: "target", Type: patterns.String, Source: patterns.FromTarget},
			{Name: "template", Type: patterns.String, Source: patterns.FromTemplate},
		},
	})
	return lib
}
