// Shared by the fused log-prob kernel tests: random inputs, their fp64 twin, a relative error, the
// fused-vs-reference comparison and finite-difference gradients.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/weighted_token_logprobs.h"

namespace brain::kernels::test_inputs {

struct LogprobInputs {
  torch::Tensor hidden;         // [N, d], requires grad
  torch::Tensor weight;         // [V, d], requires grad
  torch::Tensor targets;        // [N]
  torch::Tensor token_weights;  // [N] per-token weights: positive, negative and every 4th zero (fp64)
};

// Random inputs; `ignore_every` > 0 marks every k-th target ignored.
inline LogprobInputs MakeLogprobInputs(int64_t n, int64_t d, int64_t v, torch::Dtype dtype, uint64_t seed,
                                       double weight_scale = 0.3, int64_t ignore_every = 5) {
  torch::manual_seed(seed);
  LogprobInputs in;
  in.hidden = torch::randn({n, d}, torch::kDouble).to(dtype).requires_grad_();
  in.weight = (torch::randn({v, d}, torch::kDouble) * weight_scale).to(dtype).requires_grad_();
  in.targets = torch::randint(0, v, {n}, torch::kLong);
  if (ignore_every > 0) in.targets.index_put_({torch::arange(0, n, ignore_every)}, kDefaultIgnoreIndex);
  in.token_weights = torch::randn({n}, torch::kDouble);
  in.token_weights.index_put_({torch::arange(1, n, 4)}, 0.0);
  return in;
}

// The same values as fp64 leaves (the ground truth is computed in double on identical inputs).
inline LogprobInputs AsDouble(const LogprobInputs& in) {
  LogprobInputs out = in;
  out.hidden = in.hidden.detach().to(torch::kDouble).requires_grad_();
  out.weight = in.weight.detach().to(torch::kDouble).requires_grad_();
  return out;
}

// max |a − b| / max |b|, in double on the CPU.
inline double RelErr(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor ad = a.detach().cpu().to(torch::kDouble), bd = b.detach().cpu().to(torch::kDouble);
  return (ad - bd).abs().max().item<double>() / std::max(bd.abs().max().item<double>(), 1e-300);
}

// What a fused op and its naive reference produce for the same inputs (`loss` only for ops that reduce).
struct LogprobResult {
  torch::Tensor loss, logprob, grad_hidden, grad_weight;
};

// Every field of `got` within relative error `tol` of `want` (the loss when both have one).
inline void ExpectClose(const LogprobResult& got, const LogprobResult& want, double tol, const std::string& what) {
  if (got.loss.defined() && want.loss.defined()) {
    EXPECT_LE(RelErr(got.loss, want.loss), tol) << what << " loss";
  }
  EXPECT_LE(RelErr(got.logprob, want.logprob), tol) << what << " logprob";
  EXPECT_LE(RelErr(got.grad_hidden, want.grad_hidden), tol) << what << " grad_hidden";
  EXPECT_LE(RelErr(got.grad_weight, want.grad_weight), tol) << what << " grad_weight";
}

// Test shapes: N tokens, hidden size d, vocabulary V, chunk rows (0 = automatic).
struct Shape {
  int64_t n, d, v, chunk;
};

// Checks `grad_hidden` and `grad_weight` entry by entry against central differences of the scalar
// `loss(hidden, weight)` at the inputs' values (step 1e-6, tolerance 1e-8: fp64 inputs).
template <typename Loss>
void ExpectFiniteDifferenceGradients(const LogprobInputs& in, const torch::Tensor& grad_hidden,
                                     const torch::Tensor& grad_weight, Loss loss) {
  const double eps = 1e-6;
  const torch::Tensor h0 = in.hidden.detach(), w0 = in.weight.detach();
  for (int which = 0; which < 2; ++which) {
    const torch::Tensor base = which == 0 ? h0 : w0;
    const torch::Tensor analytic = which == 0 ? grad_hidden : grad_weight;
    for (int64_t k = 0; k < base.numel(); ++k) {
      torch::Tensor plus = base.clone(), minus = base.clone();
      plus.view({-1})[k] += eps;
      minus.view({-1})[k] -= eps;
      const double fd = which == 0 ? (loss(plus, w0) - loss(minus, w0)) / (2 * eps)
                                   : (loss(h0, plus) - loss(h0, minus)) / (2 * eps);
      EXPECT_NEAR(analytic.reshape({-1})[k].item<double>(), fd, 1e-8)
          << (which == 0 ? "hidden" : "weight") << "[" << k << "]";
    }
  }
}

}  // namespace brain::kernels::test_inputs
