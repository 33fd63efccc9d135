// Per-row log-sum-exp / entropy / logit-gradient math shared by the CUDA kernels and the CPU tests.
#pragma once

#include <math.h>

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

// ∂(g·log softmax(z)_target)/∂z_j = g·(1[j == target] − exp(z_j − lse)).
BRAIN_HOST_DEVICE inline float LogitGradient(float z, float lse, float g, bool is_target) {
  return g * ((is_target ? 1.0f : 0.0f) - expf(z - lse));
}

}  // namespace brain::kernels
