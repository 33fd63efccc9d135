// The fused CPU AdamW element update and sum of squares against the formula written out in fp64 ATen
// ops, and against LibTorch's own AdamW.
#include "distributed/adamw_update.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>

namespace brain::distributed {
namespace {

struct State {
  at::Tensor value, grad, m, v;
};

// 1,000,003 elements: not a multiple of any vector width or of the per-thread grain.
State MakeState(at::ScalarType dtype) {
  at::manual_seed(5);
  const int64_t n = 1000003;
  return {at::randn({n}, dtype), at::randn({n}, dtype) * 0.1, at::randn({n}, dtype) * 0.01,
          at::rand({n}, dtype) * 0.001};
}

// The same step in fp64, one formula per line.
State Reference(const State& in, const AdamWScalars& s) {
  State out{in.value.to(at::kDouble), in.grad.to(at::kDouble) * s.grad_scale, in.m.to(at::kDouble),
            in.v.to(at::kDouble)};
  out.m = s.beta1 * out.m + (1 - s.beta1) * out.grad;
  out.v = s.beta2 * out.v + (1 - s.beta2) * out.grad * out.grad;
  out.value = out.value * (1 - s.lr * s.weight_decay) -
              (s.lr / s.bias1) * out.m / (out.v.sqrt() / std::sqrt(s.bias2) + s.eps);
  return out;
}

double RelErr(const at::Tensor& got, const at::Tensor& want) {
  return ((got.to(at::kDouble) - want).norm() / want.norm()).item<double>();
}

TEST(AdamWUpdate, FusedStepMatchesTheFormulaInFp64) {
  const AdamWScalars s{1e-3, 0.9, 0.999, 1e-8, 0.1, 1 - std::pow(0.9, 3), 1 - std::pow(0.999, 3), 0.5};
  for (auto dtype : {at::kFloat, at::kDouble}) {
    State st = MakeState(dtype);
    const State want = Reference(st, s);
    AdamWUpdate(st.value, st.grad, st.m, st.v, s);
    const double tol = dtype == at::kDouble ? 1e-14 : 1e-6;
    EXPECT_LT(RelErr(st.value, want.value), tol);
    EXPECT_LT(RelErr(st.m, want.m), tol);
    EXPECT_LT(RelErr(st.v, want.v), tol);
    // The parameters moved by about lr per element, far above the tolerance: the test can fail.
    EXPECT_GT((st.value.to(at::kDouble) - MakeState(dtype).value.to(at::kDouble)).abs().mean().item<double>(),
              1e-4);
  }
}

TEST(AdamWUpdate, NonContiguousInputsTakeTheAtenPathWithTheSameResult) {
  const AdamWScalars s{1e-2, 0.9, 0.99, 1e-6, 0.0, 0.1, 0.01, 1.0};
  State fused = MakeState(at::kFloat);
  State strided{at::stack({fused.value, fused.value}, 1).select(1, 0), fused.grad.clone(), fused.m.clone(),
                fused.v.clone()};
  ASSERT_FALSE(strided.value.is_contiguous());
  AdamWUpdate(fused.value, fused.grad, fused.m, fused.v, s);
  AdamWUpdate(strided.value, strided.grad, strided.m, strided.v, s);
  EXPECT_LT((fused.value - strided.value).abs().max().item<double>(), 1e-6);
  EXPECT_LT((fused.v - strided.v).abs().max().item<double>(), 1e-9);
}

TEST(AdamWUpdate, ThreeStepsEqualLibTorchAdamW) {
  at::manual_seed(8);
  at::Tensor p = at::randn({4099}, at::kDouble);
  at::Tensor theirs = p.clone().requires_grad_(true);
  at::Tensor m = at::zeros_like(p), v = at::zeros_like(p);
  torch::optim::AdamW torch_adamw({theirs}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).eps(1e-8)
                                                .weight_decay(0.05));
  for (int step = 1; step <= 3; ++step) {
    const at::Tensor g = at::randn({4099}, at::kDouble);
    theirs.mutable_grad() = g.clone();
    torch_adamw.step();
    AdamWUpdate(p, g, m, v, {0.01, 0.9, 0.95, 1e-8, 0.05, 1 - std::pow(0.9, step), 1 - std::pow(0.95, step)});
  }
  EXPECT_LT((p - theirs.detach()).abs().max().item<double>(), 1e-12);
}

TEST(AdamWUpdate, SumOfSquaresAccumulatesInFp64) {
  at::manual_seed(2);
  const at::Tensor g = at::randn({3000017}, at::kFloat) * 1e3;
  const double want = g.to(at::kDouble).pow(2).sum().item<double>();
  EXPECT_NEAR(SumOfSquares(g), want, 1e-12 * want);
  EXPECT_NEAR(SumOfSquares(g.to(at::kDouble)), want, 1e-12 * want);
  EXPECT_NEAR(SumOfSquares(at::stack({g, g}, 1).select(1, 1)), want, 1e-12 * want);  // strided: ATen path
}

}  // namespace
}  // namespace brain::distributed
