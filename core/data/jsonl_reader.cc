// JSONL line iteration with located errors and the fail / skip-and-count policy.
#include "core/data/jsonl_reader.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizer/load_util.h"

namespace brain::data {
namespace {

bool IsBlank(absl::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

// The parser's reason without nlohmann's "[json.exception.parse_error.101] parse error at line 1, ..."
// prefix, which would repeat (wrongly) the location.
absl::string_view StripPrefix(absl::string_view what) {
  if (absl::StartsWith(what, "[json.exception.")) {
    const size_t end = what.find("] ");
    if (end != absl::string_view::npos) what.remove_prefix(end + 2);
  }
  return what;
}

std::string ParseErrorReason(const nlohmann::json::parse_error& e) {
  absl::string_view what = e.what();
  const size_t colon = what.find(": ");
  if (colon != absl::string_view::npos) what.remove_prefix(colon + 2);
  return absl::StrCat("invalid JSON at column ", e.byte, ": ", what);
}

}  // namespace

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a JSONL file"));
  }
  return tokenizer::internal::ReadFile(path);
}

absl::Status ForEachJsonlObject(absl::string_view text, const std::string& source,
                                config::BadLinePolicy policy, const JsonlObjectHandler& handler,
                                BadLineReport* report) {
  const bool skip = policy == config::SKIP_AND_COUNT;
  if (skip && report == nullptr) {
    return absl::InvalidArgumentError("ForEachJsonlObject: SKIP_AND_COUNT needs a report");
  }
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == absl::string_view::npos) end = text.size();
    absl::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (IsBlank(line)) continue;

    absl::Status status;
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line.begin(), line.end());
    } catch (const nlohmann::json::parse_error& e) {
      status = absl::InvalidArgumentError(ParseErrorReason(e));
    } catch (const nlohmann::json::out_of_range& e) {
      // A number too large for a double (e.g. 1e999), which JSON text cannot otherwise make non-finite.
      status = absl::InvalidArgumentError(absl::StrCat("non-finite number: ", StripPrefix(e.what())));
    }
    if (status.ok() && !object.is_object()) {
      status = absl::InvalidArgumentError(absl::StrCat("expected a JSON object, got ", object.type_name()));
    }
    if (status.ok()) status = handler(object, line_number);
    if (status.ok()) continue;

    const std::string message = absl::StrCat(source, ":", line_number, ": ", status.message());
    if (!skip) return absl::InvalidArgumentError(message);
    ++report->skipped;
    if (static_cast<int>(report->messages.size()) < BadLineReport::kMaxMessages) {
      report->messages.push_back(message);
    }
  }
  return absl::OkStatus();
}

}  // namespace brain::data
