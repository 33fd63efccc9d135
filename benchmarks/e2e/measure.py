"""Running a benchmark child process: wall time and its own peak resident memory (wait4's ru_maxrss)."""
import os
import subprocess
import time


def run_measured(cmd, env=None, log_path=None, timeout=None):
    """Runs `cmd`; returns dict(seconds, peak_rss_mb, returncode). Output goes to log_path (or is dropped).

    The peak RSS is the child's own (and its waited-for descendants'), from os.wait4, so runs made one
    after another in this process do not mix (unlike RUSAGE_CHILDREN, which keeps the maximum so far).
    """
    out = open(log_path, "w") if log_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = None if timeout is None else start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log_path:
            out.close()
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024.0, "returncode": proc.returncode}


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""
