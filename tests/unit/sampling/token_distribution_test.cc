// SamplingLogProbs and DrawTokens against a naive double-precision reference, and chi-square tests of
// empirical frequencies over many counter-based draws.
#include "core/sampling/token_distribution.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/sampling/counter_rng.h"

namespace brain::sampling {
namespace {

// Naive reference: the distribution described in token_distribution.h, in doubles with std::sort.
std::vector<double> ReferenceProbs(std::vector<double> logits, double temperature, int64_t top_k, double top_p,
                                   const std::vector<int64_t>& banned) {
  const size_t v = logits.size();
  for (auto id : banned) logits[id] = -INFINITY;
  std::vector<double> p(v, 0.0);
  if (temperature == 0) {
    p[std::max_element(logits.begin(), logits.end()) - logits.begin()] = 1;
    return p;
  }
  for (auto& x : logits) x /= temperature;
  if (top_k > 0 && static_cast<size_t>(top_k) < v) {
    auto sorted = logits;
    std::sort(sorted.rbegin(), sorted.rend());
    const double kth = sorted[top_k - 1];
    for (auto& x : logits) if (x < kth) x = -INFINITY;
  }
  const double m = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (size_t i = 0; i < v; ++i) z += (p[i] = std::exp(logits[i] - m));
  for (auto& x : p) x /= z;
  if (top_p < 1) {
    std::vector<size_t> order(v);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    double mass = 0, threshold = 0;
    for (size_t i : order) {
      if (mass >= top_p) break;
      mass += p[i];
      threshold = p[i];
    }
    double kept = 0;
    for (auto& x : p) {
      if (x < threshold) x = 0;
      kept += x;
    }
    for (auto& x : p) x /= kept;
  }
  return p;
}

std::vector<double> TestLogits(int v, uint64_t seed) {
  std::vector<double> out(v);
  for (int i = 0; i < v; ++i) out[i] = 3.0 * (CounterUniform({seed, 0}, i, 0, 0) - 0.5);
  return out;
}

struct Case {
  double temperature;
  int64_t top_k;
  double top_p;
};

class DistributionTest : public ::testing::TestWithParam<Case> {};

TEST_P(DistributionTest, LogProbsMatchReference) {
  const Case c = GetParam();
  SamplingOptions o;
  o.temperature = c.temperature;
  o.top_k = c.top_k;
  o.top_p = c.top_p;
  const int v = 40;
  std::vector<torch::Tensor> rows;
  std::vector<std::vector<double>> ref;
  for (uint64_t s = 0; s < 4; ++s) {
    const auto l = TestLogits(v, s);
    rows.push_back(torch::tensor(l, torch::kFloat64));
    ref.push_back(ReferenceProbs(l, c.temperature, c.top_k, c.top_p, s == 3 ? std::vector<int64_t>{5, 9} : std::vector<int64_t>{}));
  }
  auto ban = torch::tensor({false, false, false, true});
  const auto logp = SamplingLogProbs(torch::stack(rows).to(torch::kFloat32), o, {5, 9}, ban);
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < v; ++i) {
      const double got = logp[r][i].item<double>();
      if (ref[r][i] == 0) {
        EXPECT_TRUE(std::isinf(got) && got < 0) << "row " << r << " token " << i << " got " << got;
      } else {
        EXPECT_NEAR(got, std::log(ref[r][i]), 2e-5) << "row " << r << " token " << i;
      }
    }
  }
}

