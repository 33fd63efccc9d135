// Tests of UTF-8 decoding, code point classes and GPT-2's byte <-> unicode mapping.
#include "core/tokenizer/unicode.h"

#include "core/tokenizer/byte_level.h"
#include "gtest/gtest.h"

namespace brain::tokenizer {
namespace {

TEST(UnicodeTest, ClassifiesLettersNumbersWhitespace) {
  EXPECT_EQ(ClassifyCodePoint('a'), CharClass::kLetter);
  EXPECT_EQ(ClassifyCodePoint(0xE9), CharClass::kLetter);    // é
  EXPECT_EQ(ClassifyCodePoint(0x4E2D), CharClass::kLetter);  // 中 (Lo)
  EXPECT_EQ(ClassifyCodePoint(0x3042), CharClass::kLetter);  // あ
  EXPECT_EQ(ClassifyCodePoint(0x02B0), CharClass::kLetter);  // ʰ (Lm)
  EXPECT_EQ(ClassifyCodePoint('7'), CharClass::kNumber);
  EXPECT_EQ(ClassifyCodePoint(0xB2), CharClass::kNumber);    // ² (No)
  EXPECT_EQ(ClassifyCodePoint(0x2160), CharClass::kNumber);  // Ⅰ (Nl)
  EXPECT_EQ(ClassifyCodePoint(0x0663), CharClass::kNumber);  // Arabic-Indic three (Nd)
  EXPECT_EQ(ClassifyCodePoint(' '), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodePoint('\n'), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodePoint(0xA0), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodePoint(0x3000), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodePoint(0x85), CharClass::kWhitespace);
  EXPECT_EQ(ClassifyCodePoint(0x1C), CharClass::kOther);    // not White_Space (unlike str.isspace)
  EXPECT_EQ(ClassifyCodePoint(0x200B), CharClass::kOther);  // zero width space is Cf
  EXPECT_EQ(ClassifyCodePoint('!'), CharClass::kOther);
  EXPECT_EQ(ClassifyCodePoint(0x1F600), CharClass::kOther);  // 😀
  EXPECT_EQ(ClassifyCodePoint(0x0301), CharClass::kOther);   // combining acute (Mn)
  EXPECT_EQ(ClassifyCodePoint(0x10FFFF), CharClass::kOther);
}

TEST(UnicodeTest, AsciiFastPathAgreesWithTables) {
  for (int c = 0; c < 128; ++c) {
    EXPECT_EQ(DecodeUtf8(std::string(1, static_cast<char>(c)), 0).char_class, ClassifyCodePoint(c)) << c;
  }
}

TEST(UnicodeTest, DecodesValidSequences) {
  const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
  Utf8Char c = DecodeUtf8(s, 0);
  EXPECT_EQ(c.code_point, U'a');
  EXPECT_EQ(c.length, 1);
  c = DecodeUtf8(s, 1);
  EXPECT_EQ(c.code_point, 0xE9u);
  EXPECT_EQ(c.length, 2);
  c = DecodeUtf8(s, 3);
  EXPECT_EQ(c.code_point, 0x4E2Du);
  EXPECT_EQ(c.length, 3);
  c = DecodeUtf8(s, 6);
  EXPECT_EQ(c.code_point, 0x1F600u);
  EXPECT_EQ(c.length, 4);
  EXPECT_TRUE(IsValidUtf8(s));
}

TEST(UnicodeTest, InvalidBytesAreSingleOtherCharacters) {
  for (const std::string bad :
       {"\x80", "\xC0\x80", "\xC3", "\xE4\xB8", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\xF0\x9F\x98"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad.size();
    const Utf8Char c = DecodeUtf8(bad, 0);
    EXPECT_EQ(c.length, 1);
    EXPECT_EQ(c.char_class, CharClass::kOther);
  }
}

TEST(ByteLevelTest, MatchesGpt2Mapping) {
  // Known points of GPT-2's bytes_to_unicode(): printable bytes map to themselves, the rest to 256+k.
  EXPECT_EQ(ByteToCodePoint('A'), U'A');
  EXPECT_EQ(ByteToCodePoint('!'), U'!');
  EXPECT_EQ(ByteToCodePoint(0), 0x100u);
  EXPECT_EQ(ByteToCodePoint(' '), 0x120u);   // Ġ
  EXPECT_EQ(ByteToCodePoint('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(ByteToCodePoint(0x7F), 0x121u);
  EXPECT_EQ(ByteToCodePoint(0xA0), 0x142u);
  EXPECT_EQ(ByteToCodePoint(0xAD), 0x143u);
  EXPECT_EQ(ByteToCodePoint(0xAE), 0xAEu);
  EXPECT_EQ(ByteToCodePoint(0xFF), 0xFFu);
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(CodePointToByte(ByteToCodePoint(static_cast<uint8_t>(b))), b);
  }
  EXPECT_EQ(CodePointToByte(0x144), std::nullopt);
  EXPECT_EQ(CodePointToByte(' '), std::nullopt);
}

TEST(ByteLevelTest, StringRoundTrip) {
  EXPECT_EQ(BytesToByteLevel("Hello world\n"), "Hello\xC4\xA0world\xC4\x8A");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(ByteLevelToBytes(BytesToByteLevel(all)), all);
  EXPECT_EQ(ByteLevelToBytes("a b"), std::nullopt);   // a raw space is not a mapped byte
  EXPECT_EQ(ByteLevelToBytes("\xC4"), std::nullopt);  // truncated UTF-8
}

}  // namespace
}  // namespace brain::tokenizer
