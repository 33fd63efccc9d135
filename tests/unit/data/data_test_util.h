// Shared fixtures of the data tests: the GPT-2 tokenizer from ../shared/data/gpt2 and config helpers.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/tokenizer/tokenizer.h"
#include "proto/config.pb.h"

namespace brain::data::testing {

inline const tokenizer::Tokenizer& Gpt2() {
  static const tokenizer::Tokenizer* const tok = [] {
    auto loaded = tokenizer::Tokenizer::FromDirectory(BRAIN_SOURCE_DIR "/../shared/data/gpt2");
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      std::abort();
    }
    return loaded->release();
  }();
  return *tok;
}

// GPT-2's <|endoftext|>.
constexpr int32_t kEos = 50256;

inline config::DataConfig Config(config::BadLinePolicy policy = config::FAIL) {
  config::DataConfig c;
  c.set_bad_lines(policy);
  return c;
}

}  // namespace brain::data::testing
