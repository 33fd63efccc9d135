// libFuzzer target: the JSONL dataset readers (prompts, demonstrations, preference pairs) on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/data/datasets.h"
#include "core/tokenizer/tokenizer.h"

namespace {

// A byte-level tokenizer (256 byte tokens + <|endoftext|>), built once.
const brain::tokenizer::Tokenizer& ByteTokenizer() {
  static const brain::tokenizer::Tokenizer* tok = [] {
    std::string vocab = "{";
    // GPT-2's byte -> printable character table, spelled as JSON \u escapes.
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : next++;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "\"\\u%04x\":%d,", cp, b);
      vocab += buf;
    }
    vocab += "\"<|endoftext|>\":256}";
    auto t = brain::tokenizer::Tokenizer::FromVocabMergesText(vocab, "vocab.json", "#version: 0.2\n", "merges.txt");
    if (!t.ok()) std::abort();
    return t->release();
  }();
  return *tok;
}

}  // namespace

// Byte 0 picks the reader, the bad-line policy and the optional fields; the rest is the file.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  brain::config::DataConfig config;
  config.set_max_prompt_tokens(1 + data[0] % 7);
  config.set_max_response_tokens(2 + data[0] % 5);
  config.set_bad_lines((data[0] & 8) ? brain::config::SKIP_AND_COUNT : brain::config::FAIL);
  if (data[0] & 16) config.set_margin_field("margin");
  if (data[0] & 32) config.set_reference_field("reference");
  const auto& tok = ByteTokenizer();
  switch ((data[0] >> 6) % 3) {
    case 0: {
      auto d = brain::data::ParsePrompts(text, "fuzz.jsonl", config, tok);
      if (d.ok()) {
        for (const auto& e : d->examples) {
          if (e.prompt_ids.size() > static_cast<size_t>(config.max_prompt_tokens())) std::abort();
        }
      }
      break;
    }
    case 1: {
      auto d = brain::data::ParseDemonstrations(text, "fuzz.jsonl", config, tok);
      (void)d;
      break;
    }
    default: {
      auto d = brain::data::ParsePreferences(text, "fuzz.jsonl", config, tok);
      (void)d;
      break;
    }
  }
  return 0;
}
