// UTF-8 decoding and code point classification from the generated Unicode range tables.
#include "core/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <string>

namespace brain::tokenizer {
namespace {

struct CodePointRange {
  char32_t lo;
  char32_t hi;
};

#include "core/tokenizer/unicode_tables.inc"

template <size_t N>
bool InRanges(const CodePointRange (&ranges)[N], char32_t cp) {
  const CodePointRange* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                              [](char32_t c, const CodePointRange& r) { return c < r.lo; });
  return it != std::begin(ranges) && cp <= (it - 1)->hi;
}

bool IsWhiteSpace(char32_t cp) {
  // Unicode PropList.txt White_Space (unchanged since Unicode 6.3).
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

CharClass ClassifySlow(char32_t cp) {
  if (IsWhiteSpace(cp)) return CharClass::kWhitespace;
  if (InRanges(kLetterRanges, cp)) return CharClass::kLetter;
  if (InRanges(kNumberRanges, cp)) return CharClass::kNumber;
  return CharClass::kOther;
}

// Classes of the 256 code points below U+0100 (ASCII and Latin-1), the hot path.
const std::array<CharClass, 256>& Latin1Classes() {
  static const std::array<CharClass, 256> table = [] {
    std::array<CharClass, 256> t{};
    for (char32_t cp = 0; cp < 256; ++cp) t[cp] = ClassifySlow(cp);
    return t;
  }();
  return table;
}

}  // namespace

const char* UnicodeTableVersion() { return kUnicodeVersion; }

CharClass ClassifyCodePoint(char32_t cp) {
  if (cp < 256) return Latin1Classes()[cp];
  return ClassifySlow(cp);
}

namespace internal {

Utf8Char DecodeUtf8Multibyte(absl::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const unsigned char b0 = s[pos];
  const Utf8Char invalid{0xFFFD, 1, CharClass::kOther};
  size_t len;
  char32_t cp;
  char32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return invalid;
  }
  if (pos + len > n) return invalid;
  for (size_t i = 1; i < len; ++i) {
    const unsigned char b = s[pos + i];
    if ((b & 0xC0) != 0x80) return invalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid;
  return {cp, static_cast<uint8_t>(len), ClassifyCodePoint(cp)};
}

}  // namespace internal

bool IsValidUtf8(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = DecodeUtf8(text, pos);
    if (c.code_point == 0xFFFD && c.length == 1 && static_cast<unsigned char>(text[pos]) >= 0x80)
      return false;
    pos += c.length;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace brain::tokenizer
