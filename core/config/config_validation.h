// Semantic checks of an ExperimentConfig (ranges, required models, option combinations).
#pragma once

#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace brain::config {

struct ConfigIssue {
  std::string field_path;  // e.g. "brain.tau"
  std::string message;     // e.g. "must be > 0 (got -1)"
};

// Every problem found, in field order; empty when the config is valid.
std::vector<ConfigIssue> ValidateConfig(const ExperimentConfig& config);

}  // namespace brain::config
