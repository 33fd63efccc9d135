#!/usr/bin/env python3
"""Prints the reliability figures the other reliability tests wrote (faults injected, inputs tried,
executions fuzzed, checks), so they end the ctest output. Usage: summary.py FIGURES_DIR"""
import glob
import json
import os
import sys

d = sys.argv[1]
faults = inputs = checks = failed = execs = 0
suites = []
for path in sorted(glob.glob(os.path.join(d, "*.json"))):
    f = json.load(open(path))
    suites.append(os.path.basename(path)[:-5])
    faults += f.get("faults_injected", 0)
    inputs += f.get("inputs_tried", 0)
    checks += f.get("checks", 0)
    failed += f.get("failed_checks", 0)
fuzzers = []
for path in sorted(glob.glob(os.path.join(d, "fuzz_*.txt"))):
    n = int(open(path).read().split()[1])
    fuzzers.append(f"{os.path.basename(path)[5:-4]} {n}")
    execs += n
print("[reliability] suites:", ", ".join(suites) or "none")
print(f"[reliability] faults injected: {faults}; bad inputs tried: {inputs}; checks: {checks} ({failed} failed)")
print(f"[reliability] fuzz executions: {execs} ({'; '.join(fuzzers) or 'no fuzzer ran'})")
print(f"[reliability] nothing lost: {'yes' if failed == 0 else 'NO'}")
sys.exit(1 if failed else 0)
