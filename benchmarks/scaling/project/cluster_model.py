"""A BRAIn round on a GPU cluster: sampling (memory-bound decode), scoring, training steps with ZeRO
collectives overlapped with backward. Built on cost_model.py; assumptions in benchmarks/scaling/README.md."""
import dataclasses
import math

import cost_model as cm

GB = 1e9


@dataclasses.dataclass(frozen=True)
class ModelShape:
    name: str
    params: float
    layers: int
    hidden: int
    kv_dim: int  # key (= value) width per layer: kv_heads × head_dim


# Shapes: GPT-2 small, Llama-3.2-1B, Llama-2-7B, Llama-2-70B (GQA, 8 KV heads).
MODELS = {
    "124M": ModelShape("124M", 124e6, 12, 768, 768),
    "1B": ModelShape("1B", 1.24e9, 16, 2048, 512),
    "7B": ModelShape("7B", 6.74e9, 32, 4096, 4096),
    "70B": ModelShape("70B", 69e9, 80, 8192, 1024),
}


@dataclasses.dataclass(frozen=True)
class Cluster:
    name: str
    per_node: int
    intra: cm.Link
    inter: cm.Link
    peak_flops: float        # dense bf16 FLOP/s per GPU
    hbm_bytes_per_s: float   # achievable HBM bandwidth per GPU
    memory_bytes: float
    mfu_train: float
    mfu_forward: float


def h100(nic_per_gpu=True, inter_gbit=400.0):
    """DGX/HGX H100: 8 GPUs per node; NVLink 4 900 GB/s bidirectional = 450 GB/s each way, of which NCCL
    reaches ~80% (360 GB/s); one 400 Gb/s NIC per GPU (50 GB/s, ~90% achievable = 45 GB/s) or, with
    nic_per_gpu=False, one such NIC shared by the node's 8 GPUs. Latency per hop: 2 µs NVLink, 6 µs
    InfiniBand. 989 TFLOP/s dense bf16, MFU 40% training / 50% prefill-like forward, HBM3 3.35 TB/s of
    which 80% is achievable, 80 GB."""
    nic = inter_gbit / 8 * GB * 0.9
    if not nic_per_gpu:
        nic /= 8
    return Cluster("H100", 8, cm.Link.from_bandwidth(2e-6, 360 * GB), cm.Link.from_bandwidth(6e-6, nic),
                   989e12, 0.8 * 3.35e12, 80 * GB, 0.40, 0.50)


@dataclasses.dataclass(frozen=True)
class Workload:
    """One BRAIn round per GPU (weak scaling) or for the whole job (strong scaling, global_prompts > 0)."""
    prompts_per_gpu: float = 8
    samples: int = 8             # n responses per prompt
    prompt_tokens: int = 256
    response_tokens: int = 256
    groups_per_gpu_step: float = 4  # prompt groups (× n sequences) per GPU per optimiser step
    bytes_param: int = 2         # bf16 weights
    bytes_grad: int = 2          # bf16 gradients on the wire
    bytes_state: int = 12        # fp32 master + Adam moments
    overlap: float = 0.8         # share of backward usable to hide gradient communication
    bucket_bytes: float = 25e6
    first_bucket_bytes: float = 1e6


def memory_per_gpu(model, stage, p, w):
    """Weights + gradients + optimiser state (activations and KV cache not counted)."""
    n = model.params
    if stage == 0:
        return n * (w.bytes_param + w.bytes_grad + w.bytes_state)
    if stage == 1:
        return n * (w.bytes_param + w.bytes_grad) + n * w.bytes_state / p
    return n * (w.bytes_param + w.bytes_grad + w.bytes_state) / p + 2 * n * w.bytes_param / model.layers


def choose_stage(model, p, w, cluster):
    """The lowest ZeRO stage whose model state fits in 70% of GPU memory, or None."""
    for stage in (0, 1, 3):
        if memory_per_gpu(model, stage, p, w) <= 0.7 * cluster.memory_bytes:
            return stage
    return None


def sampling_tp(model, w, cluster):
    """Tensor-parallel degree (power of two ≤ GPUs per node) for decoding: weights ≤ 50% of memory."""
    t = 1
    while model.params * w.bytes_param / t > 0.5 * cluster.memory_bytes and t < cluster.per_node:
        t *= 2
    return t


