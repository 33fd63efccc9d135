"""Runs benchmarks/distributed/collectives_bench under mpirun and parses its nccl-tests-like table."""
import subprocess

OPS = ("all_reduce", "reduce_scatter", "all_gather")


def parse_table(text, np_):
    """Rows {np, collective, bytes, time_us, busbw_gbs} of the MPI table (the first backend printed), and
    the gradient-sync overhead line (or None)."""
    rows, backend, overhead = [], None, None
    for line in text.splitlines():
        if line.startswith("# backend "):
            backend = line.split()[2].rstrip(",")
            if rows:  # a second backend (NCCL) follows: keep the first
                backend = "done"
        fields = line.split()
        if backend not in (None, "done") and len(fields) == 6 and fields[0] in OPS:
            # Bus bandwidth recomputed from size and time (the table rounds it to 3 decimals, 0 at small sizes).
            n, t = int(fields[1]), float(fields[3]) * 1e-6
            factor = 2.0 * (np_ - 1) / np_ if fields[0] == "all_reduce" else (np_ - 1) / np_
            rows.append({"np": np_, "collective": fields[0], "bytes": n, "time_us": t * 1e6,
                         "busbw_gbs": n / t / 1e9 * factor if t > 0 else float("nan")})
        if "sync overhead" in line:
            overhead = line.strip()
    return rows, overhead


def run(mpiexec, mpi_flags, binary, np_, smoke, max_bytes, few_iterations=False, timeout=300):
    """few_iterations: the benchmark's --smoke call count (3 per size, sizes 16x apart) up to max_bytes, for
    oversubscribed runs, where every latency-bound call costs a scheduler time slice (10-50 ms on a busy
    machine) and the full 200 calls per size would take minutes."""
    cmd = [mpiexec, "-np", str(np_), *mpi_flags, binary, "--model", "gpt2-tiny", "--steps", "2"]
    if smoke:
        cmd += ["--smoke"]
    else:
        cmd += (["--smoke"] if few_iterations else []) + ["--max-bytes", str(max_bytes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    rows, overhead = parse_table(proc.stdout, np_)
    if not rows:
        raise RuntimeError(f"{' '.join(cmd)}: no bandwidth rows in its output:\n{proc.stdout[-2000:]}")
    return rows, overhead


def fit_alpha_beta(rows, np_, collective="all_reduce"):
    """Least-squares fit of the ring model t = c_a·α + c_b·n·β to one collective's measured times, with
    relative residuals (weights 1/t), so small and large messages count alike. Ring coefficients:
    all-reduce c_a = 2(p-1), c_b = 2(p-1)/p; reduce-scatter and all-gather c_a = p-1, c_b = (p-1)/p.
    Returns (alpha_s, beta_s_per_byte), both >= 0 (a negative one is dropped and the other refitted)."""
    pts = [(r["bytes"], r["time_us"] * 1e-6) for r in rows if r["np"] == np_ and r["collective"] == collective]
    if len(pts) < 2:
        raise ValueError(f"need >= 2 sizes of {collective} at np {np_}, have {len(pts)}")
    k = 2.0 if collective == "all_reduce" else 1.0
    ca, cb = k * (np_ - 1), k * (np_ - 1) / np_
    # Normal equations of min Σ ((ca·α + cb·n·β − t) / t)^2 in (α, β).
    s11 = s12 = s22 = r1 = r2 = 0.0
    for n, t in pts:
        x1, x2 = ca / t, cb * n / t
        s11 += x1 * x1
        s12 += x1 * x2
        s22 += x2 * x2
        r1 += x1
        r2 += x2
    det = s11 * s22 - s12 * s12
    alpha = (r1 * s22 - r2 * s12) / det
    beta = (s11 * r2 - s12 * r1) / det
    if alpha < 0:  # latency below resolution: bandwidth term alone
        alpha, beta = 0.0, r2 / s22
    if beta < 0:
        alpha, beta = r1 / s11, 0.0
    return alpha, beta
