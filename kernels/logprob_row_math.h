// Per-row log-sum-exp / entropy / logit-gradient math shared by the CUDA kernels and the CPU tests.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define BRAIN_HOST_DEVICE __host__ __device__
#else
#define BRAIN_HOST_DEVICE
#endif

namespace brain::kernels {

// Running summary of a subset of one row of logits z, relative to the subset's max m:
//   sum = Σ exp(z − m),  wsum = Σ exp(z − m)·(z − m).
// Keeping wsum relative to m (not Σ p·z) avoids cancellation when |z| is large (±1e4).
// An empty subset has sum == 0 (and max == −inf).
struct LseState {
  float max;
  float sum;
  float wsum;
};

BRAIN_HOST_DEVICE inline LseState LseStateEmpty() { return LseState{-INFINITY, 0.0f, 0.0f}; }

// Combines two partial summaries (associative and commutative up to rounding).
BRAIN_HOST_DEVICE inline LseState LseStateMerge(const LseState& a, const LseState& b) {
  if (a.sum == 0.0f) return b;
  if (b.sum == 0.0f) return a;
  const float m = fmaxf(a.max, b.max);
  const float da = a.max - m;  // <= 0, finite because both subsets hold a finite value
  const float db = b.max - m;
  const float ea = expf(da);
  const float eb = expf(db);
  LseState out;
  out.max = m;
  out.sum = a.sum * ea + b.sum * eb;
  // Σ e^{z−m}(z−m) = e^{da}·Σ e^{z−a.max}((z−a.max) + da), likewise for b.
  out.wsum = ea * (a.wsum + da * a.sum) + eb * (b.wsum + db * b.sum);
  return out;
}

// Adds one logit. −inf logits carry no probability mass and are skipped.
BRAIN_HOST_DEVICE inline void LseStatePush(LseState& state, float z) {
  if (z == -INFINITY) return;
  state = LseStateMerge(state, LseState{z, 1.0f, 0.0f});
}

// log Σ exp(z) of the summarised subset (−inf when empty).
BRAIN_HOST_DEVICE inline float LseStateLogSumExp(const LseState& s) {
  return s.sum == 0.0f ? -INFINITY : s.max + logf(s.sum);
}

// Entropy −Σ p·log p of softmax(z) over the subset: log(sum) − wsum/sum (0 when empty).
BRAIN_HOST_DEVICE inline float LseStateEntropy(const LseState& s) {
  return s.sum == 0.0f ? 0.0f : logf(s.sum) - s.wsum / s.sum;
}

// exp(x) for x ≤ 88 using only multiply/add/compare (so loops over it vectorise on the CPU): x = n·ln2 + r
// with |r| ≤ ln2/2, exp(r) by its Taylor series to degree 7 (truncation < 6e-9 relative), 2^n built
// from the exponent bits. About 2 ulp; 0 below −87 (also for −inf), where exp(x) < 1.7e-38.
BRAIN_HOST_DEVICE inline float FastExp(float x) {
  constexpr float kLow = -87.0f;
  constexpr float kHigh = 88.0f;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;          // 1.5·2^23: (t + kRound) − kRound rounds t to an integer
  constexpr float kLn2Hi = 0.693145751953125f;   // few mantissa bits, so n·kLn2Hi is exact
  constexpr float kLn2Lo = 1.428606765330187e-06f;
  float c = x < kLow ? kLow : x;
  c = c > kHigh ? kHigh : c;
  const float n = (c * kLog2e + kRound) - kRound;
  const float r = (c - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof(scale));
  return x < kLow ? 0.0f : p * scale;
}

// ∂(g·log softmax(z)_target)/∂z_j = g·(1[j == target] − exp(z_j − lse)).
BRAIN_HOST_DEVICE inline float LogitGradient(float z, float lse, float g, bool is_target) {
  return g * ((is_target ? 1.0f : 0.0f) - expf(z - lse));
}

}  // namespace brain::kernels
