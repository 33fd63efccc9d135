// Dataset readers on valid input: GPT-2 token ids, truncation on both sides, EOS, field names, ids.
#include "core/data/datasets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/data/data_test_util.h"

namespace brain::data {
namespace {

using ::brain::data::testing::Config;
using ::brain::data::testing::Gpt2;
using ::brain::data::testing::kEos;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Reference ids computed once with the venv's `tokenizers` (ByteLevelBPETokenizer on
// ../shared/data/gpt2/vocab.json + merges.txt) and hard-coded here:
//   "Hello world"                                   -> [15496, 995]
//   "The quick brown fox jumps over the lazy dog."  -> [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290,
//   13] " Sure, here is a poem:"                        -> [10889, 11, 994, 318, 257, 21247, 25] "naïve café
//   日本"                               -> [2616, 38776, 40304, 10545, 245, 98, 17312, 105] "a b c d e f g h"
//   -> [64, 275, 269, 288, 304, 277, 308, 289]
const std::vector<int32_t> kHello = {15496, 995};
const std::vector<int32_t> kFox = {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13};
const std::vector<int32_t> kPoem = {10889, 11, 994, 318, 257, 21247, 25};
const std::vector<int32_t> kNaive = {2616, 38776, 40304, 10545, 245, 98, 17312, 105};
const std::vector<int32_t> kLetters = {64, 275, 269, 288, 304, 277, 308, 289};

std::vector<int32_t> WithEos(std::vector<int32_t> ids) {
  ids.push_back(kEos);
  return ids;
}

TEST(DatasetsTest, TokenizerHasGpt2Eos) {
  ASSERT_TRUE(Gpt2().eos_id().has_value());
  EXPECT_EQ(*Gpt2().eos_id(), kEos);
}

TEST(DatasetsTest, PromptsTokenisedLikeGpt2) {
  const std::string text =
      "{\"prompt\": \"Hello world\"}\n"
      "{\"prompt\": \"The quick brown fox jumps over the lazy dog.\"}\n"
      "{\"prompt\": \"na\xc3\xafve caf\xc3\xa9 \\u65e5\\u672c\"}\n";  // UTF-8 bytes and \u escapes
  auto data = ParsePrompts(text, "p.jsonl", Config(), Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 3u);
  EXPECT_EQ(data->examples[0].prompt_ids, kHello);
  EXPECT_EQ(data->examples[0].text, "Hello world");
  EXPECT_EQ(data->examples[1].prompt_ids, kFox);
  EXPECT_EQ(data->examples[2].prompt_ids, kNaive);
  EXPECT_EQ(data->examples[2].text, "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_EQ(data->report.skipped, 0);
}

TEST(DatasetsTest, PromptTruncationLeftKeepsTheEnd) {
  config::DataConfig c = Config();
  c.set_max_prompt_tokens(3);
  c.set_prompt_truncation(config::LEFT);
  auto data = ParsePrompts("{\"prompt\": \"a b c d e f g h\"}\n", "p", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->examples[0].prompt_ids, ElementsAre(277, 308, 289));
  EXPECT_EQ(data->examples[0].text, "a b c d e f g h");  // the text is not truncated
}

TEST(DatasetsTest, PromptTruncationRightKeepsTheStart) {
  config::DataConfig c = Config();
  c.set_max_prompt_tokens(3);
  c.set_prompt_truncation(config::RIGHT);
  auto data = ParsePrompts("{\"prompt\": \"a b c d e f g h\"}\n", "p", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->examples[0].prompt_ids, ElementsAre(64, 275, 269));
}

TEST(DatasetsTest, PromptAtTheLimitIsUnchanged) {
  config::DataConfig c = Config();
  c.set_max_prompt_tokens(8);
  auto data = ParsePrompts("{\"prompt\": \"a b c d e f g h\"}\n", "p", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->examples[0].prompt_ids, kLetters);
}

TEST(DatasetsTest, ResponsesEndWithEosCountedInTheLimit) {
  config::DataConfig c = Config();
  c.set_max_prompt_tokens(100);
  c.set_max_response_tokens(4);
  const std::string text =
      "{\"prompt\": \"Hello world\", \"response\": \"a b c d e f g h\"}\n"  // cut: 3 content ids + EOS
      "{\"prompt\": \"Hello world\", \"response\": \"Hello world\"}\n"      // fits: 2 ids + EOS
      "{\"prompt\": \"Hello world\", \"response\": \"a b c\"}\n";           // exactly 3 + EOS
  auto data = ParseDemonstrations(text, "d", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 3u);
  EXPECT_THAT(data->examples[0].response_ids, ElementsAre(64, 275, 269, kEos));
  EXPECT_EQ(data->examples[0].prompt_ids, kHello);
  EXPECT_EQ(data->examples[1].response_ids, WithEos(kHello));
  EXPECT_THAT(data->examples[2].response_ids, ElementsAre(64, 275, 269, kEos));
}

TEST(DatasetsTest, PreferencePairsWithMarginAndReference) {
  config::DataConfig c = Config();
  c.set_margin_field("margin");
  c.set_reference_field("reference");
  c.set_max_response_tokens(3);
  const std::string text =
      "{\"prompt\": \" Sure, here is a poem:\", \"chosen\": \"Hello world\", \"rejected\": \"a b c d\","
      " \"margin\": 0.75, \"reference\": \"The quick brown fox jumps over the lazy dog.\"}\n"
      "{\"prompt\": \"Hello world\", \"chosen\": \"a\", \"rejected\": \"Hello world\", \"margin\": -2,"
      " \"reference\": \"Hello world\"}\n";
  auto data = ParsePreferences(text, "pairs", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 2u);
  const PreferenceExample& first = data->examples[0];
  EXPECT_EQ(first.prompt_ids, kPoem);
  EXPECT_EQ(first.chosen_ids, WithEos(kHello));
  EXPECT_THAT(first.rejected_ids, ElementsAre(64, 275, kEos));
  ASSERT_TRUE(first.margin.has_value());
  EXPECT_DOUBLE_EQ(*first.margin, 0.75);
  ASSERT_TRUE(first.reference_ids.has_value());
  EXPECT_THAT(*first.reference_ids, ElementsAre(464, 2068, kEos));
  const PreferenceExample& second = data->examples[1];
  EXPECT_THAT(second.chosen_ids, ElementsAre(64, kEos));
  ASSERT_TRUE(second.margin.has_value());
  EXPECT_DOUBLE_EQ(*second.margin, -2.0);
}

TEST(DatasetsTest, PairsWithoutMarginFieldConfiguredHaveNoMargin) {
  auto data = ParsePreferences(
      "{\"prompt\": \"Hello world\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": 1}\n", "pairs",
      Config(), Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_FALSE(data->examples[0].margin.has_value());
  EXPECT_FALSE(data->examples[0].reference_ids.has_value());
}

TEST(DatasetsTest, PromptsWithReferenceResponses) {
  config::DataConfig c = Config();
  c.set_reference_field("ref");
  c.set_max_response_tokens(3);
  const std::string text = "{\"prompt\": \"Hello world\", \"ref\": \"a b c d\"}\n{\"prompt\": \"a\"}\n";
  auto data = ParsePrompts(text, "p", c, Gpt2());
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(), "p:2: missing field \"ref\"");
  c.set_bad_lines(config::SKIP_AND_COUNT);
  data = ParsePrompts(text, "p", c, Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 1u);
  EXPECT_EQ(data->examples[0].prompt_ids, kHello);
  ASSERT_TRUE(data->examples[0].reference_ids.has_value());
  EXPECT_THAT(*data->examples[0].reference_ids, ElementsAre(64, 275, kEos));
  // Without reference_field, prompts carry none.
  auto plain = ParsePrompts("{\"prompt\": \"a\", \"ref\": \"b\"}\n", "p", Config(), Gpt2());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->examples[0].reference_ids.has_value());
}

TEST(DatasetsTest, CustomFieldNames) {
  config::DataConfig c = Config();
  c.set_prompt_field("question");
  c.set_response_field("answer");
  c.set_chosen_field("good");
  c.set_rejected_field("bad");
  auto demos = ParseDemonstrations("{\"question\": \"Hello world\", \"answer\": \"a b c\", \"prompt\": 5}\n",
                                   "d", c, Gpt2());
  ASSERT_TRUE(demos.ok()) << demos.status();
  EXPECT_EQ(demos->examples[0].prompt_ids, kHello);
  EXPECT_THAT(demos->examples[0].response_ids, ElementsAre(64, 275, 269, kEos));
  auto pairs = ParsePreferences("{\"question\": \"a b c\", \"good\": \"Hello world\", \"bad\": \"a\"}\n", "p",
                                c, Gpt2());
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(pairs->examples[0].prompt_ids, ElementsAre(64, 275, 269));
  EXPECT_EQ(pairs->examples[0].chosen_ids, WithEos(kHello));
  // The default names are no longer read.
  auto missing = ParsePrompts("{\"prompt\": \"Hello world\"}\n", "p", c, Gpt2());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "p:1: missing field \"question\"");
}

