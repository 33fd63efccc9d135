"""brain::sampling vs transformers generate(): tokens/s on the same model, threads and prompts, one run.

usage: compare_generate.py SAMPLING_BENCH [--preset gpt2-124m] [--prompts 64] [--n 8] [--new-tokens 128]
                           [--prompt-len 32] [--batch-size 64] [--threads 2] [--top-p 1.0] [--smoke]
                           [--no-early-stops] [--repeat R]
Both sides draw exactly --new-tokens per sample (transformers: min_new_tokens = max_new_tokens; brain:
a random model practically never draws EOS) with rows = --batch-size decoded together (transformers
gets --batch-size / n prompts per generate() call, each expanded to n rows). A second brain run with
400 stop ids shows continuous batching (refill) against static batching on early-finishing rows
(--no-early-stops skips it). Wall-clock and process CPU time (all threads) are both reported: on a
shared, oversubscribed machine the CPU-time ratio is the steadier one. --repeat R alternates the two
engines R times and reports every pair.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import torch
from transformers import GPT2LMHeadModel


def prompt_token(i, t):
    return (i * 7919 + t * 104729 + 17) % 50000


def run_brain(bench, model_dir, args, extra=()):
    cmd = [bench, "--model", model_dir, "--prompts", str(args.prompts), "--n", str(args.n), "--prompt-len",
           str(args.prompt_len), "--new-tokens", str(args.new_tokens), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads), "--top-p", str(args.top_p), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_hf(model_dir, args):
    torch.set_num_threads(args.threads)
    model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
    per_call = max(1, args.batch_size // args.n)
    tokens, start, cpu_start = 0, time.perf_counter(), time.process_time()
    torch.manual_seed(0)
    with torch.inference_mode():
        for first in range(0, args.prompts, per_call):
            ids = torch.tensor([[prompt_token(i, t) for t in range(args.prompt_len)]
                                for i in range(first, min(args.prompts, first + per_call))])
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, top_p=args.top_p,
                                 top_k=0, temperature=1.0, num_return_sequences=args.n,
                                 max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                 pad_token_id=model.config.eos_token_id)
            tokens += (out.shape[1] - ids.shape[1]) * out.shape[0]
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    return {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "cpu_s": cpu_s,
            "tokens_per_cpu_s": tokens / cpu_s}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench")
    p.add_argument("--preset", default="gpt2-124m")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--prompt-len", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (gpt2-tiny, 4 prompts x 2, 8 tokens)")
    p.add_argument("--no-early-stops", action="store_true", help="skip the continuous-vs-static runs")
    p.add_argument("--repeat", type=int, default=1, help="measure both engines this many times")
    args = p.parse_args()
    if args.smoke:
        args.preset, args.prompts, args.n, args.new_tokens, args.prompt_len, args.batch_size = \
            "gpt2-tiny", 4, 2, 8, 8, 4
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, args.preset)
        subprocess.run([args.bench, "--model", model_dir, "--create-preset", args.preset], check=True)
        pairs = []
        for _ in range(args.repeat):
            brain = run_brain(args.bench, model_dir, args)
            print("brain:", json.dumps(brain), flush=True)
            hf = run_hf(model_dir, args)
            print("transformers:", json.dumps(hf), flush=True)
            pairs.append((brain, hf))
        cont = static = None
        if not args.no_early_stops:
            stops = ["--stop-ids", "400"]
            cont = run_brain(args.bench, model_dir, args, stops + ["--refill-fraction", "0.125"])
            static = run_brain(args.bench, model_dir, args, stops + ["--refill-fraction", "1.0"])
    print(f"{args.preset}: {args.prompts} prompts x n={args.n}, {args.new_tokens} new tokens, prompt {args.prompt_len}"
          f" tokens, {args.batch_size} rows, {args.threads} threads, top_p {args.top_p}")
    for brain, hf in pairs:
        print(f"  brain        {brain['tokens_per_s']:9.1f} tokens/s  ({brain['tokens']} tokens in {brain['seconds']:.1f} s,"
              f" {brain['cpu_s']:.1f} CPU s; prefill {brain['prefill_s']:.2f} s, decode {brain['decode_s']:.1f} s,"
              f" sampling {brain['sampling_s']:.1f} s; idle decode rows {100 * brain['wasted_row_fraction']:.1f}%)")
        print(f"  transformers {hf['tokens_per_s']:9.1f} tokens/s  ({hf['tokens']} tokens in {hf['seconds']:.1f} s,"
              f" {hf['cpu_s']:.1f} CPU s)")
        print(f"  ratio brain / transformers: {brain['tokens_per_s'] / hf['tokens_per_s']:.2f}x wall-clock,"
              f" {brain['tokens_per_cpu_s'] / hf['tokens_per_cpu_s']:.2f}x per CPU second")
        print(f"  brain's 64-row LM head {brain['lm_head_ms']:.1f} ms vs torch.linear {brain['linear_lm_head_ms']:.1f} ms:"
              f" {brain['lm_head_ms'] / brain['linear_lm_head_ms']:.2f}x")
    for name, r in (("continuous", cont), ("static", static)) if cont else ():
        print(f"  early stops, {name:10s} batching: {r['tokens_per_s']:9.1f} tokens/s, {r['tokens']} tokens,"
              f" {r['decode_steps']} decode steps, idle decode rows {100 * r['wasted_row_fraction']:.1f}%,"
              f" refills {r['refills']}, compactions {r['compactions']}")
    print(json.dumps({"pairs": [{"brain": b, "transformers": h} for b, h in pairs], "continuous": cont,
                      "static": static}))


if __name__ == "__main__":
    main()
