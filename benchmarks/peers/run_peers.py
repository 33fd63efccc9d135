"""brain vs its peers, measured in one run: (a) DPO steps, `brain dpo` vs TRL's DPOTrainer; (b) sampling,
brain::sampling vs transformers generate() (benchmarks/sampling/compare_generate.py, called as is).

usage: run_peers.py --brain BUILD/bin/brain --sampling-bench BUILD/bin/benchmarks/sampling_bench
                    [--preset gpt2-124m] [--steps 6] [--batch 4] [--prompt-tokens 32] [--response-tokens 32]
                    [--threads 2] [--skip-dpo] [--skip-generate] [--generate-args "..."] [--json-out FILE] [--smoke]

DPO, equal work on both sides:
  - the same random HF GPT-2 directory (`brain create-model --preset ...`), fp32, loaded by both;
  - the same pairs: prompts of exactly P tokens, chosen/rejected of exactly R-1 tokens plus EOS (both append
    EOS), so every sequence has P + R tokens and no padding (checked on both sides);
  - B pairs per optimiser step, no accumulation, AdamW (lr 1e-5 constant, clip 1.0), sigmoid loss, beta 0.1;
  - the reference model's log-probs computed inside each step on both sides (TRL precompute_ref_log_probs
    off; brain computes them lazily in its first epoch), no gradient checkpointing (TRL defaults it on),
    no logging / eval / saving (brain: no checkpoint until the end, not timed);
  - one process each, run one after the other: brain np 1 with T threads (distributed.threads_per_rank),
    TRL with torch.set_num_threads(T);
  - throughput: pairs per second of step time (brain: metrics.jsonl step_seconds; TRL: on_step_begin ->
    on_step_end), the first step of each (warm-up) excluded;
  - memory: each process's peak RSS (wait4 ru_maxrss), everything included (model load, Python for TRL).
Goals (issue #10): DPO >= 1.3x TRL at equal or lower peak memory; generation >= 2x.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from measure import run_measured, tail  # noqa: E402

DEFAULT_TOKENIZER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "gpt2"))
COMPARE_GENERATE = os.path.join(HERE, "..", "sampling", "compare_generate.py")
WORDS = ("the of and to in is was for that on as with by at from his an are were which this be or had "
         "not but first one their its new after who they have her she two been other when there all "
         "during into school time may years more most only over city some world would where later up").split()


def write_pairs(path, tokenizer_dir, pairs, P, R, seed=0):
    """Pairs whose prompt is exactly P GPT-2 tokens and whose responses are exactly R - 1 (checked here)."""
    from transformers import GPT2TokenizerFast
    tok = GPT2TokenizerFast.from_pretrained(tokenizer_dir)
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(pairs):
            prompt = " ".join(rng.choice(WORDS) for _ in range(P))
            chosen = "".join(" " + rng.choice(WORDS) for _ in range(R - 1))
            rejected = "".join(" " + rng.choice(WORDS) for _ in range(R - 1))
            for text, want in ((prompt, P), (chosen, R - 1), (rejected, R - 1), (prompt + chosen, P + R - 1)):
                got = len(tok(text)["input_ids"])
                if got != want:
                    raise RuntimeError(f"data: '{text[:40]}...' is {got} tokens, want {want}")
            f.write(json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + "\n")


def brain_dpo(args, root, model_dir, data):
    P, R = args.prompt_tokens, args.response_tokens
    cfg = os.path.join(root, "dpo.textproto")
    with open(cfg, "w") as f:
        f.write(f"""name: "peer-dpo"
