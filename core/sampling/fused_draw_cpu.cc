// FusedDrawCpu: temper + max, exp + sum, then a blocked inverse-CDF walk, per row in a cached buffer.
#include "core/sampling/fused_draw_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu_vector_math.h"

namespace brain::sampling::internal {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kWalkBlock = 256;  // CDF stretch skipped with one vectorised sum

// x ← z / temperature; returns max x.
BRAIN_CPU_CLONES float TemperAndMax(const float* z, float* x, int64_t v, float temperature) {
  float m = kNegInf;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < v; ++j) {
    const float t = z[j] / temperature;
    x[j] = t;
    m = t > m ? t : m;
  }
  return m;
}

BRAIN_CPU_CLONES float MaxOf(const float* x, int64_t v) { return kernels::internal::RowMax(x, v); }

// x ← exp(x − m); returns Σ x (−inf entries become 0).
BRAIN_CPU_CLONES float ExpInPlaceAndSum(float* x, int64_t v, float m) {
  float sum = 0, unused = 0;
  kernels::internal::RowSumExp<float, /*kStore=*/true, /*kEntropy=*/false>(x, v, m, &sum, &unused);
  return sum;
}

BRAIN_CPU_CLONES float SumOf(const float* x, int64_t v) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < v; ++j) s += x[j];
  return s;
}

// The first index whose running sum of p (in double) exceeds target; the last positive entry when none
// does. Blocks whose sum keeps the running total at or below target are skipped whole.
int64_t Invert(const float* p, int64_t v, double target) {
  double c = 0;
  int64_t last = -1;
  for (int64_t start = 0; start < v; start += kWalkBlock) {
    const int64_t n = std::min(kWalkBlock, v - start);
    const double block = SumOf(p + start, n);
    if (block <= 0) continue;
    if (c + block <= target) {
      c += block;
      for (int64_t j = n - 1; j >= 0; --j) {
        if (p[start + j] > 0) {
          last = start + j;
          break;
        }
      }
      continue;
    }
    for (int64_t j = 0; j < n; ++j) {
      if (p[start + j] <= 0) continue;
      last = start + j;
      c += p[start + j];
      if (c > target) return last;
    }
  }
  return last;
}

}  // namespace

void FusedDrawCpu(const float* logits, int64_t rows, int64_t vocab, double temperature,
                  const std::vector<int64_t>& stop_ids, const bool* ban, const double* uniforms,
                  int64_t* tokens, float* logq) {
  const float temp = static_cast<float>(temperature);
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> x(static_cast<size_t>(vocab));
    for (int64_t r = begin; r < end; ++r) {
      float m = TemperAndMax(logits + r * vocab, x.data(), vocab, temp);
      if (ban != nullptr && ban[r] && !stop_ids.empty()) {
        for (const int64_t id : stop_ids) {
          if (id >= 0 && id < vocab) x[id] = kNegInf;  // ids outside the vocabulary are never drawn
        }
        m = MaxOf(x.data(), vocab);
      }
      if (m == kNegInf) {  // nothing left to draw (every token banned): token 0, as the tensor path
        tokens[r] = 0;
        logq[r] = kNegInf;
        continue;
      }
      const float sum = ExpInPlaceAndSum(x.data(), vocab, m);
      const int64_t token = std::max<int64_t>(0, Invert(x.data(), vocab, uniforms[r] * sum));
      tokens[r] = token;  // a positive entry: the max contributes exp(0) = 1 to the sum
      logq[r] = (logits[r * vocab + token] / temp - m) - std::log(sum);
    }
  });
}

}  // namespace brain::sampling::internal
