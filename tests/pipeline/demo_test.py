#!/usr/bin/env python3
"""`mpirun -np 2 brain demo` end to end: finishes in under 5 minutes and BRAIn beats SFT on the hidden
gold reward by at least 0.05 (gold reward is the vowel share of a response, in [-1, 1]; SFT sits near
0.25, the vowel share of its demonstrations). Prints the demo's table.
Usage: demo_test.py BRAIN CONFIGS_DIR MPIEXEC [MPIEXEC_FLAGS...]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

MARGIN = 0.05


def main():
    brain, configs, mpiexec, flags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    out = tempfile.mkdtemp(prefix="brain_demo_")
    try:
        start = time.time()
        proc = subprocess.run([mpiexec, "-np", "2", *flags, brain, "demo", "--out", out, "--configs", configs],
                              capture_output=True, text=True, timeout=600)
        seconds = time.time() - start
        print(proc.stdout)
        if proc.returncode != 0:
            print(proc.stderr[-6000:])
            print(f"FAIL brain demo exited {proc.returncode}")
            return 1
        results = json.load(open(os.path.join(out, "results.json")))
        rows = {r["method"]: r for r in results["rows"]}
        sft, brain_row = rows["SFT"]["gold_reward"], rows["BRAIn"]["gold_reward"]
        failures = []
        if not brain_row > sft + MARGIN:
            failures.append(f"BRAIn gold reward {brain_row:.3f} does not beat SFT {sft:.3f} by {MARGIN}")
        if not rows["BRAIn"]["win_rate_vs_sft"] > 0.5:
            failures.append(f"BRAIn win rate vs SFT {rows['BRAIn']['win_rate_vs_sft']:.3f} <= 0.5")
        if seconds > 300:
            failures.append(f"demo took {seconds:.0f} s (> 300 s)")
        for f in failures:
            print("FAIL " + f)
        print(f"demo: {seconds:.0f} s; BRAIn {brain_row:.3f} vs SFT {sft:.3f} (margin required {MARGIN})")
        return 1 if failures else 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
