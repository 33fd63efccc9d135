// What the vectorised CPU loops of the fused log-likelihood share: the ISA clone attribute and exp.
#pragma once

#include <cmath>

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

}  // namespace brain::kernels::internal
