"""Cost model of a BRAIn round and a training step on N ranks: compute, α-β collectives, ZeRO, overlap.

Pure Python (no numpy) so that the formulas are easy to unit-test (test_cost_model.py). Conventions:
  - `n` bytes is the size of the full buffer, as in nccl-tests: the all-reduce buffer, the reduce-scatter
    input, the all-gather output.
  - A Link is (alpha, beta): alpha seconds of latency per hop (per ring step / tree level), beta seconds
    per byte (1 / bandwidth of one rank's link in the direction it sends).
  - FLOPs per token follow PaLM appendix B as core/train does: training 6·N + 12·L·d·ctx, forward
    2·N + 4·L·d·ctx (ctx = the average attended context, half the sequence).
The model is documented in benchmarks/scaling/README.md ("Projection model").
"""
import dataclasses
import math


# ---------------------------------------------------------------------------------------------- links


@dataclasses.dataclass(frozen=True)
class Link:
    alpha: float  # s per hop
    beta: float   # s per byte

    @staticmethod
    def from_bandwidth(latency_s, bytes_per_s):
        return Link(alpha=latency_s, beta=1.0 / bytes_per_s)


def ring_all_reduce(p, n, link):
    """Ring all-reduce (reduce-scatter then all-gather): 2(p-1)/p·n·β + 2(p-1)·α."""
    if p <= 1:
        return 0.0
    return 2.0 * (p - 1) / p * n * link.beta + 2.0 * (p - 1) * link.alpha


def ring_reduce_scatter(p, n, link):
    """Ring reduce-scatter of an n-byte input: (p-1)/p·n·β + (p-1)·α."""
    if p <= 1:
        return 0.0
    return (p - 1) / p * n * link.beta + (p - 1) * link.alpha


def ring_all_gather(p, n, link):
    """Ring all-gather into an n-byte output: (p-1)/p·n·β + (p-1)·α (same volume as reduce-scatter)."""
    return ring_reduce_scatter(p, n, link)


def tree_all_reduce(p, n, link):
    """Pipelined (double) binary tree all-reduce: reduce up, broadcast down, each ⌈log2 p⌉ levels deep;
    every rank sends and receives ~n bytes each way: 2·⌈log2 p⌉·α + 2·n·β. Wins over the ring at small n
    and large p (latency logarithmic instead of linear in p)."""
    if p <= 1:
        return 0.0
    return 2.0 * math.ceil(math.log2(p)) * link.alpha + 2.0 * n * link.beta


def best_all_reduce(p, n, link):
    """What a tuned library (NCCL, Open MPI's tuned component) picks: the faster of ring and tree."""
    return min(ring_all_reduce(p, n, link), tree_all_reduce(p, n, link))


# ------------------------------------------------------------------------------------ the topology


@dataclasses.dataclass(frozen=True)
class Topology:
    """p ranks in nodes of `per_node`; `intra` between ranks of a node, `inter` one rank's share of the
    network between nodes (a rank-to-rank ring step that crosses nodes sends through it)."""
    per_node: int
    intra: Link
    inter: Link


def _split(p, topo):
    """(ranks per node used, nodes)."""
    g = min(p, topo.per_node)
    return g, max(1, math.ceil(p / g))


def all_reduce(p, n, topo, algorithm="best"):
    """All-reduce of n bytes over p ranks of `topo`.
    flat ring: one ring over all ranks; every step waits for the slowest link (inter-node once p > g).
    hierarchical: reduce-scatter inside the node (g ranks), all-reduce of the n/g shard across nodes
    (g such all-reduces run in parallel, one per local rank, each on its own NIC), all-gather inside.
    tree: a binary tree over all ranks with the slowest link.
    best: the minimum of the three."""
    if p <= 1:
        return 0.0
    g, k = _split(p, topo)
    if k == 1:
        return best_all_reduce(p, n, topo.intra) if algorithm == "best" else ring_all_reduce(p, n, topo.intra)
    slow = Link(max(topo.intra.alpha, topo.inter.alpha), max(topo.intra.beta, topo.inter.beta))
    flat = ring_all_reduce(p, n, slow)
    tree = tree_all_reduce(p, n, slow)
    hier = (ring_reduce_scatter(g, n, topo.intra) + best_all_reduce(k, n / g, topo.inter) +
            ring_all_gather(g, n, topo.intra))
    options = {"ring": flat, "tree": tree, "hierarchical": hier}
    return min(options.values()) if algorithm == "best" else options[algorithm]


