// Every class of bad JSONL line under both policies: FAIL returns "source:line: reason" for the first one;
// SKIP_AND_COUNT keeps the good lines, counts the bad ones and keeps their first messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/data/datasets.h"
#include "tests/unit/data/data_test_util.h"

namespace brain::data {
namespace {

using ::brain::data::testing::Config;
using ::brain::data::testing::Gpt2;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGood[] =
    R"({"prompt": "Hello world", "chosen": "a", "rejected": "b", "margin": 1.5, "id": "good-%d"})";

struct BadLineCase {
  std::string name;
  std::string line;
  std::string reason;  // the message after "pairs.jsonl:2: " (a prefix when `prefix_only`)
  bool prefix_only = false;
};

std::string Good(int n) {
  std::string s = kGood;
  s.replace(s.find("%d"), 2, std::to_string(n));
  return s;
}

const std::vector<BadLineCase>& Cases() {
  static const auto* cases = new std::vector<BadLineCase>{
      {"truncated_json", R"({"prompt": "a", "chosen": )", "invalid JSON at column", true},
      {"not_json", "prompt=a chosen=b",
       "invalid JSON at column 1: syntax error while parsing value - invalid literal", true},
      {"trailing_garbage", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": 1} x)",
       "invalid JSON at column", true},
      {"invalid_utf8", "{\"prompt\": \"a\xff\", \"chosen\": \"b\", \"rejected\": \"c\", \"margin\": 1}",
       "invalid JSON at column 14: syntax error while parsing value - invalid string: ill-formed UTF-8 byte",
       true},
      {"array", R"(["prompt", "chosen"])", "expected a JSON object, got array"},
      {"string", R"("just a string")", "expected a JSON object, got string"},
      {"number", "12", "expected a JSON object, got number"},
      {"missing_prompt", R"({"chosen": "b", "rejected": "c", "margin": 1})", "missing field \"prompt\""},
      {"missing_rejected", R"({"prompt": "a", "chosen": "b", "margin": 1})", "missing field \"rejected\""},
      {"missing_margin", R"({"prompt": "a", "chosen": "b", "rejected": "c"})", "missing field \"margin\""},
      {"prompt_array", R"({"prompt": ["a"], "chosen": "b", "rejected": "c", "margin": 1})",
       "field \"prompt\": expected a string, got array"},
      {"chosen_null", R"({"prompt": "a", "chosen": null, "rejected": "c", "margin": 1})",
       "field \"chosen\": expected a string, got null"},
      {"rejected_number", R"({"prompt": "a", "chosen": "b", "rejected": 3, "margin": 1})",
       "field \"rejected\": expected a string, got number"},
      {"empty_prompt", R"({"prompt": "", "chosen": "b", "rejected": "c", "margin": 1})",
       "field \"prompt\": empty string"},
      {"empty_chosen", R"({"prompt": "a", "chosen": "", "rejected": "c", "margin": 1})",
       "field \"chosen\": empty string"},
      {"margin_string", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": "0.5"})",
       "field \"margin\": expected a number, got string"},
      {"margin_infinite", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": -1e999})",
       "non-finite number: number overflow parsing '-1e999'"},
      {"id_float", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": 1, "id": 1.5})",
       "field \"id\": expected a string or an integer, got number"},
      {"id_bool", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": 1, "id": true})",
       "field \"id\": expected a string or an integer, got boolean"},
      {"id_empty", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": 1, "id": ""})",
       "field \"id\": empty string"},
      {"id_duplicate", R"({"prompt": "a", "chosen": "b", "rejected": "c", "margin": 1, "id": "good-1"})",
       "duplicate id \"good-1\""},
  };
  return *cases;
}

class BadLineTest : public ::testing::TestWithParam<BadLineCase> {
 protected:
  static config::DataConfig PairConfig(config::BadLinePolicy policy) {
    config::DataConfig c = Config(policy);
    c.set_margin_field("margin");
    return c;
  }
  // Line 1 good, line 2 bad, line 3 good.
  static std::string Text() { return Good(1) + "\n" + GetParam().line + "\n" + Good(3) + "\n"; }
  static void ExpectMessage(const std::string& message) {
    const std::string expected = "pairs.jsonl:2: " + GetParam().reason;
    if (GetParam().prefix_only) {
      EXPECT_THAT(message, StartsWith(expected));
    } else {
      EXPECT_EQ(message, expected);
    }
  }
};

TEST_P(BadLineTest, FailReturnsTheLocatedReason) {
  auto data = ParsePreferences(Text(), "pairs.jsonl", PairConfig(config::FAIL), Gpt2());
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectMessage(std::string(data.status().message()));
}

TEST_P(BadLineTest, SkipAndCountKeepsTheGoodLines) {
  auto data = ParsePreferences(Text(), "pairs.jsonl", PairConfig(config::SKIP_AND_COUNT), Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 2u);
  EXPECT_EQ(data->examples[0].id, "good-1");
  EXPECT_EQ(data->examples[1].id, "good-3");
  EXPECT_EQ(data->examples[1].index, 1);
  EXPECT_EQ(data->report.skipped, 1);
  ASSERT_EQ(data->report.messages.size(), 1u);
  ExpectMessage(data->report.messages[0]);
}

INSTANTIATE_TEST_SUITE_P(AllClasses, BadLineTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(BadLinesTest, DemonstrationsAndPromptsUseTheSameRules) {
  const std::string demos =
      "{\"prompt\": \"a\", \"response\": \"b\"}\n"
      "{\"prompt\": \"a\", \"response\": \"\"}\n"
      "{\"prompt\": \"a\"}\n";
  auto fail = ParseDemonstrations(demos, "d.jsonl", Config(config::FAIL), Gpt2());
  EXPECT_EQ(fail.status().message(), "d.jsonl:2: field \"response\": empty string");
  auto skip = ParseDemonstrations(demos, "d.jsonl", Config(config::SKIP_AND_COUNT), Gpt2());
  ASSERT_TRUE(skip.ok());
  EXPECT_EQ(skip->examples.size(), 1u);
  EXPECT_EQ(skip->report.skipped, 2);
  EXPECT_THAT(skip->report.messages, ::testing::ElementsAre("d.jsonl:2: field \"response\": empty string",
                                                            "d.jsonl:3: missing field \"response\""));
  auto prompts = ParsePrompts("\n\n[1]\n", "p.jsonl", Config(config::FAIL), Gpt2());
  EXPECT_EQ(prompts.status().message(), "p.jsonl:3: expected a JSON object, got array");
}

TEST(BadLinesTest, ReportKeepsTheFirstMessagesAndCountsAll) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "{\"prompt\": " + std::to_string(i) + "}\n{\"prompt\": \"ok\"}\n";
  auto data = ParsePrompts(text, "p", Config(config::SKIP_AND_COUNT), Gpt2());
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->examples.size(), 25u);
  EXPECT_EQ(data->report.skipped, 25);
  ASSERT_EQ(data->report.messages.size(), static_cast<size_t>(BadLineReport::kMaxMessages));
  EXPECT_EQ(data->report.messages[0], "p:1: field \"prompt\": expected a string, got number");
  EXPECT_EQ(data->report.messages[9], "p:19: field \"prompt\": expected a string, got number");
}

TEST(BadLinesTest, UnspecifiedPolicyFails) {
  auto data = ParsePrompts("{}\n", "p", Config(config::BAD_LINE_POLICY_UNSPECIFIED), Gpt2());
  EXPECT_EQ(data.status().message(), "p:1: missing field \"prompt\"");
}

}  // namespace
}  // namespace brain::data
