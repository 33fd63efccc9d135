#!/usr/bin/env python3
"""BRAIn's per-round sample cache (run_dir/samples/round_RRRRRR/) is pruned as checkpoints are, and an exact
resume still finds the round it needs.

A 6-round `brain align` at np 2 (steps_per_round 2, a checkpoint every step, checkpoint keep_last 1):
  1. uninterrupted: at the end no round before the last one (round 5, which holds the final checkpoint's
     last step) is left; the last round's directory, if kept, holds both rank files;
  2. stopped after step 5 (--stop-after-steps, a mid-round checkpoint of round 2 = step 5 // 2): rounds 0
     and 1 are gone, round 2 (needed to resume without resampling) is complete, nothing later exists;
  3. the rerun resumes from step 5, ends bitwise equal to the uninterrupted run (a pruned round 2 would be
     resampled from a moved proposal and differ) and leaves no round before 5.
The expected rounds come from the plan (step // steps_per_round), not from brain's output.
Usage: sample_cache_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import (ALIGN_BODY, Brain, check, config, final_checkpoint, finish, metrics, params_finite,
                        resumed_step, same_files, step_dirs, write_task)

B = Brain(sys.argv)
ROUNDS, STEPS_PER_ROUND, STOP = 6, 2, 5


def rounds_left(run):
    """{round: sorted file names} of the samples/round_* directories (exact pattern, as brain writes them)."""
    d = os.path.join(run, "samples")
    out = {}
    for name in os.listdir(d) if os.path.isdir(d) else []:
        m = re.fullmatch(r"round_(\d{6,})", name)
        if m and os.path.isdir(os.path.join(d, name)):
            out[int(m.group(1))] = sorted(os.listdir(os.path.join(d, name)))
    return out


RANK_FILES = ["rank_00000_of_00002.safetensors", "rank_00001_of_00002.safetensors"]


def main():
    root = tempfile.mkdtemp(prefix="brain_sample_cache_")
    try:
        write_task(root)
        body = ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=ROUNDS).replace(
            "prompts_per_round: 6", f"prompts_per_round: 6 steps_per_round: {STEPS_PER_ROUND}")
        ref = config(root, "prune_ref", body, keep=1)
        p = B.run(2, "align", "--config", ref, expect=0)
        ref_run = os.path.join(root, "runs", "prune_ref")
        total = len(metrics(ref_run))
        check(p.returncode == 0 and total == ROUNDS * STEPS_PER_ROUND,
              f"uninterrupted 6-round align finishes with {total} steps (expected {ROUNDS * STEPS_PER_ROUND})")
        left = rounds_left(ref_run)
        last = (total - 1) // STEPS_PER_ROUND  # the round of the final checkpoint's last step
        check((not left or min(left) >= last) and all(files == RANK_FILES for files in left.values()),
              f"after the run only round {last} may remain, complete (left: {sorted(left)}); "
              f"{ROUNDS} rounds were written")
        check(step_dirs(ref_run) == [f"step_{total:08d}"], f"keep_last 1: one checkpoint ({step_dirs(ref_run)})")

        cfg = config(root, "prune_stop", body, keep=1)
        run = os.path.join(root, "runs", "prune_stop")
        p = B.run(2, "align", "--config", cfg, "--stop-after-steps", str(STOP))
        needed = STOP // STEPS_PER_ROUND  # step 5 is the second step of round 2: the resume continues round 2
        left = rounds_left(run)
        check(p.returncode in (0, 75) and step_dirs(run) == [f"step_{STOP:08d}"],
              f"stopped after step {STOP} (exit {p.returncode}) with one checkpoint ({step_dirs(run)})")
        check(sorted(left) == [needed] and left[needed] == RANK_FILES,
              f"mid-round checkpoint: rounds before {needed} pruned, round {needed} complete, none later "
              f"(left: { {r: len(f) for r, f in left.items()} })")

        p = B.run(2, "align", "--config", cfg, expect=0)
        resumed = resumed_step(p.stderr)
        check(p.returncode == 0 and resumed == f"step_{STOP:08d}",
              f"the rerun resumes from step {STOP} ({resumed}, exit {p.returncode})")
        check(p.returncode == 0 and same_files(final_checkpoint(ref_run), final_checkpoint(run)) and
              params_finite(final_checkpoint(run)),
              "resumed run: final model and optimiser shards bitwise equal to the uninterrupted run")
        left = rounds_left(run)
        check(not left or min(left) >= last,
              f"after the resumed run only round {last} may remain (left: {sorted(left)})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    finish("sample_cache")


if __name__ == "__main__":
    main()
