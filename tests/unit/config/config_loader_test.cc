// Config loading: the shipped configs, every class of bad input, overrides and the resolved printout.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config/config_loader.h"
#include "core/config/config_resolve.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"

namespace brain::config {
namespace {

// Everything a brain run needs except the `brain` block (so tests can add their own).
constexpr char kBrainBase[] = R"pb(
models {
  policy { path: "models/sft" }
  reward { path: "models/rm" }
}
data { train_path: "prompts.jsonl" }
)pb";
const std::string kMinimalBrain = std::string(kBrainBase) + "brain { num_samples: 4 }\n";

std::string ErrorOf(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto config = ParseConfig(text, "test.textproto", overrides);
  EXPECT_FALSE(config.ok()) << "expected an error for:\n" << text;
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(ConfigLoader, ShippedConfigsAreValid) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(BRAIN_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".textproto") continue;
    auto config = LoadConfigFile(entry.path().string());
    EXPECT_TRUE(config.ok()) << entry.path() << ": " << config.status();
    ++count;
  }
  EXPECT_GE(count, 5);
}

TEST(ConfigLoader, GoodConfigKeepsValuesAndFillsDerivedDefaults) {
  auto config = ParseConfig(kMinimalBrain, "test.textproto");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->brain().num_samples(), 4);
  EXPECT_DOUBLE_EQ(config->brain().tau(), 1.0);  // declared default
  EXPECT_EQ(config->models().reference().path(), "models/sft");  // reference defaults to the policy
  EXPECT_EQ(config->models().tokenizer(), "models/sft");
  EXPECT_EQ(config->algorithm_case(), ExperimentConfig::kBrain);
}

TEST(ConfigLoader, UnknownFieldNamesFileLineAndField) {
  const std::string error = ErrorOf("models { policy { path: \"m\" } }\nbrain {\n  taus: 3\n}\n");
  EXPECT_NE(error.find("test.textproto:3:"), std::string::npos) << error;
  EXPECT_NE(error.find("taus"), std::string::npos) << error;
}

TEST(ConfigLoader, WrongTypeNamesLine) {
  const std::string error = ErrorOf("models { policy { path: \"m\" } }\nbrain { tau: \"high\" }\n");
  EXPECT_NE(error.find("test.textproto:2:"), std::string::npos) << error;
  EXPECT_NE(error.find("field 'tau'"), std::string::npos) << error;
}

TEST(ConfigLoader, UnknownEnumValueNamesLine) {
  const std::string error = ErrorOf(std::string(kBrainBase) + "sampling {\n top_k: 3 }\nbrain { likelihood: SIGMOIDAL }");
  EXPECT_NE(error.find("SIGMOIDAL"), std::string::npos) << error;
  EXPECT_NE(error.find("test.textproto:9:"), std::string::npos) << error;
}

TEST(ConfigLoader, DuplicateSectionIsAnError) {
  const std::string error = ErrorOf(kMinimalBrain + "brain { tau: 2 }");
  EXPECT_NE(error.find("specified multiple times"), std::string::npos) << error;
}

TEST(ConfigLoader, OutOfRangeValueNamesLineFieldAndReason) {
  const std::string text = std::string(kMinimalBrain) + "optimizer {\n  learning_rate: -1\n}\n";
  const std::string error = ErrorOf(text);
  EXPECT_NE(error.find("test.textproto:9:3: optimizer.learning_rate: must be > 0 (got -1)"),
            std::string::npos)
      << error;
}

TEST(ConfigLoader, ReportsEveryProblemAtOnce) {
  const std::string error = ErrorOf(std::string(kBrainBase) +
                                    "brain { tau: 0 num_samples: 1 }\nsampling { top_p: 1.5 }\n");
  EXPECT_NE(error.find("brain.tau"), std::string::npos) << error;
  EXPECT_NE(error.find("brain.num_samples"), std::string::npos) << error;
  EXPECT_NE(error.find("sampling.top_p"), std::string::npos) << error;
}

TEST(ConfigLoader, MissingRequiredModelPaths) {
  std::string error = ErrorOf("data { train_path: \"x\" } sft {}");
  EXPECT_NE(error.find("models.policy: missing required model"), std::string::npos) << error;
  error = ErrorOf("models { policy { path: \"m\" } } data { train_path: \"x\" } brain {}");
  EXPECT_NE(error.find("models.reward: missing required model"), std::string::npos) << error;
  error = ErrorOf("models { policy { path: \"m\" preset: \"gpt2-tiny\" } } data { train_path: \"x\" } sft {}");
  EXPECT_NE(error.find("models.policy: set either path or preset"), std::string::npos) << error;
}

TEST(ConfigLoader, MissingAlgorithmAndData) {
  const std::string error = ErrorOf("models { policy { path: \"m\" } }");
  EXPECT_NE(error.find("algorithm: no algorithm chosen"), std::string::npos) << error;
  EXPECT_NE(error.find("data.train_path"), std::string::npos) << error;
}

