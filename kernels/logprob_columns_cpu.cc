// CPU kernels over a vocab-major logits chunk: online per-column log-sum-exp and the logit gradient.
#include "kernels/logprob_columns_cpu.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu_vector_math.h"

namespace brain::kernels::internal {
namespace {

// Vocabulary rows per block: 64 rows of a thread's columns (128 fp32 columns: 32 KB) stay in L1/L2
// between the block's max pass and its sum pass.
constexpr int64_t kVocabBlock = 64;
// Columns per unit of work handed to a thread: one 64-byte cache line of fp32.
constexpr int64_t kColumnGrain = 16;

// Folds `vocab` rows of `width` columns (pointer `z` at the first one, row stride `ld`) into the running
// max[c], sum[c] = Σ exp(z − max), wsum[c] = Σ exp(z − max)·(z − max) (kEntropy only).
// Scratch: block_max and shift, `width` each.
template <typename T, bool kEntropy>
inline void SummariseColumns(const T* z, int64_t vocab, int64_t ld, int64_t width, T* max, T* sum, T* wsum,
                             T* block_max, T* shift) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  for (int64_t v0 = 0; v0 < vocab; v0 += kVocabBlock) {
    const int64_t v1 = std::min(vocab, v0 + kVocabBlock);
    for (int64_t c = 0; c < width; ++c) block_max[c] = kNegInf;
    for (int64_t v = v0; v < v1; ++v) {
      const T* row = z + v * ld;
#pragma omp simd
      for (int64_t c = 0; c < width; ++c) block_max[c] = row[c] > block_max[c] ? row[c] : block_max[c];
    }
    // Move each summary to the new max. sum == 0 means nothing finite yet: nothing to rescale (and
    // no −inf − −inf). The shift of a still-empty column is 0, so its −inf logits add exp(−inf) = 0.
    for (int64_t c = 0; c < width; ++c) {
      const T new_max = block_max[c] > max[c] ? block_max[c] : max[c];
      if (sum[c] > 0 && new_max > max[c]) {
        const T d = max[c] - new_max;
        const T e = ExpOf(d);
        if constexpr (kEntropy) wsum[c] = e * (wsum[c] + d * sum[c]);
        sum[c] *= e;
      }
      max[c] = new_max;
      shift[c] = new_max > kNegInf ? new_max : T(0);
    }
    for (int64_t v = v0; v < v1; ++v) {
      const T* row = z + v * ld;
#pragma omp simd
      for (int64_t c = 0; c < width; ++c) {
        const T d = row[c] - shift[c];
        const T e = ExpOf(d);
        sum[c] += e;
        if constexpr (kEntropy) wsum[c] += e > 0 ? e * d : T(0);  // −inf logits: 0, not 0·(−inf)
      }
    }
  }
}

// z[v, c] ← neg_grad[c]·exp(z[v, c] − shift[c]) for `width` columns.
template <typename T>
inline void ScaledExpColumns(T* z, int64_t vocab, int64_t ld, int64_t width, const T* neg_grad, const T* shift) {
  for (int64_t v = 0; v < vocab; ++v) {
    T* row = z + v * ld;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) row[c] = neg_grad[c] * ExpOf(row[c] - shift[c]);
  }
}

// Overloads the drivers call: fp32 multi-versioned, fp64 plain.
BRAIN_CPU_CLONES void SummariseColumnsOf(const float* z, int64_t vocab, int64_t ld, int64_t width, bool entropy,
                                         float* max, float* sum, float* wsum, float* block_max, float* shift) {
  entropy ? SummariseColumns<float, true>(z, vocab, ld, width, max, sum, wsum, block_max, shift)
          : SummariseColumns<float, false>(z, vocab, ld, width, max, sum, wsum, block_max, shift);
}
void SummariseColumnsOf(const double* z, int64_t vocab, int64_t ld, int64_t width, bool entropy, double* max,
                        double* sum, double* wsum, double* block_max, double* shift) {
  entropy ? SummariseColumns<double, true>(z, vocab, ld, width, max, sum, wsum, block_max, shift)
          : SummariseColumns<double, false>(z, vocab, ld, width, max, sum, wsum, block_max, shift);
}
BRAIN_CPU_CLONES void ScaledExpColumnsOf(float* z, int64_t vocab, int64_t ld, int64_t width,
                                         const float* neg_grad, const float* shift) {
  ScaledExpColumns(z, vocab, ld, width, neg_grad, shift);
}
void ScaledExpColumnsOf(double* z, int64_t vocab, int64_t ld, int64_t width, const double* neg_grad,
                        const double* shift) {
  ScaledExpColumns(z, vocab, ld, width, neg_grad, shift);
}

template <typename T>
void AccumulateColumnRange(const T* z, int64_t vocab, int64_t ld, int64_t begin, int64_t end, int64_t first_row,
                           const int64_t* targets, bool with_entropy, T* max, T* sum, T* wsum, T* target_logit) {
  const int64_t width = end - begin;
  std::vector<T> scratch(2 * width);
  SummariseColumnsOf(z + begin, vocab, ld, width, with_entropy, max + begin, sum + begin, wsum + begin,
                     scratch.data(), scratch.data() + width);
  for (int64_t col = begin; col < end; ++col) {
    const int64_t row = targets[col] - first_row;
    if (row >= 0 && row < vocab) target_logit[col] = z[row * ld + col];
  }
}

