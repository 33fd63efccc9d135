"""End-to-end benchmark of the real `brain` CLI: one BRAIn round (`brain align`) and one DPO epoch (`brain dpo`)
per model, with per-phase time, tokens/s, share and MFU against a GEMM peak measured in the same run.

usage: run_e2e.py --brain BUILD/bin/brain --gemm-peak BUILD/bin/benchmarks/gemm_peak [--threads 2]
                  [--models gpt2-124m,llama-150m] [--json-out FILE] [--workdir DIR] [--keep] [--smoke]

Models are random, with GPT-2's real vocabulary (50,257; tokenizer /work/shared/data/gpt2 or --tokenizer):
  gpt2-124m   `brain create-model --preset gpt2-124m`
  llama-150m  LlamaForCausalLM(hidden 768, 12 layers, 12 heads / 4 KV heads, ffn 2048, untied head), saved by
              transformers (150M parameters, 114M of them in matrix products per token)
  --smoke     gpt2-tiny and llama-tiny presets, tiny data (a few seconds per run)
The reward model is the policy's directory loaded as a reward model (brain adds a seeded score head).
Prompts and responses are longer than max_prompt_tokens / max_response_tokens, so every sequence has exactly
P prompt and R response tokens (R counts the EOS brain appends) and there is no padding.

Phases, read from each run's metrics.jsonl (trainer timers; core/train/trainer_observer.h):
  sample      time_sample (first step of the round): generating n responses per prompt
  score       time_score: prior log-probs and reward of every sample
  reference   DPO: step_seconds - time_train - time_sync - time_optimizer: the frozen reference's log-probs
              of each pair (DpoTask::MakeBatch), batch packing and the step's small all-reduces
  train       time_train: policy forward + backward over the step's micro-batches
  grad_sync   time_sync: what remains of the stage-0 gradient all-reduce after backward (it overlaps the
              last micro-batch's backward) and the global loss sum; ~0 at np 1
  optimizer   time_optimizer: AdamW (global grad norm, clipping, update; at stage 1/3 also the gradient
              reduce-scatter and parameter all-gather)
  checkpoint  time_checkpoint, per save (2 steps, a save after each; the first save shows in step 2's line);
              a round / epoch counts one save
MFU = model FLOPs of the phase (model_flops.py) / phase seconds / peak, where peak = the best fp32 GEMM
GFLOP/s of gemm_peak at this model's shapes (rows = one micro-batch's tokens) with the same thread count,
measured just before the model's runs.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from measure import run_measured, tail  # noqa: E402
from model_flops import ModelShape  # noqa: E402

DEFAULT_TOKENIZER = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "gpt2"))
WORDS = ("the of and to in is was for that on as with by at from his an are were which this be or had "
         "not but first one their its new after who they have her she two been other when there all "
         "during into school time may years more most only over city some world would where later up "
         "such used many can state about national out known university united then made").split()

# name -> how to make it; sizes: P prompt tokens, R response tokens, BRAIn prompts x n, DPO pairs, micro-batches
FULL = {"P": 32, "R": 32, "prompts": 4, "n": 4, "brain_micro": 2, "pairs": 8, "dpo_micro": 4}
SMOKE = {"P": 8, "R": 8, "prompts": 2, "n": 2, "brain_micro": 1, "pairs": 4, "dpo_micro": 2}
LLAMA_150M = dict(vocab_size=50257, hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                  num_attention_heads=12, num_key_value_heads=4, head_dim=64, max_position_embeddings=1024,
                  tie_word_embeddings=False, bos_token_id=50256, eos_token_id=50256, rms_norm_eps=1e-6)


def text(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))


def write_data(root, size, seed=0):
    import random
    rng = random.Random(seed)
    # Each word is one GPT-2 token; 2x the limit guarantees truncation to exactly P / R tokens.
    with open(os.path.join(root, "prompts.jsonl"), "w") as f:
        for _ in range(size["prompts"]):
            f.write(json.dumps({"prompt": text(rng, 2 * size["P"])}) + "\n")
    with open(os.path.join(root, "pairs.jsonl"), "w") as f:
        for _ in range(size["pairs"]):
            f.write(json.dumps({"prompt": text(rng, 2 * size["P"]), "chosen": text(rng, 2 * size["R"]),
                                "rejected": text(rng, 2 * size["R"])}) + "\n")


def make_model(brain, name, out):
    if name == "llama-150m":
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM
        torch.manual_seed(1)
        LlamaForCausalLM(LlamaConfig(**LLAMA_150M)).save_pretrained(out)
        return
    proc = subprocess.run([brain, "create-model", "--preset", name, "--out", out], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"brain create-model --preset {name} failed: {proc.stderr[-2000:]}")


def config_text(root, algo, model_dir, tokenizer, size, threads):
    P, R = size["P"], size["R"]
    common = f"""name: "{algo}"
