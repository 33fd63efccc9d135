// GPT-2's byte <-> unicode mapping (tables built once).
#include "core/tokenizer/byte_level.h"

#include <array>

#include "core/tokenizer/unicode.h"

namespace brain::tokenizer {
namespace {

struct ByteTables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // code points 0..323 cover every image; -1 = none
  std::array<std::string, 256> utf8;   // UTF-8 of to_cp[b]
};

bool StandsForItself(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

const ByteTables& Tables() {
  static const ByteTables tables = [] {
    ByteTables t;
    t.to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      t.to_cp[b] = StandsForItself(b) ? static_cast<char32_t>(b) : next++;
      t.to_byte[t.to_cp[b]] = static_cast<int16_t>(b);
      AppendUtf8(t.to_cp[b], &t.utf8[b]);
    }
    return t;
  }();
  return tables;
}

}  // namespace

char32_t ByteToCodePoint(uint8_t byte) { return Tables().to_cp[byte]; }

std::optional<uint8_t> CodePointToByte(char32_t cp) {
  if (cp >= Tables().to_byte.size() || Tables().to_byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(Tables().to_byte[cp]);
}

std::string BytesToByteLevel(absl::string_view bytes) {
  const ByteTables& t = Tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += t.utf8[b];
  return out;
}

std::optional<std::string> ByteLevelToBytes(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = DecodeUtf8(text, pos);
    const bool invalid = c.length == 1 && static_cast<unsigned char>(text[pos]) >= 0x80;
    std::optional<uint8_t> b = invalid ? std::nullopt : CodePointToByte(c.code_point);
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    pos += c.length;
  }
  return out;
}

}  // namespace brain::tokenizer
