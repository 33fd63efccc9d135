"""Shared by the pipeline and reliability tests: the task files, config files and run-directory readers."""
import json
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

from byte_tokenizer import write_tokenizer


class Checks:
    """Prints each check as it runs and remembers the failures."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)

    def finish(self, what):
        """Exits 1 when a check failed, else says that every `what` check passed."""
        if self.failures:
            print(f"{len(self.failures)} check(s) failed")
            sys.exit(1)
        print(f"all {what} checks passed")


def write_task(root, demos=48, pairs=48, prompts=16):
    """A byte-level tokenizer and three JSONL files: reversal demos, preference pairs, prompts."""
    tok = os.path.join(root, "tokenizer")
    write_tokenizer(tok)
    rng = np.random.default_rng(0)
    letters = "abcdefgh"
    word = lambda k: "".join(rng.choice(list(letters), k))
    with open(os.path.join(root, "demos.jsonl"), "w") as f:
        for _ in range(demos):
            p = word(4)
            f.write(json.dumps({"prompt": p + ">", "response": p[::-1]}) + "\n")
    with open(os.path.join(root, "pairs.jsonl"), "w") as f:
        for _ in range(pairs):
            p = word(4)
            f.write(json.dumps({"prompt": p + ">", "chosen": "a" + word(3), "rejected": "h" + word(3)}) + "\n")
    with open(os.path.join(root, "prompts.jsonl"), "w") as f:
        for _ in range(prompts):
            f.write(json.dumps({"prompt": word(4) + ">"}) + "\n")
    return tok


def write_config(root, name, body, policy='preset: "gpt2-tiny"', extra_models="", every=2, keep=2,
                 logging="progress: true", tokenizer=None, extra=""):
    path = os.path.join(root, name + ".textproto")
    tokenizer = tokenizer or os.path.join(root, "tokenizer")
    open(path, "w").write(f"""
name: "{name}"
output_dir: "{os.path.join(root, 'runs', name)}"
seed: 7
models {{ policy {{ {policy} }} {extra_models} tokenizer: "{tokenizer}" max_seq_len: 64 }}
{body}
checkpoint {{ every_steps: {every} keep_last: {keep} }}
logging {{ every_steps: 1 {logging} }}
{extra}
""")
    return path


def run_brain(mpiexec, mpi_flags, brain, *args, np_=2, check_rc=0, **kw):
    """Runs `mpiexec -np np_ brain args...`; prints the output tails when the exit code is not check_rc."""
    cmd = [mpiexec, "-np", str(np_), *mpi_flags, brain, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if check_rc is not None and proc.returncode != check_rc:
        print(proc.stdout[-3000:], proc.stderr[-5000:], sep="\n")
    return proc


def metrics(run_dir):
    """metrics.jsonl as a list of dicts ([] when the run wrote none)."""
    path = os.path.join(run_dir, "metrics.jsonl")
    return [json.loads(l) for l in open(path)] if os.path.exists(path) else []


def final_checkpoint(run_dir):
    steps = sorted(d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step_"))
    return os.path.join(run_dir, "checkpoints", steps[-1])


def same_files(a, b, names=None):
    """Whether the files `names` (default: the model and every optimiser shard, which must be the same
    set in both) are byte-identical in checkpoint directories a and b."""
    if names is None:
        names = shard_names(a)
        if names != shard_names(b):
            return False
    return all(open(os.path.join(a, n), "rb").read() == open(os.path.join(b, n), "rb").read() for n in names)


def shard_names(d):
    return ["model.safetensors"] + sorted(f for f in os.listdir(d) if f.startswith("optimizer_rank_"))


def relative_difference(dir_a, dir_b, name="model.safetensors"):
    """||a - b|| / ||a|| over every tensor of the two files. A global norm, not a per-element maximum: Adam
    turns fp32 round-off in gradients that are zero in exact arithmetic (the attention key bias) into
    lr-sized steps, so single elements may differ at 1e-4 while the models agree to 1e-7."""
    a, b = load_file(os.path.join(dir_a, name)), load_file(os.path.join(dir_b, name))
    if a.keys() != b.keys():
        return float("inf")
    diff = sum(float(np.sum((a[k].astype(np.float64) - b[k]) ** 2)) for k in a)
    norm = sum(float(np.sum(a[k].astype(np.float64) ** 2)) for k in a)
    return (diff / max(norm, 1e-30)) ** 0.5
