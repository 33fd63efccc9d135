// The AdamW element update and the gradient's sum of squares, shared by ShardedAdamW and Stage3AdamW.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace brain::distributed {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled: p ← p·(1 − lr·wd)
};

// One step's scalars: decoupled weight decay, bias corrections 1 − β^t, and a factor the gradient is
// multiplied by first (the clip coefficient).
struct AdamWScalars {
  double lr;
  double beta1;
  double beta2;
  double eps;
  double weight_decay;
  double bias1;
  double bias2;
  double grad_scale = 1.0;
};

// The scalars of step number `step` (1 for the first) with learning rate `lr`.
AdamWScalars StepScalars(const AdamWOptions& options, int64_t step, double lr, double grad_scale);

// In place, elementwise over 1-D tensors of one length:
//   g ← grad_scale·grad;  value ← value·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   value ← value − (lr / bias1)·m / (√v / √bias2 + eps).
// On the CPU, for contiguous fp32/fp64 tensors of one dtype, one vectorised pass over each element
// (read value, grad, m, v; write value, m, v) split over LibTorch's intra-op threads — the ATen chain
// of the same formula makes ten passes and temporaries. Elsewhere (CUDA, mixed dtypes) the ATen ops.
void AdamWUpdate(at::Tensor& value, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                 const AdamWScalars& s);

// Σ grad² accumulated in fp64 (one pass on the CPU for contiguous fp32/fp64; ATen elsewhere).
double SumOfSquares(const at::Tensor& grad);

}  // namespace brain::distributed
