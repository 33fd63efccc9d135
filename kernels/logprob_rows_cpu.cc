// CPU row kernels for the fused log-likelihood: per-row passes kept in cache, fp32 loops vectorised.
#include "kernels/logprob_rows_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu_vector_math.h"

namespace brain::kernels::internal {
namespace {

template <typename T>
inline void RowSumExpAny(T* z, int64_t v, T m, bool store, bool entropy, T* sum, T* wsum) {
  if (store) {
    entropy ? RowSumExp<T, true, true>(z, v, m, sum, wsum) : RowSumExp<T, true, false>(z, v, m, sum, wsum);
  } else {
    entropy ? RowSumExp<T, false, true>(z, v, m, sum, wsum) : RowSumExp<T, false, false>(z, v, m, sum, wsum);
  }
}

// z ← scale·exp(z − shift).
template <typename T>
inline void RowScaledExp(T* z, int64_t v, T shift, T scale) {
#pragma omp simd
  for (int64_t j = 0; j < v; ++j) z[j] = scale * ExpOf(z[j] - shift);
}

template <typename T>
inline void RowScale(T* z, int64_t v, T scale) {
#pragma omp simd
  for (int64_t j = 0; j < v; ++j) z[j] *= scale;
}

// Overloads the row drivers call: fp32 multi-versioned, fp64 plain.
BRAIN_CPU_CLONES float RowMaxOf(const float* z, int64_t v) { return RowMax(z, v); }
double RowMaxOf(const double* z, int64_t v) { return RowMax(z, v); }
BRAIN_CPU_CLONES void RowSumExpOf(float* z, int64_t v, float m, bool store, bool entropy, float* s, float* w) {
  RowSumExpAny(z, v, m, store, entropy, s, w);
}
void RowSumExpOf(double* z, int64_t v, double m, bool store, bool entropy, double* s, double* w) {
  RowSumExpAny(z, v, m, store, entropy, s, w);
}
BRAIN_CPU_CLONES void RowScaledExpOf(float* z, int64_t v, float shift, float scale) {
  RowScaledExp(z, v, shift, scale);
}
void RowScaledExpOf(double* z, int64_t v, double shift, double scale) { RowScaledExp(z, v, shift, scale); }
BRAIN_CPU_CLONES void RowScaleOf(float* z, int64_t v, float scale) { RowScale(z, v, scale); }
void RowScaleOf(double* z, int64_t v, double scale) { RowScale(z, v, scale); }

// Row views of the chunk and its per-row vectors (null when absent).
template <typename T>
struct Rows {
  T* logits;
  int64_t cols;
  const int64_t* targets;
  int64_t ignore_index;
  const T* grad;
  T* lse;
  T* logprob;
  T* entropy;
};

// Statistics of one row and, when rows.grad is set, the row turned into grad·(onehot − softmax).
template <typename T>
void StatsRow(const Rows<T>& rows, int64_t r) {
  T* z = rows.logits + r * rows.cols;
  const int64_t v = rows.cols;
  const int64_t target = rows.targets[r];
  const bool ignored = target == rows.ignore_index;
  rows.logprob[r] = 0;
  if (ignored && rows.entropy == nullptr) {
    rows.lse[r] = 0;
    if (rows.grad != nullptr) std::fill(z, z + v, T(0));
    return;
  }
  const T target_logit = ignored ? T(0) : z[target];
  const T m = RowMaxOf(z, v);
  if (!(m > -std::numeric_limits<T>::infinity())) {  // all −inf (or NaN): no probability mass
    rows.lse[r] = m;
    if (!ignored) rows.logprob[r] = std::numeric_limits<T>::quiet_NaN();
    if (rows.entropy != nullptr) rows.entropy[r] = 0;
    if (rows.grad != nullptr) std::fill(z, z + v, T(0));
    return;
  }
  T s = 0;
  T w = 0;
  RowSumExpOf(z, v, m, /*store=*/rows.grad != nullptr, /*entropy=*/rows.entropy != nullptr, &s, &w);
  const T log_s = std::log(s);
  rows.lse[r] = m + log_s;
  if (!ignored) rows.logprob[r] = (target_logit - m) - log_s;
  if (rows.entropy != nullptr) rows.entropy[r] = log_s - w / s;
  if (rows.grad == nullptr) return;
  const T g = ignored ? T(0) : rows.grad[r];
  if (g == 0) {
    std::fill(z, z + v, T(0));
    return;
  }
  RowScaleOf(z, v, -g / s);  // z holds exp(z − m): −g·softmax
  z[target] += g;
}

template <typename T>
void GradRow(const Rows<T>& rows, int64_t r) {
  T* z = rows.logits + r * rows.cols;
  const int64_t target = rows.targets[r];
  const T g = target == rows.ignore_index ? T(0) : rows.grad[r];
  if (g == 0) {
    std::fill(z, z + rows.cols, T(0));
    return;
  }
  RowScaledExpOf(z, rows.cols, rows.lse[r], -g);
  z[target] += g;
}

template <typename T, typename RowFn>
void ForEachRow(const Rows<T>& rows, int64_t count, RowFn fn) {
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(rows, r);
  });
}

