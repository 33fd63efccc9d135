// Causal self-attention: the one function every family calls, on LibTorch's scaled-dot-product attention.
#pragma once

#include <torch/types.h>

namespace brain::model {

// Which keys each query may attend to. `allowed` is [B, 1, Tq, Tk] bool (true = attend), or undefined
// when the batch is unpadded and there is no cache, in which case plain causal masking applies (and
// SDPA can pick the flash kernel on GPU).
struct AttentionMask {
  torch::Tensor allowed;
};

// Query i (slot past + i) sees key slot j iff j <= past + i and key_valid[b, j]. A query always sees
// itself, so the rows of pad queries stay finite (their outputs are ignored, never NaN).
// key_valid: [B, past + Tq] bool.
AttentionMask BuildAttentionMask(const torch::Tensor& key_valid, int64_t past);

// q: [B, H, Tq, hd]; k, v: [B, Hkv, Tk, hd] with Hkv dividing H (grouped-query attention).
// Returns [B, H, Tq, hd]. Scale 1/sqrt(hd). SDPA, except for CPU fp32 decode steps without autograd
// (Tq = 1), which take kernels::DecodeAttentionCpu.
torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const AttentionMask& mask);

// AVA's reward weights (spec §4.2): w_j = (1/L) Σ_i Ā[i, j], with Ā the attention probabilities averaged
// over heads and i over the L valid queries. Returns [B, Tk] (rows sum to 1 over keys). Computed
// explicitly (the fused kernel hides the probabilities); query_valid: [B, Tq] bool.
torch::Tensor AttentionColumnWeights(const torch::Tensor& q, const torch::Tensor& k,
                                     const AttentionMask& mask, const torch::Tensor& query_valid);

// Repeats each of the Hkv key/value heads H/Hkv times: [B, Hkv, T, hd] -> [B, H, T, hd].
torch::Tensor RepeatKvHeads(const torch::Tensor& x, int64_t num_heads);

}  // namespace brain::model
