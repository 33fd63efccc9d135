"""Shared helpers of the reliability tests: task files, configs, running `brain` under mpirun, finding
rank processes, an independent checkpoint verifier (protobuf wire format decoded here, hashlib SHA-256),
and the figures each test records for the reliability summary."""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from byte_tokenizer import write_tokenizer  # noqa: E402,F401  (re-exported to the tests)
from run_helpers import final_checkpoint, metrics, same_files, shard_names, write_config  # noqa: E402,F401

FAILURES = []
FIGURES = {"faults_injected": 0, "inputs_tried": 0, "checks": 0}


def check(cond, what):
    FIGURES["checks"] += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def finish(suite, record=True):
    """Writes this suite's figures for reliability_summary (when `record`) and exits non-zero on any failed check."""
    FIGURES["failed_checks"] = len(FAILURES)
    out = os.environ.get("BRAIN_RELIABILITY_FIGURES")
    if out and record:
        os.makedirs(out, exist_ok=True)
        json.dump(FIGURES, open(os.path.join(out, suite + ".json"), "w"))
    print(f"[{suite}] figures: {json.dumps(FIGURES)}")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed:\n  " + "\n  ".join(FAILURES))
        sys.exit(1)
    print(f"all {suite} checks passed")


def write_task(root, prompts=12):
    """A byte-level tokenizer, demonstrations and prompts under `root`."""
    write_tokenizer(os.path.join(root, "tokenizer"))
    rng = np.random.default_rng(0)
    word = lambda k: "".join(rng.choice(list("abcdefgh"), k))
    with open(os.path.join(root, "demos.jsonl"), "w") as f:
        for _ in range(48):
            p = word(4)
            f.write(json.dumps({"prompt": p + ">", "response": p[::-1]}) + "\n")
    with open(os.path.join(root, "prompts.jsonl"), "w") as f:
        for _ in range(prompts):
            f.write(json.dumps({"prompt": word(4) + ">"}) + "\n")


SFT_BODY = """data {{ train_path: "{root}/demos.jsonl" max_prompt_tokens: 8 max_response_tokens: 8 }}
sft {{}}
optimizer {{ learning_rate: 3e-3 max_steps: {steps} micro_batch_size: 4 }}"""

ALIGN_BODY = """data {{ train_path: "{root}/{prompts}" max_prompt_tokens: 8 max_response_tokens: 8 }}
brain {{ num_samples: 4 tau: 1.0 num_rounds: {rounds} prompts_per_round: 6 }}
optimizer {{ learning_rate: 1e-3 schedule: CONSTANT micro_batch_size: 2 }}
sampling {{ max_new_tokens: 6 batch_size: 12 }}"""


def config(root, name, body, policy='preset: "gpt2-tiny"', extra_models='reward { preset: "gpt2-tiny" }',
           every=1, keep=3, timeout_s=None, tokenizer=None, extra=""):
    dist = f"distributed {{ collective_timeout_s: {timeout_s} }}" if timeout_s else ""
    return write_config(root, name, body, policy=policy, extra_models=extra_models, every=every, keep=keep,
                        logging="tensorboard: false", tokenizer=tokenizer, extra=f"{dist}\n{extra}")


class Brain:
    def __init__(self, argv):
        self.brain, self.mpiexec, self.flags = argv[1], argv[2], argv[3:]

    def cmd(self, np_, *args):
        return [self.mpiexec, "-np", str(np_), *self.flags, self.brain, *args]

    def run(self, np_, *args, timeout=300, env=None, expect=None):
        t = time.time()
        try:
            p = subprocess.run(self.cmd(np_, *args), capture_output=True, text=True, timeout=timeout,
                               env=env, errors="replace")
        except subprocess.TimeoutExpired as e:
            print(f"TIMEOUT after {timeout} s: {' '.join(self.cmd(np_, *args))}")
            p = subprocess.CompletedProcess(e.cmd, -999, e.stdout or "", e.stderr or "")
            if isinstance(p.stdout, bytes):
                p.stdout, p.stderr = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        p.seconds = time.time() - t
        if expect is not None and p.returncode != expect:
            print(f"unexpected exit {p.returncode} (wanted {expect}) of {args}\n", p.stdout[-2000:], p.stderr[-4000:])
        return p

    def popen(self, np_, *args, env=None):
        return subprocess.Popen(self.cmd(np_, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, errors="replace", start_new_session=True)


def descendants(pid):
    """pids of all descendants of `pid` (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def rank_pids(mpirun_pid, brain_path):
    """{rank: pid} of the brain processes under mpirun (rank from OMPI_COMM_WORLD_RANK in /proc/PID/environ)."""
    ranks = {}
    for pid in descendants(mpirun_pid):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if os.path.realpath(exe) != os.path.realpath(brain_path):
            continue
        for kv in env:
            if kv.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(kv.split(b"=", 1)[1])] = pid
    return ranks


def alive(pid):
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


# ---- independent checkpoint verification: protobuf wire format decoded by hand, SHA-256 by hashlib
def _varint(b, i):
    shift = value = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, i


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, v


def verify_checkpoint(d):
    """None when checkpoint directory `d` is complete and every file matches manifest.pb (field numbers of
    proto/checkpoint.proto: Manifest.files=1, step=2; ManifestFile.path=1, size=2, sha256=3), else the reason."""
    try:
        manifest = open(os.path.join(d, "manifest.pb"), "rb").read()
        done = open(os.path.join(d, "DONE")).read().strip()
    except OSError as e:
        return str(e)
    if hashlib.sha256(manifest).hexdigest() != done:
        return "DONE does not hold the manifest's SHA-256"
    files, step = [], None
    try:
        for num, v in _fields(manifest):
            if num == 1:
                f = dict(_fields(v))
                files.append((f[1].decode(), f.get(2, 0), f[3].decode()))
            elif num == 2:
                step = v
    except (ValueError, IndexError, KeyError) as e:
        return f"manifest does not parse: {e}"
    if step != int(os.path.basename(d).split("_")[1]):
        return f"manifest step {step}"
    names = {f[0] for f in files}
    if "model.safetensors" not in names or "trainer_state.pb" not in names:
        return "manifest lacks model.safetensors or trainer_state.pb"
    for path, size, sha in files:
        data = open(os.path.join(d, path), "rb").read()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            return f"{path} does not match the manifest"
    return None


def step_dirs(run_dir):
    d = os.path.join(run_dir, "checkpoints")
    return sorted(x for x in os.listdir(d) if x.startswith("step_")) if os.path.isdir(d) else []


def resumed_step(stderr):
    """The checkpoint directory name (step_XXXXXXXX) a run says it resumed from, or None."""
    m = re.search(r"resumed from \S*(step_\d+)", stderr)
    return m.group(1) if m else None


def params_finite(ckpt_dir):
    from safetensors.numpy import load_file
    t = load_file(os.path.join(ckpt_dir, "model.safetensors"))
    return all(np.isfinite(v).all() for v in t.values() if v.dtype.kind == "f")

