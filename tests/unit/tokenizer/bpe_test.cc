// Tests of BPE merging and of the Tokenizer (added tokens, decode) on a tiny hand-made vocabulary.
#include <fstream>
#include <string>
#include <vector>

#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace brain::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

BpeModel TinyModel(BpeOptions options = {}) {
  auto model = BpeModel::Create({{"a", 0},
                                 {"b", 1},
                                 {"c", 2},
                                 {"ab", 3},
                                 {"bc", 4},
                                 {"abc", 5},
                                 {"\xC4\xA0", 6},
                                 {"\xC4\xA0"
                                  "a",
                                  7},
                                 {"aa", 8},
                                 {"<unk>", 9}},
                                std::move(options));
  EXPECT_TRUE(model.ok()) << model.status();
  for (auto [l, r] : {std::pair{"a", "b"}, {"b", "c"}, {"ab", "c"}, {"\xC4\xA0", "a"}, {"a", "a"}}) {
    EXPECT_TRUE(model->AddMerge(l, r).ok());
  }
  return *std::move(model);
}

Ids EncodePiece(const BpeModel& model, const std::string& piece) {
  Ids ids;
  model.EncodePiece(piece, &ids);
  return ids;
}

TEST(BpeTest, MergesLowestRankFirst) {
  const BpeModel model = TinyModel();
  EXPECT_EQ(EncodePiece(model, "abc"), (Ids{5}));     // a+b (rank 0), then ab+c
  EXPECT_EQ(EncodePiece(model, "bca"), (Ids{4, 0}));  // b+c; bc+a is no merge
  // " abc": Ġ+a has rank 3 but a+b rank 0 comes first, which blocks it.
  EXPECT_EQ(EncodePiece(model, " abc"), (Ids{6, 5}));
  EXPECT_EQ(EncodePiece(model, " a"), (Ids{7}));
  EXPECT_EQ(EncodePiece(model, "aaa"), (Ids{8, 0}));  // equal ranks: leftmost first
  EXPECT_EQ(EncodePiece(model, "aaaa"), (Ids{8, 8}));
  EXPECT_EQ(EncodePiece(model, ""), (Ids{}));
  // Cached results are the same as fresh ones.
  EXPECT_EQ(EncodePiece(model, "abc"), (Ids{5}));
}

TEST(BpeTest, UnknownBytesAreDroppedOrUnk) {
  EXPECT_EQ(EncodePiece(TinyModel(), "xab"), (Ids{3}));
  BpeOptions unk;
  unk.unk_token = "<unk>";
  EXPECT_EQ(EncodePiece(TinyModel(unk), "xyab"), (Ids{9, 9, 3}));
  unk.fuse_unk = true;
  EXPECT_EQ(EncodePiece(TinyModel(unk), "xyab"), (Ids{9, 3}));
}

TEST(BpeTest, IgnoreMergesUsesWholeTokens) {
  auto model = BpeModel::Create({{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}}, {});
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model->AddMerge("a", "b").ok());
  EXPECT_EQ(EncodePiece(*model, "abc"), (Ids{3, 2}));  // ab+c is no merge
  BpeOptions ignore;
  ignore.ignore_merges = true;
  auto direct = BpeModel::Create({{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}}, ignore);
  ASSERT_TRUE(direct.ok());
  ASSERT_TRUE(direct->AddMerge("a", "b").ok());
  EXPECT_EQ(EncodePiece(*direct, "abc"), (Ids{4}));
}

TEST(BpeTest, MergeErrors) {
  BpeModel model = TinyModel();
  EXPECT_NE(model.AddMerge("a", "zz").message().find("unknown token \"zz\""), std::string::npos);
  EXPECT_NE(model.AddMerge("c", "a").message().find("merged token \"ca\" is not in the vocabulary"),
            std::string::npos);
  EXPECT_FALSE(BpeModel::Create({{"a", -1}}, {}).ok());
  EXPECT_FALSE(BpeModel::Create({{"a", int64_t{1} << 40}}, {}).ok());
  EXPECT_FALSE(BpeModel::Create({{"a", 0}, {"a", 1}}, {}).ok());
}

TEST(TokenizerTest, EncodesWithAddedTokensAndDecodes) {
  auto tok = Tokenizer::FromTokenizerJsonText(testing_util::TinyTokenizerJson(), "tiny.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  const Tokenizer& t = **tok;
  // GPT-2 split: "abc", " a", "!", then <|eot|> as one id, then "bc".
  EXPECT_EQ(t.Encode("abc a!<|eot|>bc"), (Ids{5, 7, 8, 9, 4}));
  EXPECT_EQ(t.Encode("<|eot|><|eot|>"), (Ids{9, 9}));
  EXPECT_EQ(t.Encode("<|eot"), (Ids{}));  // '<', '|', ... are not in this vocabulary: dropped
  EXPECT_EQ(*t.Decode({5, 7, 8, 9, 4}), "abc a!<|eot|>bc");
  EXPECT_EQ(*t.Decode({5, 9, 4}, /*skip_special_tokens=*/true), "abcbc");
  EXPECT_EQ(t.vocab_size(), 10);
  EXPECT_TRUE(t.IsSpecial(9));
  EXPECT_EQ(t.TokenToId("<|eot|>"), 9);
  EXPECT_EQ(t.IdToToken(7),
            "\xC4\xA0"
            "a");
  const absl::StatusOr<std::string> bad = t.Decode({1, 42});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("id 42 at index 1"), std::string::npos) << bad.status();
}

TEST(TokenizerTest, SpecialIdsFromTokenizerConfig) {
  const std::string path = testing_util::WriteTempFile("tokenizer.json", testing_util::TinyTokenizerJson());
  const std::string dir = path.substr(0, path.rfind('/'));
  auto guessed = Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(guessed.ok()) << guessed.status();
  EXPECT_EQ((*guessed)->bos_id(), std::nullopt);  // "<|eot|>" is none of the usual names
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"bos_token": "<|eot|>", "eos_token": {"content": "<|eot|>"}, "pad_token": "!"})";
  auto tok = Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->bos_id(), 9);
  EXPECT_EQ((*tok)->eos_id(), 9);
  EXPECT_EQ((*tok)->pad_id(), 8);
  std::ofstream(dir + "/tokenizer_config.json") << R"({"pad_token": "<nope>"})";
  tok = Tokenizer::FromDirectory(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("tokenizer_config.json: field pad_token: token \"<nope>\""),
            std::string::npos)
      << tok.status();
}

// GPT-2's published vocabulary: ids known from the original encoder (e.g. "Hello world" = 15496, 995).
TEST(TokenizerTest, Gpt2KnownIds) {
  const std::string dir = std::string(BRAIN_SOURCE_DIR) + "/../shared/data/gpt2";
  auto tok = Tokenizer::FromDirectory(dir);
  if (!tok.ok() && tok.status().code() == absl::StatusCode::kNotFound) GTEST_SKIP() << tok.status();
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("Hello world"), (Ids{15496, 995}));
  EXPECT_EQ((*tok)->Encode("<|endoftext|>"), (Ids{50256}));
  EXPECT_EQ((*tok)->bos_id(), 50256);
  EXPECT_EQ((*tok)->eos_id(), 50256);
  EXPECT_EQ((*tok)->vocab_size(), 50257);
  const std::string text = "It's 2024 \xE2\x80\x94 caf\xC3\xA9 \xF0\x9F\x98\x80  \n\tdone";
  EXPECT_EQ(*(*tok)->Decode((*tok)->Encode(text)), text);
}

}  // namespace
}  // namespace brain::tokenizer