output_dir: "{root}/runs/{algo}"
seed: 1
models {{ policy {{ path: "{model_dir}" }} {{REWARD}} tokenizer: "{tokenizer}" max_seq_len: {P + R} dtype: FLOAT32 }}
checkpoint {{ every_steps: 1 keep_last: 1 }}
logging {{ every_steps: 1 progress: false tensorboard: false }}
distributed {{ threads_per_rank: {threads} }}
"""
    if algo == "align":
        body = f"""data {{ train_path: "{root}/prompts.jsonl" max_prompt_tokens: {P} max_response_tokens: {R} shuffle: false }}
brain {{ num_samples: {size['n']} tau: 1.0 num_rounds: 1 prompts_per_round: {size['prompts']} }}
optimizer {{ learning_rate: 1e-5 schedule: CONSTANT micro_batch_size: {size['brain_micro']} }}
sampling {{ max_new_tokens: {R} batch_size: {size['prompts'] * size['n']} }}
"""
        return common.replace("{REWARD}", f'reward {{ path: "{model_dir}" }}') + body
    body = f"""data {{ train_path: "{root}/pairs.jsonl" max_prompt_tokens: {P} max_response_tokens: {R} shuffle: false }}
dpo {{ beta: 0.1 }}
optimizer {{ learning_rate: 1e-5 schedule: CONSTANT micro_batch_size: {size['dpo_micro']} }}
"""
    return common.replace("{REWARD}", "") + body


def gemm_peak(tool, shape, rows, threads, min_seconds):
    shapes = ",".join(f"{m}x{k}x{n}" for m, k, n in shape.gemm_shapes(rows))
    out = subprocess.run([tool, "--threads", str(threads), "--shapes", shapes, "--min-seconds", str(min_seconds)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def count_parameters(model_dir):
    from safetensors import safe_open
    params = 0
    with safe_open(os.path.join(model_dir, "model.safetensors"), "np") as f:
        for key in f.keys():
            count = 1
            for dim in f.get_slice(key).get_shape():
                count *= dim
            params += count
    return params


def checkpoint_bytes(run_dir):
    ckpts = os.path.join(run_dir, "checkpoints")
    steps = sorted(d for d in os.listdir(ckpts) if d.startswith("step_"))
    d = os.path.join(ckpts, steps[-1])
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def phases_of_run(algo, lines, shape, size, peak_flops, ckpt_bytes, params):
    """Per-phase dicts (seconds for one round / epoch, tokens, flops) from the run's metrics lines."""
    P, R, n = size["P"], size["R"], size["n"]
    sum_of = lambda key: sum(l.get(key, 0.0) for l in lines)
    train_tokens = sum_of("tokens")
    saves = [l["time_checkpoint"] for l in lines if "time_checkpoint" in l]
    phases = []
    if algo == "align":
        prompts = size["prompts"]
        new = lines[0]["round_response_length"]  # mean response length (EOS included when drawn)
        S = P + new
        phases.append(("sample", lines[0]["time_sample"], prompts * n * new, prompts * shape.sampling(P, new, n)))
        score_flops = prompts * n * (shape.forward(S, new) + shape.forward(S, 0))
        phases.append(("score", lines[0]["time_score"], 2 * prompts * n * S, score_flops))
        seqs = train_tokens / S
    else:
        S = P + R
        seqs = train_tokens / S
        other = sum(l["step_seconds"] - l.get("time_train", 0) - l.get("time_sync", 0) - l.get("time_optimizer", 0)
                    for l in lines)
        phases.append(("reference", other, train_tokens, seqs * shape.forward(S, R)))
        new = R
    phases.append(("train", sum_of("time_train"), train_tokens, seqs * shape.training(S, new)))
    phases.append(("grad_sync", sum_of("time_sync"), 0, 0.0))
    phases.append(("optimizer", sum_of("time_optimizer"), 0, 0.0))
    phases.append(("checkpoint", sum(saves) / len(saves) if saves else float("nan"), 0, 0.0))
    total = sum(p[1] for p in phases)
    rows = []
    for name, seconds, tokens, flops in phases:
        row = {"phase": name, "seconds": seconds, "share": seconds / total if total > 0 else 0.0,
               "tokens": tokens, "tokens_per_s": tokens / seconds if seconds > 0 and tokens else None,
               "gflops": flops / 1e9, "mfu": flops / seconds / peak_flops if seconds > 0 and flops else None}
        if name == "checkpoint":
            row["bytes"] = ckpt_bytes
            row["mb_per_s"] = ckpt_bytes / 1e6 / seconds if seconds > 0 else None
        if name == "optimizer":
            row["params_per_s"] = params * len(lines) / seconds if seconds > 0 else None
        rows.append(row)
    flops = sum(p[3] for p in phases)
    expected = size["prompts"] * n * (P + new) if algo == "align" else size["pairs"] * 2 * (P + R)
    summary = {"seconds": total, "steps": len(lines), "train_tokens": train_tokens, "expected_tokens": expected,
               "mfu": flops / total / peak_flops if total > 0 else None, "gflops": flops / 1e9}
    return rows, summary


