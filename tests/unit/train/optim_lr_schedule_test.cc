// LearningRate against closed forms: warmup, constant/linear/cosine decay, min_lr_ratio and edge cases.
#include "core/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace brain::train {
namespace {

config::OptimizerConfig Config(config::OptimizerConfig::Schedule schedule, int warmup, int max_steps,
                               double min_ratio = 0.0) {
  config::OptimizerConfig c;
  c.set_learning_rate(2e-3);
  c.set_schedule(schedule);
  c.set_warmup_steps(warmup);
  c.set_max_steps(max_steps);
  c.set_min_lr_ratio(min_ratio);
  return c;
}

TEST(LearningRate, LinearWarmupThenCosine) {
  const auto c = Config(config::OptimizerConfig::COSINE, 4, 14, 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(0, c), 2e-3 * 1 / 4);
  EXPECT_DOUBLE_EQ(LearningRate(2, c), 2e-3 * 3 / 4);
  EXPECT_DOUBLE_EQ(LearningRate(3, c), 2e-3);
  EXPECT_DOUBLE_EQ(LearningRate(4, c), 2e-3);  // p = 0
  // p = 0.5 at step 9: halfway between lr and 0.1 lr.
  EXPECT_NEAR(LearningRate(9, c), 2e-3 * 0.55, 1e-15);
  const double p = 7.0 / 10.0;
  EXPECT_NEAR(LearningRate(11, c), 2e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(3.141592653589793 * p))), 1e-15);
  EXPECT_NEAR(LearningRate(14, c), 2e-4, 1e-15);
  EXPECT_NEAR(LearningRate(1000, c), 2e-4, 1e-15);  // past the end: stays at the floor
}

TEST(LearningRate, LinearDecay) {
  const auto c = Config(config::OptimizerConfig::LINEAR, 0, 10);
  EXPECT_DOUBLE_EQ(LearningRate(0, c), 2e-3);  // warmup 0: full rate at once
  EXPECT_NEAR(LearningRate(3, c), 2e-3 * 0.7, 1e-15);
  EXPECT_NEAR(LearningRate(10, c), 0.0, 1e-18);
  EXPECT_NEAR(LearningRate(25, c), 0.0, 1e-18);
  const auto floor = Config(config::OptimizerConfig::LINEAR, 2, 12, 0.25);
  EXPECT_NEAR(LearningRate(7, floor), 2e-3 * (0.25 + 0.75 * 0.5), 1e-15);
}

TEST(LearningRate, ConstantAndEdgeCases) {
  const auto constant = Config(config::OptimizerConfig::CONSTANT, 3, 10, 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(1, constant), 2e-3 * 2 / 3);
  EXPECT_DOUBLE_EQ(LearningRate(3, constant), 2e-3);
  EXPECT_DOUBLE_EQ(LearningRate(50, constant), 2e-3);
  // max_steps == warmup: the floor right after warmup.
  const auto short_run = Config(config::OptimizerConfig::COSINE, 5, 5, 0.2);
  EXPECT_DOUBLE_EQ(LearningRate(4, short_run), 2e-3);
  EXPECT_NEAR(LearningRate(5, short_run), 4e-4, 1e-18);
  // Unknown length (max_steps 0): no decay after warmup; an explicit total overrides.
  const auto open = Config(config::OptimizerConfig::COSINE, 0, 0);
  EXPECT_DOUBLE_EQ(LearningRate(100, open), 2e-3);
  EXPECT_NEAR(LearningRate(50, open, 100), 1e-3, 1e-15);
}

}  // namespace
}  // namespace brain::train
