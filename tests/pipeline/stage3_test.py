#!/usr/bin/env python3
"""Sharding stage 3 in the training pipelines under `mpirun -np 2`.

Each algorithm is run twice from the same config, at stage 0 (replicated parameters) and at stage 3
(per-block parameter shards gathered inside forward and backward), and the exports must agree to fp32
rounding — the stage-0 run is the independent reference. Also checked, each able to fail:
  - SFT with a tail step where one rank has fewer micro-batches than the other (41 examples on 2 ranks:
    the short rank pads with a zero-weighted pass, or the ranks deadlock or diverge);
  - kill-and-resume at stage 3 ends bitwise equal to an uninterrupted stage-3 run (model and optimiser
    shards), and the optimiser shards hold per-block AdamW state;
  - BRAIn (frozen prior, reward model and proposal sharded and gathered per phase; the proposal is
    refreshed from the sharded policy each round), DPO (sharded reference), the reward model (score
    head) and AVA (a reward head, and with FRESH_HEAD a Q head, outside the shards, updated beside them).
Usage: stage3_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import os
import shutil
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_helpers import (Checks, final_checkpoint, metrics, relative_difference, run_brain,  # noqa: E402
                         same_files, shard_names, write_config, write_task)

BRAIN, MPIEXEC = sys.argv[1], sys.argv[2]
MPI_FLAGS = sys.argv[3:]
check = Checks()


def brain(*args, check_rc=0):
    return run_brain(MPIEXEC, MPI_FLAGS, BRAIN, *args, check_rc=check_rc)


def both_stages(root, name, command, body, **models):
    """Runs `brain command` at stage 0 and at stage 3; returns the two run directories (None on failure)."""
    runs = []
    for stage in (0, 3):
        cfg = write_config(root, f"{name}_s{stage}", body + f"\ndistributed {{ sharding_stage: {stage} }}", **models)
        p = brain(command, "--config", cfg)
        check(p.returncode == 0, f"brain {command} at stage {stage} (np 2) exits 0")
        runs.append(os.path.join(root, "runs", f"{name}_s{stage}") if p.returncode == 0 else None)
    return runs


def compare(what, runs, tolerance=1e-5, name="model.safetensors"):
    if None in runs:
        check(False, f"{what}: stage 3 equals stage 0 (a run failed)")
        return
    diff = relative_difference(os.path.join(runs[0], "export"), os.path.join(runs[1], "export"), name)
    check(diff <= tolerance, f"{what}: stage-3 export equals stage 0 (relative difference {diff:.2e})")


def main():
    root = tempfile.mkdtemp(prefix="brain_stage3_")
    try:
        write_task(root, demos=41)
        sft_body = f"""data {{ train_path: "{root}/demos.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
sft {{}}
optimizer {{ learning_rate: 3e-3 schedule: COSINE warmup_steps: 1 max_steps: 6 micro_batch_size: 4 gradient_accumulation_steps: 2 }}"""
        sft = both_stages(root, "sft", "sft", sft_body)
        compare("SFT with uneven micro-batches", sft)
        if sft[1]:
            m = metrics(sft[1])
            check(m[-1]["loss"] < m[0]["loss"], f"stage-3 SFT loss falls ({m[0]['loss']:.3f} -> {m[-1]['loss']:.3f})")
            shard = load_file(os.path.join(final_checkpoint(sft[1]), "optimizer_rank_00001.safetensors"))
            check("adam_exp_avg.0" in shard and "param_layout" not in shard,
                  "stage-3 optimiser shards hold per-block AdamW state (model weights live in model.safetensors)")

        # Kill-and-resume at stage 3: bitwise equal to the uninterrupted stage-3 run.
        resumed_cfg = write_config(root, "sft_s3_resumed",
                                   sft_body + "\ndistributed { sharding_stage: 3 }")
        p = brain("sft", "--config", resumed_cfg, "--stop-after-steps", "3", check_rc=75)
        check(p.returncode == 75, "stage-3 sft --stop-after-steps 3 exits 75")
        p = brain("sft", "--config", resumed_cfg)
        resumed = os.path.join(root, "runs", "sft_s3_resumed")
        check(p.returncode == 0 and "resumed from" in p.stderr, "stage-3 rerun resumes")
        if sft[1] and p.returncode == 0:
            a, b = final_checkpoint(sft[1]), final_checkpoint(resumed)
            check(same_files(a, b, shard_names(a)),
                  "resumed stage-3 SFT: final model and optimiser shards bitwise equal to the uninterrupted run")

        export = os.path.join(sft[0], "export") if sft[0] else ""
        pairs = f'data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}'
        rm = both_stages(root, "rm", "rm", pairs + """
reward_model {}
optimizer { learning_rate: 3e-3 max_steps: 4 micro_batch_size: 4 }""", policy=f'path: "{export}"')
        compare("reward model", rm)

        dpo = both_stages(root, "dpo", "dpo", pairs + """
dpo { beta: 0.1 }
optimizer { learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }""", policy=f'path: "{export}"')
        compare("DPO (reference model sharded, gathered once per round)", dpo)

        ava = both_stages(root, "ava", "ava", pairs + """
ava { mode: AVA_P }
optimizer { learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }""", policy=f'path: "{export}"')
        compare("AVA policy", ava)
        compare("AVA reward head (outside the shards)", ava, name="ava_reward_head.safetensors")
        fresh = both_stages(root, "ava_fresh", "ava", pairs + """
ava { mode: AVA_P q_form: FRESH_HEAD }
optimizer { learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }""", policy=f'path: "{export}"')
        compare("AVA fresh Q head (outside the shards)", fresh, name="ava_q_head.safetensors")

        reward = f'reward {{ path: "{os.path.join(rm[0], "export") if rm[0] else ""}" }}'
        align = both_stages(root, "align", "align", f"""data {{ train_path: "{root}/prompts.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
brain {{ num_samples: 4 tau: 1.0 num_rounds: 3 prompts_per_round: 8 }}
optimizer {{ learning_rate: 1e-3 schedule: CONSTANT micro_batch_size: 2 }}
sampling {{ max_new_tokens: 6 batch_size: 16 }}""", policy=f'path: "{export}"', extra_models=reward)
        compare("BRAIn (3 rounds, proposal refreshed from the sharded policy)", align)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    check.finish("stage-3 pipeline")


if __name__ == "__main__":
    main()