template <typename T>
void GradColumnRange(T* z, int64_t vocab, int64_t ld, int64_t begin, int64_t end, const int64_t* targets,
                     int64_t ignore_index, int64_t first_row, const T* lse, const T* grad) {
  const int64_t width = end - begin;
  std::vector<T> neg_grad(width);
  std::vector<T> shift(width);
  for (int64_t c = 0; c < width; ++c) {
    const int64_t col = begin + c;
    const bool live = targets[col] != ignore_index && grad[col] != 0 && std::isfinite(lse[col]);
    neg_grad[c] = live ? -grad[col] : T(0);
    // A dead column's shift is +inf, so every element becomes 0·exp(−inf) = 0, whatever its logit.
    shift[c] = live ? lse[col] : std::numeric_limits<T>::infinity();
  }
  ScaledExpColumnsOf(z + begin, vocab, ld, width, neg_grad.data(), shift.data());
  for (int64_t c = 0; c < width; ++c) {
    const int64_t row = targets[begin + c] - first_row;
    if (neg_grad[c] != 0 && row >= 0 && row < vocab) z[row * ld + begin + c] -= neg_grad[c];
  }
}

template <typename T>
T* PtrOrNull(const at::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

void CheckArgs(const at::Tensor& logits_t, const at::Tensor& targets,
               std::initializer_list<const at::Tensor*> vectors) {
  TORCH_CHECK(ColumnKernelsCpuSupport(logits_t),
              "CPU column kernels need a contiguous fp32/fp64 CPU [V, rows] chunk");
  const int64_t cols = logits_t.size(1);
  TORCH_CHECK(targets.is_contiguous() && targets.scalar_type() == at::kLong && targets.numel() == cols,
              "CPU column kernels: targets must be contiguous int64 [rows]");
  for (const at::Tensor* t : vectors) {
    if (!t->defined()) continue;
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == logits_t.scalar_type() && t->numel() == cols,
                "CPU column kernels: per-column vectors must be contiguous [rows] of the logits dtype");
  }
}

}  // namespace

bool ColumnKernelsCpuSupport(const at::Tensor& logits_t) {
  return logits_t.device().is_cpu() && logits_t.dim() == 2 && logits_t.is_contiguous() &&
         (logits_t.scalar_type() == at::kFloat || logits_t.scalar_type() == at::kDouble);
}

ColumnSummary EmptyColumnSummary(int64_t cols, at::ScalarType dtype) {
  const auto options = at::TensorOptions().dtype(dtype);
  return {at::full({cols}, -std::numeric_limits<double>::infinity(), options), at::zeros({cols}, options),
          at::zeros({cols}, options), at::zeros({cols}, options)};
}

void AccumulateColumnsCpu(const at::Tensor& logits_t, int64_t first_row, const at::Tensor& targets,
                          bool with_entropy, ColumnSummary& summary) {
  CheckArgs(logits_t, targets, {&summary.max, &summary.sum, &summary.wsum, &summary.target_logit});
  AT_DISPATCH_FLOATING_TYPES(logits_t.scalar_type(), "AccumulateColumnsCpu", [&] {
    const scalar_t* z = logits_t.data_ptr<scalar_t>();
    const int64_t rows = logits_t.size(0);
    const int64_t cols = logits_t.size(1);
    at::parallel_for(0, cols, kColumnGrain, [&](int64_t begin, int64_t end) {
      AccumulateColumnRange(z, rows, cols, begin, end, first_row, targets.data_ptr<int64_t>(), with_entropy,
                            summary.max.data_ptr<scalar_t>(), summary.sum.data_ptr<scalar_t>(),
                            summary.wsum.data_ptr<scalar_t>(), summary.target_logit.data_ptr<scalar_t>());
    });
  });
}

void FinishColumns(const ColumnSummary& summary, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                   at::Tensor logprob, at::Tensor entropy) {
  const at::Tensor valid = targets.ne(ignore_index);
  const at::Tensor log_sum = summary.sum.log();
  // sum > 0 whenever the max is finite (its own term is 1); sum == 0: no finite logit, no mass.
  const at::Tensor has_mass = summary.sum.gt(0);
  const at::Tensor nan = at::full({}, std::numeric_limits<double>::quiet_NaN(), summary.sum.options());
  const at::Tensor neg_inf = at::full({}, -std::numeric_limits<double>::infinity(), summary.sum.options());
  lse.copy_(at::where(has_mass, summary.max + log_sum, at::where(summary.sum.eq(0), neg_inf, nan)));
  const at::Tensor lp = at::where(has_mass, (summary.target_logit - summary.max) - log_sum, nan);
  logprob.copy_(at::where(valid, lp, at::zeros({}, lp.options())));
  if (entropy.defined()) {
    entropy.copy_(at::where(has_mass, log_sum - summary.wsum / summary.sum, at::zeros({}, lp.options())));
  }
}

void ColumnLogitGradInPlaceCpu(at::Tensor& logits_t, const at::Tensor& lse, const at::Tensor& grad,
                               const at::Tensor& targets, int64_t ignore_index, int64_t first_row) {
  CheckArgs(logits_t, targets, {&lse, &grad});
  AT_DISPATCH_FLOATING_TYPES(logits_t.scalar_type(), "ColumnLogitGradInPlaceCpu", [&] {
    scalar_t* z = logits_t.data_ptr<scalar_t>();
    const int64_t vocab = logits_t.size(0);
    const int64_t cols = logits_t.size(1);
    at::parallel_for(0, cols, kColumnGrain, [&](int64_t begin, int64_t end) {
      GradColumnRange(z, vocab, cols, begin, end, targets.data_ptr<int64_t>(), ignore_index, first_row,
                      lse.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>());
    });
  });
}

}  // namespace brain::kernels::internal
