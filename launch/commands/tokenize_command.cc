// `brain tokenize`: encode stdin lines (JSON strings) to id arrays, or decode.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/tokenizer/tokenizer.h"
#include "launch/commands/commands.h"

namespace brain::cli {
namespace {

// One input line to one output line; an error message (without the line number) on bad input.
absl::StatusOr<std::string> EncodeLine(const tokenizer::Tokenizer& tok, const std::string& line) {
  nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_string()) {
    return absl::InvalidArgumentError("expected a JSON string (with valid UTF-8)");
  }
  const std::vector<int32_t> ids = tok.Encode(value.get_ref<const std::string&>());
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? "," : "", ids[i]);
  out += "]";
  return out;
}

absl::StatusOr<std::string> DecodeLine(const tokenizer::Tokenizer& tok, const std::string& line) {
  nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_array())
    return absl::InvalidArgumentError("expected a JSON array of ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& v = value[i];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("element ", i, " is not a non-negative integer id"));
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  absl::StatusOr<std::string> text = tok.Decode(ids);
  if (!text.ok()) return text.status();
  // Bytes that are not valid UTF-8 (ids that split a character) print as U+FFFD, as `tokenizers` does.
  return nlohmann::json(*text).dump(-1, ' ', /*ensure_ascii=*/false,
                                    nlohmann::json::error_handler_t::replace);
}

}  // namespace

Subcommand TokenizeCommand() {
  Subcommand cmd;
  cmd.name = "tokenize";
  cmd.summary = "encode stdin lines (JSON strings) to id arrays, or decode";
  cmd.description =
      "Loads DIR/tokenizer.json (or DIR/vocab.json + DIR/merges.txt) and reads stdin line by line.\n"
      "Each input line is a JSON string; each output line is the JSON array of its token ids (no\n"
      "BOS/EOS added). With --decode, each input line is a JSON array of ids and each output line the\n"
      "decoded JSON string. A bad line stops with an error naming its line number (exit status 1).";
  cmd.usage = "brain tokenize --tokenizer DIR [--decode] < lines.jsonl";
  cmd.options = {{"tokenizer", "DIR", "directory with tokenizer.json or vocab.json+merges.txt", false, true},
                 {"decode", "", "read id arrays and print strings"}};
  cmd.run = [](const ParsedArgs& args) {
    auto tok = tokenizer::Tokenizer::FromDirectory(args.Get("tokenizer"));
    if (!tok.ok()) {
      std::fprintf(stderr, "brain tokenize: %s\n", std::string(tok.status().message()).c_str());
      return kExitFailure;
    }
    const bool decode = args.Has("decode");
    std::ios::sync_with_stdio(false);
    std::string line;
    for (int64_t line_number = 1; std::getline(std::cin, line); ++line_number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      absl::StatusOr<std::string> out = decode ? DecodeLine(**tok, line) : EncodeLine(**tok, line);
      if (!out.ok()) {
        std::fflush(stdout);
        std::fprintf(stderr, "brain tokenize: stdin:%lld: %s\n", static_cast<long long>(line_number),
                     std::string(out.status().message()).c_str());
        return kExitFailure;
      }
      out->push_back('\n');
      std::fwrite(out->data(), 1, out->size(), stdout);
    }
    return kExitOk;
  };
  return cmd;
}

}  // namespace brain::cli
