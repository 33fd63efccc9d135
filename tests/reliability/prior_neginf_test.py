#!/usr/bin/env python3
"""A prior log-prob of −∞ end to end: `brain align` at np 2 with an SFT prior that cannot emit one token.

The prior (an HF GPT-2 written by transformers, then edited) has ln_f.weight = 0 and ln_f.bias = 1e21·e_0,
so its last hidden state is 1e21·e_0 at every position, and wte[:, 0] = 0 except wte[Z, 0] = -1e18 for
Z = 'z': its logits are 0 for every token but Z, and 1e21 · -1e18 = -1e39, which overflows fp32 to −∞ for Z.
So log p(y) = −∞ for any response holding a 'z', and exactly -len(y)·log(256) for any other (256 tokens
of logit 0). The policy (also the proposal) is the same kind of model, tilted towards 'z' (logit 4.2, about
a fifth of the mass), so some groups have 'z' in every sample and others only in some.
What must hold (spec: a group whose a_i are all −∞ is dropped and counted; a single −∞ a_i gets α̂ = 0):
  - the run finishes (exit 0) and the final parameters are finite;
  - the cached prior log-probs are −∞ exactly for the samples holding a 'z' and -len·log(256) otherwise
    (the reference is the token count, not brain's arithmetic);
  - metrics "dropped" (step totals) equals the groups whose every sample holds a 'z' (counted from the
    cache's response ids), with at least one such group and at least one kept group holding a 'z'.
Usage: prior_neginf_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import (ALIGN_BODY, Brain, FIGURES, check, config, final_checkpoint, finish, metrics,
                        params_finite, write_task)

B = Brain(sys.argv)
Z = ord("z")  # the byte tokenizer's id of 'z'; the prompts (letters a-h and '>') never hold it
ROUNDS = 3


def write_models(root):
    """prior: cannot emit 'z' (logit −∞); policy: prefers 'z' (logit 4.2, the rest 0)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=257, n_positions=64, n_embd=32, n_layer=1, n_head=2, bos_token_id=256,
                     eos_token_id=256, pad_token_id=256)
    for name, scale, z_value in (("prior", 1e21, -1e18), ("policy", 1.0, 4.2)):
        model = GPT2LMHeadModel(cfg)
        with torch.no_grad():
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.zero_()
            model.transformer.ln_f.bias[0] = scale
            model.transformer.wte.weight[:, 0] = 0
            model.transformer.wte.weight[Z, 0] = z_value
        model.save_pretrained(os.path.join(root, name))
    # Reference check of the construction with transformers itself: fp32 logits of Z are −∞ for the prior.
    prior = GPT2LMHeadModel.from_pretrained(os.path.join(root, "prior")).eval()
    with torch.no_grad():
        logits = prior(torch.tensor([[97, 98, Z, 99]])).logits[0]
    lp = torch.log_softmax(logits, -1)
    return bool(torch.isneginf(lp[:, Z]).all() and torch.allclose(lp[:, 97], torch.full((4,), -math.log(256))))


def read_cache(run):
    """Per group (over every round and rank): [(response ids, cached prior log-prob)] from the sample cache."""
    from safetensors.numpy import load_file
    groups = []
    for dirpath, _, files in sorted(os.walk(os.path.join(run, "samples"))):
        for f in sorted(files):
            t = load_file(os.path.join(dirpath, f))
            ids, off, prior = t["response_ids"], t["response_offsets"], t["prior_logprobs"]
            n = (len(off) - 1) // max(1, len(t["prompt_index"]))
            for g in range(len(t["prompt_index"])):
                groups.append([(ids[off[g * n + i]:off[g * n + i + 1]], prior[g * n + i]) for i in range(n)])
    return groups


def main():
    root = tempfile.mkdtemp(prefix="brain_prior_neginf_")
    try:
        write_task(root)
        check(write_models(root), "construction: transformers gives the prior log p('z') = −∞ and -log 256 else")
        body = ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=ROUNDS)
        models = f'reference {{ path: "{root}/prior" }} reward {{ preset: "gpt2-tiny" }}'
        # keep_last large: no round's sample cache is pruned, so every group can be counted afterwards.
        cfg = config(root, "prior_neginf", body, policy=f'path: "{root}/policy"', extra_models=models, keep=100)
        p = B.run(2, "align", "--config", cfg, timeout=300)
        FIGURES["inputs_tried"] += 1
        run = os.path.join(root, "runs", "prior_neginf")
        finite = p.returncode == 0 and params_finite(final_checkpoint(run))
        check(finite, f"align with a −∞ prior log-prob finishes (exit {p.returncode}), parameters finite")
        if p.returncode != 0:
            print(p.stderr[-3000:])
        groups = read_cache(run) if p.returncode == 0 else []
        samples = [s for g in groups for s in g]
        wrong = [(len(ids), lp) for ids, lp in samples
                 if not ((Z in ids and lp == -math.inf) or
                         (Z not in ids and math.isclose(lp, -len(ids) * math.log(256), rel_tol=1e-5)))]
        with_z = sum(Z in ids for ids, _ in samples)
        check(samples and not wrong,
              f"cached prior log-probs: −∞ for the {with_z} of {len(samples)} samples holding 'z', "
              f"-len·log 256 for the rest (mismatches: {wrong[:3]})")
        all_z = sum(all(Z in ids for ids, _ in g) for g in groups)
        some_z = sum(any(Z in ids for ids, _ in g) and not all(Z in ids for ids, _ in g) for g in groups)
        m = metrics(run)
        dropped = sum(x.get("dropped", 0) for x in m)
        kept = sum(x.get("groups", 0) for x in m)
        check(all_z > 0 and some_z > 0 and dropped == all_z and kept + dropped == len(groups),
              f"dropped {dropped:g} = the {all_z} groups with 'z' in every sample; {kept:g} kept of {len(groups)} "
              f"({some_z} of them with a −∞ sample)")
        bad_metrics = [k for x in m for k, v in x.items() if isinstance(v, float) and math.isnan(v) and k == "loss"]
        check(not bad_metrics, "no NaN loss in metrics.jsonl")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    finish("prior_neginf")


if __name__ == "__main__":
    main()