TEST(DatasetsTest, IdsFromFieldOrIndexAmongValidLines) {
  const std::string text =
      "{\"prompt\": \"a\"}\n"                   // line 1: index 0, id "0"
      "\n"                                      // blank
      "{\"prompt\": \"\"}\n"                    // bad: skipped, takes no index
      "{\"prompt\": \"b\", \"id\": \"q-7\"}\n"  // index 1, id "q-7"
      "{\"prompt\": \"c\", \"id\": 42}\n"       // index 2, id "42"
      "   \t\n"                                 // blank
      "{\"prompt\": \"d\"}";                    // index 3, id "3" (no final newline)
  auto data = ParsePrompts(text, "p", Config(config::SKIP_AND_COUNT), Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 4u);
  const std::vector<std::string> ids = {"0", "q-7", "42", "3"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(data->examples[i].id, ids[i]);
    EXPECT_EQ(data->examples[i].index, i);
  }
  EXPECT_EQ(data->examples[3].text, "d");
  EXPECT_EQ(data->report.skipped, 1);
  EXPECT_THAT(data->report.messages, ElementsAre("p:3: field \"prompt\": empty string"));
}

TEST(DatasetsTest, CrLfLineEndings) {
  auto data =
      ParsePrompts("{\"prompt\": \"Hello world\"}\r\n\r\n{\"prompt\": \"a\"}\r\n", "p", Config(), Gpt2());
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->examples.size(), 2u);
  EXPECT_EQ(data->examples[0].prompt_ids, kHello);
}

