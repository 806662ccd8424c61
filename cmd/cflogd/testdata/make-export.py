#!/usr/bin/env python3
"""Writes scan.export: journal export format for the end-to-end scan tests
(systemd-journal-remote turns it into a journal file). Run from this directory:

    python3 make-export.py > scan.export

It covers the six line shapes of signatures.md, entries of other units that
must be ignored, an entry with a binary (non-UTF-8) MESSAGE, two boots, and
entries just inside and outside the window 10:05:00 - 10:10:00 UTC.
"""
import struct
import sys

HOST = "node01"
BOOT_OLD = "1d0b007".ljust(31, "0") + "1"
BOOT = "5c0ffee05c0ffee05c0ffee05c0ffee0"
DAY = 1795651200_000000  # 2026-11-26T00:00:00Z in µs
UNITS = {
    "chainfire": ("chainfire.service", 1234),
    "flaredb": ("flaredb.service", 1301),
    "placement-driver": ("placement-driver.service", 1402),
    "sshd": ("ssh.service", 2201),
    "kernel": (None, None),
}
out = sys.stdout.buffer


def at(h, m, s=0, us=0):
    return DAY + ((h * 60 + m) * 60 + s) * 1_000_000 + us


def entry(ts, ident, message, priority=6, target=None, boot=BOOT, unit=True):
    sd_unit, pid = UNITS[ident]
    fields = [
        ("__REALTIME_TIMESTAMP", str(ts)),
        ("__MONOTONIC_TIMESTAMP", str(ts - DAY + (0 if boot == BOOT else 1))),
        ("_BOOT_ID", boot),
        ("_HOSTNAME", HOST),
        ("_TRANSPORT", "kernel" if ident == "kernel" else "stdout"),
        ("SYSLOG_IDENTIFIER", ident),
        ("PRIORITY", str(priority)),
    ]
    if pid:
        fields.append(("_PID", str(pid)))
    if sd_unit and unit:
        fields.append(("_SYSTEMD_UNIT", sd_unit))
    if target:
        fields.append(("TARGET", target))
    fields.append(("MESSAGE", message))
    for k, v in fields:
        data = v.encode() if isinstance(v, str) else v
        if b"\n" in data or any(c < 0x20 and c not in (0x09, 0x1b) for c in data) or not valid_utf8(data):
            out.write(k.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n")
        else:
            out.write(k.encode() + b"=" + data + b"\n")
    out.write(b"\n")


def valid_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


ANSI_WARN = "\x1b[33m WARN\x1b[0m"

# The previous boot, an hour earlier.
entry(at(9, 0), "chainfire", "ERROR chainfire_storage: corrupted log entry at index 17", 3, boot=BOOT_OLD)
entry(at(9, 1), "chainfire", "INFO chainfire_raft: Leader elected, term=2", boot=BOOT_OLD)

# The current boot.
entry(at(10, 0), "chainfire", "INFO chainfire_api: Handled put request, latency=15ms")            # healthy
entry(at(10, 0, 1), "chainfire", "INFO chainfire_raft: Leader elected, term=3")                   # info
# shape 1: runbook form
entry(at(10, 1), "chainfire", "WARN chainfire_storage: RocksDB stall detected, duration=2000ms")
# shape 2: tracing-subscriber default format
entry(at(10, 2), "chainfire", "2026-11-26T10:02:00.000000Z  WARN chainfire_storage: RocksDB stall detected, duration=2000ms")
# shape 3: ANSI colours around the level
entry(at(10, 3), "chainfire", "2026-11-26T10:03:00.000000Z " + ANSI_WARN + " chainfire_storage: RocksDB stall detected, duration=2000ms")
# shape 4: span context before the target
entry(at(10, 4), "chainfire", "WARN raft{node_id=1 term=7}: chainfire_raft: Election timeout, no heartbeat from leader")
# window edges: --since "2026-11-26 10:05:00" --until "2026-11-26 10:10:00" (UTC)
entry(at(10, 4, 59, 999999), "flaredb", "WARN flaredb_pd: Heartbeat to PD failed, retrying...", 4)
entry(at(10, 5), "flaredb", "WARN flaredb_pd: Heartbeat to PD failed, retrying...", 4)
# shape 5: tracing-journald, level only in PRIORITY, target in TARGET
entry(at(10, 6), "chainfire", "RocksDB stall detected, duration=2000ms", 4, target="chainfire_storage")
entry(at(10, 6, 1), "flaredb", "Compaction is slow, duration=30s", 4, target="flaredb_storage")
# shape 6: letter case of the documented phrase
entry(at(10, 7), "chainfire", "WARN chainfire_raft: election timeout, no heartbeat from leader")
entry(at(10, 7, 1), "chainfire", "WARN chainfire_raft: Election Timeout, no heartbeat from leader")
# other units: never an event, although they say timeout / refused / error
entry(at(10, 7, 2), "sshd", "Timeout before authentication for 10.0.0.5 port 40022", 6)
entry(at(10, 7, 3), "sshd", "error: kex_exchange_identification: Connection refused", 3)
entry(at(10, 7, 4), "kernel", "nvme0: I/O timeout, aborting; No space left on device", 3)
# the identifier alone names the service (no _SYSTEMD_UNIT)
entry(at(10, 8), "placement-driver", "WARN pd_scheduler: failed to schedule operator", 4, unit=False)
# binary MESSAGE with invalid UTF-8 and a NUL: must not crash or stop the scan
entry(at(10, 8, 1), "flaredb", b"ERROR flaredb_server: bad frame \xff\xfe\x00 from peer", 3)
entry(at(10, 8, 2), "flaredb", "INFO flaredb_query: Handled query, rows=1000, latency=650ms")
entry(at(10, 8, 3), "placement-driver", "ERROR pd_server: tls handshake: invalid peer certificate: Expired", 3)
entry(at(10, 8, 4), "chainfire", "ERROR chainfire_server: thread 'tokio-runtime-worker' panicked at src/raft/log.rs:42:5:", 3)
entry(at(10, 9), "chainfire", "WARN chainfire_raft: snapshot transfer to 10.0.0.7:2380 aborted after 3 retries", 4)
entry(at(10, 10), "flaredb", "WARN flaredb_pd: Heartbeat to PD failed, retrying...", 4)
entry(at(10, 10, 0, 1), "flaredb", "WARN flaredb_pd: Heartbeat to PD failed, retrying...", 4)
entry(at(10, 11), "chainfire", "ERROR chainfire_raft: Failed to connect to peer, addr=node2:2380", 3)
