#!/usr/bin/env python3
"""End-to-end training pipelines under `mpirun -np 2`: sft, rm, dpo, ava, align, eval, export.

Real processes, real files: a byte-level tokenizer and JSONL data written here, tiny GPT-2 presets.
Checks, each able to fail:
  - every subcommand finishes, writes metrics.jsonl, checkpoints and an HF export;
  - SFT lowers its loss (also with bf16 parameters and fp32 master weights); the export loads in
    transformers with logits equal to brain's own forward (model_driver) and weights equal to the final
    checkpoint's; the reward model's export scores equally in transformers; AVA exports its reward head,
    and with q_form FRESH_HEAD a trained fresh Q head that a kill-and-resume restores bitwise;
  - kill-and-resume (--stop-after-steps, and SIGUSR1 to mpirun) ends bitwise equal to an uninterrupted
    run (model and optimiser shards), for SFT and for BRAIn (whose round samples are cached);
  - a newest checkpoint without DONE is skipped with a warning and the previous one is used;
  - a run directory holding another config's checkpoints is refused;
  - eval of a policy against itself gives KL exactly 0.
Usage: pipeline_test.py BRAIN MODEL_DRIVER MPIEXEC [MPIEXEC_FLAGS...]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from safetensors.numpy import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_helpers import (Checks, final_checkpoint, metrics, run_brain, same_files, shard_names,  # noqa: E402
                         write_config, write_task)

BRAIN, DRIVER, MPIEXEC = sys.argv[1], sys.argv[2], sys.argv[3]
MPI_FLAGS = sys.argv[4:]


check = Checks()
config = write_config


def brain(*args, check_rc=0, **kw):
    return run_brain(MPIEXEC, MPI_FLAGS, BRAIN, *args, check_rc=check_rc, **kw)


def driver_logits(tmp, model_dir, ids):
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    from safetensors.torch import save_file, load_file as load_t
    save_file({"b.input_ids": ids, "b.attention_mask": torch.ones_like(ids)}, inp)
    proc = subprocess.run([DRIVER, "forward", model_dir, inp, out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    t = load_t(out)
    return t.get("b.logits", t.get("b.score"))


def main():
    root = tempfile.mkdtemp(prefix="brain_pipeline_")
    try:
        write_task(root)
        sft_body = f"""data {{ train_path: "{root}/demos.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
sft {{}}
optimizer {{ learning_rate: 3e-3 schedule: COSINE warmup_steps: 1 max_steps: 6 micro_batch_size: 4 gradient_accumulation_steps: 2 }}"""
        # ---- SFT, uninterrupted
        sft = config(root, "sft", sft_body)
        p = brain("sft", "--config", sft)
        check(p.returncode == 0, "brain sft (np 2) exits 0")
        run = os.path.join(root, "runs", "sft")
        m = metrics(run)
        check([x["step"] for x in m] == list(range(1, 7)), "sft metrics.jsonl has steps 1..6 once each")
        check(m[-1]["loss"] < m[0]["loss"], f"sft loss falls ({m[0]['loss']:.3f} -> {m[-1]['loss']:.3f})")
        check(os.path.isdir(os.path.join(run, "tensorboard")), "sft wrote TensorBoard events")
        export = os.path.join(run, "export")
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        hf = AutoModelForCausalLM.from_pretrained(export).eval()
        ids = torch.randint(0, 257, (2, 9), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            hf_logits = hf(input_ids=ids).logits
        ours = driver_logits(root, export, ids)
        check(torch.allclose(hf_logits, ours, atol=1e-5, rtol=1e-5),
              f"export loads in transformers with brain's logits (max diff {(hf_logits - ours).abs().max():.2e})")
        ckpt = load_file(os.path.join(final_checkpoint(run), "model.safetensors"))
        exp = load_file(os.path.join(export, "model.safetensors"))
        check(all(np.array_equal(exp[k], ckpt[k]) for k in exp), "export weights equal the final checkpoint's")
        p = subprocess.run([BRAIN, "export", "--run", run, "--out", os.path.join(root, "exported")],
                           capture_output=True, text=True)
        re = load_file(os.path.join(root, "exported", "model.safetensors"))
        check(p.returncode == 0 and all(np.array_equal(re[k], exp[k]) for k in exp), "brain export reproduces export/")

        # ---- SFT, stopped after 3 steps and resumed: bitwise equal to the uninterrupted run
        sft_b = config(root, "sft_b", sft_body)
        p = brain("sft", "--config", sft_b, "--stop-after-steps", "3", check_rc=75)
        check(p.returncode == 75, "sft --stop-after-steps 3 exits 75 (checkpointed)")
        p = brain("sft", "--config", sft_b)
        run_b = os.path.join(root, "runs", "sft_b")
        check(p.returncode == 0 and "resumed from" in p.stderr, "rerun resumes")
        check(same_files(final_checkpoint(run), final_checkpoint(run_b), shard_names(final_checkpoint(run))),
              "resumed SFT: final model and optimiser shards bitwise equal to the uninterrupted run")
        check([x["step"] for x in metrics(run_b)] == list(range(1, 7)), "resumed metrics.jsonl has no duplicate steps")

        # ---- newest checkpoint incomplete: skipped with a warning, previous used, same end state
        run_c = os.path.join(root, "runs", "sft_c")
        shutil.copytree(run_b, run_c)
        sft_c = config(root, "sft_c", sft_body)
        # The copy's config names sft_b's output_dir; drop it so the run directory check sees only sft_c's.
        os.remove(os.path.join(run_c, "config.textproto"))
        os.remove(os.path.join(final_checkpoint(run_c), "DONE"))
        p = brain("sft", "--config", sft_c)
        check(p.returncode == 0 and "step_00000006" in p.stderr and "resumed from" in p.stderr,
              "checkpoint without DONE skipped with a warning naming it; resumed from the previous one")
        check(same_files(final_checkpoint(run), final_checkpoint(run_c), shard_names(final_checkpoint(run))),
              "...and the run ends bitwise equal")

        # ---- bf16 parameters train with fp32 master weights and moments
        sft_bf16 = config(root, "sft_bf16", sft_body)
        p = brain("sft", "--config", sft_bf16, "--set", "models.dtype=BFLOAT16")
        run_bf = os.path.join(root, "runs", "sft_bf16")
        if p.returncode == 0:
            from safetensors.torch import load_file as load_t
            shard = load_t(os.path.join(final_checkpoint(run_bf), "optimizer_rank_00000.safetensors"))
            weights = load_t(os.path.join(run_bf, "export", "model.safetensors"))
            mb = metrics(run_bf)
        check(p.returncode == 0 and mb[-1]["loss"] < mb[0]["loss"] and
              all(t.dtype == torch.bfloat16 for t in weights.values()) and
              all(shard[k].dtype == torch.float32 for k in ("master", "exp_avg", "exp_avg_sq")),
              "bf16 SFT: loss falls, bf16 export, fp32 master weights and moments")

        # ---- a different config on a run directory with checkpoints is refused
        p = brain("sft", "--config", sft_b, "--set", "optimizer.learning_rate=1e-3", check_rc=1)
        check(p.returncode == 1 and "different config" in p.stderr, "different config on an existing run is refused")

        # ---- reward model and DPO from the SFT export
        rm = config(root, "rm", f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
reward_model {{}}
optimizer {{ learning_rate: 3e-3 max_steps: 6 micro_batch_size: 4 }}""", policy=f'path: "{export}"')
        p = brain("rm", "--config", rm)
        run_rm = os.path.join(root, "runs", "rm")
        check(p.returncode == 0 and "accuracy" in metrics(run_rm)[-1], "brain rm (np 2) trains and logs accuracy")
        rm_hf = AutoModelForSequenceClassification.from_pretrained(os.path.join(run_rm, "export")).eval()
        with torch.no_grad():  # row by row: the export defines no pad token, which batched HF scoring needs
            hf_score = torch.cat([rm_hf(input_ids=row[None]).logits for row in ids])
        ours = driver_logits(root, os.path.join(run_rm, "export"), ids)
        check(torch.allclose(hf_score, ours, atol=1e-5), "reward model export loads in transformers with equal scores")
        dpo = config(root, "dpo", f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
dpo {{ beta: 0.1 }}
optimizer {{ learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }}""", policy=f'path: "{export}"')
        p = brain("dpo", "--config", dpo)
        md = metrics(os.path.join(root, "runs", "dpo"))
        check(p.returncode == 0 and abs(md[0]["loss"] - np.log(2)) < 1e-4,
              "brain dpo (np 2): first loss is log 2 (policy = reference)")

        # ---- AVA-p from the SFT export: the reward head trains beside the policy and is exported
        ava = config(root, "ava", f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
ava {{ mode: AVA_P }}
optimizer {{ learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }}""", policy=f'path: "{export}"')
        p = brain("ava", "--config", ava)
        mv = metrics(os.path.join(root, "runs", "ava"))
        head = os.path.join(root, "runs", "ava", "export", "ava_reward_head.safetensors")
        check(p.returncode == 0 and len(mv) == 4 and "cer" in mv[-1] and os.path.exists(head),
              "brain ava (np 2): AVA-p trains, logs CER, exports the reward head")
        check(os.path.exists(head) and np.abs(load_file(head)["proj.weight"]).max() > 0,
              "the zero-initialised reward head moved")

        # ---- AVA-p with a fresh Q head (q_form FRESH_HEAD): trained, checkpointed, exported; a killed
        # and resumed run ends bitwise equal to an uninterrupted one (the head is restored, not redrawn)
        fresh_body = f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
ava {{ mode: AVA_P q_form: FRESH_HEAD }}
optimizer {{ learning_rate: 1e-3 max_steps: 4 micro_batch_size: 4 }}"""
        fresh = config(root, "ava_fresh", fresh_body, policy=f'path: "{export}"')
        p = brain("ava", "--config", fresh)
        run_f = os.path.join(root, "runs", "ava_fresh")
        q_head = os.path.join(run_f, "export", "ava_q_head.safetensors")
        lm = load_file(os.path.join(export, "model.safetensors"))["transformer.wte.weight"]
        q = load_file(q_head)["weight"] if os.path.exists(q_head) else np.zeros(0)
        check(p.returncode == 0 and q.shape == lm.shape and np.isfinite(q).all() and np.abs(q - lm).max() > 0.01,
              f"brain ava q_form FRESH_HEAD: exports a trained {q.shape} Q head that is not the LM head")
        still = config(root, "ava_fresh_tiny_lr", fresh_body.replace("learning_rate: 1e-3", "learning_rate: 1e-9"),
                       policy=f'path: "{export}"')
        p = brain("ava", "--config", still)
        q0_path = os.path.join(root, "runs", "ava_fresh_tiny_lr", "export", "ava_q_head.safetensors")
        q0 = load_file(q0_path)["weight"] if os.path.exists(q0_path) else np.zeros(0)
        check(q0.shape == q.shape and abs(float(q0.std()) - 0.02) < 0.002 and np.abs(q - q0).max() > 1e-4,
              f"the fresh Q head starts at N(0, 0.02²) (std {float(q0.std()) if q0.size else 0:.4f}) and trains")
        fresh_b = config(root, "ava_fresh_b", fresh_body, policy=f'path: "{export}"')
        p = brain("ava", "--config", fresh_b, "--stop-after-steps", "2", check_rc=75)
        p = brain("ava", "--config", fresh_b)
        run_fb = os.path.join(root, "runs", "ava_fresh_b")
        check(p.returncode == 0 and "resumed from" in p.stderr and
              same_files(final_checkpoint(run_f), final_checkpoint(run_fb), shard_names(final_checkpoint(run_f))) and
              same_files(os.path.join(run_f, "export"), os.path.join(run_fb, "export"), ["ava_q_head.safetensors"]),
              "FRESH_HEAD killed and resumed: final checkpoint and exported Q head bitwise equal to the uninterrupted run")

        # ---- BRAIn: uninterrupted vs SIGUSR1-interrupted and resumed
        rm_export = os.path.join(run_rm, "export")
        align_body = f"""data {{ train_path: "{root}/prompts.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
brain {{ num_samples: 4 tau: 1.0 num_rounds: 3 prompts_per_round: 8 }}
optimizer {{ learning_rate: 1e-3 schedule: CONSTANT micro_batch_size: 2 }}
sampling {{ max_new_tokens: 6 batch_size: 16 }}"""
        reward = f'reward {{ path: "{rm_export}" }}'
        align = config(root, "align", align_body, policy=f'path: "{export}"', extra_models=reward)
        p = brain("align", "--config", align)
        run_a = os.path.join(root, "runs", "align")
        ma = metrics(run_a)
        check(p.returncode == 0 and len(ma) == 6 and "round_reward_mean" in ma[0] and "ess_mean" in ma[0],
              "brain align (np 2): 3 rounds x 2 steps with round and SNIS metrics")
        check(os.path.exists(os.path.join(run_a, "samples", "round_000002", "rank_00001_of_00002.safetensors")),
              "align caches each round's samples per rank")
        align_b = config(root, "align_b", align_body, policy=f'path: "{export}"', extra_models=reward)
        cmd = [MPIEXEC, "-np", "2", *MPI_FLAGS, BRAIN, "align", "--config", align_b]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        mfile = os.path.join(root, "runs", "align_b", "metrics.jsonl")
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(mfile) and len(open(mfile).readlines()) >= 2:
                proc.send_signal(signal.SIGUSR1)
                break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=120)
        check(proc.returncode in (75, 0), f"align on SIGUSR1 checkpoints and exits 75 (got {proc.returncode})")
        p = brain("align", "--config", align_b)
        run_b = os.path.join(root, "runs", "align_b")
        check(p.returncode == 0, "align resumes after SIGUSR1")
        check(same_files(final_checkpoint(run_a), final_checkpoint(run_b), shard_names(final_checkpoint(run_a))),
              "resumed BRAIn: final model and optimiser shards bitwise equal to the uninterrupted run")

        # ---- a round with fewer groups than ranks: one rank trains on nothing, nobody hangs
        few = config(root, "align_few", align_body.replace("prompts_per_round: 8", "prompts_per_round: 1"),
                     policy=f'path: "{export}"', extra_models=reward)
        p = brain("align", "--config", few)
        check(p.returncode == 0 and len(metrics(os.path.join(root, "runs", "align_few"))) == 3,
              "align with 1 prompt per round on 2 ranks: 3 rounds of 1 step, no hang")

        # ---- eval: the SFT policy against itself
        ev = config(root, "eval", f"""data {{ train_path: "{root}/demos.jsonl" eval_path: "{root}/prompts.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
sampling {{ max_new_tokens: 6 batch_size: 16 }}
sft {{}}""", policy=f'path: "{export}"', extra_models=f'reference {{ path: "{export}" }} {reward}')
        p = brain("eval", "--config", ev, "--best-of-n", "4")
        ok = p.returncode == 0
        result = json.loads(p.stdout[p.stdout.index("{"):]) if ok else {}
        check(ok and result.get("prompts") == 16 and result.get("kl_estimate") == 0.0 and "best_of_n_reward_mean" in result,
              f"brain eval (np 2): 16 prompts, KL of a policy to itself exactly 0, best-of-n ({result})")
        p = brain("eval", "--config", ev, "--set", "sampling.max_new_tokens=5000", check_rc=1)
        check(p.returncode == 1 and "sampling.max_new_tokens = 5000" in p.stderr and "models.policy" in p.stderr
              and "prompts.jsonl: prompt" in p.stderr,
              "brain eval with samples longer than the model's positions: exit 1 naming the file, prompt and fields")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    check.finish("pipeline")


if __name__ == "__main__":
    main()
