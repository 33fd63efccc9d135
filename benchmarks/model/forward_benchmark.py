#!/usr/bin/env python3
"""Forward throughput of gpt2-124m: brain (C++/LibTorch) vs transformers, CPU, same run and machine.

usage: forward_benchmark.py FORWARD_BENCH [--threads N] [--batch B] [--seq T] [--iters K]

Both load the same randomly initialised GPT-2 small checkpoint (written here by transformers), run the
same batch with the same thread count under inference mode, and the ratio brain / transformers is
printed for the backbone (hidden states) and for the full LM (with the [B, T, 50257] logits). The two
sides alternate for --rounds rounds and each keeps its best round, so load from other processes on a
shared machine hits both alike.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import torch
import transformers

transformers.logging.set_verbosity_error()


def hf_tokens_per_s(model, ids, mask, iters):
    with torch.inference_mode():
        for _ in range(2):
            model(input_ids=ids, attention_mask=mask)
        start = time.perf_counter()
        for _ in range(iters):
            out = model(input_ids=ids, attention_mask=mask)
            (out.logits if hasattr(out, "logits") else out.last_hidden_state).sum().item()
        return ids.numel() * iters / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("forward_bench")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257)
    lm = transformers.GPT2LMHeadModel(config).eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    mask = torch.ones_like(ids)
    print(f"gpt2-124m forward, CPU, {args.threads} threads, batch {args.batch} x {args.seq} tokens, "
          f"{args.iters} timed iterations, best of {args.rounds} alternating rounds "
          f"(transformers {transformers.__version__}, torch {torch.__version__}, "
          f"attn {lm.config._attn_implementation})")
    with tempfile.TemporaryDirectory() as tmp:
        lm.save_pretrained(tmp)
        for mode, model in (("hidden", lm.transformer), ("logits", lm)):
            hf, brain = 0.0, 0.0
            for _ in range(args.rounds):
                hf = max(hf, hf_tokens_per_s(model, ids, mask, args.iters))
                cmd = [args.forward_bench, tmp, args.batch, args.seq, args.iters, args.threads, mode]
                out = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, check=True)
                brain = max(brain, json.loads(out.stdout)["tokens_per_s"])
            print(f"{mode:7s} brain {brain:10.1f} tok/s   transformers {hf:10.1f} tok/s   "
                  f"ratio {brain / hf:.3f} (goal >= 1.0)", flush=True)


if __name__ == "__main__":
    main()