output_dir: "{root}/runs/dpo"
seed: 1
models {{ policy {{ path: "{model_dir}" }} tokenizer: "{args.tokenizer}" max_seq_len: {P + R} dtype: FLOAT32 }}
data {{ train_path: "{data}" max_prompt_tokens: {P} max_response_tokens: {R} shuffle: false }}
dpo {{ beta: 0.1 }}
optimizer {{ learning_rate: 1e-5 schedule: CONSTANT micro_batch_size: {args.batch} max_steps: {args.steps} }}
checkpoint {{ every_steps: 0 keep_last: 1 }}
logging {{ every_steps: 1 progress: false tensorboard: false }}
distributed {{ threads_per_rank: {args.threads} }}
""")
    log = os.path.join(root, "brain_dpo.log")
    run = run_measured([args.brain, "dpo", "--config", cfg], log_path=log, timeout=1200)
    if run["returncode"] != 0:
        raise RuntimeError(f"brain dpo exited {run['returncode']}:\n{tail(log)}")
    with open(os.path.join(root, "runs", "dpo", "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return {"step_seconds": [l["step_seconds"] for l in lines], "tokens": [l["tokens"] for l in lines],
            "process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"]}


def trl_dpo(args, root, model_dir, data):
    out = os.path.join(root, "trl.json")
    log = os.path.join(root, "trl.log")
    cmd = [sys.executable, os.path.join(HERE, "trl_dpo_child.py"), "--model", model_dir, "--tokenizer",
           args.tokenizer, "--data", data, "--steps", str(args.steps), "--batch", str(args.batch), "--threads",
           str(args.threads), "--out", out]
    run = run_measured(cmd, log_path=log, timeout=1200)
    if run["returncode"] != 0:
        raise RuntimeError(f"TRL DPOTrainer exited {run['returncode']}:\n{tail(log)}")
    with open(out) as f:
        result = json.load(f)
    result.update({"process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"]})
    return result


def pairs_per_second(step_seconds, batch):
    timed = step_seconds[1:] if len(step_seconds) > 1 else step_seconds
    return batch * len(timed) / sum(timed), sum(timed)


def compare_dpo(args, root):
    model_dir = os.path.join(root, "model")
    proc = subprocess.run([args.brain, "create-model", "--preset", args.preset, "--out", model_dir],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"brain create-model failed: {proc.stderr[-2000:]}")
    data = os.path.join(root, "pairs.jsonl")
    P, R = args.prompt_tokens, args.response_tokens
    write_pairs(data, args.tokenizer, args.steps * args.batch, P, R)
    brain = brain_dpo(args, root, model_dir, data)
    os.sync()  # brain's final checkpoint is written back now, not during TRL's timed steps
    trl = trl_dpo(args, root, model_dir, data)
    problems = []
    want_tokens = 2 * args.batch * (P + R)
    if any(t != want_tokens for t in brain["tokens"]) or len(brain["step_seconds"]) != args.steps:
        problems.append(f"brain: tokens per step {brain['tokens']}, want {args.steps} x {want_tokens}")
    if set(trl["prompt_tokens"]) != {P} or set(trl["completion_tokens"]) != {R}:
        problems.append(f"TRL: prompt lengths {sorted(set(trl['prompt_tokens']))}, completion lengths "
                        f"{sorted(set(trl['completion_tokens']))}, want {P} and {R}")
    if len(trl["step_seconds"]) != args.steps:
        problems.append(f"TRL: {len(trl['step_seconds'])} steps timed, want {args.steps}")
    b_rate, b_time = pairs_per_second(brain["step_seconds"], args.batch)
    t_rate, t_time = pairs_per_second(trl["step_seconds"], args.batch)
    result = {"kind": "dpo", "preset": args.preset, "steps": args.steps, "pairs_per_step": args.batch,
              "prompt_tokens": P, "response_tokens": R, "threads": args.threads,
              "brain_pairs_per_s": b_rate, "trl_pairs_per_s": t_rate, "ratio": b_rate / t_rate,
              "brain_step_seconds": brain["step_seconds"], "trl_step_seconds": trl["step_seconds"],
              "brain_peak_rss_mb": brain["peak_rss_mb"], "trl_peak_rss_mb": trl["peak_rss_mb"],
              "memory_ratio": brain["peak_rss_mb"] / trl["peak_rss_mb"],
              "brain_process_seconds": brain["process_seconds"], "trl_process_seconds": trl["process_seconds"]}
    result["goal_met"] = result["ratio"] >= 1.3 and result["memory_ratio"] <= 1.0
    for key in ("ratio", "memory_ratio"):
        if not (0 < result[key] < float("inf")):
            problems.append(f"DPO: {key} {result[key]} is not a positive number")
    return result, problems


def compare_generate(args):
    cmd = [sys.executable, COMPARE_GENERATE, args.sampling_bench, "--threads", str(args.threads)]
    cmd += ["--smoke"] if args.smoke else args.generate_args.split()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"compare_generate.py exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)  # compare_generate.py's own table
    data = json.loads(lines[-1])
    # compare_generate.py prints {"brain":..,"transformers":..} or {"pairs": [{"brain":..,"transformers":..}]}.
    first = data["pairs"][0] if "pairs" in data else data
    brain, hf = first["brain"], first["transformers"]
    result = {"kind": "generate", "brain_tokens_per_s": brain["tokens_per_s"], "transformers_tokens_per_s":
              hf["tokens_per_s"], "ratio": brain["tokens_per_s"] / hf["tokens_per_s"],
              "setup": next((l for l in lines if "prompts x n=" in l), "")}
    result["goal_met"] = result["ratio"] >= 2.0
    problems = [] if brain["tokens"] > 0 and hf["tokens"] > 0 and result["ratio"] > 0 else \
        [f"generate: brain {brain['tokens']} tokens, transformers {hf['tokens']}, ratio {result['ratio']}"]
    return result, problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brain", required=True)
    p.add_argument("--sampling-bench", default=None)
    p.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    p.add_argument("--preset", default="gpt2-124m")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch", type=int, default=4, help="pairs per optimiser step")
    p.add_argument("--prompt-tokens", type=int, default=32)
    p.add_argument("--response-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-generate", action="store_true")
    p.add_argument("--skip-dpo", action="store_true")
    p.add_argument("--generate-args", default="--prompts 16 --n 8 --new-tokens 64 --batch-size 64",
                   help="passed to compare_generate.py (its defaults: 64 prompts x n=8, 128 new tokens)")
    p.add_argument("--json-out", default=None)
    p.add_argument("--smoke", action="store_true", help="gpt2-tiny, 3 steps of 2 pairs, 8+8 tokens")
    args = p.parse_args()
    if args.smoke:
        args.preset, args.steps, args.batch, args.prompt_tokens, args.response_tokens = "gpt2-tiny", 3, 2, 8, 8
    args.brain = os.path.abspath(args.brain)
    if not args.skip_generate and not args.sampling_bench:
        p.error("--sampling-bench is required unless --skip-generate")
    load = os.getloadavg()[0]
    results, problems = [], []
    if not args.skip_dpo:
        with tempfile.TemporaryDirectory(prefix="brain_peers_") as root:
            dpo, probs = compare_dpo(args, root)
            results.append(dpo)
            problems += probs
    if not args.skip_generate:
        gen, probs = compare_generate(args)
        results.append(gen)
        problems += probs
    lines = [json.dumps({"load_avg_1m": load, **r}) for r in results]
    for line in lines:
        print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"\nload average (1 min) at start: {load:.2f}")
    if not args.skip_dpo:
        print_dpo(dpo)
    if not args.skip_generate:
        print(f"generation: {gen['setup']}")
        print(f"  brain {gen['brain_tokens_per_s']:.1f} tokens/s, transformers {gen['transformers_tokens_per_s']:.1f}"
              f" tokens/s, ratio brain / transformers {gen['ratio']:.2f}x -> goal (>= 2x) "
              f"{'met' if gen['goal_met'] else 'NOT met'}")
    for prob in problems:
        print("FAIL", prob)
    return 1 if problems else 0


def print_dpo(dpo):
    print(f"DPO {dpo['preset']}: {dpo['steps']} steps x {dpo['pairs_per_step']} pairs, {dpo['prompt_tokens']}+"
          f"{dpo['response_tokens']} tokens, fp32, {dpo['threads']} threads (first step excluded)")
    print(f"  brain dpo     {dpo['brain_pairs_per_s']:8.2f} pairs/s   peak RSS {dpo['brain_peak_rss_mb']:7.0f} MB")
    print(f"  TRL DPO       {dpo['trl_pairs_per_s']:8.2f} pairs/s   peak RSS {dpo['trl_peak_rss_mb']:7.0f} MB")
    print(f"  ratio brain / TRL: {dpo['ratio']:.2f}x throughput, {dpo['memory_ratio']:.2f}x peak memory "
          f"-> goal (>= 1.3x at <= 1.0x memory) {'met' if dpo['goal_met'] else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
