#!/usr/bin/env python3
"""Soak: a long multi-round `brain align` at np 2 with the RSS of every rank sampled (not part of ctest;
run it through scripts/soak.sh). The job runs for MINUTES, then gets SIGUSR1 (checkpoint and exit 75).
Reported: RSS per rank after round 1 (the baseline: the first round allocates the caches), the peak over
the rest of the run, and the growth against the bound max(BOUND_MIB, 10% of the baseline). Exits 1 when a
rank grows past the bound, the job fails, or parameters are not finite. The figures are also written as
JSON to $SOAK_RESULTS, default BUILD/reliability_soak.json next to BUILD/bin/brain (reliability_summary prints
it).
Usage: soak.py BRAIN MPIEXEC MINUTES [BOUND_MIB] [MPIEXEC_FLAGS...]
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import ALIGN_BODY, config, final_checkpoint, params_finite, rank_pids, write_task, Brain


def rss_mib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main():
    brain, mpiexec, minutes = sys.argv[1], sys.argv[2], float(sys.argv[3])
    bound_mib = float(sys.argv[4]) if len(sys.argv) > 4 else 64
    b = Brain([None, brain, mpiexec, *sys.argv[5:]])
    root = tempfile.mkdtemp(prefix="brain_soak_")
    try:
        write_task(root, prompts=96)
        body = ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=100000)
        cfg = config(root, "soak", body, every=50, keep=2)
        run = os.path.join(root, "runs", "soak")
        proc = b.popen(2, "align", "--config", cfg)
        t0 = time.time()
        samples = []  # (seconds, round, {rank: rss})
        mfile = os.path.join(run, "metrics.jsonl")
        ranks = {}
        last_print = 0
        offset = rounds = 0
        while proc.poll() is None and time.time() - t0 < minutes * 60:
            if len(ranks) < 2:
                ranks = rank_pids(proc.pid, brain)
            if os.path.exists(mfile):  # rounds started = steps that carry the round metrics
                with open(mfile) as f:
                    f.seek(offset)
                    chunk = f.read()
                complete = chunk[:chunk.rfind("\n") + 1]
                offset += len(complete.encode())
                rounds += complete.count('"round_reward_mean"')
            rss = {r: rss_mib(p) for r, p in ranks.items()}
            samples.append((time.time() - t0, rounds, rss))
            if time.time() - last_print > 30:
                last_print = time.time()
                print(f"[soak] {time.time() - t0:6.0f} s round {rounds} RSS MiB "
                      + " ".join(f"r{r}={v:.0f}" for r, v in sorted(rss.items()) if v), flush=True)
            time.sleep(2)
        ended_early = proc.poll() is not None
        if not ended_early:
            proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=300)
        ok = (proc.returncode in (0, 75)) and not ended_early
        rounds_done = max((s[1] for s in samples), default=0)
        after = [s for s in samples if s[1] >= 2]  # round 1 is done once round 2 has started
        if not after:
            after = [s for s in samples if s[1] >= 1]
        failed = not ok
        results = {"minutes": minutes, "rounds": rounds_done, "exit": proc.returncode, "ranks": {}}
        print(f"[soak] {minutes:g} min, {rounds_done} rounds, exit {proc.returncode}")
        if not ok:
            print(err[-3000:])
        for r in sorted(ranks):
            series = [s[2].get(r) for s in after if s[2].get(r)]
            if not series:
                print(f"[soak] rank {r}: no RSS samples after round 1")
                failed = True
                continue
            base, peak = series[0], max(series)
            limit = max(bound_mib, 0.10 * base)
            grew = peak - base
            print(f"[soak] rank {r}: RSS after round 1 {base:.0f} MiB, peak later {peak:.0f} MiB, growth "
                  f"{grew:+.0f} MiB (bound {limit:.0f} MiB): {'ok' if grew <= limit else 'TOO MUCH'}")
            failed |= grew > limit
            results["ranks"][str(r)] = {"round1_mib": round(base), "peak_mib": round(peak), "growth_mib": round(grew),
                                        "bound_mib": round(limit)}
        disk = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(run) for f in fs)
        cached = len(os.listdir(os.path.join(run, "samples"))) if os.path.isdir(os.path.join(run, "samples")) else 0
        print(f"[soak] run directory {disk / 2**20:.0f} MiB on disk ({cached} cached sample rounds)")
        finite = os.path.isdir(os.path.join(run, "checkpoints")) and params_finite(final_checkpoint(run))
        print(f"[soak] parameters finite at the end: {finite}")
        failed |= not finite
        print("[soak] PASS" if not failed else "[soak] FAIL")
        results.update(disk_mib=round(disk / 2**20), cached_rounds=cached, finite=finite, passed=not failed,
                       date=time.strftime("%Y-%m-%d"))
        build = os.path.dirname(os.path.dirname(os.path.abspath(brain)))
        json.dump(results, open(os.environ.get("SOAK_RESULTS") or os.path.join(build, "reliability_soak.json"), "w"))
        sys.exit(1 if failed else 0)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
