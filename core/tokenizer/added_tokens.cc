// Leftmost-longest matching of added tokens, indexed by their first byte.
#include "core/tokenizer/added_tokens.h"

#include <algorithm>

#include "core/tokenizer/unicode.h"

namespace brain::tokenizer {

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) {
  tokens.erase(
      std::remove_if(tokens.begin(), tokens.end(), [](const AddedToken& t) { return t.content.empty(); }),
      tokens.end());
  std::stable_sort(tokens.begin(), tokens.end(), [](const AddedToken& a, const AddedToken& b) {
    const auto fa = static_cast<unsigned char>(a.content[0]);
    const auto fb = static_cast<unsigned char>(b.content[0]);
    return fa != fb ? fa < fb : a.content.size() > b.content.size();
  });
  tokens_ = std::move(tokens);
  size_t i = 0;
  for (int b = 0; b <= 256; ++b) {
    while (i < tokens_.size() && static_cast<unsigned char>(tokens_[i].content[0]) < b) ++i;
    first_[b] = static_cast<uint32_t>(i);
  }
}

const AddedToken* AddedTokenMatcher::MatchAt(absl::string_view text, size_t pos) const {
  const auto b = static_cast<unsigned char>(text[pos]);
  for (uint32_t i = first_[b]; i < first_[b + 1]; ++i) {
    const std::string& c = tokens_[i].content;
    if (text.size() - pos >= c.size() && text.compare(pos, c.size(), c) == 0) return &tokens_[i];
  }
  return nullptr;
}

size_t AddedTokenMatcher::StripLeft(absl::string_view text, size_t floor, size_t start) {
  // Walk back over whitespace characters (decoding forward from candidate starts keeps UTF-8 intact).
  while (start > floor) {
    size_t p = start - 1;
    while (p > floor && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80 && start - p < 4) --p;
    const Utf8Char c = DecodeUtf8(text, p);
    if (p + c.length != start || c.char_class != CharClass::kWhitespace) break;
    start = p;
  }
  return start;
}

size_t AddedTokenMatcher::StripRight(absl::string_view text, size_t end) {
  while (end < text.size()) {
    const Utf8Char c = DecodeUtf8(text, end);
    if (c.char_class != CharClass::kWhitespace) break;
    end += c.length;
  }
  return end;
}

}  // namespace brain::tokenizer
