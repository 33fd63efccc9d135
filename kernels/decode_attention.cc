// Tensor strides and pointers handed to the raw decode attention kernel.
#include "kernels/decode_attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "kernels/decode_attention_cpu.h"

namespace brain::kernels {

bool DecodeAttentionAccepts(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed) {
  if (q.dim() != 4 || k.dim() != 4 || q.size(2) != 1 || k.sizes() != v.sizes() || k.strides() != v.strides() ||
      q.size(0) != k.size(0) || q.size(3) != k.size(3) || k.size(1) == 0 || q.size(1) % k.size(1) != 0 ||
      !DecodeAttentionSupports(q.size(3))) {
    return false;
  }
  for (const at::Tensor* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->stride(3) != 1) return false;
  }
  return !allowed.defined() || (allowed.device().is_cpu() && allowed.scalar_type() == at::kBool &&
                                allowed.dim() >= 2 && allowed.size(0) == q.size(0) &&
                                allowed.size(-1) == k.size(2) && allowed.numel() == q.size(0) * k.size(2) &&
                                allowed.stride(-1) == 1);
}

at::Tensor DecodeAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed) {
  TORCH_CHECK(DecodeAttentionAccepts(q, k, v, allowed), "DecodeAttention: unsupported operands q ", q.sizes(),
              ", k ", k.sizes(), ", v ", v.sizes(), allowed.defined() ? ", allowed " : "",
              allowed.defined() ? allowed.sizes() : at::IntArrayRef());
  DecodeAttentionArgs a;
  a.batch = q.size(0);
  a.heads = q.size(1);
  a.kv_heads = k.size(1);
  a.slots = k.size(2);
  a.head_dim = q.size(3);
  a.q = q.data_ptr<float>();
  a.q_row = q.stride(0);
  a.q_head = q.stride(1);
  a.k = k.data_ptr<float>();
  a.v = v.data_ptr<float>();
  a.kv_row = k.stride(0);
  a.kv_head = k.stride(1);
  a.kv_slot = k.stride(2);
  if (allowed.defined()) {
    a.allowed = allowed.data_ptr<bool>();
    a.allowed_row = allowed.stride(0);
  }
  a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  auto out = at::empty({a.batch, a.heads, 1, a.head_dim}, q.options());
  a.out = out.data_ptr<float>();
  DecodeAttentionCpu(a);
  return out;
}

}  // namespace brain::kernels
