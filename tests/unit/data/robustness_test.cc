// Random JSONL (valid lines, broken JSON, wrong types, random bytes, long texts): the readers never crash,
// every non-blank line is either an example or a counted bad line with a "source:line: " message, the
// length rules hold, and FAIL stops at exactly the first line SKIP_AND_COUNT skipped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/data/datasets.h"
#include "tests/unit/data/data_test_util.h"

namespace brain::data {
namespace {

using ::brain::data::testing::Config;
using ::brain::data::testing::Gpt2;
using ::brain::data::testing::kEos;

std::string RandomText(std::mt19937& rng, int max_len) {
  static const std::string kChars = "abc xyz,.!?\\\"\n\t\xc3\xa9\xe6\x97\xa5\x01";
  std::uniform_int_distribution<int> len(0, max_len), pick(0, static_cast<int>(kChars.size()) - 1);
  std::string s;
  for (int i = len(rng); i > 0; --i) s.push_back(kChars[pick(rng)]);
  return s;
}

std::string RandomLine(std::mt19937& rng) {
  const auto quoted = [&](int max_len) {
    return nlohmann::json(RandomText(rng, max_len))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  switch (std::uniform_int_distribution<int>(0, 7)(rng)) {
    case 0:
    case 1:
      return absl::StrCat("{\"prompt\": ", quoted(40), ", \"chosen\": ", quoted(80),
                          ", \"rejected\": ", quoted(80), "}");
    case 2:
      return absl::StrCat("{\"prompt\": ", quoted(400), ", \"chosen\": \"ok\", \"rejected\": ", quoted(400),
                          "}");
    case 3: {  // a valid line cut short
      std::string line =
          absl::StrCat("{\"prompt\": ", quoted(20), ", \"chosen\": \"a\", \"rejected\": \"b\"}");
      return line.substr(0, std::uniform_int_distribution<size_t>(0, line.size() - 1)(rng));
    }
    case 4:
      return absl::StrCat("{\"prompt\": ", std::uniform_int_distribution<int>(-5, 5)(rng), "}");
    case 5: {  // random bytes (no newline)
      std::string s;
      for (int i = std::uniform_int_distribution<int>(0, 30)(rng); i > 0; --i) {
        char c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
        s.push_back(c == '\n' ? ' ' : c);
      }
      return s;
    }
    case 6:
      return "  ";
    default:
      return absl::StrCat("{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"id\": ",
                          std::uniform_int_distribution<int>(0, 20)(rng), "}");
  }
}

bool Blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

TEST(RobustnessTest, RandomFilesKeepTheInvariants) {
  std::mt19937 rng(1234);
  config::DataConfig skip = Config(config::SKIP_AND_COUNT);
  skip.set_max_prompt_tokens(16);
  skip.set_max_response_tokens(24);
  config::DataConfig fail = skip;
  fail.set_bad_lines(config::FAIL);
  for (int file = 0; file < 40; ++file) {
    std::vector<std::string> lines;
    std::string text;
    for (int i = std::uniform_int_distribution<int>(1, 30)(rng); i > 0; --i) {
      lines.push_back(RandomLine(rng));
      text += lines.back() + "\n";
    }
    int64_t non_blank = 0;
    for (const std::string& line : lines) non_blank += Blank(line) ? 0 : 1;

    auto data = ParsePreferences(text, "r.jsonl", skip, Gpt2());
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(static_cast<int64_t>(data->examples.size()) + data->report.skipped, non_blank) << text;
    std::set<std::string> ids;
    for (size_t i = 0; i < data->examples.size(); ++i) {
      const PreferenceExample& e = data->examples[i];
      EXPECT_EQ(e.index, static_cast<int64_t>(i));
      EXPECT_TRUE(ids.insert(e.id).second) << e.id;
      EXPECT_LE(e.prompt_ids.size(), 16u);
      EXPECT_FALSE(e.prompt_ids.empty());
      for (const auto* response : {&e.chosen_ids, &e.rejected_ids}) {
        ASSERT_GE(response->size(), 2u);  // non-empty text encodes to >= 1 id, then EOS
        EXPECT_LE(response->size(), 24u);
        EXPECT_EQ(response->back(), kEos);
      }
    }
    for (const std::string& message : data->report.messages) {
      EXPECT_TRUE(absl::StartsWith(message, "r.jsonl:")) << message;
    }

    auto strict = ParsePreferences(text, "r.jsonl", fail, Gpt2());
    if (data->report.skipped == 0) {
      ASSERT_TRUE(strict.ok()) << strict.status();
      EXPECT_EQ(strict->examples.size(), data->examples.size());
    } else {
      ASSERT_FALSE(strict.ok());
      EXPECT_EQ(strict.status().message(), data->report.messages.front());
    }
  }
}

}  // namespace
}  // namespace brain::data