template <typename T>
T* PtrOrNull(const at::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

void CheckArgs(const at::Tensor& logits, const at::Tensor& targets,
               std::initializer_list<const at::Tensor*> vectors) {
  TORCH_CHECK(RowKernelsCpuSupport(logits), "CPU row kernels need a contiguous fp32/fp64 CPU [rows, V] chunk");
  TORCH_CHECK(targets.is_contiguous() && targets.scalar_type() == at::kLong && targets.numel() == logits.size(0),
              "CPU row kernels: targets must be contiguous int64 [rows]");
  for (const at::Tensor* t : vectors) {
    if (!t->defined()) continue;
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == logits.scalar_type() && t->numel() == logits.size(0),
                "CPU row kernels: per-row vectors must be contiguous [rows] of the logits dtype");
  }
}

}  // namespace

bool RowKernelsCpuSupport(const at::Tensor& logits) {
  return logits.device().is_cpu() && logits.dim() == 2 && logits.is_contiguous() &&
         (logits.scalar_type() == at::kFloat || logits.scalar_type() == at::kDouble);
}

void RowStatsCpu(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index, at::Tensor lse,
                 at::Tensor logprob, at::Tensor entropy) {
  CheckArgs(logits, targets, {&lse, &logprob, &entropy});
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "RowStatsCpu", [&] {
    const Rows<scalar_t> rows{logits.data_ptr<scalar_t>(), logits.size(1),  targets.data_ptr<int64_t>(),
                              ignore_index,                nullptr,         lse.data_ptr<scalar_t>(),
                              logprob.data_ptr<scalar_t>(), PtrOrNull<scalar_t>(entropy)};
    ForEachRow(rows, logits.size(0), StatsRow<scalar_t>);
  });
}

void LogitGradInPlaceCpu(at::Tensor& logits, const at::Tensor& lse, const at::Tensor& grad,
                         const at::Tensor& targets, int64_t ignore_index) {
  CheckArgs(logits, targets, {&lse, &grad});
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "LogitGradInPlaceCpu", [&] {
    const Rows<scalar_t> rows{logits.data_ptr<scalar_t>(),
                              logits.size(1),
                              targets.data_ptr<int64_t>(),
                              ignore_index,
                              grad.data_ptr<scalar_t>(),
                              const_cast<scalar_t*>(lse.data_ptr<scalar_t>()),
                              nullptr,
                              nullptr};
    ForEachRow(rows, logits.size(0), GradRow<scalar_t>);
  });
}

void RowStatsAndGradInPlaceCpu(at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                               const at::Tensor& grad, at::Tensor lse, at::Tensor logprob, at::Tensor entropy) {
  CheckArgs(logits, targets, {&grad, &lse, &logprob, &entropy});
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "RowStatsAndGradInPlaceCpu", [&] {
    const Rows<scalar_t> rows{logits.data_ptr<scalar_t>(), logits.size(1),  targets.data_ptr<int64_t>(),
                              ignore_index,                grad.data_ptr<scalar_t>(),
                              lse.data_ptr<scalar_t>(),    logprob.data_ptr<scalar_t>(),
                              PtrOrNull<scalar_t>(entropy)};
    ForEachRow(rows, logits.size(0), StatsRow<scalar_t>);
  });
}

}  // namespace brain::kernels::internal
