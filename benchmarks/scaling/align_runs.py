"""Sets up a small BRAIn world (byte tokenizer, random prompts, a random GPT-2) and times `brain align`
runs under mpirun from their metrics.jsonl (per-round wall time and the trainer's phase timers)."""
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))
from byte_tokenizer import write_tokenizer  # noqa: E402

VOCAB = 257  # 256 bytes + <|endoftext|>


def write_world(root, hidden, layers, heads, prompts=512, prompt_len=6):
    """tokenizer/, prompts.jsonl and model/ (a random GPT-2, HF format) under root; returns the param count."""
    write_tokenizer(os.path.join(root, "tokenizer"))
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnop")
    with open(os.path.join(root, "prompts.jsonl"), "w") as f:
        for _ in range(prompts):
            f.write(json.dumps({"prompt": "".join(rng.choice(letters, prompt_len)) + ">"}) + "\n")
    return write_gpt2(os.path.join(root, "model"), hidden, layers, heads)


def write_gpt2(out, hidden, layers, heads, positions=64, seed=0):
    """A random GPT-2 in HF format (config.json + model.safetensors, HF's key names and Conv1D [in, out]
    layout, tied embeddings), written with numpy: importing transformers would cost ~10-30 s on a busy
    machine. Returns the parameter count."""
    from safetensors.numpy import save_file
    rng = np.random.default_rng(seed)
    d = hidden
    normal = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
    t = {"transformer.wte.weight": normal(VOCAB, d), "transformer.wpe.weight": normal(positions, d),
         "transformer.ln_f.weight": np.ones(d, np.float32), "transformer.ln_f.bias": np.zeros(d, np.float32)}
    for i in range(layers):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            t[p + ln + ".weight"], t[p + ln + ".bias"] = np.ones(d, np.float32), np.zeros(d, np.float32)
        for name, (fan_in, fan_out) in {"attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d),
                                        "mlp.c_fc": (d, 4 * d), "mlp.c_proj": (4 * d, d)}.items():
            t[p + name + ".weight"], t[p + name + ".bias"] = normal(fan_in, fan_out), np.zeros(fan_out, np.float32)
    os.makedirs(out, exist_ok=True)
    save_file(t, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB,
              "n_positions": positions, "n_embd": d, "n_layer": layers, "n_head": heads, "n_inner": None,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 256,
              "eos_token_id": 256, "tie_word_embeddings": True, "torch_dtype": "float32"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    return int(sum(v.size for v in t.values()))


def write_config(root, name, prompts_per_round, micro_batch, rounds, samples, new_tokens):
    path = os.path.join(root, name + ".textproto")
    with open(path, "w") as f:
        f.write(f"""name: "{name}"
output_dir: "{os.path.join(root, 'runs', name)}"
seed: 1
models {{ policy {{ path: "{root}/model" }} reward {{ path: "{root}/model" }}
         tokenizer: "{root}/tokenizer" max_seq_len: 64 }}
data {{ train_path: "{root}/prompts.jsonl" max_prompt_tokens: 8 max_response_tokens: {new_tokens} }}
brain {{ num_samples: {samples} tau: 1.0 num_rounds: {rounds} prompts_per_round: {prompts_per_round} }}
optimizer {{ learning_rate: 1e-4 schedule: CONSTANT micro_batch_size: {micro_batch} }}
sampling {{ max_new_tokens: {new_tokens} min_new_tokens: {new_tokens} batch_size: 64 }}
distributed {{ threads_per_rank: 1 }}
checkpoint {{ every_steps: 0 keep_last: 1 }}
logging {{ every_steps: 1 progress: false tensorboard: false }}
""")
    return path


def summarize(metrics_path, steps_per_round, rounds):
    """The fastest of rounds 1..rounds-1 (round 0 is warm-up: first touches, allocator growth; the minimum
    is the round least disturbed by other processes on a shared machine), its phases from the same round.
    round_s = wall time between the last logged steps of consecutive rounds (sampling, scoring, the
    sample cache write and every step); phases from rank 0's timers (sample and score are logged with
    the round's first step; train = forward+backward, sync = gradient all-reduce wait + optimiser)."""
    lines = [json.loads(l) for l in open(metrics_path)]
    by_step = {int(l["step"]): l for l in lines}
    expect = steps_per_round * rounds
    if sorted(by_step) != list(range(1, expect + 1)):
        raise RuntimeError(f"{metrics_path}: expected steps 1..{expect}, got {sorted(by_step)}")
    acc = {k: [] for k in ("round_s", "step_s", "sample_s", "score_s", "train_s", "sync_s", "tokens")}
    for r in range(1, rounds):
        steps = [by_step[r * steps_per_round + i + 1] for i in range(steps_per_round)]
        acc["round_s"].append(steps[-1]["time"] - by_step[r * steps_per_round]["time"])
        acc["step_s"].append(np.mean([s["step_seconds"] for s in steps]))
        acc["sample_s"].append(sum(s.get("time_sample", 0.0) for s in steps))
        acc["score_s"].append(sum(s.get("time_score", 0.0) for s in steps))
        acc["train_s"].append(sum(s.get("time_train", 0.0) for s in steps) / steps_per_round)
        acc["sync_s"].append(sum(s.get("time_sync", 0.0) for s in steps) / steps_per_round)
        acc["tokens"].append(sum(s["tokens"] for s in steps))
    best = int(np.argmin(acc["round_s"]))  # the least disturbed round (the machine is shared)
    out = {k: float(v[best]) for k, v in acc.items()}
    out["other_s"] = out["round_s"] - out["sample_s"] - out["score_s"] - steps_per_round * out["step_s"]
    return out


def run_align(brain, mpiexec, mpi_flags, np_, config, timeout=600):
    cmd = [mpiexec, "-np", str(np_), *mpi_flags, brain, "align", "--config", config]
    load_before = os.getloadavg()[0]
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return {"wall_s": wall, "load_before": load_before, "load_after": os.getloadavg()[0]}