def predict_round(model, cluster, p, w, stage=None):
    """Seconds of one BRAIn round on p GPUs, by phase, and the exposed communication. Weak scaling:
    the per-GPU work in `w` is the same for every p."""
    stage = choose_stage(model, p, w, cluster) if stage is None else stage
    topo = cm.Topology(cluster.per_node, cluster.intra, cluster.inter)
    seq = w.prompt_tokens + w.response_tokens
    seqs_per_gpu = w.prompts_per_gpu * w.samples
    # ---- sampling: tensor-parallel groups of t GPUs decode t × seqs_per_gpu rows, all in one batch
    t = sampling_tp(model, w, cluster)
    rows = seqs_per_gpu * t
    kv_bytes = rows * seq * 2 * model.layers * model.kv_dim * w.bytes_param
    decode = cm.decode_step_seconds(model.params / t, w.bytes_param, rows, kv_bytes / t, cluster.peak_flops,
                                    cluster.hbm_bytes_per_s, cluster.mfu_forward)
    tp_comm = 2 * model.layers * cm.all_reduce(t, rows * model.hidden * w.bytes_param,
                                               cm.Topology(t, cluster.intra, cluster.intra))
    prefill = (seqs_per_gpu * w.prompt_tokens *
               cm.forward_flops_per_token(model.params, model.layers, model.hidden, w.prompt_tokens) /
               (cluster.peak_flops * cluster.mfu_forward))
    gather_for_sampling = cm.all_gather(p, model.params * w.bytes_param, topo) if stage == 3 else 0.0
    sample = w.response_tokens * (decode + tp_comm) + prefill + gather_for_sampling
    # ---- scoring: prior and reward model (same shape) forward over every sample
    fwd = cm.forward_flops_per_token(model.params, model.layers, model.hidden, seq)
    score = 2 * seqs_per_gpu * seq * fwd / (cluster.peak_flops * cluster.mfu_forward)
    # ---- training steps
    steps = max(1, math.ceil(w.prompts_per_gpu / w.groups_per_gpu_step - 1e-9))
    tokens_per_step = w.groups_per_gpu_step * w.samples * seq
    train = tokens_per_step * cm.train_flops_per_token(model.params, model.layers, model.hidden, seq) / (
        cluster.peak_flops * cluster.mfu_train)
    backward = train * 2.0 / 3.0
    adam_bytes = 32.0 * model.params / (p if stage in (1, 3) else 1)  # read+write master, moments, grad
    optimizer = adam_bytes / cluster.hbm_bytes_per_s
    overlappable, exposed = cm.zero_step_comm(stage, p, model.params * w.bytes_param,
                                              model.params * w.bytes_grad, topo)
    buckets = cm.bucket_times(model.params * w.bytes_grad, w.first_bucket_bytes, w.bucket_bytes)
    if stage == 0:  # the last bucket's all-reduce starts when backward ends
        last_bucket = cm.all_reduce(p, buckets[-1], topo)
    else:  # stage 1: the last reduce-scatter bucket; stage 3: one layer's gathers and reduce-scatter
        last_bucket = overlappable * (buckets[-1] / (model.params * w.bytes_grad) if stage == 1 else 1 / model.layers)
    comm = cm.exposed_comm(overlappable, exposed, backward if stage != 3 else train, w.overlap, last_bucket)
    step = train + optimizer + comm
    total = sample + score + steps * step
    return {
        "stage": stage, "tp": t, "sample_s": sample, "score_s": score, "steps": steps, "train_s": train,
        "optimizer_s": optimizer, "comm_total_s": overlappable + exposed, "comm_exposed_s": comm,
        "step_s": step, "round_s": total, "memory_gb": memory_per_gpu(model, stage, p, w) / GB,
        "efficiency": cm.efficiency(total - steps * comm - gather_for_sampling, steps * comm + gather_for_sampling),
    }


def strong_workload(w, global_prompts, global_groups_per_step, p):
    """The same global round (global_prompts prompts, global_groups_per_step groups per optimiser step)
    divided over p GPUs: the steps per round stay the same, each GPU's share shrinks (fractions allowed)."""
    return dataclasses.replace(w, prompts_per_gpu=global_prompts / p, groups_per_gpu_step=global_groups_per_step / p)
