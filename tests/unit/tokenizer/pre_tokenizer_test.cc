// Tests of the GPT-2 and Llama-3 pre-tokenisation scanners on hand-worked regex cases.
#include "core/tokenizer/pre_tokenizer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace brain::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

Pieces SplitWith(SplitPattern pattern, const std::string& text, bool prefix = false) {
  return PreTokenizer({{pattern, prefix}}).Split(text);
}

TEST(PreTokenizerTest, RecognisesKnownPatternsOnly) {
  EXPECT_EQ(RecognizePattern(PatternRegex(SplitPattern::kGpt2)), SplitPattern::kGpt2);
  EXPECT_EQ(RecognizePattern(PatternRegex(SplitPattern::kLlama3)), SplitPattern::kLlama3);
  EXPECT_EQ(RecognizePattern(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitPattern::kGpt2);
  EXPECT_EQ(RecognizePattern(R"(\w+|\s+)"), std::nullopt);
}

// Expected splits below are worked out by hand from the regex alternation (leftmost alternative wins,
// greedy quantifiers, \s+(?!\S) leaving the last space of a run to the next word).
TEST(PreTokenizerTest, Gpt2Pattern) {
  const auto k = SplitPattern::kGpt2;
  EXPECT_EQ(SplitWith(k, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(SplitWith(k, "I'm here, they're"), (Pieces{"I", "'m", " here", ",", " they", "'re"}));
  EXPECT_EQ(SplitWith(k, "IT'S"), (Pieces{"IT", "'", "S"}));  // contractions are case-sensitive
  EXPECT_EQ(SplitWith(k, "a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(SplitWith(k, "a   \n b"), (Pieces{"a", "   \n", " b"}));
  EXPECT_EQ(SplitWith(k, "trailing   "), (Pieces{"trailing", "   "}));
  EXPECT_EQ(SplitWith(k, "x\ty"), (Pieces{"x", "\t", "y"}));
  EXPECT_EQ(SplitWith(k, "x\n\ny"), (Pieces{"x", "\n", "\n", "y"}));
  EXPECT_EQ(SplitWith(k, "123abc 4567"), (Pieces{"123", "abc", " 4567"}));
  EXPECT_EQ(SplitWith(k, "hello!!! world?"), (Pieces{"hello", "!!!", " world", "?"}));
  EXPECT_EQ(SplitWith(k, " 's"), (Pieces{" '", "s"}));
  EXPECT_EQ(SplitWith(k, "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87"),
            (Pieces{"caf\xC3\xA9", " \xE4\xB8\xAD\xE6\x96\x87"}));
  EXPECT_EQ(SplitWith(k,
                      "a\xC2\xA0"
                      "b"),
            (Pieces{"a", "\xC2\xA0", "b"}));  // NBSP is \s but not ' '
  EXPECT_EQ(SplitWith(k, " "), (Pieces{" "}));
  EXPECT_EQ(SplitWith(k, ""), (Pieces{}));
}

TEST(PreTokenizerTest, Llama3Pattern) {
  const auto k = SplitPattern::kLlama3;
  EXPECT_EQ(SplitWith(k, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(SplitWith(k, "I'M HE'LL"), (Pieces{"I", "'M", " HE", "'LL"}));  // case-insensitive
  // Oniguruma's case folding maps U+017F LATIN SMALL LETTER LONG S to 's' (checked with `tokenizers`).
  EXPECT_EQ(SplitWith(k, "'\xC5\xBFx"), (Pieces{"'\xC5\xBF", "x"}));
  EXPECT_EQ(SplitWith(k, "'zx"), (Pieces{"'zx"}));
  EXPECT_EQ(SplitWith(k, "12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(SplitWith(k, "(hello)"), (Pieces{"(hello", ")"}));
  EXPECT_EQ(SplitWith(k, "\thello"), (Pieces{"\thello"}));
  EXPECT_EQ(SplitWith(k, "a\n\nb"), (Pieces{"a", "\n\n", "b"}));
  EXPECT_EQ(SplitWith(k, "a  \n  b"), (Pieces{"a", "  \n", " ", " b"}));
  EXPECT_EQ(SplitWith(k, " ?!\n\nx"), (Pieces{" ?!\n\n", "x"}));
  EXPECT_EQ(SplitWith(k, "x   "), (Pieces{"x", "   "}));
  EXPECT_EQ(SplitWith(k, "a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(SplitWith(k, "3.14"), (Pieces{"3", ".", "14"}));
  EXPECT_EQ(SplitWith(k, "x\r\n"), (Pieces{"x", "\r\n"}));
}

TEST(PreTokenizerTest, Qwen2PatternSplitsSingleDigits) {
  EXPECT_EQ(SplitWith(SplitPattern::kQwen2, "abc 123"), (Pieces{"abc", " ", "1", "2", "3"}));
}

TEST(PreTokenizerTest, PrefixSpaceAndSequences) {
  EXPECT_EQ(SplitWith(SplitPattern::kGpt2, "Hi there", /*prefix=*/true), (Pieces{" Hi", " there"}));
  EXPECT_EQ(SplitWith(SplitPattern::kGpt2, " Hi", /*prefix=*/true), (Pieces{" Hi"}));
  PreTokenizer two({{SplitPattern::kLlama3, false}, {SplitPattern::kNone, false}});
  EXPECT_EQ(two.Split("ab 1234"), (Pieces{"ab", " ", "123", "4"}));
  EXPECT_EQ(PreTokenizer().Split("no split at all"), (Pieces{"no split at all"}));
}

TEST(PreTokenizerTest, InvalidUtf8IsPunctuation) {
  EXPECT_EQ(SplitWith(SplitPattern::kGpt2, "ab\xFF\xFE cd \xC3"), (Pieces{"ab", "\xFF\xFE", " cd", " \xC3"}));
  EXPECT_EQ(SplitWith(SplitPattern::kLlama3,
                      "\xFF"
                      "ab"),
            (Pieces{"\xFF"
                    "ab"}));
}

TEST(PreTokenizerTest, PiecesCoverTheInputExactly) {
  // Any byte string: the pieces concatenate back to the input and are never empty.
  uint32_t state = 12345;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = trial % 37;
    for (int i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      const char pool[] = " \n\t'sSaZ09.\xC3\xA9\xE4\xB8\xAD\xFF\r";
      text.push_back(pool[(state >> 16) % (sizeof(pool) - 1)]);
    }
    for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kLlama3, SplitPattern::kQwen2}) {
      std::string joined;
      for (const std::string& piece : SplitWith(p, text)) {
        ASSERT_FALSE(piece.empty());
        joined += piece;
      }
      ASSERT_EQ(joined, text);
    }
  }
}

}  // namespace
}  // namespace brain::tokenizer
