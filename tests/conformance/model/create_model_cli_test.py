#!/usr/bin/env python3
"""`brain create-model` end to end: the written directory loads in transformers; bad input is a clear error.

usage: create_model_cli_test.py BRAIN
"""
import subprocess
import sys
import tempfile

import torch
import transformers

transformers.logging.set_verbosity_error()


def main():
    brain = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/llama"
        proc = subprocess.run([brain, "create-model", "--preset", "llama-tiny", "--out", out, "--seed", "3",
                               "--vocab-size", "128"], capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"create-model failed: {proc.stderr}")
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(out)
            cfg = model.config
            if (type(model).__name__, cfg.vocab_size, cfg.num_key_value_heads, cfg.tie_word_embeddings) != \
                    ("LlamaForCausalLM", 128, 2, False):
                failures.append(f"unexpected model {type(model).__name__} {cfg}")
            std = model.model.layers[0].mlp.up_proj.weight.std().item()
            if not 0.015 < std < 0.025:
                failures.append(f"init std {std} is not ~0.02")
            if not torch.isfinite(model(torch.tensor([[1, 2, 3]])).logits).all():
                failures.append("non-finite logits")
        for args, rc, text in ((["--preset", "gpt5", "--out", f"{tmp}/x"], 2, "unknown preset 'gpt5'"),
                               (["--preset", "gpt2-tiny", "--out", f"{tmp}/x", "--seed=abc"], 2, "--seed"),
                               (["--preset", "gpt2-tiny"], 2, "--out")):
            proc = subprocess.run([brain, "create-model", *args], capture_output=True, text=True)
            if proc.returncode != rc or text not in proc.stderr:
                failures.append(f"{args}: exit {proc.returncode}, stderr {proc.stderr!r}")
    for f in failures:
        print("FAIL", f)
    print("create-model CLI:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
