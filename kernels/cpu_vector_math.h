// What the vectorised CPU loops share (fused log-likelihood, sampling draw): the ISA clone attribute,
// exp, and the row max / sum-of-exp passes.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/logprob_row_math.h"

// fp32 loops are built for AVX-512, AVX2 and the baseline ISA and picked at load time (GCC function
// multi-versioning); elsewhere they are compiled once for the baseline.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BRAIN_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BRAIN_CPU_CLONES
#endif

namespace brain::kernels::internal {

// fp32: FastExp (mul/add/compare only, so `#pragma omp simd` loops vectorise); fp64: std::exp, exact
// enough for the finite-difference tests.
inline float ExpOf(float x) { return FastExp(x); }
inline double ExpOf(double x) { return std::exp(x); }

// Row passes shared by the row kernels and the sampling draw. Inline templates, so that each caller's
// BRAIN_CPU_CLONES function compiles them for its ISA (a separate function would stay baseline).
template <typename T>
inline T RowMax(const T* z, int64_t v) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < v; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

// s = Σ exp(z − m) and, when kEntropy, w = Σ exp(z − m)·(z − m); when kStore, z ← exp(z − m).
template <typename T, bool kStore, bool kEntropy>
inline void RowSumExp(T* z, int64_t v, T m, T* sum, T* wsum) {
  T s = 0;
  T w = 0;
#pragma omp simd reduction(+ : s, w)
  for (int64_t j = 0; j < v; ++j) {
    const T d = z[j] - m;
    const T e = ExpOf(d);
    s += e;
    if constexpr (kEntropy) w += e > 0 ? e * d : T(0);  // −inf logits: 0, not 0·(−inf)
    if constexpr (kStore) z[j] = e;
  }
  *sum = s;
  *wsum = w;
}

}  // namespace brain::kernels::internal
