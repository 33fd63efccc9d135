// Tests of the fused chunked WeightedTokenLogprobs on the CPU against the naive op and finite differences.
#include "kernels/weighted_token_logprobs.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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

Result RunFused(const Inputs& in, int64_t chunk_rows) {
  WeightedLogprobOptions options;
  options.chunk_rows = chunk_rows;
  const torch::Tensor lp =
      WeightedTokenLogprobs(in.hidden, in.weight, in.targets, kDefaultIgnoreIndex, options).logprob;
  const auto grads = torch::autograd::grad({lp}, {in.hidden, in.weight}, {in.token_weights.to(lp.scalar_type())});
  return {torch::Tensor(), lp.detach(), grads[0], grads[1]};
}

Result RunNaive(const Inputs& in) {
  const torch::Tensor lp = NaiveWeightedTokenLogprobs(in.hidden, in.weight, in.targets).logprob;
  const auto grads = torch::autograd::grad({lp}, {in.hidden, in.weight}, {in.token_weights.to(lp.scalar_type())});
  return {torch::Tensor(), lp.detach(), grads[0], grads[1]};
}


TEST(WeightedTokenLogprobsTest, MatchesNaiveInDoubleForRandomShapes) {
  // N not divisible by the chunk, V prime or 1, chunk larger than N, auto chunk.
  for (const Shape& s : std::vector<Shape>{{37, 16, 101, 8},
                                           {64, 8, 97, 64},
                                           {5, 3, 1, 2},
                                           {50, 24, 257, 0},
                                           {33, 5, 7919, 10},
                                           {9, 4, 13, 100}}) {
    const Inputs in = MakeLogprobInputs(s.n, s.d, s.v, torch::kDouble, 11 + s.n);
    ExpectClose(
        RunFused(in, s.chunk), RunNaive(in), 1e-12,
        "N=" + std::to_string(s.n) + " V=" + std::to_string(s.v) + " chunk=" + std::to_string(s.chunk));
  }
}

TEST(WeightedTokenLogprobsTest, GradientMatchesCentralFiniteDifferences) {
  const Inputs in = MakeLogprobInputs(6, 4, 9, torch::kDouble, 5, /*weight_scale=*/0.8, /*ignore_every=*/4);
  const Result fused = RunFused(in, /*chunk_rows=*/4);
  // L(h, W) = Σ_i g_i·logprob_i, differentiated numerically entry by entry.
  auto loss = [&](const torch::Tensor& h, const torch::Tensor& w) {
    torch::NoGradGuard no_grad;
    WeightedLogprobOptions options;
    options.chunk_rows = 4;
    return (WeightedTokenLogprobs(h, w, in.targets, kDefaultIgnoreIndex, options).logprob * in.token_weights)
        .sum()
        .item<double>();
  };
  test_inputs::ExpectFiniteDifferenceGradients(in, fused.grad_hidden, fused.grad_weight, loss);
}

TEST(WeightedTokenLogprobsTest, Fp32WithinOneInAHundredThousandOfDouble) {
  for (const Shape& s : std::vector<Shape>{{300, 64, 1009, 128}, {129, 32, 5003, 0}, {1000, 48, 777, 96}}) {
    const Inputs in = MakeLogprobInputs(s.n, s.d, s.v, torch::kFloat, 21 + s.n);
    ExpectClose(RunFused(in, s.chunk), RunNaive(AsDouble(in)), 1e-5, "fp32 N=" + std::to_string(s.n));
  }
}

TEST(WeightedTokenLogprobsTest, Bf16AccumulatesGradWeightInFp32) {
  // Many small chunks: a bf16 running sum of the per-chunk grad_weight would drift.
  const int64_t n = 2048, d = 32, v = 300, chunk = 16;
  const Inputs in = MakeLogprobInputs(n, d, v, torch::kBFloat16, 31, /*weight_scale=*/0.3, /*ignore_every=*/7);
  const Result fused = RunFused(in, chunk);
  const Result truth = RunNaive(AsDouble(in));
  // CPU bf16 matmuls round the logits (and grad_hidden) to bf16: ~2^-9 relative per logit.
  // Stated tolerances: logprob 1e-2 and grad_hidden 2e-2 relative to the largest entry.
  EXPECT_LE(RelErr(fused.logprob, truth.logprob), 1e-2);
  EXPECT_LE(RelErr(fused.grad_hidden, truth.grad_hidden), 2e-2);
  const double fused_err = RelErr(fused.grad_weight, truth.grad_weight);
  EXPECT_LE(fused_err, 1e-2);
  // The failure mode being guarded against: summing the chunks' grad_weight in bf16.
  torch::Tensor bf16_sum = torch::zeros({v, d}, torch::kBFloat16);
  for (int64_t start = 0; start < n; start += chunk) {
    Inputs part = in;
    part.hidden = in.hidden.detach().narrow(0, start, chunk).requires_grad_();
    part.targets = in.targets.narrow(0, start, chunk);
    part.token_weights = in.token_weights.narrow(0, start, chunk);
    bf16_sum += RunFused(part, chunk).grad_weight;
  }
  EXPECT_LT(fused_err, 0.5 * RelErr(bf16_sum, truth.grad_weight));
}

