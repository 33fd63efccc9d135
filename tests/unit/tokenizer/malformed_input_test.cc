// Malformed tokenizer files and hostile input: every case must return an error (naming the file, the field
// or line, and the reason) or succeed, never crash. Also built under AddressSanitizer (label asan).
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace brain::tokenizer {
namespace {

using testing_util::TinyTokenizerJson;
using testing_util::WriteTempFile;

// Expects loading `json` to fail with a message containing every string of `needles`.
void ExpectJsonError(const std::string& json, const std::vector<std::string>& needles) {
  const std::string path = WriteTempFile("tokenizer.json", json);
  auto tok = Tokenizer::FromTokenizerJson(path);
  ASSERT_FALSE(tok.ok()) << "loaded: " << json.substr(0, 200);
  const std::string message(tok.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  for (const std::string& needle : needles) EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(MalformedTokenizerTest, MissingFilesAndDirectories) {
  auto tok = Tokenizer::FromDirectory("/nonexistent/brain/tok");
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("/nonexistent/brain/tok: no tokenizer found"), std::string::npos);
  tok = Tokenizer::FromTokenizerJson("/nonexistent/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(tok.status().message().find("/nonexistent/tokenizer.json: cannot open"), std::string::npos);
  // A directory with vocab.json but no merges.txt names the missing file.
  const std::string vocab = WriteTempFile("vocab.json", R"({"a": 0})");
  const std::string dir = vocab.substr(0, vocab.rfind('/'));
  tok = Tokenizer::FromDirectory(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find(dir + "/merges.txt: cannot open"), std::string::npos) << tok.status();
}

TEST(MalformedTokenizerTest, TokenizerJsonErrorsNameTheField) {
  ExpectJsonError("{\"model\": ", {"malformed JSON"});
  ExpectJsonError("[1, 2]", {"(root)", "expected an object"});
  ExpectJsonError(R"({"decoder": {"type": "ByteLevel"}})", {"field model", "missing"});
  ExpectJsonError(TinyTokenizerJson(R"(["a b", "a zz"])"), {"model.merges[1]", "unknown token \"zz\""});
  ExpectJsonError(TinyTokenizerJson(R"(["a b", "c a"])"), {"model.merges[1]", "merged token \"ca\""});
  ExpectJsonError(TinyTokenizerJson(R"(["a b c"])"), {"model.merges[0]", "two tokens"});
  ExpectJsonError(TinyTokenizerJson(R"([["a"]])"), {"model.merges[0]", "expected a string"});
  ExpectJsonError(TinyTokenizerJson(R"("a b")"), {"model.merges", "expected an array"});
  ExpectJsonError(TinyTokenizerJson(R"([])", R"({"type": "Split", "pattern": {"Regex": "\\w+"},
                                             "behavior": "Isolated", "invert": false})"),
                  {"pre_tokenizer.pattern.Regex", "unsupported split regex"});
  ExpectJsonError(
      TinyTokenizerJson(R"([])", R"({"type": "Sequence", "pretokenizers": [{"type": "Digits"}]})"),
      {"pre_tokenizer.pretokenizers[0].type", "unsupported pre-tokenizer \"Digits\""});
  ExpectJsonError(TinyTokenizerJson(R"([])", R"({"type": "ByteLevel", "add_prefix_space": "yes"})"),
                  {"pre_tokenizer.add_prefix_space", "expected a boolean"});
  std::string json = TinyTokenizerJson();
  ExpectJsonError(std::string(json).replace(json.find("\"BPE\""), 5, "\"WordPiece\""),
                  {"model.type", "unsupported model type"});
  ExpectJsonError(std::string(json).replace(json.find("\"b\": 1"), 6, "\"b\": -1"),
                  {"model.vocab", "outside"});
  ExpectJsonError(std::string(json).replace(json.find("\"b\": 1"), 6, "\"b\": \"1\""),
                  {"model.vocab[\"b\"]", "expected an integer id"});
  ExpectJsonError(std::string(json).replace(json.find("\"normalizer\": null"), 18, "\"normalizer\": {}"),
                  {"field normalizer"});
  ExpectJsonError(std::string(json).replace(json.find("\"id\": 9"), 7, "\"id\": 99999999999"),
                  {"added_tokens[0].id", "outside"});
  ExpectJsonError(std::string(json).replace(json.find("\"dropout\": null"), 15, "\"dropout\": 0.1"),
                  {"model.dropout"});
  ExpectJsonError(
      std::string(json).replace(json.find("\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim"), 19,
                                "\"type\": \"WordPiece\""),
      {"field decoder", "unsupported decoder"});
}

TEST(MalformedTokenizerTest, VocabMergesErrorsNameTheLine) {
  const std::string vocab = R"({"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3})";
  auto load = [&](const std::string& merges) {
    return Tokenizer::FromVocabMergesText(vocab, "v/vocab.json", merges, "v/merges.txt");
  };
  ASSERT_TRUE(load("#version: 0.2\na b\n").ok());
  auto expect_error = [&](const std::string& merges, const std::string& needle) {
    auto tok = load(merges);
    ASSERT_FALSE(tok.ok()) << merges;
    EXPECT_NE(tok.status().message().find(needle), std::string::npos) << tok.status();
  };
  expect_error("#version: 0.2\na b\na b c\n", "v/merges.txt:3: expected \"LEFT RIGHT\"");
  expect_error("#version: 0.2\na\n", "v/merges.txt:2: expected");
  expect_error("a  b\n", "v/merges.txt:1: expected");
  expect_error("#version: 0.2\na x\n", "v/merges.txt:2: unknown token \"x\"");
  expect_error("b a\n", "v/merges.txt:1: merged token \"ba\" is not in the vocabulary");
  auto bad_vocab = Tokenizer::FromVocabMergesText("{\"a\": 0,", "v/vocab.json", "", "v/merges.txt");
  ASSERT_FALSE(bad_vocab.ok());
  EXPECT_NE(bad_vocab.status().message().find("v/vocab.json: malformed JSON"), std::string::npos);
  bad_vocab = Tokenizer::FromVocabMergesText(R"({"a": [0]})", "v/vocab.json", "", "v/merges.txt");
  ASSERT_FALSE(bad_vocab.ok());
  EXPECT_NE(bad_vocab.status().message().find("v/vocab.json: field [\"a\"]: expected an integer id"),
            std::string::npos);
}

TEST(MalformedTokenizerTest, EveryTruncationFailsCleanly) {
  const std::string json = TinyTokenizerJson();
  for (size_t len = 0; len < json.size(); ++len) {
    EXPECT_FALSE(Tokenizer::FromTokenizerJsonText(json.substr(0, len), "t.json").ok()) << len;
  }
  const std::string merges = "#version: 0.2\na b\nab c\n";
  const std::string vocab = R"({"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4})";
  for (size_t len = 0; len < vocab.size(); ++len) {
    EXPECT_FALSE(Tokenizer::FromVocabMergesText(vocab.substr(0, len), "v", merges, "m").ok()) << len;
  }
  for (size_t len = 0; len <= merges.size(); ++len) {
    (void)Tokenizer::FromVocabMergesText(vocab, "v", merges.substr(0, len), "m");  // error or ok, no crash
  }
}

