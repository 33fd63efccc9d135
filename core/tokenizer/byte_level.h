// GPT-2's byte <-> unicode mapping: every byte gets a printable code point so BPE vocabularies are text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace brain::tokenizer {

// The code point that stands for `byte`: printable bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF)
// stand for themselves; the other 68 bytes map, in byte order, to U+0100, U+0101, ...
char32_t ByteToCodePoint(uint8_t byte);

// The inverse of ByteToCodePoint, or nullopt for a code point that stands for no byte.
std::optional<uint8_t> CodePointToByte(char32_t cp);

// The byte-level (mapped) form of raw bytes: "Hello world" -> "HelloĠworld".
std::string BytesToByteLevel(absl::string_view bytes);

// The raw bytes of a byte-level string, or nullopt when a character is not a mapped byte (or the
// string is not valid UTF-8).
std::optional<std::string> ByteLevelToBytes(absl::string_view text);

}  // namespace brain::tokenizer