TEST(WeightedTokenLogprobsTest, IgnoredRowsAndFullyIgnoredChunksGiveZero) {
  Inputs in = MakeLogprobInputs(40, 6, 53, torch::kDouble, 41, 0.3, /*ignore_every=*/0);
  in.targets.narrow(0, 8, 16).fill_(kDefaultIgnoreIndex);  // chunks 1 and 2 (of 8 rows) fully ignored
  in.targets[3] = kDefaultIgnoreIndex;
  const Result fused = RunFused(in, 8);
  ExpectClose(fused, RunNaive(in), 1e-12, "ignored rows");
  const torch::Tensor ignored = in.targets.eq(kDefaultIgnoreIndex);
  EXPECT_TRUE(fused.logprob.masked_select(ignored).eq(0).all().item<bool>());
  EXPECT_TRUE(fused.grad_hidden.index({ignored}).eq(0).all().item<bool>());

  in.targets.fill_(kDefaultIgnoreIndex);  // everything ignored
  const Result none = RunFused(in, 8);
  EXPECT_TRUE(none.logprob.eq(0).all().item<bool>());
  EXPECT_TRUE(none.grad_hidden.eq(0).all().item<bool>());
  EXPECT_TRUE(none.grad_weight.eq(0).all().item<bool>());
}

TEST(WeightedTokenLogprobsTest, ExtremeLogitsMatchDoubleReference) {
  // Logits of order ±1e4: the log-sum-exp must be shifted by the row max.
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

TEST(WeightedTokenLogprobsTest, EntropyMatchesNaiveAndCarriesNoGradient) {
  for (double scale : {0.3, 300.0}) {
    const Inputs in = MakeLogprobInputs(45, 8, 123, torch::kFloat, 61, scale);
    WeightedLogprobOptions options;
    options.chunk_rows = 16;
    options.compute_entropy = true;
    const TokenLogprobs fused =
        WeightedTokenLogprobs(in.hidden, in.weight, in.targets, kDefaultIgnoreIndex, options);
    const Inputs dbl = AsDouble(in);
    const TokenLogprobs naive =
        NaiveWeightedTokenLogprobs(dbl.hidden, dbl.weight, dbl.targets, kDefaultIgnoreIndex, true);
    EXPECT_FALSE(fused.entropy.requires_grad());
    EXPECT_LE((fused.entropy.to(torch::kDouble) - naive.entropy).abs().max().item<double>(), 2e-5)
        << "scale " << scale;
  }
}

TEST(WeightedTokenLogprobsTest, ChunkSizeDoesNotChangeTheResult) {
  const Inputs in = MakeLogprobInputs(23, 5, 31, torch::kDouble, 71);
  const Result whole = RunFused(in, 23);
  for (int64_t chunk : {1, 2, 7, 22, 1000})
    ExpectClose(RunFused(in, chunk), whole, 1e-13, "chunk " + std::to_string(chunk));
}

TEST(WeightedTokenLogprobsTest, GradientOfOneInputOnly) {
  const Inputs in = MakeLogprobInputs(20, 6, 40, torch::kDouble, 81);
  const Result naive = RunNaive(in);
  const torch::Tensor frozen_weight = in.weight.detach();
  const torch::Tensor lp = WeightedTokenLogprobs(in.hidden, frozen_weight, in.targets).logprob;
  const auto grad_h = torch::autograd::grad({lp}, {in.hidden}, {in.token_weights});
  EXPECT_LE(RelErr(grad_h[0], naive.grad_hidden), 1e-12);
  const torch::Tensor frozen_hidden = in.hidden.detach();
  const torch::Tensor lp2 = WeightedTokenLogprobs(frozen_hidden, in.weight, in.targets).logprob;
  const auto grad_w = torch::autograd::grad({lp2}, {in.weight}, {in.token_weights});
  EXPECT_LE(RelErr(grad_w[0], naive.grad_weight), 1e-12);
}

TEST(WeightedTokenLogprobsTest, RejectsBadInputs) {
  const Inputs in = MakeLogprobInputs(4, 3, 5, torch::kFloat, 91, 0.3, 0);
  torch::Tensor bad_targets = in.targets.clone();
  bad_targets[2] = 5;  // == V
  EXPECT_THROW(WeightedTokenLogprobs(in.hidden, in.weight, bad_targets), c10::Error);
  EXPECT_THROW(WeightedTokenLogprobs(in.hidden, in.weight.narrow(1, 0, 2), in.targets), c10::Error);
  EXPECT_THROW(WeightedTokenLogprobs(in.hidden, in.weight.to(torch::kDouble), in.targets), c10::Error);
  EXPECT_THROW(WeightedTokenLogprobs(in.hidden, in.weight, in.targets.to(torch::kInt)), c10::Error);
}

TEST(WeightedTokenLogprobsTest, AutoChunkRowsKeepsChunkLogitsNearHiddenSize) {
  EXPECT_EQ(AutoChunkRows(8192, 768, 50257), 256);      // N·d/V = 126 < the floor
  EXPECT_EQ(AutoChunkRows(32768, 4096, 128256), 1047);  // ceil(N·d/V)
  EXPECT_EQ(AutoChunkRows(100, 768, 50257), 100);       // never more than N
  EXPECT_EQ(AutoChunkRows(0, 768, 50257), 1);
}

}  // namespace
}  // namespace brain::kernels
