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
# The soak (scripts/soak.sh, outside ctest) leaves its figures next to the figures directory.
soak = os.path.join(os.path.dirname(os.path.abspath(d)), "reliability_soak.json")
if os.path.exists(soak):
    s = json.load(open(soak))
    ranks = "; ".join(f"rank {r}: {v['round1_mib']} MiB after round 1, growth {v['growth_mib']:+d} MiB "
                      f"(bound {v['bound_mib']})" for r, v in sorted(s.get("ranks", {}).items()))
    print(f"[reliability] last soak ({s.get('date')}, {s.get('minutes'):g} min, {s.get('rounds')} rounds, np 2): "
          f"{ranks}; {'PASS' if s.get('passed') else 'FAIL'}")
sys.exit(1 if failed else 0)
