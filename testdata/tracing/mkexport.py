#!/usr/bin/env python3
"""Turns journald's own export of the generator's entries into the committed
fixtures: stable identities and timestamps, the service's unit, and the
expected classification (written from spec/signatures.md and patterns.d, not
from cflogd)."""
import json, re, struct, sys

work, out = sys.argv[1], sys.argv[2]

def parse_export(data):
    entries, cur, i = [], [], 0
    while i < len(data):
        if data[i:i+1] == b"\n":
            if cur: entries.append(cur); cur = []
            i += 1; continue
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1); cur.append((k.decode(), v)); i = nl + 1
        else:
            n = struct.unpack("<Q", data[nl+1:nl+9])[0]
            cur.append((line.decode(), data[nl+9:nl+9+n])); i = nl + 9 + n + 1
    if cur: entries.append(cur)
    return entries

def binary(v):
    try: s = v.decode("utf-8")
    except UnicodeDecodeError: return True
    return any(ord(c) < 32 or ord(c) == 127 for c in s)

def write_export(path, entries):
    with open(path, "wb") as f:
        for e in entries:
            for k, v in e:
                if binary(v): f.write(k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n")
                else: f.write(k.encode() + b"=" + v + b"\n")
            f.write(b"\n")

def get(e, k):
    for kk, v in e:
        if kk == k: return v
    return None

raw = parse_export(open(f"{work}/raw.export", "rb").read())
bypid = {}
for e in raw: bypid.setdefault(get(e, "_PID").decode(), []).append(e)

SVC = {"chainfire": (1201, "chainfire"), "flaredb": (1302, "flaredb"),
       "placement-driver": (1403, "placement-drive")}
BASE_RT = 1795687200000000          # 2026-11-26T10:00:00Z
BOOT, MACHINE = "7f0c6a1ee5f24a0c9b2b1c0d8e9f1a2b", "3b1d7c0e2f4a4e6b8c9d0e1f2a3b4c5d"
counter = [0]

def stabilize(e, svc):
    pid, comm = SVC[svc]
    i = counter[0]; counter[0] += 1
    rt = BASE_RT + i * 1000
    o, seen = [], set()
    for k, v in e:
        if k in ("__CURSOR", "__SEQNUM", "__SEQNUM_ID", "_SYSTEMD_UNIT", "_SYSTEMD_SLICE",
                 "_SYSTEMD_CGROUP", "_SYSTEMD_INVOCATION_ID"):
            continue
        v = {"__REALTIME_TIMESTAMP": str(rt).encode(),
             "__MONOTONIC_TIMESTAMP": str(5000000000 + i * 1000).encode(),
             "_SOURCE_REALTIME_TIMESTAMP": str(rt - 7).encode(),
             "_BOOT_ID": BOOT.encode(), "_MACHINE_ID": MACHINE.encode(),
             "_HOSTNAME": b"node01", "_PID": str(pid).encode(),
             "_COMM": comm.encode(), "_EXE": f"/usr/bin/{svc}".encode(),
             "_CMDLINE": f"/usr/bin/{svc} --config /etc/centra-cloud/{svc}.toml".encode(),
             "_STREAM_ID": ("%032x" % (pid * 7919)).encode()}.get(k, v)
        o.append((k, v))
    o += [("_SYSTEMD_CGROUP", f"/system.slice/{svc}.service".encode()),
          ("_SYSTEMD_UNIT", f"{svc}.service".encode()),
          ("_SYSTEMD_SLICE", b"system.slice"),
          ("_SYSTEMD_INVOCATION_ID", ("%032x" % (pid * 104729)).encode())]
    return o

def X(sig, sev=None, **fields): return (sig, sev, fields)
NONE = ("", None, {})
# expected result per case, identical in every shape (signatures.md "Line
# shapes that must classify identically"); service.unclassified: `template`
# is left out of the expected fields (only `target` is checked).
EXP = {
 "cf_leader_elected": X("chainfire.leader_elected", "info", term=3),
 "cf_election_timeout": X("chainfire.election_timeout", "warning"),
 "cf_election_timeout_case": X("chainfire.election_timeout", "warning"),
 "cf_no_leader": X("chainfire.no_leader", "error"),
 "cf_peer_unreachable": X("chainfire.peer_unreachable", "error", addr="node2:2380", peer_host="node2", peer_port=2380),
 "cf_peer_unreachable_debug": X("chainfire.peer_unreachable", "error", addr="10.0.0.12:2380", peer_host="10.0.0.12", peer_port=2380),
 "cf_connection_error": X("chainfire.connection_error", "warning"),
 "cf_stall_2000ms": X("chainfire.rocksdb_stall", "error", duration_ms=2000),
 "cf_stall_999ms": X("chainfire.rocksdb_stall", "warning", duration_ms=999),
 "cf_stall_1000ms": X("chainfire.rocksdb_stall", "error", duration_ms=1000),
 "cf_stall_1_5s": X("chainfire.rocksdb_stall", "error", duration_ms=1500),
 "cf_stall_250us": X("chainfire.rocksdb_stall", "warning", duration_ms=0.25),
 "cf_stall_no_duration": X("chainfire.rocksdb_stall", "warning"),
 "cf_put_99ms": NONE,
 "cf_put_100ms": X("chainfire.slow_request", "warning", op="put", latency_ms=100),
 "cf_get_499ms": X("chainfire.slow_request", "warning", op="get", latency_ms=499),
 "cf_range_500ms": X("chainfire.slow_request", "error", op="range", latency_ms=500),
 "cf_put_900ms_string": X("chainfire.slow_request", "error", op="put", latency_ms=900),
 "cf_put_15ms": NONE,
 "cf_corrupted_log": X("chainfire.corrupted_log", "critical"),
 "cf_replication_lag": X("chainfire.replication_lag", "warning"),
 "cf_member_added": X("chainfire.member_change", "info", node_id=4),
 "cf_committed_entry": NONE, "cf_raft_config": NONE, "cf_installed_snapshot": NONE,
 "cf_wal_disk_full": X("service.disk_full", "critical", path="/var/lib/chainfire/wal/000012.log"),
 "cf_stepped_down": X("service.unclassified", "info", target="chainfire_raft"),
 "cf_lease_expired": X("service.unclassified", "info", target="chainfire_lease"),
 "cf_tls_bad_certificate": X("tls.handshake_failed", "error"),
 "cf_tls_expired": X("tls.certificate_expired", "critical"),
 "cf_tls_completed": NONE, "cf_panic_hook": NONE, "cf_debug_heartbeat": NONE,
 "fd_pd_registered": X("flaredb.pd_registered", "info", store_id=1),
 "fd_pd_register_failed": X("flaredb.pd_register_failed", "error"),
 "fd_pd_heartbeat_failed": X("flaredb.pd_heartbeat_failed", "warning"),
 "fd_snapshot_applied": X("flaredb.snapshot_applied", "info", index=5000),
 "fd_replication_failed": X("flaredb.replication_failed", "error", peer="store2"),
 "fd_replication_failed_debug": X("flaredb.replication_failed", "error", peer="store3"),
 "fd_compaction_slow": X("flaredb.compaction_slow", "warning", duration_ms=30000),
 "fd_stall_1000ms": X("flaredb.rocksdb_stall", "error", duration_ms=1000),
 "fd_stall_900ns": X("flaredb.rocksdb_stall", "warning", duration_ms=0.0009),
 "fd_query_99ms": NONE,
 "fd_query_100ms": X("flaredb.slow_query", "warning", rows=1000, latency_ms=100),
 "fd_query_500ms": X("flaredb.slow_query", "error", rows=12, latency_ms=500),
 "fd_deadline_exceeded": X("flaredb.deadline_exceeded", "error"),
 "fd_request_timeout": X("flaredb.timeout", "warning"),
 "fd_config_loaded": NONE,
 "fd_disk_full": X("service.disk_full", "critical", path="/var/lib/flaredb/db/000123.sst"),
 "fd_tls_bad_certificate": X("tls.handshake_failed", "error"),
 "fd_corrupted_log_unclassified": X("service.unclassified", "warning", target="flaredb_raft"),
 "fd_installed_snapshot": NONE,
 "pd_schedule_failed": X("pd.schedule_failed", "warning"),
 "pd_store_registered": X("pd.store_registration", "info", store_id=4),
 "pd_store_registered_no_id": X("pd.store_registration", "info"),
 "pd_store_heartbeat": NONE,
 "pd_tls_expired": X("tls.certificate_expired", "critical"),
 "pd_enospc": X("service.disk_full", "critical"),
 "pd_unclassified": X("service.unclassified", "warning", target="pd_server"),
 # bad input (bad-expected.jsonl)
 "bad_nontracing_json": NONE,
 "bad_truncated_json": X("chainfire.rocksdb_stall", "warning"),
 "bad_nested_json": X("chainfire.leader_elected", "info", term=3),
 "bad_duplicate_keys": X("chainfire.slow_request", "error", op="put", latency_ms=900),
 "bad_value_number": X("chainfire.rocksdb_stall", "error", duration_ms=1500),
 "bad_value_float": X("chainfire.slow_request", "warning", op="put", latency_ms=250.5),
 "bad_value_bool": NONE, "bad_value_null": NONE,
 "bad_value_string_int": X("chainfire.leader_elected", "info", term=3),
 "bad_value_array": X("service.unclassified", "warning", target="flaredb_raft"),
 "bad_value_object": NONE,
 "bad_fields_not_object": X("flaredb.replication_failed", "error", peer="store2"),
 "bad_level_number": X("pd.schedule_failed", "warning"),
 "bad_trusted_field_spoof": X("service.unclassified", "warning", target="chainfire_raft"),
 "bad_native_multiline": X("chainfire.rocksdb_stall", "error", duration_ms=1500),
 "bad_native_no_prefix": X("flaredb.replication_failed", "error", peer="store2"),
 "bad_native_priority_only": X("service.unclassified", "info", target=""),
}
NOTES = {
 "bad_nontracing_json": "JSON that is not tracing's: read as text; no phrase, no level: no event",
 "bad_truncated_json": "not valid JSON: read as text; `\"duration\":\"2s\"` is not duration=/duration: so no duration",
 "bad_nested_json": "11000 levels of nesting in span (beyond Go encoding/json's 10000 limit): must not crash; the text form in the message gives term either way",
 "bad_duplicate_keys": "duplicate key fields.latency: the last one wins (as encoding/json)",
 "bad_value_float": "a bare number is milliseconds; 250.5 stays fractional",
 "bad_value_bool": "latency=true is no duration: the line never fires",
 "bad_value_null": "term=null: no term, so no leader_elected (its match needs term); INFO: no fallback",
 "bad_value_string_int": "a JSON string holding an integer gives the integer field",
 "bad_value_array": "an array is not a scalar field value: no peer, so replication_failed (needs peer) does not match; ERROR: service.unclassified",
 "bad_value_object": "store_id is an object: no store_id, so pd_registered (needs store_id) does not match; INFO: no event",
 "bad_fields_not_object": "fields is a string: treated as the message text",
 "bad_level_number": "non-string level: the signature still matches the message",
 "bad_trusted_field_spoof": "journald dropped the client's _SYSTEMD_UNIT/_HOSTNAME/_PID (trusted fields are its own); F__SYSTEMD_UNIT kept as a plain field; the entry is chainfire's, where replication_failed does not apply",
 "bad_native_multiline": "MESSAGE with a newline, stored in the binary export form",
 "bad_native_no_prefix": "field prefix set to none: PEER= instead of F_PEER=",
 "bad_native_priority_only": "no TARGET: the level comes from PRIORITY=4 alone; target empty",
}

def classify_panic(msg):
    m = re.match(r"thread '([^']*)'(?: \(\d+\))? panicked at (?:'.*', )?([^\s']+:\d+:\d+)", msg)
    if m: return X("service.panic", "critical", thread=m.group(1), location=m.group(2))
    if "No space left on device" in msg: return X("service.disk_full", "critical")
    return NONE

QUOTED = [  # the forms signatures.md quotes (older toolchains), stdout/stderr entries
    ("chainfire", "thread 'main' panicked at 'msg', src/main.rs:10:5"),
    ("chainfire", "thread 'main' panicked at src/main.rs:10:5:"),
    ("chainfire", "msg"),
    ("chainfire", "thread 'raft-worker' (23991) panicked at src/raft.rs:348:39:"),
    ("flaredb", "thread '<unnamed>' panicked at 'called `Option::unwrap()` on a `None` value', flaredb-storage/src/engine.rs:88:30"),
    ("placement-driver", "thread '<unnamed>' panicked at src/main.rs:10:5:"),
]

def expected(shape, case, svc, msg, e):
    sig, sev, fields = EXP[case] if case in EXP else classify_panic(msg)
    d = {"shape": shape, "case": case, "message_prefix": msg[:80], "signature": sig,
         "severity": sev or "", "fields": fields if sig else {}, "unit": f"{svc}.service"}
    if shape == "journald" and case in AMBIG:
        d["note"] = AMBIG[case]
    if case in NOTES: d["note"] = NOTES[case]
    return d

AMBIG = {c: "tracing-journald 0.3 writes span and event fields with the same F_ prefix: "
            "the stored entry has both F_%s values, in data-object order, not datagram order" % f
         for c, f in [("cf_leader_elected", "TERM"), ("cf_member_added", "NODE_ID"),
                      ("fd_pd_registered", "STORE_ID"), ("fd_replication_failed", "PEER"),
                      ("fd_replication_failed_debug", "PEER"), ("pd_store_registered", "STORE_ID")]}

good, good_exp, bad, bad_exp = [], [], [], []
large = None
for line in open(f"{work}/runs"):
    pid, shape, svc, man = line.rstrip("\n").split("\t")
    ents = bypid.get(pid, [])
    if shape == "large":
        large = ents; continue
    cases = [l.rstrip("\n").split("\t")[1] for l in open(man)]
    if shape.startswith("panic"):
        cases = [f"{cases[0]}_{j}" for j in range(len(ents))]
    assert len(cases) == len(ents), (shape, svc, len(cases), len(ents))
    for c, e in zip(cases, ents):
        msg = (get(e, "MESSAGE") or b"").decode("utf-8", "replace")
        st = stabilize(e, svc)
        if shape.startswith("bad"):
            bad.append(st); bad_exp.append(expected(shape, c, svc, msg, e))
        else:
            good.append(st); good_exp.append(expected(shape, c, svc, msg, e))
        if shape == "panic-unnamed" and c.endswith("_1"):
            # the forms signatures.md quotes, in the same stdout entry layout
            for j, (qs, qm) in enumerate(QUOTED):
                q = [(k, qm.encode() if k == "MESSAGE" else v) for k, v in e]
                q = [(k, qs.encode() if k == "SYSLOG_IDENTIFIER" else v) for k, v in q]
                good.append(stabilize(q, qs))
                d = expected("panic-quoted", f"panic_quoted_{j}", qs, qm, q)
                d["note"] = "text as signatures.md quotes it (not produced by the local rustc)"
                good_exp.append(d)

write_export(f"{out}/tracing.export", good)
write_export(f"{out}/bad.export", bad)
for p, rows in ((f"{out}/expected.jsonl", good_exp), (f"{out}/bad-expected.jsonl", bad_exp)):
    with open(p, "w") as f:
        for r in rows: f.write(json.dumps(r, ensure_ascii=False) + "\n")
if large is not None:
    sizes = [len(get(e, "MESSAGE") or b"") for e in large]
    print(f"large: 1 MiB stdout line stored by journald as {len(large)} entries, MESSAGE sizes {sizes[:3]}...{sizes[-1:]}, total {sum(sizes)}")
from collections import Counter
print("shapes:", dict(Counter(r["shape"] for r in good_exp)))