TEST(ConfigLoader, SpecRuleBetaPolNeedsSelfNormalizedBaseline) {
  const std::string error = ErrorOf(std::string(kBrainBase) + "brain { beta_pol: 0.5 baseline: NONE }");
  EXPECT_NE(error.find("brain.beta_pol"), std::string::npos) << error;
  EXPECT_TRUE(ParseConfig(std::string(kBrainBase) + "brain { beta_pol: 0.5 }", "t").ok());
}

TEST(ConfigLoader, SigmoidLikelihoodNeedsReferenceField) {
  std::string error = ErrorOf(std::string(kBrainBase) + "brain { likelihood: SIGMOID }");
  EXPECT_NE(error.find("data.reference_field"), std::string::npos) << error;
  EXPECT_TRUE(ParseConfig(R"pb(models { policy { path: "m" } reward { path: "r" } }
                                 data { train_path: "p" reference_field: "gold" }
                                 brain { likelihood: SIGMOID })pb",
                              "t")
                  .ok());
}

TEST(ConfigLoader, MissingFileNamesPath) {
  auto config = LoadConfigFile("/nonexistent/dir/x.textproto");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/dir/x.textproto"), std::string::npos);
}

TEST(ConfigOverrides, SetScalarsEnumsBoolsStringsAndLists) {
  auto config = ParseConfig(kMinimalBrain, "t",
                            {"brain.tau=0.25", "brain.num_samples=16", "brain.likelihood=CONSTRAINT",
                             "data.shuffle=false", "models.reward.path=other rm", "seed=99",
                             "sampling.stop_token_ids=5,7,9", "sampling.stop_strings=###"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->brain().tau(), 0.25);
  EXPECT_EQ(config->brain().num_samples(), 16);
  EXPECT_EQ(config->brain().likelihood(), BrainConfig::CONSTRAINT);
  EXPECT_FALSE(config->data().shuffle());
  EXPECT_EQ(config->models().reward().path(), "other rm");
  EXPECT_EQ(config->seed(), 99u);
  ASSERT_EQ(config->sampling().stop_token_ids_size(), 3);
  EXPECT_EQ(config->sampling().stop_token_ids(2), 9);
  EXPECT_EQ(config->sampling().stop_strings(0), "###");
}

TEST(ConfigOverrides, MessageValueSwitchesAlgorithm) {
  auto config = ParseConfig(kMinimalBrain, "t", {"dpo={beta: 0.5 loss: IPO}"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm_case(), ExperimentConfig::kDpo);
  EXPECT_DOUBLE_EQ(config->dpo().beta(), 0.5);
  EXPECT_EQ(config->dpo().loss(), DpoConfig::IPO);
  config = ParseConfig(kMinimalBrain, "t", {"sft={}"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm_case(), ExperimentConfig::kSft);
}

TEST(ConfigOverrides, BadOverridesNameTheProblem) {
  struct Case {
    std::string assignment, expected;
  } cases[] = {
      {"brain.taus=1", "BrainConfig has no field 'taus'"},
      {"brain.tau=abc", "'abc' is not a number"},
      {"brain.num_samples=2.5", "'2.5' is not a 32-bit integer"},
      {"brain.likelihood=SIGMOIDAL", "'SIGMOIDAL' is not a value of Likelihood"},
      {"data.shuffle=maybe", "'maybe' is not a boolean"},
      {"brain.tau.x=1", "'brain.tau' is a double, not a message"},
      {"brain.tau", "expected path.to.field=value"},
      {"dpo={beta: }", "'dpo':"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(kMinimalBrain, {c.assignment});
    EXPECT_NE(error.find("--set " + c.assignment), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.assignment << " -> " << error;
  }
}

TEST(ConfigOverrides, ValidationErrorFromOverrideNamesTheOverride) {
  const std::string error = ErrorOf(kMinimalBrain, {"brain.tau=-2"});
  EXPECT_NE(error.find("--set brain.tau=-2: brain.tau: must be > 0"), std::string::npos) << error;
}

TEST(ConfigResolve, ResolvedTextWritesDefaultsAndRoundTrips) {
  auto config = ParseConfig(kMinimalBrain, "t");
  ASSERT_TRUE(config.ok());
  const std::string text = ResolvedConfigText(*config);
  EXPECT_NE(text.find("tau: 1"), std::string::npos) << text;
  EXPECT_NE(text.find("learning_rate: 1e-05"), std::string::npos) << text;
  EXPECT_NE(text.find("collective_timeout_s: 600"), std::string::npos) << text;
  EXPECT_EQ(text.find("dpo {"), std::string::npos) << "unchosen algorithms stay out:\n" << text;
  EXPECT_EQ(text.find("rejected_logprob_floor"), std::string::npos) << text;

  // Parsing the printout gives the same configuration, now fully explicit.
  auto reparsed = ParseConfig(text, "resolved");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*reparsed, WithExplicitDefaults(*config)));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equivalent(*reparsed, *config));
}

}  // namespace
}  // namespace brain::config
