// The config-time sequence budget: prompt + response (or + sampling.max_new_tokens for BRAIn) <= max_seq_len.
#include <gtest/gtest.h>

#include <string>

#include "core/config/config_loader.h"

namespace brain::config {
namespace {

// Valid apart from the lengths each test sets.
std::string Config(const std::string& algorithm, int max_seq_len, int prompt, int response, int new_tokens,
                   const std::string& data_extra = "") {
  return "models { policy { path: \"m\" } reward { path: \"r\" } max_seq_len: " + std::to_string(max_seq_len) +
         " }\ndata { train_path: \"t.jsonl\" max_prompt_tokens: " + std::to_string(prompt) +
         " max_response_tokens: " + std::to_string(response) + " " + data_extra + " }\n" + algorithm +
         "\nsampling { max_new_tokens: " + std::to_string(new_tokens) + " }\n";
}

std::string ErrorOf(const std::string& text) {
  auto config = ParseConfig(text, "budget.textproto");
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(SequenceBudget, BrainCountsPromptPlusNewTokens) {
  // 48 + 32 = 80 > 64: the message names both fields, the sum and the limit.
  const std::string error = ErrorOf(Config("brain {}", 64, 48, 8, 32));
  EXPECT_NE(error.find("data.max_prompt_tokens (48) + sampling.max_new_tokens (32) = 80 exceeds "
                       "models.max_seq_len (64)"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("budget.textproto"), std::string::npos) << error;
  // Exactly full is fine (the generator needs prompt + max_new_tokens positions, no more).
  EXPECT_EQ(ErrorOf(Config("brain {}", 64, 32, 8, 32)), "");
  // One over is not.
  EXPECT_NE(ErrorOf(Config("brain {}", 64, 33, 8, 32)), "");
}

TEST(SequenceBudget, BrainIgnoresResponseTokensWithoutReferences) {
  // `brain align` reads no data responses unless data.reference_field is set: 8 + 512 is not held against it.
  EXPECT_EQ(ErrorOf(Config("brain {}", 64, 8, 512, 6)), "");
  const std::string error =
      ErrorOf(Config("brain { likelihood: SIGMOID }", 64, 8, 512, 6, "reference_field: \"ref\""));
  EXPECT_NE(error.find("data.max_prompt_tokens (8) + data.max_response_tokens (512) = 520 exceeds "
                       "models.max_seq_len (64)"),
            std::string::npos)
      << error;
  EXPECT_EQ(ErrorOf(Config("brain { likelihood: SIGMOID }", 64, 8, 56, 6, "reference_field: \"ref\"")), "");
}

TEST(SequenceBudget, TeacherForcedAlgorithmsCountPromptPlusResponse) {
  for (const std::string algorithm : {"sft {}", "reward_model {}", "dpo {}", "ava {}"}) {
    const std::string error = ErrorOf(Config(algorithm, 32, 16, 17, 1000));
    EXPECT_NE(error.find("data.max_prompt_tokens (16) + data.max_response_tokens (17) = 33 exceeds "
                         "models.max_seq_len (32)"),
              std::string::npos)
        << algorithm << ": " << error;
    // sampling.max_new_tokens plays no part in these runs.
    EXPECT_EQ(ErrorOf(Config(algorithm, 32, 16, 16, 1000)), "") << algorithm;
  }
}

TEST(SequenceBudget, DeclaredDefaultsFit) {
  // 512 + 512 and 512 + 128 within 1024: a config relying on defaults stays valid.
  EXPECT_EQ(ErrorOf("models { policy { path: \"m\" } }\ndata { train_path: \"t.jsonl\" }\nsft {}\n"), "");
  EXPECT_EQ(ErrorOf("models { policy { path: \"m\" } reward { path: \"r\" } }\ndata { train_path: \"t\" }\nbrain {}\n"),
            "");
}

}  // namespace
}  // namespace brain::config
