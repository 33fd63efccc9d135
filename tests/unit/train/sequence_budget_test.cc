// CheckSequenceBudget: models.max_seq_len against the policy's positions, plus the config-time budget.
#include <gtest/gtest.h>

#include <string>

#include "core/train/sequence_budget.h"

namespace brain::train {
namespace {

config::ExperimentConfig Brain(int max_seq_len, int prompt, int new_tokens) {
  config::ExperimentConfig c;
  c.mutable_models()->set_max_seq_len(max_seq_len);
  c.mutable_data()->set_train_path("t.jsonl");
  c.mutable_data()->set_max_prompt_tokens(prompt);
  c.mutable_sampling()->set_max_new_tokens(new_tokens);
  c.mutable_brain();
  return c;
}

TEST(CheckSequenceBudget, MaxSeqLenWithinPositions) {
  EXPECT_TRUE(CheckSequenceBudget(Brain(64, 48, 16), 64).ok());
  EXPECT_TRUE(CheckSequenceBudget(Brain(64, 48, 16), 1024).ok());
  const absl::Status over = CheckSequenceBudget(Brain(1024, 48, 16), 512);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.message().find("models.max_seq_len (1024) exceeds the policy model's 512 positions"),
            std::string::npos)
      << over;
  EXPECT_FALSE(CheckSequenceBudget(Brain(65, 48, 16), 64).ok());
}

TEST(CheckSequenceBudget, ConfigBudgetIsCheckedToo) {
  const absl::Status status = CheckSequenceBudget(Brain(64, 48, 32), 1024);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("data.max_prompt_tokens (48) + sampling.max_new_tokens (32) = 80 exceeds "
                                  "models.max_seq_len (64)"),
            std::string::npos)
      << status;
  // Both problems at once are both reported.
  const absl::Status both = CheckSequenceBudget(Brain(128, 100, 50), 64);
  EXPECT_NE(both.message().find("= 150 exceeds"), std::string::npos) << both;
  EXPECT_NE(both.message().find("exceeds the policy model's 64 positions"), std::string::npos) << both;
}

TEST(CheckSequenceBudget, NonsensePositionCountIsAnError) {
  EXPECT_FALSE(CheckSequenceBudget(Brain(64, 8, 8), 0).ok());
}

}  // namespace
}  // namespace brain::train
