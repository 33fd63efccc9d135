#!/usr/bin/env python3
"""Strong and weak scaling of `brain align` over np = 1, 2, 4 (4 is oversubscribed on 2 cores), collective
bus bandwidth vs message size (collectives_bench at np 2 and 4), a CSV, a PNG plot, and the projection
model's predicted-vs-measured check (project/project.py).

  python benchmarks/scaling/run_scaling.py --brain build/bin/brain [--out DIR] [--smoke]

Strong: a fixed global round (prompts_per_round) and global batch per step (micro_batch = batch / np).
Weak: a fixed number of prompts (and micro-batch) per rank. One rank = one thread (threads_per_rank 1),
so np ranks use min(np, cores) cores. --smoke: np 1 and 2, a tiny model, a few seconds per run; exits 1
unless the CSV has every row and every efficiency is finite and positive.
"""
import argparse
import csv
import math
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "project"))
import align_runs  # noqa: E402
import collectives  # noqa: E402

FIELDS = ["section", "np", "oversubscribed", "cores", "params", "prompts_per_round", "samples", "micro_batch",
          "steps_per_round", "tokens_per_round", "round_s", "step_s", "sample_s", "score_s", "train_s", "sync_s",
          "other_s", "speedup", "efficiency", "efficiency_per_core", "load_before", "load_after",
          "collective", "bytes", "time_us", "busbw_gbs"]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brain", required=True, help="the brain binary (build/bin/brain)")
    ap.add_argument("--collectives-bench", help="default: BRAIN's dir/benchmarks/collectives_bench")
    ap.add_argument("--mpiexec", default=shutil.which("mpirun") or "mpirun")
    ap.add_argument("--mpi-flags", default=None, help="default: --oversubscribe (+ --allow-run-as-root as root)")
    ap.add_argument("--out", default=None, help="output directory (default: a new temporary directory)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    return ap.parse_args()


def sizes(smoke):
    if smoke:
        return dict(ranks=[1, 2], hidden=32, layers=2, heads=2, rounds=2, samples=4, new_tokens=8,
                    strong_prompts=8, strong_batch=4, weak_prompts=4, weak_micro=2, max_bytes=1 << 16)
    return dict(ranks=[1, 2, 4], hidden=128, layers=4, heads=4, rounds=3, samples=8, new_tokens=16,
                strong_prompts=32, strong_batch=8, weak_prompts=16, weak_micro=4, max_bytes=16 << 20)


def align_rows(args, s, root, params, mpi_flags):
    rows = []
    for section in ("strong", "weak"):
        base = None
        for np_ in s["ranks"]:
            if section == "strong":
                prompts, micro = s["strong_prompts"], s["strong_batch"] // np_
            else:
                prompts, micro = s["weak_prompts"] * np_, s["weak_micro"]
            steps = prompts // (micro * np_)
            name = f"{section}_np{np_}"
            config = align_runs.write_config(root, name, prompts, micro, s["rounds"], s["samples"], s["new_tokens"])
            info = align_runs.run_align(args.brain, args.mpiexec, mpi_flags, np_, config)
            m = align_runs.summarize(os.path.join(root, "runs", name, "metrics.jsonl"), steps, s["rounds"])
            if base is None:
                base = m["round_s"]
            speedup = base / m["round_s"] * (np_ if section == "weak" else 1)
            eff = speedup / np_
            row = dict(section=section, np=np_, oversubscribed=int(np_ > args.cores), cores=args.cores,
                       params=params, prompts_per_round=prompts, samples=s["samples"], micro_batch=micro,
                       steps_per_round=steps, tokens_per_round=m["tokens"], speedup=speedup, efficiency=eff,
                       efficiency_per_core=speedup / min(np_, args.cores),
                       load_before=info["load_before"], load_after=info["load_after"])
            row.update({k: m[k] for k in ("round_s", "step_s", "sample_s", "score_s", "train_s", "sync_s",
                                          "other_s")})
            rows.append(row)
            flag = "  OVERSUBSCRIBED (%d ranks on %d cores)" % (np_, args.cores) if np_ > args.cores else ""
            print(f"{section:6s} np {np_}: round {m['round_s']:.3f} s (sample {m['sample_s']:.3f}, score "
                  f"{m['score_s']:.3f}, {steps} steps x {m['step_s']:.3f} s: train {m['train_s']:.3f} sync "
                  f"{m['sync_s']:.3f}), efficiency {eff:.2f}, load {info['load_before']:.1f}->"
                  f"{info['load_after']:.1f}{flag}", flush=True)
    return rows


def plot(rows, path, cores):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for section, marker in (("strong", "o-"), ("weak", "s-")):
        pts = [(r["np"], r["efficiency"]) for r in rows if r["section"] == section]
        a.plot([p for p, _ in pts], [e for _, e in pts], marker, label=f"{section} scaling")
    ranks = sorted({r["np"] for r in rows if r["section"] == "strong"})
    a.plot(ranks, [min(1.0, cores / p) for p in ranks], "k:", label=f"ceiling with {cores} cores")
    if max(ranks) > cores:
        a.axvspan(cores + 0.5, max(ranks) + 0.5, color="0.9", label="oversubscribed")
    a.set_xlabel("MPI ranks (1 thread each)")
    a.set_ylabel("efficiency")
    a.set_xticks(ranks)
    a.set_ylim(0, 1.2)
    a.set_title("brain align: round-time efficiency")
    a.legend(fontsize=8)
    for r_np in sorted({r["np"] for r in rows if r["section"] == "busbw"}):
        for op, style in (("all_reduce", "-"), ("reduce_scatter", "--"), ("all_gather", ":")):
            pts = [(r["bytes"], r["busbw_gbs"]) for r in rows
                   if r["section"] == "busbw" and r["np"] == r_np and r["collective"] == op]
            if pts:
                b.plot([x for x, _ in pts], [max(y, 1e-6) for _, y in pts], style, marker=".",
                       label=f"{op} np {r_np}" + (" (oversub.)" if r_np > cores else ""))
    b.set_xscale("log", base=2)
    b.set_yscale("log")
    b.set_xlabel("message size (bytes)")
    b.set_ylabel("bus bandwidth (GB/s)")
    b.set_title("MPI collectives (collectives_bench)")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def check(rows, s):
    """Smoke/full acceptance: every row present, efficiencies finite and positive."""
    problems = []
    for section in ("strong", "weak"):
        got = sorted(r["np"] for r in rows if r["section"] == section)
        if got != s["ranks"]:
            problems.append(f"{section}: ranks {got}, expected {s['ranks']}")
    for r in rows:
        if r["section"] in ("strong", "weak"):
            for k in ("efficiency", "round_s", "step_s"):
                if not (math.isfinite(r[k]) and r[k] > 0):
                    problems.append(f"{r['section']} np {r['np']}: {k} = {r[k]}")
    bw_nps = [p for p in s["ranks"] if p > 1] if s is not None else []
    for p in bw_nps:
        for op in collectives.OPS:
            if not any(r["section"] == "busbw" and r["np"] == p and r["collective"] == op for r in rows):
                problems.append(f"busbw: no {op} rows at np {p}")
    return problems


def main():
    args = parse_args()
    s = sizes(args.smoke)
    mpi_flags = args.mpi_flags.split() if args.mpi_flags is not None else (
        ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else []))
    bench = args.collectives_bench or os.path.join(os.path.dirname(os.path.abspath(args.brain)), "benchmarks",
                                                   "collectives_bench")
    out = args.out or tempfile.mkdtemp(prefix="brain_scaling_")
    os.makedirs(out, exist_ok=True)
    root = tempfile.mkdtemp(prefix="brain_scaling_world_")
    start = time.time()
    print(f"# brain align scaling ({'smoke' if args.smoke else 'full'}); {args.cores} cores; load average "
          f"{' '.join('%.2f' % x for x in os.getloadavg())} at start (the machine may be shared)", flush=True)
    try:
        params = align_runs.write_world(root, s["hidden"], s["layers"], s["heads"])
        print(f"# model: random GPT-2 d={s['hidden']} L={s['layers']} vocab {align_runs.VOCAB}, {params} params; "
              f"{s['samples']} samples/prompt x {s['new_tokens']} new tokens; {s['rounds']} rounds, round 0 "
              f"dropped as warm-up", flush=True)
        rows = align_rows(args, s, root, params, mpi_flags)
        overheads = []
        for np_ in [p for p in s["ranks"] if p > 1]:
            bw, overhead = collectives.run(args.mpiexec, mpi_flags, bench, np_, args.smoke, s["max_bytes"],
                                           few_iterations=np_ > args.cores)
            rows += [dict(section="busbw", oversubscribed=int(np_ > args.cores), cores=args.cores, **r) for r in bw]
            overheads.append(f"np {np_}: {overhead}")
            big = max(bw, key=lambda r: (r["collective"] == "all_reduce", r["bytes"]))
            print(f"busbw  np {np_}: all_reduce {big['bytes']} B: {big['busbw_gbs']:.3f} GB/s, "
                  f"{big['time_us']:.0f} us" + ("  OVERSUBSCRIBED" if np_ > args.cores else ""), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"# run directories kept in {root}")
    csv_path, png_path = os.path.join(out, "scaling.csv"), os.path.join(out, "scaling.png")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})
    plot(rows, png_path, args.cores)
    for line in overheads:
        print(f"# gradient sync (collectives_bench, gpt2-tiny) {line}")
    import project
    project.validate(csv_path, cores=args.cores)
    print(f"# wrote {csv_path} and {png_path} in {time.time() - start:.0f} s; load average "
          f"{' '.join('%.2f' % x for x in os.getloadavg())} at the end")
    problems = check(rows, s)
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
