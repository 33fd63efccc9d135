// libFuzzer target: tokenizer.json and vocab.json + merges.txt loading, then encode/decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "core/tokenizer/tokenizer.h"

// Byte 0 picks the format. tokenizer.json: the rest is the file. vocab/merges: the rest is
// "vocab.json \0 merges.txt". A tokenizer that loads must encode and decode without failing on its own
// ids, and ids must be below vocab_size().
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<std::unique_ptr<brain::tokenizer::Tokenizer>> tok;
  if (data[0] % 2 == 0) {
    tok = brain::tokenizer::Tokenizer::FromTokenizerJsonText(rest, "fuzz/tokenizer.json");
  } else {
    const size_t split = rest.find('\0');
    const absl::string_view vocab = rest.substr(0, split);
    const absl::string_view merges = split == absl::string_view::npos ? "" : rest.substr(split + 1);
    tok = brain::tokenizer::Tokenizer::FromVocabMergesText(vocab, "fuzz/vocab.json", merges, "fuzz/merges.txt");
  }
  if (!tok.ok()) return 0;
  const auto ids = (*tok)->Encode(rest.substr(0, 256));
  for (int32_t id : ids) {
    if (id < 0 || id >= (*tok)->vocab_size()) std::abort();
  }
  auto decoded = (*tok)->Decode(ids);
  if (!decoded.ok()) std::abort();
  return 0;
}
