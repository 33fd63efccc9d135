// Added (and special) tokens: matched verbatim in the text and split out before pre-tokenisation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace brain::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;  // the match also swallows whitespace on its left
  bool rstrip = false;  // ... and on its right
};

// Finds added tokens in text: leftmost match first, the longest one at that position.
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Splits `text` into runs of ordinary text (on_text(absl::string_view), never empty) and added tokens
  // (on_token(const AddedToken&)), in order.
  template <typename OnText, typename OnToken>
  void Split(absl::string_view text, OnText&& on_text, OnToken&& on_token) const {
    size_t done = 0;  // text before `done` has been emitted
    size_t pos = 0;
    while (!tokens_.empty() && pos < text.size()) {
      const auto b = static_cast<unsigned char>(text[pos]);
      const AddedToken* match = first_[b] == first_[b + 1] ? nullptr : MatchAt(text, pos);
      if (match == nullptr) {
        ++pos;
        continue;
      }
      size_t start = pos;
      size_t end = pos + match->content.size();
      if (match->lstrip) start = StripLeft(text, done, start);
      if (match->rstrip) end = StripRight(text, end);
      if (start > done) on_text(text.substr(done, start - done));
      on_token(*match);
      done = pos = end;
    }
    if (done < text.size()) on_text(text.substr(done));
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // The longest token whose content starts at text[pos], or nullptr.
  const AddedToken* MatchAt(absl::string_view text, size_t pos) const;
  static size_t StripLeft(absl::string_view text, size_t floor, size_t start);
  static size_t StripRight(absl::string_view text, size_t end);

  std::vector<AddedToken> tokens_;  // sorted by first byte, then by decreasing length
  uint32_t first_[257] = {};        // tokens_[first_[b], first_[b + 1]) start with byte b
};

}  // namespace brain::tokenizer