def run_model(args, name, size, root):
    model_dir = os.path.join(root, "model")
    make_model(args.brain, name, model_dir)
    shape = ModelShape(model_dir)
    params = count_parameters(model_dir)
    write_data(root, size)
    rows_per_micro = max(size["brain_micro"] * size["n"], 2 * size["dpo_micro"]) * (size["P"] + size["R"])
    peak = gemm_peak(args.gemm_peak, shape, rows_per_micro, args.threads, 0.1 if args.smoke else 0.4)
    peak_flops = peak["peak_gflops"] * 1e9
    results = []
    for algo in ("align", "dpo"):
        cfg = os.path.join(root, f"{algo}.textproto")
        with open(cfg, "w") as f:
            f.write(config_text(root, algo, model_dir, args.tokenizer, size, args.threads))
        log = os.path.join(root, f"{algo}.log")
        run = run_measured([args.brain, algo, "--config", cfg], log_path=log, timeout=900)
        if run["returncode"] != 0:
            raise RuntimeError(f"brain {algo} on {name} exited {run['returncode']}:\n{tail(log)}")
        run_dir = os.path.join(root, "runs", algo)
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        rows, summary = phases_of_run(algo, lines, shape, size, peak_flops, checkpoint_bytes(run_dir), params)
        summary.update({"model": name, "algo": "brain_round" if algo == "align" else "dpo_epoch",
                        "process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
                        "threads": args.threads, "peak_gflops": peak["peak_gflops"], "params": params,
                        "shape": shape.describe(), "P": size["P"], "R": size["R"]})
        results.append((summary, rows))
        shutil.rmtree(run_dir, ignore_errors=True)
    return peak, results


