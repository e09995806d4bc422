"""bench/lib/procstat.py - CPU time and peak memory of the processes a benchmark phase involves.

Three measurements, all from the kernel, none needing extra packages:

- run_measured(): runs a command and collects it with os.wait4, which returns
  the child's rusage: user and system CPU seconds and peak resident set size
  (ru_maxrss, KiB on Linux).  That is what /usr/bin/time -v reports, without
  needing the `time` package.
- proc_cpu(pid): user + system CPU seconds of a running process (all its
  threads) from /proc/PID/stat; used for the Salesforce stand-in.
- cluster_cpu(postmaster_pid): CPU seconds of a whole PostgreSQL cluster: the
  postmaster, every live child (backends, checkpointer, walwriter, ...) and the
  children that have already exited and been reaped (cutime/cstime of the
  postmaster).  A backend that exits between two samples moves from "live
  child" to "reaped" without being lost or counted twice, so the difference of
  two samples is the cluster's CPU time in between.

Resolution is the kernel clock tick (usually 10 ms).
"""

import os
import subprocess
import sys
import time

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        raw = f.read()
    return raw[raw.rindex(b")") + 2:].split()


def proc_cpu(pid):
    """User + system seconds of process pid (0.0 when it is gone)."""
    try:
        f = _stat_fields(pid)
    except (OSError, ValueError):
        return 0.0
    # after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return (int(f[11]) + int(f[12])) / _TICK


def cluster_cpu(postmaster):
    """CPU seconds of a PostgreSQL cluster: postmaster, live children, reaped children."""
    total = 0
    try:
        f = _stat_fields(postmaster)
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    except (OSError, ValueError):
        return 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = _stat_fields(int(name))
        except (OSError, ValueError):
            continue
        if int(f[1]) == postmaster:
            total += int(f[11]) + int(f[12])
    return total / _TICK


def postmaster_pid(datadir):
    with open(os.path.join(datadir, "postmaster.pid")) as f:
        return int(f.readline())


_PYTHON = os.path.realpath(sys.executable)


def _vm_hwm_kib(pid):
    """The process's peak resident set size so far (VmHWM), or None; None too
    while it is still this interpreter between fork and exec."""
    try:
        if os.path.realpath("/proc/%d/exe" % pid) == _PYTHON:
            return None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_measured(argv, stdout=None, stderr=None, env=None):
    """Runs argv to completion.  Returns dict: rc, wall, user, sys, cpu, maxrss_kib.

    The peak RSS is the engine's own VmHWM, read every 20 ms while it runs:
    wait4's ru_maxrss also counts what the child held between fork and exec,
    i.e. this Python driver's own memory (which after fetching a million
    records' pages is larger than an idle engine)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env)
    hwm = None
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        h = _vm_hwm_kib(p.pid)
        if h is not None and (hwm is None or h > hwm):
            hwm = h
        time.sleep(0.02)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting again
    return {"rc": p.returncode, "wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime,
            "cpu": ru.ru_utime + ru.ru_stime,
            "maxrss_kib": hwm if hwm is not None else ru.ru_maxrss}
