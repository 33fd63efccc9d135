// One-query attention per (row, head): scores, softmax and the weighted values in streaming passes
// over the row's keys and values, each read once from memory.
//
// Why not SDPA: its CPU kernel issues two small GEMVs per (row, head), which reach ~14-19 GB/s at
// gpt2-124m's decode shapes against ~40 GB/s that two threads can stream; this reaches 24-34 GB/s.
// The head dimension is processed in 16-float vectors (GCC/Clang vector extensions, so each ISA clone
// lowers them to its own registers: one AVX-512 register, two AVX2 or four SSE ones). A score's
// horizontal sum is a 4-step shuffle tree: a `#pragma omp simd` reduction here compiled to 16 serial
// scalar adds per key, which kept the loads of the next keys from issuing. Keys and values are
// prefetched 8 slots ahead, and a row's first 8 slots all at once, since its streams are short.
#include "kernels/decode_attention_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu_vector_math.h"

namespace brain::kernels {
namespace {

using internal::ExpOf;

typedef float V16 __attribute__((vector_size(64)));

inline V16 Load(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline float Sum(V16 v) {
  v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  return v[0];
}

// One (row, head) with a head dimension of 16·kChunks (kChunks = 0: `chunks` at run time).
// `scores` holds `slots` floats of scratch.
template <int kChunks>
BRAIN_CPU_CLONES void AttendOne(const float* q, const float* k, const float* v, int64_t slot_stride,
                                const bool* allowed, int64_t slots, int64_t runtime_chunks, float scale,
                                float* scores, float* out) {
  constexpr int64_t kMaxChunks = 16;  // head_dim ≤ 256
  constexpr int64_t kPrefetchSlots = 8;  // 2 KB ahead at head_dim 64
  const int64_t chunks = kChunks > 0 ? kChunks : runtime_chunks;
  V16 qv[kMaxChunks];
  for (int64_t c = 0; c < chunks; ++c) qv[c] = Load(q + 16 * c) * scale;
  // The loops prefetch kPrefetchSlots ahead; the first slots are requested together up front.
  auto prefetch_head = [&](const float* base) {
    const int64_t n = std::min(kPrefetchSlots, slots);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t c = 0; c < chunks; ++c) __builtin_prefetch(base + t * slot_stride + 16 * c);
    }
  };
  prefetch_head(k);
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t t = 0; t < slots; ++t) {
    if (allowed != nullptr && !allowed[t]) {
      scores[t] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const float* kt = k + t * slot_stride;
    for (int64_t c = 0; c < chunks; ++c) __builtin_prefetch(kt + kPrefetchSlots * slot_stride + 16 * c);
    V16 acc = qv[0] * Load(kt);
    for (int64_t c = 1; c < chunks; ++c) acc += qv[c] * Load(kt + 16 * c);
    const float s = Sum(acc);
    scores[t] = s;
    max = s > max ? s : max;
  }
  V16 o[kMaxChunks];
  for (int64_t c = 0; c < chunks; ++c) o[c] = V16{};
  if (max != -std::numeric_limits<float>::infinity()) {
    prefetch_head(v);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t t = 0; t < slots; ++t) {
      const float e = ExpOf(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (int64_t t = 0; t < slots; ++t) {
      const float p = scores[t];
      if (p == 0) continue;  // masked: skip its value row
      const float* vt = v + t * slot_stride;
      for (int64_t c = 0; c < chunks; ++c) __builtin_prefetch(vt + kPrefetchSlots * slot_stride + 16 * c);
      for (int64_t c = 0; c < chunks; ++c) o[c] += p * Load(vt + 16 * c);
    }
    const float inv = 1.0f / sum;
    for (int64_t c = 0; c < chunks; ++c) o[c] *= inv;
  }
  std::memcpy(out, o, sizeof(float) * 16 * chunks);
}

using AttendFn = void (*)(const float*, const float*, const float*, int64_t, const bool*, int64_t, int64_t,
                          float, float*, float*);

AttendFn PickAttend(int64_t chunks) {
  switch (chunks) {
    case 1: return AttendOne<1>;
    case 2: return AttendOne<2>;
    case 4: return AttendOne<4>;
    case 8: return AttendOne<8>;
    default: return AttendOne<0>;
  }
}

}  // namespace

bool DecodeAttentionSupports(int64_t head_dim) { return head_dim % 16 == 0 && head_dim <= 256; }

void DecodeAttentionCpu(const DecodeAttentionArgs& a) {
  const int64_t group = a.heads / a.kv_heads;
  const int64_t chunks = a.head_dim / 16;
  const AttendFn attend = PickAttend(chunks);
  // Enough (row, head) pairs per task to amortise the task, few enough to balance two threads.
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, a.slots));
  at::parallel_for(0, a.batch * a.heads, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(a.slots));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / a.heads, h = item % a.heads, g = h / group;
      const int64_t kv = b * a.kv_row + g * a.kv_head;
      attend(a.q + b * a.q_row + h * a.q_head, a.k + kv, a.v + kv, a.kv_slot,
             a.allowed != nullptr ? a.allowed + b * a.allowed_row : nullptr, a.slots, chunks, a.scale,
             scores.data(), a.out + item * a.head_dim);
    }
  });
}

}  // namespace brain::kernels
