// Tokenizer: byte-level BPE (GPT-2 / Llama-3 style) with added tokens, pre-tokeniser and decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/tokenizer/added_tokens.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/pre_tokenizer.h"

namespace brain::tokenizer {

struct SpecialTokenIds {
  std::optional<int32_t> bos;
  std::optional<int32_t> eos;
  std::optional<int32_t> pad;
};

class Tokenizer {
 public:
  // Special ids not given are guessed from the special added tokens by their usual names
  // (<|begin_of_text|>, <s>, <|endoftext|>, ... ).
  Tokenizer(BpeModel model, PreTokenizer pre_tokenizer, std::vector<AddedToken> added_tokens,
            SpecialTokenIds special_ids = {});

  // Loads DIR/tokenizer.json, else DIR/vocab.json + DIR/merges.txt; DIR/tokenizer_config.json, when
  // present, names the BOS/EOS/pad tokens. Errors name the file, the JSON field or line, and the reason.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromDirectory(const std::string& dir);
  // A Hugging Face tokenizer.json (model BPE, ByteLevel decoder). The Text variants parse in-memory
  // contents; `source` (e.g. the path) names them in errors.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromTokenizerJson(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromTokenizerJsonText(absl::string_view json,
                                                                          const std::string& source);
  // GPT-2's vocab.json + merges.txt (GPT-2 pre-tokenisation, <|endoftext|> special when in the vocab).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromVocabMerges(const std::string& vocab_path,
                                                                    const std::string& merges_path);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromVocabMergesText(absl::string_view vocab_json,
                                                                        const std::string& vocab_source,
                                                                        absl::string_view merges_text,
                                                                        const std::string& merges_source);

  // Token ids of `text` (raw bytes, normally UTF-8). No BOS/EOS is added. Bytes that are not valid
  // UTF-8 are tokenised byte-wise as punctuation, so Decode(Encode(s)) == s for every byte string.
  // Thread-safe (calls are serialised on the merge cache).
  std::vector<int32_t> Encode(absl::string_view text) const;
  void EncodeTo(absl::string_view text, std::vector<int32_t>* ids) const;

  // The bytes the ids stand for. An unknown id is an InvalidArgument error naming its index.
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> TokenToId(absl::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  // One past the largest id (model vocabulary and added tokens).
  int32_t vocab_size() const { return static_cast<int32_t>(decoded_.size()); }
  std::optional<int32_t> bos_id() const { return special_ids_.bos; }
  std::optional<int32_t> eos_id() const { return special_ids_.eos; }
  std::optional<int32_t> pad_id() const { return special_ids_.pad; }
  void set_special_ids(const SpecialTokenIds& ids) { special_ids_ = ids; }
  const PreTokenizer& pre_tokenizer() const { return pre_tokenizer_; }
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }

 private:
  enum class Kind : uint8_t { kUnassigned, kModel, kAdded, kSpecial };

  BpeModel model_;  // its merge cache is guarded by mu_
  PreTokenizer pre_tokenizer_;
  AddedTokenMatcher added_;
  SpecialTokenIds special_ids_;
  std::vector<std::string> decoded_;  // bytes of each id
  std::vector<Kind> kind_;
  mutable absl::Mutex mu_;
};

}  // namespace brain::tokenizer
