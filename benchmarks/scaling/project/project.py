#!/usr/bin/env python3
"""Projection of BRAIn round time and scaling efficiency to GPU clusters, and its check against the
measured CPU points.

  python benchmarks/scaling/project/project.py --csv OUT/scaling.csv   # predicted vs measured (np 2, 4)
  python benchmarks/scaling/project/project.py --table                 # H100 table, 124M..70B, 8..4096 GPUs
  python benchmarks/scaling/project/project.py --table --nic-per-node  # one 400 Gb/s NIC per node instead

The model (benchmarks/scaling/README.md, "Projection model"): cost_model.py (α-β collectives, ZeRO, overlap)
and cluster_model.py (sampling, scoring, training on GPUs).
"""
import argparse
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import cluster_model  # noqa: E402
import collectives  # noqa: E402
import cost_model as cm  # noqa: E402

SMALL_COLLECTIVES_PER_STEP = 4  # scalar all-reduces per step: unit counts, loss, tokens, metrics


def read_csv(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append({k: (float(v) if v not in ("", None) and k not in ("section", "collective") else v)
                         for k, v in r.items()})
    return rows


def predict_cpu(base, np_, section, link, cores, first_bucket=1 << 20, bucket=25 << 20):
    """Round seconds of `brain align` at np ranks from the np = 1 run `base` of the same section.
    Compute (sample, score, forward/backward, batch building) is measured at np = 1 and divided over the ranks
    (strong) or kept per rank (weak); ranks beyond `cores` share cores (× np/cores). The optimiser step
    (replicated at stage 0) does not shrink. Communication: the gradient buckets' all-reduces plus the
    step's scalar all-reduces with the α-β link fitted to collectives_bench at this np, not overlapped
    (on CPU the cores that would hide it are busy computing)."""
    slow = max(1.0, np_ / cores)
    share = 1.0 / np_ if section == "strong" else 1.0
    steps = base["steps_per_round"]
    grad_bytes = 4 * base["params"]
    comm = sum(cm.ring_all_reduce(np_, b, link) for b in cm.bucket_times(grad_bytes, first_bucket, bucket))
    comm += SMALL_COLLECTIVES_PER_STEP * cm.ring_all_reduce(np_, 8, link)
    optimizer = base["sync_s"]  # at np = 1 the sync phase is the optimiser step alone
    # The step's untimed rest (building micro-batches, reducing metrics) is per-rank work like the compute.
    untimed = max(0.0, base["step_s"] - base["train_s"] - base["sync_s"])
    step = (base["train_s"] + untimed) * share * slow + optimizer * slow + comm
    sample_score = (base["sample_s"] + base["score_s"]) * share * slow
    return {"round_s": sample_score + steps * step + base["other_s"], "comm_s": comm, "step_s": step}


def validate(csv_path, cores=None):
    """Calibrates compute on np = 1 and α/β on the collectives benchmark, prints predicted vs measured."""
    rows = read_csv(csv_path)
    bw = [r for r in rows if r["section"] == "busbw"]
    cores = cores or int(rows[0]["cores"])
    links = {}
    for np_ in sorted({int(r["np"]) for r in bw}):
        a, b = collectives.fit_alpha_beta([dict(r, np=int(r["np"])) for r in bw], np_)
        links[np_] = cm.Link(a, b)
        print(f"# fitted MPI all-reduce at np {np_}: alpha {a * 1e6:.1f} us/hop, beta^-1 "
              f"{(1 / b / 1e9 if b > 0 else float('inf')):.2f} GB/s" + ("  (oversubscribed)" if np_ > cores else ""))
    print(f"{'section':8s} {'np':>3s} {'measured(s)':>12s} {'predicted(s)':>13s} {'rel.err':>8s} "
          f"{'eff.meas':>9s} {'eff.pred':>9s} {'comm/step(ms)':>14s}")
    errors = []
    for section in ("strong", "weak"):
        runs = {int(r["np"]): r for r in rows if r["section"] == section}
        if 1 not in runs:
            continue
        base = runs[1]
        for np_ in sorted(runs):
            if np_ == 1 or np_ not in links:
                continue
            pred = predict_cpu(base, np_, section, links[np_], cores)
            meas = runs[np_]["round_s"]
            err = (pred["round_s"] - meas) / meas
            errors.append(abs(err))
            eff_pred = (cm.strong_efficiency(base["round_s"], pred["round_s"], np_) if section == "strong"
                        else cm.weak_efficiency(base["round_s"], pred["round_s"]))
            print(f"{section:8s} {np_:3d} {meas:12.3f} {pred['round_s']:13.3f} {100 * err:7.1f}% "
                  f"{runs[np_]['efficiency']:9.3f} {eff_pred:9.3f} {1e3 * pred['comm_s']:14.2f}"
                  + ("  oversubscribed" if np_ > cores else ""))
    if errors:
        print(f"# mean |relative error| of the predicted round time: {100 * sum(errors) / len(errors):.1f}%")
    return errors


def table(nic_per_gpu=True, gpus=(8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096), models=("124M", "1B", "7B", "70B"),
          global_prompts=4096, global_groups_per_step=512):
    cluster = cluster_model.h100(nic_per_gpu=nic_per_gpu)
    w = cluster_model.Workload()
    print(f"# H100 nodes of 8 (NVLink {1 / cluster.intra.beta / 1e9:.0f} GB/s/dir achieved, α {cluster.intra.alpha * 1e6:.0f} us; "
          f"inter-node {1 / cluster.inter.beta / 1e9:.1f} GB/s per GPU ({'one 400 Gb/s NIC per GPU' if nic_per_gpu else 'one 400 Gb/s NIC per node'}), "
          f"α {cluster.inter.alpha * 1e6:.0f} us); MFU {cluster.mfu_train:.0%} train / {cluster.mfu_forward:.0%} forward; "
          f"bf16 weights and gradients, overlap {w.overlap:.0%} of backward")
    print(f"# BRAIn round per GPU (weak scaling): {w.prompts_per_gpu:g} prompts x n={w.samples}, {w.prompt_tokens}+"
          f"{w.response_tokens} tokens, {w.groups_per_gpu_step:g} groups/GPU/step; ZeRO stage = lowest that fits 70% of 80 GB")
    header = (f"{'model':>5s} {'GPUs':>5s} {'ZeRO':>4s} {'TP':>3s} {'mem GB':>7s} {'sample s':>9s} {'score s':>8s} "
              f"{'step s':>8s} {'comm exp ms':>11s} {'round s':>8s} {'weak eff':>8s} | {'strong round s':>14s} {'strong eff':>10s}")
    print(f"# strong scaling: {global_prompts} prompts x n={w.samples} per round, {global_groups_per_step} groups per "
          "step, efficiency relative to the smallest GPU count that fits")
    print(header)
    out = []
    for name in models:
        model = cluster_model.MODELS[name]
        strong_ref = None
        for p in gpus:
            stage = cluster_model.choose_stage(model, p, w, cluster)
            if stage is None:
                print(f"{name:>5s} {p:5d}  model state does not fit (> 70% of 80 GB even at ZeRO-3)")
                continue
            r = cluster_model.predict_round(model, cluster, p, w, stage)
            ws = cluster_model.strong_workload(w, global_prompts, global_groups_per_step, p)
            s = cluster_model.predict_round(model, cluster, p, ws, stage)
            if strong_ref is None:
                strong_ref = (p, s["round_s"])
            s_eff = cm.strong_efficiency(strong_ref[1] * strong_ref[0], s["round_s"], p)
            print(f"{name:>5s} {p:5d} {stage:4d} {r['tp']:3d} {r['memory_gb']:7.1f} {r['sample_s']:9.2f} "
                  f"{r['score_s']:8.2f} {r['step_s']:8.3f} {1e3 * r['comm_exposed_s']:11.1f} {r['round_s']:8.2f} "
                  f"{r['efficiency']:8.3f} | {s['round_s']:14.3f} {s_eff:10.3f}")
            out.append((name, p, r, s, s_eff))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", help="scaling.csv from run_scaling.py: print predicted vs measured")
    ap.add_argument("--cores", type=int, default=None, help="cores of the measured machine (default: the CSV's)")
    ap.add_argument("--table", action="store_true", help="print the H100 projection table")
    ap.add_argument("--nic-per-node", action="store_true", help="one 400 Gb/s NIC per node instead of per GPU")
    args = ap.parse_args()
    if not args.csv and not args.table:
        args.table = True
    if args.csv:
        validate(args.csv, args.cores)
    if args.table:
        table(nic_per_gpu=not args.nic_per_node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
