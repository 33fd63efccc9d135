// Helpers for the tokenizer tests: temporary files and a tiny hand-made byte-level BPE.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace brain::tokenizer::testing_util {

// Writes `content` to a fresh file under the gtest temp dir and returns its path.
inline std::string WriteTempFile(const std::string& name, const std::string& content) {
  static int counter = 0;
  const std::string dir =
      ::testing::TempDir() + "/brain_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// A tokenizer.json with vocab {a b c ab bc abc Ġ Ġa <|eot|>} and merges a+b, b+c, ab+c, Ġ+a (in that
// rank order); `merges` and `pre_tokenizer` can be replaced to build broken variants.
inline std::string TinyTokenizerJson(
    const std::string& merges = R"(["a b", ["b", "c"], "ab c", "Ġ a"])",
    const std::string& pre_tokenizer =
        R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})") {
  return R"({"version": "1.0", "normalizer": null,
  "added_tokens": [{"id": 9, "content": "<|eot|>", "special": true, "single_word": false,
                    "lstrip": false, "rstrip": false, "normalized": false}],
  "pre_tokenizer": )" +
         pre_tokenizer + R"(,
  "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
            "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "Ġ": 6, "Ġa": 7, "!": 8},
            "merges": )" +
         merges + R"(}})";
}

}  // namespace brain::tokenizer::testing_util
