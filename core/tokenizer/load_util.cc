// Reading tokenizer files and parsing JSON with errors that name the source.
#include "core/tokenizer/load_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace brain::tokenizer::internal {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string reason = absl::StrCat(path, ": cannot open (", std::strerror(err), ")");
    return err == ENOENT ? absl::NotFoundError(reason) : absl::InternalError(reason);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read error"));
  return buffer.str();
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed JSON at byte ", e.byte, ": ", e.what()));
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number beyond double (1e999)
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", e.what()));
  }
}

absl::Status FieldError(const std::string& source, absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": field ", field, ": ", reason));
}

std::string TypeName(const nlohmann::json& j) { return j.type_name(); }

}  // namespace brain::tokenizer::internal