TEST_P(DistributionTest, EmpiricalFrequenciesPassChiSquare) {
  const Case c = GetParam();
  SamplingOptions o;
  o.temperature = c.temperature;
  o.top_k = c.top_k;
  o.top_p = c.top_p;
  const int v = 12;
  const auto logits = TestLogits(v, 99);
  const auto ref = ReferenceProbs(logits, c.temperature, c.top_k, c.top_p, {});
  const int draws = 40000;
  const auto logp = SamplingLogProbs(torch::tensor(logits, torch::kFloat32).unsqueeze(0).expand({draws, v}), o, {});
  std::vector<double> u(draws);
  for (int i = 0; i < draws; ++i) u[i] = CounterUniform({2024, 1}, i % 100, i / 100, 0);
  const auto tokens = DrawTokens(logp, torch::tensor(u, torch::kFloat64));
  std::vector<double> counts(v, 0);
  for (int i = 0; i < draws; ++i) counts[tokens[i].item<int64_t>()] += 1;
  double chi2 = 0;
  int support = 0;
  for (int i = 0; i < v; ++i) {
    if (ref[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " is outside the support";
      continue;
    }
    ++support;
    const double e = draws * ref[i];
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  // chi-square critical values at p = 0.001 for df = support - 1 (df <= 11).
  const double crit[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26};
  if (support > 1) {
    EXPECT_LT(chi2, crit[support - 1]) << "support " << support;
  }
}

TEST_P(DistributionTest, SampleTokensAgreesWithTheTensorPath) {
  const Case c = GetParam();
  SamplingOptions o;
  o.temperature = c.temperature;
  o.top_k = c.top_k;
  o.top_p = c.top_p;
  const int v = 300, rows = 2000;
  std::vector<double> l;
  for (int r = 0; r < rows; ++r) {
    const auto row = TestLogits(v, 1000 + r % 7);
    l.insert(l.end(), row.begin(), row.end());
  }
  const auto logits = torch::tensor(l, torch::kFloat32).view({rows, v});
  std::vector<double> u(rows);
  for (int i = 0; i < rows; ++i) u[i] = CounterUniform({5, 5}, i, 0, 0);
  const auto uniforms = torch::tensor(u, torch::kFloat64);
  auto ban = torch::zeros({rows}, torch::kBool);
  ban.narrow(0, 0, rows / 2).fill_(true);
  const std::vector<int64_t> stops = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const auto logp = SamplingLogProbs(logits, o, stops, ban);
  const auto expect = DrawTokens(logp, uniforms);
  const auto got = SampleTokens(logits, o, stops, ban, uniforms);
  EXPECT_GE(got.tokens.eq(expect).sum().item<int64_t>(), rows - 2);  // only at CDF-boundary rounding
  const auto ref_lq = logp.gather(1, got.tokens.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(got.logq, ref_lq, 1e-5, 1e-5));
  EXPECT_EQ(got.tokens.narrow(0, 0, rows / 2).lt(16).sum().item<int64_t>(), 0) << "banned stop ids drawn";
}

// The fused CPU draw walks the CDF in blocks of 256 tokens; with 3001 tokens the drawn token lies in any
// of 12 blocks. Each row is checked against the double-precision reference distribution inverted at u.
TEST(SampleTokens, FusedDrawInvertsTheReferenceCdfAcrossWalkBlocks) {
  SamplingOptions o;
  o.temperature = 0.7;
  const int v = 3001, rows = 400;
  const std::vector<int64_t> stops = {0, 700, 2999, 5000};  // 5000 is outside the vocabulary: never drawn
  std::vector<double> l;
  std::vector<double> u(rows);
  auto ban = torch::zeros({rows}, torch::kBool);
  for (int r = 0; r < rows; ++r) {
    const auto row = TestLogits(v, 77 + r);
    l.insert(l.end(), row.begin(), row.end());
    u[r] = CounterUniform({9, 9}, r, 0, 0);
    if (r % 2 == 0) ban[r] = true;
  }
  const auto logits = torch::tensor(l, torch::kFloat64).to(torch::kFloat32).view({rows, v});
  const auto got = SampleTokens(logits, o, stops, ban, torch::tensor(u, torch::kFloat64));
  int mismatches = 0;
  std::vector<int> blocks_hit(12, 0);
  for (int r = 0; r < rows; ++r) {
    std::vector<double> row(l.begin() + r * v, l.begin() + (r + 1) * v);
    for (auto& x : row) x = static_cast<float>(x);  // the fp32 logits the draw sees
    const std::vector<int64_t> banned = r % 2 == 0 ? std::vector<int64_t>{0, 700, 2999} : std::vector<int64_t>{};
    const auto p = ReferenceProbs(row, o.temperature, 0, 1.0, banned);
    double c = 0;
    int64_t expect = v - 1;
    for (int64_t i = 0; i < v; ++i) {
      c += p[i];
      if (c > u[r]) {
        expect = i;
        break;
      }
    }
    const int64_t token = got.tokens[r].item<int64_t>();
    mismatches += token != expect;
    ++blocks_hit[token / 256];
    ASSERT_GT(p[token], 0) << "row " << r << " drew token " << token << " outside the support";
    EXPECT_NEAR(got.logq[r].item<float>(), std::log(p[token]), 1e-4) << "row " << r;
  }
  EXPECT_LE(mismatches, 2);  // only at CDF-boundary rounding
  EXPECT_GT(*std::min_element(blocks_hit.begin(), blocks_hit.end() - 1), 0) << "some walk block was never drawn from";
}

INSTANTIATE_TEST_SUITE_P(Options, DistributionTest,
                         ::testing::Values(Case{1.0, 0, 1.0}, Case{0.7, 0, 1.0}, Case{1.5, 5, 1.0},
                                           Case{1.0, 0, 0.8}, Case{0.8, 8, 0.9}, Case{0.0, 0, 1.0}));

TEST(DrawTokens, InversionPicksTheTokenWhoseCdfIntervalHoldsU) {
  const auto logp = torch::log(torch::tensor({{0.25, 0.0, 0.5, 0.25}}, torch::kFloat32));
  auto draw = [&](double u) { return DrawTokens(logp, torch::tensor({u}, torch::kFloat64))[0].item<int64_t>(); };
  EXPECT_EQ(draw(0.0), 0);
  EXPECT_EQ(draw(0.2499), 0);
  EXPECT_EQ(draw(0.2501), 2);
  EXPECT_EQ(draw(0.7499), 2);
  EXPECT_EQ(draw(0.7501), 3);
  EXPECT_EQ(draw(0.9999999999), 3);
}

}  // namespace
}  // namespace brain::sampling
