#!/usr/bin/env python3
"""BRAIn's SAMPLE_PARALLEL placement in `brain align` (spec §3.6): each prompt's n samples are spread over
the ranks (rank r draws samples r, r + W, ...), every rank trains on every group, and group normalisers
are finished by all-reduces. The reference is the same run with GROUP_LOCAL (all of a group's samples on
one rank): the samples are the same (seeds key on the sample index), so the exports, losses and group
counts must agree to fp32 rounding. Checked at np 2 (2 samples per rank) and np 3 (uneven: 2, 1, 1), and
at stage 3, across a kill-and-resume, and that SAMPLE_PARALLEL with fewer samples than ranks is refused
with an error naming the fields.
Usage: sample_parallel_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from safetensors.numpy import load_file  # noqa: E402
from run_helpers import (Checks, final_checkpoint, metrics, relative_difference, run_brain,  # noqa: E402
                         write_config, write_task)

BRAIN, MPIEXEC = sys.argv[1], sys.argv[2]
MPI_FLAGS = sys.argv[3:]
check = Checks()


def brain(*args, np_=2, check_rc=0):
    return run_brain(MPIEXEC, MPI_FLAGS, BRAIN, *args, np_=np_, check_rc=check_rc)


def align(root, name, placement, np_, samples=4, stage=0, extra_args=(), check_rc=0, prompts=6):
    body = f"""data {{ train_path: "{root}/prompts.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
brain {{ num_samples: {samples} tau: 1.0 num_rounds: 2 prompts_per_round: {prompts} placement: {placement} }}
optimizer {{ learning_rate: 1e-3 schedule: CONSTANT micro_batch_size: 2 }}
sampling {{ max_new_tokens: 6 batch_size: 8 }}
distributed {{ sharding_stage: {stage} }}"""
    cfg = write_config(root, name, body, policy=f'path: "{root}/runs/sft/export"',
                       extra_models=f'reward {{ path: "{root}/runs/rm/export" }}')
    return brain("align", "--config", cfg, *extra_args, np_=np_, check_rc=check_rc), os.path.join(root, "runs", name)


def main():
    root = tempfile.mkdtemp(prefix="brain_sample_parallel_")
    try:
        write_task(root)
        p = brain("sft", "--config", write_config(root, "sft", f"""data {{ train_path: "{root}/demos.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
sft {{}}
optimizer {{ learning_rate: 3e-3 max_steps: 4 micro_batch_size: 4 }}"""))
        check(p.returncode == 0, "sft (the policy and prior) trains")
        p = brain("rm", "--config", write_config(root, "rm", f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
reward_model {{}}
optimizer {{ learning_rate: 3e-3 max_steps: 3 micro_batch_size: 4 }}""", policy=f'path: "{root}/runs/sft/export"'))
        check(p.returncode == 0, "rm (the reward model) trains")

        for np_ in (2, 3):
            p, local = align(root, f"group_local_np{np_}", "GROUP_LOCAL", np_)
            check(p.returncode == 0, f"align GROUP_LOCAL (np {np_}) exits 0")
            reference = metrics(local)
            p, spread = align(root, f"sample_parallel_np{np_}", "SAMPLE_PARALLEL", np_)
            check(p.returncode == 0, f"align SAMPLE_PARALLEL (np {np_}) exits 0")
            if p.returncode != 0 or not reference:
                continue
            got = metrics(spread)
            check(len(got) == len(reference) > 0, f"np {np_}: as many steps as GROUP_LOCAL ({len(got)})")
            loss_gap = max(abs(a["loss"] - b["loss"]) / max(abs(a["loss"]), 1e-12) for a, b in zip(reference, got))
            check(loss_gap < 1e-5, f"np {np_}: every step's loss equals GROUP_LOCAL's (worst relative gap {loss_gap:.1e})")
            check(all(a["groups"] == b["groups"] for a, b in zip(reference, got)),
                  f"np {np_}: groups counted once, not once per rank ({[m['groups'] for m in got]})")
            diff = relative_difference(os.path.join(local, "export"), os.path.join(spread, "export"))
            check(diff < 1e-5, f"np {np_}: export equals GROUP_LOCAL's (relative difference {diff:.1e})")

        # Stage 3 (the policy and the frozen models sharded) and kill-and-resume (the rerun reloads each
        # rank's cached share of the round) give the same export.
        reference = os.path.join(root, "runs", "sample_parallel_np2", "export")
        p, stage3 = align(root, "sample_parallel_s3", "SAMPLE_PARALLEL", 2, stage=3)
        diff = relative_difference(reference, os.path.join(stage3, "export")) if p.returncode == 0 else float("inf")
        check(diff < 1e-5, f"SAMPLE_PARALLEL at stage 3 equals stage 0 (relative difference {diff:.1e})")
        if p.returncode == 0:
            shard = load_file(os.path.join(final_checkpoint(stage3), "optimizer_rank_00001.safetensors"))
            check("adam_exp_avg.0" in shard, "the stage-3 run kept per-block optimiser shards")
        # Stage 3 needs a unit per rank only when units are dealt out: here one prompt per round is enough.
        p, one = align(root, "sample_parallel_s3_one", "SAMPLE_PARALLEL", 2, stage=3, prompts=1)
        check(p.returncode == 0 and len(metrics(one)) == 2,
              "SAMPLE_PARALLEL at stage 3 with one prompt per round on 2 ranks trains (2 rounds of 1 step)")
        p, _ = align(root, "sample_parallel_resumed", "SAMPLE_PARALLEL", 2, extra_args=("--stop-after-steps", "1"),
                     check_rc=75)
        check(p.returncode == 75, "SAMPLE_PARALLEL --stop-after-steps 1 exits 75")
        p, resumed = align(root, "sample_parallel_resumed", "SAMPLE_PARALLEL", 2)
        diff = relative_difference(reference, os.path.join(resumed, "export")) if p.returncode == 0 else float("inf")
        check("resumed from" in p.stderr and diff == 0,
              f"resumed SAMPLE_PARALLEL run equals the uninterrupted one (relative difference {diff:.1e})")

        p, _ = align(root, "too_few", "SAMPLE_PARALLEL", 3, samples=2, check_rc=None)
        check(p.returncode != 0 and "brain.placement" in p.stderr and "brain.num_samples" in p.stderr,
              "SAMPLE_PARALLEL with 2 samples on 3 ranks is refused, naming the fields")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    check.finish("sample-parallel pipeline")


if __name__ == "__main__":
    main()
