// UTF-8 decoding and the code point classes the pre-tokeniser patterns need (\p{L}, \p{N}, \s).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace brain::tokenizer {

enum class CharClass : uint8_t {
  kLetter,      // general category L
  kNumber,      // general category N
  kWhitespace,  // the Unicode White_Space property (what \s matches in Oniguruma)
  kOther,       // anything else, including bytes that are not valid UTF-8
};

// One decoded character of a UTF-8 string.
struct Utf8Char {
  char32_t code_point;  // for an invalid byte: 0xFFFD
  uint8_t length;       // bytes consumed (1..4); an invalid byte consumes exactly 1
  CharClass char_class;
};

// The Unicode version of the letter/number tables ("14.0.0").
const char* UnicodeTableVersion();

// The class of a code point.
CharClass ClassifyCodePoint(char32_t cp);

namespace internal {

constexpr std::array<CharClass, 128> MakeAsciiClasses() {
  std::array<CharClass, 128> t{};
  for (unsigned c = 0; c < 128; ++c) {
    const unsigned lower = c | 0x20;
    t[c] = (c >= 9 && c <= 13) || c == ' ' ? CharClass::kWhitespace
           : c >= '0' && c <= '9'         ? CharClass::kNumber
           : lower >= 'a' && lower <= 'z' ? CharClass::kLetter
                                          : CharClass::kOther;
  }
  return t;
}
inline constexpr std::array<CharClass, 128> kAsciiClasses = MakeAsciiClasses();

// DecodeUtf8 for a lead byte >= 0x80.
Utf8Char DecodeUtf8Multibyte(absl::string_view text, size_t pos);

}  // namespace internal

// Decodes the character starting at text[pos] (pos < text.size()). Invalid UTF-8 (bad lead or
// continuation byte, overlong form, surrogate, > U+10FFFF, truncated sequence) yields a single-byte
// character of class kOther, so every byte of the input belongs to exactly one character.
inline Utf8Char DecodeUtf8(absl::string_view text, size_t pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {b, 1, internal::kAsciiClasses[b]};  // the hot path, inlined
  return internal::DecodeUtf8Multibyte(text, pos);
}

// True when `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value) to `out`.
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace brain::tokenizer