TEST(MalformedTokenizerTest, RandomCorruptionNeverCrashes) {
  const std::string json = TinyTokenizerJson();
  std::mt19937 rng(7);
  const std::string bytes = "{}[]\",:0123456789 abcnul\\\xC4\xA0\xFF";
  int loaded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string corrupt = json;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % corrupt.size();
      switch (rng() % 3) {
        case 0:
          corrupt[pos] = bytes[rng() % bytes.size()];
          break;
        case 1:
          corrupt.erase(pos, 1 + rng() % 8);
          break;
        default:
          corrupt.insert(pos, 1, bytes[rng() % bytes.size()]);
          break;
      }
    }
    auto tok = Tokenizer::FromTokenizerJsonText(corrupt, "corrupt.json");
    if (tok.ok()) {
      ++loaded;
      const std::vector<int32_t> ids = (*tok)->Encode("abc a!<|eot|>bc \xFF");
      (void)(*tok)->Decode(ids);
    } else {
      EXPECT_NE(tok.status().message().find("corrupt.json"), std::string::npos) << tok.status();
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST(MalformedTokenizerTest, ArbitraryBytesRoundTrip) {
  // All 256 byte tokens plus a few merges: any byte string (valid UTF-8 or not) decodes back exactly.
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[BytesToByteLevel(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab
      ["\xC4\xA0"
       "ab"] = 257;
  vocab["<|endoftext|>"] = 258;
  auto tok = Tokenizer::FromVocabMergesText(vocab.dump(), "v", "a b\n\xC4\xA0 ab\n", "m");
  ASSERT_TRUE(tok.ok()) << tok.status();
  std::mt19937 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text(rng() % 64, '\0');
    for (char& c : text)
      c = static_cast<char>(trial % 2 ? rng() % 256 : "ab \xC3\xA9\xFF<|endoftext|>"[rng() % 19]);
    const std::vector<int32_t> ids = (*tok)->Encode(text);
    const absl::StatusOr<std::string> back = (*tok)->Decode(ids);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, text);
  }
  EXPECT_EQ((*tok)->Encode(" ab<|endoftext|>"), (std::vector<int32_t>{257, 258}));
}

}  // namespace
}  // namespace brain::tokenizer
