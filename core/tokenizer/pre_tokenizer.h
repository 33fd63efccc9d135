// Pre-tokenisation: splitting text into the pieces BPE runs on, with hand-written scanners for the
// known GPT-2 and Llama-3 split regexes (no regex engine, nothing compiled per call).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace brain::tokenizer {

enum class SplitPattern {
  kNone,    // the whole piece is one pre-token
  kGpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,  // (?i:'s|...|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|...
  kQwen2,   // kLlama3 with \p{N} (single digits) instead of \p{N}{1,3}
};

// The regex source text of a pattern (empty for kNone).
absl::string_view PatternRegex(SplitPattern pattern);

// The pattern whose regex source is exactly `regex`, or nullopt when it is not one of the known ones.
std::optional<SplitPattern> RecognizePattern(absl::string_view regex);

// The end (byte offset) of the pre-token that starts at `pos` < text.size(); always > pos. Matches the
// regex's leftmost-first alternation exactly; invalid UTF-8 bytes count as punctuation ([^\s\p{L}\p{N}]).
size_t NextPreTokenEnd(SplitPattern pattern, absl::string_view text, size_t pos);

// One step of a pre-tokeniser sequence (an HF Split(Isolated) or ByteLevel pre-tokenizer).
struct PreTokenizerStage {
  SplitPattern pattern = SplitPattern::kNone;
  bool add_prefix_space = false;  // prepend ' ' to each incoming piece that does not start with one
};

class PreTokenizer {
 public:
  static constexpr size_t kMaxStages = 4;

  PreTokenizer() = default;
  // At most kMaxStages stages (checked by the loaders).
  explicit PreTokenizer(std::vector<PreTokenizerStage> stages) : stages_(std::move(stages)) {}

  // Calls fn(absl::string_view piece) for each pre-token of `text`, in order. A piece may point into
  // `text` or into a buffer that lives until fn returns.
  template <typename Fn>
  void ForEach(absl::string_view text, Fn&& fn) const {
    std::string scratch[kMaxStages];
    Run(0, text, fn, scratch);
  }

  // The pre-tokens as strings (for tests and tools).
  std::vector<std::string> Split(absl::string_view text) const;

  const std::vector<PreTokenizerStage>& stages() const { return stages_; }

 private:
  template <typename Fn>
  void Run(size_t stage, absl::string_view piece, Fn& fn, std::string* scratch) const {
    if (stage == stages_.size()) {
      if (!piece.empty()) fn(piece);
      return;
    }
    const PreTokenizerStage& s = stages_[stage];
    if (s.add_prefix_space && (piece.empty() || piece[0] != ' ')) {
      scratch[stage].assign(1, ' ');
      scratch[stage].append(piece.data(), piece.size());
      piece = scratch[stage];
    }
    if (s.pattern == SplitPattern::kNone) {
      Run(stage + 1, piece, fn, scratch);
      return;
    }
    for (size_t pos = 0; pos < piece.size();) {
      const size_t end = NextPreTokenEnd(s.pattern, piece, pos);
      Run(stage + 1, piece.substr(pos, end - pos), fn, scratch);
      pos = end;
    }
  }

  std::vector<PreTokenizerStage> stages_;
};

}  // namespace brain::tokenizer
