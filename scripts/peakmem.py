#!/usr/bin/env python3
"""Runs a command and reports its wall time and peak memory, anonymous and
file-backed separately (a journal reader maps the journal files, which shows
up as a large but shared, file-backed RSS).

    scripts/peakmem.py [--stdout FILE] -- CMD ARGS...

Prints one line: wall_s=… anon_peak_kib=… file_peak_kib=… hwm_kib=…
"""
import subprocess, sys, time

def main():
    args = sys.argv[1:]
    out = subprocess.DEVNULL
    if args[:1] == ["--stdout"]:
        out = open(args[1], "wb")
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=out)
    anon = filep = hwm = 0
    while p.poll() is None:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "RssAnon":
                        anon = max(anon, int(v.split()[0]))
                    elif k == "RssFile":
                        filep = max(filep, int(v.split()[0]))
                    elif k == "VmHWM":
                        hwm = max(hwm, int(v.split()[0]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.02)
    wall = time.monotonic() - start
    print("wall_s=%.3f anon_peak_kib=%d file_peak_kib=%d hwm_kib=%d rc=%d" % (wall, anon, filep, hwm, p.returncode))
    sys.exit(0 if p.returncode in (0, 1) else p.returncode)

main()
