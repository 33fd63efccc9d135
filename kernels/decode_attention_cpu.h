// One-query attention on the CPU for a decode step: each row's new token attends over its KV-cache
// slots. Raw pointers and strides, no torch headers (the model's attention calls it).
#pragma once

#include <cstdint>

namespace brain::kernels {

// Where the operands live. Strides are in elements; within a slot the head_dim values are contiguous.
struct DecodeAttentionArgs {
  int64_t batch = 0, heads = 0, kv_heads = 0, slots = 0, head_dim = 0;
  const float* q = nullptr;  // q[b·q_row + h·q_head + i]
  int64_t q_row = 0, q_head = 0;
  const float* k = nullptr;  // k[b·kv_row + g·kv_head + t·kv_slot + i], g = h / (heads / kv_heads)
  const float* v = nullptr;  // same strides as k
  int64_t kv_row = 0, kv_head = 0, kv_slot = 0;
  const bool* allowed = nullptr;  // allowed[b·allowed_row + t]; null: every slot
  int64_t allowed_row = 0;
  float scale = 1.0f;
  float* out = nullptr;  // out[(b·heads + h)·head_dim + i]
};

// Whether DecodeAttentionCpu handles this head dimension (multiples of 16 up to 256).
bool DecodeAttentionSupports(int64_t head_dim);

// out = Σ_t softmax_t(scale·q·k_t over allowed t)·v_t per (row, head), in fp32 with a fp32 max and
// sum (as SDPA's CPU kernel). A row with no allowed slot gets zeros. Parallel over (row, head).
void DecodeAttentionCpu(const DecodeAttentionArgs& args);

}  // namespace brain::kernels