def reduce_scatter(p, n, topo):
    """Reduce-scatter of an n-byte input: the faster of a flat ring (slowest link) and hierarchical
    (intra-node reduce-scatter of n, then inter-node reduce-scatter of the n/g shard)."""
    if p <= 1:
        return 0.0
    g, k = _split(p, topo)
    if k == 1:
        return ring_reduce_scatter(p, n, topo.intra)
    slow = Link(max(topo.intra.alpha, topo.inter.alpha), max(topo.intra.beta, topo.inter.beta))
    return min(ring_reduce_scatter(p, n, slow),
               ring_reduce_scatter(g, n, topo.intra) + ring_reduce_scatter(k, n / g, topo.inter))


def all_gather(p, n, topo):
    """All-gather into an n-byte output: the mirror image of reduce_scatter (same cost)."""
    return reduce_scatter(p, n, topo)


# ------------------------------------------------------------------------------------------- ZeRO


def zero_step_comm(stage, p, param_bytes, grad_bytes, topo):
    """Per-step collective time by ZeRO stage, split into (overlappable with backward, exposed):
      stage 0: all-reduce of the gradients                            — overlappable with backward
      stage 1: reduce-scatter gradients (overlappable) + all-gather of the updated parameters (exposed)
      stage 3: all-gather parameters for forward (prefetched: overlappable with forward compute, counted
               with the backward window here), all-gather again for backward and reduce-scatter
               gradients (overlappable).
    Volumes (ring, bytes sent per rank ≈ (p-1)/p × ...): stage 0 = 2·G, stage 1 = G + P, stage 3 =
    2·P + G, i.e. 1.5× stage 0 when parameter and gradient bytes are equal."""
    if stage == 0:
        return all_reduce(p, grad_bytes, topo), 0.0
    if stage == 1:
        return reduce_scatter(p, grad_bytes, topo), all_gather(p, param_bytes, topo)
    if stage == 3:
        return 2 * all_gather(p, param_bytes, topo) + reduce_scatter(p, grad_bytes, topo), 0.0
    raise ValueError(f"ZeRO stage must be 0, 1 or 3 (got {stage})")


def zero_volume_bytes(stage, p, param_bytes, grad_bytes):
    """Bytes each rank sends per step with ring collectives (the bandwidth term without β)."""
    f = (p - 1) / p
    return {0: 2 * f * grad_bytes, 1: f * (grad_bytes + param_bytes), 3: f * (2 * param_bytes + grad_bytes)}[stage]


def exposed_comm(overlappable, exposed, backward_s, overlap, last_bucket_s=0.0):
    """Communication left on the critical path: the overlappable part hides behind `overlap` × backward
    time, except the last bucket, which can only start when backward ends."""
    hidden_window = overlap * backward_s
    return exposed + max(overlappable - hidden_window, min(last_bucket_s, overlappable))


def bucket_times(total_bytes, first_bucket_bytes, bucket_bytes):
    """Sizes of the gradient buckets (first small, then bucket_bytes), as distributed/gradient_synchronizer."""
    sizes, left = [], float(total_bytes)
    first = min(first_bucket_bytes, left)
    if first > 0:
        sizes.append(first)
        left -= first
    while left > 0:
        sizes.append(min(bucket_bytes, left))
        left -= sizes[-1]
    return sizes


# ----------------------------------------------------------------------------------------- compute


def train_flops_per_token(params, layers, hidden, seq_len):
    return 6.0 * params + 12.0 * layers * hidden * (seq_len / 2.0)


def forward_flops_per_token(params, layers, hidden, seq_len):
    return 2.0 * params + 4.0 * layers * hidden * (seq_len / 2.0)


def decode_step_seconds(params, bytes_per_param, batch, kv_bytes, peak_flops, hbm_bytes_per_s, mfu):
    """One decode step of `batch` rows: memory-bound (read all weights and the KV cache once) unless the
    batch is big enough to be compute-bound."""
    memory = (params * bytes_per_param + kv_bytes) / hbm_bytes_per_s
    compute = 2.0 * params * batch / (peak_flops * mfu)
    return max(memory, compute)


def efficiency(compute_s, comm_exposed_s):
    """Scaling efficiency of a step whose compute is perfectly divided: compute / (compute + exposed)."""
    total = compute_s + comm_exposed_s
    return compute_s / total if total > 0 else 1.0


def strong_efficiency(t1, tp, p):
    """T(1) / (p · T(p))."""
    return t1 / (p * tp)


def weak_efficiency(t1, tp):
    """T(1) / T(p) with the work per rank fixed."""
    return t1 / tp