def check_results(results):
    """Smoke checks: every phase present with a positive time (grad_sync: 0 at np 1), MFU in (0, 1.5)."""
    problems = []
    for summary, rows in results:
        names = [r["phase"] for r in rows]
        want = (["sample", "score"] if summary["algo"] == "brain_round" else ["reference"]) + \
            ["train", "grad_sync", "optimizer", "checkpoint"]
        if names != want:
            problems.append(f"{summary['model']} {summary['algo']}: phases {names}, want {want}")
        for r in rows:
            if r["phase"] != "grad_sync" and not (r["seconds"] > 0):
                problems.append(f"{summary['model']} {summary['algo']} {r['phase']}: time {r['seconds']}")
            if r["mfu"] is not None and not (0 < r["mfu"] < 1.5):
                problems.append(f"{summary['model']} {summary['algo']} {r['phase']}: MFU {r['mfu']}")
        if abs(summary["train_tokens"] - summary["expected_tokens"]) > 1e-6 * summary["expected_tokens"]:
            problems.append(f"{summary['model']} {summary['algo']}: trained {summary['train_tokens']} tokens, "
                            f"the data's shape gives {summary['expected_tokens']} (FLOP counts would be wrong)")
        if not (summary["peak_gflops"] > 0 and summary["mfu"] and 0 < summary["mfu"] < 1.5):
            problems.append(f"{summary['model']} {summary['algo']}: bad summary {summary}")
    return problems


def print_table(peak_by_model, results):
    for summary, rows in results:
        print(f"\n{summary['model']} {summary['algo']}: {summary['steps']} steps, {summary['seconds']:.2f} s "
              f"(process {summary['process_seconds']:.1f} s, peak RSS {summary['peak_rss_mb']:.0f} MB), "
              f"MFU {100 * summary['mfu']:.1f}% of {summary['peak_gflops']:.1f} GFLOP/s GEMM peak, "
              f"{summary['threads']} threads")
        print(f"  {'phase':<11}{'seconds':>9}{'share':>8}{'tokens':>8}{'tok/s':>9}{'GFLOP':>9}{'MFU':>8}")
        for r in rows:
            tps = f"{r['tokens_per_s']:.0f}" if r["tokens_per_s"] else "-"
            mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] else "-"
            extra = ""
            if r["phase"] == "checkpoint" and r.get("mb_per_s"):
                extra = f"  ({r['bytes'] / 1e6:.0f} MB per save, {r['mb_per_s']:.0f} MB/s)"
            if r["phase"] == "grad_sync":
                extra = "  (np 1: no gradient communication)"
            print(f"  {r['phase']:<11}{r['seconds']:9.2f}{100 * r['share']:7.1f}%{r['tokens']:8.0f}{tps:>9}"
                  f"{r['gflops']:9.1f}{mfu:>8}{extra}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brain", required=True)
    p.add_argument("--gemm-peak", required=True)
    p.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default=None, help="comma-separated (default gpt2-124m,llama-150m)")
    p.add_argument("--json-out", default=None, help="also write the JSON lines here")
    p.add_argument("--workdir", default=None)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    args.brain, args.gemm_peak = os.path.abspath(args.brain), os.path.abspath(args.gemm_peak)
    size = SMOKE if args.smoke else FULL
    models = (args.models or ("gpt2-tiny,llama-tiny" if args.smoke else "gpt2-124m,llama-150m")).split(",")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = -1
    work = args.workdir or tempfile.mkdtemp(prefix="brain_e2e_")
    all_results, peaks, lines = [], {}, []
    try:
        for name in models:
            root = os.path.join(work, name)
            os.makedirs(root, exist_ok=True)
            peak, results = run_model(args, name, size, root)
            peaks[name] = peak
            all_results += results
            new_lines = []
            for summary, rows in results:
                new_lines.append(json.dumps({"kind": "summary", "load_avg_1m": load, **summary}))
                for r in rows:
                    new_lines.append(json.dumps({"kind": "phase", "model": summary["model"],
                                                 "algo": summary["algo"], **r}))
            new_lines.append(json.dumps({"kind": "gemm_peak", "model": name, **peak}))
            print("\n".join(new_lines), flush=True)  # each model as soon as it is done
            lines += new_lines
            if args.json_out:
                with open(args.json_out, "w") as f:
                    f.write("\n".join(lines) + "\n")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average (1 min) at start: {load:.2f}; sizes: P={size['P']} prompt + R={size['R']} response "
          f"tokens; BRAIn {size['prompts']} prompts x n={size['n']}; DPO {size['pairs']} pairs")
    print_table(peaks, all_results)
    problems = check_results(all_results)
    for prob in problems:
        print("FAIL", prob)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
