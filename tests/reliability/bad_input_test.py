#!/usr/bin/env python3
"""Bad input to `brain`: each class gets a clear error or a counted skip, never a crash, a hang or a
non-finite parameter.

  configs      seeded mutations of a valid textproto (byte flips, truncation, deleted/duplicated lines,
               hostile numbers, stray tokens) through `brain config`: exit 0 or 1, an error names the file;
  JSONL        broken lines: FAIL names file:line; SKIP_AND_COUNT trains and reports the count;
  prompts      an empty prompt set is an error naming the file; prompts far longer than the context are
               truncated and train to finite parameters; a config over its sequence budget (prompt +
               response or + max_new_tokens beyond models.max_seq_len) is rejected naming fields and values;
  tokenizer    merges.txt with malformed lines or unknown symbols: an error naming merges.txt and the line;
  safetensors  hostile headers (huge length, out-of-range or overlapping offsets, bad dtype/shape, not
               JSON): an error naming model.safetensors;
  rewards      a reward model returning NaN, +inf or -inf (so log-likelihood -inf) for every sequence, and
               one returning NaN for any sequence containing 'a': non-finite groups are dropped and
               counted (metrics "dropped"), parameters stay finite. With BRAIN_RELIABILITY_ONLY=dropped_count
               only the last case runs, checking the count against the groups holding an 'a' in the sample cache.
Usage: bad_input_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import (ALIGN_BODY, SFT_BODY, Brain, FIGURES, check, config, final_checkpoint, finish, metrics,
                        params_finite, write_task, write_tokenizer)

B = Brain(sys.argv)
# BRAIN_RELIABILITY_ONLY=dropped_count: only the exact check of the dropped-group count (ctest
# reliability_dropped_count).
ONLY = os.environ.get("BRAIN_RELIABILITY_ONLY", "")
CRASH_CODES = lambda rc: rc == -999 or rc < 0 or rc >= 128 or rc in (75,)


def clean_exit(p):
    """Exit 0, or a non-signal error with a message."""
    return p.returncode == 0 or (not CRASH_CODES(p.returncode) and p.stderr.strip() != "")


def tried(n=1):
    FIGURES["inputs_tried"] += n


# ---- configs -----------------------------------------------------------------------------------------
N_CONFIGS = 24  # each `brain config` costs ~2 s (LibTorch start-up); fuzz_config covers the parser at depth
HOSTILE = ["nan", "inf", "-inf", "-1", "0", "1e999", "99999999999999999999", "-2147483649", '""', '"\\xff"',
           "{", "}", ":", '"', "unknown_field: 1", "\x00", "\xff\xfe", "optimizer {", "brain { num_samples: 0 }",
           "sft {} dpo {}", "#", "[", "models { }", "seed: 1 seed: 2"]


def mutate(text, rng):
    lines = text.split("\n")
    kind = rng.randrange(6)
    if kind == 0:
        b = bytearray(text.encode())
        b[rng.randrange(len(b))] = rng.randrange(256)
        return b.decode("latin-1")
    if kind == 1:
        return text[:rng.randrange(len(text))]
    if kind == 2:
        del lines[rng.randrange(len(lines))]
    elif kind == 3:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == 4:
        i = rng.randrange(len(text))
        return text[:i] + " " + rng.choice(HOSTILE) + " " + text[i:]
    else:
        import re
        nums = list(re.finditer(r"(?<=: )[-0-9.e]+", text))
        if nums:
            m = rng.choice(nums)
            return text[:m.start()] + rng.choice(HOSTILE) + text[m.end():]
    return "\n".join(lines)


def configs(root):
    base_text = open(config(root, "cfg_base", ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=1))).read()
    rng = random.Random(11)
    accepted = rejected = 0
    bad = []
    for i in range(N_CONFIGS):
        text = base_text
        for _ in range(1 + rng.randrange(3)):
            text = mutate(text, rng)
        path = os.path.join(root, f"fuzzed_{i:03d}.textproto")
        open(path, "w", encoding="latin-1").write(text)
        try:
            p = subprocess.run([B.brain, "config", "--config", path], capture_output=True, text=True, timeout=30,
                               errors="replace")
        except subprocess.TimeoutExpired:
            bad.append(f"{path}: hang")
            continue
        tried()
        if p.returncode == 0:
            accepted += 1
        elif p.returncode == 1 and path in p.stderr:
            rejected += 1
        else:
            bad.append(f"{path}: exit {p.returncode}: {p.stderr[-300:]}")
    check(not bad, f"{N_CONFIGS} fuzzed configs: {accepted} valid, {rejected} rejected naming the file, no crash/hang"
          + (f"; bad: {bad[:3]}" if bad else ""))


# ---- JSONL -------------------------------------------------------------------------------------------
def jsonl(root):
    src = open(os.path.join(root, "demos.jsonl")).read().splitlines()
    broken = src[:2] + ['{"prompt": "ab>", "response": '] + src[2:5] + ['["not", "an", "object"]'] + \
        src[5:8] + ['{"prompt": 17, "response": "x"}', "\xff\xfe garbage"] + src[8:]
    path = os.path.join(root, "demos_bad.jsonl")
    open(path, "w", encoding="utf-8", errors="surrogateescape").write("\n".join(broken) + "\n")
    body = SFT_BODY.format(root=root, steps=2).replace("demos.jsonl", "demos_bad.jsonl")
    p = B.run(1, "sft", "--config", config(root, "jsonl_fail", body, extra_models=""), timeout=120)
    tried()
    check(p.returncode == 1 and "demos_bad.jsonl:3:" in p.stderr,
          f"broken JSONL line under FAIL: exit {p.returncode}, error names demos_bad.jsonl:3")
    body_skip = body.replace("max_response_tokens: 8", "max_response_tokens: 8 bad_lines: SKIP_AND_COUNT")
    p = B.run(1, "sft", "--config", config(root, "jsonl_skip", body_skip, extra_models=""), timeout=180)
    tried()
    run = os.path.join(root, "runs", "jsonl_skip")
    check(p.returncode == 0 and "4" in "".join(l for l in p.stderr.splitlines() if "skip" in l.lower()),
          f"SKIP_AND_COUNT: trains (exit {p.returncode}) and reports 4 skipped lines "
          f"({[l for l in p.stderr.splitlines() if 'skip' in l.lower()][:2]})")
    check(p.returncode == 0 and params_finite(final_checkpoint(run)), "SKIP_AND_COUNT: parameters finite")


# ---- prompts -----------------------------------------------------------------------------------------
def prompts(root):
    open(os.path.join(root, "empty.jsonl"), "w").close()
    p = B.run(2, "align", "--config", config(root, "empty", ALIGN_BODY.format(root=root, prompts="empty.jsonl",
                                                                              rounds=1)), timeout=120)
    tried()
    msg = [l for l in p.stderr.splitlines() if l.startswith("brain align:")][:1]
    check(p.returncode == 1 and "empty.jsonl" in p.stderr,
          f"empty prompt set: exit {p.returncode} with a clear error ({msg})")
    rng = np.random.default_rng(3)
    with open(os.path.join(root, "long.jsonl"), "w") as f:
        for _ in range(12):
            f.write(json.dumps({"prompt": "".join(rng.choice(list("abcdefgh"), 3000)) + ">"}) + "\n")
    p = B.run(2, "align", "--config", config(root, "long", ALIGN_BODY.format(root=root, prompts="long.jsonl",
                                                                             rounds=1)), timeout=240)
    tried()
    run = os.path.join(root, "runs", "long")
    check(p.returncode == 0 and params_finite(final_checkpoint(run)),
          f"prompts of 3000 tokens (context 64): truncated, align trains (exit {p.returncode}), parameters finite")
    body = ALIGN_BODY.format(root=root, prompts="long.jsonl", rounds=1).replace("max_prompt_tokens: 8",
                                                                                 "max_prompt_tokens: 4000")
    p = B.run(2, "align", "--config", config(root, "long2", body), timeout=240)
    tried()
    want = "data.max_prompt_tokens (4000) + sampling.max_new_tokens (6) = 4006 exceeds models.max_seq_len (64)"
    msg = [l for l in p.stderr.splitlines() if "max_seq_len" in l][:1]
    check(p.returncode == 1 and want in p.stderr and not os.path.exists(os.path.join(root, "runs", "long2")),
          f"max_prompt_tokens 4000 > max_seq_len 64: rejected with the config, before any run (exit {p.returncode}: "
          f"{msg})")
    # The sequence budget at config time (`brain config`): each over-budget case names the fields and values.
    budget = {
        "align": (ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=1)
                  .replace("max_prompt_tokens: 8", "max_prompt_tokens: 48").replace("max_new_tokens: 6",
                                                                                    "max_new_tokens: 32"),
                  "data.max_prompt_tokens (48) + sampling.max_new_tokens (32) = 80 exceeds models.max_seq_len (64)"),
        "sft": (SFT_BODY.format(root=root, steps=1).replace("max_response_tokens: 8", "max_response_tokens: 57"),
                "data.max_prompt_tokens (8) + data.max_response_tokens (57) = 65 exceeds models.max_seq_len (64)"),
    }
    for name, (body, want) in budget.items():
        path = config(root, "budget_" + name, body)
        p = subprocess.run([B.brain, "config", "--config", path], capture_output=True, text=True, timeout=60)
        tried()
        check(p.returncode == 1 and want in p.stderr and path in p.stderr,
              f"over the sequence budget ({name}): `brain config` exits {p.returncode} naming the file and '{want}'")
    ok_body = SFT_BODY.format(root=root, steps=1).replace("max_response_tokens: 8", "max_response_tokens: 56")
    p = subprocess.run([B.brain, "config", "--config", config(root, "budget_full", ok_body)], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, f"control: 8 + 56 = max_seq_len 64 exactly is accepted (exit {p.returncode})")


# ---- tokenizer ---------------------------------------------------------------------------------------
def tokenizer(root):
    cases = {
        "one_symbol": "#version: 0.2\na\n",
        "unknown_symbol": "#version: 0.2\nzz qq\n",
        "three_symbols": "#version: 0.2\na b c\n",
        "binary": "#version: 0.2\n\xff\xfe \x00\n",
    }
    for name, merges in cases.items():
        tok = os.path.join(root, "tok_" + name)
        write_tokenizer(tok, merges)
        body = SFT_BODY.format(root=root, steps=1)
        p = B.run(1, "sft", "--config", config(root, "tok_" + name, body, extra_models="", tokenizer=tok), timeout=120)
        tried()
        last = [l for l in p.stderr.splitlines() if l.startswith("brain ")][-1:]
        check(p.returncode == 1 and "merges.txt:2" in p.stderr,
              f"tokenizer merges '{name}': exit {p.returncode}, error names merges.txt:2 ({last})")


# ---- safetensors -------------------------------------------------------------------------------------
def st_file(header, data=b"", length=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def hf_models(root):
    """A tiny HF GPT-2 policy (hf_policy) and reward model (hf_rm), written by transformers."""
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=257, n_positions=64, n_embd=32, n_layer=1, n_head=2, bos_token_id=256,
                     eos_token_id=256, pad_token_id=256)
    GPT2LMHeadModel(cfg).save_pretrained(os.path.join(root, "hf_policy"))
    GPT2ForSequenceClassification(GPT2Config(**cfg.to_dict(), num_labels=1)).save_pretrained(os.path.join(root, "hf_rm"))


def safetensors(root):
    good = os.path.join(root, "hf_policy")
    w = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    hostile = {
        "huge_length": struct.pack("<Q", 2**63) + b"{}",
        "length_past_eof": st_file({"w": w}, b"\0" * 16, length=10**6),
        "not_json": st_file(b"{this is not json", b"\0" * 16),
        "not_object": st_file(b"[1, 2, 3]"),
        "offsets_past_eof": st_file({"w": dict(w, data_offsets=[0, 1 << 40])}, b"\0" * 16),
        "offsets_reversed": st_file({"w": dict(w, data_offsets=[16, 0])}, b"\0" * 16),
        "overlap": st_file({"a": dict(w), "b": dict(w, data_offsets=[8, 24])}, b"\0" * 24),
        "bad_dtype": st_file({"w": dict(w, dtype="F128")}, b"\0" * 16),
        "shape_overflow": st_file({"w": dict(w, shape=[2**62, 2**62])}, b"\0" * 16),
        "negative_shape": st_file({"w": dict(w, shape=[-4, -1])}, b"\0" * 16),
        "size_mismatch": st_file({"w": dict(w, shape=[3, 3])}, b"\0" * 16),
        "empty_file": b"",
    }
    body = SFT_BODY.format(root=root, steps=1)
    for name, blob in hostile.items():
        d = os.path.join(root, "st_" + name)
        shutil.copytree(good, d)
        open(os.path.join(d, "model.safetensors"), "wb").write(blob)
        p = B.run(1, "sft", "--config", config(root, "st_" + name, body, policy=f'path: "{d}"', extra_models=""),
                  timeout=120)
        tried()
        last = [l for l in p.stderr.splitlines() if l.startswith("brain ")][-1:]
        check(p.returncode == 1 and "model.safetensors" in p.stderr,
              f"safetensors '{name}': exit {p.returncode}, error names model.safetensors ({last})")
    p = B.run(1, "sft", "--config", config(root, "st_good", body, policy=f'path: "{good}"', extra_models=""),
              timeout=120)
    check(p.returncode == 0, f"control: the unmodified HF policy trains (exit {p.returncode})")


# ---- rewards -----------------------------------------------------------------------------------------
def groups_with_token(run, prompts_path, token):
    """Groups (over every round and rank) whose prompt or any sampled response contains `token`, read from
    the per-round sample cache (prompt_index, response_ids/offsets) and the prompt file."""
    from safetensors.numpy import load_file
    prompt_text = [json.loads(l)["prompt"] for l in open(prompts_path)]
    count = 0
    for dirpath, _, files in os.walk(os.path.join(run, "samples")):
        for f in files:
            t = load_file(os.path.join(dirpath, f))
            ids, off = t["response_ids"], t["response_offsets"]
            n = (len(off) - 1) // len(t["prompt_index"])
            for g, pi in enumerate(t["prompt_index"]):
                hit = chr(token) in prompt_text[pi]
                hit |= any(token in ids[off[g * n + i]:off[g * n + i + 1]] for i in range(n))
                count += bool(hit)
    return count


def rewards(root):
    from safetensors.torch import load_file, save_file
    rm = os.path.join(root, "hf_rm")
    tensors = load_file(os.path.join(rm, "model.safetensors"))
    score = [k for k in tensors if k.startswith("score")][0]
    cases = {} if ONLY == "dropped_count" else {"nan": float("nan"), "posinf": float("inf"), "neginf": float("-inf")}
    for name, value in list(cases.items()) + [("nan_for_a", None)]:
        d = os.path.join(root, "rm_" + name)
        shutil.copytree(rm, d)
        t = {k: v.clone() for k, v in tensors.items()}
        if value is not None:
            t[score].fill_(value)
        else:  # token 'a' (id 97) overflows the hidden state: NaN reward for any sequence containing it
            wte = [k for k in t if k.endswith("wte.weight")][0]
            t[wte][97] = 3e38
        save_file(t, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        prompts = "prompts.jsonl"
        if value is None:  # 6 prompts with an 'a', 6 without
            with open(os.path.join(root, "prompts_a.jsonl"), "w") as f:
                for i in range(12):
                    f.write(json.dumps({"prompt": ("a" if i % 2 else "b") + "cdefg"[i % 5] + "h>"}) + "\n")
            prompts = "prompts_a.jsonl"
        body = ALIGN_BODY.format(root=root, prompts=prompts, rounds=2)
        # keep_last 100: no round of the sample cache is pruned (groups_with_token reads every round).
        p = B.run(2, "align", "--config", config(root, "rm_" + name, body, extra_models=f'reward {{ path: "{d}" }}',
                                                 keep=100), timeout=300)
        tried()
        run = os.path.join(root, "runs", "rm_" + name)
        m = metrics(run)
        # Per step: "groups" counts the groups kept, "dropped" those with a non-finite value.
        dropped = sum(x.get("dropped", 0) for x in m)
        groups = sum(x.get("groups", 0) for x in m) + dropped
        finite = p.returncode == 0 and params_finite(final_checkpoint(run))
        if value is not None:
            check(finite and groups > 0 and dropped == groups,
                  f"reward {name} for every sequence: align finishes (exit {p.returncode}), all {groups:g} groups "
                  f"dropped and counted ({dropped:g}), parameters finite")
        else:
            expected = groups_with_token(run, os.path.join(root, prompts), 97)
            # "groups" and "dropped" are step totals over every rank's micro-batches.
            exact = f"{dropped:g} of {groups:g} groups counted as dropped; {expected} hold an 'a' " \
                    "(prompt or sample, read from the sample cache)"
            if ONLY == "dropped_count":
                check(finite and dropped == expected, f"reward NaN only with 'a': {exact}")
            else:
                check(finite and 0 < dropped < groups,
                      f"reward NaN only with 'a': align finishes (exit {p.returncode}), some groups dropped and "
                      f"counted, parameters finite ({exact}; exact count: test reliability_dropped_count)")
        if p.returncode != 0:
            print(p.stderr[-3000:])


def main():
    root = tempfile.mkdtemp(prefix="brain_bad_input_")
    try:
        write_task(root)
        parts = (configs, jsonl, prompts, tokenizer, hf_models, safetensors, rewards)
        if ONLY == "dropped_count":
            parts = (hf_models, rewards)
        for part in parts:
            part(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    finish("bad_input", record=not ONLY)


if __name__ == "__main__":
    main()
