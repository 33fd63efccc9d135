#!/usr/bin/env python3
"""Corrupted checkpoints: flipped bytes and truncation in a shard, the trainer state or the manifest, and a
bad DONE marker. Each must be detected by checksum with a message naming the file and the reason; the
resume falls back to the previous complete checkpoint and the run ends bitwise equal to an uninterrupted
one (`brain sft`, np 2; checkpoints at steps 2 and 4 of 6). With every checkpoint corrupted the run starts
over and still ends equal. Usage: corruption_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import (FIGURES, SFT_BODY, Brain, check, config, final_checkpoint, finish, resumed_step,
                        same_files, verify_checkpoint, write_task)

B = Brain(sys.argv)


def flip(path, where=0.5):
    data = bytearray(open(path, "rb").read())
    i = min(len(data) - 1, int(len(data) * where))
    data[i] ^= 0x5A
    open(path, "wb").write(bytes(data))


def truncate(path, keep=0.5):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:int(len(data) * keep)])


# (name, files to damage under step_4 (and step_2 for "all"), damage, words the skip message must contain)
CASES = [
    ("model_flip", ["model.safetensors"], flip, ["model.safetensors", "SHA-256 mismatch"]),
    ("model_header_flip", ["model.safetensors"], lambda p: flip(p, 0.0001), ["model.safetensors", "SHA-256"]),
    ("shard_truncated", ["optimizer_rank_00001.safetensors"], truncate,
     ["optimizer_rank_00001.safetensors", "truncated"]),
    ("state_flip", ["trainer_state.pb"], flip, ["trainer_state.pb", "SHA-256 mismatch"]),
    ("manifest_flip", ["manifest.pb"], flip, ["manifest.pb", "DONE"]),
    ("manifest_empty", ["manifest.pb"], lambda p: truncate(p, 0), ["manifest.pb", "DONE"]),
    ("manifest_missing", ["manifest.pb"], os.remove, ["manifest.pb"]),
    ("done_garbage", ["DONE"], lambda p: open(p, "w").write("not a digest\n"), ["manifest.pb", "DONE"]),
]


def main():
    root = tempfile.mkdtemp(prefix="brain_corruption_")
    try:
        write_task(root)
        body = SFT_BODY.format(root=root, steps=6)
        p = B.run(2, "sft", "--config", config(root, "base", body, extra_models="", every=2), expect=0)
        base_run = os.path.join(root, "runs", "base")
        check(p.returncode == 0, f"uninterrupted sft finishes ({p.seconds:.0f} s)")
        p = B.run(2, "sft", "--config", config(root, "part", body, extra_models="", every=2),
                  "--stop-after-steps", "4", expect=75)
        part = os.path.join(root, "runs", "part")
        ck = lambda run, s: os.path.join(run, "checkpoints", f"step_{s:08d}")
        check(p.returncode == 75 and verify_checkpoint(ck(part, 2)) is None and verify_checkpoint(ck(part, 4)) is None,
              "sft --stop-after-steps 4: checkpoints 2 and 4 written and verified")
        cases = CASES + [("all_corrupt", ["model.safetensors"], flip, ["model.safetensors", "SHA-256 mismatch"])]
        for name, files, damage, words in cases:
            run = os.path.join(root, "runs", name)
            shutil.copytree(part, run)
            os.remove(os.path.join(run, "config.textproto"))  # names part's output_dir
            for f in files:
                damage(os.path.join(ck(run, 4), f))
                if name == "all_corrupt":
                    damage(os.path.join(ck(run, 2), f))
            FIGURES["faults_injected"] += 1
            check(verify_checkpoint(ck(run, 4)) is not None, f"{name}: the damage is real (independent verifier)")
            p = B.run(2, "sft", "--config", config(root, name, body, extra_models="", every=2))
            skip = [l for l in p.stderr.splitlines() if "skipping" in l and "step_00000004" in l]
            check(len(skip) == 1 and all(w in skip[0] for w in words),
                  f"{name}: step 4 skipped with a clear message ({skip[0].strip() if skip else 'none'})")
            want = None if name == "all_corrupt" else "step_00000002"
            check(resumed_step(p.stderr) == want, f"{name}: resumes from {want or 'scratch'}")
            check(p.returncode == 0 and same_files(final_checkpoint(base_run), final_checkpoint(run)),
                  f"{name}: run finishes (exit {p.returncode}), final shards bitwise equal to the uninterrupted run")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    finish("corruption")


if __name__ == "__main__":
    main()
