// Loading an ExperimentConfig: text-format file + `--set path=value` overrides + validation.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"

namespace brain::config {

// Parses `text` (named `source` in messages, e.g. the file path), applies `overrides` in order, fills
// derived defaults and validates. Every error names the source with line:column (or the --set override)
// and the field path, plus the reason; all validation errors are reported at once.
absl::StatusOr<ExperimentConfig> ParseConfig(const std::string& text, const std::string& source,
                                             const std::vector<std::string>& overrides = {});

// Reads `path` and calls ParseConfig. A missing or unreadable file is an error naming the path.
absl::StatusOr<ExperimentConfig> LoadConfigFile(const std::string& path,
                                                const std::vector<std::string>& overrides = {});

}  // namespace brain::config
