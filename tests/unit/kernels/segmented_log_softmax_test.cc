// Tests of the segmented log-softmax (single call and the split max / sum-exp / finish form) on the CPU.
#include "kernels/segmented_log_softmax.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <vector>

#include "kernels/naive_reference.h"

namespace brain::kernels {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Equal within `tol`, with −inf required at the same places.
void ExpectSameWithInf(const torch::Tensor& got, const torch::Tensor& want, double tol) {
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(torch::isneginf(got).equal(torch::isneginf(want)));
  const torch::Tensor finite = torch::isfinite(want);
  EXPECT_TRUE(torch::isfinite(got).equal(finite)) << "unexpected NaN/inf";
  if (finite.any().item<bool>()) {
    EXPECT_LE((got.masked_select(finite) - want.masked_select(finite)).abs().max().item<double>(), tol);
  }
}

struct Case {
  torch::Tensor values, group_ids;
  int64_t num_groups;
};

// Random groups (some empty), a few −inf values and one group that is entirely −inf.
Case RandomCase(uint64_t seed, int64_t m, int64_t groups) {
  torch::manual_seed(seed);
  Case c;
  c.num_groups = groups;
  c.group_ids = torch::randint(0, groups - 3, {m}, torch::kLong);  // groups G−2 and G−1 stay empty
  c.values = torch::randn({m}, torch::kDouble) * 20;
  c.values.index_put_({torch::arange(0, m, 9)}, -kInf);
  c.group_ids.narrow(0, 0, 3).fill_(groups - 3);  // group G−3: exactly three members, all −inf
  c.values.narrow(0, 0, 3).fill_(-kInf);
  return c;
}

TEST(SegmentedLogSoftmaxTest, MatchesPerGroupLoop) {
  for (uint64_t seed : {1, 2, 3}) {
    const Case c = RandomCase(seed, 200, 17);
    const torch::Tensor got = SegmentedLogSoftmax(c.values, c.group_ids, c.num_groups);
    ExpectSameWithInf(got, NaiveSegmentedLogSoftmax(c.values, c.group_ids), 1e-12);
    // Each non-degenerate group's probabilities sum to one.
    const torch::Tensor mass =
        torch::zeros({c.num_groups}, torch::kDouble).index_add_(0, c.group_ids, got.exp());
    for (int64_t g = 0; g < c.num_groups - 3; ++g) EXPECT_NEAR(mass[g].item<double>(), 1.0, 1e-12) << g;
  }
}

TEST(SegmentedLogSoftmaxTest, HandComputedExample) {
  const torch::Tensor values = torch::tensor({0.5, 1.0, -0.25, -0.5, 3.0}, torch::kDouble);
  const torch::Tensor ids = torch::tensor({0, 0, 0, 0, 1}, torch::kLong);
  const torch::Tensor out = SegmentedLogSoftmax(values, ids);
  // Spec §3.8: softmax(b) = [0.286618, 0.472553, 0.135389, 0.105441]; a singleton group gives 0.
  const std::vector<double> expected = {0.286618, 0.472553, 0.135389, 0.105441, 1.0};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(std::exp(out[i].item<double>()), expected[i], 1e-6) << i;
}

TEST(SegmentedLogSoftmaxTest, LargeValuesDoNotOverflow) {
  const torch::Tensor values = torch::tensor({1e4, 1e4 - 1.0, -1e4, 800.0}, torch::kDouble);
  const torch::Tensor ids = torch::tensor({0, 0, 0, 1}, torch::kLong);
  const torch::Tensor out = SegmentedLogSoftmax(values, ids);
  EXPECT_NEAR(out[0].item<double>(), -std::log1p(std::exp(-1.0)), 1e-12);
  EXPECT_NEAR(out[3].item<double>(), 0.0, 1e-12);
}

TEST(SegmentedLogSoftmaxTest, SplitFormOverFakeRanksEqualsSingleCall) {
  const Case c = RandomCase(7, 300, 23);
  const torch::Tensor single = SegmentedLogSoftmax(c.values, c.group_ids, c.num_groups);
  torch::manual_seed(99);
  const torch::Tensor rank_of = torch::randint(0, 4, {c.values.size(0)}, torch::kLong);
  for (int64_t ranks = 1; ranks <= 4; ++ranks) {
    const torch::Tensor owner = rank_of.remainder(ranks);
    std::vector<torch::Tensor> local_values, local_ids;
    for (int64_t r = 0; r < ranks; ++r) {
      const torch::Tensor mine = owner.eq(r);
      local_values.push_back(c.values.masked_select(mine));
      local_ids.push_back(c.group_ids.masked_select(mine));
    }
    // Step 1 + all_reduce(MAX); step 2 + all_reduce(SUM); then each rank finishes its own share.
    torch::Tensor global_max = torch::full({c.num_groups}, -kInf, torch::kDouble);
    for (int64_t r = 0; r < ranks; ++r) {
      global_max = torch::maximum(global_max, SegmentedMax(local_values[r], local_ids[r], c.num_groups));
    }
    torch::Tensor global_sum = torch::zeros({c.num_groups}, torch::kDouble);
    for (int64_t r = 0; r < ranks; ++r)
      global_sum += SegmentedSumExp(local_values[r], local_ids[r], global_max);
    for (int64_t r = 0; r < ranks; ++r) {
      const torch::Tensor out =
          SegmentedLogSoftmaxFromStats(local_values[r], local_ids[r], global_max, global_sum);
      ExpectSameWithInf(out, single.masked_select(owner.eq(r)), 1e-12);
    }
  }
}

TEST(SegmentedLogSoftmaxTest, EmptyAndAllNegInfGroupsHaveNoMass) {
  const torch::Tensor values = torch::tensor({-kInf, -kInf, 2.0}, torch::kDouble);
  const torch::Tensor ids = torch::tensor({1, 1, 3}, torch::kLong);
  const torch::Tensor max = SegmentedMax(values, ids, 5);
  const torch::Tensor sum = SegmentedSumExp(values, ids, max);
  EXPECT_TRUE(torch::isneginf(max.index({torch::tensor({0, 1, 2, 4})})).all().item<bool>());
  EXPECT_EQ(max[3].item<double>(), 2.0);
  EXPECT_TRUE(sum.equal(torch::tensor({0.0, 0.0, 0.0, 1.0, 0.0}, torch::kDouble)));
  const torch::Tensor lse = GroupLogSumExp(max, sum);
  EXPECT_TRUE(torch::isneginf(lse.index({torch::tensor({0, 1, 2, 4})})).all().item<bool>());
  const torch::Tensor out = SegmentedLogSoftmax(values, ids, 5);
  EXPECT_TRUE(torch::isneginf(out.narrow(0, 0, 2)).all().item<bool>());
  EXPECT_EQ(out[2].item<double>(), 0.0);
  EXPECT_EQ(
      SegmentedLogSoftmax(torch::zeros({0}, torch::kDouble), torch::zeros({0}, torch::kLong), 3).numel(), 0);
}

TEST(SegmentedLogSoftmaxTest, Fp32IsAccepted) {
  const Case c = RandomCase(5, 50, 8);
  const torch::Tensor got = SegmentedLogSoftmax(c.values.to(torch::kFloat), c.group_ids, c.num_groups);
  EXPECT_EQ(got.scalar_type(), torch::kFloat);
  ExpectSameWithInf(got.to(torch::kDouble), NaiveSegmentedLogSoftmax(c.values, c.group_ids), 1e-5);
}

TEST(SegmentedLogSoftmaxTest, RejectsBadGroupIds) {
  const torch::Tensor values = torch::zeros({3}, torch::kDouble);
  EXPECT_THROW(SegmentedLogSoftmax(values, torch::tensor({0, -1, 0}, torch::kLong)), c10::Error);
  EXPECT_THROW(SegmentedLogSoftmax(values, torch::tensor({0, 4, 0}, torch::kLong), 4), c10::Error);
  EXPECT_THROW(SegmentedLogSoftmax(values, torch::tensor({0, 1}, torch::kLong)), c10::Error);
  EXPECT_THROW(SegmentedLogSoftmax(values.to(torch::kInt), torch::tensor({0, 1, 1}, torch::kLong)),
               c10::Error);
}

}  // namespace
}  // namespace brain::kernels
