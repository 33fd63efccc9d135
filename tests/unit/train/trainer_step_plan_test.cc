// StepPlan: every unit of a round is trained once per pass, each step's global batch is the same set
// of units whatever the rank count, and micro-batches respect the configured sizes.
#include "core/train/step_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace brain::train {
namespace {

// The units all ranks train on at `step`, as a set.
std::multiset<int64_t> GlobalBatch(const StepPlanOptions& options, int world, int64_t step) {
  std::multiset<int64_t> units;
  for (int rank = 0; rank < world; ++rank) {
    StepPlan plan(options, rank, world);
    for (const auto& micro : plan.MicroBatches(step, plan.RankUnits(plan.RoundOf(step)))) {
      EXPECT_LE(static_cast<int64_t>(micro.size()), options.micro_batch);
      EXPECT_FALSE(micro.empty());
      units.insert(micro.begin(), micro.end());
    }
  }
  return units;
}

TEST(StepPlan, OnePassCoversEveryUnitOnce) {
  StepPlanOptions options;
  options.units_per_round = 37;  // not a multiple of anything
  options.micro_batch = 3;
  options.accumulation = 2;
  options.seed = 5;
  for (int world : {1, 2, 3, 4}) {
    StepPlan plan(options, 0, world);
    const int64_t global_batch = 3 * 2 * world;
    EXPECT_EQ(plan.steps_per_round(), (37 + global_batch - 1) / global_batch) << world;
    std::multiset<int64_t> seen;
    for (int64_t step = 0; step < plan.steps_per_round(); ++step) {
      auto batch = GlobalBatch(options, world, step);
      EXPECT_LE(static_cast<int64_t>(batch.size()), global_batch);
      seen.insert(batch.begin(), batch.end());
    }
    std::multiset<int64_t> all;
    for (int64_t u = 0; u < 37; ++u) all.insert(u);
    EXPECT_EQ(seen, all) << "world " << world;
  }
}

TEST(StepPlan, GlobalBatchIndependentOfRankCount) {
  StepPlanOptions options;
  options.units_per_round = 48;
  options.micro_batch = 2;
  options.accumulation = 1;
  options.rounds = 3;
  options.seed = 11;
  // Global batch 12 with (micro 6, world 2), (micro 4, world 3), (micro 3, world 4), (micro 12, world 1).
  std::vector<std::multiset<int64_t>> reference;
  for (auto [micro, world] : {std::pair{12, 1}, std::pair{6, 2}, std::pair{4, 3}, std::pair{3, 4}}) {
    options.micro_batch = micro;
    StepPlan plan(options, 0, world);
    ASSERT_EQ(plan.total_steps(), 12);
    for (int64_t step = 0; step < plan.total_steps(); ++step) {
      auto batch = GlobalBatch(options, world, step);
      if (world == 1) {
        reference.push_back(batch);
      } else {
        EXPECT_EQ(batch, reference[step]) << "world " << world << " step " << step;
      }
    }
  }
  // Rounds are reshuffled: round 1's first batch differs from round 0's.
  EXPECT_NE(reference[0], reference[4]);
}

TEST(StepPlan, StepsPastAPassWrapAround) {
  StepPlanOptions options;
  options.units_per_round = 5;
  options.micro_batch = 2;
  options.steps_per_round = 7;  // more steps than a pass (3) holds
  options.max_steps = 7;
  StepPlan plan(options, 0, 1);
  EXPECT_EQ(plan.total_steps(), 7);
  EXPECT_EQ(GlobalBatch(options, 1, 3), GlobalBatch(options, 1, 0));
  EXPECT_EQ(GlobalBatch(options, 1, 5).size(), 1u);  // the pass's short last step
}

}  // namespace
}  // namespace brain::train
