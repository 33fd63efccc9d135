// Tests of WeightedLogprobSum (gradients formed in the forward) against the naive op and finite differences.
#include "kernels/weighted_logprob_sum.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "kernels/naive_reference.h"
#include "tests/unit/kernels/logprob_test_inputs.h"

namespace brain::kernels {
namespace {

using test_inputs::AsDouble;
using test_inputs::MakeLogprobInputs;
using test_inputs::RelErr;
using Inputs = test_inputs::LogprobInputs;
using Result = test_inputs::LogprobResult;
using test_inputs::ExpectClose;
using test_inputs::Shape;

Result RunFused(const Inputs& in, int64_t chunk_rows, double grad_output = 1.0) {
  WeightedLogprobOptions options;
  options.chunk_rows = chunk_rows;
  const WeightedLogprobSumResult r =
      WeightedLogprobSum(in.hidden, in.weight, in.targets, in.token_weights, kDefaultIgnoreIndex, options);
  EXPECT_EQ(r.loss.dim(), 0);
  EXPECT_FALSE(r.logprob.requires_grad());
  const auto grads = torch::autograd::grad({r.loss}, {in.hidden, in.weight},
                                           {torch::full({}, grad_output, r.loss.options())});
  return {r.loss.detach(), r.logprob, grads[0], grads[1]};
}

// Reference: naive per-token log-probs (full [N, V] log_softmax), weighted sum, ordinary autograd.
Result RunNaive(const Inputs& in, double grad_output = 1.0) {
  const torch::Tensor lp = NaiveWeightedTokenLogprobs(in.hidden, in.weight, in.targets).logprob;
  const torch::Tensor loss = (lp * in.token_weights.to(lp.scalar_type())).sum();
  const auto grads = torch::autograd::grad({loss}, {in.hidden, in.weight},
                                           {torch::full({}, grad_output, loss.options())});
  return {loss.detach(), lp.detach(), grads[0], grads[1]};
}


TEST(WeightedLogprobSumTest, MatchesNaiveInDoubleAcrossChunkBoundaries) {
  for (const Shape& s : std::vector<Shape>{{37, 16, 101, 8},
                                           {64, 8, 97, 64},
                                           {5, 3, 1, 2},
                                           {50, 24, 257, 0},
                                           {33, 5, 7919, 10},
                                           {9, 4, 13, 100},
                                           {23, 5, 31, 1}}) {
    const Inputs in = MakeLogprobInputs(s.n, s.d, s.v, torch::kDouble, 101 + s.n);
    ExpectClose(
        RunFused(in, s.chunk), RunNaive(in), 1e-12,
        "N=" + std::to_string(s.n) + " V=" + std::to_string(s.v) + " chunk=" + std::to_string(s.chunk));
  }
}

TEST(WeightedLogprobSumTest, GradientIsScaledByGradOutput) {
  const Inputs in = MakeLogprobInputs(30, 6, 41, torch::kDouble, 7);
  for (double go : {2.5, -0.75, 0.0}) {
    ExpectClose(RunFused(in, 8, go), RunNaive(in, go), 1e-12, "grad_output " + std::to_string(go));
    if (go == 0.0) {
      EXPECT_TRUE(RunFused(in, 8, go).grad_weight.eq(0).all().item<bool>());
    }
  }
}

TEST(WeightedLogprobSumTest, GradientMatchesCentralFiniteDifferences) {
  const Inputs in = MakeLogprobInputs(6, 4, 9, torch::kDouble, 5, /*weight_scale=*/0.8, /*ignore_every=*/4);
  const Result fused = RunFused(in, /*chunk_rows=*/4, /*grad_output=*/1.7);
  auto loss = [&](const torch::Tensor& h, const torch::Tensor& w) {
    torch::NoGradGuard no_grad;
    WeightedLogprobOptions options;
    options.chunk_rows = 4;
    return 1.7 *
           WeightedLogprobSum(h, w, in.targets, in.token_weights, kDefaultIgnoreIndex, options).loss.item<double>();
  };
  test_inputs::ExpectFiniteDifferenceGradients(in, fused.grad_hidden, fused.grad_weight, loss);
}

TEST(WeightedLogprobSumTest, TokenWeightsGradientIsTheLogprob) {
  Inputs in = MakeLogprobInputs(12, 5, 17, torch::kDouble, 9, 0.5, 3);
  in.token_weights = in.token_weights.clone().requires_grad_();
  const WeightedLogprobSumResult r = WeightedLogprobSum(in.hidden, in.weight, in.targets, in.token_weights);
  const auto grads = torch::autograd::grad({r.loss}, {in.token_weights}, {torch::full({}, -3.0, r.loss.options())});
  const torch::Tensor naive_lp = NaiveWeightedTokenLogprobs(in.hidden, in.weight, in.targets).logprob.detach();
  EXPECT_LE(RelErr(grads[0], naive_lp * -3.0), 1e-12);
}

TEST(WeightedLogprobSumTest, Fp32WithinOneInAHundredThousandOfDouble) {
  for (const Shape& s : std::vector<Shape>{{300, 64, 1009, 128}, {129, 32, 5003, 0}, {1000, 48, 777, 96}}) {
    const Inputs in = MakeLogprobInputs(s.n, s.d, s.v, torch::kFloat, 21 + s.n);
    ExpectClose(RunFused(in, s.chunk), RunNaive(AsDouble(in)), 1e-5, "fp32 N=" + std::to_string(s.n));
  }
}

TEST(WeightedLogprobSumTest, Bf16WithinStatedTolerance) {
  // CPU bf16 matmuls round the logits (and grad_hidden) to bf16: ~2^-9 relative per logit. Stated
  // tolerances relative to the largest entry: logprob/loss 1e-2, grad_hidden 2e-2, grad_weight 1e-2.
  const Inputs in = MakeLogprobInputs(2048, 32, 300, torch::kBFloat16, 31, 0.3, 7);
  const Result fused = RunFused(in, 16);
  const Result truth = RunNaive(AsDouble(in));
  EXPECT_EQ(fused.grad_hidden.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(fused.grad_weight.scalar_type(), torch::kBFloat16);
  EXPECT_LE(RelErr(fused.logprob, truth.logprob), 1e-2);
  EXPECT_LE(RelErr(fused.loss, truth.loss), 1e-2);
  EXPECT_LE(RelErr(fused.grad_hidden, truth.grad_hidden), 2e-2);
  EXPECT_LE(RelErr(fused.grad_weight, truth.grad_weight), 1e-2);
}

TEST(WeightedLogprobSumTest, IgnoredRowsAndFullyIgnoredChunks) {
  Inputs in = MakeLogprobInputs(40, 6, 53, torch::kDouble, 41, 0.3, /*ignore_every=*/0);
  in.targets.narrow(0, 8, 16).fill_(kDefaultIgnoreIndex);  // chunks 1 and 2 (of 8 rows) fully ignored
  in.targets[3] = kDefaultIgnoreIndex;
  const Result fused = RunFused(in, 8);
  ExpectClose(fused, RunNaive(in), 1e-12, "ignored rows");
  const torch::Tensor ignored = in.targets.eq(kDefaultIgnoreIndex);
  EXPECT_TRUE(fused.logprob.masked_select(ignored).eq(0).all().item<bool>());
  EXPECT_TRUE(fused.grad_hidden.index({ignored}).eq(0).all().item<bool>());

  in.targets.fill_(kDefaultIgnoreIndex);
  const Result none = RunFused(in, 8);
  EXPECT_EQ(none.loss.item<double>(), 0.0);
  EXPECT_TRUE(none.grad_hidden.eq(0).all().item<bool>());
  EXPECT_TRUE(none.grad_weight.eq(0).all().item<bool>());
}

TEST(WeightedLogprobSumTest, ExtremeLogitsMatchDoubleReference) {
  Inputs in = MakeLogprobInputs(70, 8, 211, torch::kFloat, 51, /*weight_scale=*/1.0);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = torch::mm(in.hidden, in.weight.t());
    in.weight.mul_(1e4 / logits.abs().max().item<double>());
  }
  const Result fused = RunFused(in, 32);
  const Result truth = RunNaive(AsDouble(in));
  EXPECT_GT(truth.logprob.abs().max().item<double>(), 1e3);
  EXPECT_TRUE(torch::isfinite(fused.grad_weight).all().item<bool>());
  ExpectClose(fused, truth, 1e-5, "extreme logits");
}

TEST(WeightedLogprobSumTest, EntropyAndNoGradMode) {
  const Inputs in = MakeLogprobInputs(45, 8, 123, torch::kFloat, 61, 3.0);
  WeightedLogprobOptions options;
  options.chunk_rows = 16;
  options.compute_entropy = true;
  const Inputs dbl = AsDouble(in);
  const TokenLogprobs naive =
      NaiveWeightedTokenLogprobs(dbl.hidden, dbl.weight, dbl.targets, kDefaultIgnoreIndex, true);
  const WeightedLogprobSumResult with_grad =
      WeightedLogprobSum(in.hidden, in.weight, in.targets, in.token_weights, kDefaultIgnoreIndex, options);
  EXPECT_FALSE(with_grad.entropy.requires_grad());
  EXPECT_LE((with_grad.entropy.to(torch::kDouble) - naive.entropy).abs().max().item<double>(), 2e-5);
  torch::NoGradGuard no_grad;  // statistics only: no gradient matmuls, nothing to differentiate
  const WeightedLogprobSumResult r =
      WeightedLogprobSum(in.hidden, in.weight, in.targets, in.token_weights, kDefaultIgnoreIndex, options);
  EXPECT_FALSE(r.loss.requires_grad());
  EXPECT_LE(RelErr(r.logprob, naive.logprob.detach()), 1e-5);
  EXPECT_LE((r.entropy.to(torch::kDouble) - naive.entropy).abs().max().item<double>(), 2e-5);
  EXPECT_LE(RelErr(r.loss, (naive.logprob.detach() * in.token_weights).sum()), 1e-5);
}

TEST(WeightedLogprobSumTest, RejectsBadInputs) {
  const Inputs in = MakeLogprobInputs(4, 3, 5, torch::kFloat, 91, 0.3, 0);
  torch::Tensor bad_targets = in.targets.clone();
  bad_targets[2] = 5;  // == V
  EXPECT_THROW(WeightedLogprobSum(in.hidden, in.weight, bad_targets, in.token_weights), c10::Error);
  EXPECT_THROW(WeightedLogprobSum(in.hidden, in.weight, in.targets, in.token_weights.narrow(0, 0, 3)),
               c10::Error);
  EXPECT_THROW(WeightedLogprobSum(in.hidden, in.weight, in.targets, in.targets), c10::Error);
  EXPECT_THROW(WeightedLogprobSum(in.hidden, in.weight.to(torch::kDouble), in.targets, in.token_weights),
               c10::Error);
}

}  // namespace
}  // namespace brain::kernels
