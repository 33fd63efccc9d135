// Fused AdamW element update and sum of squares on the CPU, with ATen fallbacks.
#include "distributed/adamw_update.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace brain::distributed {
namespace {

// Elements per unit of work handed to a thread.
constexpr int64_t kGrain = int64_t{1} << 16;

bool FusedCpu(std::initializer_list<const at::Tensor*> tensors) {
  const at::Tensor& first = **tensors.begin();
  if (!first.device().is_cpu() || (first.scalar_type() != at::kFloat && first.scalar_type() != at::kDouble)) {
    return false;
  }
  for (const at::Tensor* t : tensors) {
    if (!t->device().is_cpu() || !t->is_contiguous() || t->scalar_type() != first.scalar_type() ||
        t->numel() != first.numel()) {
      return false;
    }
  }
  return true;
}

template <typename T>
void UpdateRange(T* value, const T* grad, T* m, T* v, int64_t n, const AdamWScalars& s) {
  const T scale = static_cast<T>(s.grad_scale);
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T beta1 = static_cast<T>(s.beta1), one_minus_beta1 = static_cast<T>(1.0 - s.beta1);
  const T beta2 = static_cast<T>(s.beta2), one_minus_beta2 = static_cast<T>(1.0 - s.beta2);
  const T sqrt_bias2 = static_cast<T>(std::sqrt(s.bias2));
  const T eps = static_cast<T>(s.eps);
  const T step = static_cast<T>(s.lr / s.bias1);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i] * scale;
    const T mi = beta1 * m[i] + one_minus_beta1 * g;
    const T vi = beta2 * v[i] + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    value[i] = value[i] * decay - step * mi / (std::sqrt(vi) / sqrt_bias2 + eps);
  }
}

template <typename T>
double SumOfSquaresRange(const T* g, int64_t n) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  return sum;
}

}  // namespace

AdamWScalars StepScalars(const AdamWOptions& options, int64_t step, double lr, double grad_scale) {
  return {lr,
          options.beta1,
          options.beta2,
          options.eps,
          options.weight_decay,
          1.0 - std::pow(options.beta1, static_cast<double>(step)),
          1.0 - std::pow(options.beta2, static_cast<double>(step)),
          grad_scale};
}

void AdamWUpdate(at::Tensor& value, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                 const AdamWScalars& s) {
  if (FusedCpu({&value, &grad, &exp_avg, &exp_avg_sq})) {
    AT_DISPATCH_FLOATING_TYPES(value.scalar_type(), "AdamWUpdate", [&] {
      scalar_t* p = value.data_ptr<scalar_t>();
      const scalar_t* g = grad.data_ptr<scalar_t>();
      scalar_t* m = exp_avg.data_ptr<scalar_t>();
      scalar_t* v = exp_avg_sq.data_ptr<scalar_t>();
      at::parallel_for(0, value.numel(), kGrain, [&](int64_t begin, int64_t end) {
        UpdateRange(p + begin, g + begin, m + begin, v + begin, end - begin, s);
      });
    });
    return;
  }
  const at::Tensor g = s.grad_scale == 1.0 ? grad : grad * s.grad_scale;
  value.mul_(1.0 - s.lr * s.weight_decay);
  exp_avg.mul_(s.beta1).add_(g, 1.0 - s.beta1);
  exp_avg_sq.mul_(s.beta2).addcmul_(g, g, 1.0 - s.beta2);
  const at::Tensor denom = exp_avg_sq.sqrt().div_(std::sqrt(s.bias2)).add_(s.eps);
  value.addcdiv_(exp_avg, denom, -s.lr / s.bias1);
}

double SumOfSquares(const at::Tensor& grad) {
  if (FusedCpu({&grad})) {
    // Partial sums over fixed blocks, added in block order: the same bits whatever the thread count
    // (a parallel_reduce would split the range by threads and round differently).
    const int64_t n = grad.numel();
    std::vector<double> partial(static_cast<size_t>((n + kGrain - 1) / kGrain), 0.0);
    AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "SumOfSquares", [&] {
      const scalar_t* g = grad.data_ptr<scalar_t>();
      at::parallel_for(0, static_cast<int64_t>(partial.size()), 1, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
          partial[b] = SumOfSquaresRange(g + b * kGrain, std::min(kGrain, n - b * kGrain));
        }
      });
    });
    double total = 0;
    for (const double p : partial) total += p;
    return total;
  }
  return grad.to(at::kDouble).pow(2).sum().cpu().item<double>();
}

}  // namespace brain::distributed
