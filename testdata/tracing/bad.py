#!/usr/bin/env python3
"""Bad input for cflogd's tracing parsing, sent to a real journald.
`bad.py send WORKDIR` writes stdout lines through systemd-cat and native
datagrams to /run/systemd/journal/socket, and prints one `runs` line per
sender (pid, shape, service, manifest)."""
import json, os, socket, struct, subprocess, sys

TS = '"timestamp":"2026-11-26T10:00:00.123456Z"'

def nested(depth):
    # arrays: 2 bytes a level, so the line stays under journald's LineMax (48K)
    return '[' * depth + '1' + ']' * depth

# (case, service, stdout line)
STDOUT = [
    ("bad_nontracing_json", "chainfire", '{"msg":"compaction done","lvl":"info","ts":1795687200}'),
    ("bad_truncated_json", "chainfire", '{' + TS + ',"level":"WARN","fields":{"message":"RocksDB stall detected","duration":"2s"'),
    ("bad_nested_json", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Leader elected, term=3"},"target":"chainfire_raft","span":' + nested(11000) + '}'),
    ("bad_duplicate_keys", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Handled put request","latency":"15ms","latency":"900ms"},"target":"chainfire_api"}'),
    ("bad_value_number", "chainfire", '{' + TS + ',"level":"WARN","fields":{"message":"RocksDB stall detected","duration":1500},"target":"chainfire_storage"}'),
    ("bad_value_float", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Handled put request","latency":250.5},"target":"chainfire_api"}'),
    ("bad_value_bool", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Handled put request","latency":true},"target":"chainfire_api"}'),
    ("bad_value_null", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Leader elected","term":null},"target":"chainfire_raft"}'),
    ("bad_value_string_int", "chainfire", '{' + TS + ',"level":"INFO","fields":{"message":"Leader elected","term":"3"},"target":"chainfire_raft"}'),
    ("bad_value_array", "flaredb", '{' + TS + ',"level":"ERROR","fields":{"message":"Failed to replicate log","peer":["store2","store3"]},"target":"flaredb_raft"}'),
    ("bad_value_object", "flaredb", '{' + TS + ',"level":"INFO","fields":{"message":"Registered with PD","store_id":{"id":1}},"target":"flaredb_pd_client"}'),
    ("bad_fields_not_object", "flaredb", '{' + TS + ',"level":"ERROR","fields":"Failed to replicate log, peer=store2","target":"flaredb_raft"}'),
    ("bad_level_number", "placement-driver", '{' + TS + ',"level":40,"fields":{"message":"failed to schedule operator"},"target":"pd_scheduler"}'),
]

def native(fields):
    b = b""
    for k, v in fields:
        v = v.encode() if isinstance(v, str) else v
        if b"\n" in v:
            b += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            b += k.encode() + b"=" + v + b"\n"
    return b

# (case, service, fields) sent as one native datagram each
NATIVE = [
    ("bad_trusted_field_spoof", "chainfire", [
        ("PRIORITY", "3"), ("TARGET", "chainfire_raft"), ("SYSLOG_IDENTIFIER", "chainfire"),
        ("_SYSTEMD_UNIT", "flaredb.service"), ("_HOSTNAME", "evil"), ("_PID", "1"),
        ("F__SYSTEMD_UNIT", "flaredb.service"), ("F_PEER", "store2"),
        ("MESSAGE", "Failed to replicate log")]),
    ("bad_native_multiline", "chainfire", [
        ("PRIORITY", "4"), ("TARGET", "chainfire_storage"), ("SYSLOG_IDENTIFIER", "chainfire"),
        ("MESSAGE", "RocksDB stall detected\nsecond line"), ("F_DURATION", "1.5s")]),
    ("bad_native_no_prefix", "flaredb", [
        ("PRIORITY", "3"), ("TARGET", "flaredb_raft"), ("SYSLOG_IDENTIFIER", "flaredb"),
        ("MESSAGE", "Failed to replicate log"), ("PEER", "store2")]),
    ("bad_native_priority_only", "placement-driver", [
        ("PRIORITY", "4"), ("SYSLOG_IDENTIFIER", "placement-driver"),
        ("MESSAGE", "Store weight is zero, region_id=42")]),
]

def send(work):
    for i, svc in enumerate(["chainfire", "flaredb", "placement-driver"]):
        rows = [(c, l) for c, s, l in STDOUT if s == svc]
        if not rows:
            continue
        src = os.path.join(work, f"bad.{i}.txt")
        man = os.path.join(work, f"bad.{i}.manifest")
        with open(src, "w") as f:
            f.write("".join(l + "\n" for _, l in rows))
        with open(man, "w") as f:
            f.write("".join(f"bad\t{c}\n" for c, _ in rows))
        p = subprocess.Popen(["systemd-cat", "-t", svc, "cat", src])
        p.wait()
        print(f"{p.pid}\tbad\t{svc}\t{man}")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    # one process per service so each gets its own _PID group
    for c, svc, fields in NATIVE:
        pid = os.fork()
        if pid == 0:
            s.sendto(native(fields), "/run/systemd/journal/socket")
            os._exit(0)
        os.waitpid(pid, 0)
        man = os.path.join(work, f"{c}.manifest")
        open(man, "w").write(f"bad-native\t{c}\n")
        print(f"{pid}\tbad-native\t{svc}\t{man}")
    # ~1 MiB JSON MESSAGE on stdout: not committed, see README
    big = '{' + TS + ',"level":"WARN","fields":{"message":"RocksDB stall detected","duration":"2s","blob":"' + "x" * (1 << 20) + '"},"target":"chainfire_storage"}'
    src = os.path.join(work, "large.txt")
    open(src, "w").write(big + "\n")
    p = subprocess.Popen(["systemd-cat", "-t", "chainfire", "cat", src]); p.wait()
    man = os.path.join(work, "large.manifest"); open(man, "w").write("")
    print(f"{p.pid}\tlarge\tchainfire\t{man}")
    sys.stdout.flush()

if __name__ == "__main__":
    send(sys.argv[2])
