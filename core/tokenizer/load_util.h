// Helpers shared by the tokenizer file loaders: reading files, parsing JSON, located errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace brain::tokenizer::internal {

// The whole file; NotFound / Internal errors name the path and the OS reason.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Parses JSON text; a syntax error names `source`, the byte offset and the parser's reason.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, const std::string& source);

// "SOURCE: field FIELD: REASON" as an InvalidArgument error.
absl::Status FieldError(const std::string& source, absl::string_view field, absl::string_view reason);

// The JSON type name used in messages ("object", "string", "number", ...).
std::string TypeName(const nlohmann::json& j);

}  // namespace brain::tokenizer::internal
