// JSONL line reader: one JSON object per line, located errors, and the bad-line policy (fail or skip).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/examples.h"
#include "proto/config.pb.h"

namespace brain::data {

// The whole file. A missing file is NotFound, any other failure Internal; both name the path and reason.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Converts one line's object; returns a non-OK status whose message is the reason the line is bad
// (without location: the reader prefixes "source:line: ").
using JsonlObjectHandler = std::function<absl::Status(const nlohmann::json& object, int64_t line_number)>;

// Calls `handler` for every non-blank line of `text` (lines end in "\n" or "\r\n"; blank = only spaces
// or tabs) after checking the line is a JSON object. Line numbers are 1-based and count blank lines.
// A bad line (invalid JSON or UTF-8, not an object, or rejected by the handler) becomes the
// InvalidArgument error "source:line: reason" under FAIL (and UNSPECIFIED), which stops the read; under
// SKIP_AND_COUNT it is counted in `report` (which must be non-null) and reading goes on.
absl::Status ForEachJsonlObject(absl::string_view text, const std::string& source,
                                config::BadLinePolicy policy, const JsonlObjectHandler& handler,
                                BadLineReport* report);

}  // namespace brain::data
