// Causal attention masks, SDPA-backed attention, and explicit attention column weights.
#include "core/model/attention.h"

#include <torch/torch.h>

#include <cmath>

#include "kernels/decode_attention.h"

namespace brain::model {
namespace {

// A decode step (one query per row) on the CPU in fp32 without autograd: the streaming one-query
// kernel, which reads grouped key/value heads in place (no repeat).
bool UseDecodeAttentionKernel(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const AttentionMask& mask) {
  const bool grad = at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  return !grad && kernels::DecodeAttentionAccepts(q, k, v, mask.allowed);
}

}  // namespace

AttentionMask BuildAttentionMask(const torch::Tensor& key_valid, int64_t past) {
  const int64_t tk = key_valid.size(1);
  if (past == 0 && key_valid.all().item<bool>()) return {};
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(key_valid.device());
  const auto q_slot = torch::arange(past, tk, opts).unsqueeze(1);  // [Tq, 1]
  const auto k_slot = torch::arange(0, tk, opts).unsqueeze(0);     // [1, Tk]
  const auto causal = k_slot.le(q_slot);                           // [Tq, Tk]
  const auto self = k_slot.eq(q_slot);
  auto allowed = causal.unsqueeze(0) & key_valid.to(torch::kBool).unsqueeze(1);  // [B, Tq, Tk]
  allowed = allowed | self.unsqueeze(0);
  return {allowed.unsqueeze(1)};
}

torch::Tensor RepeatKvHeads(const torch::Tensor& x, int64_t num_heads) {
  const int64_t kv_heads = x.size(1);
  if (kv_heads == num_heads) return x;
  const int64_t rep = num_heads / kv_heads;
  return x.unsqueeze(2)
      .expand({x.size(0), kv_heads, rep, x.size(2), x.size(3)})
      .reshape({x.size(0), num_heads, x.size(2), x.size(3)});
}

torch::Tensor CausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const AttentionMask& mask) {
  if (UseDecodeAttentionKernel(q, k, v, mask)) return kernels::DecodeAttention(q, k, v, mask.allowed);
  const int64_t heads = q.size(1);
  const auto kk = RepeatKvHeads(k, heads);
  const auto vv = RepeatKvHeads(v, heads);
  if (!mask.allowed.defined()) {
    return at::scaled_dot_product_attention(q, kk, vv, {}, 0.0, /*is_causal=*/q.size(2) > 1);
  }
  return at::scaled_dot_product_attention(q, kk, vv, mask.allowed, 0.0, /*is_causal=*/false);
}

torch::Tensor AttentionColumnWeights(const torch::Tensor& q, const torch::Tensor& k,
                                     const AttentionMask& mask, const torch::Tensor& query_valid) {
  const auto kk = RepeatKvHeads(k, q.size(1)).to(torch::kFloat32);
  auto scores = torch::matmul(q.to(torch::kFloat32), kk.transpose(-1, -2)) / std::sqrt(double(q.size(-1)));
  auto allowed = mask.allowed;
  if (!allowed.defined()) {
    const int64_t t = q.size(2);
    allowed = torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).tril();
  }
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  const auto probs = torch::softmax(scores, -1).mean(1);  // [B, Tq, Tk], averaged over heads
  const auto qv = query_valid.to(torch::kFloat32);        // [B, Tq]
  const auto count = qv.sum(1, /*keepdim=*/true).clamp_min(1.0);
  return (probs * qv.unsqueeze(-1)).sum(1) / count;
}

}  // namespace brain::model
