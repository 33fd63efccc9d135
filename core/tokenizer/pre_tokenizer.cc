// Hand-written scanners equivalent to the GPT-2 and Llama-3 pre-tokenisation regexes.
#include "core/tokenizer/pre_tokenizer.h"

#include "core/tokenizer/unicode.h"

namespace brain::tokenizer {
namespace {

constexpr absl::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr absl::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*)"
    R"(|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr absl::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*)"
    R"(|\s*[\r\n]+|\s+(?!\S)|\s+)";

// End of the maximal run of characters of class `cls` starting at `pos` (at most `max_chars` of them).
size_t RunEnd(absl::string_view t, size_t pos, CharClass cls, size_t max_chars = static_cast<size_t>(-1)) {
  size_t count = 0;
  while (pos < t.size() && count < max_chars) {
    const Utf8Char c = DecodeUtf8(t, pos);
    if (c.char_class != cls) break;
    pos += c.length;
    ++count;
  }
  return pos;
}

// \s+(?!\S)|\s+ at a whitespace character: the whole run at the end of the text or when it is a single
// character, else the run minus its last character (which then prefixes the following word).
size_t WhitespaceEnd(absl::string_view t, size_t pos) {
  size_t last_start = pos;
  size_t end = pos;
  size_t count = 0;
  while (end < t.size()) {
    const Utf8Char c = DecodeUtf8(t, end);
    if (c.char_class != CharClass::kWhitespace) break;
    last_start = end;
    end += c.length;
    ++count;
  }
  if (end == t.size() || count == 1) return end;
  return last_start;
}

// 's|'t|'re|'ve|'m|'ll|'d at pos (t[pos] == '\''); 0 when none matches. `fold` makes it case-insensitive
// with Unicode simple case folding (so U+017F LATIN SMALL LETTER LONG S matches 's' too).
size_t ContractionEnd(absl::string_view t, size_t pos, bool fold) {
  const size_t n = t.size();
  if (pos + 1 >= n) return 0;
  auto lower = [fold](char c) { return fold && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  const char c1 = lower(t[pos + 1]);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
  if (fold && t.substr(pos + 1, 2) == "\xC5\xBF") return pos + 3;  // 'ſ
  if (pos + 2 < n) {
    const char c2 = lower(t[pos + 2]);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
  }
  return 0;
}

size_t Gpt2End(absl::string_view t, size_t pos) {
  if (t[pos] == '\'') {
    if (size_t end = ContractionEnd(t, pos, /*fold=*/false)) return end;
  }
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
  size_t start = pos;
  Utf8Char first = DecodeUtf8(t, pos);
  if (t[pos] == ' ' && pos + 1 < t.size()) {
    const Utf8Char next = DecodeUtf8(t, pos + 1);
    if (next.char_class != CharClass::kWhitespace) start = pos + 1, first = next;
  }
  if (first.char_class != CharClass::kWhitespace) return RunEnd(t, start, first.char_class);
  return WhitespaceEnd(t, pos);
}

bool IsCrLf(char32_t cp) { return cp == '\r' || cp == '\n'; }

size_t Llama3End(absl::string_view t, size_t pos, size_t max_digits) {
  if (t[pos] == '\'') {
    if (size_t end = ContractionEnd(t, pos, /*fold=*/true)) return end;
  }
  const Utf8Char c0 = DecodeUtf8(t, pos);
  const size_t p1 = pos + c0.length;
  const bool has_next = p1 < t.size();
  const Utf8Char c1 = has_next ? DecodeUtf8(t, p1) : Utf8Char{0, 0, CharClass::kOther};
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.char_class == CharClass::kLetter) return RunEnd(t, pos, CharClass::kLetter);
  if (c0.char_class != CharClass::kNumber && !IsCrLf(c0.code_point) && has_next &&
      c1.char_class == CharClass::kLetter) {
    return RunEnd(t, p1, CharClass::kLetter);
  }
  // \p{N}{1,3}
  if (c0.char_class == CharClass::kNumber) return RunEnd(t, pos, CharClass::kNumber, max_digits);
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t start = 0;
  if (c0.char_class == CharClass::kOther) {
    start = pos;
  } else if (c0.code_point == ' ' && has_next && c1.char_class == CharClass::kOther) {
    start = p1;
  } else {
    start = static_cast<size_t>(-1);
  }
  if (start != static_cast<size_t>(-1)) {
    size_t end = RunEnd(t, start, CharClass::kOther);
    while (end < t.size() && (t[end] == '\r' || t[end] == '\n')) ++end;
    return end;
  }
  // c0 is whitespace. \s*[\r\n]+ : up to the last CR/LF of the whitespace run, if it has one.
  size_t after_last_newline = 0;
  for (size_t p = pos; p < t.size();) {
    const Utf8Char c = DecodeUtf8(t, p);
    if (c.char_class != CharClass::kWhitespace) break;
    p += c.length;
    if (IsCrLf(c.code_point)) after_last_newline = p;
  }
  if (after_last_newline != 0) return after_last_newline;
  return WhitespaceEnd(t, pos);
}

}  // namespace

absl::string_view PatternRegex(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::kGpt2:
      return kGpt2Regex;
    case SplitPattern::kLlama3:
      return kLlama3Regex;
    case SplitPattern::kQwen2:
      return kQwen2Regex;
    case SplitPattern::kNone:
      break;
  }
  return {};
}

std::optional<SplitPattern> RecognizePattern(absl::string_view regex) {
  for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kLlama3, SplitPattern::kQwen2}) {
    if (regex == PatternRegex(p)) return p;
  }
  return std::nullopt;
}

size_t NextPreTokenEnd(SplitPattern pattern, absl::string_view text, size_t pos) {
  switch (pattern) {
    case SplitPattern::kGpt2:
      return Gpt2End(text, pos);
    case SplitPattern::kLlama3:
      return Llama3End(text, pos, 3);
    case SplitPattern::kQwen2:
      return Llama3End(text, pos, 1);
    case SplitPattern::kNone:
      break;
  }
  return text.size();
}

std::vector<std::string> PreTokenizer::Split(absl::string_view text) const {
  std::vector<std::string> out;
  ForEach(text, [&out](absl::string_view piece) { out.emplace_back(piece); });
  return out;
}

}  // namespace brain::tokenizer
