// Tensor strides and pointers handed to the raw decode attention kernel.
#include "kernels/decode_attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "kernels/decode_attention_cpu.h"

namespace brain::kernels {

at::Tensor DecodeAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed) {
  TORCH_CHECK(q.dim() == 4 && q.size(2) == 1 && k.dim() == 4 && k.sizes() == v.sizes() && k.strides() == v.strides(),
              "DecodeAttention: q ", q.sizes(), ", k ", k.sizes(), ", v ", v.sizes());
  TORCH_CHECK(q.stride(3) == 1 && k.stride(3) == 1, "DecodeAttention: head_dim must have unit stride");
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
    TORCH_CHECK(allowed.scalar_type() == at::kBool && allowed.size(0) == a.batch &&
                    allowed.size(-1) == a.slots && allowed.stride(-1) == 1,
                "DecodeAttention: allowed ", allowed.sizes());
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
