#!/usr/bin/env python3
"""Writes examples/sample.export: one hour of a troubled centra-cloud node in
journal export format (the input of systemd-journal-remote), mixing the line
shapes the services really produce. Deterministic; run it again to refresh:

    python3 examples/make-sample.py > examples/sample.export
"""
import random

rnd = random.Random(7)
BOOT = "5c0ffee05c0ffee05c0ffee05c0ffee0"
HOST = "node01"
START = 1795687200_000000  # 2026-11-26T10:00:00Z
UNITS = {
    "chainfire": ("chainfire.service", 1234),
    "flaredb": ("flaredb.service", 1301),
    "placement-driver": ("placement-driver.service", 1402),
    "sshd": ("ssh.service", 2201),
}
LEVEL_PRI = {"ERROR": 3, "WARN": 4, "INFO": 6}

out = []
t = START
mono = 5_000_000_000
seq = 0


def entry(svc, level, target, body, shape=None, at=None):
    global t, mono
    unit, pid = UNITS[svc]
    shape = shape or rnd.choice(["runbook", "runbook", "tracing", "ansi", "span", "journald"])
    ts = at if at is not None else t
    iso = "2026-11-26T%02d:%02d:%02d.%06dZ" % (
        (ts - 1795651200_000000) // 3600_000000 % 24, ts // 60_000000 % 60, ts // 1_000000 % 60, ts % 1_000000)
    fields = {"PRIORITY": str(LEVEL_PRI.get(level, 6))}
    if shape == "runbook":
        msg = "%s %s: %s" % (level, target, body)
    elif shape == "tracing":
        msg = "%s %5s %s: %s" % (iso, level, target, body)
    elif shape == "ansi":
        colour = {"ERROR": 31, "WARN": 33, "INFO": 32}[level]
        msg = "%s \x1b[%dm%5s\x1b[0m %s: %s" % (iso, colour, level, target, body)
    elif shape == "span":
        msg = "%s raft{node_id=1 term=%d}: %s: %s" % (level, rnd.randint(3, 9), target, body)
    else:  # tracing-journald
        msg = body
        fields["TARGET"] = target
    if svc == "sshd":
        msg = body
        fields["PRIORITY"] = "6"
    out.append((ts, unit, svc, pid, msg, fields))


def advance(ms):
    global t
    t += ms * 1000


def healthy():
    r = rnd.random()
    if r < 0.4:
        entry("chainfire", "INFO", "chainfire_api", "Handled put request, latency=%dms" % rnd.randint(2, 60))
    elif r < 0.6:
        entry("chainfire", "INFO", "chainfire_storage", "Committed entry, index=%d" % rnd.randint(10000, 99999))
    elif r < 0.85:
        entry("flaredb", "INFO", "flaredb_service", "Handled query, rows=%d, latency=%dms" % (rnd.randint(1, 5000), rnd.randint(2, 80)))
    elif r < 0.95:
        entry("sshd", "INFO", "", "Connection closed by 203.0.113.%d port %d [preauth] timeout" % (rnd.randint(1, 254), rnd.randint(1024, 65535)))
    else:
        entry("placement-driver", "INFO", "pd_server", "Balanced region, region_id=%d" % rnd.randint(1, 900))


for minute in range(60):
    for _ in range(30):
        healthy()
        advance(rnd.randint(1000, 2800))
    if minute in (12, 13):  # an election storm
        for _ in range(4):
            entry("chainfire", "WARN", "chainfire_raft", "Election timeout, no heartbeat from leader")
            advance(700)
        entry("chainfire", "INFO", "chainfire_raft", "Leader elected, term=%d" % (minute - 4))
    if minute % 9 == 4:
        entry("chainfire", "WARN", "chainfire_storage", "RocksDB stall detected, duration=%dms" % rnd.choice([350, 800, 1200, 2000, 4200]))
    if minute % 5 == 2:
        entry("chainfire", "INFO", "chainfire_api", "Handled put request, latency=%dms" % rnd.choice([120, 180, 260, 640, 900]))
        entry("flaredb", "INFO", "flaredb_service", "Handled query, rows=1000, latency=%dms" % rnd.choice([110, 150, 520]))
    if 30 <= minute < 34:
        entry("flaredb", "WARN", "flaredb_pd_client", "Heartbeat to PD failed, retrying...")
        entry("chainfire", "ERROR", "chainfire_network", "Failed to connect to peer, addr=node2:2380")
    if minute == 34:
        entry("flaredb", "INFO", "flaredb_pd_client", "Registered with PD, store_id=1")
    if minute in (40, 41, 42, 43, 44, 45):
        entry("flaredb", "WARN", "flaredb_storage", "Compaction is slow, duration=%ds" % rnd.randint(30, 90))
    if minute == 47:
        entry("chainfire", "ERROR", "chainfire_network", "TLS handshake failed, peer=node3:2380, error=tls: bad certificate")
    if minute == 50:
        entry("flaredb", "ERROR", "flaredb_raft", "Failed to replicate log, peer=store2")
        entry("placement-driver", "WARN", "pd_scheduler", "failed to schedule operator, region_id=%d" % rnd.randint(1, 900))
    if minute in (20, 52):
        entry("chainfire", "WARN", "chainfire_lease", "Lease expired, id=%d" % rnd.randint(10**15, 10**16))
    if minute == 55:
        entry("flaredb", "ERROR", "flaredb_storage", "IO error: No space left on device (os error 28), path=/var/lib/flaredb/db/000123.sst")

for ts, unit, svc, pid, msg, fields in out:
    seq += 1
    print("__REALTIME_TIMESTAMP=%d" % ts)
    print("__MONOTONIC_TIMESTAMP=%d" % (mono + ts - START))
    print("_BOOT_ID=%s" % BOOT)
    print("_HOSTNAME=%s" % HOST)
    print("_TRANSPORT=stdout")
    print("SYSLOG_IDENTIFIER=%s" % ("sshd" if svc == "sshd" else svc))
    print("_PID=%d" % pid)
    print("_SYSTEMD_UNIT=%s" % unit)
    for k, v in fields.items():
        print("%s=%s" % (k, v))
    print("MESSAGE=%s" % msg)
    print()