TEST(DatasetsTest, ReadsFilesAndNamesMissingOnes) {
  const std::string path = ::testing::TempDir() + "/data_test_prompts.jsonl";
  {
    std::ofstream out(path);
    out << "{\"prompt\": \"Hello world\"}\n{\"prompt\": 3}\n";
  }
  auto fail = ReadPrompts(path, Config(), Gpt2());
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fail.status().message(), path + ":2: field \"prompt\": expected a string, got number");
  auto skip = ReadPrompts(path, Config(config::SKIP_AND_COUNT), Gpt2());
  ASSERT_TRUE(skip.ok()) << skip.status();
  EXPECT_EQ(skip->examples.size(), 1u);
  std::remove(path.c_str());

  const std::string missing = ::testing::TempDir() + "/no_such_dir/x.jsonl";
  for (auto status : {ReadPrompts(missing, Config(), Gpt2()).status(),
                      ReadDemonstrations(missing, Config(), Gpt2()).status(),
                      ReadPreferences(missing, Config(), Gpt2()).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(status.message(), HasSubstr(missing));
    EXPECT_THAT(status.message(), HasSubstr("No such file"));
  }
  auto directory = ReadPrompts(::testing::TempDir(), Config(), Gpt2());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory"));
}

TEST(DatasetsTest, BadConfigNamesTheField) {
  config::DataConfig c = Config();
  c.set_max_response_tokens(1);
  auto demos = ParseDemonstrations("", "d", c, Gpt2());
  ASSERT_FALSE(demos.ok());
  EXPECT_THAT(demos.status().message(), HasSubstr("data.max_response_tokens"));
  c = Config();
  c.set_max_prompt_tokens(0);
  EXPECT_THAT(ParsePrompts("", "p", c, Gpt2()).status().message(), HasSubstr("data.max_prompt_tokens"));
  c = Config();
  c.set_chosen_field("");
  EXPECT_THAT(ParsePreferences("", "p", c, Gpt2()).status().message(), HasSubstr("data.chosen_field"));
}

TEST(DatasetsTest, ResponsesNeedAnEosToken) {
  auto tok = tokenizer::Tokenizer::FromDirectory(BRAIN_SOURCE_DIR "/../shared/data/gpt2");
  ASSERT_TRUE(tok.ok()) << tok.status();
  (*tok)->set_special_ids({});
  auto demos = ParseDemonstrations("{\"prompt\": \"a\", \"response\": \"b\"}\n", "d", Config(), **tok);
  EXPECT_EQ(demos.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ParsePrompts("{\"prompt\": \"a\"}\n", "p", Config(), **tok).ok());  // prompts do not
}

}  // namespace
}  // namespace brain::data
