// The LibTorch side of the CPU decode attention kernel: tensors in, tensor out.
#pragma once

#include <ATen/core/Tensor.h>

namespace brain::kernels {

// Whether DecodeAttention takes these operands (as documented below; head_dim a multiple of 16 up to
// 256). Callers fall back to their general attention otherwise.
bool DecodeAttentionAccepts(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed);

// q [B, H, 1, hd] and k, v [B, Hkv, T, hd] fp32 CPU tensors, Hkv dividing H, each with unit stride along hd (k and v
// with the same strides); allowed: bool, indexed [b, ..., t] with T last and unit stride along it (for
// example [B, T] or the model's [B, 1, 1, T]), or undefined for every slot. Returns [B, H, 1, hd] with
// scale 1/sqrt(hd); a row with no allowed slot gets zeros. See DecodeAttentionCpu.
at::Tensor DecodeAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed);

}  // namespace brain::kernels
