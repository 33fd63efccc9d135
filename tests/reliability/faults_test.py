#!/usr/bin/env python3
"""Faults injected into real `brain align` jobs under mpirun; nothing may be lost and nothing may hang.

  1. rank death: kill -9 of rank 1 of a 3-rank job (collective_timeout_s 10) while it trains: every rank
     exits non-zero within the timeout + 10 s, stderr names the lost rank, the newest complete checkpoint
     verifies, and a rerun resumes and ends bitwise equal to an uninterrupted run;
     A SIGSTOPped rank (hung, not dead) must be ended by the collective watchdog within the same bound;
  2. kill -9 while a checkpoint is being written (test hook BRAIN_TEST_CKPT_STALL_STEP stops rank 0 after
     the shards, before manifest/DONE): the partial .tmp_ directory is never used, the previous checkpoint is
     the resume point, the rerun ends bitwise equal;
  3. disk full while writing a shard: injected (BRAIN_TEST_CKPT_ENOSPC_STEP, on rank 1) and real (the
     checkpoints directory on a tmpfs too small for a second checkpoint; skipped when mount is not allowed):
     the job fails with a clear error, the previous checkpoint stays the resume point, the rerun ends equal.
The reference for "same final parameters" is an uninterrupted run of the same config at the same np;
checkpoints are verified by rel_common.verify_checkpoint (manifest decoded and hashed here, not by brain).
Usage: faults_test.py BRAIN MPIEXEC [MPIEXEC_FLAGS...]
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rel_common import (ALIGN_BODY, FIGURES, Brain, alive, check, config, final_checkpoint, finish, metrics,
                        rank_pids, resumed_step, same_files, step_dirs, verify_checkpoint)

B = Brain(sys.argv)
TIMEOUT_S = 10


def align_config(root, name, rounds=4, **kw):
    return config(root, name, ALIGN_BODY.format(root=root, prompts="prompts.jsonl", rounds=rounds),
                  timeout_s=TIMEOUT_S, **kw)


def wait_for(pred, seconds, proc=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def newest_complete(run):
    done = [d for d in step_dirs(run) if os.path.exists(os.path.join(run, "checkpoints", d, "DONE"))]
    return done[-1] if done else None


def resume_and_compare(root, name, np_, reference_run, expect_step, what):
    run = os.path.join(root, "runs", name)
    p = B.run(np_, "align", "--config", os.path.join(root, name + ".textproto"), expect=0)
    resumed = resumed_step(p.stderr)
    check(p.returncode == 0 and resumed == expect_step,
          f"{what}: rerun resumes from {expect_step} (got {resumed}, exit {p.returncode})")
    check(p.returncode == 0 and same_files(final_checkpoint(reference_run), final_checkpoint(run)),
          f"{what}: final model and optimiser shards bitwise equal to the uninterrupted run")
    steps = [x["step"] for x in metrics(run)]
    check(steps == sorted(set(steps)), f"{what}: metrics.jsonl has no duplicate steps after the resume")


def start_3_ranks(root, name, lines):
    """Starts a 3-rank align of config `name`; returns (proc, {rank: pid}) once metrics.jsonl has `lines`
    lines, or (proc, None) when it never gets there (the job is then killed)."""
    cfg = align_config(root, name, rounds=12)  # np 3: 1 step a round; room to act mid-run
    mfile = os.path.join(root, "runs", name, "metrics.jsonl")
    proc = B.popen(3, "align", "--config", cfg)
    started = wait_for(lambda: os.path.exists(mfile) and len(open(mfile).readlines()) >= lines, 240, proc)
    ranks = rank_pids(proc.pid, B.brain)
    if started and sorted(ranks) == [0, 1, 2]:
        return proc, ranks
    proc.kill()
    proc.communicate()
    return proc, None


def signal_rank(proc, ranks, rank, sig):
    """Sends `sig` to `rank` and waits for mpirun and then every rank process, up to TIMEOUT_S + 10 s after the
    signal (mpirun may return while the last ranks are being killed). Returns (stderr, seconds, survivors);
    survivors are killed afterwards so no stopped process is left behind."""
    os.kill(ranks[rank], sig)
    FIGURES["faults_injected"] += 1
    t0 = time.time()
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    wait_for(lambda: not any(alive(pid) for pid in ranks.values()), max(0.0, TIMEOUT_S + 10 - (time.time() - t0)))
    elapsed = time.time() - t0
    survivors = [r for r, pid in ranks.items() if alive(pid)]
    for pid in ranks.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return err, elapsed, survivors


def rank_death(root):
    base = align_config(root, "base3", rounds=12)
    p = B.run(3, "align", "--config", base, expect=0)
    check(p.returncode == 0, f"uninterrupted 3-rank align finishes ({p.seconds:.0f} s)")
    base_run = os.path.join(root, "runs", "base3")
    total = len(metrics(base_run))
    run = os.path.join(root, "runs", "kill3")
    proc, ranks = start_3_ranks(root, "kill3", lines=2)
    if not check(ranks is not None, f"3 ranks found under mpirun: {ranks}"):
        return
    err, elapsed, survivors = signal_rank(proc, ranks, 1, signal.SIGKILL)
    check(proc.returncode != 0 and elapsed <= TIMEOUT_S + 10 and not survivors,
          f"kill -9 rank 1: all ranks gone, mpirun exits {proc.returncode} after {elapsed:.1f} s "
          f"(bound {TIMEOUT_S} + 10 s); survivors {survivors}")
    FIGURES["rank_death_exit_s"] = round(elapsed, 1)
    check(re.search(r"rank 1\b", err) is not None, "stderr names the lost rank (rank 1)")
    newest = newest_complete(run)
    check(newest is not None and verify_checkpoint(os.path.join(run, "checkpoints", newest)) is None,
          f"newest complete checkpoint {newest} verifies (manifest + SHA-256 checked here)")
    step = int(newest.split("_")[1]) if newest else 0
    check(0 < step < total, f"killed mid-run: newest checkpoint step {step} of {total}")
    if newest:
        resume_and_compare(root, "kill3", 3, base_run, newest, "rank death")


def rank_stall(root):
    """SIGSTOP of rank 2 (a hung rank, not a dead one): only the collective watchdog can end the job."""
    run = os.path.join(root, "runs", "stop3")
    proc, ranks = start_3_ranks(root, "stop3", lines=1)
    if not check(ranks is not None, "stalled rank: job started"):
        return
    err, elapsed, survivors = signal_rank(proc, ranks, 2, signal.SIGSTOP)
    check(proc.returncode != 0 and elapsed <= TIMEOUT_S + 10 and not survivors,
          f"SIGSTOP rank 2: the watchdog aborts the job (exit {proc.returncode}) after {elapsed:.1f} s "
          f"(bound {TIMEOUT_S} + 10 s); survivors {survivors}")
    FIGURES["rank_stall_exit_s"] = round(elapsed, 1)
    check("[brain watchdog]" in err and "collective timed out" in err,
          "stderr carries the watchdog report (" + next((l for l in err.splitlines() if "watchdog" in l), "none") + ")")
    newest = newest_complete(run)
    check(newest is None or verify_checkpoint(os.path.join(run, "checkpoints", newest)) is None,
          f"newest complete checkpoint after the abort ({newest}) verifies")


def checkpoint_crash(root, base_run):
    cfg = align_config(root, "stall")
    run = os.path.join(root, "runs", "stall")
    env = dict(os.environ, BRAIN_TEST_CKPT_STALL_STEP="3")
    proc = B.popen(2, "align", "--config", cfg, env=env)
    marker = os.path.join(run, "checkpoints", ".stalled_step_00000003")
    stalled = wait_for(lambda: os.path.exists(marker) and open(marker).read().strip(), 240, proc)
    check(stalled, "rank 0 reached the stall hook inside the step-3 save")
    if not stalled:
        proc.kill()
        proc.communicate()
        return
    os.kill(int(open(marker).read()), signal.SIGKILL)
    FIGURES["faults_injected"] += 1
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    os.remove(marker)
    check(proc.returncode != 0, f"killed while writing: job exits non-zero ({proc.returncode})")
    tmp = os.path.join(run, "checkpoints", ".tmp_step_00000003")
    check(os.path.isdir(tmp) and not os.path.exists(os.path.join(tmp, "DONE")) and
          "step_00000003" not in step_dirs(run), "the partial save is only a .tmp_ directory without DONE")
    check(newest_complete(run) == "step_00000002" and
          verify_checkpoint(os.path.join(run, "checkpoints", "step_00000002")) is None,
          "the previous checkpoint (step 2) is complete and verifies")
    resume_and_compare(root, "stall", 2, base_run, "step_00000002", "killed while checkpointing")


def enospc_injected(root, base_run):
    cfg = align_config(root, "enospc")
    run = os.path.join(root, "runs", "enospc")
    env = dict(os.environ, BRAIN_TEST_CKPT_ENOSPC_STEP="3", BRAIN_TEST_CKPT_ENOSPC_RANK="1")
    p = B.run(2, "align", "--config", cfg, env=env, timeout=240)
    FIGURES["faults_injected"] += 1
    check(p.returncode not in (0, -999) and "No space left on device" in p.stderr,
          f"injected ENOSPC on rank 1: job fails (exit {p.returncode}) with 'No space left on device'")
    check("step_00000003" not in step_dirs(run) and newest_complete(run) == "step_00000002" and
          verify_checkpoint(os.path.join(run, "checkpoints", "step_00000002")) is None,
          "no step-3 checkpoint; step 2 is complete and verifies")
    resume_and_compare(root, "enospc", 2, base_run, "step_00000002", "injected ENOSPC")


def enospc_tmpfs(root, base_run):
    ckpt = final_checkpoint(base_run)
    size = sum(os.path.getsize(os.path.join(ckpt, f)) for f in os.listdir(ckpt))
    run = os.path.join(root, "runs", "tmpfs")
    mnt = os.path.join(run, "checkpoints")
    os.makedirs(mnt)
    # Room for one checkpoint and a half: the second save runs out of space part way through a shard.
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(size * 1.5) // 4096 * 4096}", "tmpfs", mnt],
                       capture_output=True, text=True)
    if m.returncode != 0:
        print(f"skip: real ENOSPC on a tmpfs (mount not allowed here: {m.stderr.strip()})")
        return
    try:
        cfg = align_config(root, "tmpfs")
        p = B.run(2, "align", "--config", cfg, timeout=240)
        FIGURES["faults_injected"] += 1
        check(p.returncode not in (0, -999) and "No space left on device" in p.stderr,
              f"real ENOSPC (tmpfs of {size * 1.5 / 2**20:.1f} MiB): job fails (exit {p.returncode}) "
              "with 'No space left on device'")
        check(step_dirs(run) == ["step_00000001"] and verify_checkpoint(os.path.join(mnt, "step_00000001")) is None,
              f"only step 1 is published and it verifies ({step_dirs(run)})")
        saved = os.path.join(root, "tmpfs_ckpt")
        shutil.copytree(mnt, saved)
    finally:
        subprocess.run(["umount", mnt])
    shutil.rmtree(mnt)
    shutil.copytree(saved, mnt)
    resume_and_compare(root, "tmpfs", 2, base_run, "step_00000001", "real ENOSPC")


def main():
    root = tempfile.mkdtemp(prefix="brain_faults_")
    try:
        from rel_common import write_task
        write_task(root)
        rank_death(root)
        rank_stall(root)
        base = align_config(root, "base2")
        p = B.run(2, "align", "--config", base, expect=0)
        check(p.returncode == 0, f"uninterrupted 2-rank align finishes ({p.seconds:.0f} s)")
        base_run = os.path.join(root, "runs", "base2")
        checkpoint_crash(root, base_run)
        enospc_injected(root, base_run)
        enospc_tmpfs(root, base_run)
    finally:
        for line in open("/proc/mounts"):
            if root in line:
                subprocess.run(["umount", line.split()[1]])
        shutil.rmtree(root, ignore_errors=True)
    finish("faults")


if __name__ == "__main__":
    main()
