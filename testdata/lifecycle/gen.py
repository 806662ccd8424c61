#!/usr/bin/env python3
"""Writes lifecycle.export, expected.jsonl and derived.jsonl.

Deterministic, stdlib only. The entries reproduce what systemd 252 (Debian 12,
252.39-1~deb12u2) PID 1, systemd-coredump, systemd-journald and the Linux
kernel's OOM killer write; see README.md for the sources of every text and field.
expected.jsonl is written from the spec (docs: /work/shared/spec/signatures.md,
"Service lifecycle"), by hand per scenario below, not from any classifier.
"""
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# Units check.sh asks `journalctl -u` about; journalctl_u lists the ones of these that show an entry.
CHECK_UNITS = ["chainfire.service", "flaredb.service", "placement-driver.service",
               "nginx.service", "postgresql@15-main.service", "evil.service"]

DESC = {
    "chainfire.service": "Chainfire distributed key-value store",
    "flaredb.service": "FlareDB distributed database",
    "placement-driver.service": "FlareDB Placement Driver",
    "nginx.service": "A high performance web server and a reverse proxy server",
    "postgresql@15-main.service": "PostgreSQL Cluster 15-main",
}
EXE = {
    "chainfire.service": "/usr/local/bin/chainfire",
    "flaredb.service": "/usr/local/bin/flaredb",
    "placement-driver.service": "/usr/local/bin/placement-driver",
    "nginx.service": "/usr/sbin/nginx",
    "postgresql@15-main.service": "/usr/lib/postgresql/15/bin/postgres",
}
# /proc/PID/comm: the kernel's TASK_COMM_LEN is 16, so at most 15 characters.
COMM = {u: os.path.basename(e)[:15] for u, e in EXE.items()}

HOSTS = {
    "node01": {"boot": "5f1c0a3e9b7d4e21a6c8d0f2b4e6a813", "machine": "0c7a1e5b3d9f4a2c8e6b1d3f5a7c9e01",
               "boot_rt": 1795600000000000},
    "node02": {"boot": "a83d2f6c1e9b47d0b5c7e2f4a6d8c031", "machine": "9e2b4d6f8a0c4e1f3b5d7f9a1c3e5b02",
               "boot_rt": 1795600100000000},
}
T0 = 1795687200000000  # 2026-11-26T10:00:00Z in microseconds
SEC = 1000000
MIN = 60 * SEC
COREDUMP_UID = "999"  # the systemd-coredump system user (allocated by systemd-sysusers at install)

entries = []   # (realtime, seq, fields(list of (k, v)), expected dict)
_seq = [0]


def hexid(*parts):
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:32]


def add(host, rt, fields, exp):
    h = HOSTS[host]
    base = [("__REALTIME_TIMESTAMP", str(rt)),
            ("__MONOTONIC_TIMESTAMP", str(rt - h["boot_rt"])),
            ("_BOOT_ID", h["boot"])]
    tail = [("_MACHINE_ID", h["machine"]), ("_HOSTNAME", host)]
    _seq[0] += 1
    exp = dict(exp)
    exp.setdefault("fields", {})
    exp["host"] = host
    entries.append((rt, _seq[0], base + fields + tail, exp))


# ---- who writes what -------------------------------------------------------------------------

def pid1_trusted(rt):
    return [("_PID", "1"), ("_UID", "0"), ("_GID", "0"), ("_COMM", "systemd"),
            ("_EXE", "/usr/lib/systemd/systemd"), ("_CMDLINE", "/sbin/init"),
            ("_CAP_EFFECTIVE", "1ffffffffff"), ("_SYSTEMD_CGROUP", "/init.scope"),
            ("_SYSTEMD_UNIT", "init.scope"), ("_SYSTEMD_SLICE", "-.slice"),
            ("_TRANSPORT", "journal"), ("_SOURCE_REALTIME_TIMESTAMP", str(rt - 37))]


