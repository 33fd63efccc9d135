// Tests of the shared host/device per-row math (online log-sum-exp, entropy, logit gradient) on the CPU.
#include "kernels/logprob_row_math.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace brain::kernels {
namespace {

struct RowReference {
  double lse;
  double entropy;
};

// Two-pass double-precision reference.
RowReference Reference(const std::vector<float>& z) {
  double m = -std::numeric_limits<double>::infinity();
  for (float v : z) m = std::max(m, static_cast<double>(v));
  double s = 0;
  for (float v : z) s += std::exp(v - m);
  const double lse = m + std::log(s);
  double h = 0;
  for (float v : z) {
    const double logp = v - lse;
    if (std::isfinite(logp)) h -= std::exp(logp) * logp;
  }
  return {lse, h};
}

// Emulates the CUDA kernel's reduction: `threads` strided partial states, then a pairwise tree merge.
LseState BlockReduce(const std::vector<float>& z, int threads) {
  std::vector<LseState> partial(threads, LseStateEmpty());
  for (size_t j = 0; j < z.size(); ++j) LseStatePush(partial[j % threads], z[j]);
  for (int stride = threads / 2; stride > 0; stride /= 2) {
    for (int t = 0; t < stride; ++t) partial[t] = LseStateMerge(partial[t], partial[t + stride]);
  }
  return partial[0];
}

TEST(LogprobRowMathTest, OnlineLogSumExpAndEntropyMatchTwoPassReference) {
  std::mt19937 rng(7);
  for (int cols : {1, 2, 7, 255, 256, 1000, 50257}) {
    for (float scale : {1.0f, 30.0f}) {
      std::normal_distribution<float> dist(0.0f, scale);
      std::vector<float> z(cols);
      for (float& v : z) v = dist(rng);
      const RowReference ref = Reference(z);
      for (int threads : {1, 32, 256}) {
        const LseState s = BlockReduce(z, threads);
        EXPECT_NEAR(LseStateLogSumExp(s), ref.lse, 1e-5 * std::max(1.0, std::abs(ref.lse)))
            << "cols=" << cols << " scale=" << scale << " threads=" << threads;
        EXPECT_NEAR(LseStateEntropy(s), ref.entropy, 2e-5 * std::max(1.0, ref.entropy))
            << "cols=" << cols << " scale=" << scale << " threads=" << threads;
      }
    }
  }
}

TEST(LogprobRowMathTest, ExtremeLogitsStayFinite) {
  // ±1e4 logits: a naive Σ exp(z) overflows and Σ p·z − lse cancels catastrophically in fp32.
  std::vector<float> z = {1e4f, -1e4f, 1e4f - 1.0f, 0.0f, -1e4f, 1e4f - 0.5f};
  const RowReference ref = Reference(z);
  const LseState s = BlockReduce(z, 4);
  EXPECT_NEAR(LseStateLogSumExp(s), ref.lse, 1e-3);  // |lse| ~ 1e4: a few fp32 ulps
  EXPECT_NEAR(LseStateEntropy(s), ref.entropy, 1e-5);
  EXPECT_GT(ref.entropy, 0.5);  // three near-tied maxima: the entropy is O(1), not 0 and not 1e4
}

TEST(LogprobRowMathTest, NegativeInfinityCarriesNoMassAndEmptyStatesAreNeutral) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> z = {-inf, 2.0f, -inf, 1.0f};
  const LseState s = BlockReduce(z, 4);  // two of the four "threads" see only −inf
  const double lse = std::log(std::exp(2.0) + std::exp(1.0));
  EXPECT_NEAR(LseStateLogSumExp(s), lse, 1e-6);
  const double p2 = std::exp(2.0 - lse), p1 = std::exp(1.0 - lse);
  EXPECT_NEAR(LseStateEntropy(s), -(p2 * std::log(p2) + p1 * std::log(p1)), 1e-6);

  const LseState empty = LseStateEmpty();
  EXPECT_EQ(LseStateLogSumExp(empty), -inf);
  EXPECT_EQ(LseStateEntropy(empty), 0.0f);
  const LseState merged = LseStateMerge(empty, s);
  EXPECT_EQ(merged.max, s.max);
  EXPECT_EQ(merged.sum, s.sum);
  EXPECT_EQ(LseStateLogSumExp(BlockReduce({-inf, -inf}, 2)), -inf);
}

TEST(LogprobRowMathTest, MergeIsOrderIndependent) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 5.0f);
  std::vector<float> z(300);
  for (float& v : z) v = dist(rng);
  LseState forward = LseStateEmpty(), backward = LseStateEmpty();
  for (size_t j = 0; j < z.size(); ++j) LseStatePush(forward, z[j]);
  for (size_t j = z.size(); j-- > 0;) LseStatePush(backward, z[j]);
  EXPECT_NEAR(LseStateLogSumExp(forward), LseStateLogSumExp(backward), 1e-5);
  EXPECT_NEAR(LseStateEntropy(forward), LseStateEntropy(backward), 1e-5);
}

TEST(LogprobRowMathTest, LogitGradientIsWeightedOneHotMinusSoftmax) {
  const std::vector<float> z = {0.5f, -1.0f, 2.0f};
  const double lse = Reference(z).lse;
  for (float g : {1.0f, -0.25f, 0.0f}) {
    double row_sum = 0;
    for (int j = 0; j < 3; ++j) {
      const float grad = LogitGradient(z[j], static_cast<float>(lse), g, j == 2);
      const double expected = g * ((j == 2 ? 1.0 : 0.0) - std::exp(z[j] - lse));
      EXPECT_NEAR(grad, expected, 1e-6) << "g=" << g << " j=" << j;
      row_sum += grad;
    }
    EXPECT_NEAR(row_sum, 0.0, 1e-6);  // softmax sums to one, so the row gradient sums to zero
  }
}

TEST(LogprobRowMathTest, FastExpMatchesExpToAFewUlps) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.0137) {
    const float xf = static_cast<float>(x);
    const double want = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::abs(FastExp(xf) - want) / want);
  }
  EXPECT_LT(worst, 4e-7);  // ~3 ulp of fp32
  EXPECT_EQ(FastExp(0.0f), 1.0f);
  EXPECT_EQ(FastExp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(FastExp(-100.0f), 0.0f);  // below −87: flushed to 0 (exp < 1.7e-38)
  EXPECT_TRUE(std::isnan(FastExp(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace brain::kernels