class Unit:
    def __init__(self, host, unit):
        self.host, self.unit = host, unit
        self.inv = hexid(host, unit, "inv0")
        self.n_inv = 0
        self.job = 1000 + len(unit) * 7

    def new_invocation(self):
        self.n_inv += 1
        self.inv = hexid(self.host, self.unit, "inv", self.n_inv)

    # log_unit_struct(): header (PRIORITY, SYSLOG_FACILITY, TID, CODE_*, SYSLOG_IDENTIFIER), the
    # caller's fields in order, then LOG_UNIT_ID → UNIT=.
    def struct(self, rt, prio, code_file, code_line, code_func, fields, exp):
        f = [("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "3"), ("TID", "1"),
             ("CODE_FILE", code_file), ("CODE_LINE", str(code_line)), ("CODE_FUNC", code_func),
             ("SYSLOG_IDENTIFIER", "systemd")] + fields + [("UNIT", self.unit)]
        add(self.host, rt, f + pid1_trusted(rt), exp)

    # log_unit_warning()/log_unit_error(): log_object_internal() with UNIT= as object and
    # INVOCATION_ID= as extra, message prefixed "unit: ".
    def plain(self, rt, prio, code_file, code_line, code_func, text, exp):
        f = [("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "3"), ("TID", "1"),
             ("CODE_FILE", code_file), ("CODE_LINE", str(code_line)), ("CODE_FUNC", code_func),
             ("UNIT", self.unit), ("INVOCATION_ID", self.inv), ("SYSLOG_IDENTIFIER", "systemd"),
             ("MESSAGE", "%s: %s" % (self.unit, text))]
        add(self.host, rt, f + pid1_trusted(rt), exp)

    def ident(self):
        return "%s - %s" % (self.unit, DESC[self.unit])  # StatusUnitFormat=combined (Debian)

    # ---- the messages ----
    def process_exit(self, rt, kind, code, status, exp):
        sig = {9: "KILL", 11: "SEGV", 6: "ABRT", 15: "TERM"}
        if code == "exited":
            name = {0: "SUCCESS", 1: "FAILURE", 2: "INVALIDARGUMENT"}[status]
        else:
            name = sig[status]
        success = code == "exited" and status == 0
        prio = 7 if success else (5 if code == "exited" else 4)
        command = "ExecStart" if kind == "Main process" else "ExecStartPre"
        msg = "%s: %s exited, code=%s, status=%d/%s%s" % (
            self.unit, kind, code, status, name, " (success)" if success else "")
        self.struct(rt, prio, "src/core/unit.c", 5680, "unit_log_process_exit",
                    [("MESSAGE_ID", "98e322203f7a4ed290d09fe03c09fe15"), ("MESSAGE", msg),
                     ("EXIT_CODE", code), ("EXIT_STATUS", str(status)), ("COMMAND", command),
                     ("INVOCATION_ID", self.inv)], exp)

    def failed(self, rt, result, exp):
        self.struct(rt, 4, "src/core/unit.c", 5638, "unit_log_failure",
                    [("MESSAGE_ID", "d9b373ed55a64feb8242e02dbe79a49c"), ("INVOCATION_ID", self.inv),
                     ("MESSAGE", "%s: Failed with result '%s'." % (self.unit, result)),
                     ("UNIT_RESULT", result)], exp)

    def success(self, rt, exp):
        self.struct(rt, 6, "src/core/unit.c", 5627, "unit_log_success",
                    [("MESSAGE_ID", "7ad2d189f7e94e70a38c781354912448"), ("INVOCATION_ID", self.inv),
                     ("MESSAGE", "%s: Deactivated successfully." % self.unit)], exp)

    def consumed(self, rt, cpu, nsec, exp):
        # unit_log_resources(): log_unit_struct_iovec(), UNIT= and INVOCATION_ID= added by the caller
        f = [("PRIORITY", "6"), ("SYSLOG_FACILITY", "3"), ("TID", "1"),
             ("CODE_FILE", "src/core/unit.c"), ("CODE_LINE", "2503"), ("CODE_FUNC", "unit_log_resources"),
             ("SYSLOG_IDENTIFIER", "systemd"), ("CPU_USAGE_NSEC", str(nsec)),
             ("MESSAGE", "%s: Consumed %s CPU time." % (self.unit, cpu)),
             ("MESSAGE_ID", "ae8f7b866b0347b9af31fe1c80b127c0"), ("UNIT", self.unit),
             ("INVOCATION_ID", self.inv)]
        add(self.host, rt, f + pid1_trusted(rt), exp)

    def oom(self, rt, exp):
        self.struct(rt, 5, "src/core/cgroup.c", 3171, "unit_check_oom",
                    [("MESSAGE_ID", "fe6faa94e7774663a0da52717891d8ef"), ("INVOCATION_ID", self.inv),
                     ("MESSAGE", "%s: A process of this unit has been killed by the OOM killer." % self.unit)],
                    exp)

    def restart(self, rt, n, exp):
        self.struct(rt, 6, "src/core/service.c", 2373, "service_enter_restart",
                    [("MESSAGE_ID", "5eb03494b6584870a536b337290809b3"), ("INVOCATION_ID", self.inv),
                     ("MESSAGE", "%s: Scheduled restart job, restart counter is at %d." % (self.unit, n)),
                     ("N_RESTARTS", str(n))], exp)

    def job_done(self, rt, jtype, result, exp):
        fmt, mid, prio = {
            ("restart", "done"): ("Stopped %s.", "9d1aaa27d60140bd96365438aad20286", 6),
            ("stop", "done"): ("Stopped %s.", "9d1aaa27d60140bd96365438aad20286", 6),
            ("start", "done"): ("Started %s.", "39f53479d3a045ac8e11786248231fbf", 6),
            ("start", "failed"): ("Failed to start %s.", "be02cf6855d2428ba40df7e9d022f03d", 3),
        }[(jtype, result)]
        self.struct(rt, prio, "src/core/job.c", 767, "job_emit_done_message",
                    [("MESSAGE", fmt % self.ident()), ("JOB_ID", str(self.job)), ("JOB_TYPE", jtype),
                     ("JOB_RESULT", result), ("INVOCATION_ID", self.inv), ("MESSAGE_ID", mid)], exp)

    def job_start(self, rt, jtype, exp):
        fmt, mid = {"start": ("Starting %s...", "7d4958e842da4a758f6c1cdc7b36dcc5"),
                    "stop": ("Stopping %s...", "de5b426a63be47a7b6ac3eaac82e2f6f")}[jtype]
        self.job += 1
        self.struct(rt, 6, "src/core/job.c", 580, "job_emit_start_message",
                    [("MESSAGE", fmt % self.ident()), ("JOB_ID", str(self.job)), ("JOB_TYPE", jtype),
                     ("INVOCATION_ID", self.inv), ("MESSAGE_ID", mid)], exp)

    def start_limit(self, rt, exp):
        self.plain(rt, 4, "src/core/unit.c", 1801, "unit_test_start_limit",
                   "Start request repeated too quickly.", exp)

    def watchdog(self, rt, limit, exp):
        self.plain(rt, 3, "src/core/service.c", 4064, "service_dispatch_watchdog",
                   "Watchdog timeout (limit %s)!" % limit, exp)

    def killing(self, rt, pid, sig, exp):
        self.plain(rt, 5, "src/core/unit.c", 4526, "log_kill",
                   "Killing process %d (%s) with signal SIG%s." % (pid, COMM[self.unit], sig), exp)

    def restart_cycle(self, rt, exp_nothing):
        """Stopped (restart job) + Started: the automatic restart after RestartSec."""
        self.job += 1
        self.job_done(rt, "restart", "done", exp_nothing)
        self.new_invocation()
        self.job_done(rt + 900, "start", "done", exp_nothing)


def kernel(host, rt, prio, msg, exp):
    h = HOSTS[host]
    mono = rt - h["boot_rt"]
    add(host, rt, [("_SOURCE_MONOTONIC_TIMESTAMP", str(mono - 120)), ("_TRANSPORT", "kernel"),
                   ("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "0"), ("SYSLOG_IDENTIFIER", "kernel"),
                   ("MESSAGE", msg)], exp)


def kernel_oom(host, rt, unit, pid, memcg, exp_line, exp_summary, exp_kill, invoker=None):
    """mm/oom_kill.c dump_header() + dump_oom_summary() + __oom_kill_process() (Linux 5.x-6.x)."""
    comm = COMM[unit]
    cg = "/system.slice/" + unit
    kernel(host, rt, 4, "%s invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
           % (invoker or comm), exp_line)
    if memcg:
        summary = ("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                   "oom_memcg=%s,task_memcg=%s,task=%s,pid=%d,uid=0" % (cg, cg, comm, pid))
        head = "Memory cgroup out of memory"
    else:
        summary = ("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
                   "global_oom,task_memcg=%s,task=%s,pid=%d,uid=0" % (cg, comm, pid))
        head = "Out of memory"
    kernel(host, rt + 180, 6, summary, exp_summary)
    kernel(host, rt + 260, 3, "%s: Killed process %d (%s) total-vm:8123456kB, anon-rss:3987652kB, "
           "file-rss:1234kB, shmem-rss:0kB, UID:0 pgtables:8124kB oom_score_adj:0" % (head, pid, comm),
           exp_kill)


def coredump(host, rt, unit, pid, sig, signame, uid, helper_pid, exp):
    """systemd-coredump@.service's entry (src/coredump/coredump.c submit_coredump())."""
    comm, exe = COMM[unit], EXE[unit]
    inst = "systemd-coredump@0-%d-0.service" % helper_pid
    ts = rt // SEC - 1
    stack = ("Stack trace of thread %d:\n"
             "#0  0x00007f3a1c2b5e7c n/a (libc.so.6 + 0x8ae7c)\n"
             "#1  0x000055e1d4a0f3b2 n/a (%s + 0x60f3b2)\n"
             "#2  0x000055e1d4a11c08 n/a (%s + 0x611c08)\n"
             "#3  0x00007f3a1c254d90 n/a (libc.so.6 + 0x29d90)\n"
             "ELF object binary architecture: AMD x86-64" % (pid, os.path.basename(exe), os.path.basename(exe)))
    msg = "Process %d (%s) of user 0 dumped core.\n\nModule %s without build-id.\n%s" % (
        pid, comm, os.path.basename(exe), stack)
    f = [("MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1"), ("PRIORITY", "2"),
         ("COREDUMP_PID", str(pid)), ("COREDUMP_UID", "0"), ("COREDUMP_GID", "0"),
         ("COREDUMP_SIGNAL_NAME", "SIG" + signame), ("COREDUMP_SIGNAL", str(sig)),
         ("COREDUMP_TIMESTAMP", "%d000000" % ts), ("COREDUMP_RLIMIT", "18446744073709551615"),
         ("COREDUMP_HOSTNAME", host), ("COREDUMP_COMM", comm), ("COREDUMP_EXE", exe),
         ("COREDUMP_UNIT", unit), ("COREDUMP_SLICE", "system.slice"), ("COREDUMP_CMDLINE", exe + " --config /etc/" + comm + ".toml"),
         ("COREDUMP_CGROUP", "/system.slice/" + unit),
         ("COREDUMP_FILENAME", "/var/lib/systemd/coredump/core.%s.0.%s.%d.%d000000.zst"
          % (comm, HOSTS[host]["boot"], pid, ts)),
         ("MESSAGE", msg), ("SYSLOG_IDENTIFIER", "systemd-coredump"),
         ("_PID", str(helper_pid + 1)), ("_UID", uid), ("_GID", uid), ("_COMM", "systemd-coredum"),
         ("_EXE", "/usr/lib/systemd/systemd-coredump"), ("_CMDLINE", "/lib/systemd/systemd-coredump"),
         ("_CAP_EFFECTIVE", "0"),
         ("_SYSTEMD_CGROUP", "/system.slice/system-systemd\\x2dcoredump.slice/" + inst),
         ("_SYSTEMD_UNIT", inst), ("_SYSTEMD_SLICE", "system-systemd\\x2dcoredump.slice"),
         ("_SYSTEMD_INVOCATION_ID", hexid(host, inst)), ("_TRANSPORT", "journal"),
         ("_SOURCE_REALTIME_TIMESTAMP", str(rt - 51))]
    add(host, rt, f, exp)


def own_line(host, rt, unit, pid, msg, prio, exp):
    """A line the service itself wrote to stdout (journald stdout transport)."""
    comm = COMM[unit]
    add(host, rt, [("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "3"), ("SYSLOG_IDENTIFIER", comm),
                   ("MESSAGE", msg), ("_PID", str(pid)), ("_UID", "0"), ("_GID", "0"), ("_COMM", comm),
                   ("_EXE", EXE[unit]), ("_CMDLINE", EXE[unit]), ("_CAP_EFFECTIVE", "1ffffffffff"),
                   ("_SYSTEMD_CGROUP", "/system.slice/" + unit), ("_SYSTEMD_UNIT", unit),
                   ("_SYSTEMD_SLICE", "system.slice"), ("_SYSTEMD_INVOCATION_ID", hexid(host, unit, pid)),
                   ("_STREAM_ID", hexid("stream", host, unit, pid)), ("_TRANSPORT", "stdout")], exp)


# ---- expected helpers --------------------------------------------------------------------------

def ev(unit, sig, sev, fields=None, shown=None):
    return {"unit": unit, "signature": sig, "severity": sev, "fields": fields or {},
            "journalctl_u": [unit] if shown is None else shown}


def nothing(unit, shown=None):
    return {"unit": unit, "signature": "", "severity": "", "fields": {},
            "journalctl_u": ([unit] if unit in CHECK_UNITS else []) if shown is None else shown}


# ---- scenarios ---------------------------------------------------------------------------------

pids = {"node01": 4100, "node02": 5200}


def newpid(host):
    pids[host] += 37
    return pids[host]


def scenario_oom(u, rt, pid, memcg, n):
    un, h = u.unit, u.host
    kernel_oom(h, rt, un, pid, memcg,
               nothing(un, []),
               ev(un, "unit.oom_killed", "critical", {"pid": pid}, []),
               ev(un, "unit.oom_killed", "critical", {"pid": pid}, []))
    u.oom(rt + 2100, ev(un, "unit.oom_killed", "critical"))
    u.process_exit(rt + 2300, "Main process", "killed", 9,
                   ev(un, "unit.process_exited", "error", {"exit_code": "killed", "exit_status": 9}))
    u.failed(rt + 2500, "oom-kill", ev(un, "unit.oom_killed", "critical"))
    u.consumed(rt + 2700, "14min 3.552s", 843552000000, nothing(un))
    u.restart(rt + 100 * 1000 + 2900, n, ev(un, "unit.restart_scheduled", "warning", {"restarts": n}))
    u.restart_cycle(rt + 100 * 1000 + 3100, nothing(un))


def scenario_coredump(u, rt, pid, uid, n):
    un, h = u.unit, u.host
    helper = pid + 5
    cu = Unit(h, "systemd-coredump@0-%d-0.service" % helper)
    DESC[cu.unit] = "Process Core Dump (PID %d/UID 0)" % helper
    cu.new_invocation()
    cu.job_start(rt, "start", nothing(cu.unit))
    cu.job_done(rt + 300, "start", "done", nothing(cu.unit))
    u.process_exit(rt + 150 * 1000, "Main process", "dumped", 11,
                   ev(un, "unit.process_exited", "error", {"exit_code": "dumped", "exit_status": 11}))
    u.failed(rt + 150 * 1000 + 200, "core-dump", ev(un, "unit.failed", "error", {"result": "core-dump"}))
    u.consumed(rt + 150 * 1000 + 400, "2min 11.087s", 131087000000, nothing(un))
    # journalctl -u matches the coredump only with _UID=0 (see README).
    coredump(h, rt + 420 * 1000, un, pid, 11, "SEGV", uid, helper,
             ev(un, "unit.core_dumped", "critical", {"signal": "SIGSEGV"}, [un] if uid == "0" else []))
    cu.success(rt + 440 * 1000, nothing(cu.unit))
    u.restart(rt + 250 * 1000, n, ev(un, "unit.restart_scheduled", "warning", {"restarts": n}))
    u.restart_cycle(rt + 250 * 1000 + 200, nothing(un))


def scenario_plain(u, rt, n, exp_exit=None):
    un = u.unit
    u.process_exit(rt, "Main process", "exited", 1,
                   exp_exit or ev(un, "unit.process_exited", "error", {"exit_code": "exited", "exit_status": 1}))
    u.failed(rt + 200, "exit-code", ev(un, "unit.failed", "error", {"result": "exit-code"}))
    u.consumed(rt + 400, "41.305s", 41305000000, nothing(un))
    u.restart(rt + 100 * 1000 + 600, n, ev(un, "unit.restart_scheduled", "warning", {"restarts": n}))
    u.restart_cycle(rt + 100 * 1000 + 800, nothing(un))


def operator_restart(u, rt, pid):
    """`systemctl restart UNIT`: SIGTERM, clean exit 0, which also resets the restart counter."""
    un = u.unit
    u.job_start(rt, "stop", nothing(un))
    u.process_exit(rt + 40 * 1000, "Main process", "exited", 0, nothing(un))
    u.success(rt + 40 * 1000 + 200, nothing(un))
    u.job_done(rt + 40 * 1000 + 400, "restart", "done", nothing(un))
    u.new_invocation()
    u.job_done(rt + 41 * 1000, "start", "done", nothing(un))


def operator_stop(u, rt):
    """`systemctl stop UNIT`: SIGTERM, clean exit 0."""
    un = u.unit
    u.job_start(rt, "stop", nothing(un))
    u.process_exit(rt + 30 * 1000, "Main process", "exited", 0, nothing(un))
    u.success(rt + 30 * 1000 + 200, nothing(un))
    u.job_done(rt + 30 * 1000 + 400, "stop", "done", nothing(un))


def scenario_start_failed(u, rt):
    """ExecStartPre= fails: a control process, not the main one."""
    un = u.unit
    u.new_invocation()
    u.job_start(rt, "start", nothing(un))
    u.process_exit(rt + 30 * 1000, "Control process", "exited", 1, nothing(un))
    u.failed(rt + 30 * 1000 + 200, "exit-code", ev(un, "unit.failed", "error", {"result": "exit-code"}))
    u.job_done(rt + 30 * 1000 + 400, "start", "failed", ev(un, "unit.start_failed", "critical"))


def scenario_start_limit(u, rt):
    """StartLimitBurst= reached by repeated `systemctl restart`: no process exits at all."""
    un = u.unit
    u.start_limit(rt, ev(un, "unit.start_failed", "critical"))
    u.failed(rt + 200, "start-limit-hit", ev(un, "unit.failed", "error", {"result": "start-limit-hit"}))
    u.job_done(rt + 400, "start", "failed", ev(un, "unit.start_failed", "critical"))


def scenario_watchdog(u, rt, pid, n):
    un = u.unit
    u.watchdog(rt, "30s", ev(un, "unit.watchdog_timeout", "error"))
    u.killing(rt + 200, pid, "ABRT", nothing(un))
    u.process_exit(rt + 60 * 1000, "Main process", "killed", 6,
                   ev(un, "unit.process_exited", "error", {"exit_code": "killed", "exit_status": 6}))
    u.failed(rt + 60 * 1000 + 200, "watchdog", ev(un, "unit.failed", "error", {"result": "watchdog"}))
    u.consumed(rt + 60 * 1000 + 400, "7min 40.021s", 460021000000, nothing(un))
    u.restart(rt + 160 * 1000, n, ev(un, "unit.restart_scheduled", "warning", {"restarts": n}))
    u.restart_cycle(rt + 160 * 1000 + 200, nothing(un))


def full_set(host, unit, base, memcg, core_uid):
    """One of every failure, 15 minutes apart (never 3 unclean exits within 10 minutes), each
    preceded by an operator restart 2 minutes before that resets the restart counter."""
    u = Unit(host, unit)
    stall = ("WARN chainfire_storage: RocksDB stall detected, duration=2000ms" if unit == "chainfire.service"
             else "WARN flaredb_storage: RocksDB stall detected, duration=2000ms" if unit == "flaredb.service"
             else None)
    if stall:
        sig = "chainfire.rocksdb_stall" if unit == "chainfire.service" else "flaredb.rocksdb_stall"
        own_line(host, base - 3 * MIN, unit, pids[host], stall, 6,
                 ev(unit, sig, "error", {"duration_ms": 2000}))
    own_line(host, base - 2 * MIN - 5 * SEC, unit, pids[host],
             "INFO %s: serving requests" % COMM[unit].replace("-", "_").replace("placement_drive", "pd"), 6, nothing(unit))
    pid = newpid(host)
    scenario_oom(u, base, pid, memcg, 1)
    operator_restart(u, base + 13 * MIN, pid)
    pid = newpid(host)
    scenario_coredump(u, base + 15 * MIN, pid, core_uid, 1)
    operator_restart(u, base + 28 * MIN, pid)
    scenario_plain(u, base + 30 * MIN, 1)
    operator_stop(u, base + 43 * MIN)
    scenario_start_failed(u, base + 45 * MIN)
    scenario_start_limit(u, base + 60 * MIN)
    u.new_invocation()
    u.job_done(base + 73 * MIN, "start", "done", nothing(unit))
    pid = newpid(host)
    scenario_watchdog(u, base + 75 * MIN, pid, 1)
    operator_stop(u, base + 90 * MIN)  # a clean stop at the end: nothing
    return u


# node01: chainfire (memory-cgroup OOM, coredump logged as the systemd-coredump user)
full_set("node01", "chainfire.service", T0, True, COREDUMP_UID)
# node02: flaredb and placement-driver (global OOM; flaredb's coredump logged as root: the fallback
# when the systemd-coredump user cannot be resolved, and systemd before 252.4)
full_set("node02", "flaredb.service", T0, False, "0")
full_set("node02", "placement-driver.service", T0 + 5 * MIN, False, COREDUMP_UID)

# ---- crash loop: flaredb on node01, 3 unclean exits 2 minutes apart, counters 1, 2, 3 ----------
derived = []
fl = Unit("node01", "flaredb.service")
LOOP = T0 + 120 * MIN
for i in range(3):
    scenario_plain(fl, LOOP + i * 2 * MIN, i + 1)
derived.append({"host": "node01", "unit": "flaredb.service", "signature": "unit.crash_loop",
                "severity": "critical", "anchor": "quick-diagnostics",
                "realtime_usec": LOOP + 2 * 2 * MIN, "fires": True,
                "why": "3rd unclean main-process exit within 10 min (exits at +0, +2, +4 min); "
                       "the restart counter reaches 3 in the same crash: one firing"})

# ---- quiet boundary: chainfire on node02, 3 unclean exits over 10 min 1 s, counters 1, 2, 1 -----
cq = Unit("node02", "chainfire.service")
Q = T0 + 120 * MIN
scenario_plain(cq, Q, 1)
scenario_plain(cq, Q + 5 * MIN, 2)
operator_restart(cq, Q + 8 * MIN, 0)
scenario_plain(cq, Q + 10 * MIN + 1 * SEC, 1)
derived.append({"host": "node02", "unit": "chainfire.service", "signature": "unit.crash_loop",
                "severity": "critical", "anchor": "quick-diagnostics",
                "realtime_usec": Q + 10 * MIN + 1 * SEC, "fires": False,
                "why": "3 unclean exits, but the 1st and 3rd are 10 min 1 s apart; restart counter max 2"})

# ---- unrelated units: same messages, nothing ----------------------------------------------------
ng = Unit("node01", "nginx.service")
NG = T0 + 150 * MIN
ng.process_exit(NG, "Main process", "killed", 9, nothing("nginx.service"))
ng.failed(NG + 200, "signal", nothing("nginx.service"))
ng.restart(NG + 100 * 1000, 5, nothing("nginx.service"))
ng.watchdog(NG + 2 * MIN, "30s", nothing("nginx.service"))
ng.start_limit(NG + 3 * MIN, nothing("nginx.service"))
ng.job_done(NG + 3 * MIN + 200, "start", "failed", nothing("nginx.service"))
ng.oom(NG + 4 * MIN, nothing("nginx.service"))
coredump("node01", NG + 5 * MIN, "nginx.service", 7001, 11, "SEGV", "0", 7006, nothing("nginx.service"))
pg = Unit("node01", "postgresql@15-main.service")
PG = T0 + 160 * MIN
kernel_oom("node01", PG, "postgresql@15-main.service", 7301, False,
           nothing("postgresql@15-main.service", []), nothing("postgresql@15-main.service", []),
           nothing("postgresql@15-main.service", []))
pg.oom(PG + 2100, nothing(pg.unit))
pg.process_exit(PG + 2300, "Main process", "killed", 9, nothing(pg.unit))
pg.failed(PG + 2500, "oom-kill", nothing(pg.unit))

# ---- forged and indirect entries ------------------------------------------------------------------
FG = T0 + 170 * MIN
# a root process of another unit sends PID 1's message about chainfire: journalctl -u requires _PID=1
add("node01", FG, [("PRIORITY", "4"), ("SYSLOG_IDENTIFIER", "systemd"),
                   ("MESSAGE_ID", "98e322203f7a4ed290d09fe03c09fe15"),
                   ("MESSAGE", "chainfire.service: Main process exited, code=killed, status=9/KILL"),
                   ("EXIT_CODE", "killed"), ("EXIT_STATUS", "9"), ("UNIT", "chainfire.service"),
                   ("_PID", "4242"), ("_UID", "0"), ("_GID", "0"), ("_COMM", "evil"),
                   ("_EXE", "/usr/local/bin/evil"), ("_CMDLINE", "/usr/local/bin/evil"),
                   ("_SYSTEMD_CGROUP", "/system.slice/evil.service"), ("_SYSTEMD_UNIT", "evil.service"),
                   ("_SYSTEMD_SLICE", "system.slice"), ("_TRANSPORT", "journal")],
    nothing("chainfire.service", ["evil.service"]))
# the same forged as a "Failed with result 'oom-kill'"
add("node01", FG + 1000, [("PRIORITY", "4"), ("SYSLOG_IDENTIFIER", "systemd"),
                          ("MESSAGE_ID", "d9b373ed55a64feb8242e02dbe79a49c"),
                          ("MESSAGE", "chainfire.service: Failed with result 'oom-kill'."),
                          ("UNIT_RESULT", "oom-kill"), ("UNIT", "chainfire.service"),
                          ("_PID", "4242"), ("_UID", "0"), ("_GID", "0"), ("_COMM", "evil"),
                          ("_EXE", "/usr/local/bin/evil"), ("_SYSTEMD_CGROUP", "/system.slice/evil.service"),
                          ("_SYSTEMD_UNIT", "evil.service"), ("_SYSTEMD_SLICE", "system.slice"),
                          ("_TRANSPORT", "journal")],
    nothing("chainfire.service", ["evil.service"]))
# an unprivileged user's process forges a coredump record naming chainfire
add("node01", FG + 2000, [("MESSAGE_ID", "fc2e22bc6ee647b6b90729ab34a250b1"), ("PRIORITY", "2"),
                          ("COREDUMP_PID", "4100"), ("COREDUMP_UID", "0"), ("COREDUMP_SIGNAL_NAME", "SIGSEGV"),
                          ("COREDUMP_SIGNAL", "11"), ("COREDUMP_COMM", "chainfire"),
                          ("COREDUMP_UNIT", "chainfire.service"),
                          ("MESSAGE", "Process 4100 (chainfire) of user 0 dumped core."),
                          ("SYSLOG_IDENTIFIER", "systemd-coredump"),
                          ("_PID", "8123"), ("_UID", "1000"), ("_GID", "1000"), ("_COMM", "python3"),
                          ("_EXE", "/usr/bin/python3.11"),
                          ("_SYSTEMD_CGROUP", "/user.slice/user-1000.slice/session-4.scope"),
                          ("_SYSTEMD_UNIT", "session-4.scope"), ("_SYSTEMD_SLICE", "user-1000.slice"),
                          ("_SYSTEMD_OWNER_UID", "1000"), ("_TRANSPORT", "journal")],
    nothing("chainfire.service", []))
# journald's rate-limit notice about chainfire: OBJECT_SYSTEMD_UNIT + _UID=0, so journalctl -u shows it
add("node01", FG + 3000, [("SYSLOG_FACILITY", "3"), ("SYSLOG_IDENTIFIER", "systemd-journald"),
                          ("_TRANSPORT", "driver"), ("PRIORITY", "6"),
                          ("MESSAGE_ID", "a596d6fe7bfa4994828e72309e95d61e"),
                          ("MESSAGE", "Suppressed 1311 messages from chainfire.service"), ("N_DROPPED", "1311"),
                          ("_PID", "312"), ("_UID", "0"), ("_GID", "0"), ("_COMM", "systemd-journal"),
                          ("_EXE", "/usr/lib/systemd/systemd-journald"),
                          ("_SYSTEMD_CGROUP", "/system.slice/systemd-journald.service"),
                          ("_SYSTEMD_UNIT", "systemd-journald.service"), ("_SYSTEMD_SLICE", "system.slice"),
                          ("OBJECT_PID", "4100"), ("OBJECT_UID", "0"), ("OBJECT_GID", "0"),
                          ("OBJECT_COMM", "chainfire"), ("OBJECT_EXE", "/usr/local/bin/chainfire"),
                          ("OBJECT_SYSTEMD_CGROUP", "/system.slice/chainfire.service"),
                          ("OBJECT_SYSTEMD_UNIT", "chainfire.service"), ("OBJECT_SYSTEMD_SLICE", "system.slice")],
    nothing("chainfire.service", ["chainfire.service"]))
# a non-root process claiming OBJECT_SYSTEMD_UNIT: journalctl -u requires _UID=0 for that
add("node01", FG + 4000, [("PRIORITY", "3"), ("SYSLOG_IDENTIFIER", "evil"),
                          ("MESSAGE", "ERROR chainfire_storage: RocksDB stall detected, duration=9000ms"),
                          ("OBJECT_SYSTEMD_UNIT", "chainfire.service"),
                          ("_PID", "8124"), ("_UID", "1000"), ("_GID", "1000"), ("_COMM", "evil"),
                          ("_EXE", "/home/u/evil"), ("_SYSTEMD_CGROUP", "/user.slice/user-1000.slice/session-4.scope"),
                          ("_SYSTEMD_UNIT", "session-4.scope"), ("_SYSTEMD_SLICE", "user-1000.slice"),
                          ("_TRANSPORT", "journal")],
    nothing("chainfire.service", []))


# ---- write ---------------------------------------------------------------------------------------

def export_field(k, v):
    b = v.encode("utf-8")
    if b"\n" in b or any(c < 0x20 and c != 0x09 for c in b):
        return k.encode() + b"\n" + struct.pack("<Q", len(b)) + b + b"\n"
    return k.encode() + b"=" + b + b"\n"


def main():
    entries.sort(key=lambda e: (e[0], e[1]))
    seen = set()
    for rt, _, _, exp in entries:
        key = (exp["host"], rt)
        assert key not in seen, key  # check.sh maps journalctl's output back by (host, time)
        seen.add(key)
    with open(os.path.join(HERE, "lifecycle.export"), "wb") as f:
        for _, _, fields, _ in entries:
            for k, v in fields:
                f.write(export_field(k, v))
            f.write(b"\n")
    with open(os.path.join(HERE, "expected.jsonl"), "w") as f:
        for n, (rt, _, fields, exp) in enumerate(entries, 1):
            msg = dict(fields).get("MESSAGE", "").split("\n")[0]
            row = {"n": n, "host": exp["host"], "realtime_usec": rt, "unit": exp["unit"],
                   "signature": exp["signature"], "severity": exp["severity"], "fields": exp["fields"],
                   "journalctl_u": sorted(exp["journalctl_u"]), "message": msg}
            f.write(json.dumps(row, sort_keys=False) + "\n")
    by_rt = {}
    for n, (rt, _, fields, exp) in enumerate(entries, 1):
        by_rt.setdefault((exp["host"], rt), n)
    with open(os.path.join(HERE, "derived.jsonl"), "w") as f:
        for d in derived:
            d = dict(d)
            d["n"] = by_rt[(d["host"], d["realtime_usec"])]
            f.write(json.dumps(d) + "\n")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--units"]:
        print(" ".join(CHECK_UNITS))
    else:
        main()
